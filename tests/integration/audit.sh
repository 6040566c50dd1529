#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The audit trail and the API tokens end to end: dsrc fetch, secret
# decrypt and rotate, token create and revoke each leave one record, never
# a secret or a token; tampering with the database is found and named by
# dsrc audit --verify; a trail that cannot be written fails a secret's use
# but not a fetch whose data has landed.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
lib_tmpdir dsrc-audit
unset CREDENTIALS_DIRECTORY DSRC_KEY
command -v sqlite3 >/dev/null || { echo "sqlite3 CLI missing"; exit 99; }

sqlite3 "$tmp/shop.db" <<'SQL'
CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO customers VALUES (1,'Ann'), (2,'Bob'), (3,'Cy');
SQL
"$DSRC" secret genkey -o "$tmp/keys" 2>/dev/null || { echo "genkey failed"; exit 99; }
lib_conf "$top_builddir/plugins/sqlite/.libs" "key_file = \"$tmp/keys\";"
cat >"$tmp/conf/sources.d/demo.conf" <<EOF
name = "demo";
type = "sqlite";
connection = { path = "$tmp/shop.db"; };
EOF
C="-c $tmp/conf/dsrcd.conf"
DB="$tmp/state/dsrc.db"
q() { sqlite3 "$DB" "$1"; }
# Whether TEXT is anywhere in the database: its files and a dump.
in_db() {
    sqlite3 "$DB" .dump >"$tmp/dump"
    cat "$DB" "$DB-wal" "$tmp/dump" 2>/dev/null | grep -aqF -e "$1"
}

# ---------------------------------------------------------------- usage
expect 0 "$DSRC" audit --help;          has "$tmp/out" "--verify"
expect 0 "$DSRC" token --help;          has "$tmp/out" "revoke"
expect 2 "$DSRC" $C audit --verify --source demo; has "$tmp/err" "--verify"
expect 2 "$DSRC" $C audit --limit 0;    has "$tmp/err" "--limit"
expect 2 "$DSRC" $C audit --since soon; has "$tmp/err" "--since"
expect 2 "$DSRC" $C audit extra
expect 2 "$DSRC" $C token;              has "$tmp/err" "create, list or revoke"
expect 2 "$DSRC" $C token frob;         has "$tmp/err" "create, list or revoke"
expect 2 "$DSRC" $C token create --name a; has "$tmp/err" "--role"
expect 2 "$DSRC" $C token create --name a --role root; has "$tmp/err" "unknown role 'root'"
expect 2 "$DSRC" $C token create --name 'a b' --role viewer; has "$tmp/err" "'a b'"
expect 2 "$DSRC" $C token create --name a --role viewer --expires 2001-01-01; has "$tmp/err" "past"
expect 2 "$DSRC" $C token create --name a --role viewer --expires later; has "$tmp/err" "--expires"
expect 2 "$DSRC" $C token revoke;       has "$tmp/err" "one token name"
expect 2 "$DSRC" $C token list --name a

# ---------------------------------------------------------------- empty
expect 0 "$DSRC" $C audit --verify;     has "$tmp/out" "0 records, chain intact"
expect 0 "$DSRC" $C audit;              has "$tmp/out" "no audit records"

# ---------------------------------------------------------------- fetch
expect 0 "$DSRC" $C fetch demo customers -o -; has "$tmp/out" "Bob"
[ "$(q "SELECT count(*) FROM audit")" = 1 ] && ok || bad "one record after one fetch"
[ "$(q "SELECT action, source, item, result, rows, origin FROM audit")" = \
  "fetch|demo|customers|ok|3|cli" ] && ok || bad "fetch record: $(q "SELECT * FROM audit")"
q "SELECT who FROM audit" | grep -q "^uid $(id -u) " && ok || bad "who is not this user"
expect 0 "$DSRC" $C fetch demo customers -q
q "SELECT detail FROM audit WHERE id = 2" | grep -q "csv -> $tmp/ws/demo/customers/" && ok ||
    bad "fetch record names the file: $(q "SELECT detail FROM audit WHERE id = 2")"
expect 1 "$DSRC" $C fetch demo nosuchtable -o -
[ "$(q "SELECT item, result, rows FROM audit WHERE id = 3")" = "nosuchtable|error: not-found|" ] &&
    ok || bad "failed fetch record: $(q "SELECT * FROM audit WHERE id = 3")"
