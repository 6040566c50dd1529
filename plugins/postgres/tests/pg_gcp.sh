#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# GCP Cloud SQL IAM database authentication made by the host, against a
# real PostgreSQL and a stand-in of Google's token endpoint and metadata
# server (tests/fixtures/gcp_standin.py) that verifies the JWT's RS256
# signature with the public key of a key pair made here, its claims at the
# fixed clock, and makes every token it issues the role's password: a
# login succeeds only with the last token issued.
#   - a service-account key file and workload identity: dsrc test names the
#     identity, dsrc ls and dsrc fetch log in;
#   - tokens that live 3 s under dsrcd's pool (connections of 200 ms, a
#     probe every 250 ms): every login succeeds, the stand-in issues a new
#     token about every two seconds, each serving several logins (counted
#     in the server's log); a stand-in that fails (500) or is gone
#     makes the source unhealthy with a clear message;
#   - bad key files, a wrong key, a key file's plain-http token_uri and a
#     request without Metadata-Flavor are refused;
#   - no key, JWT or token in any output or log.
# Skipped (77) when no PostgreSQL server is installed.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/postgres/tests/pg_lib.sh"
DSRC="$top_builddir/tests/fixtures/dsrc_fixed_clock"
DSRCD="$top_builddir/dsrcd"
FIXTURE="$top_srcdir/plugins/postgres/tests/fixture/pg-fixture"
STANDIN="$top_srcdir/tests/fixtures/gcp_standin.py"
lib_tmpdir dsrc-pggcp
pgdir="" spid="" qpid="" dpid=""
cleanup() {
    [ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
    [ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
    [ -n "$qpid" ] && kill "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
    [ -n "$pgdir" ] && "$FIXTURE" stop "$pgdir"
}
dsrc() { "$DSRC" -c "$tmp/conf/dsrcd.conf" "$@"; }
PY=/usr/bin/python3
"$PY" -c 'import cryptography' 2>/dev/null ||
    { echo "python3 cannot import cryptography: apt-get install python3-cryptography"; exit 99; }

EMAIL=dsrc-reader@test-proj.iam.gserviceaccount.com
DBUSER=dsrc-reader@test-proj.iam
KID=0123456789abcdef0123456789abcdef01234567
DSRC_TEST_CLOCK=1767225600   # 2026-01-01T00:00:00Z
export DSRC_TEST_CLOCK

# ---- a key pair; the service-account key file (private, 0600) ----
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/key.pem" 2>/dev/null &&
    openssl pkey -in "$tmp/key.pem" -pubout -out "$tmp/pub.pem" &&
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/other.pem" \
        2>/dev/null || { echo "openssl made no key"; exit 99; }
# keyfile OUT PEM [FIELD=VALUE|FIELD=]...: a key file with PEM's key; a
# FIELD= drops the field, FIELD=VALUE sets it
keyfile() {
    "$PY" - "$@" <<'EOF2'
import json, sys
out, pem = sys.argv[1], sys.argv[2]
doc = {"type": "service_account", "project_id": "test-proj",
       "private_key_id": "0123456789abcdef0123456789abcdef01234567",
       "private_key": open(pem).read(),
       "client_email": "dsrc-reader@test-proj.iam.gserviceaccount.com",
       "client_id": "100000000000000000001",
       "token_uri": "https://oauth2.googleapis.com/token"}
for a in sys.argv[3:]:
    k, v = a.split("=", 1)
    if v:
        doc[k] = v
    else:
        doc.pop(k, None)
with open(out, "w") as f:
    json.dump(doc, f, indent=2)
EOF2
    chmod 600 "$1"
}
keyfile "$tmp/sa.json" "$tmp/key.pem"
# a line from the middle of each private key: must never be shown
KEYLINE=$(sed -n 5p "$tmp/key.pem")
OTHERLINE=$(sed -n 5p "$tmp/other.pem")

pg_start --no-replica
su_psql -q -c "CREATE ROLE \"$DBUSER\" LOGIN PASSWORD 'not-a-token'" \
    -c "GRANT CONNECT ON DATABASE $PG_DATABASE TO \"$DBUSER\"" \
    -c "CREATE TABLE public.gcp_rows (id int); INSERT INTO public.gcp_rows VALUES (1), (2), (3)" \
    -c "GRANT SELECT ON public.gcp_rows TO \"$DBUSER\"" >/dev/null ||
    { echo "cannot create the IAM role"; exit 99; }
# the stand-in's hook: the token it issues becomes the role's password
cat >"$tmp/hook.sh" <<EOF2
"$FIXTURE" psql "$pgdir" -c "ALTER ROLE \\"$DBUSER\\" PASSWORD '\$DSRC_GCP_TOKEN'"
EOF2

# standin DIR [OPTION...]: start a stand-in serving from DIR; its pid in $!
standin() {
    d=$1
    shift
    mkdir -p "$d"
    "$PY" "$STANDIN" --dir "$d" --pubkey "$tmp/pub.pem" --email "$EMAIL" --kid "$KID" \
        --hook "sh $tmp/hook.sh" "$@" 2>"$d/log" &
    n=100
    while [ ! -s "$d/port" ] && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
    [ -s "$d/port" ] || { echo "the stand-in did not start"; cat "$d/log"; exit 99; }
}
standin "$tmp/fixed" --clock "$DSRC_TEST_CLOCK"
spid=$!
PORT=$(cat "$tmp/fixed/port")
URI="http://127.0.0.1:$PORT/token"
count() { cat "$1/count" 2>/dev/null || echo 0; }

lib_conf "$top_builddir/plugins/postgres/.libs" "control_socket = \"$tmp/dsrcd.sock\";"
# gcpsrc NAME [CLOUD-LINE...]: a cloud source logging in as the IAM user
gcpsrc() {
    name=$1
    shift
    {
        cat <<EOF2
name = "$name";
type = "postgres";
location = "cloud";
connection = {
    host = "127.0.0.1";
    port = $PG_PORT;
    database = "$PG_DATABASE";
    user = "$DBUSER";
    connect_timeout = "5s";
};
tls = { mode = "verify-full"; ca = "$PG_CA"; };
cloud = {
    provider = "gcp";
    project_id = "test-proj";
EOF2
        for line in "$@"; do printf '    %s\n' "$line"; done
        echo "};"
        [ -z "${extra:-}" ] || printf '%s\n' "$extra"
    } >"$tmp/conf/sources.d/$name.conf"
}
# no_secret FILE...: no private key, JWT or issued token in FILE
no_secret() {
    for f in "$@"; do
        hasnt "$f" "$KEYLINE"; hasnt "$f" "$OTHERLINE"; hasnt "$f" "PRIVATE KEY"
        hasnt "$f" "eyJ"   # the start of a JWT's base64url header
        hasnt "$f" "ya29."
    done
}

# ---- a service-account key ----
gcpsrc sa "service_account_file = \"$tmp/sa.json\";" "token_uri = \"$URI\";"
expect 0 dsrc check-config
expect 0 dsrc test sa
has "$tmp/out" "sa: ok"
has "$tmp/out" "sa: identity gcp service-account: $EMAIL (key file $tmp/sa.json); token valid until 2026-01-01T01:00:00Z"
no_secret "$tmp/out" "$tmp/err"
[ "$(count "$tmp/fixed")" -eq 1 ] && ok || bad "one token issued, not $(count "$tmp/fixed")"
expect 0 dsrc test sa --json
has "$tmp/out" '"provider": "gcp"'
has "$tmp/out" '"mode": "service-account"'
has "$tmp/out" '"expires": "2026-01-01T01:00:00Z"'
no_secret "$tmp/out" "$tmp/err"
# a real session: listed and fetched
expect 0 dsrc ls sa public
has "$tmp/out" "gcp_rows"
expect 0 dsrc fetch -q -o - --format csv sa public.gcp_rows
has "$tmp/out" "3"
no_secret "$tmp/out" "$tmp/err"
# the token the host sent is the one issued last: the role's password
[ "$(count "$tmp/fixed")" -eq 4 ] && ok || bad "four tokens issued, not $(count "$tmp/fixed")"

# ---- at another time: the stand-in refuses the JWT's iat ----
DSRC_TEST_CLOCK=1767229200 expect 1 dsrc test sa
has "$tmp/err" "source 'sa': cloud identity (gcp, service account): Google token endpoint at $URI refused the credentials: HTTP 400: invalid_grant"
has "$tmp/err" "is not the clock's time"
no_secret "$tmp/out" "$tmp/err"

# ---- workload identity: the metadata server ----
gcpsrc wl "use_workload_identity = true;" "metadata_endpoint = \"http://127.0.0.1:$PORT\";"
expect 0 dsrc test wl
has "$tmp/out" "wl: ok"
has "$tmp/out" "wl: identity gcp workload-identity: $EMAIL (metadata server); token valid until 2026-01-01T01:00:00Z"
no_secret "$tmp/out" "$tmp/err"
expect 0 dsrc fetch -q -o - --format csv wl public.gcp_rows
has "$tmp/out" "2"
no_secret "$tmp/out" "$tmp/err"
# the stand-in refuses a request without Metadata-Flavor: Google
expect 22 curl -sSf "http://127.0.0.1:$PORT/computeMetadata/v1/instance/service-accounts/default/token"
expect 0 curl -sSf -H "Metadata-Flavor: Google" \
    "http://127.0.0.1:$PORT/computeMetadata/v1/instance/service-accounts/default/email"
has "$tmp/out" "$EMAIL"
# the default metadata server is plain http on its link-local name; a
# metadata endpoint that is not loopback is refused without a request
gcpsrc wlfar "use_workload_identity = true;" 'metadata_endpoint = "http://192.0.2.1";'
expect 1 dsrc test wlfar
has "$tmp/err" "plain http:// is allowed only for a loopback test endpoint"

# ---- the key file's own token_uri: https only ----
keyfile "$tmp/httpuri.json" "$tmp/key.pem" "token_uri=$URI"
gcpsrc httpuri "service_account_file = \"$tmp/httpuri.json\";"
expect 1 dsrc test httpuri
has "$tmp/err" "service account key file $tmp/httpuri.json: field 'token_uri' (set cloud.token_uri to use another endpoint)"
has "$tmp/err" "plain http:// is allowed only"
no_secret "$tmp/out" "$tmp/err"

# ---- bad key files ----
# badkey NAME TEXT: dsrc test with the key file NAME fails with TEXT
badkey() {
    gcpsrc "$1" "service_account_file = \"$tmp/$1.json\";" "token_uri = \"$URI\";"
    expect 1 dsrc test "$1"
    has "$tmp/err" "$2"
    no_secret "$tmp/out" "$tmp/err"
}
badkey missing "service account key file $tmp/missing.json"
keyfile "$tmp/open.json" "$tmp/key.pem"
chmod 644 "$tmp/open.json"
badkey open "chmod 600"
if [ "$(id -u)" -ne 0 ]; then
    keyfile "$tmp/unreadable.json" "$tmp/key.pem"
    chmod 000 "$tmp/unreadable.json"
    badkey unreadable "$tmp/unreadable.json"
fi
head -c 200 "$tmp/sa.json" >"$tmp/truncated.json"
chmod 600 "$tmp/truncated.json"
badkey truncated "service account key file $tmp/truncated.json is not valid JSON"
keyfile "$tmp/nokey.json" "$tmp/key.pem" "private_key="
badkey nokey "service account key file $tmp/nokey.json: field 'private_key' is missing"
keyfile "$tmp/noemail.json" "$tmp/key.pem" "client_email="
badkey noemail "field 'client_email' is missing"
keyfile "$tmp/user.json" "$tmp/key.pem" "type=authorized_user"
badkey user "field 'type' is not \"service_account\""
sed -n '1,3p;6,$p' "$tmp/key.pem" >"$tmp/broken.pem"
keyfile "$tmp/badpem.json" "$tmp/broken.pem"
badkey badpem "service account key file $tmp/badpem.json: field 'private_key' is not an unencrypted PEM RSA private key"
hasnt "$tmp/err" "$(sed -n 6p "$tmp/key.pem")"
# another key than the one the service account has: the signature is refused
keyfile "$tmp/wrongkey.json" "$tmp/other.pem"
before=$(count "$tmp/fixed")
badkey wrongkey "refused the credentials: HTTP 400: invalid_grant: Invalid JWT Signature."
[ "$(count "$tmp/fixed")" -eq "$before" ] && ok || bad "a token issued for a wrong key"
no_secret "$tmp/fixed/log"

# ---- tokens that live 3 s, under dsrcd's pool ----
# (at the real time: the stand-in checks that iat is now)
unset DSRC_TEST_CLOCK
standin "$tmp/short" --life 3
qpid=$!
SHORT="http://127.0.0.1:$(cat "$tmp/short/port")/token"
rm -f "$tmp/conf/sources.d/"*.conf
extra='pool = { max_size = 2; min_idle = 0; max_lifetime = "200ms"; validate_after = "0s"; };
schedule = { health = "@every 250ms"; };'
gcpsrc pooled "service_account_file = \"$tmp/sa.json\";" "token_uri = \"$SHORT\";"
extra=
# the server logs each login: how many the pool made
su_psql -q -c "ALTER SYSTEM SET log_connections = on" -c "SELECT pg_reload_conf()" >/dev/null ||
    bad "cannot turn log_connections on"
logins() { grep -c "connection authorized: user=$DBUSER " "$PG_DIR/log/primary.log"; }
# connections of the CLI: each logs in with a fresh token (before the
# daemon: a token issued makes the one before it invalid here, not at Google)
for i in 1 2 3; do
    expect 0 dsrc test pooled
    no_secret "$tmp/out" "$tmp/err"
done
"$DSRCD" -c "$tmp/conf/dsrcd.conf" --foreground \
    --log-target stderr >"$tmp/dsrcd.log" 2>&1 &
dpid=$!
# health_is STATUS [TRIES]: dsrcd says pooled is STATUS within TRIES/2 s
health_is() {
    n=${2:-40}
    while [ "$n" -gt 0 ]; do
        dsrc health pooled >"$tmp/health" 2>&1
        grep -q "pooled: $1" "$tmp/health" && grep -q "from dsrcd" "$tmp/health" && return 0
        sleep 0.5
        n=$((n - 1))
    done
    return 1
}
health_is healthy && ok || { bad "pooled never healthy"; cat "$tmp/health" "$tmp/dsrcd.log"; }
c0=$(count "$tmp/short") l0=$(logins)
# 10 s: five lives of a token; healthy all along
i=0 downs=0
while [ $i -lt 20 ]; do
    dsrc health pooled >"$tmp/health" 2>&1
    grep -q "pooled: healthy" "$tmp/health" ||
        { downs=$((downs + 1)); cat "$tmp/health" >>"$tmp/downs"; }
    sleep 0.5
    i=$((i + 1))
done
c1=$(count "$tmp/short") l1=$(logins)
[ "$downs" -eq 0 ] && ok || { bad "pooled unhealthy $downs times in 10 s"; cat "$tmp/downs" "$tmp/dsrcd.log"; cat "$tmp/short/count"; }
# (about 5: each kept for two thirds of its life; the clock's whole seconds
# and a loaded machine can make that one second, hence at most 11)
[ $((c1 - c0)) -ge 3 ] && [ $((c1 - c0)) -le 11 ] && ok ||
    bad "tokens issued in 10 s of 3 s tokens: $((c1 - c0)) (wanted about 5, at most 11)"
# each token served several logins: kept, not made again on every use
[ $((l1 - l0)) -ge $((c1 - c0 + 3)) ] && ok ||
    bad "$((l1 - l0)) logins with $((c1 - c0)) tokens in 10 s"
hasnt "$tmp/dsrcd.log" "password authentication failed"
no_secret "$tmp/dsrcd.log" "$tmp/health"

# the token endpoint fails: unhealthy once the token is stale, said clearly
echo 500 >"$tmp/short/fail"
health_is down && ok || { bad "pooled not down with a failing endpoint"; cat "$tmp/health"; }
dsrc health pooled >"$tmp/health" 2>&1
has "$tmp/health" "Google token endpoint at $SHORT failed: HTTP 500"
# (75: it may pass later)
expect 75 dsrc test pooled
has "$tmp/err" "source 'pooled': cloud identity (gcp, service account): Google token endpoint at $SHORT failed: HTTP 500: internal_failure"
no_secret "$tmp/out" "$tmp/err" "$tmp/health"
# back: healthy again
rm -f "$tmp/short/fail"
health_is healthy && ok || { bad "pooled not healthy again"; cat "$tmp/health"; }
# gone: unhealthy, the endpoint named
kill "$qpid" && wait "$qpid" 2>/dev/null
qpid=
health_is down && ok || { bad "pooled not down with the endpoint gone"; cat "$tmp/health"; }
expect 75 dsrc test pooled
has "$tmp/err" "Google token endpoint at $SHORT"
no_secret "$tmp/out" "$tmp/err" "$tmp/health" "$tmp/dsrcd.log"

finish pg_gcp.sh "($((c1 - c0)) tokens of 3 s for $((l1 - l0)) logins in 10 s under dsrcd)"
