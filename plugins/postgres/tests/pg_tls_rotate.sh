#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A source's TLS files rotated in place under dsrcd, against a real
# PostgreSQL with ssl = on and certificate authentication (pg_hba "cert",
# which verifies the client certificate fully), while a fetch is scheduled
# every second:
#  - the client certificate and key written anew and renamed over the old
#    files, then the CA file swapped through its symlink: each change is
#    logged, the pools are recycled (the server then only sees connections
#    made with the new certificate), no run fails;
#  - a client certificate that no longer parses: refused, the source
#    degraded with the reason, the old pool kept, runs keep succeeding;
#    fixed, the source recovers;
#  - the certificate the server presents (its expiry in dsrc health and
#    /metrics), replaced by one valid 5 days: degraded with the
#    recommendation; renewed: healthy;
#  - certificates expiring in 20 and in 5 days: the recommendation, then
#    the degraded state, in dsrc health and /metrics.
# Skipped (77) when no PostgreSQL server is installed.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/postgres/tests/pg_lib.sh"
DSRC="$top_builddir/dsrc"
DSRCD="$top_builddir/dsrcd"
FIXTURE="$top_srcdir/plugins/postgres/tests/fixture/pg-fixture"
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "python3 missing"; exit 77; }
command -v openssl >/dev/null || { echo "openssl missing"; exit 77; }
command -v curl >/dev/null || { echo "curl missing"; exit 77; }
lib_tmpdir dsrc-pgtls
pgdir="" pid=""
cleanup() {
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    [ -n "$pgdir" ] && "$FIXTURE" stop "$pgdir"
}
dsrc() { "$DSRC" -c "$tmp/conf/dsrcd.conf" "$@"; }
psql_q() { "$FIXTURE" psql "$pgdir" -At -c "$1"; }
py() {
    "$PY" -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null
}
# until_health EXPR [TRIES]: poll dsrc health pg (its report as r) every
# 0.2 s until EXPR is true (default 150 tries: 30 s)
until_health() {
    n=${2:-150}
    while [ "$n" -gt 0 ]; do
        dsrc --json health pg >"$tmp/health.json" 2>&1
        [ "$(py "$tmp/health.json" "(lambda r: $1)(r[0])")" = True ] && return 0
        sleep 0.2; n=$((n - 1))
    done
    return 1
}
# until_log TEXT [N]: wait up to 30 s for more than N (default 0) lines
# with TEXT in dsrcd's log
until_log() {
    n=150
    while [ "$n" -gt 0 ]; do
        [ "$(grep -c -- "$1" "$tmp/log")" -gt "${2:-0}" ] && return 0
        sleep 0.2; n=$((n - 1))
    done
    return 1
}
count_log() { grep -c -- "$1" "$tmp/log"; }
runs() { dsrc --json runs pg --limit 10000 >"$tmp/runs.json" 2>&1; }
n_succeeded() { runs; py "$tmp/runs.json" 'sum(1 for x in r if x["state"] == "succeeded")'; }
n_failed() { runs; py "$tmp/runs.json" 'sum(1 for x in r if x["state"] == "failed")'; }
# more_runs: wait until 3 more runs succeeded than now
more_runs() {
    want=$(($(n_succeeded) + 3)); n=150
    while [ "$n" -gt 0 ]; do
        [ "$(n_succeeded)" -ge "$want" ] && return 0
        sleep 0.2; n=$((n - 1))
    done
    return 1
}
# issue NAME DAYS: a client certificate for the certificate user, signed by
# the server's CA, as $tls/NAME.crt and $tls/NAME.key
issue() {
    (
        cd "$tls" && umask 077 &&
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout "$1.key" -out "$1.csr" -subj "/CN=$PG_CERT_USER" 2>/dev/null &&
        printf '%s\n' "basicConstraints=CA:FALSE" "extendedKeyUsage=clientAuth" >"$1.ext" &&
        openssl x509 -req -in "$1.csr" -CA "$PG_DIR/tls/ca.crt" -CAkey "$PG_DIR/tls/ca.key" \
            -CAcreateserial -out "$1.crt" -days "$2" -extfile "$1.ext" 2>/dev/null
    ) || { echo "openssl could not issue $1"; exit 99; }
}
# put_cert NAME: NAME's certificate and key written beside the ones in use
# and renamed over them (the key first)
put_cert() {
    cp "$tls/$1.key" "$tls/client.key.new" && mv "$tls/client.key.new" "$tls/client.key" &&
    cp "$tls/$1.crt" "$tls/client.crt.new" && mv "$tls/client.crt.new" "$tls/client.crt"
}
# serial NAME: the decimal serial number of NAME's certificate
serial() {
    "$PY" -c 'import sys; print(int(sys.argv[1].split("=")[1], 16))' \
        "$(openssl x509 -in "$tls/$1.crt" -noout -serial)"
}
# serials: the client certificate serials of the server's connections of
# the certificate user, sorted, one line
serials() {
    psql_q "SELECT coalesce(string_agg(DISTINCT s.client_serial::text, ' '), '')
            FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
            WHERE a.usename = '$PG_CERT_USER'"
}

