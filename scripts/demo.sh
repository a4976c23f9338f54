#!/usr/bin/env bash
# The main job, end to end on this machine:
#   1. set-up (engine, Redis, .venv, a single-node swarm) and the doctor;
#   2. a queue worker, so every change below is a queued, recorded operation;
#   3. the tutorial's web service: created, scaled to 3, rolled to v2;
#   4. the Spark stack (image built locally: no registry needed) and a sample
#      PySpark job submitted through the queue, with its result.
# The Spark cluster is left running; `sparkswarm spark down` removes it and its jobs.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"

bash scripts/setup.sh

S=.venv/bin/sparkswarm
# Tables fit a terminal; written to a file or a pipe, give them room.
[ -t 1 ] || export COLUMNS=${COLUMNS:-140}
export SPARKSWARM_REDIS_URL=${SPARKSWARM_REDIS_URL:-redis://127.0.0.1:6379/0}
WORKERS=${SPARK_WORKERS:-2}
step() { printf '\n\033[1;36m### %s\033[0m\n' "$*"; }

step "swarm doctor"
# Warnings (no IPVS on some kernels, a single manager) are expected here;
# only a failed check stops the demo.
$S swarm doctor

step "a queue worker (log: .demo/worker.log)"
mkdir -p .demo
$S worker --concurrency 2 --loglevel warning >.demo/worker.log 2>&1 &
worker_pid=$!
trap 'kill $worker_pid 2>/dev/null || true; wait $worker_pid 2>/dev/null || true' EXIT

step "the tutorial's web service: create, scale to 3, rolling update to v2"
$S images build web
$S service rm demo-web >/dev/null
$S service create demo-web sparkswarm/web:v1 --replicas 1 --endpoint-mode dnsrr \
  --stop-grace-period 1s --update-delay 2s --update-parallelism 1
$S service scale demo-web=3
$S service update demo-web --image sparkswarm/web:v2
$S service ps demo-web
$S service rm demo-web

step "the Spark stack: image, deploy with $WORKERS workers, status"
$S images build spark
$S stack deploy spark --set workers="$WORKERS"
$S spark status --wait 180

step "a PySpark job through the queue"
$S spark submit stacks/spark/jobs/pi.py --arg 4

step "the same from chat: the real bot against a local Slack double (no Slack here)"
$S bot try "/spark submit pi 4"

step "what the queue recorded"
$S runs ls --limit 8

cat <<'DONE'

Done. The Spark cluster is still running:
  .venv/bin/sparkswarm spark status            # workers, cores, memory, apps
  .venv/bin/sparkswarm spark submit FILE.py    # run your own PySpark script
  .venv/bin/sparkswarm spark down              # remove it (and its job containers)
DONE
