#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# No secret ever reaches an output: every dsrc command (tables and --json,
# success and failure, verbose logs), dsrcd's logs, fetched files, manifests
# and state, against a plugin that echoes its whole connection string --
# password and token included -- in errors, logs and metadata.  Secrets come
# as plain values, env:, file: and fernet: references.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
DSRCD="$top_builddir/dsrcd"
lib_tmpdir dsrc-redact
out="$tmp/outputs"
mkdir -p "$out" "$tmp/conf/sources.d" "$tmp/plugins"

P_PLAIN=PlainPw-8c1f2e
T_ENV=EnvTok-77aa19
P_FERNET=FernetPw-3b9d0c
T_FILE=FileTok-5e6f70
P_OPEN=OpenFailPw-1a2b3c
P_OPS=OpsFailPw-4d5e6f
secrets="$P_PLAIN $T_ENV $P_FERNET $T_FILE $P_OPEN $P_OPS"

ln -s "$top_builddir/tests/fixtures/plugins/.libs/leaky.so" "$tmp/plugins/leaky.so"
"$DSRC" secret genkey -o "$tmp/conf/dsrc.key" >/dev/null || bad "genkey"
enc() { printf '%s' "$1" | "$DSRC" secret encrypt -k "$tmp/conf/dsrc.key"; }
F_FERNET=$(enc "$P_FERNET") && F_OPS=$(enc "$P_OPS") || bad "encrypt"
case "$F_FERNET" in fernet:*) ok ;; *) bad "encrypt printed '$F_FERNET'" ;; esac
printf '%s\n' "$T_FILE" >"$tmp/token.txt"; chmod 600 "$tmp/token.txt"
export LEAKY_TOKEN=$T_ENV

cat >"$tmp/conf/dsrcd.conf" <<EOF2
plugin_dir = "$tmp/plugins";
state_dir = "$tmp/state";
workspace = "$tmp/ws";
key_file = "dsrc.key";
control_socket = "$tmp/run/dsrcd.sock";
EOF2
src() { # name password token fail
    printf 'name = "%s";\ntype = "leaky";\nconnection = {\n  host = "db.example";\n  password = "%s";\n  token = "%s";\n  fail = "%s";\n};\n' \
        "$1" "$2" "$3" "$4" >"$tmp/conf/sources.d/$1.conf"
}
src plain "$P_PLAIN" "env:LEAKY_TOKEN" none
src crypt "$F_FERNET" "file:$tmp/token.txt" none
src badopen "$P_OPEN" "env:LEAKY_TOKEN" open
src badops "$F_OPS" "env:LEAKY_TOKEN" ops
C="-c $tmp/conf/dsrcd.conf"

n=0
run() { # run EXPECTED-STATUS ARGS...: every output kept for the final scan
    want=$1; shift
    n=$((n + 1))
    "$@" >"$out/$n.out" 2>"$out/$n.err"
    got=$?
    if [ "$got" -eq "$want" ]; then ok; else bad "exit $got, wanted $want: $*"; head -5 "$out/$n.err"; fi
}

# the secrets were really resolved: the plugin reports the password length
run 0 "$DSRC" $C test plain
grep -q "password-length=${#P_PLAIN}" "$out/$n.out" && ok || bad "plain password not delivered"
grep -q "plain-text secret" "$out/$n.err" && ok || bad "no warning for a plain-text secret"
run 0 "$DSRC" $C test crypt
grep -q "password-length=${#P_FERNET}" "$out/$n.out" && ok || bad "fernet password not delivered"

for v in "" "-v" "-v -v"; do
    for j in "" "--json"; do
        run 0 "$DSRC" $C $v $j plugins
        run 0 "$DSRC" $C $v $j plugins --options leaky
        run 0 "$DSRC" $C $v $j sources
        run 0 "$DSRC" $C $v $j check-config
        run 0 "$DSRC" $C $v $j secret check
        for s in plain crypt badopen badops; do
            run 0 "$DSRC" $C $v $j sources $s
        done
        for s in plain crypt; do
            run 0 "$DSRC" $C $v $j test $s
            run 0 "$DSRC" $C $v $j ls $s
            run 0 "$DSRC" $C $v $j describe $s t
            run 0 "$DSRC" $C $v $j discover $s
            run 0 "$DSRC" $C $v $j fetch $s t -o -
            run 0 "$DSRC" $C $v $j fetch $s t
            run 0 "$DSRC" $C $v $j fetch $s t --format jsonl -o "$tmp/ws/out-$s.jsonl"
        done
        for s in badopen badops; do
            run 1 "$DSRC" $C $v $j test $s
            run 1 "$DSRC" $C $v $j ls $s
            run 1 "$DSRC" $C $v $j describe $s t
            run 1 "$DSRC" $C $v $j discover $s
            run 1 "$DSRC" $C $v $j fetch $s t -o -
        done
    done
done
grep -q "authentication failed" "$out"/*.err && ok || bad "the open failure was not reported"

# a wrong key: a fernet secret fails that source only, naming source and option
"$DSRC" secret genkey -o "$tmp/other.key" >/dev/null
sed -i "s|dsrc.key|$tmp/other.key|" "$tmp/conf/dsrcd.conf"
run 1 "$DSRC" $C test crypt
grep -q "crypt" "$out/$n.err" && grep -q "password" "$out/$n.err" && ok || bad "wrong key message: $(cat "$out/$n.err")"
run 0 "$DSRC" $C test plain
run 1 "$DSRC" $C secret check
sed -i "s|$tmp/other.key|dsrc.key|" "$tmp/conf/dsrcd.conf"

# a secret reference in an option that is not secret is a config error
cp "$tmp/conf/sources.d/plain.conf" "$tmp/plain.conf.bak"
sed -i 's|host = "db.example"|host = "env:LEAKY_TOKEN"|' "$tmp/conf/sources.d/plain.conf"
run 78 "$DSRC" $C check-config
grep -q "plain.conf:4: error: .*'host' is not a secret option" "$out/$n.err" && ok ||
    bad "reference in a plain option: $(cat "$out/$n.err")"
cp "$tmp/plain.conf.bak" "$tmp/conf/sources.d/plain.conf"

# the daemon's logs
run 0 "$DSRCD" $C --check-config
"$DSRCD" $C --foreground --log-target stderr --log-level debug >"$out/daemon.out" 2>"$out/daemon.err" &
dpid=$!
# started (its signals handled), then reloaded, then stopped
wait_for "$out/daemon.err" " started" 300 || bad "dsrcd did not start"
kill -HUP $dpid
wait_for "$out/daemon.err" "reloaded" 300 || bad "dsrcd did not reload"
kill -TERM $dpid; wait $dpid && ok || bad "dsrcd exit"

# the scan: outputs, fetched files, manifests, state
for s in $secrets; do
    if grep -rlF -- "$s" "$out" "$tmp/ws" "$tmp/state" 2>/dev/null | grep -q .; then
        bad "secret $s found in: $(grep -rlF -- "$s" "$out" "$tmp/ws" "$tmp/state" | head -3 | tr '\n' ' ')"
    else ok; fi
done
grep -rqF '***' "$out" && ok || bad "no redaction marker seen at all"

finish redaction "($n commands)"
