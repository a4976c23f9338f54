#!/bin/sh
# Entrypoint of the platform's Redis (stack and docker-compose.yml alike).
#
# Reads the password from the Docker secret into a private config file
# (mode 0600, in the container only: never on a command line, never in the
# service spec), turns the append-only file on in /data, then runs
# redis-server as Debian's redis user. Without a readable, non-empty secret
# it refuses to start: a Redis without a password would hand the Docker
# socket (which the workers hold) to anyone who can reach it.
set -eu

secret_file="${REDIS_PASSWORD_FILE:-/run/secrets/redis_password}"
if [ ! -s "$secret_file" ]; then
    echo "redis-entrypoint: no password at $secret_file; refusing to run an open Redis" >&2
    exit 64
fi

password="$(cat "$secret_file")"  # trailing line breaks dropped, as the clients do
case "$password" in
    *'"'* | *'\'*)
        echo "redis-entrypoint: the password holds a quote or backslash; use letters and digits" >&2
        exit 64
        ;;
esac

umask 077
conf="$(mktemp /tmp/redis.XXXXXX.conf)"
{
    printf 'requirepass "%s"\n' "$password"
    printf 'appendonly yes\n'
    printf 'appendfsync everysec\n'
    printf 'dir /data\n'
    printf 'bind 0.0.0.0\n'
    printf 'port 6379\n'
    # Only authenticated clients get in: protected mode adds nothing here
    # and would refuse the other services on the overlay network.
    printf 'protected-mode no\n'
} >"$conf"
chown redis:redis "$conf" /data
exec setpriv --reuid=redis --regid=redis --init-groups redis-server "$conf" "$@"