# two at once chain correctly
"$DSRC" $C fetch demo customers -o - >/dev/null 2>"$tmp/e1" &
p1=$!
"$DSRC" $C fetch demo customers -o - >/dev/null 2>"$tmp/e2" &
p2=$!
wait $p1 && wait $p2 && ok || bad "concurrent fetches: $(cat "$tmp/e1" "$tmp/e2")"
expect 0 "$DSRC" $C audit --verify;     has "$tmp/out" "5 records, chain intact"

# ---------------------------------------------------------------- secrets
PLAIN='Aud1t-Pl4in-Secret'
printf '%s' "$PLAIN" | "$DSRC" $C secret encrypt >"$tmp/tok" 2>"$tmp/err" && ok || bad "encrypt"
expect 0 "$DSRC" $C secret decrypt --show-plaintext "$(cat "$tmp/tok")"; has "$tmp/out" "$PLAIN"
[ "$(q "SELECT action, result FROM audit WHERE id = 6")" = "secret decrypt|ok" ] && ok ||
    bad "decrypt record: $(q "SELECT * FROM audit WHERE id = 6")"
expect 1 "$DSRC" $C secret decrypt --show-plaintext "fernet:gAAAAABnot-a-token"
q "SELECT action, result FROM audit WHERE id = 7" | grep -q "^secret decrypt|error: " && ok ||
    bad "failed decrypt record: $(q "SELECT * FROM audit WHERE id = 7")"
# rotate: a new first key, a file holding a token under the old one
(umask 077; { "$DSRC" secret genkey; cat "$tmp/keys"; } >"$tmp/keys.new") &&
    mv "$tmp/keys.new" "$tmp/keys"
printf 'password = "%s";\n' "$(cat "$tmp/tok")" >"$tmp/pw.conf"
expect 0 "$DSRC" $C secret rotate "$tmp/pw.conf"; has "$tmp/out" "1 token(s) re-encrypted"
[ "$(q "SELECT action, result FROM audit WHERE id = 8")" = "secret rotate|ok" ] && ok ||
    bad "rotate record: $(q "SELECT * FROM audit WHERE id = 8")"
has_detail=$(q "SELECT detail FROM audit WHERE id = 8")
case $has_detail in "$tmp/pw.conf: 1 re-encrypted"*) ok ;; *) bad "rotate detail: $has_detail" ;; esac
if in_db "$PLAIN"; then bad "the plaintext is in the state store"; else ok; fi
if in_db "$(sed 's/^fernet://' "$tmp/tok")"; then bad "a token is in the state store"; else ok; fi

# ---------------------------------------------------------------- tokens
expect 0 "$DSRC" $C token create --role operator --name ci-reader --expires 30d
grep -Eqx 'dsrc_[A-Za-z0-9_-]{43}' "$tmp/out" && [ "$(wc -l <"$tmp/out")" -eq 1 ] && ok ||
    bad "token create prints one token: $(cat "$tmp/out")"
has "$tmp/err" "only time"
TOKEN=$(cat "$tmp/out")
if in_db "$TOKEN"; then bad "the token is in the state store"; else ok; fi
if in_db "${TOKEN#dsrc_}"; then bad "the token's random part is in the state store"; else ok; fi
expect 1 "$DSRC" $C token create --role admin --name ci-reader; has "$tmp/err" "exists"
expect 0 "$DSRC" $C token list;         has "$tmp/out" "ci-reader"; has "$tmp/out" "active"
hasnt "$tmp/out" "$TOKEN"
expect 0 "$DSRC" $C --json token list;  has "$tmp/out" '"role": "operator"'; hasnt "$tmp/out" hash
expect 0 "$DSRC" $C token revoke ci-reader; has "$tmp/out" "revoked"
expect 0 "$DSRC" $C token list;         has "$tmp/out" "revoked"
expect 1 "$DSRC" $C token revoke ci-reader; has "$tmp/err" "no token named ci-reader"
expect 1 "$DSRC" $C token revoke nobody
[ "$(q "SELECT group_concat(action || '=' || result, ',') FROM audit WHERE action LIKE 'token%'")" = \
  "token create=ok,token create=error: backend,token revoke=ok,token revoke=error: not-found,token revoke=error: not-found" ] &&
    ok || bad "token records: $(q "SELECT action, result FROM audit WHERE action LIKE 'token%'")"
