# tests/lib.sh -- helpers for the integration scripts, sourced after the
# script has set $tmp (its temporary directory).
#   ok / bad MESSAGE       count a pass / a failure (printed)
#   expect STATUS CMD...   run CMD (killed after 20 s: a hang is a failure),
#                          stdout in $tmp/out, stderr in $tmp/err
#   has FILE TEXT          FILE contains TEXT (else shows FILE)
#   wait_for FILE TEXT     wait up to 10 s for TEXT in FILE; 0 or 1
#   finish NAME            print the counts; the script's exit status
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
expect() {
    want=$1; shift
    timeout -s KILL 20 "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [ "$got" -eq "$want" ]; then ok; else
        bad "exit $got (wanted $want): $*"; sed 's/^/  err: /' "$tmp/err" | head -20
    fi
}
has() {
    if grep -qF -- "$2" "$1"; then ok; else bad "'$2' not in $1"; sed 's/^/  | /' "$1" | head -20; fi
}
wait_for() {
    n=100
    while [ "$n" -gt 0 ]; do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1; n=$((n - 1))
    done
    return 1
}
finish() {
    echo "$1: $pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}
