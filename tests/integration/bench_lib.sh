#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# bench/lib.sh, what every benchmark reports through, on figures given (no
# timing is asserted): medians, per-round ratios and the verdict against
# the goal for each kind of comparison, the rows of bench/run's table, the
# interleaved order of a comparison, a command that fails, BENCH_ROUNDS
# refused when not a whole number above 0, a skip, the cleanup at exit;
# bench/run's refusal of an unknown bench.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib.sh"
lib_tmpdir dsrc-bench-lib
command -v bash >/dev/null 2>&1 || { echo "SKIP: bench/lib.sh needs bash"; exit 77; }

# bl SCRIPT: SCRIPT in bash after bench/lib.sh and bench_init t, with
# BENCH_TABLE=$tmp/table (emptied first), BENCH_ROUNDS=$rounds when set and
# ORDER=$tmp/order
bl() {
    : >"$tmp/table"
    env ${rounds+BENCH_ROUNDS="$rounds"} ORDER="$tmp/order" BENCH_TABLE="$tmp/table" bash -c 'set -euo pipefail; . "$1/bench/lib.sh"; bench_init t; eval "$2"' \
        bl "$top_srcdir" "$1"
}
# row WANT: the table holds exactly the line WANT (fields tab-separated,
# written with | here)
row() {
    printf '%s\n' "$1" | tr '|' '\t' >"$tmp/want"
    same "$tmp/table" "$tmp/want"
}

expect 0 bl 'bench_median 3 1 2; bench_median 4 1 3 2; bench_median 0.5'
printf '2\n2.5\n0.5\n' >"$tmp/want"
same "$tmp/out" "$tmp/want"

expect 0 bl 'bench_pair_ratios faster "1 2" "2 8"; bench_pair_ratios cost "1 2" "2 8"
             bench_pair_ratios more "10 30" "5 10"'
printf '2.0000 4.0000\n0.5000 0.2500\n2.0000 3.0000\n' >"$tmp/want"
same "$tmp/out" "$tmp/want"

# faster: peer / dsrc per round (2, 1, 2, 3, 0.5), median 2
expect 0 bl 'bench_report "fetch" faster 1.5 s dsrc "1 2 1 1 4" peer "2 2 2 3 2"'
has "$tmp/out" "ratio                          2.00x (goal >= 1.5x): met"
row "t|fetch|1.000 s|2.000 s|2.00x|>= 1.5x|met"
expect 0 bl 'bench_report "fetch" faster 2.5 s dsrc "1 2 1 1 4" peer "2 2 2 3 2"'
row "t|fetch|1.000 s|2.000 s|2.00x|>= 2.5x|MISSED"
# cost: dsrc / peer, met at or under the goal
expect 0 bl 'bench_report "check" cost 1.03 s on "1.02 1.01 1.10" off "1 1 1"'
row "t|check|1.020 s|1.000 s|1.020x|<= 1.03x|met"
expect 0 bl 'bench_report "check" cost 1.03 s on "1.04 1.05 1.10" off "1 1 1"'
row "t|check|1.050 s|1.000 s|1.050x|<= 1.03x|MISSED"
# more (rates): dsrc / peer; large figures without decimals
expect 0 bl 'bench_report "api" more 0.5 req/s dsrcd "12000 9200" nginx "20000 20000"'
row "t|api|10600 req/s|20000 req/s|0.53x|>= 0.5x|met"
# no goal: for reference
expect 0 bl 'bench_report "sync" faster - s dsrc "1" peer "3"'
has "$tmp/out" "3.00x (no goal: for reference)"
row "t|sync|1.000 s|3.000 s|3.00x|-|-"
expect 0 bl 'bench_verdict "ir" "<=" 1.03 2895 2871 1.0084'
row "t|ir|2895|2871|1.0084x|<= 1.03x|met"
expect 0 bl 'bench_goal "diff" "9.8 ms" "< 100 ms" met'
row "t|diff|9.8 ms|-|-|< 100 ms|met"

# a comparison: BENCH_ROUNDS rounds, each running both, the first alternating
rounds=4
expect 0 bl '
    a() { echo A >>"$ORDER"; }
    b() { echo B >>"$ORDER"; }
    bench_compare "order" wall faster 1 "dsrc" a "peer" b'
unset rounds
[ "$(tr -d '\n' <"$tmp/order")" = ABBAABBA ] && ok || bad "order: $(tr -d '\n' <"$tmp/order")"
has "$tmp/out" "order (wall time)"
[ "$(cut -f1,2,6 "$tmp/table")" = "$(printf 't\torder (wall time)\t>= 1x')" ] && ok ||
    bad "the comparison's row: $(cat "$tmp/table")"
[ "$(awk -F'\t' '{ print NF }' "$tmp/table")" = 7 ] && ok || bad "not 7 fields: $(cat "$tmp/table")"

# a command that fails: its stderr, then the bench stops with status 1
expect 1 bl 'f() { echo "no such table" >&2; return 3; }
             bench_compare "broken" wall faster 1 dsrc f peer true; echo after'
has "$tmp/err" "no such table"
has "$tmp/err" "bench/t: failed: f"
hasnt "$tmp/out" "after"

for rounds in 0 x 1.5 -3; do
    expect 1 bl 'echo ran'
    has "$tmp/err" "BENCH_ROUNDS must be a whole number above 0, not '$rounds'"
    hasnt "$tmp/out" "ran"
done
unset rounds

# a skip: status 77, the reason on stderr and in the table
expect 77 bl 'bench_skip "no psql (apt-get install postgresql-client)"'
has "$tmp/err" "bench/t: skipped: no psql (apt-get install postgresql-client)"
row "t|-|-|-|-|-|skipped: no psql (apt-get install postgresql-client)"

# at exit: the hooks, last registered first, then the temporary directory goes
expect 0 bl 'bench_on_exit echo "first hook"; bench_on_exit echo "second hook"
             echo "$bench_tmp" >"'"$tmp"'/dir"'
printf 'second hook\nfirst hook\n' >"$tmp/want"
same "$tmp/out" "$tmp/want"
[ ! -e "$(cat "$tmp/dir")" ] && ok || bad "$(cat "$tmp/dir") is left"

expect 2 bash "$top_srcdir/bench/run" --build "$top_builddir" nosuch
has "$tmp/err" 'no bench named "nosuch"'

finish bench_lib