pg_start --no-replica
psql_q "CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL);
        GRANT SELECT ON items TO $PG_CERT_USER;
        INSERT INTO items (name) SELECT 'item ' || g FROM generate_series(1, 100) g;" ||
    { echo "cannot make the table"; exit 99; }

tls="$tmp/tls"
mkdir -p "$tls"
chmod 700 "$tls"
issue c1 365
issue c2 365
cp "$PG_DIR/tls/ca.crt" "$tls/ca1.pem"
cat "$PG_DIR/tls/other-ca.crt" "$PG_DIR/tls/ca.crt" >"$tls/ca2.pem"
ln -s ca1.pem "$tls/ca.pem"
put_cert c1

SOCK="$tmp/dsrcd.sock"
lib_conf "$top_builddir/plugins/postgres/.libs" "control_socket = \"$SOCK\";" \
    "jobs = { jitter_max = 0; };"
cat >"$tmp/conf/sources.d/pg.conf" <<EOF2
name = "pg";
type = "postgres";
connection = {
    host = "127.0.0.1";
    port = $PG_PORT;
    database = "$PG_DATABASE";
    user = "$PG_CERT_USER";
    connect_timeout = "5s";
};
tls = { mode = "verify-full"; ca = "$tls/ca.pem"; cert = "$tls/client.crt"; key = "$tls/client.key"; };
pool = { max_size = 2; min_idle = 2; };
schedule = { health = "@every 1s"; };
fetch = ( { item = "public.items"; schedule = "@every 1s"; } );
EOF2

"$DSRCD" -c "$tmp/conf/dsrcd.conf" --foreground --log-target stderr >"$tmp/log" 2>&1 &
pid=$!

more_runs && ok || { bad "the scheduled fetch does not succeed"; cat "$tmp/runs.json"; tail -20 "$tmp/log"; }
until_health 'r["status"] == "healthy" and r["tls"]["error"] is None and r["tls"]["cert_expiry_days"] > 364' &&
    ok || { bad "not healthy with valid TLS files"; cat "$tmp/health.json"; }
s1=$(serial c1) s2=$(serial c2)
[ "$(serials)" = "$s1" ] && ok || bad "the server's connections are not all made with c1: $(serials) (c1 $s1)"

# ---- the client certificate renamed over the old one ----
put_cert c2
until_log "TLS file(s) changed: .*tls.cert ($tls/client.crt)" && ok ||
    { bad "the client certificate's change is not logged"; tail -20 "$tmp/log"; }
grep -q "pools recycled" "$tmp/log" && ok || bad "no recycle logged"
more_runs && ok || { bad "runs stopped after the client certificate changed"; tail -20 "$tmp/log"; }
n=150
while [ "$n" -gt 0 ] && [ "$(serials)" != "$s2" ]; do sleep 0.2; n=$((n - 1)); done
[ "$(serials)" = "$s2" ] && ok ||
    bad "connections with the old certificate remain after the recycle: $(serials) (c2 $s2)"

