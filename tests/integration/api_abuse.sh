#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The control API against malformed and hostile clients: a body that is
# not JSON (400), headers over max_header (431), a body over max_body
# (413, announced or chunked), a slowloris (closed after idle_timeout while
# others are answered at once), a thousand connections at once (the server
# stays up; beyond max_connections a clear refusal), clients that vanish
# mid-request or mid-response.  Then a normal request is answered at once
# and dsrcd exits 0 on SIGTERM (under ASan, the leak check).
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRCD="$top_builddir/dsrcd"
PY=/usr/bin/python3
for t in curl sqlite3 "$PY"; do
    command -v "$t" >/dev/null || { echo "$t missing"; exit 77; }
done
lib_tmpdir dsrc-api-abuse
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
}
SOCK="$tmp/run/dsrcd.sock"
# quick: a normal request answered within $2 ms (beside a slowloris, which
# a server that waited on it would hold for five seconds or more, 4000;
# otherwise only a bound on a loaded machine)
quick() {
    t0=$(date +%s%N)
    ucurl 200 http://localhost/v1/health
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    [ "$ms" -lt "$2" ] && ok || bad "a normal request took $ms ms ($1)"
}

sqlite3 "$tmp/shop.db" 'CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);'
lib_conf "$top_builddir/plugins/sqlite/.libs" "control_socket = \"$SOCK\";" \
    'api = { idle_timeout = "6s"; max_connections = 64; max_header = 4096; max_body = 1024; };'
cat >"$tmp/conf/sources.d/demo.conf" <<EOF2
name = "demo";
type = "sqlite";
connection = { path = "$tmp/shop.db"; };
EOF2
"$DSRCD" -c "$tmp/conf/dsrcd.conf" --foreground --log-level debug >"$tmp/log" 2>&1 &
pid=$!
wait_until test -S "$SOCK" || { echo "no control socket"; cat "$tmp/log"; exit 99; }

# Malformed requests: problem+json with the cause.
ucurl 400 -X POST -H 'Content-Type: application/json' --data '{"source": ' http://localhost/v1/runs
has "$tmp/hdr" "application/problem+json"
jcheck "$tmp/body" 'd["status"] == 400 and "not JSON" in d["detail"]'
ucurl 400 -X POST -H 'Content-Type: application/json' --data '[1,2' http://localhost/v1/reload
"$PY" -c 'print("a" * 5000)' >"$tmp/bighdr"
ucurl 431 -H "X-Big: $(cat "$tmp/bighdr")" http://localhost/v1/health
"$PY" -c 'print("{\"x\":\"" + "a" * 2000 + "\"}")' >"$tmp/big"
ucurl 413 -X POST -H 'Content-Type: application/json' --data-binary @"$tmp/big" http://localhost/v1/runs
jcheck "$tmp/body" 'd["status"] == 413 and "max_body" in d["detail"]'
ucurl 413 -X POST -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
    --data-binary @"$tmp/big" http://localhost/v1/runs
jcheck "$tmp/body" 'd["status"] == 413'
quick "after malformed requests" 5000

# A slowloris: the request's bytes one a second.  It is closed after
# idle_timeout (6 s; 12 s allowed, where a server that let it go on would
# take two minutes), and meanwhile others are answered.
"$PY" - "$SOCK" >"$tmp/slow" 2>&1 <<'EOF2' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
t0 = time.monotonic()
req = b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 100 + b"\r\n\r\n"
try:
    for b in req:
        s.send(bytes([b]))
        time.sleep(1)
    print("sent all after %.1f s" % (time.monotonic() - t0))
except OSError as e:
    print("closed after %.1f s" % (time.monotonic() - t0))
EOF2
slow=$!
sleep 1
quick "beside a slowloris" 4000
wait_until grep -q . "$tmp/slow"   # 15 s at most
kill "$slow" 2>/dev/null; wait "$slow" 2>/dev/null
if "$PY" -c 'import sys; w=open(sys.argv[1]).read().split(); sys.exit(0 if w[0] == "closed" and float(w[2]) <= 12 else 1)' "$tmp/slow"; then
    ok
else
    bad "a slowloris was not closed after idle_timeout: $(cat "$tmp/slow")"
fi

# A thousand connections at once, each sending a request: every one is
# answered 200, or 503 beyond max_connections, or (beyond that too) closed
# at once; none hangs.
"$PY" - "$SOCK" >"$tmp/many" 2>&1 <<'EOF2'
import asyncio, resource, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
async def one(i):
    try:
        r, w = await asyncio.open_unix_connection(sys.argv[1])
        w.write(b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        await w.drain()
        data = await r.read()
        w.close()
        if not data:
            return "refused"
        return data.split(b" ", 2)[1].decode()
    except (ConnectionError, OSError):
        return "refused"
async def main():
    res = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(1000))), 60)
    out = {}
    for x in res:
        out[x] = out.get(x, 0) + 1
    print(" ".join("%s=%d" % kv for kv in sorted(out.items())))
asyncio.run(main())
EOF2
if "$PY" -c 'import sys
d = dict(x.split("=") for x in open(sys.argv[1]).read().split())
sys.exit(0 if set(d) <= {"200", "503", "refused"} and int(d.get("200", 0)) >= 64
         and int(d.get("503", 0)) >= 1 else 1)' "$tmp/many"; then
    ok
else
    bad "1000 connections: $(cat "$tmp/many")"
fi
kill -0 "$pid" 2>/dev/null && ok || bad "dsrcd died under 1000 connections"
quick "after 1000 connections" 5000

# Clients that vanish: mid-headers, mid-body, before reading the answer
# (closed, and reset).
"$PY" - "$SOCK" <<'EOF2' || bad "vanishing clients: the script failed"
import socket, struct, sys
def conn():
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    return s
for i in range(20):
    s = conn(); s.send(b"GET /v1/heal"); s.close()
    s = conn()
    s.send(b"POST /v1/runs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Content-Length: 500\r\n\r\n{\"source\":")
    s.close()
    s = conn(); s.send(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"); s.close()
    s = conn()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.send(b"GET /v1/runs HTTP/1.1\r\nHost: x\r\n\r\n"); s.recv(10); s.close()
EOF2
kill -0 "$pid" 2>/dev/null && ok || bad "dsrcd died after vanishing clients"
quick "after vanishing clients" 5000

kill -TERM "$pid"
wait "$pid"
st=$?
pid=
[ "$st" -eq 0 ] && ok || { bad "dsrcd exit $st"; tail -20 "$tmp/log"; }
[ ! -e "$SOCK" ] && ok || bad "socket left behind"
finish api_abuse.sh "(1000 connections: $(cat "$tmp/many"); slowloris: $(cat "$tmp/slow"))"
