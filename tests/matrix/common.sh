# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034
#
# Shared helpers of the kernel matrix scripts (tests/matrix/*.sh); sourced,
# not run.  What is downloaded or made once lives outside the clone, in the
# store (HL_MATRIX_STORE, default /var/cache/heapload-rig/matrix), shared
# by every clone and kept between runs:
#
#   STORE/apt-SUITE/          private apt configuration, lists and cache
#   STORE/debs/               downloaded kernel and user-space packages
#   STORE/headers-KVER/       unpacked headers, -common and kbuild
#   STORE/root-SUITE/         debootstrap'd build tree of that suite
#   STORE/userland-SUITE-ARCH/  a foreign architecture's guest user space
#   /var/cache/heapload-rig/kernels/KVER/  kernel image tree (boot/,
#                             lib/modules/KVER), as tests/qemu/setup.sh
#                             makes it (HL_KERNEL_STORE)
#
# What a run produces stays in the clone, under <repo>/.cache/matrix:
#
#   out/KVER/                 heapload.ko built for KVER, build log,
#                             the guest's logs
#   work/KVER/, logs/, guest*/, tools*/   build trees and run logs

MATRIX_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$MATRIX_DIR/../.." && pwd)
MCACHE=${HL_MATRIX_CACHE:-$REPO/.cache/matrix}
MSTORE=${HL_MATRIX_STORE:-/var/cache/heapload-rig/matrix}
KCACHE=${HL_KERNEL_STORE:-/var/cache/heapload-rig/kernels}
SUITES=(bookworm trixie sid)

mlog() { echo "${MATRIX_TOOL:-matrix}: $*" >&2; }
mdie() { echo "${MATRIX_TOOL:-matrix}: error: $*" >&2; exit 1; }

check_suite() {
	case "$1" in
	bookworm|trixie|sid) ;;
	*) mdie "unknown suite '$1' (bookworm, trixie or sid)" ;;
	esac
}

# The Debian archive this machine's apt already uses, read from apt itself
# (works for one-line and deb822 sources alike): the URI serving
# "<release>/main amd64 Packages" of the host's own release.
debian_mirror() {
	local uri
	if [ -n "${HL_DEBIAN_MIRROR:-}" ]; then
		echo "$HL_DEBIAN_MIRROR"
		return
	fi
	uri=$(apt-cache policy 2>/dev/null | awk '
		$NF == "Packages" && $3 ~ /^[a-z]+\/main$/ { print $2; exit }')
	[ -n "$uri" ] || mdie "no Debian archive found in apt's sources (set HL_DEBIAN_MIRROR)"
	echo "${uri%/}"
}

# Debian kernel flavours of the matrix, and the architecture of each.
FLAVOURS=(amd64 rt-amd64 arm64 arm64-16k)

check_flavour() {
	case "$1" in
	amd64|rt-amd64|arm64|arm64-16k) ;;
	*) mdie "unknown flavour '$1' (${FLAVOURS[*]})" ;;
	esac
}

arch_of_flavour() {
	case "$1" in
	arm64*) echo arm64 ;;
	*) echo amd64 ;;
	esac
}

# Flavour of a kernel release (6.1.0-57-rt-amd64 -> rt-amd64).
flavour_of_kver() {
	case "$1" in
	*-rt-amd64) echo rt-amd64 ;;
	*-arm64-16k) echo arm64-16k ;;
	*-arm64) echo arm64 ;;
	*) echo amd64 ;;
	esac
}

# The cross compiler prefix a kernel's headers tree needs on this amd64
# machine: aarch64-linux-gnu- for an arm64 kernel, nothing for amd64.
# (Debian 13's arm64 headers set it themselves, Debian 12's only when
# dpkg says it cross-builds, so the matrix always passes it.)
cross_prefix() {
	if grep -qx 'CONFIG_ARM64=y' "$1/.config" 2>/dev/null; then
		echo aarch64-linux-gnu-
	fi
}

# The compiler a kernel was built with, from its headers' .config,
# e.g. "x86_64-linux-gnu-gcc-14" or "gcc-12".
kernel_cc() {
	local text
	text=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\(.*\)"$/\1/p' "$1/.config")
	echo "${text%% *}"
}

# Kernel release of a tree's name, suite of a kernel release.
suite_of_kver() {
	case "$1" in
	*+deb13-*) echo trixie ;;
	*+deb1[4-9]-*) echo sid ;;
	*) echo bookworm ;;
	esac
}

# Run a command with an exclusive lock on $1 (a file under the cache).
with_lock() {
	local lock=$1
	shift
	mkdir -p "$(dirname "$lock")"
	exec {lockfd}>"$lock"
	flock "$lockfd"
	"$@"
	local rc=$?
	exec {lockfd}>&-
	return $rc
}

# in_root ROOT [BIND...] -- CMD...: run CMD chrooted into ROOT with /proc,
# /dev and /sys, and each BIND ("HOSTPATH:PATH" or "HOSTPATH:PATH:ro")
# mounted, all in a private mount namespace that goes away with CMD.
# Mount points are made inside ROOT as needed.
in_root() {
	local root=$1 b src dst
	shift
	local binds=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do binds+=("$1"); shift; done
	[ "${1:-}" = -- ] && shift
	for b in "${binds[@]}"; do
		src=${b%%:*}; dst=${b#*:}; dst=${dst%:ro}
		if [ -d "$src" ]; then mkdir -p "$root$dst"
		else mkdir -p "$(dirname "$root$dst")"; touch "$root$dst"; fi
	done
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare --mount --propagation private -- /bin/bash -euc '
		root=$1; shift
		while [ "$1" != -- ]; do
			b=$1; shift
			src=${b%%:*}; dst=${b#*:}; ro=
			case "$dst" in *:ro) dst=${dst%:ro}; ro=1 ;; esac
			mount --bind "$src" "$root$dst"
			[ -z "$ro" ] || mount -o remount,bind,ro "$root$dst"
		done
		shift
		mount -t proc proc "$root/proc"
		mount --rbind /dev "$root/dev"
		mount --rbind /sys "$root/sys"
		exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
	' in_root "$root" "${binds[@]}" -- "$@"
}
