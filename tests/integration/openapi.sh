#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The control API's OpenAPI document, docs/openapi.json, kept true:
#  1. `redocly lint` (redocly.yaml: the recommended rules) finds nothing;
#  2. its operations are exactly the routes of api_routes() (printed by
#     tests/unit/api_routes_tool): same methods, path templates and roles
#     (x-dsrc-role, and the role its description names);
#  3. a running dsrcd answers GET /openapi.json with the file byte for byte
#     (on its socket, and on TCP to a viewer's token);
#  4. what dsrcd answers on every route (successes and errors) has the
#     Content-Type and the JSON schema the document gives for that status
#     (401 and 403 on TCP too).
# Skipped (77) when the redocly CLI (npm @redocly/cli, tests/deps.npm) is
# neither in $top_srcdir/build/npm nor on PATH, or curl, sqlite3, openssl
# or /usr/bin/python3 is missing.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRCD="$top_builddir/dsrcd"
DSRC="$top_builddir/dsrc"
DOC="$top_srcdir/docs/openapi.json"
PY=/usr/bin/python3
REDOCLY="$top_srcdir/build/npm/node_modules/.bin/redocly"
[ -x "$REDOCLY" ] || REDOCLY=$(command -v redocly) || { echo "redocly missing"; exit 77; }
for t in curl sqlite3 openssl "$PY"; do
    command -v "$t" >/dev/null || { echo "$t missing"; exit 77; }
done
lib_tmpdir dsrc-openapi
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
}

# The document's reader: `routes` prints "METHOD PATH ROLE" per operation;
# `check PATH METHOD STATUS CTYPE BODY` validates an answer against the
# response the document gives (a subset of JSON Schema: the keywords the
# document uses; any other is an error, so nothing passes unchecked).
cat >"$tmp/oa.py" <<'PYEOF'
import json, re, sys
doc = json.load(open(sys.argv[1]))

def resolve(ref):
    if not ref.startswith("#/"):
        raise SystemExit("unsupported $ref " + ref)
    s = doc
    for part in ref[2:].split("/"):
        s = s[part.replace("~1", "/").replace("~0", "~")]
    return s

TYPES = {"null": lambda x: x is None, "boolean": lambda x: isinstance(x, bool),
         "integer": lambda x: isinstance(x, int) and not isinstance(x, bool),
         "number": lambda x: isinstance(x, (int, float)) and not isinstance(x, bool),
         "string": lambda x: isinstance(x, str), "array": lambda x: isinstance(x, list),
         "object": lambda x: isinstance(x, dict)}
KNOWN = {"$ref", "type", "properties", "required", "additionalProperties", "items", "enum",
         "const", "oneOf", "allOf", "minimum", "maximum", "minLength", "pattern", "format",
         "description", "default", "examples"}
DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")

def errs(s, x, at):
    out = []
    unknown = set(s) - KNOWN
    if unknown:
        return ["%s: unsupported schema keywords %s" % (at, sorted(unknown))]
    if "$ref" in s:
        out += errs(resolve(s["$ref"]), x, at)
    if "type" in s:
        ts = s["type"] if isinstance(s["type"], list) else [s["type"]]
        if not any(TYPES[t](x) for t in ts):
            return out + ["%s: %r is not %s" % (at, x, "/".join(ts))]
    if "enum" in s and x not in s["enum"]:
        out.append("%s: %r not in %r" % (at, x, s["enum"]))
    if "const" in s and (x != s["const"] or type(x) != type(s["const"])):
        out.append("%s: %r is not %r" % (at, x, s["const"]))
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        if "minimum" in s and x < s["minimum"]:
            out.append("%s: %r < %r" % (at, x, s["minimum"]))
        if "maximum" in s and x > s["maximum"]:
            out.append("%s: %r > %r" % (at, x, s["maximum"]))
    if isinstance(x, str):
        if "minLength" in s and len(x) < s["minLength"]:
            out.append("%s: %r is too short" % (at, x))
        if "pattern" in s and not re.search(s["pattern"], x):
            out.append("%s: %r does not match %s" % (at, x, s["pattern"]))
        if s.get("format") == "date-time" and not DATETIME.match(x):
            out.append("%s: %r is not a date-time" % (at, x))
    if isinstance(x, dict):
        props = s.get("properties", {})
        for k in s.get("required", []):
            if k not in x:
                out.append("%s: %s is missing" % (at, k))
        for k, v in x.items():
            if k in props:
                out += errs(props[k], v, at + "." + k)
            elif s.get("additionalProperties") is False:
                out.append("%s: %s is not in the schema" % (at, k))
            elif isinstance(s.get("additionalProperties"), dict):
                out += errs(s["additionalProperties"], v, at + "." + k)
    if isinstance(x, list) and "items" in s:
        for n, v in enumerate(x):
            out += errs(s["items"], v, "%s[%d]" % (at, n))
    for sub in s.get("allOf", []):
        out += errs(sub, x, at)
    if "oneOf" in s:
        n = sum(1 for sub in s["oneOf"] if not errs(sub, x, at))
        if n != 1:
            out.append("%s: %r matches %d of oneOf, not 1" % (at, x, n))
    return out

