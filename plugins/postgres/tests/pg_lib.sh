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
