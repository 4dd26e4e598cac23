#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build environment of a suite for the kernel matrix.
#
#   tests/matrix/chroot.sh SUITE [KVER]   SUITE = bookworm | trixie | sid
#
# Makes root-SUITE/ in the store (tests/matrix/common.sh), a `debootstrap --variant=minbase` tree of
# SUITE (amd64) with what building a module against the headers of KVER
# (default: the suite's amd64 kernel) needs: the compiler the kernel was
# built with (read from the headers' CONFIG_CC_VERSION_TEXT, e.g. gcc-14
# for trixie, gcc-16 for sid; for an arm64 kernel the suite's cross
# compiler of the same version, gcc-14-aarch64-linux-gnu), the headers' own
# dependencies (pahole, libssl, libelf, ...), make, libc6-dev, libelf-dev,
# libssl-dev, bc, flex, bison, kmod, xz-utils, zstd, and sparse when the
# suite has it.  Installs debootstrap on the host if missing.
#
# Runs tests/matrix/fetch.sh first (cached) when no KVER is given.  A
# stamp file lists what the tree has; a run that wants nothing more does
# nothing, one for another kernel of the suite adds what that one needs.
# The archive is the one the host's apt uses.  Prints the tree's path last.

set -euo pipefail
# shellcheck disable=SC2034 # used by common.sh
MATRIX_TOOL=chroot
# shellcheck source=tests/matrix/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SUITE=${1:-}
KVER=${2:-}
[ -n "$SUITE" ] || mdie "usage: $0 bookworm|trixie|sid [KVER]"
check_suite "$SUITE"
[ "$(id -u)" = 0 ] || mdie "must run as root"

ROOT=$MSTORE/root-$SUITE
STAMP=$ROOT/.heapload-matrix-stamp
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

[ -n "$KVER" ] || KVER=$("$MATRIX_DIR/fetch.sh" "$SUITE" | tail -n1)
HDRS=$MSTORE/headers-$KVER
[ -f "$HDRS/.complete" ] || mdie "no headers tree for $KVER"

# The compiler, e.g. "x86_64-linux-gnu-gcc-16" or "gcc-12"; for an arm64
# kernel the cross compiler of that version (gcc-14-aarch64-linux-gnu).
cc_name=$(kernel_cc "$HDRS/usr/src/linux-headers-$KVER")
cc_pkg=$(sed -n 's/^\(.*-\)\{0,1\}\(gcc-[0-9][0-9]*\)$/\2/p' <<<"$cc_name")
[ -n "$cc_pkg" ] || mdie "cannot tell the compiler package from '$cc_name'"
native_cc=$cc_pkg
cross=$(cross_prefix "$HDRS/usr/src/linux-headers-$KVER")
[ -z "$cross" ] || cc_pkg=$cc_pkg-${cross%-}

# Concrete packages debootstrap can resolve, then the headers' own
# dependencies (may name virtual packages such as gcc-16-for-host) with apt.
BASE_PKGS=("$native_cc" make libc6-dev libelf-dev libssl-dev bc flex bison kmod
	   xz-utils zstd pahole ca-certificates)
# (The headers of an arm64 kernel name the arm64 gcc-N: the cross
# compiler above takes its place; the native one is in BASE_PKGS.)
mapfile -t HDR_DEPS < <(grep -v -x -e initramfs-tools -e dracut -e 'gcc-[0-9]*' \
			 "$HDRS/.build-depends" || true)
[ "$cc_pkg" = "$native_cc" ] || HDR_DEPS+=("$cc_pkg")
# The stamp lists the packages the tree has, one per line.
WANT=$(printf '%s\n' "suite=$SUITE" "${BASE_PKGS[@]}" "${HDR_DEPS[@]}" sparse=try | sort -u)

# Ends the script, printing the tree, when it has every package wanted.
exit_if_complete() {
	[ -f "$STAMP" ] && [ -z "$(comm -23 <(echo "$WANT") <(sort -u "$STAMP"))" ] ||
		return 0
	mlog "$SUITE build tree present (${cc_pkg}): ${ROOT#"$REPO"/}"
	echo "$ROOT"
	exit 0
}
exit_if_complete

# Run a command inside the tree (common.sh's in_root).
root_run() { in_root "$ROOT" -- "$@"; }

if ! command -v debootstrap >/dev/null; then
	mlog "installing debootstrap"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		debootstrap >&2 || {
		apt-get update >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y \
			--no-install-recommends debootstrap >&2
	}
fi

mkdir -p "$MSTORE"
# Exclusive: no build runs in the tree (tests/matrix/build.sh holds this
# lock shared) while apt changes it.  Another kernel's run may have added
# what this one needs while we waited.
exec {lockfd}>"$MSTORE/.chroot-$SUITE.lock"
flock "$lockfd"
exit_if_complete

if [ ! -f "$ROOT/.debootstrap-done" ]; then
	mirror=$(debian_mirror)
	rm -rf "$ROOT"
	mlog "debootstrap --variant=minbase $SUITE (${BASE_PKGS[*]})"
	kr=()
	[ -f "$KEYRING" ] && kr=(--keyring="$KEYRING")
	# The host's debootstrap may not know a newer codename: sid's script
	# serves every Debian suite.
	debootstrap --variant=minbase "${kr[@]}" \
		--include="$(IFS=,; echo "${BASE_PKGS[*]}")" \
		"$SUITE" "$ROOT" "$mirror" /usr/share/debootstrap/scripts/sid >&2 ||
		mdie "debootstrap $SUITE failed (log: ${ROOT#"$REPO"/}/debootstrap/debootstrap.log)"
	touch "$ROOT/.debootstrap-done"
fi

cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
# No daemons may start inside the tree.
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 0755 "$ROOT/usr/sbin/policy-rc.d"
# Keep the tree small: no docs, no recommends.
cat >"$ROOT/etc/apt/apt.conf.d/90heapload-matrix" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
EOF
# The host's apt settings on archive freshness (a mirror that is a dated
# snapshot needs Check-Valid-Until off), so the tree sees what the host sees.
apt-config dump 2>/dev/null |
	grep -E '^Acquire::(Check-Valid-Until|Check-Date|Retries|http::Proxy|https::Proxy) ' \
	>>"$ROOT/etc/apt/apt.conf.d/90heapload-matrix" || true

mlog "apt-get install in the $SUITE tree: ${BASE_PKGS[*]} ${HDR_DEPS[*]}"
root_run apt-get -q update >&2
root_run apt-get -q install -y "${BASE_PKGS[@]}" "${HDR_DEPS[@]}" >&2
if root_run apt-cache show sparse >/dev/null 2>&1; then
	root_run apt-get -q install -y sparse >&2 || mlog "sparse did not install"
else
	mlog "$SUITE has no sparse package"
fi
root_run apt-get clean >&2
root_run "$cross${cc_name#"$cross"}" --version | head -n1 >&2

# (Lines of a stamp of the old one-line format are dropped.)
{ echo "$WANT"; grep -v ' ' "$STAMP" 2>/dev/null || true; } | sort -u >"$STAMP.new"
mv "$STAMP.new" "$STAMP"
echo "$ROOT"
