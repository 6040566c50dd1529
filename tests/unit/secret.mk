# SPDX-License-Identifier: Apache-2.0
# tests/unit/secret.mk -- Fernet (the spec's vectors), keys, secret values,
# interoperability with Python's cryptography, and `dsrc secret`.

EXTRA_DIST += tests/integration/fernet_interop.sh tests/integration/secret_cli.sh

# fernet_tool: encrypts or decrypts standard input with the keys of
# $DSRC_KEY; used only by tests/integration/fernet_interop.sh.
check_PROGRAMS += tests/unit/fernet_tool
tests_unit_fernet_tool_SOURCES = tests/unit/fernet_tool.c
tests_unit_fernet_tool_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS)
tests_unit_fernet_tool_LDADD = core/libdsrccore.la $(CRYPTO_LIBS) $(DCONV_LIBS)
TESTS += tests/integration/fernet_interop.sh tests/integration/secret_cli.sh

if HAVE_CHECK
check_PROGRAMS += tests/unit/test_fernet tests/unit/test_secret
TESTS += tests/unit/test_fernet tests/unit/test_secret

# The spec's vectors (a copy of the official ones in tests/fixtures/fernet):
# $DSRC_FERNET_VECTORS, else $top_srcdir/tests/fixtures/fernet (top_srcdir is
# set by AM_TESTS_ENVIRONMENT), else the source tree's copy.
tests_unit_test_fernet_SOURCES = tests/unit/test_fernet.c
tests_unit_test_fernet_CFLAGS = $(UNIT_CFLAGS) \
	-DFERNET_VECTORS_DIR='"$(abs_top_srcdir)/tests/fixtures/fernet"'
tests_unit_test_fernet_LDADD = $(UNIT_LIBS) $(JANSSON_LIBS) $(CRYPTO_LIBS)

# sigv4_tool: the host's RDS IAM token for its arguments; rds_token.sh
# compares it with botocore's (tests/fixtures/rds_token.py).
check_PROGRAMS += tests/unit/sigv4_tool
tests_unit_sigv4_tool_SOURCES = tests/unit/sigv4_tool.c
tests_unit_sigv4_tool_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS)
tests_unit_sigv4_tool_LDADD = core/libdsrccore.la $(CRYPTO_LIBS) $(DCONV_LIBS)
TESTS += tests/integration/rds_token.sh
# aws_withheld.sh: the cloud group's AWS secrets never reach a plugin.
TESTS += tests/integration/aws_withheld.sh
EXTRA_DIST += tests/integration/aws_withheld.sh
EXTRA_DIST += tests/integration/rds_token.sh tests/fixtures/rds_token.py \
	tests/fixtures/aws_standin.py

# AWS SigV4 against AWS's published test suite (tests/fixtures/sigv4), directly
# and through the host service dsrc_host.aws_sign (ABI 1.2).
check_PROGRAMS += tests/unit/test_sigv4
TESTS += tests/unit/test_sigv4
tests_unit_test_sigv4_SOURCES = tests/unit/test_sigv4.c
tests_unit_test_sigv4_CFLAGS = $(UNIT_CFLAGS) -DSIGV4_VECTORS_TOP='"$(abs_top_srcdir)"'
tests_unit_test_sigv4_LDADD = $(UNIT_LIBS) $(CRYPTO_LIBS)

# The cloud identities' cache and refresh, with an injected clock.
check_PROGRAMS += tests/unit/test_identity
TESTS += tests/unit/test_identity
tests_unit_test_identity_SOURCES = tests/unit/test_identity.c
tests_unit_test_identity_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_identity_LDADD = $(UNIT_LIBS) $(CRYPTO_LIBS) -lpthread

# The gcp identity's service-account JWT against a token endpoint on a
# thread that verifies its signature; bad key files refused.
check_PROGRAMS += tests/unit/test_identity_gcp
TESTS += tests/unit/test_identity_gcp
tests_unit_test_identity_gcp_SOURCES = tests/unit/test_identity_gcp.c
tests_unit_test_identity_gcp_CFLAGS = $(UNIT_CFLAGS) $(JANSSON_CFLAGS) $(CRYPTO_CFLAGS)
tests_unit_test_identity_gcp_LDADD = $(UNIT_LIBS) $(JANSSON_LIBS) $(CRYPTO_LIBS) -lpthread