if sys.argv[2] == "routes":
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            role = op.get("x-dsrc-role", "?")
            told = "Role: **%s**" % role in op.get("description", "")
            print(method.upper(), path, role if told else role + " (not in its description)")
    sys.exit(0)

path, method, status, ctype, body = sys.argv[3:8]
resp = doc["paths"][path][method.lower()]["responses"].get(status)
if resp is None:
    sys.exit("%s %s: status %s is not in the document" % (method, path, status))
if "$ref" in resp:
    resp = resolve(resp["$ref"])
media = resp.get("content", {}).get(ctype)
if media is None:
    sys.exit("%s %s %s: Content-Type %r is not in the document (%s)"
             % (method, path, status, ctype, ", ".join(resp.get("content", {}))))
text = open(body).read()
value = json.loads(text) if "json" in ctype else text
problems = errs(media["schema"], value, "body")
if problems:
    sys.exit("%s %s %s:\n  %s" % (method, path, status, "\n  ".join(problems[:20])))
PYEOF

# 1. The linter finds nothing (neither error nor warning).
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_COLOR=1
expect 0 "$REDOCLY" lint --config "$top_srcdir/redocly.yaml" "$DOC"
has "$tmp/err" "Your API description is valid"
hasnt "$tmp/err" "warning"

# 2. The document's operations are the route table's.
expect 0 "$top_builddir/tests/unit/api_routes_tool"
sort "$tmp/out" >"$tmp/table"
[ -s "$tmp/table" ] && ok || bad "api_routes_tool printed no route"
expect 0 "$PY" "$tmp/oa.py" "$DOC" routes
sort "$tmp/out" >"$tmp/doc"
if diff -u "$tmp/table" "$tmp/doc" >"$tmp/diff"; then ok; else
    bad "the routes of api_routes() (-) and of docs/openapi.json (+) differ"; cat "$tmp/diff"
fi

# 3. and 4. A running dsrcd, with one sqlite source, on its socket and on
# TLS TCP.
SOCK="$tmp/run/dsrcd.sock"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$tmp/key.pem" -out "$tmp/cert.pem" \
    >/dev/null 2>&1 || { echo "openssl failed"; exit 99; }
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sqlite3 "$tmp/shop.db" 'CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1,"a");'
lib_conf "$top_builddir/plugins/sqlite/.libs" "control_socket = \"$SOCK\";" \
    "api = { listen = \"127.0.0.1:$PORT\"; tls_cert = \"$tmp/cert.pem\";" \
    "        tls_key = \"$tmp/key.pem\"; };"
cat >"$tmp/conf/sources.d/demo.conf" <<EOF
name = "demo";
type = "sqlite";
connection = { path = "$tmp/shop.db"; };
schedule = { discover = "@every 1h"; };
fetch = ( { item = "t"; schedule = "@every 1h"; } );
EOF
C="-c $tmp/conf/dsrcd.conf"
"$DSRCD" $C --foreground --log-level debug >"$tmp/log" 2>&1 &
pid=$!
n=150
while [ $n -gt 0 ] && ! [ -S "$SOCK" ]; do sleep 0.1; n=$((n - 1)); done
[ -S "$SOCK" ] || { echo "no control socket"; cat "$tmp/log"; exit 99; }

