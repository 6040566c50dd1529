#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# How `dsrc fetch` takes what a plugin sends through the fetch sinks
# (tests/fixtures/plugins/sinks): a plugin's own CSV with and without a
# schema() describing it first (the manifest records the columns, the file
# holds the plugin's bytes unchanged, the header once), typed rows, a schema
# and no rows (a header-only CSV, an empty JSON Lines file), and the
# sequences the SDK forbids (rows after the plugin's own CSV, bytes without
# begin(), CSV after rows): a clear error, exit 1, no file left behind.
# Then what a failed fetch leaves (nothing under the final name, whichever
# step failed; an older file of that name kept), -o onto a character device
# or a FIFO (written to, never replaced), the temporary files of a writer
# killed with SIGKILL (removed by the next fetch into the directory, a live
# writer's never), and the real cause of a refused write (ENOSPC, EPIPE).
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
so="$top_builddir/tests/fixtures/plugins/.libs/sinks.so"
[ -f "$so" ] || { echo "sinks.so not built"; exit 99; }
[ -x /usr/bin/python3 ] || { echo "python3 missing"; exit 77; }
lib_tmpdir dsrc-sinks
mnt=
cleanup() { [ -z "$mnt" ] || umount "$mnt"; }
# manifest FILE PYTHON-EXPRESSION: the expression (over m, the manifest) holds
manifest() {
    if /usr/bin/python3 -c 'import json, sys
m = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else "manifest: %r" % m)' "$1.manifest.json" "$2"; then
        ok
    else
        bad "manifest of $1: $2"
    fi
}
same_bytes() { # same_bytes FILE PRINTF-FORMAT
    printf "$2" >"$tmp/want"
    cmp -s "$1" "$tmp/want" && ok || { bad "$1 differs from the expected bytes"; od -c "$1" | head; }
}
gone() { # gone NAME: no file and no temporary file of that name
    ls -a "$tmp" | grep -q "$1" && bad "a file for $1 was left behind" || ok
}

mkdir -p "$tmp/plugins"
ln -s "$so" "$tmp/plugins/sinks.so"
lib_conf "$tmp/plugins"
printf 'name = "s";\ntype = "sinks";\nconnection = { };\n' >"$tmp/conf/sources.d/s.conf"
C="-c $tmp/conf/dsrcd.conf"

# the plugin's own CSV, described by a schema first
expect 0 "$DSRC" $C fetch s native -o "$tmp/native.csv"
same_bytes "$tmp/native.csv" 'id,name\r\n1,one\r\n2,two\r\n'
manifest "$tmp/native.csv" 'm["format"] == "csv-native" and m["rows"] == 2'
manifest "$tmp/native.csv" '[c["name"] for c in m["schema"]] == ["id", "name"]'
manifest "$tmp/native.csv" 'm["schema"][0]["primary_key"] and m["schema"][0]["native_type"] == "integer"'
# ... to standard output too
expect 0 "$DSRC" $C fetch s native -o -
same_bytes "$tmp/out" 'id,name\r\n1,one\r\n2,two\r\n'
# the plugin's own CSV, no schema: the manifest says so
expect 0 "$DSRC" $C fetch s bare -o "$tmp/bare.csv"
same_bytes "$tmp/bare.csv" 'id,name\r\n1,one\r\n2,two\r\n'
manifest "$tmp/bare.csv" 'm["format"] == "csv-native" and m["schema"] == []'
# typed rows, formatted by the host
expect 0 "$DSRC" $C fetch s rows -o "$tmp/rows.csv"
same_bytes "$tmp/rows.csv" 'id,name\r\n1,one\r\n2,two\r\n'
manifest "$tmp/rows.csv" 'm["format"] == "csv" and m["rows"] == 2 and len(m["schema"]) == 2'
expect 0 "$DSRC" $C fetch s rows --format jsonl -o "$tmp/rows.jsonl"
has "$tmp/rows.jsonl" '{"id":2,"name":"two"}'
# a schema and no rows: the header alone; an empty JSON Lines file
expect 0 "$DSRC" $C fetch s empty -o "$tmp/empty.csv"
same_bytes "$tmp/empty.csv" 'id,name\r\n'
manifest "$tmp/empty.csv" 'm["format"] == "csv" and m["rows"] == 0 and len(m["schema"]) == 2'
expect 0 "$DSRC" $C fetch s empty --format jsonl -o "$tmp/empty.jsonl"
[ -f "$tmp/empty.jsonl" ] && [ ! -s "$tmp/empty.jsonl" ] && ok || bad "empty.jsonl"
# forbidden sequences: a clear error, nothing written
expect 1 "$DSRC" $C fetch s rows-after -o "$tmp/ra.csv"
has "$tmp/err" "plugin 'sinks' sent rows after its own CSV for 'rows-after'"
gone ra.csv
expect 1 "$DSRC" $C fetch s write-early -o "$tmp/we.csv"
has "$tmp/err" "sent bytes without begin() after a schema"
gone we.csv
expect 1 "$DSRC" $C fetch s csv-after -o "$tmp/ca.csv"
has "$tmp/err" "sent its own CSV after rows"
gone ca.csv
# the plugin's CSV-only items refuse JSON Lines
expect 1 "$DSRC" $C fetch s native --format jsonl -o "$tmp/nj.jsonl"
has "$tmp/err" "CSV only"
gone nj.jsonl

