#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `dsrc secret` end to end: genkey, encrypt, decrypt, rotate (old key ->
# new key, layout kept byte for byte), check; no plaintext in any output.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="${DSRC_CLI:-$top_builddir/dsrc}"
lib_tmpdir dsrc-secret
# Everything expect and expect_in see printed lands in $tmp/all (checked
# for plaintexts at the end).
expect_log="$tmp/all"
unset CREDENTIALS_DIRECTORY DSRC_KEY

# Replace every token by X: what must stay the same around the tokens.
layout() { sed -E 's/fernet:[A-Za-z0-9_=-]+/fernet:X/g' "$1"; }

PLAIN1='S3cr3t-Pl4in-One'
PLAIN2='second p4ssw0rd with "quotes" and spaces'
PLAIN3='env-value-Th1rd'
PLAIN4='file-value-F0urth'
PLAIN5='plain-in-config-F1fth'
: >"$tmp/all"

mkdir -p "$tmp/conf/sources.d" "$tmp/keys"
chmod 700 "$tmp/keys"
# conf_KEY.conf: the same sources, with key_file = keys/KEY.key.
for k in old new both; do
    cat >"$tmp/conf/conf_$k.conf" <<EOF
plugin_dir = "$top_builddir/tests/fixtures/plugins/.libs";
state_dir = "$tmp/state";
workspace = "$tmp/ws";
sources_dir = "sources.d";
key_file = "$tmp/keys/$k.key";
EOF
done
C_OLD="-c $tmp/conf/conf_old.conf"
C_NEW="-c $tmp/conf/conf_new.conf"
C_BOTH="-c $tmp/conf/conf_both.conf"

# ---------------------------------------------------------------- usage
expect 0 "$DSRC" secret --help;          has "$tmp/out" "genkey"; has "$tmp/out" "rotate"
expect 2 "$DSRC" secret
expect 2 "$DSRC" secret frobnicate;      has "$tmp/err" "frobnicate"
for sub in genkey encrypt decrypt rotate check; do
    expect 0 "$DSRC" secret "$sub" --help; has "$tmp/out" "usage:"
done
expect 0 "$DSRC" secret help rotate;     has "$tmp/out" "atomically"
expect 2 "$DSRC" secret genkey --bogus
expect 2 "$DSRC" secret genkey extra
expect 2 "$DSRC" $C_OLD secret rotate

