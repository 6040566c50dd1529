# SPDX-License-Identifier: Apache-2.0
# Tests: Check unit tests for core, the shared plugin conformance suite,
# and integration scripts.  Each part keeps its rules in its own fragment;
# each plugin's tests are in plugins/NAME/tests/local.mk, included by
# plugins/NAME/local.mk.
if HAVE_CHECK
UNIT_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBCONFIG_CFLAGS) $(JANSSON_CFLAGS) $(CRYPTO_CFLAGS)
UNIT_LIBS = core/libdsrccore.la $(CHECK_LIBS) $(DCONV_LIBS)
endif
include $(srcdir)/tests/unit/loader.mk
include $(srcdir)/tests/unit/config.mk
include $(srcdir)/tests/unit/output.mk
include $(srcdir)/tests/unit/store.mk
include $(srcdir)/tests/unit/cli.mk
include $(srcdir)/tests/unit/secret.mk
include $(srcdir)/tests/unit/pool.mk
include $(srcdir)/tests/unit/api.mk
include $(srcdir)/tests/unit/jobs.mk
include $(srcdir)/tests/unit/catalog.mk
include $(srcdir)/tests/unit/metrics.mk
include $(srcdir)/tests/unit/isolate.mk
include $(srcdir)/tests/unit/lazylib.mk
include $(srcdir)/tests/conformance/local.mk
include $(srcdir)/tests/integration/local.mk
# Sourced by the replica scripts of several plugins (postgres, mysql).
EXTRA_DIST += tests/fixtures/replica.sh tests/deps.npm
