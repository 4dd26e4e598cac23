#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Prepare a Debian 12 host for the heapload QEMU test rig (tests/qemu/run.sh).
#
#   tests/qemu/setup.sh               install what is missing, print KVER last
#   tests/qemu/setup.sh --print-kver  only print the kernel release to test
#
# Installs (only if missing, checked with dpkg -s) the host tools, the
# kernel headers linux-headers-$KVER to build the module against, and the
# demo model file.  The kernel *image* of the same release is NOT installed
# into the host: it is downloaded with `apt-get download` and unpacked with
# `dpkg-deb -x` into a cache tree, then depmod'ed there, so run.sh can boot
# its vmlinuz and pick distro modules from it.
#
# Environment:
#   HL_KVER   kernel release to prepare (default: what Debian's
#             linux-headers-amd64 meta package depends on)
#   HL_CACHE  where the kernel image tree goes
#             (default: $HL_KERNEL_STORE/$KVER, the store being
#             /var/cache/heapload-rig/kernels: outside the clone, shared
#             with the kernel matrix)
#
# All chatter goes to stderr; the last line on stdout is the KVER, so
# `KVER=$(tests/qemu/setup.sh | tail -n1)` works.  A second run that finds
# everything in place does no network access and takes well under a second.

set -euo pipefail

RIG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$RIG_DIR/../.." && pwd)

# Host packages the rig needs (besides the kernel headers).
HOST_PKGS=(qemu-system-x86 busybox-static e2fsprogs cpio kmod xz-utils zstd
	   tesseract-ocr-script-latn)

# shellcheck source=tests/qemu/kernel-tree.sh
. "$(dirname "${BASH_SOURCE[0]}")/kernel-tree.sh"

log() { echo "setup: $*" >&2; }
die() { echo "setup: error: $*" >&2; exit 1; }

# True if the Debian package $1 is installed.
pkg_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

APT_UPDATED=0
apt_update_once() {
	if [ "$APT_UPDATED" = 0 ]; then
		log "apt-get update"
		apt-get update >&2
		APT_UPDATED=1
	fi
}

# apt lists may be missing on a freshly provisioned host.
apt_lists_present() {
	compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null
}

# Install the given packages, refreshing the apt lists once if that fails.
apt_install() {
	apt_lists_present || apt_update_once
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y \
			--no-install-recommends "$@" >&2; then
		apt_update_once
		DEBIAN_FRONTEND=noninteractive apt-get install -y \
			--no-install-recommends "$@" >&2
	fi
}

# Kernel release Debian 12 currently ships, e.g. 6.1.0-56-amd64.
default_kver() {
	local dep
	apt_lists_present || apt_update_once
	dep=$(apt-cache depends linux-headers-amd64 2>/dev/null |
	      sed -n 's/^ *Depends: linux-headers-\(.*\)$/\1/p' | head -n1)
	[ -n "$dep" ] || die "cannot resolve linux-headers-amd64; set HL_KVER"
	echo "$dep"
}

KVER=${HL_KVER:-}
if [ "${1:-}" = "--print-kver" ]; then
	echo "${KVER:-$(default_kver)}"
	exit 0
elif [ $# -gt 0 ]; then
	die "usage: $0 [--print-kver]"
fi

[ "$(id -u)" = 0 ] || die "must run as root (installs packages)"
KVER=${KVER:-$(default_kver)}
TREE=${HL_CACHE:-${HL_KERNEL_STORE:-/var/cache/heapload-rig/kernels}/$KVER}

# 1. Host packages and the kernel headers.
missing=()
for p in "${HOST_PKGS[@]}" "linux-headers-$KVER"; do
	pkg_installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing: ${missing[*]}"
	apt_install "${missing[@]}"
else
	log "host packages already installed"
fi

# 2. The kernel image, unpacked (not installed) into the cache tree.
if [ -f "$TREE/boot/vmlinuz-$KVER" ] &&
   [ -f "$TREE/lib/modules/$KVER/modules.dep" ]; then
	log "kernel image tree present: $TREE"
else
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	# apt drops privileges to _apt for downloads; let it write here.
	chmod 0755 "$tmp"
	if id _apt >/dev/null 2>&1; then chown _apt "$tmp"; fi
	log "downloading linux-image-$KVER"
	apt_lists_present || apt_update_once
	if ! (cd "$tmp" && apt-get download "linux-image-$KVER" >&2); then
		apt_update_once
		(cd "$tmp" && apt-get download "linux-image-$KVER" >&2)
	fi
	deb=$(compgen -G "$tmp/linux-image-*.deb" | head -n1) ||
		die "apt-get download produced no .deb"
	log "unpacking $(basename "$deb") into $TREE"
	unpack_kernel_tree "$KVER" "$TREE" "$deb" || die "cannot unpack $deb"
fi

echo "$KVER"
