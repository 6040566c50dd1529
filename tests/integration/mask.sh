#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Column masking end to end with sqlite sources (tests/mask_lib.sh holds the
# rows and the checks the SQL plugins' mask tests share):
#  1. a fetch rule's mask through dsrc fetch, CSV and JSON Lines, in dsrc's
#     process and in a worker process (isolation): every mode, NULLs stay
#     NULL, the hashes are HMAC-SHA-256 under the mask key (computed by
#     Python), the manifest records the columns, modes and key id;
#  2. the same value hashes the same in two files and from two sources
#     under one key, differently under another key (and another key id);
#  3. dsrc fetch --mask on an item without a rule, added to a rule's mask;
#  4. fetches in dsrcd, asked for (dsrc run), scheduled, and through the
#     control API, are masked the same way;
#  5. no masked value, nor the key, is in clear in any file, manifest,
#     output or log;
#  6. errors: unknown mode, truncate on a text column, a column that is not
#     fetched, a masked cursor field, raw, no mask_key, a plain mask_key, a
#     mask_key the keyring cannot decrypt: clear messages, non-zero status.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/mask_lib.sh"
top_builddir=$(cd "$top_builddir" && pwd)
DSRC="$top_builddir/dsrc"
DSRCD="$top_builddir/dsrcd"
SQLITE_DIR="$top_builddir/plugins/sqlite/.libs"
[ -f "$SQLITE_DIR/sqlite.so" ] || { echo "sqlite.so not built"; exit 77; }
[ -x /usr/bin/python3 ] || { echo "python3 missing"; exit 77; }
command -v sqlite3 >/dev/null || { echo "sqlite3 missing"; exit 77; }
lib_tmpdir dsrc-mask
pid=
cleanup() { [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; }
unset CREDENTIALS_DIRECTORY DSRC_ISOLATION
mask_keys
mkdir -p "$tmp/plugins"
ln -s "$SQLITE_DIR/sqlite.so" "$tmp/plugins/sqlite.so"
lib_conf "$tmp/plugins" "mask_key = \"$TOK1\";" "control_socket = \"$tmp/dsrcd.sock\";"
C="-c $tmp/conf/dsrcd.conf"
for db in one two; do
    sqlite3 "$tmp/$db.db" "CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT, phone TEXT,
        born DATE, seen TIMESTAMP, card INTEGER);
      INSERT INTO people VALUES (1, 'alice@example.com', '+1 555-123-4567', '1990-06-15',
        '2024-05-17T10:42:07.25', 4111111111111111);
      INSERT INTO people VALUES (2, NULL, NULL, NULL, NULL, NULL);
      INSERT INTO people VALUES (3, 'bob@example.org', '12', '1985-12-31', '2023-01-02T03:04:05', 42);
      CREATE TABLE contacts (id INTEGER PRIMARY KEY, mail TEXT, note TEXT, photo BLOB);
      INSERT INTO contacts VALUES (1, 'alice@example.com', 'x', x'00ff');"
done
cat >"$tmp/conf/sources.d/one.conf" <<EOF
name = "one";
type = "sqlite";
connection = { path = "$tmp/one.db"; };
fetch = ( { item = "main/people"; format = "jsonl"; $MASK_RULE } );
EOF
cat >"$tmp/conf/sources.d/two.conf" <<EOF
name = "two";
type = "sqlite";
connection = { path = "$tmp/two.db"; };
fetch = ( { item = "main/people"; format = "csv"; schedule = "@every 1s"; $MASK_RULE } );
EOF
expect 0 "$DSRC" $C check-config

# ---- 1. the rule's mask, CSV and JSON Lines, in and out of process ----
for iso in none process; do
    expect 0 env DSRC_ISOLATION=$iso "$DSRC" $C fetch one main/people -f csv -o "$tmp/$iso.csv"
    mask_check_csv "$tmp/$iso.csv" "$MK1"
    mask_check_manifest "$tmp/$iso.csv.manifest.json" "$MK1"
    jcheck "$tmp/$iso.csv.manifest.json" "d['format'] == 'csv' and d['rows'] == 3"
    expect 0 env DSRC_ISOLATION=$iso "$DSRC" $C fetch one main/people -o "$tmp/$iso.jsonl"
    mask_check_jsonl "$tmp/$iso.jsonl" "$MK1"
    mask_check_manifest "$tmp/$iso.jsonl.manifest.json" "$MK1"
    mask_no_clear "$tmp/$iso.csv" "$tmp/$iso.csv.manifest.json" "$tmp/$iso.jsonl" \
        "$tmp/$iso.jsonl.manifest.json" "$tmp/out" "$tmp/err"
