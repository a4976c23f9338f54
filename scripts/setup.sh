#!/usr/bin/env bash
# Everything sparkswarm needs on a fresh Debian machine, idempotently:
# Debian's docker.io engine running, redis-server running (AOF on), a lab
# bridge for extra swarm nodes, a single-node swarm, and the project's
# virtualenv. Safe to run again: each step checks before it acts.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
LAB_BRIDGE=${SPARKSWARM_LAB_BRIDGE:-ssw-br0}
LAB_ADDR=${SPARKSWARM_LAB_ADDR:-10.77.0.1}
REDIS_PORT=${SPARKSWARM_REDIS_PORT:-6379}
PYTHON=${PYTHON:-python3}

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

install_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
  command -v busybox >/dev/null || [ -x /bin/busybox ] || missing+=(busybox-static)
  command -v ip >/dev/null || missing+=(iproute2)
  command -v nsenter >/dev/null || missing+=(util-linux)
  # tests reach the engine over ssh:// through a throw-away sshd on loopback
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  command -v ssh >/dev/null || missing+=(openssh-client)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

start_engine() {
  if docker info >/dev/null 2>&1; then return; fi
  say "starting the Docker Engine"
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    $SUDO systemctl start docker || true
  fi
  if ! docker info >/dev/null 2>&1; then
    $SUDO sh -c 'setsid dockerd >/var/log/sparkswarm-dockerd.log 2>&1 < /dev/null &'
  fi
  for _ in $(seq 60); do
    docker info >/dev/null 2>&1 && return
    sleep 1
  done
  echo "dockerd did not start; see /var/log/sparkswarm-dockerd.log" >&2
  exit 1
}

start_redis() {
  if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then return; fi
  say "starting redis-server on 127.0.0.1:$REDIS_PORT (AOF on)"
  $SUDO mkdir -p /var/lib/sparkswarm-redis
  $SUDO redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --appendonly yes \
    --dir /var/lib/sparkswarm-redis --daemonize yes >/dev/null
  for _ in $(seq 20); do
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return
    sleep 0.5
  done
  echo "redis-server did not start" >&2
  exit 1
}

lab_bridge() {
  # Extra swarm nodes (network namespaces, see tests/support/multinode.py)
  # reach the manager through this bridge, so the swarm advertises on it.
  if ! ip link show "$LAB_BRIDGE" >/dev/null 2>&1; then
    say "creating lab bridge $LAB_BRIDGE ($LAB_ADDR/24)"
    $SUDO ip link add "$LAB_BRIDGE" type bridge
  fi
  ip -4 addr show dev "$LAB_BRIDGE" | grep -q "$LAB_ADDR/" ||
    $SUDO ip addr add "$LAB_ADDR/24" dev "$LAB_BRIDGE"
  $SUDO ip link set "$LAB_BRIDGE" up
}

python_env() {
  if [ ! -x .venv/bin/python ]; then
    say "creating the virtualenv .venv"
    "$PYTHON" -m venv .venv
  fi
  local stamp=.venv/.sparkswarm-installed
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    say "installing sparkswarm, its Spark Connect client and its dev tools into .venv"
    .venv/bin/pip install -q --upgrade pip >/dev/null
    # connect: the tests of `spark sql` run it (the worker answers statements).
    .venv/bin/pip install -q -e '.[dev,connect]'
    touch "$stamp"
  fi
  # An editable install gets no bytecode, and with PYTHONDONTWRITEBYTECODE set
  # (as on this kind of machine) every command would compile the package
  # again: ~40 ms of each start. Cheap, and redone on every setup.
  .venv/bin/python -m compileall -q platform workers bots >/dev/null
}

swarm_init() {
  say "single-node swarm (advertised on $LAB_ADDR)"
  .venv/bin/sparkswarm swarm init --advertise-addr "$LAB_ADDR" --listen-addr "$LAB_ADDR:2377"
}

if [ "${1:-}" = "--python-only" ]; then
  # The unit loop (scripts/test.sh --unit) needs the virtualenv and nothing else.
  python_env
  exit 0
fi

install_packages
# The bridge first: a swarm that advertises on it (after a reboot, say) needs
# its address to exist when dockerd starts.
lab_bridge
start_engine
start_redis
python_env
swarm_init
