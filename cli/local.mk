# SPDX-License-Identifier: Apache-2.0
# cli: `dsrc`, the command line (dsrc(1)), built on the core library.
bin_PROGRAMS += dsrc
dsrc_SOURCES = cli/dsrc.c \
	cli/cli.c cli/cli.h \
	cli/cli_abi.c \
	cli/cli_audit.c \
	cli/cli_browse.c \
	cli/cli_cancel.c \
	cli/cli_catalog.c \
	cli/cli_config.c \
	cli/cli_conformance.c \
	cli/cli_daemon.c \
	cli/cli_fetch.c \
	cli/cli_plugins.c \
	cli/cli_query.c \
	cli/cli_runs.c \
	cli/cli_secret.c cli/cli_secret.h \
	cli/cli_source.c \
	cli/table.c cli/table.h
dsrc_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CRYPTO_CFLAGS)
dsrc_LDADD = core/libdsrccore.la $(JANSSON_LIBS) $(DCONV_LIBS)

# bash completion: commands, options, source names, item paths.
bashcompletiondir = $(datadir)/bash-completion/completions
dist_bashcompletion_DATA = cli/completion/dsrc

# dsrc with the cloud identities' clock fixed at $DSRC_TEST_CLOCK (seconds
# since the epoch, optionally "+" to let it run on from there), for the
# tests whose servers expect a token made at a known time.  Never installed.
check_PROGRAMS += tests/fixtures/dsrc_fixed_clock
tests_fixtures_dsrc_fixed_clock_SOURCES = $(dsrc_SOURCES) tests/fixtures/fixed_clock.c
tests_fixtures_dsrc_fixed_clock_CFLAGS = $(dsrc_CFLAGS)
tests_fixtures_dsrc_fixed_clock_LDADD = $(dsrc_LDADD)
