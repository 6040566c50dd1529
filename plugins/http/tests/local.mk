# SPDX-License-Identifier: Apache-2.0
# http.so against json-server (npm) and a small Python stand-in for what
# json-server cannot do (cursor tokens, 429 storms, 500s, bearer tokens,
# malformed JSON), both on loopback: plugins/http/tests/http.sh; dsrc
# conformance: plugins/http/tests/http_conformance.sh.  Skipped (77) when
# json-server is not on PATH.
if ENABLE_HTTP
TESTS += plugins/http/tests/http.sh plugins/http/tests/http_conformance.sh
endif
EXTRA_DIST += plugins/http/tests/http.sh plugins/http/tests/http_conformance.sh \
	plugins/http/tests/deps.npm plugins/http/tests/fixture/jsonserver.sh \
	plugins/http/tests/fixture/api.py
