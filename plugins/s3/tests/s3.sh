#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# s3.so against a real s3rver S3 emulator through the dsrc binary: the
# requests signed by the host (the plugin holds no key): test, ls of the
# buckets, of a bucket and of a prefix, ListObjectsV2 paged over 2 500
# objects (page_size 100: 25 pages, every key once, in order), describe
# (size, ETag, last modified, storage class, content type, user metadata),
# a fetch checked against the source and its ETag (MD5), a byte changed on
# the way caught by the ETag check, x-amz-checksum-sha256 shown and
# verified, path-style and
# virtual-host addressing; every request's SigV4 signature checked by
# botocore in a proxy (fixture/sigv4_proxy.py: s3rver checks none); wrong
# credentials from the environment, the cloud group and a shared
# credentials file's profile; wrong
# keys refused as auth (403 SignatureDoesNotMatch for a wrong secret,
# InvalidAccessKeyId for an unknown key id), a missing bucket and key as
# not found, the secret key in no output.  Skipped (77) without s3rver or
# botocore.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/plugins/s3/tests/fixture/s3rver.sh"
s3_test dsrc-s3
expect_timeout=120
C="-c $tmp/conf/dsrcd.conf"
py() { /usr/bin/python3 "$S3PY" "$@" || { echo "s3.py $* failed"; exit 99; }; }
py mb "$S3_ENDPOINT" data
py mb "$S3_ENDPOINT" many
printf 'hello s3\n' >"$tmp/a.txt"
head -c 3000000 /dev/urandom >"$tmp/big.bin"
py put "$S3_ENDPOINT" data a.txt "$tmp/a.txt" owner=alice team=data
py put "$S3_ENDPOINT" data dir1/b.bin "$tmp/big.bin"
py put "$S3_ENDPOINT" data "dir1/sp ace 100%.txt" "$tmp/a.txt"
py put "$S3_ENDPOINT" data corrupt-me.bin "$tmp/big.bin"
py put "$S3_ENDPOINT" data sum-ok.bin "$tmp/big.bin"
py put "$S3_ENDPOINT" data sum-bad.bin "$tmp/big.bin"
py many "$S3_ENDPOINT" many k 2500
s3_checked
s3_conf "page_size = 100; range_size = 1048576;"

expect 0 "$DSRC" $C test s3
expect 0 "$DSRC" $C check-config
expect 0 "$DSRC" $C --json ls s3
jcheck "$tmp/out" 'sorted(i["path"] for i in d) == ["data", "many"] and all(i["kind"] == "container" for i in d)'
expect 0 "$DSRC" $C --json ls s3 data
jcheck "$tmp/out" 'sorted((i["path"], i["kind"]) for i in d) == [("data/a.txt", "blob"), ("data/corrupt-me.bin", "blob"), ("data/dir1", "directory"), ("data/sum-bad.bin", "blob"), ("data/sum-ok.bin", "blob")]'
expect 0 "$DSRC" $C --json ls s3 data/dir1/
jcheck "$tmp/out" 'sorted(i["path"] for i in d) == ["data/dir1/b.bin", "data/dir1/sp ace 100%25.txt"] and [i["size_bytes"] for i in d if i["name"] == "b.bin"] == [3000000]'

# paging: 2 500 keys in pages of 100, each once, in key order
expect 0 "$DSRC" $C --json ls s3 many
jcheck "$tmp/out" '[i["name"] for i in d] == ["k%05d" % n for n in range(2500)]'

# describe: the properties and the user metadata
expect 0 "$DSRC" $C --json describe s3 data/a.txt
md5=$(md5sum "$tmp/a.txt" | cut -d' ' -f1)
jcheck "$tmp/out" '(lambda p: p["size"] == "9" and p["etag"] == "\"'"$md5"'\"" and p["meta.owner"] == "alice" and p["meta.team"] == "data" and p["content_type"] == "application/octet-stream" and p["storage_class"] == "STANDARD" and p["last_modified"].endswith("Z"))(d["properties"])'
expect 0 "$DSRC" $C --json describe s3 data; has "$tmp/out" '"kind": "container"'

