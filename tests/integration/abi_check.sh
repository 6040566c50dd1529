#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# dsrc abi-check, the ABI checker of the plugin kit, on the test plugins:
# clean ones pass for their own minor (and the 1.0 plugin for 1.1), a
# plugin that declares 1.0 but sets 1.1 members, one whose option limits
# are malformed and ones with broken drivers or option tables fail with a
# message naming each fault; bad use is a usage error, a file that is no
# plugin a clear failure.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
. "$top_srcdir/tests/lib.sh"
DSRC="$top_builddir/dsrc"
F="$top_builddir/tests/fixtures/plugins/.libs"
lib_tmpdir dsrc-abicheck
expect_timeout=60

# clean plugins: their own minor, and a 1.0 plugin on 1.1 to 1.5 hosts
expect 0 "$DSRC" abi-check "$F/good.so"
has "$tmp/out" "built for dsrc plugin ABI 1.5"
has "$tmp/out" "good.so: ok for ABI 1.5"
expect 0 "$DSRC" abi-check "$F/v10.so"
has "$tmp/out" "built for dsrc plugin ABI 1.0"
has "$tmp/out" "v10.so: ok for ABI 1.0"
expect 0 "$DSRC" abi-check --target 1.1 "$F/v10.so"
expect 0 "$DSRC" abi-check --target 1.2 "$F/v10.so"
expect 0 "$DSRC" abi-check --target 1.3 "$F/v10.so"
expect 0 "$DSRC" abi-check --target 1.4 "$F/v10.so"
expect 0 "$DSRC" abi-check --target 1.5 "$F/v10.so"
expect 0 "$DSRC" abi-check "$F/fk11.so" --target 1.5

# declares 1.0, sets 1.1 members: each fault named
expect 1 "$DSRC" abi-check "$F/lies10.so"
has "$tmp/out" "built for dsrc plugin ABI 1.0"
has "$tmp/out" "set driver member 'option_limits', which ABI 1.0 does not have"
has "$tmp/out" "set driver member 'validate', which ABI 1.0 does not have"
has "$tmp/out" "sizeof(dsrc_driver) = "
has "$tmp/err" "lies10.so: 5 problem(s) for ABI 1.0"
# a plugin of the live header (1.5) checked for 1.0 to 1.4 hosts
expect 1 "$DSRC" abi-check --target 1.0 "$F/fk11.so"
has "$tmp/out" "declares ABI 1.5, above the target 1.0"
expect 1 "$DSRC" abi-check --target 1.1 "$F/fk11.so"
has "$tmp/out" "declares ABI 1.5, above the target 1.1"
expect 1 "$DSRC" abi-check --target 1.2 "$F/fk11.so"
has "$tmp/out" "declares ABI 1.5, above the target 1.2"
expect 1 "$DSRC" abi-check --target 1.3 "$F/fk11.so"
has "$tmp/out" "declares ABI 1.5, above the target 1.3"
expect 1 "$DSRC" abi-check --target 1.4 "$F/fk11.so"
has "$tmp/out" "declares ABI 1.5, above the target 1.4"
# a plugin with query() (1.4): clean for 1.5; for 1.3 its capability is
# one the target does not have
SQ="$top_builddir/plugins/sqlite/.libs/sqlite.so"
if [ -f "$SQ" ]; then
    expect 0 "$DSRC" abi-check "$SQ"
    has "$tmp/out" "sqlite.so: ok for ABI 1.5"
    expect 1 "$DSRC" abi-check --target 1.3 "$SQ"
    has "$tmp/out" "declares DSRC_CAP_QUERY, which ABI 1.3 does not have"
    hasnt "$tmp/out" "set driver member 'query'"
fi
# malformed option limits and tables
expect 1 "$DSRC" abi-check "$F/badlimits.so"
has "$tmp/out" "names option 'nosuch', which the option table does not have"
has "$tmp/out" "option 'port': min 10 is above max 1"
has "$tmp/out" "option 'port': a pattern on an option of type int"
has "$tmp/out" "option 'port': reserved members are not zero"
expect 1 "$DSRC" abi-check "$F/dupoption.so";     has "$tmp/out" "option 'path' is declared twice"
expect 1 "$DSRC" abi-check "$F/nochoices.so";     has "$tmp/out" "option 'mode' is an enum without choices"
expect 1 "$DSRC" abi-check "$F/badoptionname.so"; has "$tmp/out" "option 'Bad Name': the name is not lower_snake_case"
expect 1 "$DSRC" abi-check "$F/nofetch.so";       has "$tmp/out" "required member 'fetch' is missing"
expect 1 "$DSRC" abi-check "$F/capsonly.so";      has "$tmp/out" "declares DSRC_CAP_DISCOVER but has no discover()"
expect 1 "$DSRC" abi-check "$F/wrongname.so";     has "$tmp/out" "but the file is wrongname.so"
expect 1 "$DSRC" abi-check "$F/initfail.so";      has "$tmp/out" "dsrc_plugin_init() refused a host of ABI 1."

# --json: one document, the problems listed, the error object on failure
expect 1 "$DSRC" --json abi-check "$F/lies10.so"
jcheck "$tmp/out" 'd["built_for"] == "1.0" and d["target"] == "1.0" and not d["ok"] and len(d["problems"]) == 5 and d["error"]["exit"] == 1'
expect 0 "$DSRC" abi-check --json "$F/good.so"
jcheck "$tmp/out" 'd["ok"] and d["problems"] == [] and d["name"] == "good" and "error" not in d'

# not a plugin, not a file, bad use
expect 1 "$DSRC" abi-check "$F/noabi.so";  has "$tmp/err" "no dsrc_plugin_abi symbol"
expect 1 "$DSRC" abi-check "$F/abi2.so";   has "$tmp/err" "built for dsrc plugin ABI 2.0"
expect 1 "$DSRC" abi-check "$tmp/nosuch.so"; has "$tmp/err" "cannot load"
expect 2 "$DSRC" abi-check --target 1.7 "$F/good.so"; has "$tmp/err" "--target must be 1.0, 1.1, 1.2, 1.3, 1.4 or 1.5"
expect 2 "$DSRC" abi-check
finish abi_check