if in_db "$TOKEN"; then bad "the token is in the state store"; else ok; fi

# ---------------------------------------------------------------- listing
expect 0 "$DSRC" $C audit;              has "$tmp/out" "secret rotate"; has "$tmp/out" "ci-reader"
tail -1 "$tmp/out" | grep -q "token revoke" && ok || bad "newest last: $(tail -1 "$tmp/out")"
expect 0 "$DSRC" $C audit --source demo --limit 2
[ "$(grep -c ' fetch ' "$tmp/out")" -eq 2 ] && ok || bad "--source --limit: $(cat "$tmp/out")"
hasnt "$tmp/out" "secret"
expect 0 "$DSRC" $C audit --since 2099-01-01; has "$tmp/out" "no audit records"
expect 0 "$DSRC" $C audit --since 1h --json; has "$tmp/out" '"prev_hash"'
[ "$(grep -c '"action"' "$tmp/out")" -eq "$(q "SELECT count(*) FROM audit")" ] && ok || bad "--json lists every record"
hasnt "$tmp/out" "$PLAIN"

# ---------------------------------------------------------------- tampering
N=$(q "SELECT count(*) FROM audit")
expect 0 "$DSRC" $C audit --verify;     has "$tmp/out" "$N records, chain intact"
q "UPDATE audit SET rows = 300 WHERE id = 2"
expect 1 "$DSRC" $C audit --verify;     has "$tmp/err" "broken at record 2 ("; has "$tmp/err" "fetch"
has "$tmp/err" "does not match its fields"
expect 1 "$DSRC" $C --json audit --verify; has "$tmp/out" '"intact": false'; has "$tmp/out" '"id": 2'
q "UPDATE audit SET rows = 3 WHERE id = 2"
expect 0 "$DSRC" $C audit --verify;     has "$tmp/out" "chain intact"
q "UPDATE audit SET who = 'uid 0 (root)', detail = 'x' WHERE id = 6"
expect 1 "$DSRC" $C audit --verify;     has "$tmp/err" "record 6 ("; has "$tmp/err" "secret decrypt"
q "DELETE FROM audit WHERE id = 6"
expect 1 "$DSRC" $C audit --verify;     has "$tmp/err" "record 7 ("; has "$tmp/err" "prev_hash"
# appends go on after tampering; the first broken record is still named
expect 0 "$DSRC" $C fetch demo customers -o -
expect 1 "$DSRC" $C audit --verify;     has "$tmp/err" "record 7 ("

# ---------------------------------------------------------------- no trail
# state_dir is a file: the store cannot be opened.  A fetch still delivers
# (with a warning); a secret is not shown; a token is not made.
: >"$tmp/notadir"
lib_conf "$top_builddir/plugins/sqlite/.libs" "key_file = \"$tmp/keys\";"
sed -i "s|^state_dir = .*|state_dir = \"$tmp/notadir\";|" "$tmp/conf/dsrcd.conf"
expect 0 "$DSRC" $C fetch demo customers -o -; has "$tmp/out" "Bob"
has "$tmp/err" "warning: cannot write the audit record of 'fetch'"
expect 1 "$DSRC" $C secret decrypt --show-plaintext "$(sed -n 's/.*"\(fernet:[^"]*\)".*/\1/p' "$tmp/pw.conf")"
hasnt "$tmp/out" "$PLAIN"; has "$tmp/err" "not shown"
expect 1 "$DSRC" $C token create --role viewer --name nope; hasnt "$tmp/out" "dsrc_"
expect 1 "$DSRC" $C audit --verify;     has "$tmp/err" "not a directory"

# ---------------------------------------------------------------- no write access
if command -v setpriv >/dev/null && [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
    sed -i "s|^state_dir = .*|state_dir = \"$tmp/state\";|" "$tmp/conf/dsrcd.conf"
    chmod 755 "$tmp" "$tmp/state"
    chmod -R a+rX "$tmp/conf"
    as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
    expect 1 as_nobody "$DSRC" $C token create --role admin --name sneaky
    has "$tmp/err" "cannot write the state store"; has "$tmp/err" "permission denied"
    hasnt "$tmp/out" "dsrc_"
    [ "$(q "SELECT count(*) FROM api_tokens WHERE name = 'sneaky'")" = 0 ] && ok || bad "token made without write access"
else
    echo "SKIP: write access (needs root, setpriv and the user nobody)"
fi

finish audit