# fetch: three ranges of 1 MiB, byte-identical, ETag verified
expect 0 "$DSRC" $C fetch s3 data/dir1/b.bin --format raw -o "$tmp/got.bin"
cmp -s "$tmp/big.bin" "$tmp/got.bin" && ok || bad "fetched bytes differ"
expect 0 "$DSRC" $C fetch s3 "data/dir1/sp ace 100%25.txt" --format raw -o -; has "$tmp/out" "hello s3"
# a byte changed on the way (the proxy flips the first byte of each range of
# corrupt-me.bin): the ETag's MD5 catches it, no file is left; verify =
# false takes the bytes as they come
expect 1 "$DSRC" $C fetch s3 data/corrupt-me.bin --format raw -o "$tmp/bad.bin"
has "$tmp/err" "ETag mismatch"
ls "$tmp"/bad.bin* >/dev/null 2>&1 && bad "a corrupt file was kept" || ok
s3_conf "range_size = 1048576; verify = false;"
expect 0 "$DSRC" $C fetch s3 data/corrupt-me.bin --format raw -o "$tmp/bad.bin"
cmp -s "$tmp/big.bin" "$tmp/bad.bin" && bad "the proxy did not corrupt" || ok
s3_conf "page_size = 100; range_size = 1048576;"
# x-amz-checksum-sha256 (the proxy adds it to HEAD: s3rver keeps none):
# shown by describe, verified by fetch
expect 0 "$DSRC" $C --json describe s3 data/sum-ok.bin
sum=$(/usr/bin/python3 -c 'import base64,hashlib,sys; print(base64.b64encode(hashlib.sha256(open(sys.argv[1],"rb").read()).digest()).decode())' "$tmp/big.bin")
jcheck "$tmp/out" 'd["properties"]["checksum_sha256"] == "'"$sum"'"'
expect 0 "$DSRC" $C fetch s3 data/sum-ok.bin --format raw -o "$tmp/sum.bin"
cmp -s "$tmp/big.bin" "$tmp/sum.bin" && ok || bad "sum-ok.bin differs"
expect 1 "$DSRC" $C fetch s3 data/sum-bad.bin --format raw -o "$tmp/sumbad.bin"
has "$tmp/err" "x-amz-checksum-sha256 mismatch"

# virtual-host addressing: the bucket in the host name
# (data.s3.localhost:PORT, which s3rver maps to the bucket), signed so
s3_conf "addressing = \"virtual\";"
sed -i "s|127.0.0.1|s3.localhost|" "$tmp/conf/sources.d/s3.conf"
expect 0 "$DSRC" $C fetch s3 data/a.txt --format raw -o -; has "$tmp/out" "hello s3"
expect 0 "$DSRC" $C --json ls s3 data/dir1/
jcheck "$tmp/out" 'len(d) == 2'
grep -q '^ok GET /a.txt' "$tmp/sigv4.log" && ok || bad "no virtual-host request: $(tail -3 "$tmp/sigv4.log")"

# not found: a missing bucket, a missing key
s3_conf
expect 1 "$DSRC" $C --json ls s3 nosuchbucket; has "$tmp/out" '"status": "not-found"'; has "$tmp/out" "NoSuchBucket"
expect 1 "$DSRC" $C describe s3 data/nope.txt; has "$tmp/err" "404"
expect 1 "$DSRC" $C fetch s3 data/nope.txt --format raw -o "$tmp/nope"; has "$tmp/err" "404"

# every request so far was signed right (botocore agrees), continuation
# tokens, keys with spaces and '%', ranges and If-Match included
grep -q '^bad' "$tmp/sigv4.log" && bad "wrongly signed: $(grep '^bad' "$tmp/sigv4.log" | head -3)" || ok
grep -q 'continuation-token=' "$tmp/sigv4.log" && ok || bad "no paged listing went through the proxy"

