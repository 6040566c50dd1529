# SPDX-License-Identifier: Apache-2.0
# tests/unit/api.mk -- dsrcd's control API (routes, errors, roles, the HTTP
# server on a socket and its client) and its end-to-end use by dsrc pools /
# health.
TESTS += tests/integration/pools.sh
EXTRA_DIST += tests/integration/pools.sh
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_api
TESTS += tests/unit/test_api
tests_unit_test_api_SOURCES = tests/unit/test_api.c
tests_unit_test_api_CFLAGS = $(UNIT_CFLAGS) $(CURL_CFLAGS)
tests_unit_test_api_LDADD = $(UNIT_LIBS) $(JANSSON_LIBS) $(CURL_LIBS) -lpthread
endif

# The OpenAPI document: redocly lint, the same routes as the table
# (api_routes_tool prints it), served by dsrcd byte for byte.
check_PROGRAMS += tests/unit/api_routes_tool
tests_unit_api_routes_tool_SOURCES = tests/unit/api_routes_tool.c
tests_unit_api_routes_tool_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_api_routes_tool_LDADD = core/libdsrccore.la $(JANSSON_LIBS) $(DCONV_LIBS)
TESTS += tests/integration/openapi.sh
EXTRA_DIST += tests/integration/openapi.sh redocly.yaml