# -- a failed fetch leaves nothing under the final name ---------------------
# no place for the manifest (a directory has its name): no data file either,
# and an older file under the final name stays as it was
mkdir "$tmp/nm.csv.manifest.json"
expect 1 "$DSRC" $C fetch s rows -o "$tmp/nm.csv"
has "$tmp/err" "nm.csv.manifest.json"
[ -e "$tmp/nm.csv" ] && bad "nm.csv left behind without its manifest" || ok
printf 'old\n' >"$tmp/keep.csv"
mkdir "$tmp/keep.csv.manifest.json"
expect 1 "$DSRC" $C fetch s rows -o "$tmp/keep.csv"
same_bytes "$tmp/keep.csv" 'old\n'
ls -a "$tmp" | grep -q '^\.nm\.csv\.\|^\.keep\.csv\.' && bad "a temporary file was left behind" || ok
# file systems that fill (root only: tmpfs mounts)
mkdir "$tmp/mnt"
if mount -t tmpfs -o size=4k tmpfs "$tmp/mnt" 2>/dev/null; then
    mnt="$tmp/mnt"
    # room for the data file, none for its manifest
    expect 1 "$DSRC" $C fetch s rows -o "$mnt/full.csv"
    has "$tmp/err" "No space left on device"
    [ -z "$(ls -A "$mnt")" ] && ok || { bad "left on a full file system:"; ls -la "$mnt"; }
    # a full state directory: the cursor cannot move, so neither file stays,
    # and the fetch run again writes the data once
    mount -o remount,size=4m "$mnt"
    mkdir "$mnt/state"
    dd if=/dev/zero of="$mnt/fill" bs=4k 2>/dev/null
    sed "s|^state_dir = .*|state_dir = \"$mnt/state\";|; s|^workspace = .*|workspace = \"$tmp/ws2\";|" \
        "$tmp/conf/dsrcd.conf" >"$tmp/conf/state-full.conf"
    C2="-c $tmp/conf/state-full.conf"
    expect 1 "$DSRC" $C2 fetch s rows --cursor-field id --incremental
    has "$tmp/err" "No space left on device"
    [ -z "$(find "$tmp/ws2" -type f 2>/dev/null)" ] && ok ||
        { bad "files left behind by a fetch whose cursor could not move:"; find "$tmp/ws2"; }
    rm -f "$mnt/fill"
    expect 0 "$DSRC" $C2 fetch s rows --cursor-field id --incremental
    [ "$(find "$tmp/ws2" -type f -name '*.csv' | wc -l)" -eq 1 ] &&
        [ "$(find "$tmp/ws2" -type f -name '*.manifest.json' | wc -l)" -eq 1 ] && ok ||
        { bad "not one data file and one manifest:"; find "$tmp/ws2"; }
    "$DSRC" $C2 --json runs s --state succeeded >"$tmp/runs.json"
    has "$tmp/runs.json" '"cursor_to": "2"'
    # a full workspace on the plugin's own CSV: the cause, not "stopped"
    rm -rf "$mnt/state"
    expect 1 "$DSRC" $C -v -v fetch s endless -o "$mnt/endless.csv"
    has "$tmp/err" "No space left on device"
    grep -q "stopped by" "$tmp/err" && bad "the plugin's 'stopped' hides the cause" || ok
    [ -z "$(ls -A "$mnt")" ] && ok || { bad "left on a full file system:"; ls -la "$mnt"; }
    # standard output redirected to a file there: staged and written by a
    # thread of its own, and still the cause
    rc=0
    "$DSRC" $C fetch s endless -o - >"$mnt/stdout.csv" 2>"$tmp/err" || rc=$?
    [ "$rc" = 1 ] && ok || bad "exit $rc on a full file system behind standard output (wanted 1)"
    has "$tmp/err" "No space left on device"
    rm -f "$mnt/stdout.csv"
    umount "$mnt" && mnt=
fi

