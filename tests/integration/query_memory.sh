#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dsrc query streams: a 1 M-row result of a sqlite source goes through in
# flat memory, in dsrc's process and in a worker process.  The peak
# resident size of the whole command (dsrc and its worker, the largest of
# them) for 1 M rows stays within a few MiB of the peak for 100 k rows; an
# implementation that held the result would need some 50 MiB more for the
# nine hundred thousand extra rows (about 60 bytes each in CSV).
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
top_builddir=$(cd "$top_builddir" && pwd)
DSRC="$top_builddir/dsrc"
SQLITE_DIR="$top_builddir/plugins/sqlite/.libs"
[ -f "$SQLITE_DIR/sqlite.so" ] || { echo "sqlite.so not built"; exit 77; }
[ -x /usr/bin/python3 ] || { echo "python3 missing"; exit 77; }
command -v sqlite3 >/dev/null || { echo "sqlite3 missing"; exit 77; }
lib_tmpdir dsrc-query-memory
unset CREDENTIALS_DIRECTORY DSRC_ISOLATION
lib_conf "$SQLITE_DIR"
C="-c $tmp/conf/dsrcd.conf"
sqlite3 "$tmp/big.db" "CREATE TABLE big (id INTEGER PRIMARY KEY, name TEXT, amount REAL, at TIMESTAMP);
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000)
  INSERT INTO big SELECT i, 'customer number ' || i, i * 0.25, '2024-01-01T00:00:00' FROM n;"
cat >"$tmp/conf/sources.d/big.conf" <<EOF
name = "big";
type = "sqlite";
connection = { path = "$tmp/big.db"; };
EOF
SLACK_KB=${QUERY_MEMORY_SLACK_KB:-8192}

# peak KB ROWS: run the query of ROWS rows to /dev/null; print the largest
# peak resident size (KiB) of the command's processes, and the rows written
peak() {
    /usr/bin/python3 - "$DSRC" "$tmp/conf/dsrcd.conf" "$1" "$tmp/peak.err" <<'EOF'
import resource, subprocess, sys
dsrc, conf, rows, err = sys.argv[1:]
with open(err, "w") as e:
    rc = subprocess.call([dsrc, "-c", conf, "--json", "query", "big",
                          "SELECT * FROM big WHERE id <= ?", "--param", rows,
                          "-o", "/dev/null", "-q"], stdout=subprocess.DEVNULL, stderr=e)
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
EOF
}

for iso in none process; do
    export DSRC_ISOLATION=$iso
    set -- $(peak 100000)
    rc_small=$1 kb_small=$2
    grep -q '"rows":100000' "$tmp/peak.err" && ok || bad "100 k rows ($iso): $(cat "$tmp/peak.err")"
    set -- $(peak 1000000)
    rc_big=$1 kb_big=$2
    grep -q '"rows":1000000' "$tmp/peak.err" && ok || bad "1 M rows ($iso): $(cat "$tmp/peak.err")"
    [ "$rc_small" = 0 ] && [ "$rc_big" = 0 ] && ok || bad "exit $rc_small / $rc_big ($iso)"
    echo "peak resident size ($iso): 100 k rows $kb_small KiB, 1 M rows $kb_big KiB"
    [ "$kb_big" -le $((kb_small + SLACK_KB)) ] && ok ||
        bad "memory grows with the rows ($iso): $kb_small KiB for 100 k, $kb_big KiB for 1 M"
done

finish query_memory
