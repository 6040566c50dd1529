# Tests: Check unit tests for core, the shared plugin conformance suite,
# and integration scripts.  Each part keeps its rules in its own fragment.
if HAVE_CHECK
UNIT_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBCONFIG_CFLAGS) $(JANSSON_CFLAGS) $(CRYPTO_CFLAGS)
UNIT_LIBS = core/libdsrccore.la $(CHECK_LIBS)
endif
include $(srcdir)/tests/unit/loader.mk
include $(srcdir)/tests/unit/config.mk
include $(srcdir)/tests/unit/output.mk
include $(srcdir)/tests/unit/cli.mk
include $(srcdir)/tests/unit/secret.mk
include $(srcdir)/tests/unit/pool.mk
include $(srcdir)/tests/unit/api.mk
include $(srcdir)/tests/conformance/local.mk
include $(srcdir)/tests/conformance/mongo.mk
include $(srcdir)/tests/conformance/azure_blob.mk
include $(srcdir)/tests/conformance/postgres.mk
include $(srcdir)/tests/conformance/mysql.mk
include $(srcdir)/tests/integration/local.mk
