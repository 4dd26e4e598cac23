#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build heapload.ko for one kernel of the matrix through plain Kbuild, as
# embedded build systems do, and check it with sparse through our Makefile.
#
#   tests/matrix/build.sh KVER
#
# Copies the module sources (what `make dkms-install` copies: dkms.conf,
# Makefile, module/, include/; no build products) to
# .cache/matrix/work/KVER/src and runs there
#
#   make -C /lib/modules/KVER/build M=$PWD/module HEAPLOAD_WERROR=y HEAPLOAD_DEBUG=y
#
# (the kernel's make alone: the compat probes run inside Kbuild; the two
# switches are what `make module WERROR=y DEBUG=y` passes), then
# `make KERNELRELEASE=KVER KDIR=... WERROR=y DEBUG=y sparse` (C=2) if
# sparse is there.  Other kernels than the host's are built inside their
# suite's debootstrap tree (tests/matrix/chroot.sh) with the kernel's
# compiler, for arm64 the cross compiler of that version (Debian's arm64
# headers set ARCH and CROSS_COMPILE themselves), and the headers tree of
# tests/matrix/fetch.sh mounted where the packages would have installed
# it; the host's kernel (bookworm amd64) on the host when its
# linux-headers-KVER are installed.  The working tree is never touched.
#
# Output in .cache/matrix/out/KVER/: heapload.ko, generated.h (the probe
# results), build.log, sparse.log.  A second run with the same sources and
# build tree reuses the module.  Prints the module's path last.
#
# Environment: HL_MATRIX_SPARSE=0 skips sparse.

set -euo pipefail
# shellcheck disable=SC2034 # used by common.sh
MATRIX_TOOL=build
# shellcheck source=tests/matrix/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

KVER=${1:-}
[ -n "$KVER" ] || mdie "usage: $0 KVER"
[ "$(id -u)" = 0 ] || mdie "must run as root"
SUITE=$(suite_of_kver "$KVER")
OUT=$MCACHE/out/$KVER
WORK=$MCACHE/work/$KVER
SRC_FILES=(dkms.conf Makefile module include)
SPARSE=${HL_MATRIX_SPARSE:-1}

# Where to build: the host for the host's own kernel when its headers are
# installed, else the suite's tree.
HDRS=$MSTORE/headers-$KVER
if [ "$SUITE" = bookworm ] && [ -f "/lib/modules/$KVER/build/Makefile" ]; then
	ROOT=/
else
	[ -f "$HDRS/.complete" ] ||
		mdie "no headers tree for $KVER: run tests/matrix/fetch.sh $SUITE"
	ROOT=$("$MATRIX_DIR/chroot.sh" "$SUITE" "$KVER" | tail -n1)
	# Shared: builds of the suite's kernels run side by side, apt in the
	# tree (chroot.sh, exclusive) waits for them.
	exec {rootlock}>"$MSTORE/.chroot-$SUITE.lock"
	flock -s "$rootlock"