done
# to the workspace, and to standard output
expect 0 "$DSRC" $C --json fetch one main/people
ws=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["file"])' "$tmp/out")
mask_check_jsonl "$ws" "$MK1"
mask_check_manifest "$ws.manifest.json" "$MK1"
expect 0 "$DSRC" $C fetch one main/people -f csv -o -
cp "$tmp/out" "$tmp/stdout.csv"
mask_check_csv "$tmp/stdout.csv" "$MK1"

# ---- 2. one key, two files, two sources; another key ----
h1=$(mask_hmac "$MK1" alice@example.com)
expect 0 "$DSRC" $C fetch two main/contacts --mask mail=hash -f csv -o "$tmp/two.csv"
has "$tmp/two.csv" "1,$h1,x,AP8="
grep -q "$h1" "$tmp/none.csv" && ok || bad "alice's hash differs between sources"
jcheck "$tmp/two.csv.manifest.json" "d['mask']['key_id'] == '$(mask_key_id "$MK1")' and d['mask']['columns'] == {'mail': 'hash'}"
sed "s|^mask_key = .*|mask_key = \"$TOK2\";|" "$tmp/conf/dsrcd.conf" >"$tmp/conf/k2.conf"
expect 0 "$DSRC" -c "$tmp/conf/k2.conf" fetch one main/people -f csv -o "$tmp/k2.csv"
mask_check_csv "$tmp/k2.csv" "$MK2"
hasnt "$tmp/k2.csv" "$h1"
jcheck "$tmp/k2.csv.manifest.json" "d['mask']['key_id'] == '$(mask_key_id "$MK2")' and d['mask']['key_id'] != '$(mask_key_id "$MK1")'"

# ---- 3. --mask: added to the rule's, replacing a column's mode ----
expect 0 "$DSRC" $C fetch one main/people -f csv --mask card=last4 --mask id=redact -o "$tmp/opt.csv"
has "$tmp/opt.csv" ",4567,1990-01-01,2024-05-17T10:00:00,1111"
has "$tmp/opt.csv" ",\"\",1985-01-01,2023-01-02T03:00:00,\"\""
grep -q '^1,' "$tmp/opt.csv" && bad "id was not redacted" || ok
jcheck "$tmp/opt.csv.manifest.json" "d['mask']['columns']['card'] == 'last4' and d['mask']['columns']['id'] == 'redact' and d['mask']['columns']['email'] == 'hash'"

# ---- 4. a scheduled run in dsrcd ----
"$DSRCD" $C --foreground --log-target stderr --log-level debug >"$tmp/dsrcd.log" 2>&1 &
pid=$!
wait_until "$DSRC" $C jobs || { echo "dsrcd does not answer"; cat "$tmp/dsrcd.log"; exit 99; }
expect 0 "$DSRC" $C run one main/people --wait
f=$(ls "$tmp/ws/one/main/people/"*.jsonl | tail -1)
expect 0 "$DSRC" $C runs one --json
jcheck "$tmp/out" "any(r['trigger'] == 'manual' and r['state'] == 'succeeded' for r in d)"
# the schedule of source two's rule
wait_until sh -c "ls '$tmp/ws/two/main/people/'*.csv.manifest.json" || bad "no scheduled fetch"
expect 0 "$DSRC" $C runs two --json
jcheck "$tmp/out" "any(r['trigger'] == 'schedule' and r['state'] == 'succeeded' for r in d)"
# the control API's data of the item: the rule's mask applies
SOCK="$tmp/dsrcd.sock"
ucurl 200 "http://localhost/v1/sources/one/items/main%2Fpeople/data?format=csv"
mask_check_csv "$tmp/body" "$MK1"
cp "$tmp/body" "$tmp/api.csv"
kill -TERM "$pid"; wait "$pid"; pid=
mask_check_jsonl "$f" "$MK1"
mask_check_manifest "$f.manifest.json" "$MK1"
s=$(ls "$tmp/ws/two/main/people/"*.csv | head -1)
mask_check_csv "$s" "$MK1"
mask_check_manifest "$s.manifest.json" "$MK1"

# ---- 5. nowhere in clear ----
mask_no_clear "$tmp/dsrcd.log" "$tmp/api.csv" "$tmp/opt.csv" "$tmp/opt.csv.manifest.json" "$tmp/k2.csv" \
    "$tmp/stdout.csv"
