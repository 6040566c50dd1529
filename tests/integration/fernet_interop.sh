#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Fernet interoperability with Python's cryptography (Debian's
# python3-cryptography, seen by /usr/bin/python3), both ways: tokens made by
# one are decrypted by the other, with and without a TTL, and key rotation
# matches MultiFernet.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
TOOL="$top_builddir/tests/unit/fernet_tool"
PY=/usr/bin/python3
lib_tmpdir dsrc-fernet
unset CREDENTIALS_DIRECTORY DSRC_KEY


if ! "$PY" -c 'import cryptography.fernet' 2>/dev/null; then
    echo "FAIL: $PY cannot import cryptography.fernet: apt-get install python3-cryptography"
    exit 1
fi
[ -x "$TOOL" ] || { echo "FAIL: $TOOL not built"; exit 1; }

# py.py CMD [ARG]: Python's side.  Keys in $PYKEYS (comma-separated; the
# first encrypts, MultiFernet semantics).
cat >"$tmp/py.py" <<'EOF'
import os, sys
from cryptography.fernet import Fernet, MultiFernet, InvalidToken
cmd = sys.argv[1]
if cmd == "genkey":
    sys.stdout.write(Fernet.generate_key().decode() + "\n")
    sys.exit(0)
keys = [Fernet(k) for k in os.environ["PYKEYS"].split(",")]
mf = MultiFernet(keys)
data = sys.stdin.buffer.read()
try:
    if cmd == "encrypt":
        sys.stdout.write(keys[0].encrypt(data).decode() + "\n")
    elif cmd == "encrypt_at":
        sys.stdout.write(keys[0].encrypt_at_time(data, int(sys.argv[2])).decode() + "\n")
    elif cmd == "decrypt":
        ttl = int(sys.argv[2]) if len(sys.argv) > 2 else None
        sys.stdout.buffer.write(mf.decrypt(data.strip(), ttl=ttl))
    elif cmd == "rotate":
        sys.stdout.write(mf.rotate(data.strip()).decode() + "\n")
    else:
        sys.exit(2)
except InvalidToken:
    sys.stderr.write("InvalidToken\n")
    sys.exit(1)
EOF
py() { "$PY" "$tmp/py.py" "$@"; }