# wrong keys: auth, not retryable, no key anywhere: a wrong secret is 403
# SignatureDoesNotMatch (from the checking proxy), an unknown key id 403
# InvalidAccessKeyId (from s3rver)
expect 1 env AWS_SECRET_ACCESS_KEY=wrong-secret-k3y "$DSRC" $C --json test s3
has "$tmp/out" '"status": "auth"'; has "$tmp/out" "SignatureDoesNotMatch"; has "$tmp/out" '"retryable": false'
hasnt "$tmp/out" "wrong-secret-k3y"; hasnt "$tmp/err" "wrong-secret-k3y"
grep -q '^bad' "$tmp/sigv4.log" && ok || bad "the wrong secret was not refused by the proxy"
s3_unchecked
s3_conf
expect 1 env AWS_ACCESS_KEY_ID=NOSUCHKEYID "$DSRC" $C --json test s3
has "$tmp/out" '"status": "auth"'; has "$tmp/out" "InvalidAccessKeyId"
expect 1 env AWS_ACCESS_KEY_ID=NOSUCHKEYID "$DSRC" $C fetch s3 data/a.txt --format raw -o -
has "$tmp/err" "InvalidAccessKeyId"
# the other places the host finds credentials, each signature checked:
# the cloud group's keys (a secret reference), and a profile of the shared
# credentials file (with nothing in the environment)
s3_checked
cat >"$tmp/conf/sources.d/s3.conf" <<EOF2
name = "s3";
type = "s3";
connection = { endpoint = "$S3_SOURCE_ENDPOINT"; };
cloud = { provider = "aws"; region = "us-east-1"; access_key_id = "$S3_KEY_ID";
          secret_access_key = "env:GROUP_SECRET"; };
EOF2
expect 0 env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY GROUP_SECRET="$S3_SECRET" \
    "$DSRC" $C fetch s3 data/a.txt --format raw -o -
has "$tmp/out" "hello s3"
printf '[other]\naws_access_key_id = X\naws_secret_access_key = Y\n[s3test]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
    "$S3_KEY_ID" "$S3_SECRET" >"$tmp/credentials"
chmod 600 "$tmp/credentials"
cat >"$tmp/conf/sources.d/s3.conf" <<EOF2
name = "s3";
type = "s3";
connection = { endpoint = "$S3_SOURCE_ENDPOINT"; };
cloud = { provider = "aws"; region = "us-east-1"; profile = "s3test"; };
EOF2
expect 0 env AWS_ACCESS_KEY_ID=WRONG AWS_SECRET_ACCESS_KEY=WRONG \
    AWS_SHARED_CREDENTIALS_FILE="$tmp/credentials" "$DSRC" $C fetch s3 data/a.txt --format raw -o -
has "$tmp/out" "hello s3"
[ "$(grep -c '^bad' "$tmp/sigv4.log")" -eq 0 ] && ok || bad "wrongly signed: $(grep '^bad' "$tmp/sigv4.log")"
s3_unchecked
s3_conf

# no credentials at all: the host says so, naming where it looked
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$DSRC" $C --json test s3 >"$tmp/out" 2>"$tmp/err"
[ $? -ne 0 ] && ok || bad "no credentials: test succeeded"
has "$tmp/out" "no AWS credentials found"
hasnt "$tmp/out" "$S3_SECRET:"

# a cloud source is never sent in plain text: an http:// endpoint is refused
# by check-config and before any request
cat >"$tmp/conf/sources.d/s3.conf" <<EOF2
name = "s3";
type = "s3";
location = "cloud";
connection = { endpoint = "$S3_ENDPOINT"; };
cloud = { provider = "aws"; region = "us-east-1"; };
EOF2
expect 78 "$DSRC" $C check-config
has "$tmp/err" "option 'endpoint' is a plain http:// URL, not allowed for a cloud source"
expect 78 "$DSRC" $C test s3
has "$tmp/err" "use https://"
s3_conf
finish s3
