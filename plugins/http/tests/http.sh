#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# http.so against json-server (10 000 users, 2 000 posts, 50 tags) and the
# stand-in API of fixture/api.py, both on loopback: ls and describe of the
# configured items; every paging style (Link header, page numbers, offsets,
# cursor tokens in the body) gives every record once; raw JSON Lines;
# 10 000 records with flat memory; an incremental fetch by a cursor field;
# a 429 storm honoured (Retry-After waited) and a flood that gives up
# (retryable); a 500 in the middle (retryable); a bad bearer token (auth);
# OAuth2 client credentials; malformed JSON (the byte offset); a record
# that does not fit the sampled schema; a rate limit; bad items options.
# Skipped (77) when json-server is not on PATH.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/http/tests/fixture/jsonserver.sh"
hp_test dsrc-http
lib_conf "$top_builddir/plugins/http/.libs"
S="$tmp/conf/sources.d"
C="-c $tmp/conf/dsrcd.conf"
src() { # src NAME CONNECTION
    printf 'name = "%s";\ntype = "http";\nconnection = { %s };\n' "$1" "$2" >"$S/$1.conf"
}
src js "base_url = \"$JS_URL\"; items = \"users path=/users paging=link page_param=_page limit_param=_limit cursor_field=id since_param=id_gte; upage path=/users paging=page page_param=_page limit_param=_limit page_size=500; posts path=/posts paging=offset offset_param=_start limit_param=_limit page_size=250; tags path=/tags\";"
src api "base_url = \"$API_URL/\"; items = \"cursor path=/cursor records=/data paging=cursor page_size=40; storm path=/storm paging=page page_size=20; flood path=/flood; flaky path=/flaky paging=page page_size=10; bad path=/bad; misfit path=/misfit paging=page page_size=10; rated path=/cursor records=/data paging=cursor page_size=50 rate_limit=4\"; max_retries = 3;"
export HP_TOKEN=good-token HP_BAD=wrong-token HP_CS=csecret
src sec "base_url = \"$API_URL\"; auth = \"bearer\"; token = \"env:HP_TOKEN\"; items = \"secure path=/secure\";"
src secbad "base_url = \"$API_URL\"; auth = \"bearer\"; token = \"env:HP_BAD\"; items = \"secure path=/secure\";"
src oa "base_url = \"$API_URL\"; auth = \"oauth2\"; token_url = \"$API_URL/token\"; client_id = \"cid\"; client_secret = \"env:HP_CS\"; items = \"oauth path=/oauth\";"

# jsonl FILE: the number of lines, and each id once, in order, 1..N
ids_ok() { # ids_ok FILE N
    /usr/bin/python3 - "$1" "$2" <<'PY' && ok || bad "$1: not the ids 1..$2 once each in order"
import json, sys
ids = [json.loads(l)["id"] for l in open(sys.argv[1])]
sys.exit(0 if ids == list(range(1, int(sys.argv[2]) + 1)) else 1)
PY
}
fetch() { # fetch SOURCE ITEM ARGS...: jsonl rows to $tmp/f.jsonl
    s=$1 i=$2
    shift 2
    "$DSRC" $C fetch "$s" "$i" --format jsonl -o "$tmp/f.jsonl" "$@"
}

# ls and describe
expect 0 "$DSRC" $C ls js
for i in users upage posts tags; do has "$tmp/out" "$i"; done
expect 1 "$DSRC" $C describe js nope
has "$tmp/err" "no item 'nope'"
expect 0 "$DSRC" $C --json describe js users
jcheck "$tmp/out" '[(c["name"], c["type"]) for c in d["columns"]][:9] == [("id", "int64"), ("name", "text"), ("email", "text"), ("age", "int64"), ("score", "double"), ("active", "bool"), ("address", "json"), ("tags", "json"), ("bio", "text")]'