# call STATUS TEMPLATE METHOD URL-PATH [CURL-ARGS...]: the answer has
# STATUS, and its Content-Type and body are what the document says for
# TEMPLATE, METHOD and STATUS; the body is left in $tmp/body.  On the
# socket, or on TCP when $tcp is set, with the bearer token $token if set.
tcp='' token=''
call() {
    want=$1 tpl=$2 method=$3 url=$4; shift 4
    if [ -z "$tcp" ]; then
        set -- --unix-socket "$SOCK" "$@" "http://localhost$url"
    elif [ -n "$token" ]; then
        set -- --cacert "$tmp/cert.pem" -H "Authorization: Bearer $token" "$@" \
            "https://127.0.0.1:$PORT$url"
    else
        set -- --cacert "$tmp/cert.pem" "$@" "https://127.0.0.1:$PORT$url"
    fi
    got=$(curl -sS --max-time 30 -o "$tmp/body" -w '%{http_code} %{content_type}' \
        -X "$method" "$@" 2>"$tmp/cerr")
    code=${got%% *} ctype=${got#* }
    if [ "$code" != "$want" ]; then
        bad "$method $url: HTTP $code (wanted $want)"
        sed 's/^/  | /' "$tmp/body" "$tmp/cerr" | head -10
        return
    fi
    if "$PY" "$tmp/oa.py" "$DOC" check "$tpl" "$method" "$code" "$ctype" "$tmp/body" \
        2>"$tmp/verr"; then ok; else
        bad "$method $url: the answer is not as documented"; cat "$tmp/verr"
    fi
}
# json EXPR: EXPR of the last answer's body (d).
json() { "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$tmp/body"; }
# run_wait: wait until the run the last POST /v1/runs queued has ended.
run_wait() {
    run=$(json 'd["id"]')
    n=300
    while [ $n -gt 0 ] && curl -sf --unix-socket "$SOCK" "http://localhost/v1/runs/$run" |
        grep -Eq '"state": *"(queued|running)"'; do sleep 0.1; n=$((n - 1)); done
}
JSON='Content-Type: application/json'

# 3. The document served is the file.
call 200 /openapi.json GET /openapi.json
same "$tmp/body" "$DOC"

# 4. Every route's answers, as documented.
call 200 /v1/status GET /v1/status
call 200 /v1/sources GET /v1/sources
call 404 /v1/sources GET '/v1/sources?source=nosuch'
call 200 '/v1/sources/{name}' GET /v1/sources/demo
call 404 '/v1/sources/{name}' GET /v1/sources/nosuch
call 200 /v1/pools GET /v1/pools
call 404 /v1/pools GET '/v1/pools?source=nosuch'
call 200 /v1/jobs GET /v1/jobs
[ "$(json 'len(d)')" = 2 ] && ok || bad "GET /v1/jobs: not the 2 jobs"
call 202 /v1/runs POST /v1/runs -H "$JSON" --data '{"source":"demo","kind":"discover"}'
run_wait
call 200 '/v1/runs/{id}' GET "/v1/runs/$run"
[ "$(json 'd["state"]')" = succeeded ] && ok || bad "discover run $run did not succeed"
call 400 /v1/runs POST /v1/runs -H "$JSON" --data '{"source":"demo","kind":"bogus"}'
call 404 /v1/runs POST /v1/runs -H "$JSON" --data '{"source":"nosuch"}'
# a fetch: rows, bytes, file and sha256 filled
call 202 /v1/runs POST /v1/runs -H "$JSON" --data '{"source":"demo","item":"t"}'
run_wait
call 200 '/v1/runs/{id}' GET "/v1/runs/$run"
[ "$(json 'd["state"], d["rows"]')" = "succeeded 1" ] && ok ||
    { bad "fetch run $run"; cat "$tmp/body"; }
call 400 '/v1/runs/{id}' GET /v1/runs/abc
call 404 '/v1/runs/{id}' GET /v1/runs/999999
call 200 /v1/runs GET '/v1/runs?source=demo&state=succeeded&limit=5'
[ "$(json 'len(d)')" = 2 ] && ok || bad "GET /v1/runs: not the 2 runs"
call 400 /v1/runs GET '/v1/runs?state=bogus'
call 200 /v1/queries GET '/v1/queries?source=demo&limit=5'
call 400 /v1/queries GET '/v1/queries?limit=0'
call 200 '/v1/sources/{name}/query' POST /v1/sources/demo/query -H "$JSON" \
    --data '{"query":"SELECT id, v FROM t WHERE id = ?","params":["1"]}'
call 400 '/v1/sources/{name}/query' POST /v1/sources/demo/query -H "$JSON" --data '{"query":""}'
call 403 '/v1/sources/{name}/query' POST /v1/sources/demo/query -H "$JSON" \
    --data '{"query":"DELETE FROM t"}'
call 404 '/v1/sources/{name}/query' POST /v1/sources/nosuch/query -H "$JSON" \
    --data '{"query":"SELECT 1"}'
call 200 /v1/queries GET '/v1/queries?source=demo'
[ "$(json '[q["result"] for q in d]')" = "['permission', 'ok']" ] && ok ||
    bad "GET /v1/queries: not the 2 queries"
call 404 '/v1/runs/{id}' DELETE /v1/runs/999999
call 400 '/v1/runs/{id}' DELETE /v1/runs/0
call 200 /v1/jobs GET /v1/jobs
[ "$(json 'sorted(j["last"]["result"] for j in d)')" = "['succeeded', 'succeeded']" ] &&
    ok || bad "GET /v1/jobs: the jobs' last runs"
# a schema change, discovered: drift events
sqlite3 "$tmp/shop.db" 'ALTER TABLE t ADD COLUMN w INTEGER;'
call 202 /v1/runs POST /v1/runs -H "$JSON" --data '{"source":"demo","kind":"discover"}'
run_wait
call 200 '/v1/sources/{name}/drift' GET /v1/sources/demo/drift
[ "$(json 'len(d) > 0')" = True ] && ok || bad "GET /v1/sources/demo/drift: no event"
call 400 '/v1/sources/{name}/drift' GET '/v1/sources/demo/drift?since=yesterday'
call 404 '/v1/sources/{name}/drift' GET /v1/sources/nosuch/drift
call 200 /v1/health GET /v1/health
call 404 /v1/health GET '/v1/health?source=nosuch'
call 200 /metrics GET /metrics
call 200 /v1/reload POST /v1/reload
cp "$tmp/conf/sources.d/demo.conf" "$tmp/demo.conf"
echo 'bogus = 1;' >>"$tmp/conf/sources.d/demo.conf"
call 400 /v1/reload POST /v1/reload
[ "$(json 'len(d["errors"]) > 0')" = True ] && ok || bad "POST /v1/reload: no errors"
cp "$tmp/demo.conf" "$tmp/conf/sources.d/demo.conf"
# sources added, changed and removed at run time
extra="{\"name\":\"extra\",\"type\":\"sqlite\",\"connection\":{\"path\":\"$tmp/shop.db\"}}"
call 201 /v1/sources POST /v1/sources -H "$JSON" --data "$extra"
etag=$(json 'd["etag"]')
call 409 /v1/sources POST /v1/sources -H "$JSON" --data "$extra"
call 400 /v1/sources POST /v1/sources -H "$JSON" --data '{"name":".x","type":"sqlite"}'
call 422 /v1/sources POST /v1/sources -H "$JSON" \
    --data '{"name":"bad","type":"sqlite","connection":{},"bogus":1}'
call 200 '/v1/sources/{name}' GET /v1/sources/extra
call 200 '/v1/sources/{name}' PATCH /v1/sources/extra -H "$JSON" -H "If-Match: $etag" \
    --data '{"labels":{"env":"test"}}'
call 412 '/v1/sources/{name}' PUT /v1/sources/extra -H "$JSON" -H "If-Match: $etag" \
    --data "$extra"
call 200 '/v1/sources/{name}' PUT '/v1/sources/extra?test=false' -H "$JSON" --data "$extra"
call 404 '/v1/sources/{name}' PATCH /v1/sources/nosuch -H "$JSON" --data '{"enabled":false}'
call 200 '/v1/sources/{name}' DELETE '/v1/sources/extra?purge=true'
call 404 '/v1/sources/{name}' DELETE /v1/sources/extra

# On TCP: 401 without a token; a viewer's token reads the document, and is
# refused (403) what needs operator or admin.
tcp=1
call 401 /v1/status GET /v1/status
call 401 /openapi.json GET /openapi.json
token=$("$DSRC" $C token create --role viewer --name openapi-viewer 2>"$tmp/err")
case $token in dsrc_*) ok ;; *) bad "no viewer token: $token"; cat "$tmp/err" ;; esac
call 200 /openapi.json GET /openapi.json
same "$tmp/body" "$DOC"
call 403 /v1/runs POST /v1/runs -H "$JSON" --data '{"source":"demo","kind":"discover"}'
call 403 /v1/reload POST /v1/reload
call 403 '/v1/sources/{name}/query' POST /v1/sources/demo/query -H "$JSON" \
    --data '{"query":"SELECT 1"}'
call 403 '/v1/sources/{name}' DELETE /v1/sources/demo
finish openapi
