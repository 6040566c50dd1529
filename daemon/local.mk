# SPDX-License-Identifier: Apache-2.0
# daemon: `dsrcd`, the daemon (dsrcd(8)), built on the core library.
sbin_PROGRAMS += dsrcd
dsrcd_SOURCES = daemon/dsrcd.c \
	daemon/control.c daemon/control.h \
	daemon/control_sources.c \
	daemon/daemon.c daemon/daemon.h \
	daemon/generation.c daemon/generation.h \
	daemon/metrics.c daemon/metrics.h \
	daemon/openapi.h \
	daemon/probes.c daemon/probes.h \
	daemon/reload.c daemon/reload.h \
	daemon/scheduler.c daemon/scheduler.h \
	daemon/units.c daemon/units.h
dsrcd_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) $(JANSSON_CFLAGS) $(SYSTEMD_CFLAGS)
dsrcd_LDADD = core/libdsrccore.la $(SYSTEMD_LIBS) $(DCONV_LIBS)

# GET /openapi.json answers docs/openapi.json, compiled in as bytes
# (daemon/openapi.h); od and sed only, so no build dependency.
nodist_dsrcd_SOURCES = daemon/openapi_doc.c
CLEANFILES += daemon/openapi_doc.c
EXTRA_DIST += docs/openapi.json
daemon/openapi_doc.c: $(top_srcdir)/docs/openapi.json
	$(AM_V_GEN)$(MKDIR_P) daemon && { \
	  echo '/* Generated from docs/openapi.json by daemon/local.mk; do not edit. */'; \
	  echo '#include <stddef.h>'; \
	  echo 'extern const unsigned char openapi_doc[];'; \
	  echo 'extern const size_t openapi_doc_len;'; \
	  echo 'const unsigned char openapi_doc[] = {'; \
	  od -An -v -tx1 $(top_srcdir)/docs/openapi.json | \
	    sed -e 's/  */ /g' -e 's/^ //' -e '/^$$/d' -e 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '};'; \
	  echo 'const size_t openapi_doc_len = sizeof openapi_doc;'; \
	} >$@.tmp && mv $@.tmp $@
