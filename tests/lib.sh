# SPDX-License-Identifier: Apache-2.0
# tests/lib.sh -- the helpers every integration script shares
# (tests/integration/*.sh, plugins/*/tests/*.sh, tests/fixtures/replica.sh).
# Sourced near the top of a script, after `set -u`:
#     . "$top_srcdir/tests/lib.sh"
#
#   lib_tmpdir NAME        make the script's temporary directory $tmp
#                          (${TMPDIR:-/tmp}/NAME.XXXXXX) and arrange that on
#                          exit the function `cleanup` runs (a script
#                          defines its own, after sourcing this file, to stop
#                          its servers and daemons; the default does
#                          nothing), then $tmp is removed; INT and TERM exit
#                          1 through the same path.  Exits 99 when no
#                          directory can be made.
#   lib_conf PLUGIN_DIR [LINE...]  write $tmp/conf/dsrcd.conf: plugin_dir
#                          PLUGIN_DIR, state_dir $tmp/state, workspace
#                          $tmp/ws, sources_dir "sources.d" (made, empty),
#                          then each LINE (more settings) as it is
#   ok / bad MESSAGE       count a pass / a failure (printed as FAIL: MESSAGE)
#   expect STATUS CMD...   run CMD with stdout in $tmp/out, stderr in $tmp/err;
#                          a pass when it exits STATUS, else a failure that
#                          shows both.  With $expect_timeout set (seconds),
#                          CMD is killed after that long (a hang is a
#                          failure; CMD must then be a program, not a shell
#                          function).  With $expect_log set, the output of
#                          every command is appended to that file.
#   expect_in STATUS FILE CMD...   the same with FILE as standard input
#   has FILE TEXT          FILE contains TEXT (else shows FILE)
#   hasnt FILE TEXT        FILE does not contain TEXT
#   same FILE1 FILE2       the two files are byte for byte the same
#   wait_for FILE TEXT [TRIES]  wait until FILE contains TEXT, checking every
#                          0.1 s, TRIES times (default 100: 10 s); 0 or 1
#   lib_asan PROGRAM       0 when PROGRAM is built with AddressSanitizer
#   wait_exit PID [SECS]   wait for the background process PID to end, at
#                          most SECS seconds (default 20; then where its
#                          threads wait goes to $tmp/hung and it is killed:
#                          status 137); $rc its exit status.  A polling
#                          loop, not a watchdog subshell: a subshell killed
#                          right after its fork can still run the script's
#                          traps (and remove $tmp)
#   hung_report PID        the threads of PID: id, name, wait channel, and
#                          with gdb their stacks
#   until_handled PID      wait until PID has its SIGINT handler installed
#                          (15 s at most)
#   until_delivered PID    wait while PID has a SIGINT or SIGTERM not yet
#                          delivered (10 s at most): a second one sent
#                          before would merge with it
#   finish NAME [NOTE]     print "NAME: P passed, F failed[ NOTE] (S s)", S the
#                          seconds since this file was sourced; the
#                          script's exit status (0 when nothing failed), so
#                          a script ends with `finish NAME`.
# A script reports SKIP by exiting 77 before its first check, and a broken
# set-up (a server that does not start) by exiting 99.
pass=0 fail=0
expect_timeout=${expect_timeout:-}
expect_log=${expect_log:-}

lib_tmpdir() {
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || { echo "mktemp failed"; exit 99; }
    trap lib_exit EXIT
    trap 'exit 1' INT TERM
}
cleanup() { :; }
lib_exit() {
    cleanup
    rm -rf "$tmp"
}
lib_conf() {
    mkdir -p "$tmp/conf/sources.d"
    {
        printf 'plugin_dir = "%s";\nstate_dir = "%s/state";\nworkspace = "%s/ws";\nsources_dir = "sources.d";\n' \
            "$1" "$tmp" "$tmp"
        shift
        for line in "$@"; do printf '%s\n' "$line"; done
    } >"$tmp/conf/dsrcd.conf"
}

