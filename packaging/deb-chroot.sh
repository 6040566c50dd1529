# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# deb-chroot.sh -- the clean Debian 12 (bookworm) chroots of
# packaging/build-deb and packaging/boot-check; sourced by both (bash).
#
# The caller sets $top (the source tree), $refresh (yes: make the cached
# base chroot again) and defines say MESSAGE; this file sets:
#   $work    $DSRC_DEB_DIR, default build/deb in the source tree
#   $mirror  $DSRC_DEB_MIRROR, default http://deb.debian.org/debian
#   $suite   bookworm
#   $cache   $work/cache: the base chroot (bookworm-base.tar.gz, made by
#            debootstrap --variant=buildd) and archives/, the .deb files
#            apt fetched (both reused)
#   $base    the base chroot's tarball
#   $out     $work/out, where build-deb puts the packages
# and the functions below.  umount_all must run before the script exits
# (its EXIT trap).

work=${DSRC_DEB_DIR:-$top/build/deb}
mirror=${DSRC_DEB_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
cache=$work/cache base=$work/cache/$suite-base.tar.gz out=$work/out
mkdir -p "$cache/archives/partial" "$out"

mounted=()
# mount_chroot ROOT: /proc, /sys, /dev (with /dev/pts and a /dev/shm of
# its own: PostgreSQL keeps shared memory there), the apt cache.
mount_chroot() {
    local r=$1
    mount -t proc proc "$r/proc"; mounted+=("$r/proc")
    mount -t sysfs sysfs "$r/sys"; mounted+=("$r/sys")
    mount --bind /dev "$r/dev"; mounted+=("$r/dev")
    mount -t devpts -o newinstance,ptmxmode=0666 devpts "$r/dev/pts"; mounted+=("$r/dev/pts")
    mount -t tmpfs -o mode=1777 shm "$r/dev/shm"; mounted+=("$r/dev/shm")
    mount --bind "$cache/archives" "$r/var/cache/apt/archives"
    mounted+=("$r/var/cache/apt/archives")
}
umount_all() {
    local i
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
        umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" 2>/dev/null || :
    done
    mounted=()
}

# inroot ROOT CMD...: run CMD in the chroot, with a plain environment.
inroot() {
    local r=$1; shift
    chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

# new_root ROOT: a fresh chroot from the cached base (made when missing),
# mounted (mount_chroot) and with apt's lists up to date.
new_root() {
    local r=$1
    rm -rf "$r"
    if [ "$refresh" = yes ] || [ ! -s "$base" ]; then
        say "debootstrap $suite from $mirror (cached in $base)"
        rm -rf "$work/base-root"
        debootstrap --variant=buildd --cache-dir="$cache/archives" \
            "$suite" "$work/base-root" "$mirror"
        # localhost: the test fixtures' certificates name it; a chroot
        # has no nss-myhostname to resolve it without /etc/hosts.
        printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' \
            >"$work/base-root/etc/hosts"
        printf 'deb %s %s main\n' "$mirror" "$suite" >"$work/base-root/etc/apt/sources.list"
        printf 'APT::Install-Recommends "false";\nAPT::Get::Assume-Yes "true";\n' \
            >"$work/base-root/etc/apt/apt.conf.d/90dsrc-build"
        tar -C "$work/base-root" -czf "$base.tmp" . && mv "$base.tmp" "$base"
        rm -rf "$work/base-root"
        refresh=no
    fi
    mkdir -p "$r"
    tar -C "$r" -xzf "$base"
    cp /etc/resolv.conf "$r/etc/resolv.conf" 2>/dev/null || :
    # No service starts inside a chroot.
    printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"
    chmod 755 "$r/usr/sbin/policy-rc.d"
    mount_chroot "$r"
    inroot "$r" apt-get update -q
}
