#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The manual pages in docs/ are clean for `mandoc -Tlint` (every level:
# errors, warnings, style: a form feed, an unparsable .TH date, a line
# longer than 80 bytes), and no alternating-font macro (.BR, .IR...) runs
# two or more plain words together ("SELECT 1) and prints the latency"
# given to .BR renders as "SELECT 1)andprintsthelatency").
set -u
: "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
command -v mandoc >/dev/null 2>&1 || { echo "SKIP: mandoc is not installed"; exit 77; }
lib_tmpdir dsrc-manlint

for page in "$top_srcdir"/docs/*.[1-8]; do
    name=${page##*/}
    if mandoc -Tlint -W all "$page" >"$tmp/lint" 2>&1 && ! [ -s "$tmp/lint" ]; then
        ok "$name: mandoc -Tlint"
    else
        bad "$name: mandoc -Tlint"
        cat "$tmp/lint"
    fi
    # An alternating macro whose arguments meet letter to letter at two
    # places or more: words meant as running text were given as arguments.
    awk '
        /^\.(BR|RB|IR|RI|BI|IB)[ \t]/ {
            line = $0; sub(/^\.[A-Z][A-Z][ \t]+/, "", line)
            n = 0; joins = 0
            while (length(line)) {
                if (substr(line, 1, 1) == "\"") {
                    arg = substr(line, 2); p = index(arg, "\"")
                    if (p) { line = substr(arg, p + 1); arg = substr(arg, 1, p - 1) }
                    else line = ""
                } else {
                    p = match(line, /[ \t]/)
                    if (p) { arg = substr(line, 1, p - 1); line = substr(line, p) }
                    else { arg = line; line = "" }
                }
                sub(/^[ \t]+/, "", line)
                if (n && prev ~ /[A-Za-z0-9]$/ && arg ~ /^[A-Za-z0-9]/) joins++
                prev = arg; n++
            }
            if (joins >= 2) printf "%s:%d: words run together: %s\n", FILENAME, FNR, $0
        }' "$page" >"$tmp/runs"
    if [ -s "$tmp/runs" ]; then
        bad "$name: alternating-font macros"
        cat "$tmp/runs"
    else
        ok "$name: alternating-font macros"
    fi
done
finish man_lint
