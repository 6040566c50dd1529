# SPDX-License-Identifier: Apache-2.0
# The SDK: the ABI header, its header-only helpers, the frozen copies of
# each released ABI minor, the pkg-config file and the example plugin.
dsrcincludedir = $(includedir)/dsrc
dsrcinclude_HEADERS = sdk/dsrc/plugin.h sdk/dsrc/plugin_util.h
dsrcabiincludedir = $(includedir)/dsrc/abi
dsrcabiinclude_HEADERS = sdk/dsrc/abi/v1_0.h sdk/dsrc/abi/v1_1.h
pkgconfig_DATA = sdk/dsrc-plugin.pc

# The example plugin, as a third party copies it: it builds from there with
# pkg-config alone.
sdkexampledir = $(docdir)/examples/plugin
dist_sdkexample_DATA = sdk/example/Makefile sdk/example/csvdir.c sdk/example/README.md

# dsrc-plugin.pc is relocatable: its prefix is found from where the file
# is (${pcfiledir}), as many directories up as $(pkgconfigdir) lies below
# $(prefix) (lib/pkgconfig: ../..; lib/x86_64-linux-gnu/pkgconfig:
# ../../..).  includedir and libdir under the prefix are written relative to
# it; anything outside it (and a pkgconfigdir outside the prefix) stays
# absolute.  The ABI version comes from <dsrc/plugin.h>.
sdk/dsrc-plugin.pc: $(srcdir)/sdk/dsrc-plugin.pc.in $(srcdir)/sdk/dsrc/plugin.h Makefile
	$(AM_V_GEN)$(MKDIR_P) sdk && \
	prefix='$(prefix)'; prefix=$${prefix%/}; \
	under() { case "$$1" in "$$prefix"/*) echo "\$${prefix}$${1#"$$prefix"}" ;; *) echo "$$1" ;; esac; }; \
	pc='$(pkgconfigdir)'; \
	case "$$pc" in \
	"$$prefix"/*) up=$$(echo "$${pc#"$$prefix"/}" | sed -e 's|/*$$||' -e 's|[^/][^/]*|..|g'); \
	    pcprefix="\$${pcfiledir}/$$up" ;; \
	*) pcprefix="$$prefix" ;; \
	esac; \
	h='$(srcdir)/sdk/dsrc/plugin.h'; \
	abi=$$(sed -n 's/^#define DSRC_ABI_MAJOR \([0-9]*\)$$/\1/p' "$$h").$$(sed -n 's/^#define DSRC_ABI_MINOR \([0-9]*\)$$/\1/p' "$$h"); \
	sed -e "s|@pcprefix[@]|$$pcprefix|g" \
	    -e "s|@pcincludedir[@]|$$(under '$(includedir)')|g" \
	    -e "s|@pclibdir[@]|$$(under '$(libdir)')|g" \
	    -e "s|@abi[@]|$$abi|g" \
	    -e 's|@PACKAGE_VERSION[@]|$(PACKAGE_VERSION)|g' \
	    $(srcdir)/sdk/dsrc-plugin.pc.in > $@.tmp && \
	mv $@.tmp $@

CLEANFILES += sdk/dsrc-plugin.pc sdk/dsrc-plugin.pc.tmp
EXTRA_DIST += sdk/dsrc-plugin.pc.in
