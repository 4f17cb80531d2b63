# Sourced by .ci/run: a throwaway PostgreSQL cluster for the ledger's PostgreSQL tests.
# Listens on 127.0.0.1 only, on a free port, in a temporary folder; runs as the `postgres`
# user when CI runs as root; exports SOVFIXER_TEST_POSTGRES_URL; removed on exit.
start_test_postgres() {
  local bin initdb_path port pw run
  initdb_path=$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | tail -n 1 || true)
  if [ -z "$initdb_path" ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "== installing PostgreSQL from the distribution's packages"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
    initdb_path=$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | tail -n 1 || true)
  fi
  if [ -z "$initdb_path" ]; then
    echo "== no PostgreSQL server here: the ledger's PostgreSQL tests are skipped" >&2
    return 0
  fi
  bin=$(dirname "$initdb_path")
  run=()
  if [ "$(id -u)" -eq 0 ]; then  # initdb refuses root: the cluster runs as `postgres`
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    run=(runuser -u postgres --)
  fi
  TEST_PG_DIR=$(mktemp -d /tmp/sovfixer-pg.XXXXXX)
  trap 'stop_test_postgres' EXIT
  chmod 700 "$TEST_PG_DIR"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$TEST_PG_DIR"
  pw=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  printf '%s\n' "$pw" > "$TEST_PG_DIR/pw"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$TEST_PG_DIR/pw"
  "${run[@]}" "$bin/initdb" -D "$TEST_PG_DIR/data" -U postgres --auth=scram-sha-256 \
    --pwfile="$TEST_PG_DIR/pw" -E UTF8 >/dev/null
  rm -f "$TEST_PG_DIR/pw"
  "${run[@]}" "$bin/pg_ctl" -D "$TEST_PG_DIR/data" -l "$TEST_PG_DIR/log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $TEST_PG_DIR -c fsync=off" start >/dev/null
  TEST_PG_CTL=("${run[@]}" "$bin/pg_ctl")
  export SOVFIXER_TEST_POSTGRES_URL="postgresql://postgres:$pw@127.0.0.1:$port/postgres"
  echo "== PostgreSQL test cluster on 127.0.0.1:$port"
}

stop_test_postgres() {
  if [ -n "${TEST_PG_DIR:-}" ] && [ -d "$TEST_PG_DIR" ]; then
    "${TEST_PG_CTL[@]}" -D "$TEST_PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$TEST_PG_DIR"
  fi
}
