#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The SDK as a third party sees it: install dsrc into a temporary DESTDIR,
# move the staged tree elsewhere (dsrc-plugin.pc is relocatable), copy the
# example plugin from where `make install` put it (nothing from the source
# tree), build it with nothing but pkg-config pointing at the moved .pc,
# install it, load the result through the staged `dsrc`, and run dsrc
# conformance against it.
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
# The kit: both headers, the frozen copy of each released ABI minor, the
# .pc, the example plugin under $(docdir)/examples/plugin, the man page.
for f in '*/include/dsrc/plugin.h' '*/include/dsrc/plugin_util.h' \
    '*/include/dsrc/abi/v1_0.h' '*/include/dsrc/abi/v1_1.h' \
    '*/share/doc/dsrc/examples/plugin/csvdir.c' '*/share/doc/dsrc/examples/plugin/Makefile' \
    '*/share/doc/dsrc/examples/plugin/README.md' '*/man3/dsrc-plugin.3' '*/bin/dsrc'; do
    [ -n "$(find "$root" -path "$f" -print | head -n 1)" ] && ok ||
        bad "make install did not install $f"
done
pc=$(find "$root" -name dsrc-plugin.pc -print | head -n 1)
[ -n "$pc" ] || die "make install did not install dsrc-plugin.pc"
has "$pc" 'prefix=${pcfiledir}/'
has "$pc" "ABI 1.5"
hasnt "$pc" "$root"

# 2. Move the staged installation: nothing in it may point back to where
#    it was staged.
moved="$tmp/moved"
mv "$root" "$moved" || die "cannot move $root"
pc=$moved${pc#"$root"}
pcdir=$(dirname "$pc")
sdsrc=$(find "$moved" -path '*/bin/dsrc' -print | head -n 1)
exdir=$(find "$moved" -path '*/examples/plugin' -type d -print | head -n 1)
[ -n "$exdir" ] || die "no examples/plugin in the staged tree"

# pkg-config sees only the moved tree (not a dsrc installed on this
# machine), and no sysroot helps it: the .pc finds its own prefix.
PKG_CONFIG_PATH="$pcdir"
PKG_CONFIG_LIBDIR="$pcdir"
export PKG_CONFIG_PATH PKG_CONFIG_LIBDIR
unset PKG_CONFIG_SYSROOT_DIR
cflags=$(pkg-config --cflags dsrc-plugin) || die "pkg-config cannot read $pc"
case "$cflags" in
    *"$moved"*) ok ;;
    *) bad "pkg-config --cflags dsrc-plugin gives '$cflags', not a path in $moved" ;;
esac
plugindir=$(pkg-config --variable=plugindir dsrc-plugin)
case "$plugindir" in
    "$moved"/*/dsrc/plugins) ok ;;
    *) bad "dsrc-plugin.pc gives plugindir '$plugindir', not one in $moved" ;;
esac
inc=${cflags#-I}
inc=${inc%% *}
[ -f "$inc/dsrc/plugin.h" ] && [ -f "$inc/dsrc/abi/v1_0.h" ] && ok ||
    bad "no dsrc/plugin.h and dsrc/abi/v1_0.h in $inc (from pkg-config)"

# 3. Copy the installed example, and only it, and build it out of tree: no
#    -I into the source tree, no include path from the environment.
cp -R "$exdir" "$tmp/example" || die "cannot copy $exdir"
unset CPATH C_INCLUDE_PATH CPPFLAGS
# Without the SDK's pkg-config file it must not build (nothing else leads
# it to a header) ...
expect 2 env PKG_CONFIG_LIBDIR="$tmp/nowhere" PKG_CONFIG_PATH= "$MAKE" -C "$tmp/example"
has "$tmp/err" "dsrc-plugin.pc not found"
[ -f "$tmp/example/csvdir.so" ] && bad "csvdir.so was built without the SDK" || ok
# ... and with it, it builds, warning-free.
expect 0 "$MAKE" -C "$tmp/example" CFLAGS="-O2 -Wall -Wextra -Werror"
[ -f "$tmp/example/csvdir.so" ] && ok || die "the example did not build csvdir.so"
hasnt "$tmp/out" "$top_srcdir"
hasnt "$tmp/out" "$root"
if command -v nm >/dev/null 2>&1; then
    nm -D --defined-only "$tmp/example/csvdir.so" 2>/dev/null | awk '$2 == "T" { print $3 }' |
        sort >"$tmp/syms"
    printf 'dsrc_plugin_abi\ndsrc_plugin_init\n' >"$tmp/want"
    if cmp -s "$tmp/syms" "$tmp/want"; then ok; else
        bad "csvdir.so exports other functions than the two ABI symbols:"
        sed 's/^/  | /' "$tmp/syms"
    fi
fi

# The kit's ABI checker finds nothing wrong with it, for 1.5 hosts and for
# 1.0 ones (dsrc_driver_fill() never writes past the host's driver).
expect 0 "$sdsrc" abi-check "$tmp/example/csvdir.so"
has "$tmp/out" "built for dsrc plugin ABI 1.5"
has "$tmp/out" "ok for ABI 1.5"
expect 1 "$sdsrc" abi-check --target 1.0 "$tmp/example/csvdir.so"
has "$tmp/out" "declares ABI 1.5, above the target 1.0"
hasnt "$tmp/out" "set driver member"

# 4. Its install target puts it where pkg-config says plugins go.
expect 0 "$MAKE" -C "$tmp/example" install DESTDIR="$tmp/stage"
installed=$(find "$tmp/stage" -path '*/dsrc/plugins/csvdir.so' -print | head -n 1)
[ -n "$installed" ] && ok || bad "make install did not put csvdir.so under dsrc/plugins"

# 5. Load it in the staged host.
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

DSRC=$sdsrc
[ -x "$DSRC" ] || die "the staged dsrc ($DSRC) is not there"
expect 0 "$DSRC" -c "$C" plugins
has "$tmp/out" "csvdir"
expect 0 "$DSRC" -c "$C" plugins --options csvdir
has "$tmp/out" "dir"
has "$tmp/out" "delimiter"
has "$tmp/out" "header"
expect 0 "$DSRC" -c "$C" test csvdemo
has "$tmp/out" "csvdemo: ok"
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
