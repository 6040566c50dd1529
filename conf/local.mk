# SPDX-License-Identifier: Apache-2.0
# conf: the installed daemon configuration, example sources and the
# quickstart demo (scripts/quickstart).

# $(sysconfdir)/dsrc/dsrcd.conf and an empty sources.d/ beside it.
dist_dsrcconf_DATA = conf/dsrcd.conf

# Example sources, one per connector, with every group commented.
dsrcexamplesdir = $(docdir)/examples/sources.d
dist_dsrcexamples_DATA = \
	conf/sources.d/postgres.conf.example \
	conf/sources.d/mysql.conf.example \
	conf/sources.d/mongo.conf.example \
	conf/sources.d/azure_blob.conf.example \
	conf/sources.d/clickhouse.conf.example \
	conf/sources.d/http.conf.example \
	conf/sources.d/s3.conf.example \
	conf/sources.d/sqlite.conf.example

# The quickstart demo, and the README's two commands (they work from an
# unpacked release tarball too).
EXTRA_DIST += \
	conf/quickstart/shop.sql \
	conf/quickstart/dsrcd.conf \
	conf/quickstart/sources.d/demo.conf \
	scripts/quickstart \
	scripts/check

install-data-local: install-conf-sourcesd
uninstall-local: uninstall-conf-sourcesd

install-conf-sourcesd:
	$(MKDIR_P) '$(DESTDIR)$(dsrcconfdir)/sources.d'

# Only removed when empty: sources an operator added stay.
uninstall-conf-sourcesd:
	rmdir '$(DESTDIR)$(dsrcconfdir)/sources.d' 2>/dev/null || :

.PHONY: install-conf-sourcesd uninstall-conf-sourcesd
