#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# What dsrc loads at start: only what every run needs.  libcurl, expat,
# libseccomp and libcrypto are opened on first use, libsystemd by dsrcd
# alone; a command that talks to dsrcd loads libcurl then and works, one
# that encrypts loads libcrypto and works; dsrc test on a SQLite source
# loads none of them.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
DSRCD="$top_builddir/dsrcd"
lib_tmpdir dsrc-cli-link

command -v readelf >/dev/null || { echo "readelf missing (binutils)"; exit 77; }
command -v sqlite3 >/dev/null || { echo "sqlite3 CLI missing"; exit 99; }

# Linked: none of the libraries loaded late.  The compiler links with
# --as-needed, except with a sanitizer (gcc's default): there the core
# library's libmicrohttpd (dsrcd's, with gnutls) stays needed; the
# optimised builds (the packages' test run) check it.
readelf -d "$DSRC" >"$tmp/needed" || { echo "readelf failed on $DSRC"; exit 99; }
unused="libmicrohttpd"
gnutls="libgnutls"
if grep -q '\[libasan\.\|\[libtsan\.\|\[libubsan\.' "$tmp/needed"; then
    echo "sanitizer build: libmicrohttpd and gnutls not checked"
    unused="" gnutls=""
fi
for lib in libcurl libsystemd libseccomp libexpat $unused libcrypto; do
    hasnt "$tmp/needed" "[$lib."
done
has "$tmp/needed" "[libc.so"
if grep -q '^#define HAVE_SYSTEMD 1' "$top_builddir/config.h"; then
    readelf -d "$DSRCD" >"$tmp/needed_d"
    has "$tmp/needed_d" "[libsystemd."
    hasnt "$tmp/needed_d" "[libcurl."
fi

# Loaded, at run time, by dsrc test on a SQLite source (LD_DEBUG=libs lists
# every library the dynamic linker opens, with those a plugin brings).
sqlite3 "$tmp/t.db" 'CREATE TABLE t(x INTEGER); INSERT INTO t VALUES (1);'
lib_conf "$top_builddir/plugins/sqlite/.libs" "control_socket = \"$tmp/dsrcd.sock\";"
cat >"$tmp/conf/sources.d/lite.conf" <<EOF2
name = "lite";
type = "sqlite";
connection = { path = "$tmp/t.db"; };
EOF2
C="-c $tmp/conf/dsrcd.conf"
LD_DEBUG=libs LD_DEBUG_OUTPUT="$tmp/ld" "$DSRC" $C test lite >"$tmp/out" 2>&1 \
    && ok || { bad "dsrc test lite failed"; cat "$tmp/out"; }
cat "$tmp/ld".* >"$tmp/loaded" 2>/dev/null
has "$tmp/loaded" "calling init: "
has "$tmp/loaded" "libsqlite3.so"
for lib in libcurl libsystemd libseccomp libexpat libgcrypt $gnutls libcrypto; do
    hasnt "$tmp/loaded" "/$lib."
done
rm -f "$tmp/ld".*

# A command that talks to dsrcd loads libcurl then: with no daemon, the
# answer is the usual one, not a loading error.
LD_DEBUG=libs LD_DEBUG_OUTPUT="$tmp/ld" "$DSRC" $C pools >"$tmp/out" 2>"$tmp/err"
[ $? -eq 75 ] && ok || { bad "dsrc pools without dsrcd: not 75"; cat "$tmp/err"; }
has "$tmp/err" "dsrcd is not running"
cat "$tmp/ld".* >"$tmp/loaded" 2>/dev/null
has "$tmp/loaded" "libcurl.so.4"

rm -f "$tmp/ld".*

# Encrypting loads libcrypto then: a key made, a secret encrypted and
# decrypted back.
LD_DEBUG=libs LD_DEBUG_OUTPUT="$tmp/ld" "$DSRC" secret genkey -o "$tmp/k" >"$tmp/out" 2>&1 \
    && ok || { bad "dsrc secret genkey failed"; cat "$tmp/out"; }
cat "$tmp/ld".* >"$tmp/loaded" 2>/dev/null
has "$tmp/loaded" "libcrypto.so.3"
printf 'hunter2' | "$DSRC" secret encrypt -k "$tmp/k" >"$tmp/token" 2>"$tmp/err" \
    && ok || { bad "dsrc secret encrypt failed"; cat "$tmp/err"; }
expect 0 "$DSRC" secret decrypt --show-plaintext -k "$tmp/k" "$(cat "$tmp/token")"
has "$tmp/out" "hunter2"

finish cli_link
