#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The cached base system of make check-install.
#
#   tests/install/image.sh        prints the base tree's path last
#
# A Debian 12 (bookworm) tree made with debootstrap, then with apt-get:
# systemd, udev, DKMS, a compiler and Debian 12's current kernel image and
# headers (the meta packages linux-image-amd64 and linux-headers-amd64).
# The rt flavour's packages are only downloaded into apt's cache, so that
# installing them later (per run, to exercise DKMS's kernel hook) needs no
# network. The archive is the one the host's apt uses.
#
# The tree lives under $HL_INSTALL_CACHE (default
# /var/cache/heapload-rig/install) as base-KEY, KEY a hash of everything
# below that decides what goes into it (package lists, initramfs and apt
# settings): change them and the next run builds a new tree; older trees
# are removed then. A run that finds the tree does nothing. Callers never
# change the tree: they copy it.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/install/common.sh
. "$HERE/common.sh"

# What the guest system needs to build and load heapload like a user's
# machine would. Changing a list changes the cache key.
BASE_PKGS=(systemd systemd-sysv udev dbus dkms kmod pkg-config gcc make libc6-dev
	   initramfs-tools zstd e2fsprogs util-linux passwd
	   linux-image-amd64 linux-headers-amd64)
LATER_PKGS=(linux-image-rt-amd64 linux-headers-rt-amd64)
# A small initramfs (quick to make and to unpack under emulation) with
# just what mounts the root disk: virtio block and ext4.
INITRAMFS_MODULES=(virtio_pci virtio_blk crc32c_generic ext4)
APT_CONF='APT::Install-Recommends "false";
APT::Install-Suggests "false";'
KEY_TEXT="suite=bookworm base=${BASE_PKGS[*]} later=${LATER_PKGS[*]}
initramfs=${INITRAMFS_MODULES[*]} apt=$APT_CONF"
KEY=$(sha256sum <<<"$KEY_TEXT" | cut -c1-12)
BASE=$INSTALL_CACHE/base-$KEY

[ "$(id -u)" = 0 ] || mdie "must run as root"
mkdir -p "$INSTALL_CACHE"
exec {lockfd}>"$INSTALL_CACHE/.base.lock"
flock "$lockfd"

if [ -f "$BASE/.complete" ] && [ "${HL_INSTALL_REBUILD:-0}" != 1 ]; then
	mlog "base image present: $BASE"
	echo "$BASE"
	exit 0
fi

host_install debootstrap
TMP=$BASE.tmp
rm -rf "$TMP"
trap 'rm -rf "$TMP"' EXIT

mirror=$(debian_mirror)
mlog "debootstrap --variant=minbase bookworm from the host's archive"
kr=()
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] &&
	kr=(--keyring=/usr/share/keyrings/debian-archive-keyring.gpg)
debootstrap --variant=minbase "${kr[@]}" bookworm "$TMP" "$mirror" >&2 ||
	mdie "debootstrap failed (log: $TMP/debootstrap/debootstrap.log)"

# The host's bookworm sources (main, updates and security) as one-line
# entries, read from apt itself so one-line and deb822 files both work:
# the current kernel may only be in the security suite.
apt-cache policy 2>/dev/null | awk '
	$NF == "Packages" && $3 ~ /^bookworm(-[a-z]+)?\/main$/ {
		split($3, s, "/"); uri = $2; sub(/\/$/, "", uri)
		print "deb " uri " " s[1] " main" }' | sort -u >"$TMP/etc/apt/sources.list"
[ -s "$TMP/etc/apt/sources.list" ] ||
	echo "deb $mirror bookworm main" >"$TMP/etc/apt/sources.list"
printf '%s\n' "$APT_CONF" >"$TMP/etc/apt/apt.conf.d/90heapload-install"
# A dated snapshot mirror needs Check-Valid-Until off, like the host has it.
apt-config dump 2>/dev/null |
	grep -E '^Acquire::(Check-Valid-Until|Check-Date|Retries|http::Proxy|https::Proxy) ' \
	>>"$TMP/etc/apt/apt.conf.d/90heapload-install" || true
cp -L /etc/resolv.conf "$TMP/etc/resolv.conf" 2>/dev/null || true
install_policy_rc_d "$TMP"

mkdir -p "$TMP/etc/initramfs-tools/conf.d"
echo MODULES=list >"$TMP/etc/initramfs-tools/conf.d/heapload-install"
printf '%s\n' "${INITRAMFS_MODULES[@]}" >>"$TMP/etc/initramfs-tools/modules"
echo '/dev/vda / ext4 rw,errors=remount-ro 0 1' >"$TMP/etc/fstab"
echo heapload-test >"$TMP/etc/hostname"

mlog "apt-get install: ${BASE_PKGS[*]}"
in_root "$TMP" -- apt-get -q update >&2
in_root "$TMP" -- apt-get -q install -y "${BASE_PKGS[@]}" >&2 ||
	mdie "apt-get install in the base image failed"
in_root "$TMP" -- apt-get -q clean >&2
mlog "downloading for later: ${LATER_PKGS[*]}"
in_root "$TMP" -- apt-get -q install -y --download-only "${LATER_PKGS[@]}" >&2 ||
	mdie "cannot download ${LATER_PKGS[*]}"
# No login prompt on the console: the guest is driven by its test unit.
in_root "$TMP" -- systemctl mask serial-getty@ttyS0.service getty@tty1.service \
	apt-daily.timer apt-daily-upgrade.timer >&2 || true
[ "$(compgen -G "$TMP/boot/vmlinuz-*" | wc -l)" = 1 ] ||
	mdie "expected one kernel in the base image: $(ls "$TMP/boot")"

echo "$KEY_TEXT" >"$TMP/.key"
touch "$TMP/.complete"
# Trees of other keys are stale: what made them has changed.
for old in "$INSTALL_CACHE"/base-*; do
	[ "$old" = "$TMP" ] || [ "$old" = "$BASE" ] || rm -rf "$old"
done
rm -rf "$BASE"
mv "$TMP" "$BASE"
trap - EXIT
mlog "base image ready: $BASE ($(du -sh "$BASE" | cut -f1))"
echo "$BASE"
