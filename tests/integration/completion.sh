#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The bash completion (cli/completion/dsrc): commands, a command's options
# (from its --help), source names and item paths asked from the source
# (dsrc ls) only when Tab is pressed on an item.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
command -v bash >/dev/null 2>&1 || { echo "SKIP: no bash"; exit 77; }
lib_tmpdir dsrc-completion
lib_conf "$top_builddir/plugins/sqlite/.libs"
sqlite3 "$tmp/a.db" "CREATE TABLE orders(id INTEGER); CREATE TABLE other(x INTEGER);"
cat >"$tmp/conf/sources.d/shop.conf" <<EOC
name = "shop"; type = "sqlite";
connection = { path = "$tmp/a.db"; };
EOC
C="$tmp/conf/dsrcd.conf"

# complete WANT WORDS...: the completions of the last word hold WANT
# (WANT "-": none at all)
complete_has() {
    want=$1; shift
    PATH="$top_builddir:$PATH" bash -c '
        . "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
        _dsrc
        [ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}"' sh "$top_srcdir/cli/completion/dsrc" "$@" \
        >"$tmp/compl" 2>&1
    if [ "$want" = - ]; then
        [ ! -s "$tmp/compl" ] && ok || { bad "completions of '$*': $(cat "$tmp/compl")"; }
    else
        grep -qx -- "$want" "$tmp/compl" && ok ||
            { bad "'$want' not among the completions of '$*': $(cat "$tmp/compl")"; }
    fi
}
complete_has test dsrc te
complete_has check-config dsrc check
complete_has --config dsrc --con
complete_has --limit dsrc fetch --li
complete_has --cursor-field dsrc -c "$C" fetch shop main/orders --cur
complete_has shop dsrc -c "$C" ls sh
complete_has shop dsrc -c "$C" fetch ""
complete_has main/ dsrc -c "$C" ls shop ma
complete_has main/orders dsrc -c "$C" fetch shop main/or
complete_has main/other dsrc -c "$C" describe shop main/
complete_has encrypt dsrc secret en
complete_has conformance dsrc conf
complete_has --quirks dsrc conformance --qu
complete_has shop dsrc -c "$C" conformance sh
complete_has "$tmp/a.db" dsrc -c "$C" conformance shop --quirks "$tmp/a."
complete_has - dsrc -c "$C" ls nosuch ""
complete_has queries dsrc queri
complete_has --limit dsrc queries --li
complete_has shop dsrc -c "$C" queries sh
finish completion