for f in "$tmp"/ws/one/main/people/* "$tmp"/ws/two/main/people/*; do mask_no_clear "$f"; done

# ---- 6. errors ----
expect 2 "$DSRC" $C fetch one main/people --mask email=sha1
has "$tmp/err" "--mask: column 'email': 'sha1' is an unknown mode (use hash, redact, truncate:UNIT or last4)"
expect 2 "$DSRC" $C fetch one main/people --mask email
has "$tmp/err" "'email' is not COLUMN=MODE"
expect 2 "$DSRC" $C fetch one main/people --mask born=truncate
has "$tmp/err" "is a truncate without its unit"
expect 1 "$DSRC" $C fetch one main/people --mask email=truncate:day -o "$tmp/e1.csv"
has "$tmp/err" "mask: column 'email' of 'main/people' is text (TEXT): truncate:day applies to date and timestamp columns only"
expect 1 "$DSRC" $C fetch two main/contacts --mask photo=last4 -o "$tmp/e2.csv"
has "$tmp/err" "column 'photo' of 'main/contacts' is bytes (BLOB): last4 applies to text and integer columns only"
expect 1 "$DSRC" $C fetch two main/contacts --mask nosuch=hash -o "$tmp/e3.csv"
has "$tmp/err" "mask: column 'nosuch' is not among the columns of 'main/contacts'"
expect 1 "$DSRC" $C fetch two main/contacts -c id,note --mask mail=hash -o "$tmp/e4.csv"
has "$tmp/err" "mask: column 'mail' is not among the columns of 'main/contacts'"
expect 1 "$DSRC" $C fetch two main/contacts --mask id=hash -k id -o "$tmp/e5.csv"
has "$tmp/err" "the cursor field 'id' of 'main/contacts' cannot be masked"
expect 1 "$DSRC" $C fetch two main/contacts --mask mail=hash -f raw -o "$tmp/e6.csv"
has "$tmp/err" "a masked fetch writes csv or jsonl, not raw"
for f in e1 e2 e3 e4 e5 e6; do
    [ -e "$tmp/$f.csv" ] && bad "$f.csv written by a failed fetch" || ok
done
# no key
grep -v '^mask_key' "$tmp/conf/dsrcd.conf" >"$tmp/conf/nokey.conf"
mkdir "$tmp/conf/plain.d"
printf 'name = "plain";\ntype = "sqlite";\nconnection = { path = "%s/two.db"; };\n' "$tmp" \
    >"$tmp/conf/plain.d/plain.conf"
sed 's|^sources_dir = .*|sources_dir = "plain.d";|' "$tmp/conf/nokey.conf" >"$tmp/conf/nokey2.conf"
expect 1 "$DSRC" -c "$tmp/conf/nokey2.conf" fetch plain main/contacts --mask mail=hash -o "$tmp/e7.csv"
has "$tmp/err" "columns of 'main/contacts' are masked, but no mask_key is set in $tmp/conf/nokey2.conf"
expect 78 "$DSRC" -c "$tmp/conf/nokey.conf" check-config
cat "$tmp/out" "$tmp/err" >"$tmp/both"
has "$tmp/both" "the fetch rule for 'main/people' masks columns, but no mask_key is set"
# a plain key is refused, and not shown
sed "s|^mask_key = .*|mask_key = \"$MK1\";|" "$tmp/conf/dsrcd.conf" >"$tmp/conf/plain.conf"
expect 78 "$DSRC" -c "$tmp/conf/plain.conf" check-config
cat "$tmp/out" "$tmp/err" >"$tmp/both"
has "$tmp/both" "'mask_key' is plain text: write it as fernet:TOKEN"
hasnt "$tmp/both" "$MK1"
# a key the keyring cannot decrypt
expect 1 env DSRC_KEY="$("$DSRC" secret genkey)" "$DSRC" $C fetch two main/contacts --mask mail=hash -o "$tmp/e8.csv"
has "$tmp/err" "mask_key: "
hasnt "$tmp/err" "$MK1"
for f in e7 e8; do
    [ -e "$tmp/$f.csv" ] && bad "$f.csv written by a failed fetch" || ok
done
# a rule with an unknown mode
printf 'name = "three";\ntype = "sqlite";\nconnection = { path = "%s/two.db"; };\nfetch = ( { item = "main/contacts"; mask = { mail = "scramble"; }; } );\n' \
    "$tmp" >"$tmp/conf/sources.d/three.conf"
expect 78 "$DSRC" $C check-config
cat "$tmp/out" "$tmp/err" >"$tmp/both"
has "$tmp/both" "three.conf:4: error: mask in fetch entry 1 for main/contacts: column 'mail': 'scramble' is an unknown mode"

finish mask