# The AWS provider's temporary credentials (IMDSv2, STS AssumeRole) and
# their cache, against the loopback stand-ins of tests/fixtures/aws_standin.py.
check_PROGRAMS += tests/unit/test_identity_aws
TESTS += tests/unit/test_identity_aws
tests_unit_test_identity_aws_SOURCES = tests/unit/test_identity_aws.c
tests_unit_test_identity_aws_CFLAGS = $(UNIT_CFLAGS) -DTOP_SRCDIR='"$(abs_top_srcdir)"'
tests_unit_test_identity_aws_LDADD = $(UNIT_LIBS) $(CRYPTO_LIBS) -lpthread
# The azure provider against a loopback Entra ID / IMDS stand-in.
check_PROGRAMS += tests/unit/test_identity_azure
TESTS += tests/unit/test_identity_azure
tests_unit_test_identity_azure_SOURCES = tests/unit/test_identity_azure.c
tests_unit_test_identity_azure_CFLAGS = $(UNIT_CFLAGS) -DTOP_SRCDIR='"$(abs_top_srcdir)"'
tests_unit_test_identity_azure_LDADD = $(UNIT_LIBS) $(CRYPTO_LIBS)

tests_unit_test_secret_SOURCES = tests/unit/test_secret.c
tests_unit_test_secret_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_secret_LDADD = $(UNIT_LIBS) $(CRYPTO_LIBS)
endif

# Redaction: every command against a plugin that echoes its secrets.
if HAVE_CHECK
check_LTLIBRARIES += tests/fixtures/plugins/leaky.la
tests_fixtures_plugins_leaky_la_SOURCES = tests/fixtures/plugins/leaky/leaky.c
tests_fixtures_plugins_leaky_la_CPPFLAGS = -I$(top_srcdir)/sdk
tests_fixtures_plugins_leaky_la_LDFLAGS = $(PLUGIN_LDFLAGS) -rpath /nowhere
endif
TESTS += tests/integration/redaction.sh
EXTRA_DIST += tests/integration/redaction.sh
EXTRA_DIST += tests/fixtures/fernet/generate.json tests/fixtures/fernet/verify.json \
	tests/fixtures/fernet/invalid.json
# The SigV4 test suite's cases used by test_sigv4 (origin in its README).
EXTRA_DIST += tests/fixtures/sigv4/README \
	tests/fixtures/sigv4/get-vanilla-query-order-key-case.authz \
	tests/fixtures/sigv4/get-vanilla-query-order-key-case.req \
	tests/fixtures/sigv4/get-vanilla-query-order-key.authz \
	tests/fixtures/sigv4/get-vanilla-query-order-key.creq \
	tests/fixtures/sigv4/get-vanilla-query-order-key.req \
	tests/fixtures/sigv4/get-vanilla-query-order-key.sts \
	tests/fixtures/sigv4/get-vanilla-query-unreserved.authz \
	tests/fixtures/sigv4/get-vanilla-query-unreserved.req \
	tests/fixtures/sigv4/get-vanilla.authz \
	tests/fixtures/sigv4/get-vanilla.req \
	tests/fixtures/sigv4/post-header-key-sort.authz \
	tests/fixtures/sigv4/post-header-key-sort.req \
	tests/fixtures/sigv4/post-sts-header-before.authz \
	tests/fixtures/sigv4/post-sts-header-before.req \
	tests/fixtures/sigv4/post-vanilla.authz \
	tests/fixtures/sigv4/post-vanilla.req \
	tests/fixtures/sigv4/post-x-www-form-urlencoded.authz \
	tests/fixtures/sigv4/post-x-www-form-urlencoded.creq \
	tests/fixtures/sigv4/post-x-www-form-urlencoded.req \
	tests/fixtures/sigv4/post-x-www-form-urlencoded.sts
