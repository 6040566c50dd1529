#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Run as root, dsrc leaves nothing in a workspace owned by another user
# (the daemon's, dsrc) that this user cannot replace: the directories it
# makes, the fetched files and their manifests get the owner and group of
# the directory they are made in; the state store in a state_dir of that
# user's stays that user's.  Outside (a directory of root's) nothing
# changes.  Skipped (77) when not run as root.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
[ "$(id -u)" -eq 0 ] || { echo "not root: skipped"; exit 77; }
command -v sqlite3 >/dev/null || { echo "sqlite3 missing"; exit 77; }
lib_tmpdir dsrc-wsowner
# the workspace's owner: nobody (65534) and its group
owner=65534 group=65534

lib_conf "$top_builddir/plugins/sqlite/.libs"
mkdir -p "$tmp/ws" "$tmp/state"
chown "$owner:$group" "$tmp/ws" "$tmp/state"
sqlite3 "$tmp/a.db" "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
                     INSERT INTO t(v) VALUES ('a'), ('b'), ('c');"
cat >"$tmp/conf/sources.d/a.conf" <<EOF2
name = "a";
type = "sqlite";
connection = { path = "$tmp/a.db"; };
fetch = ( { item = "t"; cursor_field = "id"; } );
EOF2
dsrc() { "$DSRC" -c "$tmp/conf/dsrcd.conf" "$@"; }

expect 0 dsrc fetch a t
expect 0 dsrc fetch a t --incremental
sqlite3 "$tmp/a.db" "INSERT INTO t(v) VALUES ('d');"
expect 0 dsrc fetch a t --incremental --format jsonl
n=$(find "$tmp/ws" -type f | wc -l)
[ "$n" -ge 6 ] && ok || { bad "expected 3 files and their manifests, found $n"; find "$tmp/ws" -ls; }
left=$(find "$tmp/ws" \( ! -user "$owner" -o ! -group "$group" \) -print)
[ -z "$left" ] && ok || { bad "not the workspace owner's: $left"; find "$tmp/ws" -ls; }
# the state store (the incremental cursors) too
[ -n "$(find "$tmp/state" -type f)" ] && ok || bad "no state store in $tmp/state"
left=$(find "$tmp/state" \( ! -user "$owner" -o ! -group "$group" \) -print)
[ -z "$left" ] && ok || { bad "not the state directory owner's: $left"; find "$tmp/state" -ls; }
# a file root writes into its own directory stays root's
expect 0 dsrc fetch a t -o "$tmp/mine/t.csv"
[ "$(stat -c %u:%g "$tmp/mine" "$tmp/mine/t.csv" "$tmp/mine/t.csv.manifest.json" | sort -u)" = 0:0 ] &&
    ok || { bad "root's own output changed owner"; ls -ln "$tmp/mine"; }

finish "workspace owner"
