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
# Queries: readonly=1 refuses writes, limit, timeout, parameters.
TESTS += plugins/clickhouse/tests/clickhouse_query.sh
check_PROGRAMS += plugins/clickhouse/tests/ch_query_tool
plugins_clickhouse_tests_ch_query_tool_SOURCES = plugins/clickhouse/tests/ch_query_tool.c
plugins_clickhouse_tests_ch_query_tool_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) \
	$(JANSSON_CFLAGS) $(CRYPTO_CFLAGS)
plugins_clickhouse_tests_ch_query_tool_LDADD = core/libdsrccore.la $(DCONV_LIBS)
endif
EXTRA_DIST += plugins/clickhouse/tests/fixture/clickhouse-fixture \
	plugins/clickhouse/tests/clickhouse_query.sh \
	plugins/clickhouse/tests/deps.apt plugins/clickhouse/tests/ch_start.sh \
	plugins/clickhouse/tests/clickhouse_conformance.sh \
	plugins/clickhouse/tests/clickhouse.sh bench/clickhouse/run
