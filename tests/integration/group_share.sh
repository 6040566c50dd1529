#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A state directory and workspace shared with a group (setgid and
# group-writable, as the packages make /var/lib/dsrc) can be used by the
# daemon's user and by every member of the group, whatever their umask:
# what one of them makes there (the state store and its -wal and -shm
# files, per-source directories, fetched files) the others can still write
# or replace.  Two unprivileged users stand in for the daemon's user and a
# member of its group (setpriv, no account needed).  Skipped (77) when not
# run as root.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
[ "$(id -u)" -eq 0 ] || { echo "not root: skipped"; exit 77; }
command -v sqlite3 >/dev/null || { echo "sqlite3 missing"; exit 77; }
command -v setpriv >/dev/null || { echo "setpriv missing"; exit 77; }
lib_tmpdir dsrc-share
chmod 0755 "$tmp"
# the group, the daemon's user (in it) and a member (in it as a
# supplementary group only)
grp=23456 daemon_uid=23457 member=23458

lib_conf "$top_builddir/plugins/sqlite/.libs"
mkdir -p "$tmp/ws" "$tmp/state"
chown "$daemon_uid:$grp" "$tmp/ws" "$tmp/state"
chmod 2770 "$tmp/ws" "$tmp/state"
sqlite3 "$tmp/a.db" "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
                     INSERT INTO t(v) VALUES ('a'), ('b');"
chmod 0644 "$tmp/a.db"
cat >"$tmp/conf/sources.d/a.conf" <<EOF2
name = "a";
type = "sqlite";
connection = { path = "$tmp/a.db"; };
fetch = ( { item = "t"; cursor_field = "id"; } );
EOF2
as_daemon() { umask 022; setpriv --reuid=$daemon_uid --regid=$grp --clear-groups "$DSRC" -c "$tmp/conf/dsrcd.conf" "$@"; }
as_member() { umask 022; setpriv --reuid=$member --regid=$member --groups=$grp "$DSRC" -c "$tmp/conf/dsrcd.conf" "$@"; }
more() { sqlite3 "$tmp/a.db" "INSERT INTO t(v) VALUES ('$1');"; }

# the member starts: it makes the state store and the source's directory
expect 0 as_member fetch a t --incremental
more c
expect 0 as_daemon fetch a t --incremental
more d
expect 0 as_member fetch a t --incremental --format jsonl
more e
expect 0 as_daemon fetch a t --incremental
# four runs, each with its own rows: the cursor moved every time
expect 0 as_member runs a --json
n=$(grep -o '"state": *"succeeded"' "$tmp/out" | wc -l)
[ "$n" -eq 4 ] && ok || { bad "expected 4 succeeded runs, got $n"; cat "$tmp/out"; }
# everything in both directories belongs to the group, directories are
# group-writable and setgid, and the store's files are group-writable
left=$(find "$tmp/ws" "$tmp/state" ! -group "$grp" -print)
[ -z "$left" ] && ok || { bad "not the group's: $left"; find "$tmp/ws" "$tmp/state" -ls; }
left=$(find "$tmp/ws" "$tmp/state" -type d \( ! -perm -2070 \) -print)
[ -z "$left" ] && ok || { bad "directories not group-writable and setgid: $left"; find "$tmp/ws" -type d -ls; }
left=$(find "$tmp/state" -type f -name 'dsrc.db*' ! -perm -0060 -print)
[ -z "$left" ] && ok || { bad "state store files not group-writable: $left"; ls -l "$tmp/state"; }
[ -n "$(find "$tmp/state" -name 'dsrc.db*' -user "$member")" ] && ok ||
    { bad "the member did not make the state store"; ls -ln "$tmp/state"; }

# the sources directory, shared the same way (root:group 2770): a member
# adds a source, the daemon's user changes it, the member removes it
chown "0:$grp" "$tmp/conf/sources.d"
chmod 2770 "$tmp/conf/sources.d"
expect 0 as_member source add b --type sqlite --set path="$tmp/a.db"
expect 0 as_daemon source set b labels.env=test
expect 0 as_member source rm b
[ ! -e "$tmp/conf/sources.d/b.conf" ] && ok || bad "b.conf is still there"

# under dsrcd's unit (UMask=0007, RestrictSUIDSGID=yes: a chmod or mkdir
# whose mode has the setgid bit is refused) a new source's directories
# come out shared without any such call: they are made group-writable and
# inherit the setgid bit
if command -v strace >/dev/null; then
    sed 's/^name = "a";/name = "n";/' "$tmp/conf/sources.d/a.conf" >"$tmp/conf/sources.d/n.conf"
    mkdir "$tmp/trace" && chown "$daemon_uid" "$tmp/trace"
    # (LeakSanitizer cannot run under a tracer)
    (umask 0007; ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"; export ASAN_OPTIONS; setpriv --reuid=$daemon_uid --regid=$grp --clear-groups \
        strace -f -qq -e trace=chmod,fchmod,fchmodat,mkdir,mkdirat -o "$tmp/trace/log" \
        "$DSRC" -c "$tmp/conf/dsrcd.conf" fetch n t >"$tmp/out" 2>"$tmp/err") && ok ||
        { bad "fetch n t under strace failed"; cat "$tmp/err"; }
    sgid=$(grep -E '(chmod|mkdir)[a-z]*\(.*, 0?[2367][0-7]{3}\)' "$tmp/trace/log")
    [ -z "$sgid" ] && ok || bad "calls that set the setgid bit: $sgid"
    [ "$(stat -c %a "$tmp/ws/n" "$tmp/ws/n/t" | sort -u)" = 2770 ] && ok ||
        { bad "n's directories are not 2770"; find "$tmp/ws/n" -ls; }
else
    echo "strace missing: the setgid check is skipped"
fi

# a directory that is not shared keeps the user's umask: nothing is made
# group-writable behind the operator's back
mkdir "$tmp/private"
chown "$member:$grp" "$tmp/private"
chmod 0750 "$tmp/private"
expect 0 as_member fetch a t -o "$tmp/private/sub/t.csv"
[ "$(stat -c %a "$tmp/private/sub")" = 750 ] && ok ||
    { bad "a private directory became $(stat -c %a "$tmp/private/sub")"; }

finish "group share"