# -- -o onto a character device or a FIFO: written to, never replaced ------
if mknod "$tmp/null" c 1 3 2>/dev/null; then
    expect 0 "$DSRC" $C fetch s rows -o "$tmp/null"
    [ -c "$tmp/null" ] && ok || bad "the character device $tmp/null was replaced"
    [ -e "$tmp/null.manifest.json" ] && bad "a manifest beside a character device" || ok
    # the machine's own /dev/null, once a device of ours came through whole
    if [ -c "$tmp/null" ]; then
        expect 0 "$DSRC" $C fetch s native -o /dev/null
        [ -c /dev/null ] && ok || bad "/dev/null is no longer a character device"
        [ -e /dev/null.manifest.json ] && bad "/dev/null.manifest.json written" || ok
    fi
fi
mkfifo "$tmp/fifo"
cat "$tmp/fifo" >"$tmp/fifo.out" &
reader=$!
expect 0 "$DSRC" $C fetch s rows -o "$tmp/fifo"
n=0
while kill -0 "$reader" 2>/dev/null && [ "$n" -lt 50 ]; do n=$((n + 1)); sleep 0.1; done
kill "$reader" 2>/dev/null && bad "the FIFO's reader saw no end of file"
wait "$reader"
same_bytes "$tmp/fifo.out" 'id,name\r\n1,one\r\n2,two\r\n'
[ -p "$tmp/fifo" ] && ok || bad "the FIFO was replaced"
[ -e "$tmp/fifo.manifest.json" ] && bad "a manifest beside a FIFO" || ok
# ... a Unix socket: the data goes to whoever listens
/usr/bin/python3 - "$tmp/sock" "$tmp/sock.out" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(1)
s.settimeout(30)
c, _ = s.accept()
with open(sys.argv[2], "wb") as f:
    for b in iter(lambda: c.recv(65536), b""):
        f.write(b)
PY
listener=$!
n=0
while [ ! -S "$tmp/sock" ] && [ "$n" -lt 100 ]; do n=$((n + 1)); sleep 0.1; done
expect 0 "$DSRC" $C fetch s rows -o "$tmp/sock"
wait "$listener"
same_bytes "$tmp/sock.out" 'id,name\r\n1,one\r\n2,two\r\n'
[ -S "$tmp/sock" ] && ok || bad "the socket was replaced"
[ -e "$tmp/sock.manifest.json" ] && bad "a manifest beside a socket" || ok
# ... a directory: an error
mkdir "$tmp/adir"
expect 1 "$DSRC" $C fetch s rows -o "$tmp/adir"
has "$tmp/err" "Is a directory"

# -- temporary files of a writer killed with SIGKILL ------------------------
# wait_tmp NAME: until a temporary file for NAME shows in $tmp/k (10 s at most)
wait_tmp() {
    n=0
    while ! ls -a "$tmp/k" | grep -q "^\.$1\..*\.tmp$"; do
        n=$((n + 1))
        [ "$n" -le 100 ] || { bad "no temporary file for $1 appeared"; return; }
        sleep 0.1
    done
}
mkdir "$tmp/k"
"$DSRC" $C fetch s endless -o "$tmp/k/dead.csv" 2>/dev/null &
dead=$!
wait_tmp dead.csv
kill -KILL "$dead"
wait "$dead" 2>/dev/null
ls -a "$tmp/k" | grep -q '^\.dead\.csv\..*\.tmp$' && ok || bad "SIGKILL left no temporary file to sweep"
"$DSRC" $C fetch s endless -o "$tmp/k/live.csv" 2>/dev/null &
live=$!
wait_tmp live.csv
expect 0 "$DSRC" $C fetch s rows -o "$tmp/k/next.csv"
ls -a "$tmp/k" | grep -q '^\.dead\.csv\.' && bad "the dead writer's temporary file is still there" || ok
ls -a "$tmp/k" | grep -q '^\.live\.csv\..*\.tmp$' && ok || bad "a live writer's temporary file was removed"
kill -KILL "$live"
wait "$live" 2>/dev/null
expect 0 "$DSRC" $C fetch s rows -o "$tmp/k/next.csv"
[ "$(ls -A "$tmp/k")" = "next.csv
next.csv.manifest.json" ] && ok || { bad "left in $tmp/k:"; ls -A "$tmp/k"; }

# -- a broken pipe on standard output: the cause, not "stopped" -------------
( trap '' PIPE; "$DSRC" $C fetch s endless -o - 2>"$tmp/err"; echo $? >"$tmp/rc" ) | head -c 1 >/dev/null
[ "$(cat "$tmp/rc")" = 1 ] && ok || bad "exit $(cat "$tmp/rc") on a broken pipe (wanted 1)"
has "$tmp/err" "Broken pipe"
grep -q "stopped by" "$tmp/err" && bad "the plugin's 'stopped' hides the broken pipe" || ok

finish fetch_sinks
