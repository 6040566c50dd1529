#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The SDK as a third party sees it: install dsrc into a temporary DESTDIR,
# copy sdk/example/ somewhere else, build it with nothing but pkg-config
# pointing into that DESTDIR, install it, load the result through the real
# `dsrc` command, and run dsrc conformance against it.
set -u
: "${top_builddir:?top_builddir must be set}" "${top_srcdir:?top_srcdir must be set}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"

skip() { echo "SKIP: $*"; exit 77; }
die() { echo "FAIL: $*"; exit 1; }

# Tools a third party needs; without them this test cannot say anything.
MAKE=${MAKE:-make}
for tool in "$MAKE" pkg-config "${CC:-cc}"; do
    command -v "$tool" >/dev/null 2>&1 || skip "'$tool' is not installed"
done

lib_tmpdir dsrc-sdk
root="$tmp/root"

# 1. Install dsrc into the DESTDIR.  The parent make's job server and flags
#    are not ours to use.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
if ! (cd "$top_builddir" && "$MAKE" install DESTDIR="$root") >"$tmp/install.log" 2>&1; then
    sed 's/^/  install: /' "$tmp/install.log" | tail -40
    die "make install DESTDIR=$root failed in $top_builddir"
fi
pc=$(find "$root" -name dsrc-plugin.pc -print | head -n 1)
[ -n "$pc" ] || die "make install did not install dsrc-plugin.pc"
pcdir=$(dirname "$pc")
hdr=$(find "$root" -path '*/include/dsrc/plugin.h' -print | head -n 1)
[ -n "$hdr" ] || die "make install did not install <dsrc/plugin.h>"
ok

# pkg-config sees only the DESTDIR (not a dsrc installed on this machine).
PKG_CONFIG_PATH="$pcdir"
PKG_CONFIG_LIBDIR="$pcdir"
PKG_CONFIG_SYSROOT_DIR="$root"
export PKG_CONFIG_PATH PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR
cflags=$(pkg-config --cflags dsrc-plugin) || die "pkg-config cannot read $pc"
case "$cflags" in
    *"$root"*) ok ;;
    *) bad "pkg-config --cflags dsrc-plugin gives '$cflags', not a path in $root" ;;
esac
plugindir=$(pkg-config --variable=plugindir dsrc-plugin)
[ -n "$plugindir" ] && ok || bad "dsrc-plugin.pc has no plugindir"

# 2. Copy the example and build it out of tree: no -I into the source tree,
#    no include path from the environment.
mkdir "$tmp/example" || die "mkdir failed"
for f in csvdir.c Makefile README.md; do
    cp "$top_srcdir/sdk/example/$f" "$tmp/example/" || die "cannot copy sdk/example/$f"
done
unset CPATH C_INCLUDE_PATH CPPFLAGS
# Without the SDK's pkg-config file it must not build (nothing else leads
# it to a header) ...
expect 2 env PKG_CONFIG_LIBDIR="$tmp/nowhere" PKG_CONFIG_PATH= "$MAKE" -C "$tmp/example"
has "$tmp/err" "dsrc-plugin.pc not found"
[ -f "$tmp/example/csvdir.so" ] && bad "csvdir.so was built without the SDK" || ok
# ... and with it, it builds.
expect 0 "$MAKE" -C "$tmp/example"
[ -f "$tmp/example/csvdir.so" ] && ok || die "the example did not build csvdir.so"
hasnt "$tmp/out" "$top_srcdir/sdk"
if command -v nm >/dev/null 2>&1; then
    nm -D --defined-only "$tmp/example/csvdir.so" 2>/dev/null | awk '$2 == "T" { print $3 }' |
        sort >"$tmp/syms"
    printf 'dsrc_plugin_abi\ndsrc_plugin_init\n' >"$tmp/want"
    if cmp -s "$tmp/syms" "$tmp/want"; then ok; else
        bad "csvdir.so exports other functions than the two ABI symbols:"
        sed 's/^/  | /' "$tmp/syms"
    fi
fi

# 3. Its install target puts it where pkg-config says plugins go.
expect 0 "$MAKE" -C "$tmp/example" install DESTDIR="$tmp/stage"
installed=$(find "$tmp/stage" -path '*/dsrc/plugins/csvdir.so' -print | head -n 1)
[ -n "$installed" ] && ok || bad "make install did not put csvdir.so under dsrc/plugins"

# 4. Load it in the host.
mkdir -p "$tmp/conf/sources.d" "$tmp/data" || die "mkdir failed"
cat >"$tmp/data/orders.csv" <<'EOF'
id,customer,amount,paid
1,Alice,10.5,true
2,"Bob, Jr.",20,false
3,Carol,30.25,true
EOF
cat >"$tmp/conf/dsrcd.conf" <<EOF
plugin_dir = "$tmp/example";
state_dir = "$tmp/state";
workspace = "$tmp/ws";
sources_dir = "$tmp/conf/sources.d";
EOF
cat >"$tmp/conf/sources.d/csvdemo.conf" <<EOF
name = "csvdemo";
type = "csvdir";
connection = { dir = "$tmp/data"; delimiter = ","; };
EOF
C="$tmp/conf/dsrcd.conf"

[ -x "$DSRC" ] || die "$DSRC is not built"
expect 0 "$DSRC" -c "$C" plugins
has "$tmp/out" "csvdir"
expect 0 "$DSRC" -c "$C" plugins --options csvdir
has "$tmp/out" "dir"
has "$tmp/out" "delimiter"
has "$tmp/out" "header"
expect 0 "$DSRC" -c "$C" ls csvdemo
has "$tmp/out" "orders.csv"
expect 0 "$DSRC" -c "$C" describe csvdemo orders.csv
has "$tmp/out" "amount"
expect 0 "$DSRC" -c "$C" fetch csvdemo orders.csv -o -
has "$tmp/out" "customer"
has "$tmp/out" "Alice"
has "$tmp/out" '"Bob, Jr."'
has "$tmp/out" "30.25"

# The installed copy loads just the same.
sed "s|^plugin_dir = .*|plugin_dir = \"$(dirname "${installed:-/nonexistent/x}")\";|" \
    "$C" >"$tmp/conf/installed.conf"
expect 0 "$DSRC" -c "$tmp/conf/installed.conf" ls csvdemo
has "$tmp/out" "orders.csv"

# It passes dsrc conformance (its quirks file names the cursor column: a CSV
# file has no key).
printf 'item = "orders.csv";\ncursor_field = "id";\nbad_option = "header=maybe";\n' \
    >"$tmp/quirks.conf"
expect 0 "$DSRC" -c "$C" conformance csvdemo --quirks "$tmp/quirks.conf"
has "$tmp/out" "PASS cursor"
has "$tmp/out" "item 'orders.csv', 16 passed, 0 failed, 2 skipped"

finish example_out_of_tree