# ---------------------------------------------------------------- genkey
expect 0 "$DSRC" secret genkey
key=$(cat "$tmp/out")
[ ${#key} -eq 44 ] && ok || bad "genkey printed '${#key}' characters"
expect 0 "$DSRC" secret genkey;          k2=$(cat "$tmp/out")
[ "$key" != "$k2" ] && ok || bad "two keys are equal"
(umask 0; "$DSRC" secret genkey -o "$tmp/keys/old.key" >"$tmp/out" 2>"$tmp/err")
[ $? -eq 0 ] && ok || bad "genkey -o old.key"
[ "$(stat -c %a "$tmp/keys/old.key")" = 600 ] && ok || bad "old.key mode $(stat -c %a "$tmp/keys/old.key")"
[ "$(wc -l <"$tmp/keys/old.key")" -eq 1 ] && [ "$(head -c 44 "$tmp/keys/old.key" | wc -c)" -eq 44 ] && ok || bad "old.key content"
cp "$tmp/keys/old.key" "$tmp/old.copy"
expect 1 "$DSRC" secret genkey -o "$tmp/keys/old.key"; has "$tmp/err" "refusing to overwrite"
cmp -s "$tmp/keys/old.key" "$tmp/old.copy" && ok || bad "genkey overwrote old.key"
expect 0 "$DSRC" secret genkey --output "$tmp/keys/new.key"
# the new key's directory entry is made durable too (a key lost in a
# crash loses every secret encrypted with it): the directory is fsynced
# once the file is
if command -v strace >/dev/null; then
    # (LeakSanitizer cannot run under a tracer)
    ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" strace -f -qq -y -e trace=fsync \
        -o "$tmp/genkey.trace" "$DSRC" secret genkey -o "$tmp/keys/traced.key" >"$tmp/out" 2>"$tmp/err" &&
        ok || { bad "genkey under strace failed"; cat "$tmp/err"; }
    # the key file first, then its directory
    awk -v f="<$tmp/keys/traced.key>" -v d="<$tmp/keys>" '
        index($0, "fsync(") && index($0, f) { file = NR }
        index($0, "fsync(") && index($0, d ")") && file { dir = NR }
        END { exit !(file && dir > file) }' "$tmp/genkey.trace" && ok ||
        { bad "genkey did not fsync the key file and then its directory"; cat "$tmp/genkey.trace"; }
    rm -f "$tmp/keys/traced.key"
else
    echo "strace missing: the fsync of the key's directory is not checked"
fi
OLD=$(cat "$tmp/keys/old.key"); NEW=$(cat "$tmp/keys/new.key")
{ echo "# new key first: it encrypts"; echo "$NEW"; echo; echo "# old key, until rotated"; echo "$OLD"; } >"$tmp/keys/both.key"
chmod 600 "$tmp/keys/both.key"

# ---------------------------------------------------------------- encrypt
printf '%s\n' "$PLAIN1" >"$tmp/in1"
printf '%s' "$PLAIN2" >"$tmp/in2"
expect_in 0 "$tmp/in1" "$DSRC" $C_OLD secret encrypt
TOK1=$(cat "$tmp/out")
case "$TOK1" in fernet:gAAAAA*) ok ;; *) bad "encrypt printed '$TOK1'" ;; esac
[ "$(wc -l <"$tmp/out")" -eq 1 ] && ok || bad "encrypt output is not one line"
expect_in 0 "$tmp/in2" "$DSRC" $C_OLD secret encrypt;  TOK2=$(cat "$tmp/out")
[ "$TOK1" != "$TOK2" ] && ok || bad "two plaintexts, one token"
# Never from argv (and the value is not echoed back).
expect 2 "$DSRC" $C_OLD secret encrypt "$PLAIN5";      has "$tmp/err" "standard input"
: >"$tmp/empty"
expect_in 1 "$tmp/empty" "$DSRC" $C_OLD secret encrypt; has "$tmp/err" "empty"
# Keys from DSRC_KEY without a configuration; several separated by commas.
DSRC_KEY="$NEW,$OLD" expect_in 0 "$tmp/in1" "$DSRC" secret encrypt
TOK_ENV=$(cat "$tmp/out")
# No key anywhere.
expect_in 1 "$tmp/in1" "$DSRC" secret encrypt;   has "$tmp/err" "DSRC_KEY"; has "$tmp/err" "key_file"
# A key file others can read is refused, with the fix.
chmod 644 "$tmp/keys/old.key"
expect_in 1 "$tmp/in1" "$DSRC" $C_OLD secret encrypt; has "$tmp/err" "chmod 600 $tmp/keys/old.key"
chmod 600 "$tmp/keys/old.key"

# On a terminal: a prompt, no echo, one line; echo is back after an
# interrupt.  (Python's pty module drives a pseudo-terminal.)
cat >"$tmp/term_drive.py" <<'EOF'
import os, pty, sys, termios, time
def run(argv, typed, interrupt=False):
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(argv[0], argv)
    out = b""
    deadline = time.time() + 10
    while b"Enter" not in out and time.time() < deadline:
        out += os.read(fd, 4096)
    time.sleep(0.2)
    os.write(fd, b"\x03" if interrupt else typed)  # ^C, or a line
    while True:
        try:
            d = os.read(fd, 4096)
        except OSError:
            break
        if not d:
            break
        out += d
    _, status = os.waitpid(pid, 0)
    echo = bool(termios.tcgetattr(fd)[3] & termios.ECHO)
    os.close(fd)
    return out, status, echo
argv = sys.argv[2:]
if sys.argv[1] == "type":
    out, status, echo = run(argv, b"tty-Secret-Value-9\n")
    sys.stdout.buffer.write(out)
    sys.exit(0 if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and echo else 1)
out, status, echo = run(argv, b"", interrupt=True)
sys.exit(0 if os.WIFSIGNALED(status) and echo else 1)
EOF
DSRC_BIN=$(command -v "$DSRC")
if /usr/bin/python3 "$tmp/term_drive.py" type "$DSRC_BIN" $C_OLD secret encrypt >"$tmp/tty.out" 2>&1
then ok; else bad "encrypt on a terminal"; sed 's/^/  | /' "$tmp/tty.out"; fi
cat "$tmp/tty.out" >>"$tmp/all"
has "$tmp/tty.out" "not echoed"; hasnt "$tmp/tty.out" "tty-Secret-Value-9"
TOK_TTY=$(grep -o 'fernet:[A-Za-z0-9_=-]*' "$tmp/tty.out")
"$DSRC" $C_OLD secret decrypt --show-plaintext "$TOK_TTY" >"$tmp/plain" 2>/dev/null
[ "$(cat "$tmp/plain")" = "tty-Secret-Value-9" ] && ok || bad "the terminal's secret did not round-trip"
if /usr/bin/python3 "$tmp/term_drive.py" interrupt "$DSRC_BIN" $C_OLD secret encrypt
then ok; else bad "echo not restored after ^C"; fi

