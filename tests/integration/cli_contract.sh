#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The command line's contract for scripts (dsrc(1), EXIT STATUS and JSON
# OUTPUT), across every command: with --json, stdout holds exactly one JSON
# document on success and on error, and a failed command's document is the
# shared error object {"error": {"status", "message", "exit", ...}} whose
# exit is the process's status; connection values are typed; a server that
# refuses connections exits 75 from test, ls and fetch alike, with its
# error printed once and a recommendation that fits; a mistyped command,
# source or plugin gets "did you mean".  Real sources: SQLite files, and
# the postgres plugin against a closed port on 127.0.0.1.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
lib_tmpdir dsrc-contract
expect_timeout=60

lib_conf "$top_builddir/plugins/sqlite/.libs" \
    "control_socket = \"$tmp/run/dsrcd.sock\";"
# the postgres plugin too, when it was built
pgdir="$top_builddir/plugins/postgres/.libs"
if [ -f "$pgdir/postgres.so" ]; then
    sed -i "s|^plugin_dir = .*|plugin_dir = [ \"$top_builddir/plugins/sqlite/.libs\", \"$pgdir\" ];|" \
        "$tmp/conf/dsrcd.conf"
    # a port nothing listens on: bind one, then close it
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    cat >"$tmp/conf/sources.d/down.conf" <<EOC
name = "down"; type = "postgres";
connection = { host = "127.0.0.1"; port = $port; database = "d"; user = "u"; connect_timeout = "5s"; };
pool = { max_size = 1; min_idle = 0; };
EOC
fi
sqlite3 "$tmp/a.db" "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t VALUES (1, 'x');"
cat >"$tmp/conf/sources.d/lite.conf" <<EOC
name = "lite"; type = "sqlite";
connection = { path = "$tmp/a.db"; };
EOC
C="-c $tmp/conf/dsrcd.conf"

# one JSON document on stdout ($tmp/out); with an exit status, the error
# object of that status
onejson() {
    python3 - "$tmp/out" "$@" <<'EOP'
import json, sys
text = open(sys.argv[1]).read()
try:
    doc = json.loads(text)
except ValueError as e:
    sys.exit("not exactly one JSON document: %s: %r" % (e, text[:300]))
if len(sys.argv) > 2:
    want = int(sys.argv[2])
    err = doc.get("error") if isinstance(doc, dict) else None
    if not isinstance(err, dict):
        sys.exit("no error object: %r" % text[:300])
    for k in ("status", "message", "exit", "retryable"):
        if k not in err:
            sys.exit("error object without %s: %r" % (k, err))
    if err["exit"] != want or not isinstance(err["retryable"], bool) or not err["message"]:
        sys.exit("error object %r, exit %d" % (err, want))
EOP
}
# run: STATUS ARGS... -- dsrc --json ARGS exits STATUS with one document
# (the error object when STATUS is not 0)
json_ok() {
    st=$1; shift
    expect "$st" "$DSRC" $C --json "$@"
    if [ "$st" = 0 ]; then m=$(onejson); else m=$(onejson "$st"); fi &&
        ok || bad "dsrc --json $*: $m"
}

# success, every command that needs no daemon
json_ok 0 plugins
json_ok 0 plugins --options sqlite
json_ok 0 sources
json_ok 0 sources lite
json_ok 0 check-config
json_ok 0 test lite
json_ok 0 ls lite
json_ok 0 describe lite t
json_ok 0 discover lite
json_ok 0 catalog lite
json_ok 0 drift lite
json_ok 0 stats lite
json_ok 0 fetch lite t
json_ok 0 runs
json_ok 0 token list
json_ok 0 audit
json_ok 0 secret check
json_ok 0 health lite
json_ok 0 --version

# errors, every command: a source, item or plugin that does not exist, a
# daemon that does not run, bad options and arguments
json_ok 2 nosuchcommand
json_ok 2 --no-such-option plugins
json_ok 1 plugins --options nosuch
json_ok 1 sources nosuch
json_ok 1 test nosuch
json_ok 1 ls lite nosuch
json_ok 1 describe lite nosuch
json_ok 1 discover nosuch
json_ok 1 catalog nosuch
json_ok 2 drift
json_ok 1 stats nosuch
json_ok 1 fetch lite nosuch
json_ok 2 fetch lite t --limit x
# no dsrcd: 75, it may pass once the daemon runs
json_ok 75 pools
json_ok 75 jobs
json_ok 75 run lite discover
json_ok 2 runs --limit -3
json_ok 2 token create
json_ok 2 audit --bogus
json_ok 2 secret nosuch
json_ok 1 health nosuch
json_ok 78 -c "$tmp/none.conf" sources
echo 'name = "broken"; type = "sqlite"; connection = { path = 3; };' >"$tmp/conf/sources.d/broken.conf"
json_ok 78 ls broken
json_ok 78 check-config
rm -f "$tmp/conf/sources.d/broken.conf"