K_PY=$(py genkey </dev/null)
K_C=$("$TOOL" genkey)
K_OTHER=$("$TOOL" genkey)
[ ${#K_PY} -eq 44 ] && [ ${#K_C} -eq 44 ] && ok || bad "key generation"

# Plaintexts: ASCII, UTF-8, binary with NUL and high bytes, empty, one full
# block, a large one.
printf 'hello' >"$tmp/p1"
printf 'p\303\244ssw\303\266rd \342\202\254 "quoted" \\ back\n' >"$tmp/p2"
printf '\000\001\002\377\376 binary\000' >"$tmp/p3"
: >"$tmp/p4"
printf '0123456789abcdef' >"$tmp/p5"
"$PY" -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 40)' >"$tmp/p6"

for key in "$K_PY" "$K_C"; do
    for p in p1 p2 p3 p4 p5 p6; do
        # Python -> C
        if PYKEYS=$key py encrypt <"$tmp/$p" >"$tmp/tok" &&
           DSRC_KEY=$key "$TOOL" decrypt <"$tmp/tok" >"$tmp/out" &&
           cmp -s "$tmp/$p" "$tmp/out"; then ok; else bad "Python -> C, $p"; fi
        # C -> Python
        if DSRC_KEY=$key "$TOOL" encrypt <"$tmp/$p" >"$tmp/tok" &&
           PYKEYS=$key py decrypt <"$tmp/tok" >"$tmp/out" &&
           cmp -s "$tmp/$p" "$tmp/out"; then ok; else bad "C -> Python, $p"; fi
        # C -> Python with a TTL
        if PYKEYS=$key py decrypt 60 <"$tmp/tok" >"$tmp/out" && cmp -s "$tmp/$p" "$tmp/out"
        then ok; else bad "C -> Python with ttl, $p"; fi
    done
done

# The same token text both ways: a token made at a fixed time by Python is
# accepted by C without TTL, refused with a TTL (expired), and vice versa.
now=$(date +%s)
PYKEYS=$K_C py encrypt_at $((now - 3600)) <"$tmp/p1" >"$tmp/old"
if DSRC_KEY=$K_C "$TOOL" decrypt <"$tmp/old" >"$tmp/out" && cmp -s "$tmp/p1" "$tmp/out"
then ok; else bad "old Python token without ttl"; fi
if DSRC_KEY=$K_C "$TOOL" decrypt --ttl 60 <"$tmp/old" >/dev/null 2>"$tmp/err"
then bad "expired Python token accepted"; else grep -q expired "$tmp/err" && ok || bad "expired: $(cat "$tmp/err")"; fi
if DSRC_KEY=$K_C "$TOOL" decrypt --ttl 7200 <"$tmp/old" >/dev/null; then ok; else bad "ttl 7200"; fi
PYKEYS=$K_C py encrypt_at $((now + 3600)) <"$tmp/p1" >"$tmp/future"
if DSRC_KEY=$K_C "$TOOL" decrypt --ttl 60 <"$tmp/future" >/dev/null 2>"$tmp/err"
then bad "far-future Python token accepted with ttl"; else grep -q future "$tmp/err" && ok || bad "future: $(cat "$tmp/err")"; fi
DSRC_KEY=$K_C "$TOOL" encrypt <"$tmp/p1" >"$tmp/tok"
if PYKEYS=$K_C py decrypt 3600 <"$tmp/tok" >/dev/null; then ok; else bad "fresh C token with ttl"; fi

# Wrong key, both ways.
PYKEYS=$K_PY py encrypt <"$tmp/p1" >"$tmp/tok"
if DSRC_KEY=$K_OTHER "$TOOL" decrypt <"$tmp/tok" >"$tmp/out" 2>"$tmp/err"; then
    bad "C decrypted with the wrong key"
else
    grep -q HMAC "$tmp/err" && ok || bad "wrong key message: $(cat "$tmp/err")"
    [ -s "$tmp/out" ] && bad "output with the wrong key" || ok
fi
DSRC_KEY=$K_C "$TOOL" encrypt <"$tmp/p1" >"$tmp/tok"
if PYKEYS=$K_OTHER py decrypt <"$tmp/tok" >/dev/null 2>&1; then bad "Python decrypted with the wrong key"; else ok; fi

# A Python token altered in one character is refused.
PYKEYS=$K_PY py encrypt <"$tmp/p2" >"$tmp/tok"
c=$(cut -c41 "$tmp/tok"); r=A; [ "$c" = A ] && r=B
{ cut -c1-40 "$tmp/tok" | tr -d '\n'; printf %s "$r"; cut -c42- "$tmp/tok"; } >"$tmp/tampered"
if cmp -s "$tmp/tok" "$tmp/tampered"; then bad "tampering did not change the token"; fi
if DSRC_KEY=$K_PY "$TOOL" decrypt <"$tmp/tampered" >/dev/null 2>&1; then bad "tampered token accepted"; else ok; fi

# Rotation.  Old key: K_PY; new key: K_C.
PYKEYS=$K_PY py encrypt <"$tmp/p2" >"$tmp/by_old"
# C with "new,old" decrypts the old token, with the second key.
idx=$(DSRC_KEY="$K_C,$K_PY" "$TOOL" keyindex <"$tmp/by_old")
[ "$idx" = 1 ] && ok || bad "key index $idx for the old key"
if DSRC_KEY="$K_C,$K_PY" "$TOOL" decrypt <"$tmp/by_old" >"$tmp/out" && cmp -s "$tmp/p2" "$tmp/out"
then ok; else bad "C with new,old decrypts an old token"; fi
# C with "new,old" encrypts with the new key: MultiFernet and new-only read it,
# old-only cannot.
DSRC_KEY="$K_C,$K_PY" "$TOOL" encrypt <"$tmp/p2" >"$tmp/by_new"
if PYKEYS=$K_C py decrypt <"$tmp/by_new" >"$tmp/out" && cmp -s "$tmp/p2" "$tmp/out"; then ok; else bad "new key reads C's token"; fi
if PYKEYS="$K_PY,$K_C" py decrypt <"$tmp/by_new" >"$tmp/out" && cmp -s "$tmp/p2" "$tmp/out"; then ok; else bad "MultiFernet reads C's token"; fi
if PYKEYS=$K_PY py decrypt <"$tmp/by_new" >/dev/null 2>&1; then bad "old key reads a token made with the new one"; else ok; fi
# MultiFernet.rotate of the old token: C with the new key alone reads it.
PYKEYS="$K_C,$K_PY" py rotate <"$tmp/by_old" >"$tmp/rotated"
idx=$(DSRC_KEY="$K_C" "$TOOL" keyindex <"$tmp/rotated")
[ "$idx" = 0 ] && ok || bad "rotated token key index $idx"
if DSRC_KEY=$K_C "$TOOL" decrypt <"$tmp/rotated" >"$tmp/out" && cmp -s "$tmp/p2" "$tmp/out"
then ok; else bad "C reads a token rotated by MultiFernet"; fi
if DSRC_KEY=$K_PY "$TOOL" decrypt <"$tmp/rotated" >/dev/null 2>&1; then bad "old key reads the rotated token"; else ok; fi
# And MultiFernet.rotate of C's old-key token.
DSRC_KEY=$K_PY "$TOOL" encrypt <"$tmp/p3" >"$tmp/c_old"
PYKEYS="$K_C,$K_PY" py rotate <"$tmp/c_old" >"$tmp/rotated"
if DSRC_KEY=$K_C "$TOOL" decrypt <"$tmp/rotated" >"$tmp/out" && cmp -s "$tmp/p3" "$tmp/out"
then ok; else bad "C reads its own token rotated by MultiFernet"; fi

finish "fernet interop"
