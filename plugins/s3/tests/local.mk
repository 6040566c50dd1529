# SPDX-License-Identifier: Apache-2.0
# s3.so against a real s3rver emulator started by the fixture
# (plugins/s3/tests/fixture/s3rver.sh; skipped when s3rver is not on PATH):
# listings, paging, describe, fetch and errors (s3.sh).
if ENABLE_S3
TESTS += plugins/s3/tests/s3.sh
endif
EXTRA_DIST += plugins/s3/tests/s3.sh plugins/s3/tests/deps.npm \
	plugins/s3/tests/fixture/s3rver.sh plugins/s3/tests/fixture/s3.py
