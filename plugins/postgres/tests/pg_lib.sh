# SPDX-License-Identifier: Apache-2.0
# Sourced by the postgres plugin's shell tests, after tests/lib.sh and after
# setting FIXTURE (fixture/pg-fixture) and pgdir="" (which their cleanup
# stops).

# pg_start [FIXTURE-OPTION...]: start a server for this test (watched: it
# stops when the test's shell is gone) and read its env (PG_PORT, PG_USER,
# PG_PASSWORD...).  Exits 77 when no PostgreSQL server is installed, 99
# when the server does not start.
pg_start() {
    pgdir=$("$FIXTURE" start "$@" --watch $$)
    pg_rc=$?
    if [ "$pg_rc" -eq 77 ]; then
        pgdir=""
        exit 77
    fi
    if [ "$pg_rc" -ne 0 ] || [ -z "$pgdir" ]; then
        pgdir=""
        echo "the PostgreSQL fixture did not start"
        exit 99
    fi
    # shellcheck disable=SC1091
    . "$pgdir/env"
}

# su_psql ARG...: psql as the server's superuser.
su_psql() { "$FIXTURE" psql "$pgdir" "$@"; }

# pg_restart: start the primary again on PG_PORT after the test stopped it.
# The port cannot change (the sources name it), and while another process
# listens on 127.0.0.1:PG_PORT (a server of a test running beside this one)
# PostgreSQL would come up on 127.0.0.2 only, refusing every connection on
# 127.0.0.1 once that process is gone: such a start is stopped and tried
# again, once a second for up to 30 s.  0 when up on 127.0.0.1.
pg_restart() {
    pg_tries=30
    while [ "$pg_tries" -gt 0 ]; do
        pg_before=$(stat -c %s "$PG_DIR/log/primary.log" 2>/dev/null || echo 0)
        pg_as_server "$PG_BINDIR/pg_ctl" -D "$PG_DIR/primary" -l "$PG_DIR/log/primary.log" \
            -w -t 60 -o "-p $PG_PORT -k $PG_SOCKDIR" start >/dev/null 2>&1 || return 1
        tail -c "+$((pg_before + 1))" "$PG_DIR/log/primary.log" |
            grep -q 'could not bind .*Address already in use' || return 0
        pg_as_server "$PG_BINDIR/pg_ctl" -D "$PG_DIR/primary" -m immediate -w stop >/dev/null 2>&1
        sleep 1
        pg_tries=$((pg_tries - 1))
    done
    return 1
}
# pg_as_server CMD...: CMD as the servers' OS user (postgres when root).
pg_as_server() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# pg_dsrcd_conf DIR LOG_LEVEL: DIR/dsrcd.conf for dsrc runs against this
# server (postgres.so of the build, state and workspace under $tmp, the
# sources in DIR/sources.d, made).
pg_dsrcd_conf() {
    mkdir -p "$1/sources.d" "$tmp/state" "$tmp/ws"
    cat >"$1/dsrcd.conf" <<EOF
plugin_dir = "$top_builddir/plugins/postgres/.libs";
state_dir = "$tmp/state";
workspace = "$tmp/ws";
sources_dir = "$1/sources.d";
log_level = "$2";
EOF
}

# pg_source_conf PASSWORD_VAR [LINE...]: on stdout, source "pg" on this
# server as its user, TLS verified with the fixture's CA, the password read
# from the environment variable PASSWORD_VAR; each LINE is added to its
# connection group.
pg_source_conf() {
    local var=$1 extra=""
    shift
    [ $# -eq 0 ] || extra=$(printf '    %s\n' "$@")
    cat <<EOF
name = "pg";
type = "postgres";
connection = {
    host = "localhost";
    port = $PG_PORT;
    database = "$PG_DATABASE";
    user = "$PG_USER";
    password = "env:$var";
$extra
};
tls = { mode = "verify-full"; ca = "$PG_CA"; };
EOF
}

# pgb_start MODE: start a real PgBouncer (pool_mode MODE: session or
# transaction) in front of this test's server, on 127.0.0.1 and a free
# port, with its own ini and user list in $pgdir/pgbouncer-MODE (the
# server's OS user runs it when the test runs as root).  Clients log in as
# PG_USER with PG_PASSWORD (SCRAM); PgBouncer logs in to the server with
# the same.  In transaction mode every server connection is reset after
# each transaction (server_reset_query_always): nothing of a client's
# session survives its transaction.  Sets PGB_PORT; PGB_PIDS lists the
# pid files pgb_stop_all reads.  PGB_SERVER_TLS: its server_tls_sslmode
# (default prefer).  Exits 77 when pgbouncer is not installed,
# 99 when it does not start.
PGB_PIDS=""
pgb_start() {
    local mode=$1 d bin tries p
    bin=$(command -v pgbouncer || { [ -x /usr/sbin/pgbouncer ] && echo /usr/sbin/pgbouncer; }) ||
        { echo "pgbouncer is not installed (Debian package pgbouncer)"; exit 77; }
    d=$pgdir/pgbouncer-$mode
    mkdir -p "$d"
    printf '"%s" "%s"\n' "$PG_USER" "$PG_PASSWORD" >"$d/userlist.txt"
    chmod 600 "$d/userlist.txt"
    [ "$(id -u)" -ne 0 ] || chown -R postgres "$d"
    tries=10
    while [ "$tries" -gt 0 ]; do
        p=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        cat >"$d/pgbouncer.ini" <<EOF2
[databases]
$PG_DATABASE = host=127.0.0.1 port=$PG_PORT dbname=$PG_DATABASE

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $p
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $d/userlist.txt
pool_mode = $mode
default_pool_size = 20
max_client_conn = 200
server_tls_sslmode = ${PGB_SERVER_TLS:-prefer}
server_reset_query = DISCARD ALL
server_reset_query_always = $([ "$mode" = transaction ] && echo 1 || echo 0)
logfile = $d/pgbouncer.log
pidfile = $d/pgbouncer.pid
EOF2
        [ "$(id -u)" -ne 0 ] || chown postgres "$d/pgbouncer.ini"
        rm -f "$d/pgbouncer.pid"
        if pg_as_server "$bin" -d "$d/pgbouncer.ini" >>"$d/start.log" 2>&1; then
            PGB_PIDS="$PGB_PIDS $d/pgbouncer.pid"
            for _ in $(seq 1 50); do
                if python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$p" 2>/dev/null; then
                    PGB_PORT=$p
                    return 0
                fi
                sleep 0.1
            done
        fi
        pgb_stop "$d/pgbouncer.pid"
        tries=$((tries - 1))
    done
    echo "PgBouncer did not start:"; cat "$d/start.log" "$d/pgbouncer.log" 2>/dev/null | tail -20
    exit 99
}

# pgb_stop PIDFILE: stop the PgBouncer of that pid file (SIGINT: it ends
# at once), waiting up to 5 s.
pgb_stop() {
    local pid n=50
    pid=$(cat "$1" 2>/dev/null) || return 0
    [ -n "$pid" ] || return 0
    kill -INT "$pid" 2>/dev/null || return 0
    while [ "$n" -gt 0 ] && kill -0 "$pid" 2>/dev/null; do sleep 0.1; n=$((n - 1)); done
    kill -KILL "$pid" 2>/dev/null || true
}

# pgb_stop_all: every PgBouncer pgb_start started (for cleanup).
pgb_stop_all() {
    local f
    for f in $PGB_PIDS; do pgb_stop "$f"; done
    PGB_PIDS=""
}