# every paging style: every record once, in order
expect 0 fetch js users
ids_ok "$tmp/f.jsonl" 10000
expect 0 fetch js upage
ids_ok "$tmp/f.jsonl" 10000
expect 0 fetch js posts
ids_ok "$tmp/f.jsonl" 2000
expect 0 fetch js tags
ids_ok "$tmp/f.jsonl" 50
expect 0 fetch api cursor
ids_ok "$tmp/f.jsonl" 250
# nested objects are JSON cells
expect 0 fetch js users --limit 3 --columns id,address
/usr/bin/python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(0 if rows[0] == {"id": 1, "address": {"city": "city 1", "zip": "00001"}} and len(rows) == 3 else 1)' \
    "$tmp/f.jsonl" && ok || bad "a nested object is not a JSON cell: $(head -1 "$tmp/f.jsonl")"
expect 1 fetch js users --columns id,nope
has "$tmp/err" "no field 'nope'"

# raw: the records as JSON Lines, unchanged
expect 0 "$DSRC" $C fetch js tags --format raw -o "$tmp/raw.jsonl"
/usr/bin/python3 -c '
import json, sys
got = [json.loads(l) for l in open(sys.argv[1])]
want = json.load(open(sys.argv[2]))["tags"]
sys.exit(0 if got == want else 1)' "$tmp/raw.jsonl" "$tmp/js/db.json" && ok ||
    bad "raw JSON Lines differ from the records"

# flat memory: 10 000 records (100 pages) peak no higher than 1 000 (10 pages) + 8 MiB
rss() { # rss ARGS...: peak RSS in KiB of dsrc ARGS
    /usr/bin/python3 -c '
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$DSRC" $C fetch js "$@" -o /dev/null
}
if lib_asan "$DSRC"; then
    # AddressSanitizer keeps freed memory in quarantine: its RSS says
    # nothing of dsrc's; the -Werror build checks it
    echo "peak RSS not checked (AddressSanitizer build)"
else
    small=$(rss users --limit 1000) big=$(rss users)
    [ -n "$small" ] && [ -n "$big" ] && [ "$big" -lt $((small + 8192)) ] && ok ||
        bad "peak RSS $big KiB for 10 000 records, $small KiB for 1 000: memory is not flat"
fi

# incremental: the cursor field sent as since_param, cursor_max reported
expect 0 "$DSRC" $C --json fetch js users --cursor-field id --after 9990 --format jsonl -o "$tmp/f.jsonl"
ids=$(/usr/bin/python3 -c 'import json,sys; print(",".join(str(json.loads(l)["id"]) for l in open(sys.argv[1])))' "$tmp/f.jsonl")
[ "$ids" = "9991,9992,9993,9994,9995,9996,9997,9998,9999,10000" ] && ok || bad "after 9990: $ids"
has "$tmp/out" '"cursor_to": "10000"'
expect 0 "$DSRC" $C --json fetch js users --cursor-field id --after 10000 --format jsonl -o "$tmp/f.jsonl"
[ ! -s "$tmp/f.jsonl" ] && ok || bad "after the last id: rows"

# a 429 on every page's first request: Retry-After (1 s) waited each time
: >"$tmp/api.log"
expect 0 fetch api storm
ids_ok "$tmp/f.jsonl" 100
/usr/bin/python3 - "$tmp/api.log" <<'PY' && ok || { bad "Retry-After not honoured"; cat "$tmp/api.log"; }
import sys
t = [(float(l.split()[0]), l.split()[1]) for l in open(sys.argv[1]) if "/storm" in l]
# each page twice (429, then its records), the second at least 1 s later
pairs = list(zip(t[0::2], t[1::2]))
sys.exit(0 if len(pairs) >= 5 and all(b[1] == a[1] and b[0] - a[0] >= 0.95 for a, b in pairs) else 1)
PY
expect 75 fetch api flood
has "$tmp/err" "HTTP 429"
[ "$(grep -c /flood "$tmp/api.log")" -eq 4 ] && ok || bad "flood: $(grep -c /flood "$tmp/api.log") requests, not 1 + max_retries (3)"