# ---- the CA swapped through its symlink ----
ln -s ca2.pem "$tls/ca.pem.new" && mv -T "$tls/ca.pem.new" "$tls/ca.pem"
until_log "TLS file(s) changed: tls.ca ($tls/ca.pem)" && ok ||
    { bad "the CA's change is not logged"; tail -20 "$tmp/log"; }
more_runs && ok || { bad "runs stopped after the CA changed"; tail -20 "$tmp/log"; }

# ---- a client certificate that does not parse ----
refused=$(count_log "TLS file(s) refused") valid=$(count_log "TLS files valid again")
printf 'not a certificate\n' >"$tls/client.crt.new" && mv "$tls/client.crt.new" "$tls/client.crt"
until_log "TLS file(s) refused" "$refused" && ok || { bad "the broken certificate is not logged"; tail -20 "$tmp/log"; }
until_health 'r["status"] == "degraded" and "tls.cert" in (r["tls"]["error"] or "")' &&
    ok || { bad "not degraded with the reason"; cat "$tmp/health.json"; }
dsrc health pg >"$tmp/health.txt" 2>&1
has "$tmp/health.txt" "tls files refused: tls.cert"
more_runs && ok || { bad "runs stopped with a broken certificate file"; tail -20 "$tmp/log"; }
[ "$(serials)" = "$s2" ] && ok || bad "the pool was not kept: $(serials) (c2 $s2)"
put_cert c2
until_log "TLS files valid again" "$valid" && ok || { bad "the fix is not logged"; tail -20 "$tmp/log"; }
until_health 'r["status"] == "healthy" and r["tls"]["error"] is None' && ok ||
    { bad "the source did not recover"; cat "$tmp/health.json"; }

# ---- the certificate the server presents, close to its expiry ----
# The server's certificate replaced by one valid 5 days and the server
# reloaded; the pools recycled (a client file changed) so that the probes'
# connections are new: each reports the certificate its server presented.
until_health 'r["endpoints"][0]["server_cert_expiry_days"] is not None and r["endpoints"][0]["server_cert_expiry_days"] > 364' &&
    ok || { bad "no server certificate expiry"; cat "$tmp/health.json"; }
ucurl 200 http://localhost/metrics
grep -E '^dsrc_tls_cert_expiry_days\{source="pg",endpoint="primary",kind="server"\} 36[45]\.' \
    "$tmp/body" >/dev/null && ok || { bad "no server expiry metric"; grep tls "$tmp/body"; }
srv="$PG_DIR/server-tls"
(
    cd "$tls" && umask 077 &&
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout s5.key -out s5.csr -subj "/CN=localhost" 2>/dev/null &&
    printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
        "extendedKeyUsage=serverAuth" >s5.ext &&
    openssl x509 -req -in s5.csr -CA "$PG_DIR/tls/ca.crt" -CAkey "$PG_DIR/tls/ca.key" \
        -CAcreateserial -out s5.crt -days 5 -extfile s5.ext 2>/dev/null
) || { echo "openssl could not issue the server certificate"; exit 99; }
# put_server CRT KEY: the server's files replaced (written beside them, owned
# by the server's user, renamed over them), the server reloaded
put_server() {
    cp "$1" "$srv/server.crt.new" && cp "$2" "$srv/server.key.new" &&
        chmod 600 "$srv/server.key.new" &&
        { [ "$(id -u)" -ne 0 ] || chown postgres:postgres "$srv/server.crt.new" "$srv/server.key.new"; } &&
        mv "$srv/server.key.new" "$srv/server.key" && mv "$srv/server.crt.new" "$srv/server.crt" &&
        pg_as_server "$PG_BINDIR/pg_ctl" -D "$PG_DIR/primary" reload >/dev/null
}
cp "$srv/server.crt" "$tls/s365.crt" && cp "$srv/server.key" "$tls/s365.key" || { echo "cannot keep the server's certificate"; exit 99; }
put_server "$tls/s5.crt" "$tls/s5.key" || { echo "cannot replace the server certificate"; exit 99; }
put_cert c1
until_health 'r["status"] == "degraded" and r["endpoints"][0]["server_cert_expiry_days"] < 5' &&
    ok || { bad "not degraded 5 days before the server certificate expires"; cat "$tmp/health.json"; }
