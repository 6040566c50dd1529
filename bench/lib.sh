# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# bench/lib.sh -- what every bench/*/run shares; sourced, not run (bash).
#
# A comparison runs dsrc and its peer interleaved, in BENCH_ROUNDS rounds
# (default 5): each round runs both, the first of the two alternating
# (A B, B A, A B, ...), so that a change in the machine's load falls on
# both alike.  It prints the median of each and the median of the per-round
# ratios, the goal and whether the run met it ("met" or "MISSED").  A
# benchmark is not a test: a MISSED goal is reported and the script still
# exits 0; it exits 77 when what it compares with is missing (skipped),
# 1 when it cannot measure (no build, a command failed, outputs differ).
#
# When BENCH_TABLE names a file, every verdict is also appended to it as
# one tab-separated line: bench, measure, dsrc median, peer median, ratio,
# goal, verdict (bench/run prints them as one table).
#
#   bench_init NAME        at the top of a run script (after `set -euo
#                          pipefail`): names the bench in messages, makes
#                          $bench_tmp (removed at exit), checks BENCH_ROUNDS
#   bench_on_exit CMD...   run CMD at exit (before $bench_tmp goes), last
#                          registered first
#   bench_die MSG          "bench/NAME: MSG" on stderr, exit 1
#   bench_skip MSG         "bench/NAME: skipped: MSG", a "skipped" row, exit 77
#   bench_skip_measure MEASURE MSG   the same for one measure; goes on
#   bench_goal MEASURE VALUE GOAL VERDICT   a figure without a peer, against
#                          an absolute goal: prints it, records the row
#   bench_build [DIR]      the build directory: DIR, else $DSRC_BUILD_DIR,
#                          else the current directory (absolute, on stdout)
#   bench_conf FILE PLUGIN_DIR       a dsrcd.conf for one-shot dsrc runs,
#                          its state, workspace and sources.d beside FILE
#   bench_time CMD...      "WALL CPU" seconds of CMD (CPU: user + system of
#                          CMD and its children); stdout dropped; dies
#                          showing CMD's stderr when CMD fails
#   bench_compare MEASURE KIND HOW GOAL DSRC_LABEL DSRC_CMD PEER_LABEL PEER_CMD
#                          the interleaved rounds and the report.  DSRC_CMD
#                          and PEER_CMD are one word each (a function or a
#                          program).  KIND: wall or cpu, the time the verdict
#                          is on (the other one is shown too).  HOW: faster
#                          (ratio peer / dsrc, met when >= GOAL) or cost
#                          (ratio dsrc / peer, met when <= GOAL); GOAL "-":
#                          no goal, the ratio is for reference.  Leaves the
#                          times in bench_dsrc_wall, bench_dsrc_cpu,
#                          bench_peer_wall, bench_peer_cpu (arrays).
#   bench_report MEASURE HOW GOAL UNIT DSRC_LABEL "DSRC..." PEER_LABEL "PEER..."
#                          the report of figures measured in rounds
#                          otherwise (requests per second, ...), one per
#                          round in each list: the medians, the per-round
#                          ratios, the verdict.  HOW as for bench_compare,
#                          or more (ratio dsrc / peer, met when >= GOAL:
#                          for rates)
#   bench_median NUMBER... the median (of an even count: the mean of the two
#                          middle ones)
#   bench_verdict MEASURE OP GOAL DSRC PEER RATIO  for a single figure
#                          (instruction counts): prints the verdict line of RATIO
#                          against GOAL (OP: >= or <=; GOAL "-": none) and
#                          records the row.

bench_name=bench
bench_tmp=""
bench_exit_cmds=()

bench_init() {
    bench_name=$1
    BENCH_ROUNDS=${BENCH_ROUNDS:-5}
    case $BENCH_ROUNDS in
    '' | *[!0-9]* | 0) bench_die "BENCH_ROUNDS must be a whole number above 0, not '$BENCH_ROUNDS'" ;;
    esac
    bench_tmp=$(mktemp -d "${TMPDIR:-/tmp}/dsrc-bench-$bench_name.XXXXXX")
    trap bench_cleanup EXIT
    trap 'exit 1' INT TERM HUP
}

bench_on_exit() {
    local IFS=' ' q
    printf -v q '%q ' "$@"
    bench_exit_cmds+=("$q")
}