# a 500 in the middle: retryable, naming the page
expect 75 fetch api flaky
has "$tmp/err" "item 'flaky' page 3: HTTP 500"

# auth: a bad bearer token, a good one, OAuth2
expect 1 fetch secbad secure
has "$tmp/err" "HTTP 401"
has "$tmp/err" "refused the credentials"
hasnt "$tmp/err" wrong-token
expect 0 fetch sec secure
ids_ok "$tmp/f.jsonl" 3
expect 0 fetch oa oauth
ids_ok "$tmp/f.jsonl" 5
hasnt "$tmp/err" csecret

# malformed JSON: the byte offset
expect 1 fetch api bad
has "$tmp/err" "item 'bad' page 1: the response is not valid JSON at byte 23"

# a record that does not fit the schema sampled from the first page
expect 1 fetch api misfit
has "$tmp/err" "field 'v' of record 11 is a string, which does not fit its column's type int64 (integer)"
expect 0 "$DSRC" $C fetch api misfit --format raw -o "$tmp/raw.jsonl"
[ "$(wc -l <"$tmp/raw.jsonl")" -eq 11 ] && ok || bad "misfit raw: not 11 lines"

# rate_limit = 4: the 5 requests of 'rated' 0.25 s apart (as the server
# sees them: at least 0.2 s each, at least 1 s from the first to the last)
: >"$tmp/api.log"
expect 0 fetch api rated
ids_ok "$tmp/f.jsonl" 250
/usr/bin/python3 - "$tmp/api.log" <<'PY' && ok || { bad "rate limit not kept"; cat "$tmp/api.log"; }
import sys
t = [float(l.split()[0]) for l in open(sys.argv[1]) if "/cursor" in l]
sys.exit(0 if len(t) == 5 and all(b - a >= 0.2 for a, b in zip(t, t[1:])) and t[-1] - t[0] >= 0.95 else 1)
PY

# bad items options: a clear error at check-config time
src badcfg "base_url = \"$API_URL\"; items = \"x paging=sideways path=/x\";"
expect 78 "$DSRC" $C check-config
has "$tmp/err" "paging 'sideways' is not one of none, page, offset, cursor, link"
src badcfg "base_url = \"$API_URL\"; items = \"x path=/x; x path=/y\";"
expect 78 "$DSRC" $C check-config
has "$tmp/err" "item 'x' is named twice"
src badcfg "base_url = \"$API_URL\"; auth = \"bearer\"; items = \"x path=/x\";"
expect 78 "$DSRC" $C check-config
has "$tmp/err" "option 'token' is required with auth = bearer"
rm -f "$S/badcfg.conf"

# a cloud or hybrid source is never sent in plain text: an http:// base URL
# or a tls.mode that allows plain text is refused before any request
for loc in cloud hybrid; do
    printf 'name = "plain";\ntype = "http";\nlocation = "%s";\nconnection = { base_url = "%s"; auth = "bearer"; token = "env:HP_TOKEN"; items = "secure path=/secure"; };\n' \
        "$loc" "$API_URL" >"$S/plain.conf"
    expect 78 "$DSRC" $C check-config
    has "$tmp/err" "option 'base_url' is a plain http:// URL, not allowed for a $loc source"
    expect 78 "$DSRC" $C test plain
    has "$tmp/err" "use https://"
    hasnt "$tmp/out" "$HP_TOKEN"; hasnt "$tmp/err" "$HP_TOKEN"
done
printf 'name = "plain";\ntype = "http";\nlocation = "cloud";\ntls = { mode = "prefer"; };\nconnection = { base_url = "https://127.0.0.1:1/"; items = "x path=/x"; };\n' >"$S/plain.conf"
expect 78 "$DSRC" $C check-config
has "$tmp/err" "tls.mode 'prefer' is not allowed for a cloud source"
rm -f "$S/plain.conf"

finish http
