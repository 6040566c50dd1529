# SPDX-License-Identifier: Apache-2.0
# daemon: `dsrcd`, the daemon (dsrcd(8)), built on the core library.
sbin_PROGRAMS += dsrcd
dsrcd_SOURCES = daemon/dsrcd.c \
	daemon/control.c daemon/control.h \
	daemon/daemon.c daemon/daemon.h \
	daemon/generation.c daemon/generation.h \
	daemon/metrics.c daemon/metrics.h \
	daemon/probes.c daemon/probes.h \
	daemon/reload.c daemon/reload.h \
	daemon/scheduler.c daemon/scheduler.h \
	daemon/units.c daemon/units.h
dsrcd_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) $(JANSSON_CFLAGS) $(SYSTEMD_CFLAGS)
dsrcd_LDADD = core/libdsrccore.la $(SYSTEMD_LIBS)
