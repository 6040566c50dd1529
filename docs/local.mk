# SPDX-License-Identifier: Apache-2.0
# docs: the manual pages, installed below $(mandir) and shipped in the
# tarball.
dist_man_MANS += \
	docs/dsrc.1 \
	docs/dsrc-plugin.3 \
	docs/dsrc-connectors.7 \
	docs/dsrc.conf.5 \
	docs/dsrcd.8
