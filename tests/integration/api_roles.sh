#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The control API's role matrix: every route of the table (as api_routes
# prints it, so a new route is covered without changing this script) for
# every kind of caller, on TLS TCP (no token, an unknown, revoked or
# expired token, a viewer's, an operator's, an admin's) and on the control
# socket (root; as root: users given viewer and operator by the api group,
# and nobody).  Below the route's role: 403; no valid token: 401; allowed:
# the route's own answer (2xx, or a 4xx of its validation, never 401, 403
# or 405).  Every denial is in the audit trail with who and the status.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
DSRCD="$top_builddir/dsrcd"
ROUTES="$top_builddir/tests/integration/api_routes"
PY=/usr/bin/python3
for t in curl sqlite3 openssl "$PY"; do
    command -v "$t" >/dev/null || { echo "$t missing"; exit 77; }
done
lib_tmpdir dsrc-api-roles
pid=
users=
grp=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    for u in $users; do userdel "$u" >/dev/null 2>&1; done
    [ -n "$grp" ] && groupdel "$grp" >/dev/null 2>&1
}
# retry CMD...: /etc/passwd may be locked by another useradd a moment
retry() {
    n=50
    until "$@" >/dev/null 2>&1; do
        n=$((n - 1)); [ $n -gt 0 ] || return 1
        sleep 0.2
    done
}
SOCK="$tmp/run/dsrcd.sock"
"$ROUTES" >"$tmp/routes" && [ -s "$tmp/routes" ] || { echo "api_routes failed"; exit 99; }

# As root, two system users: one in a group the api group makes operator
# (a supplementary group), one the api group names as viewer.
sock_users=
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && command -v useradd >/dev/null; then
    grp="dsrcg$$" vuser="dsrcv$$" ouser="dsrco$$"
    retry groupadd -r "$grp" || { echo "groupadd failed"; exit 99; }
    retry useradd -r -M -N -g nogroup -G "$grp" -s /usr/sbin/nologin "$ouser" ||
        { echo "useradd failed"; exit 99; }
    users="$ouser"
    retry useradd -r -M -N -g nogroup -s /usr/sbin/nologin "$vuser" ||
        { echo "useradd failed"; exit 99; }
    users="$ouser $vuser"
    sock_users="admin:root operator:$ouser viewer:$vuser none:nobody"
fi

sqlite3 "$tmp/shop.db" 'CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1,"a");'
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" >/dev/null 2>&1 || { echo "openssl failed"; exit 99; }
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
lib_conf "$top_builddir/plugins/sqlite/.libs" "control_socket = \"$SOCK\";" \
    "api = { listen = \"127.0.0.1:$PORT\"; tls_cert = \"$tmp/cert.pem\"; tls_key = \"$tmp/key.pem\";" \
    "        operator_groups = [\"${grp:-dsrc}\"]; viewer_users = [\"${vuser:-nobody}\"]; }"
cat >"$tmp/conf/sources.d/demo.conf" <<EOF2
name = "demo";
type = "sqlite";
connection = { path = "$tmp/shop.db"; };
EOF2
C="-c $tmp/conf/dsrcd.conf"
expect 0 "$DSRCD" $C --check-config

# Tokens: one per role; one revoked; one expired (made, then its expiry
# moved into the past in the state store).
tok() { "$DSRC" $C token create --role "$1" --name "$2" 2>"$tmp/err"; }
t_viewer=$(tok viewer m-viewer) && t_operator=$(tok operator m-operator) &&
    t_admin=$(tok admin m-admin) && t_revoked=$(tok admin m-revoked) &&
    t_expired=$(tok admin m-expired) || { cat "$tmp/err"; exit 99; }
"$DSRC" $C token revoke m-revoked >/dev/null 2>&1 || { echo "revoke failed"; exit 99; }
sqlite3 "$tmp/state/dsrc.db" \
    "UPDATE api_tokens SET expires_at = 1000 WHERE name = 'm-expired';" || exit 99

"$DSRCD" $C --foreground >"$tmp/log" 2>&1 &
pid=$!
wait_until test -S "$SOCK" || { echo "no control socket"; cat "$tmp/log"; exit 99; }
chmod 0755 "$tmp"
chmod 0777 "$tmp/run" "$SOCK"

# A real run, for the routes with {id}.
curl -sS --unix-socket "$SOCK" -X POST -H 'Content-Type: application/json' \
    -d '{"source":"demo","kind":"discover"}' -o "$tmp/body" http://localhost/v1/runs
run_id=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$tmp/body") ||
    { echo "no run"; cat "$tmp/body"; exit 99; }