bench_cleanup() {
    local i
    for ((i = ${#bench_exit_cmds[@]} - 1; i >= 0; i--)); do
        eval "${bench_exit_cmds[i]}" || true
    done
    [ -z "$bench_tmp" ] || rm -rf "$bench_tmp"
}

bench_die() {
    printf 'bench/%s: %s\n' "$bench_name" "$*" >&2
    exit 1
}

# bench_row MEASURE DSRC PEER RATIO GOAL VERDICT: one row of the table
bench_row() {
    [ -z "${BENCH_TABLE:-}" ] ||
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$bench_name" "$@" >>"$BENCH_TABLE"
}

bench_goal() {
    printf '  %-30s %s (goal %s): %s\n' "$1" "$2" "$3" "$4"
    bench_row "$1" "$2" - - "$3" "$4"
}

bench_skip_measure() {
    printf 'bench/%s: %s skipped: %s\n' "$bench_name" "$1" "$2" >&2
    bench_row "$1" - - - - "skipped: $2"
}

bench_skip() {
    printf 'bench/%s: skipped: %s\n' "$bench_name" "$*" >&2
    bench_row - - - - - "skipped: $*"
    exit 77
}

bench_build() {
    local d=${1:-${DSRC_BUILD_DIR:-.}}
    (cd "$d" 2>/dev/null && pwd) || bench_die "no build directory '$d'"
}

bench_conf() {
    local dir
    dir=$(dirname "$1")
    mkdir -p "$dir/sources.d" "$dir/state" "$dir/ws"
    cat >"$1" <<EOF
plugin_dir = "$2";
state_dir = "$dir/state";
workspace = "$dir/ws";
sources_dir = "$dir/sources.d";
log_level = "warning";
EOF
}

bench_time() {
    local TIMEFORMAT='%3R %3U %3S' w u s
    { time "$@" >/dev/null 2>"$bench_tmp/err"; } 2>"$bench_tmp/time" ||
        { cat "$bench_tmp/err" >&2; bench_die "failed: $*"; }
    read -r w u s <"$bench_tmp/time"
    awk -v w="$w" -v u="$u" -v s="$s" 'BEGIN { printf "%.3f %.3f\n", w, u + s }'
}

bench_median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

bench_verdict() {
    local v
    if [ "$3" = - ]; then
        printf '  %-30s %sx (no goal: for reference)\n' "ratio" "$6"
        bench_row "$1" "$4" "$5" "${6}x" - -
        return
    fi
    v=$(awk -v r="$6" -v op="$2" -v g="$3" 'BEGIN {
        print ((op == ">=" ? r >= g : r <= g) ? "met" : "MISSED") }')
    printf '  %-30s %sx (goal %s %sx): %s\n' "ratio" "$6" "$2" "$3" "$v"
    bench_row "$1" "$4" "$5" "${6}x" "$2 ${3}x" "$v"
}

# bench_pair_ratios HOW "A..." "B...": the per-round ratios of two lists
bench_pair_ratios() {
    awk -v how="$1" -v a="$2" -v b="$3" 'BEGIN {
        n = split(a, x, " "); split(b, y, " ")
        for (i = 1; i <= n; i++) {
            num = how == "faster" ? y[i] : x[i]; den = how == "faster" ? x[i] : y[i]
            printf "%.4f%s", (den > 0 ? num / den : 0), (i < n ? " " : "\n")
        } }'
}

# bench_fmt NUMBER: three decimals below 1000, none above
bench_fmt() { awk -v v="$1" 'BEGIN { printf (v < 1000 ? "%.3f" : "%.0f"), v }'; }

bench_report() {
    local measure=$1 how=$2 goal=$3 unit=$4 dl=$5 dv=$6 pl=$7 pv=$8 ratios dm pm r op=">="
    case $how in
    faster | more) ;;
    cost) op="<=" ;;
    *) bench_die "bench_report: HOW is faster, cost or more, not '$how'" ;;
    esac
    ratios=$(bench_pair_ratios "$how" "$dv" "$pv")
    # shellcheck disable=SC2086
    dm=$(bench_median $dv) pm=$(bench_median $pv) r=$(bench_median $ratios)
    printf '\n%s\n' "$measure"
    dm=$(bench_fmt "$dm") pm=$(bench_fmt "$pm")
    printf '  %-30s median %10s %s  (%s)\n' "$dl" "$dm" "$unit" "$dv" "$pl" "$pm" "$unit" "$pv"
    printf '  %-30s %s\n' "per round" "$ratios"
    if [ "$how" = cost ]; then r=$(printf '%.3f' "$r"); else r=$(printf '%.2f' "$r"); fi
    bench_verdict "$measure" "$op" "$goal" "$dm $unit" "$pm $unit" "$r"
}

bench_compare() {
    local measure=$1 kind=$2 how=$3 goal=$4 dl=$5 dc=$6 pl=$7 pc=$8 i w c other
    bench_dsrc_wall=() bench_dsrc_cpu=() bench_peer_wall=() bench_peer_cpu=()
    case $kind in wall) other=cpu ;; cpu) other=wall ;;
    *) bench_die "bench_compare: KIND is wall or cpu, not '$kind'" ;; esac
    printf '%s (%s rounds, interleaved)...\n' "$measure" "$BENCH_ROUNDS" >&2
    for ((i = 0; i < BENCH_ROUNDS; i++)); do
        if ((i % 2 == 0)); then
            read -r w c < <(bench_time "$dc") || exit 1
            bench_dsrc_wall+=("$w") bench_dsrc_cpu+=("$c")
        fi
        read -r w c < <(bench_time "$pc") || exit 1
        bench_peer_wall+=("$w") bench_peer_cpu+=("$c")
        if ((i % 2 == 1)); then
            read -r w c < <(bench_time "$dc") || exit 1
            bench_dsrc_wall+=("$w") bench_dsrc_cpu+=("$c")
        fi
    done
    local -n dv="bench_dsrc_$kind" pv="bench_peer_$kind" dov="bench_dsrc_$other" pov="bench_peer_$other"
    bench_report "$measure ($kind time)" "$how" "$goal" s "$dl" "${dv[*]}" "$pl" "${pv[*]}"
    printf '  %-30s dsrc %.3f s, peer %.3f s (medians)\n' "$other time" \
        "$(bench_median "${dov[@]}")" "$(bench_median "${pov[@]}")"
}
