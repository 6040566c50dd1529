# core: the host, built once as an internal library that dsrcd, dsrc and
# the tests all link.
noinst_LTLIBRARIES += core/libdsrccore.la
core_libdsrccore_la_SOURCES = \
	core/error.c core/error.h \
	core/redact.c core/redact.h \
	core/log.c core/log.h \
	core/diag.c core/diag.h \
	core/ctx.c core/ctx.h \
	core/loader.c core/loader.h \
	core/config.c core/config.h \
	core/schedule.c core/schedule.h \
	core/registry.c core/registry.h \
	core/source.c core/source.h \
	core/format.c core/format.h \
	core/outfile.c core/outfile.h \
	core/manifest.c core/manifest.h \
	core/state.c core/state.h \
	core/fetch.c core/fetch.h \
	core/table.c core/table.h \
	core/cli.c core/cli.h \
	core/daemon.c core/daemon.h \
	core/instance.c core/instance.h
core_libdsrccore_la_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) $(JANSSON_CFLAGS) \
	$(CRYPTO_CFLAGS) $(SYSTEMD_CFLAGS)
core_libdsrccore_la_LIBADD = $(LIBCONFIG_LIBS) $(JANSSON_LIBS) $(CRYPTO_LIBS) \
	$(SYSTEMD_LIBS) $(LTDL_LIBS) -lpthread -lm

bin_PROGRAMS += dsrc
dsrc_SOURCES = core/dsrc.c
dsrc_LDADD = core/libdsrccore.la

sbin_PROGRAMS += dsrcd
dsrcd_SOURCES = core/dsrcd.c
dsrcd_LDADD = core/libdsrccore.la

# Credentials: Fernet, keys, secret values, `dsrc secret`.
core_libdsrccore_la_SOURCES += core/fernet.c core/fernet.h core/keyring.c core/keyring.h \
	core/secret.c core/secret.h core/cli_secret.c core/cli_secret.h \
	core/secmem.c core/secmem.h

# Connection pools, circuit breakers, endpoint routing and source health.
core_libdsrccore_la_SOURCES += core/pool.c core/pool.h core/breaker.c core/breaker.h \
	core/router.c core/router.h core/health.c core/health.h

# The control API: dsrcd's socket and its client.
core_libdsrccore_la_SOURCES += core/api.c core/api.h
