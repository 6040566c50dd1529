# SPDX-License-Identifier: Apache-2.0
# plugins/clickhouse/tests/local.mk: clickhouse.so through the shared
# conformance suite and its own cases, against a ClickHouse server that
# plugins/clickhouse/tests/fixture/clickhouse-fixture starts (and stops)
# for the run.
if ENABLE_CLICKHOUSE
# dsrc conformance against a real server; its own cases (every type,
# hostile identifiers, errors, 1 M rows against clickhouse-client, cancel).
TESTS += plugins/clickhouse/tests/clickhouse_conformance.sh \
	plugins/clickhouse/tests/clickhouse.sh bench/clickhouse/run
endif
EXTRA_DIST += plugins/clickhouse/tests/fixture/clickhouse-fixture \
	plugins/clickhouse/tests/deps.apt plugins/clickhouse/tests/ch_start.sh \
	plugins/clickhouse/tests/clickhouse_conformance.sh \
	plugins/clickhouse/tests/clickhouse.sh bench/clickhouse/run