# did you mean
expect 2 "$DSRC" $C tset lite;            has "$tmp/err" "did you mean 'test'"
expect 1 "$DSRC" $C ls lyte;              has "$tmp/err" "did you mean 'lite'"
expect 1 "$DSRC" $C plugins --options sqlit; has "$tmp/err" "did you mean 'sqlite'"
expect 1 "$DSRC" $C ls zzzzzzzz;          hasnt "$tmp/err" "did you mean"
echo 'name = "typo"; type = "sqlit"; connection = { path = "x"; };' >"$tmp/conf/sources.d/typo.conf"
expect 78 "$DSRC" $C check-config;        has "$tmp/err" "did you mean 'sqlite'"
rm -f "$tmp/conf/sources.d/typo.conf"

# fetch -o -: stdout is the data; the error object goes to stderr
expect 1 "$DSRC" $C --json fetch lite nosuch -o -
[ ! -s "$tmp/out" ] && ok || bad "fetch -o - wrote on stdout after an error"
has "$tmp/err" '{"error":{"status":"not-found"'

# --version --json and secret check --json are JSON too
expect 0 "$DSRC" --json --version; has "$tmp/out" '"plugin_abi"'
expect 0 "$DSRC" $C --json secret check; has "$tmp/out" '"checked": 0'
# ... and the other secret commands: the value escaped as it is written
expect 0 "$DSRC" --json secret genkey
jcheck "$tmp/out" 'len(d["key"]) == 44'
/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["key"])' "$tmp/out" >"$tmp/jkey"
chmod 600 "$tmp/jkey"
expect 0 "$DSRC" --json secret genkey -o "$tmp/jkey2"
jcheck "$tmp/out" 'd["written"].endswith("jkey2")'
printf 'a"b\\c\001\303\251' >"$tmp/jplain"
expect_in 0 "$tmp/jplain" "$DSRC" --json secret encrypt -k "$tmp/jkey"
jcheck "$tmp/out" 'd["token"].startswith("fernet:gAAAAA")'
/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$tmp/out" >"$tmp/jtoken"
expect_in 0 "$tmp/jtoken" "$DSRC" --json secret decrypt --show-plaintext -k "$tmp/jkey"
jcheck "$tmp/out" 'd["value"] == "a\"b\\c\x01\u00e9"'
printf 'x = "%s";\n' "$(cat "$tmp/jtoken")" >"$tmp/jrot.conf"
expect 0 "$DSRC" --json secret rotate -k "$tmp/jkey" "$tmp/jrot.conf"
jcheck "$tmp/out" 'd["files"] == [{"file": d["files"][0]["file"], "ok": True, "reencrypted": 0, "current": 1}]'

if [ -f "$pgdir/postgres.so" ]; then
    # typed connection values
    expect 0 "$DSRC" $C --json sources down
    m=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["connection"]; assert c["port"] == int(sys.argv[2]) and c["connect_timeout"] == 5000 and c["host"] == "127.0.0.1", c' \
        "$tmp/out" "$port" 2>&1) && ok || bad "typed connection values: $m"
    # unreachable: 75 from every command, the error once on stderr
    for cmd in "test down" "ls down" "describe down x/y" "fetch down x/y" "discover down"; do
        json_ok 75 $cmd
        expect 75 "$DSRC" $C $cmd
        n=$(grep -c "Connection refused" "$tmp/err")
        [ "$n" -eq 1 ] && ok || { bad "dsrc $cmd: the error printed $n times"; cat "$tmp/err"; }
    done
    # a recommendation that fits "Connection refused"
    expect 1 "$DSRC" $C health down
    has "$tmp/out" "check that the server runs"
    hasnt "$tmp/out" "credentials"
fi
finish cli_contract
