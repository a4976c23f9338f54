#!/bin/sh
# Entrypoint of every process in the spark stack (and of spark jobs).
#
# Reads the RPC secret from the swarm secret file into a private copy of
# spark-defaults.conf (mode 0600, never on a command line, never printed),
# points SPARK_CONF_DIR at it, then runs the command as the Spark user.
# It starts as root only because a named volume mounted on /spark-events is
# root-owned when the image has no such folder (the official image has none).
set -eu

secret_file="${SPARK_AUTH_SECRET_FILE:-/run/secrets/spark_auth}"
defaults_file="${SPARK_DEFAULTS_FILE:-/etc/sparkswarm/spark-defaults.conf}"
event_dir="${SPARK_EVENT_DIR:-/spark-events}"
spark_uid="${SPARK_UID:-185}"

if [ ! -r "$secret_file" ]; then
    echo "entrypoint: the Spark auth secret is missing (expected at $secret_file)" >&2
    exit 64
fi

umask 077
conf_dir="$(mktemp -d /tmp/spark-conf.XXXXXX)"
cp "$defaults_file" "$conf_dir/spark-defaults.conf"
printf 'spark.authenticate.secret %s\n' "$(cat "$secret_file")" >>"$conf_dir/spark-defaults.conf"
export SPARK_CONF_DIR="$conf_dir"
umask 022

if [ "$(id -u)" = 0 ]; then
    if [ -d "$event_dir" ]; then
        chown "$spark_uid" "$event_dir"
    fi
    chown -R "$spark_uid" "$conf_dir"
    export HOME="${SPARK_USER_HOME:-/opt/spark/work-dir}"
    exec setpriv --reuid="$spark_uid" --regid="$spark_uid" --clear-groups -- "$@"
fi
exec "$@"
