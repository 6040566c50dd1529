#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dsrc conformance passes sqlite.so on a SQLite file: once with nothing but
# the source (the program picks the item and its key as the cursor), once
# with a quirks file naming the item, the cursor field and a bad option.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
[ -f "$top_builddir/plugins/sqlite/.libs/sqlite.so" ] || { echo "sqlite.so not built"; exit 99; }
[ -x /usr/bin/python3 ] || { echo "python3 missing"; exit 77; }
lib_tmpdir dsrc-sqlite-conf
/usr/bin/python3 - "$tmp/shop.db" <<'EOP' || { echo "creating the database failed"; exit 99; }
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executescript('''
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id),
                     amount REAL, note TEXT, updated_at TEXT);
CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 100;
''')
c.executemany('INSERT INTO customers VALUES (?, ?, ?)',
              [(i, 'c%d' % i, None if i % 3 else 'c%d@example.org' % i) for i in range(1, 51)])
c.executemany('INSERT INTO orders VALUES (?, ?, ?, ?, ?)',
              [(i, i % 50 + 1, i * 1.5, 'n,"%d"' % i, '2024-01-01 %02d:%02d:00' % (i // 60 % 24, i % 60))
               for i in range(1, 5001)])
c.commit()
EOP
lib_conf "$top_builddir/plugins/sqlite/.libs"
printf 'name = "shop";\ntype = "sqlite";\nconnection = { path = "%s/shop.db"; };\n' "$tmp" \
    >"$tmp/conf/sources.d/shop.conf"
C="-c $tmp/conf/dsrcd.conf"
# in dsrc's process, then in a worker process (isolation = "process")
for iso in none process; do
    expect 0 env DSRC_ISOLATION=$iso "$DSRC" $C conformance shop
    grep '^FAIL' "$tmp/out" && bad "a case failed ($iso)" || ok
    for c in open ping list_root list_container list_stop describe describe_missing discover \
        fetch_full fetch_columns fetch_limit fetch_unknown_column cursor sink_stop cancel errors reopen; do
        has "$tmp/out" "PASS $c"
    done
    conformance_isolation $iso
done
printf 'item = "main/orders";\ncursor_field = "id";\nbad_option = "busy_timeout=-5";\n' >"$tmp/q"
expect 0 "$DSRC" $C conformance shop --quirks "$tmp/q"
has "$tmp/out" "item 'main/orders' in 'main', 18 passed, 0 failed, 0 skipped"
finish sqlite_conformance