ok() { pass=$((pass + 1)); }
lib_asan() { grep -q __asan_init "$1" 2>/dev/null; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
expect() {
    want=$1; shift
    if [ -n "$expect_timeout" ]; then
        timeout -s KILL "$expect_timeout" "$@" >"$tmp/out" 2>"$tmp/err"
    else
        "$@" >"$tmp/out" 2>"$tmp/err"
    fi
    got=$?
    [ -z "$expect_log" ] || cat "$tmp/out" "$tmp/err" >>"$expect_log"
    if [ "$got" -eq "$want" ]; then ok; else
        bad "exit $got (wanted $want): $*"
        sed 's/^/  out: /' "$tmp/out" | head -20
        sed 's/^/  err: /' "$tmp/err" | head -20
    fi
}
expect_in() {
    want=$1; input=$2; shift 2
    expect "$want" "$@" <"$input"
}
has() {
    if grep -qF -- "$2" "$1"; then ok; else bad "'$2' not in $1"; sed 's/^/  | /' "$1" | head -30; fi
}
hasnt() {
    if grep -qF -- "$2" "$1"; then bad "'$2' unexpectedly in $1"; else ok; fi
}
same() {
    if cmp "$1" "$2"; then ok; else bad "$1 and $2 differ"; fi
}
wait_for() {
    n=${3:-100}
    while [ "$n" -gt 0 ]; do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1; n=$((n - 1))
    done
    return 1
}
lib_running() { grep -qs '^State:[[:space:]]*[^Z]' "/proc/$1/status"; }
hung_report() {
    for t in /proc/"$1"/task/*; do
        printf '%s %s %s\n' "${t##*/}" "$(cat "$t/comm")" "$(cat "$t/wchan")"
    done
    command -v gdb >/dev/null && gdb -p "$1" -batch -ex 'thread apply all bt' </dev/null 2>/dev/null |
        grep -E '^(#|Thread)'
}
lib_catches_int() {
    _m=$(awk '/^SigCgt:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
    [ -n "$_m" ] && [ $(( 0x$_m & 2 )) -ne 0 ]
}
lib_sig_pending() {
    set -- $(awk '/^(ShdPnd|SigPnd):/ { print $2 }' "/proc/$1/status" 2>/dev/null)
    [ $# -eq 2 ] && [ $(( (0x$1 | 0x$2) & 0x4002 )) -ne 0 ]
}
until_handled() {
    _n=300
    until lib_catches_int "$1" || [ $_n -eq 0 ]; do sleep 0.05; _n=$((_n - 1)); done
}
until_delivered() {
    _n=200
    while lib_sig_pending "$1" && [ $_n -gt 0 ]; do sleep 0.05; _n=$((_n - 1)); done
}
wait_exit() {
    _n=$(( ${2:-20} * 100 ))
    while lib_running "$1" && [ $_n -gt 0 ]; do sleep 0.01; _n=$((_n - 1)); done
    if lib_running "$1"; then
        hung_report "$1" >"$tmp/hung" 2>&1
        kill -KILL "$1" 2>/dev/null
    fi
    wait "$1"
    rc=$?
}
# wait_until CMD...: until CMD succeeds (output discarded), at most 15 s
wait_until() {
    n=150
    while [ $n -gt 0 ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1; n=$((n - 1))
    done
    return 1
}
# jcheck FILE EXPR: the JSON in FILE, as d, makes the python3 EXPR true
jcheck() {
    if /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1"; then
        ok
    else
        bad "JSON check failed: $2"; sed 's/^/  | /' "$1" | head -20
    fi
}
# ucurl STATUS CURL-ARGS...: curl on the control socket $SOCK (at most
# $UCURL_MAX_TIME s, default 20) answers STATUS; the body in $tmp/body,
# the headers in $tmp/hdr
ucurl() {
    want=$1; shift
    code=$(curl -sS --max-time "${UCURL_MAX_TIME:-20}" -o "$tmp/body" -D "$tmp/hdr" \
        -w '%{http_code}' --unix-socket "$SOCK" "$@" 2>"$tmp/cerr")
    if [ "$code" = "$want" ]; then ok; else
        bad "HTTP $code (wanted $want): $*"; sed 's/^/  | /' "$tmp/body" "$tmp/cerr" | head -10
    fi
}
# conformance_isolation none|process: the conformance run in "$tmp/out"
# had its plugin in dsrc's process (none) or in a worker process (process)
conformance_isolation() {
    if [ "$1" = process ]; then
        head -1 "$tmp/out" | grep -q ', in a worker process)$' && ok ||
            bad "the plugin did not run in a worker process: $(head -1 "$tmp/out")"
    else
        head -1 "$tmp/out" | grep -q ', in a worker process)$' &&
            bad "the plugin ran in a worker process: $(head -1 "$tmp/out")" || ok
    fi
}
# conformance_sql SOURCE SECRET: dsrc conformance passes SQL source SOURCE
# (in "$C") with every case, in dsrc's process and in a worker process, first choosing the item itself, then with a
# quirks file naming shop.orders, its container, its key as the cursor and
# a bad port; SECRET appears in no output
conformance_sql() {
    for iso in none process; do
        expect 0 env DSRC_ISOLATION=$iso "$DSRC" $C conformance "$1"
        grep '^FAIL' "$tmp/out" && bad "a case failed ($iso)" || ok
        for c in open ping list_root list_container list_stop describe describe_missing \
            discover fetch_full fetch_columns fetch_limit fetch_unknown_column cursor sink_stop \
            cancel errors reopen; do
            has "$tmp/out" "PASS $c"
        done
        conformance_isolation $iso
    done
    printf 'item = "shop/orders";\ncontainer = "shop";\ncursor_field = "id";\nbad_option = "port=70000";\n' \
        >"$tmp/q"
    expect 0 "$DSRC" $C conformance "$1" --quirks "$tmp/q"
    has "$tmp/out" "item 'shop/orders' in 'shop', 18 passed, 0 failed, 0 skipped"
    hasnt "$tmp/out" "$2"
    hasnt "$tmp/err" "$2"
}
lib_started=$(date +%s)
finish() {
    echo "$1: $pass passed, $fail failed${2:+ $2} ($(( $(date +%s) - lib_started )) s)"
    [ "$fail" -eq 0 ]
}
