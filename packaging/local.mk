# SPDX-License-Identifier: Apache-2.0
# packaging: the systemd unit, sysusers.d and tmpfiles.d entries, and the
# Debian packaging (packaging/debian, shipped in the release tarball).
#
# Installed below $(prefix) (/usr/lib/systemd/system for --prefix=/usr), not
# to the directory systemd's pkg-config file names, so that "make install"
# with another prefix, and "make distcheck", stay inside the prefix.

systemdsystemunitdir = $(prefix)/lib/systemd/system
sysusersdir = $(prefix)/lib/sysusers.d
tmpfilesdir = $(prefix)/lib/tmpfiles.d

if HAVE_SYSTEMD
systemdsystemunit_DATA = packaging/dsrcd.service
sysusers_DATA = packaging/sysusers.d/dsrc.conf
tmpfiles_DATA = packaging/tmpfiles.d/dsrc.conf
endif

packaging/dsrcd.service: $(srcdir)/packaging/dsrcd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) packaging && \
	sed -e 's|@sbindir[@]|$(sbindir)|g' -e 's|@bindir[@]|$(bindir)|g' \
	    -e 's|@dsrcconfdir[@]|$(dsrcconfdir)|g' \
	    $(srcdir)/packaging/dsrcd.service.in > $@.tmp && \
	mv $@.tmp $@

CLEANFILES += packaging/dsrcd.service packaging/dsrcd.service.tmp
EXTRA_DIST += \
	packaging/dsrcd.service.in \
	packaging/sysusers.d/dsrc.conf \
	packaging/tmpfiles.d/dsrc.conf

# Debian packaging: copied to debian/ in an unpacked release tarball;
# packaging/build-deb builds and checks the packages in a clean chroot,
# packaging/boot-check boots them under systemd in a virtual machine.
EXTRA_DIST += \
	packaging/build-deb \
	packaging/deb-chroot.sh \
	packaging/boot-check \
	packaging/boot-check-guest \
	packaging/check-installed \
	packaging/debian/changelog \
	packaging/debian/control \
	packaging/debian/copyright \
	packaging/debian/rules \
	packaging/debian/source/format \
	packaging/debian/dsrc.install \
	packaging/debian/dsrc.dirs \
	packaging/debian/dsrc.postinst \
	packaging/debian/dsrc.postrm \
	packaging/debian/dsrc.lintian-overrides \
	packaging/debian/dsrc-plugin-postgres.install \
	packaging/debian/dsrc-plugin-mysql.install \
	packaging/debian/dsrc-plugin-mongo.install \
	packaging/debian/dsrc-plugin-azure-blob.install \
	packaging/debian/dsrc-plugin-clickhouse.install \
	packaging/debian/dsrc-plugin-http.install \
	packaging/debian/dsrc-plugin-s3.install \
	packaging/debian/libdsrc-plugin-dev.install \
	packaging/debian/not-installed

# The rpm spec, with the same split.
EXTRA_DIST += packaging/rpm/dsrc.spec packaging/rpm/dsrc.rpmlintrc

# configure's exit trap runs "rm -f core ... && rm -f -r conftest* confdefs*";
# with the core/ directory of this tree in the build directory the first rm
# fails and confdefs.h stays behind: distclean removes it.
DISTCLEANFILES = confdefs.h