done_run() { curl -sf --unix-socket "$SOCK" "http://localhost/v1/runs/$run_id" | grep -q '"state": *"succeeded"'; }
wait_until done_run || { echo "run $run_id did not succeed"; exit 99; }

rank() { case $1 in viewer) echo 1 ;; operator) echo 2 ;; admin) echo 3 ;; *) echo 0 ;; esac; }
# check WHO ROUTE-ROLE CALLER-ROLE|401 METHOD PATH STATUS: one cell
check() {
    if [ "$3" = 401 ]; then want=401
    elif [ "$(rank "$3")" -lt "$(rank "$2")" ]; then want=403
    else want=allowed
    fi
    case $want:$6 in
        401:401 | 403:403) ok; echo "$1 $4 $5 $6" >>"$tmp/denied" ;;
        allowed:401 | allowed:403 | allowed:405 | allowed:5??) bad "$1: $4 $5 -> $6, wanted the route's answer"; head -c 300 "$tmp/body"; echo ;;
        allowed:[24]??) ok ;;
        *) bad "$1: $4 $5 -> $6, wanted $want"; head -c 300 "$tmp/body"; echo ;;
    esac
}
body='{"source":"demo","kind":"discover"}'
while read -r method pattern role; do
    path=$(echo "$pattern" | sed -e 's/{name}/demo/g' -e "s/{id}/$run_id/g" -e 's/{[a-z_]*}/x/g')
    data=
    [ "$method" = GET ] || [ "$method" = DELETE ] || data=$body
    # TLS TCP
    for caller in none:401 unknown:401 revoked:401 expired:401 \
        viewer:viewer operator:operator admin:admin; do
        name=${caller%%:*} has=${caller#*:}
        case $name in
            none) auth= ;;
            unknown) auth="Authorization: Bearer dsrc_notatokenatall" ;;
            *) eval "auth=\"Authorization: Bearer \$t_$name\"" ;;
        esac
        code=$(curl -sS -o "$tmp/body" -w '%{http_code}' --max-time 20 --cacert "$tmp/cert.pem" \
            -X "$method" ${auth:+-H "$auth"} -H 'Content-Type: application/json' \
            ${data:+-d "$data"} "https://127.0.0.1:$PORT$path" 2>>"$tmp/cerr")
        case $name in
            none | unknown) who=- ;;
            *) who="token m-$name" ;;
        esac
        check "$who" "$role" "$has" "$method" "$pattern" "$code"
    done
    # the control socket
    for caller in $sock_users; do
        has=${caller%%:*} user=${caller#*:}
        if [ "$user" = root ]; then
            run=
        else
            run="setpriv --reuid=$user --regid=nogroup --init-groups"
        fi
        code=$($run curl -sS -o - -w '\n%{http_code}' --max-time 20 --unix-socket "$SOCK" \
            -X "$method" -H 'Content-Type: application/json' ${data:+-d "$data"} \
            "http://localhost$path" 2>>"$tmp/cerr" >"$tmp/resp"; tail -n1 "$tmp/resp")
        sed '$d' "$tmp/resp" >"$tmp/body"
        who="uid $(id -u "$user") ($user)"
        check "$who" "$role" "$has" "$method" "$pattern" "$code"
    done
done <"$tmp/routes"

# Every denial in the audit trail: who, the route, the status.
n=$(wc -l <"$tmp/denied")
"$DSRC" $C --json audit --limit 100000 >"$tmp/audit.json" 2>&1
"$PY" - "$tmp/audit.json" "$tmp/denied" >"$tmp/missing" <<'EOF2'
import json, sys
recs = json.load(open(sys.argv[1]))
have = {(r["who"], r["action"], r["result"]) for r in recs}
for line in open(sys.argv[2]):
    who, rest = line.rstrip("\n").rsplit(" ", 3)[0], line.rstrip("\n").rsplit(" ", 3)[1:]
    method, pattern, status = rest
    if (who, method + " " + pattern, status) not in have:
        print(line.rstrip("\n"))
EOF2
[ -s "$tmp/missing" ] && { bad "denials missing from the audit trail:"; head -20 "$tmp/missing"; } || ok
[ "$n" -ge 10 ] && ok || bad "only $n denials checked"
grep -qF -e "$t_viewer" -e "$t_expired" -e "$t_revoked" "$tmp/audit.json" "$tmp/log" &&
    bad "a token reached the audit trail or the log" || ok

kill -0 "$pid" 2>/dev/null && ok || bad "dsrcd died"
kill -TERM "$pid"
wait "$pid"
st=$?
pid=
[ "$st" -eq 0 ] && ok || { bad "dsrcd exit $st"; tail -20 "$tmp/log"; }
finish api_roles.sh "($n denials)"