dsrc health pg >"$tmp/health.txt" 2>&1
has "$tmp/health.txt" "server certificate: expires in 4 day(s)"
has "$tmp/health.txt" "recommendation: the certificate the server of endpoint primary presents expires in 4 day(s)"
ucurl 200 http://localhost/metrics
grep -E '^dsrc_tls_cert_expiry_days\{source="pg",endpoint="primary",kind="server"\} 4\.9' \
    "$tmp/body" >/dev/null && ok || { bad "no server expiry metric at 5 days"; grep tls "$tmp/body"; }
put_server "$tls/s365.crt" "$tls/s365.key" || { echo "cannot put the server certificate back"; exit 99; }
put_cert c2
until_health 'r["status"] == "healthy" and r["endpoints"][0]["server_cert_expiry_days"] > 364' &&
    ok || { bad "not healthy with the server's certificate renewed"; cat "$tmp/health.json"; }

# ---- certificates close to their expiry ----
issue c20 20
put_cert c20
until_health 'any("client certificate (tls.cert) expires in 19 day" in x for x in r["recommendations"])' &&
    ok || { bad "no recommendation 20 days before expiry"; cat "$tmp/health.json"; }
[ "$(py "$tmp/health.json" 'r[0]["last_status"]')" = healthy ] && ok ||
    { bad "degraded at 20 days"; cat "$tmp/health.json"; }
ucurl 200 http://localhost/metrics
grep -E '^dsrc_tls_cert_expiry_days\{source="pg",endpoint="primary",kind="client"\} 19\.9' \
    "$tmp/body" >/dev/null && ok || { bad "no client expiry metric at 20 days"; grep tls "$tmp/body"; }
grep -E '^dsrc_tls_cert_expiry_days\{source="pg",endpoint="primary",kind="ca"\} 36[45]\.' \
    "$tmp/body" >/dev/null && ok || { bad "no CA expiry metric"; grep tls "$tmp/body"; }
has "$tmp/body" 'dsrc_tls_files_refused{source="pg"} 0'
issue c5 5
put_cert c5
until_health 'r["status"] == "degraded" and r["tls"]["cert_expiry_days"] < 5' && ok ||
    { bad "not degraded 5 days before expiry"; cat "$tmp/health.json"; }
dsrc health pg >"$tmp/health.txt" 2>&1
has "$tmp/health.txt" "tls client certificate: expires in 4 day(s)"
has "$tmp/health.txt" "recommendation: the client certificate (tls.cert) expires in 4 day(s)"
ucurl 200 http://localhost/metrics
grep -E '^dsrc_tls_cert_expiry_days\{source="pg",endpoint="primary",kind="client"\} 4\.9' \
    "$tmp/body" >/dev/null && ok || { bad "no client expiry metric at 5 days"; grep tls "$tmp/body"; }
grep -E '^dsrc_source_up\{source="pg"\} 1' "$tmp/body" >/dev/null && ok || bad "a degraded source is not up"
more_runs && ok || { bad "runs stopped"; tail -20 "$tmp/log"; }

# ---- no run failed, no file content logged ----
[ "$(n_failed)" = 0 ] && ok || { bad "failed runs"; py "$tmp/runs.json" '[x for x in r if x["state"] == "failed"]'; }
echo "$(n_succeeded) runs succeeded, $(grep -c 'pools recycled' "$tmp/log") recycle(s) logged"
hasnt "$tmp/log" "BEGIN"
hasnt "$tmp/log" "not a certificate"

kill -TERM "$pid"
n=300
while kill -0 "$pid" 2>/dev/null && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
kill -0 "$pid" 2>/dev/null && bad "dsrcd still running 30 s after SIGTERM" ||
    { wait "$pid"; rc=$?; pid=""; [ "$rc" -eq 0 ] && ok || bad "dsrcd exited $rc after SIGTERM"; }

finish "pg tls rotate"
