#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build environment of a suite for the kernel matrix.
#
#   tests/matrix/chroot.sh SUITE        SUITE = trixie | sid (| bookworm)
#
# Makes .cache/matrix/root-SUITE/, a `debootstrap --variant=minbase` tree of
# SUITE with what building a module against that suite's kernel headers
# needs: the compiler the kernel was built with (read from the headers'
# CONFIG_CC_VERSION_TEXT, e.g. gcc-14 for trixie, gcc-16 for sid), the
# headers' own dependencies (pahole, libssl, libelf, ...), make, libc6-dev,
# libelf-dev, libssl-dev, bc, flex, bison, kmod, xz-utils, zstd, and sparse
# when the suite has it.  Installs debootstrap on the host if missing.
#
# Runs tests/matrix/fetch.sh SUITE first (cached) to know the kernel.  A
# stamp file lists what the tree was made with; a second run that finds it
# matching does nothing.  The archive is the one the host's apt uses.
# Prints the tree's path last.

set -euo pipefail
# shellcheck disable=SC2034 # used by common.sh
MATRIX_TOOL=chroot
# shellcheck source=tests/matrix/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SUITE=${1:-}
[ -n "$SUITE" ] || mdie "usage: $0 trixie|sid"
check_suite "$SUITE"
[ "$(id -u)" = 0 ] || mdie "must run as root"

ROOT=$MCACHE/root-$SUITE
STAMP=$ROOT/.heapload-matrix-stamp
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

KVER=$("$MATRIX_DIR/fetch.sh" "$SUITE" | tail -n1)
HDRS=$MCACHE/headers-$KVER
[ -f "$HDRS/.complete" ] || mdie "no headers tree for $KVER"

# The compiler, e.g. "x86_64-linux-gnu-gcc-16 (Debian 16.2.0-4) 16.2.0".
cc_text=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\(.*\)"$/\1/p' \
	  "$HDRS/usr/src/linux-headers-$KVER/.config")
cc_name=${cc_text%% *}
cc_pkg=$(sed -n 's/^\(.*-\)\{0,1\}\(gcc-[0-9][0-9]*\)$/\2/p' <<<"$cc_name")
[ -n "$cc_pkg" ] || mdie "cannot tell the compiler package from '$cc_text'"

# Concrete packages debootstrap can resolve, then the headers' own
# dependencies (may name virtual packages such as gcc-16-for-host) with apt.
BASE_PKGS=("$cc_pkg" make libc6-dev libelf-dev libssl-dev bc flex bison kmod
	   xz-utils zstd pahole ca-certificates)
mapfile -t HDR_DEPS < <(grep -v -x -e initramfs-tools -e dracut \
			 "$HDRS/.build-depends" || true)
WANT="suite=$SUITE cc=$cc_pkg base=${BASE_PKGS[*]} deps=${HDR_DEPS[*]} sparse=try"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
	mlog "$SUITE build tree present (${cc_pkg}): ${ROOT#"$REPO"/}"
	echo "$ROOT"
	exit 0
fi

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

exec {lockfd}>"$MCACHE/.chroot-$SUITE.lock"
flock "$lockfd"

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
root_run "$cc_name" --version | head -n1 >&2

echo "$WANT" >"$STAMP"
echo "$ROOT"