# ---------------------------------------------------------------- decrypt
expect 2 "$DSRC" $C_OLD secret decrypt "$TOK1";  has "$tmp/err" "--show-plaintext"
[ -s "$tmp/out" ] && bad "decrypt without --show-plaintext printed something" || ok
printf '%s\n' "$TOK1" >"$tmp/tok1"
expect_in 2 "$tmp/tok1" "$DSRC" $C_OLD secret decrypt
# With the flag (outputs kept out of $tmp/all: they are meant to show it).
"$DSRC" $C_OLD secret decrypt --show-plaintext "$TOK1" >"$tmp/plain" 2>"$tmp/err"
[ $? -eq 0 ] && [ "$(cat "$tmp/plain")" = "$PLAIN1" ] && ok || bad "decrypt argv: $(cat "$tmp/err")"
"$DSRC" $C_OLD secret decrypt --show-plaintext <"$tmp/tok1" >"$tmp/plain" 2>"$tmp/err"
[ $? -eq 0 ] && [ "$(cat "$tmp/plain")" = "$PLAIN1" ] && ok || bad "decrypt stdin: $(cat "$tmp/err")"
"$DSRC" $C_OLD secret decrypt --show-plaintext "${TOK2#fernet:}" >"$tmp/plain" 2>"$tmp/err"
[ $? -eq 0 ] && [ "$(cat "$tmp/plain")" = "$PLAIN2" ] && ok || bad "decrypt without prefix"
"$DSRC" $C_BOTH secret decrypt --show-plaintext "$TOK_ENV" >"$tmp/plain" 2>"$tmp/err"
[ $? -eq 0 ] && [ "$(cat "$tmp/plain")" = "$PLAIN1" ] && ok || bad "decrypt a DSRC_KEY token"
# Wrong key, tampered, truncated: refused, nothing printed.
expect 1 "$DSRC" $C_NEW secret decrypt --show-plaintext "$TOK1"; has "$tmp/err" "wrong key"
[ -s "$tmp/out" ] && bad "output with the wrong key" || ok
expect 1 "$DSRC" $C_OLD secret decrypt --show-plaintext "$(echo "$TOK1" | cut -c1-60)"
expect 1 "$DSRC" $C_OLD secret decrypt --show-plaintext -k "$tmp/keys/new.key" "$TOK1"
has "$tmp/err" "new.key"

# ---------------------------------------------------------------- check
printf '%s\n' "$PLAIN4" >"$tmp/aws_secret"
chmod 600 "$tmp/aws_secret"
cat >"$tmp/conf/sources.d/10-alpha.conf" <<EOF
# Source alpha: secrets under the old key.   fernet: tokens below.
name = "alpha";   # trailing comment
type="opts";
connection = {
    path = "$tmp/alpha.db";
      password =   "$TOK1";   // password
    token = "$TOK2"; /* an access token */
};
cloud = { provider = "aws"; region = "eu-west-1";
          secret_access_key = "file:$tmp/aws_secret"; };
EOF
cat >"$tmp/conf/sources.d/20-beta.conf" <<EOF
name = "beta";
type = "opts";
connection = {
    path = "$tmp/beta.db";
    password = "env:DSRC_TEST_BETA_PW";
    token = "$PLAIN5";
};
# an example, not a token: password = "fernet:<token printed by dsrc secret encrypt>";
EOF
cat >"$tmp/conf/sources.d/30-gamma.conf" <<EOF
name = "gamma";
type = "opts";
connection = { path = "$tmp/gamma.db"; };
EOF
chmod 640 "$tmp/conf/sources.d/10-alpha.conf"
DSRC_TEST_BETA_PW=$PLAIN3 expect 0 "$DSRC" $C_OLD secret check
has "$tmp/out" "alpha: password: ok (fernet)"
has "$tmp/out" "alpha: token: ok (fernet)"
has "$tmp/out" "alpha: cloud.secret_access_key: ok (file)"
has "$tmp/out" "beta: password: ok (env)"
has "$tmp/out" "beta: token: ok (plain text"
has "$tmp/out" "gamma: token: ok (the plugin's default)"
has "$tmp/out" "0 failed"
# Failures: missing variable; the new key alone cannot read alpha's tokens.
expect 1 "$DSRC" $C_NEW secret check
has "$tmp/out" "alpha: password: FAILED"
has "$tmp/out" "wrong key"
has "$tmp/out" "beta: password: FAILED: environment variable DSRC_TEST_BETA_PW is not set"
has "$tmp/out" "alpha: cloud.secret_access_key: ok (file)"
chmod 644 "$tmp/aws_secret"
DSRC_TEST_BETA_PW=$PLAIN3 expect 1 "$DSRC" $C_OLD secret check
has "$tmp/out" "cloud.secret_access_key: FAILED"; has "$tmp/out" "chmod 600"
chmod 600 "$tmp/aws_secret"
DSRC_CONFIG=$tmp/none.conf expect 78 "$DSRC" secret check  # no configuration

