#!/bin/sh
# Command of the spark stack's Spark Connect server (run by entrypoint.sh as
# the Spark user, with SPARK_CONF_DIR pointing at its private copy of
# spark-defaults.conf). Hands the client token from its swarm secret to the
# server in SPARK_CONNECT_AUTHENTICATE_TOKEN (the server reads it when
# spark.connect.authenticate.token is unset; never on a command line, never
# printed), then starts the server in the foreground as a driver of the
# stack's master.
set -eu

token_file="${SPARK_CONNECT_TOKEN_FILE:-/run/secrets/connect_token}"
if [ -r "$token_file" ]; then
    SPARK_CONNECT_AUTHENTICATE_TOKEN="$(cat "$token_file")"
    export SPARK_CONNECT_AUTHENTICATE_TOKEN
elif [ -e "$token_file" ]; then
    echo "connect.sh: cannot read the token at $token_file" >&2
    exit 64
fi

exec /opt/spark/bin/spark-submit \
    --class org.apache.spark.sql.connect.service.SparkConnectServer \
    --name "Spark Connect server" \
    --master spark://master:7077 \
    --conf spark.driver.host=connect \
    --conf spark.driver.bindAddress=0.0.0.0 \
    --conf spark.connect.grpc.binding.port=15002 \
    --conf "spark.cores.max=${SPARKSWARM_CONNECT_CORES:-1}"
