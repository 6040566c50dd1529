# SPDX-License-Identifier: Apache-2.0
# The SDK: the ABI header, its header-only helpers and its pkg-config file.
dsrcincludedir = $(includedir)/dsrc
dsrcinclude_HEADERS = sdk/dsrc/plugin.h sdk/dsrc/plugin_util.h
pkgconfig_DATA = sdk/dsrc-plugin.pc
EXTRA_DIST += sdk/dsrc-plugin.pc.in \
	sdk/example/Makefile sdk/example/csvdir.c sdk/example/README.md