fi
# The kernel's compiler, and for arm64 the cross compiler prefix.
HDR=$HDRS/usr/src/linux-headers-$KVER
[ "$ROOT" != / ] || HDR=/lib/modules/$KVER/build
CROSS=$(cross_prefix "$HDR")
CC_NAME=$(kernel_cc "$HDR")
CC_NAME=$CROSS${CC_NAME#"$CROSS"}
ARCH_ARGS=()
[ -z "$CROSS" ] || ARCH_ARGS=(ARCH=arm64 CROSS_COMPILE="$CROSS")

# One build per kernel at a time (the work tree and output are per kernel).
mkdir -p "$MCACHE"
exec {lockfd}>"$MCACHE/.build-$KVER.lock"
flock "$lockfd"

# The sources, without anything a previous build left in the work tree.
copy_sources() {
	(cd "$REPO" && tar -cf - \
		--exclude='*.o' --exclude='*.ko' --exclude='*.mod' \
		--exclude='*.mod.c' --exclude='.*.cmd' --exclude='*.a' \
		--exclude=modules.order --exclude=Module.symvers \
		--exclude=.tmp_versions --exclude='module/compat/generated.h' \
		--exclude='*.tmp' "${SRC_FILES[@]}")
}

srchash=$( { echo "$KVER $ROOT"
	     # The compiler binary this kernel's build uses.
	     stat -L -c '%n %s %Y' "$ROOT/usr/bin/$CC_NAME" 2>/dev/null || true
	     copy_sources | tar -tvf - --full-time | sort
	     copy_sources | sha256sum; } | sha256sum | cut -d' ' -f1)
if [ -f "$OUT/heapload.ko" ] && [ "$(cat "$OUT/.srchash" 2>/dev/null)" = "$srchash" ]; then
	mlog "$KVER: module up to date: ${OUT#"$REPO"/}/heapload.ko"
	echo "$OUT/heapload.ko"
	exit 0
fi

rm -rf "$WORK" "$OUT"
mkdir -p "$WORK/src" "$OUT"
copy_sources | tar -xf - -C "$WORK/src"

MAKE_ARGS=(-j"$(nproc)" KERNELRELEASE="$KVER" KDIR="/lib/modules/$KVER/build" WERROR=y DEBUG=y
	   "${ARCH_ARGS[@]}")
if [ "$ROOT" = / ]; then
	mlog "$KVER: building on the host ($(gcc --version | head -n1))"
	run() { (cd "$WORK/src" && "$@"); }
else
	# The headers tree mounted where the packages install it: usr/src/*,
	# usr/lib/linux-kbuild-*, and the build link (usr/lib/modules/KVER).
	BINDS=("$WORK/src:/src")
	for d in "$HDRS"/usr/src/* "$HDRS"/usr/lib/linux-kbuild-*; do
		[ -d "$d" ] && BINDS+=("$d:${d#"$HDRS"}:ro")
	done
	if [ -d "$HDRS/usr/lib/modules/$KVER" ]; then
		BINDS+=("$HDRS/usr/lib/modules/$KVER:/usr/lib/modules/$KVER:ro")
	else
		BINDS+=("$HDRS/lib/modules/$KVER:/usr/lib/modules/$KVER:ro")
	fi
	mlog "$KVER: building in ${ROOT#"$REPO"/} ($(sed -n 's/^CONFIG_CC_VERSION_TEXT="\(.*\)"$/\1/p' \
		"$HDRS/usr/src/linux-headers-$KVER/.config"))"
	run() { in_root "$ROOT" "${BINDS[@]}" -- /bin/sh -c 'cd /src && exec "$@"' sh "$@"; }
fi

rc=0
run sh -c 'k=$1 j=$2; shift 2; exec make -C "/lib/modules/$k/build" M="$PWD/module" \
	-j"$j" "$@" HEAPLOAD_WERROR=y HEAPLOAD_DEBUG=y modules' sh "$KVER" "$(nproc)" \
	"${ARCH_ARGS[@]}" >"$OUT/build.log" 2>&1 || rc=$?
cp "$WORK/src/module/compat/generated.h" "$OUT/generated.h" 2>/dev/null || true
if [ "$rc" != 0 ]; then
	grep -E 'error|warning' "$OUT/build.log" | head -n 40 >&2 || true
	mdie "$KVER: build failed (log: ${OUT#"$REPO"/}/build.log)"
fi
[ -f "$WORK/src/module/heapload.ko" ] || mdie "$KVER: no heapload.ko after the build"
cp "$WORK/src/module/heapload.ko" "$OUT/heapload.ko"
if grep -q warning: "$OUT/build.log"; then
	mlog "$KVER: compiler warnings:"
	grep warning: "$OUT/build.log" >&2
fi

# Since v6.13 the top Makefile runs scripts/checker-valid.sh before C=1/2
# and turns sparse off when it is missing, and Debian's linux-kbuild
# package does not ship it (7.2): supply the upstream check (does sparse
# know __typeof_unqual__?) in our unpacked headers tree.
supply_checker_valid() {
	local mk kb
	for mk in "$HDRS"/usr/src/*/Makefile; do
		grep -q 'scripts/checker-valid.sh' "$mk" || continue
		for kb in "$HDRS"/usr/lib/linux-kbuild-*/scripts; do
			[ -e "$kb/checker-valid.sh" ] && continue
			mlog "$KVER: adding scripts/checker-valid.sh missing from the kbuild package"
			cat >"$kb/checker-valid.sh" <<'CHECKER'
#!/bin/sh -eu
# SPDX-License-Identifier: GPL-2.0
# Added by heapload's tests/matrix/build.sh: upstream's scripts/checker-valid.sh,
# absent from Debian's linux-kbuild package.
[ ! -x "$(command -v "$1")" ] && exit 1
tmp_file=$(mktemp)
trap 'rm -f "$tmp_file"' EXIT
cat <<EOF >"$tmp_file"
static inline int u(const int *q)
{
	__typeof_unqual__(*q) v = *q;
	return v;
}
EOF
# sparse exits 0 on errors: look for them on its output.
"$@" "$tmp_file" 2>&1 | awk -v c=1 '/error/{c=0}END{print c}'
CHECKER
			chmod 0755 "$kb/checker-valid.sh"
		done
	done
}

if [ "$SPARSE" = 1 ] && run sh -c 'command -v sparse' >/dev/null 2>&1; then
	[ "$ROOT" = / ] || supply_checker_valid
	if run make "${MAKE_ARGS[@]}" sparse >"$OUT/sparse.log" 2>&1; then
		n=$(grep -c -E '(warning|error):' "$OUT/sparse.log" || true)
		mlog "$KVER: sparse: $n warnings (${OUT#"$REPO"/}/sparse.log)"
		[ "$n" = 0 ] || grep -E '(warning|error):' "$OUT/sparse.log" | head -n 20 >&2
	else
		mlog "$KVER: sparse run failed (${OUT#"$REPO"/}/sparse.log)"
	fi
else
	mlog "$KVER: no sparse in the build tree, skipped"
fi

echo "$srchash" >"$OUT/.srchash"
mlog "$KVER: $(modinfo -F vermagic "$OUT/heapload.ko")"
echo "$OUT/heapload.ko"
