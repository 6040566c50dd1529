# SPDX-License-Identifier: Apache-2.0
# core: the host, built once as an internal library that dsrcd, dsrc and
# the tests all link.  It links only what every run needs: libcurl, expat,
# libseccomp and libcrypto are opened on first use (base/lazylib.c,
# base/lazycrypto.c), and libsystemd
# is linked by dsrcd alone (it hands sd_journal_sendv to base/log.c), so
# that dsrc starts without loading them.  One subfolder per responsibility; headers are
# included with their folder ("output/fetch.h") from -I$(top_srcdir)/core.
noinst_LTLIBRARIES += core/libdsrccore.la
core_libdsrccore_la_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) $(JANSSON_CFLAGS) \
	$(CRYPTO_CFLAGS) $(SYSTEMD_CFLAGS) $(STORE_SQLITE_CFLAGS) $(MHD_CFLAGS) $(CURL_CFLAGS) \
	$(SECCOMP_CFLAGS) $(EXPAT_CFLAGS) $(STORE_PQ_CFLAGS)
core_libdsrccore_la_LIBADD = $(LIBCONFIG_LIBS) $(JANSSON_LIBS) \
	$(STORE_SQLITE_LIBS) $(MHD_LIBS) $(LTDL_LIBS) -lpthread -lm
# The double-conversion archive (DCONV_LIBS) cannot go into this convenience
# library: every program linking it adds $(DCONV_LIBS) after it.
core_libdsrccore_la_CXXFLAGS = $(WARN_CFLAGS) -fno-exceptions -fno-rtti $(DCONV_CFLAGS)

# base: errors, logging, redaction, diagnostics, cancellation contexts,
# the Prometheus text format, the libraries loaded on first use.
core_libdsrccore_la_SOURCES = \
	core/base/error.c core/base/error.h \
	core/base/redact.c core/base/redact.h \
	core/base/log.c core/base/log.h \
	core/base/diag.c core/base/diag.h \
	core/base/ctx.c core/base/ctx.h \
	core/base/prom.c core/base/prom.h \
	core/base/nearest.c core/base/nearest.h \
	core/base/fdlimit.c core/base/fdlimit.h \
	core/base/lazylib.c core/base/lazylib.h \
	core/base/lazycrypto.c

# plugin: loading plugins, the registry of sources, one source's connection,
# a source as a JSON document and changing its file at run time.
core_libdsrccore_la_SOURCES += \
	core/plugin/conform.c core/plugin/conform.h \
	core/plugin/loader.c core/plugin/loader.h \
	core/plugin/registry.c core/plugin/registry.h \
	core/plugin/source.c core/plugin/source.h \
	core/plugin/contract.c core/plugin/contract.h \
	core/plugin/srcdoc.c core/plugin/srcdoc.h \
	core/plugin/srcedit.c core/plugin/srcedit.h

# config: the configuration file and schedules.
core_libdsrccore_la_SOURCES += \
	core/config/config.c core/config/config.h \
	core/config/schedule.c core/config/schedule.h

# output: fetching into formats, files, manifests and incremental state.
core_libdsrccore_la_SOURCES += \
	core/output/format.c core/output/format.h \
	core/output/dtoa.cc core/output/dtoa.h \
	core/output/outfile.c core/output/outfile.h \
	core/output/manifest.c core/output/manifest.h \
	core/output/state.c core/output/state.h \
	core/output/mask.c core/output/mask.h \
	core/output/fetch.c core/output/fetch.h

# store: the state store (SQLite): cursors and runs; the audit trail and
# the API's tokens.
core_libdsrccore_la_SOURCES += \
	core/store/db.c core/store/db.h core/store/db_int.h \
	core/store/db_sqlite.c core/store/db_pg.c \
	core/store/store.c core/store/store.h \
	core/store/audit.c core/store/audit.h core/store/node.c \
	core/store/query.c core/store/query.h \
	core/store/token.c core/store/token.h

# catalog: items in normal form, schema hashes and diffs (catalog), the
# snapshots and drift events kept in the state store (snapshot, drift),
# a stored catalog as JSON (view).
core_libdsrccore_la_SOURCES += \
	core/catalog/catalog.c core/catalog/catalog.h \
	core/catalog/snapshot.c core/catalog/snapshot.h \
	core/catalog/discovery.c core/catalog/discovery.h \
	core/catalog/drift.c core/catalog/drift.h \
	core/catalog/meta_json.c core/catalog/meta_json.h \
	core/catalog/view.c core/catalog/view.h

# secret: Fernet, keys, secret values, memory that holds them, AWS SigV4,
# cloud identities (tokens the host makes for a source).
core_libdsrccore_la_SOURCES += \
	core/secret/fernet.c core/secret/fernet.h \
	core/secret/keyring.c core/secret/keyring.h \
	core/secret/secret.c core/secret/secret.h \
	core/secret/secmem.c core/secret/secmem.h \
	core/secret/sigv4.c core/secret/sigv4.h \
	core/secret/identity.c core/secret/identity.h core/secret/identity_int.h \
	core/secret/identity_aws.c core/secret/identity_azure.c core/secret/identity_gcp.c \
	core/secret/cloud_http.c core/secret/cloud_http.h

# conn: connection pools, circuit breakers, endpoint routing, source health.
core_libdsrccore_la_SOURCES += \
	core/conn/pool.c core/conn/pool.h \
	core/conn/tlswatch.c core/conn/tlswatch.h \
	core/conn/breaker.c core/conn/breaker.h \
	core/conn/router.c core/conn/router.h \
	core/conn/health.c core/conn/health.h

# jobs: the scheduler's parts -- timing arithmetic (plan), bounded worker
# threads (workers), the job table (jobs).  Depends on config/schedule and
# base only.
core_libdsrccore_la_SOURCES += \
	core/jobs/plan.c core/jobs/plan.h \
	core/jobs/workers.c core/jobs/workers.h \
	core/jobs/jobs.c core/jobs/jobs.h \
	core/jobs/runner.c core/jobs/runner.h

# api: the control API -- HTTP/JSON served with libmicrohttpd on the
# control socket and TLS TCP (server, routes, roles), its client (libcurl),
# one daemon per state directory and socket.
core_libdsrccore_la_SOURCES += \
	core/api/api.c core/api/api.h \
	core/api/api_route.c \
	core/api/api_client.c \
	core/api/instance.c core/api/instance.h

# isolate: plugins in supervised worker processes behind a proxy driver,
# and the framed encoding between them.
core_libdsrccore_la_SOURCES += \
	core/isolate/wire.c core/isolate/wire.h \
	core/isolate/isolate.c core/isolate/isolate.h \
	core/isolate/worker.c