# ---------------------------------------------------------------- rotate
A="$tmp/conf/sources.d/10-alpha.conf"
B="$tmp/conf/sources.d/20-beta.conf"
cp "$A" "$tmp/alpha.before"; cp "$B" "$tmp/beta.before"
# Only the new key: alpha's tokens cannot be decrypted, nothing changes.
expect 1 "$DSRC" $C_NEW secret rotate "$A" "$B"
has "$tmp/err" "10-alpha.conf:6:"; has "$tmp/err" "left unchanged"
cmp -s "$A" "$tmp/alpha.before" && ok || bad "a failed rotation changed alpha"
has "$tmp/out" "20-beta.conf: 0 token(s) re-encrypted"
# New first, old second: rotate.
expect 0 "$DSRC" $C_BOTH secret rotate "$A" "$B"
has "$tmp/out" "10-alpha.conf: 2 token(s) re-encrypted with the first key, 0 already under it"
has "$tmp/out" "20-beta.conf: 0 token(s)"
cmp -s "$A" "$tmp/alpha.before" && bad "rotate did not change alpha" || ok
cmp -s "$B" "$tmp/beta.before" && ok || bad "rotate changed beta, which has no token"
layout "$tmp/alpha.before" >"$tmp/l1"; layout "$A" >"$tmp/l2"
cmp -s "$tmp/l1" "$tmp/l2" && ok || { bad "layout changed outside the tokens"; diff "$tmp/l1" "$tmp/l2"; }
[ "$(stat -c %a "$A")" = 640 ] && ok || bad "mode of alpha became $(stat -c %a "$A")"
ls -a "$tmp/conf/sources.d" | grep -q '^\.10-alpha' && bad "temporary file left behind" || ok
hasnt "$A" "$TOK1"; hasnt "$A" "$TOK2"
# Now the new key alone reads everything.
DSRC_TEST_BETA_PW=$PLAIN3 expect 0 "$DSRC" $C_NEW secret check; has "$tmp/out" "0 failed"
NT1=$(grep -o 'password = *"fernet:[^"]*"' "$A" | sed 's/.*"\(fernet:[^"]*\)"/\1/')
"$DSRC" $C_NEW secret decrypt --show-plaintext "$NT1" >"$tmp/plain" 2>/dev/null
[ "$(cat "$tmp/plain")" = "$PLAIN1" ] && ok || bad "rotated token does not decrypt to the value"
# Again: nothing to do, the file is left alone.
cp "$A" "$tmp/alpha.after"
expect 0 "$DSRC" $C_BOTH secret rotate "$A"; has "$tmp/out" "0 token(s) re-encrypted with the first key, 2 already under it"
cmp -s "$A" "$tmp/alpha.after" && ok || bad "a second rotation changed alpha"
# -k overrides key_file; a symlink is followed and stays a symlink.
cp "$tmp/alpha.before" "$tmp/gamma.conf"; ln -s "$tmp/gamma.conf" "$tmp/gamma.link"
expect 0 "$DSRC" $C_NEW secret rotate -k "$tmp/keys/both.key" "$tmp/gamma.link"
has "$tmp/out" "2 token(s) re-encrypted"
[ -L "$tmp/gamma.link" ] && ok || bad "the symlink was replaced"
expect 1 "$DSRC" $C_NEW secret rotate "$tmp/does-not-exist.conf"

# ---------------------------------------------------------------- no plaintext
for p in "$PLAIN1" "$PLAIN2" "$PLAIN3" "$PLAIN4" "$PLAIN5" "$OLD" "$NEW" tty-Secret-Value-9; do
    hasnt "$tmp/all" "$p"
done

finish "secret cli"
