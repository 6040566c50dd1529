#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dsrc conformance passes mongo.so against a real mongod named by
# DSRC_TEST_MONGO_URI (e.g. mongodb://user:pw@127.0.0.1:27017/?authSource=admin,
# a user that may create and drop a database), on a collection of 3000
# documents it creates in a database of its own and drops afterwards.
# Debian 12 ships no MongoDB server: without DSRC_TEST_MONGO_URI the test
# is skipped (77), saying so, as test_mongo_real is.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
if [ -z "${DSRC_TEST_MONGO_URI:-}" ]; then
    echo "SKIP: set DSRC_TEST_MONGO_URI=mongodb://... to run dsrc conformance against a real mongod"
    exit 77
fi
/usr/bin/python3 -c 'import pymongo' 2>/dev/null ||
    { echo "SKIP: python3-pymongo is needed to create the test collection"; exit 77; }
[ -f "$top_builddir/plugins/mongo/.libs/mongo.so" ] || { echo "mongo.so not built"; exit 99; }
lib_tmpdir dsrc-mgconf
db=dsrc_conformance_$$
mongo_py() { # mongo_py seed|drop
    /usr/bin/python3 - "$1" "$db" <<'EOP'
import os, sys, pymongo
client = pymongo.MongoClient(os.environ["DSRC_TEST_MONGO_URI"])
if sys.argv[1] == "drop":
    client.drop_database(sys.argv[2])
else:
    client[sys.argv[2]].orders.insert_many(
        [{"_id": i, "n": i * 10, "name": "row %d" % i} for i in range(1, 3001)])
    client[sys.argv[2]].events.insert_many([{"_id": i, "v": "e%d" % i} for i in range(1, 11)])
EOP
}
cleanup() { mongo_py drop >/dev/null 2>&1; }
mongo_py seed || { echo "seeding the test database failed"; exit 99; }
lib_conf "$top_builddir/plugins/mongo/.libs"
printf 'name = "mg";\ntype = "mongo";\nconnection = { uri = "env:DSRC_TEST_MONGO_URI"; };\n' \
    >"$tmp/conf/sources.d/mg.conf"
export DSRC_TEST_MONGO_URI
printf 'container = "%s";\nitem = "%s/orders";\ncursor_field = "_id";\n' "$db" "$db" >"$tmp/q"
# in dsrc's process, then in a worker process (isolation = "process")
for iso in none process; do
    expect 0 env DSRC_ISOLATION=$iso "$DSRC" -c "$tmp/conf/dsrcd.conf" conformance mg --quirks "$tmp/q"
    grep '^FAIL' "$tmp/out" && bad "a case failed ($iso)" || ok
    for c in open ping list_root list_container describe describe_missing fetch_full fetch_columns \
        fetch_limit fetch_unknown_column sink_stop errors reopen; do
        has "$tmp/out" "PASS $c"
    done
    conformance_isolation $iso
    hasnt "$tmp/out" "$DSRC_TEST_MONGO_URI"
done
finish mongo_conformance
