#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernel matrix: build heapload for the current kernels of Debian 12,
# 13 and sid, amd64 and arm64, and run the guest suite on each in QEMU.
#
#   tests/matrix/run.sh [SUITE[:FLAVOUR]...]
#
# Default: bookworm trixie sid (amd64), bookworm:rt-amd64 (PREEMPT_RT),
# bookworm:arm64 trixie:arm64 sid:arm64, trixie:arm64-16k sid:arm64-16k
# (16 KiB pages).  A bare SUITE means SUITE:amd64.
#
# Per kernel: the kernel (bookworm amd64: tests/qemu/setup.sh, the host's
# own release, headers installed on the host; others: tests/matrix/fetch.sh),
# the module (tests/matrix/build.sh: DKMS-style build with WERROR=y, in the
# suite's debootstrap tree with the kernel's compiler, for arm64 the
# suite's cross compiler of the same version, plus sparse), then
# tests/qemu/run.sh --mode check with that module (and cma=512M on kernels
# built with CONFIG_CMA), then, on amd64's standard flavour, the extra
# boots described below (swiotlb, initfault), each a row of its own.  The
# preparation of all kernels runs first, in parallel; the boots one after
# the other.  The guest test programs and the heapload command are built
# from copies under .cache/matrix, so the working tree gets no build
# products; for arm64 with the host's cross compiler (guest programs
# static, the command against Debian 12's arm64 libraries from
# tests/matrix/fetch.sh --userland).
#
# Prints one table (kernel, architecture, heap registration path as the
# module logged it, passed, failed, skipped) and the closing line
# "N passed, N failed, N skipped"; a suite whose kernel, build or boot
# failed counts one failure.  Exit status 1 on any failure.
#
# Environment:
#   HL_MATRIX_RIG   the QEMU rig to use (default tests/qemu/run.sh)
#   HL_MATRIX_SPARSE=0  no sparse run (see build.sh)
#   HL_MATRIX_MAX_AGE   apt list age before a refresh (see fetch.sh)
# Logs: .cache/matrix/logs/ (preparation) and .cache/matrix/out/KVER/
# (build, sparse, and a copy of the guest's console and results).

set -euo pipefail
# shellcheck disable=SC2034 # used by common.sh
MATRIX_TOOL=matrix
# shellcheck source=tests/matrix/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

[ "$(id -u)" = 0 ] || mdie "must run as root"
DEFAULT_TARGETS=(bookworm trixie sid bookworm:rt-amd64 bookworm:arm64 trixie:arm64
		 sid:arm64 trixie:arm64-16k sid:arm64-16k)
if [ $# -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${DEFAULT_TARGETS[@]}"); fi
NEED_ARM64=0
for i in "${!TARGETS[@]}"; do
	t=${TARGETS[$i]}
	[[ "$t" == *:* ]] || t=$t:amd64
	TARGETS[$i]=$t
	check_suite "${t%%:*}"
	check_flavour "${t#*:}"
	[ "$(arch_of_flavour "${t#*:}")" = amd64 ] || NEED_ARM64=1
done
RIG=${HL_MATRIX_RIG:-$REPO/tests/qemu/run.sh}
LOGDIR=$MCACHE/logs
mkdir -p "$LOGDIR"
T0=$(date +%s)
since() { echo "$(( $(date +%s) - $1 ))"; }

# --------------------------------------------------------- host pieces --
# The rig's host tools (and Debian 12's kernel, which is the host's own).
mlog "host tools and Debian 12 kernel (tests/qemu/setup.sh)"
BOOKWORM_KVER=$("$REPO/tests/qemu/setup.sh" 2>"$LOGDIR/setup.log" | tail -n1) || {
	tail -n 20 "$LOGDIR/setup.log" >&2
	mdie "tests/qemu/setup.sh failed"
}

# Guest programs and the command from copies: others may be editing the
# working tree, and its build products are not ours to touch.
GUEST_OUT=$MCACHE/guest
TOOLS_SRC=$MCACHE/tools-src
mlog "guest tests and heapload command"
make -s -C "$REPO/tests" guest GUEST_OUT="$GUEST_OUT" >"$LOGDIR/guest.log" 2>&1 || {
	cat "$LOGDIR/guest.log" >&2
	mdie "building the guest tests failed"
}
rm -rf "$TOOLS_SRC"
mkdir -p "$TOOLS_SRC"
(cd "$REPO" && tar -cf - --exclude='*.o' --exclude='*.d' --exclude='*.a' \
	--exclude=tools/heapload --exclude=tools/test_parse \
	dkms.conf include tools) | tar -xf - -C "$TOOLS_SRC"
if make -s -C "$TOOLS_SRC/tools" heapload WERROR=y >"$LOGDIR/tools.log" 2>&1; then
	TOOL=$TOOLS_SRC/tools/heapload
else
	mlog "the heapload command did not build (tests that need it may skip): $LOGDIR/tools.log"
	TOOL=$TOOLS_SRC/tools/none
fi

# The same for arm64 guests, cross-compiled: the guest programs static,
# the command against Debian 12's arm64 libkmod and libcrypto (the user
# space tree the rig also takes the guest's busybox and libraries from).
GUEST_OUT_ARM64=$MCACHE/guest-arm64
TOOL_ARM64=$MCACHE/tools-arm64/tools/none
USERLAND_ARM64=
if [ "$NEED_ARM64" = 1 ]; then
	mlog "arm64 user space, guest tests and heapload command"
	if ! command -v aarch64-linux-gnu-gcc >/dev/null ||
	   ! command -v qemu-system-aarch64 >/dev/null; then
		pkgs=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-system-arm)
		{ DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}" ||
		  { apt-get update &&
		    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}"; }
		} >"$LOGDIR/arm64-host.log" 2>&1 ||
			mdie "installing the arm64 cross compiler and QEMU failed: $LOGDIR/arm64-host.log"
	fi
	USERLAND_ARM64=$("$MATRIX_DIR/fetch.sh" --userland bookworm arm64 \
			 2>"$LOGDIR/userland-arm64.log" | tail -n1) || {
		tail -n 20 "$LOGDIR/userland-arm64.log" >&2
		mdie "fetching the arm64 user space failed"
	}
	make -s -C "$REPO/tests" guest GUEST_OUT="$GUEST_OUT_ARM64" \
		CC=aarch64-linux-gnu-gcc LDFLAGS=-static >"$LOGDIR/guest-arm64.log" 2>&1 || {
		cat "$LOGDIR/guest-arm64.log" >&2
		mdie "building the arm64 guest tests failed"
	}
	rm -rf "$MCACHE/tools-arm64"
	mkdir -p "$MCACHE/tools-arm64"
	tar -cf - -C "$TOOLS_SRC" . | tar -xf - -C "$MCACHE/tools-arm64"
	make -s -C "$MCACHE/tools-arm64/tools" clean >/dev/null 2>&1 || true
	ul=$USERLAND_ARM64 lib=aarch64-linux-gnu
	if make -s -C "$MCACHE/tools-arm64/tools" heapload WERROR=y \
		CC=aarch64-linux-gnu-gcc CPPFLAGS="-I$ul/usr/include/$lib" \
		PKG_CONFIG="env PKG_CONFIG_LIBDIR=$ul/usr/lib/$lib/pkgconfig:$ul/usr/share/pkgconfig PKG_CONFIG_SYSROOT_DIR=$ul pkg-config" \
		LDFLAGS="-Wl,-rpath-link,$ul/usr/lib/$lib:$ul/lib/$lib" \
		>"$LOGDIR/tools-arm64.log" 2>&1; then
		TOOL_ARM64=$MCACHE/tools-arm64/tools/heapload
	else
		mlog "the arm64 heapload command did not build (tests that need it may skip): $LOGDIR/tools-arm64.log"
	fi
fi

# --------------------------------------------------------- preparation --
# kernel + module per target (SUITE:FLAVOUR); results in
# $LOGDIR/SUITE-FLAVOUR.{kver,ko,err}.
prepare() {
	local suite=${1%%:*} flavour=${1#*:} f=$LOGDIR/${1/:/-} kver ko
	rm -f "$f".{kver,ko,err}
	if [ "$suite:$flavour" = bookworm:amd64 ]; then
		kver=$BOOKWORM_KVER
	else
		kver=$("$MATRIX_DIR/fetch.sh" "$suite" "$flavour" | tail -n1) || {
			echo "fetch" >"$f.err"; return 1; }
	fi
	echo "$kver" >"$f.kver"
	ko=$("$MATRIX_DIR/build.sh" "$kver" | tail -n1) || {
		echo "build" >"$f.err"; return 1; }
	echo "$ko" >"$f.ko"
}

# At most three at a time: each may unpack a few hundred MB and compile.
declare -A PREP_PID PREP_T
running=()
for t in "${TARGETS[@]}"; do
	if [ ${#running[@]} -ge 3 ]; then
		wait "${PREP_PID[${running[0]}]}" || true
		running=("${running[@]:1}")
	fi
	mlog "$t: preparing (log: ${LOGDIR#"$REPO"/}/${t/:/-}.prepare.log)"
	PREP_T[$t]=$(date +%s)
	prepare "$t" >"$LOGDIR/${t/:/-}.prepare.log" 2>&1 &
	PREP_PID[$t]=$!
	running+=("$t")
done
for t in "${TARGETS[@]}"; do
	f=$LOGDIR/${t/:/-}
	wait "${PREP_PID[$t]}" 2>/dev/null || true
	if [ -f "$f.ko" ]; then
		mlog "$t: kernel $(cat "$f.kver"), module built ($(since "${PREP_T[$t]}")s)"
	else
		mlog "$t: preparation failed at $(cat "$f.err" 2>/dev/null || echo '?'):"
		tail -n 25 "$f.prepare.log" | sed 's/^/    /' >&2
	fi
done
T_PREP=$(since "$T0")

# ---------------------------------------------------------------- boots --
# One row per boot: the suite's full suite, then its extra boots.
ROWS=()
declare -A R_KVER R_ARCH R_PATH R_PASS R_FAIL R_SKIP R_TIME R_NOTE
total_pass=0 total_fail=0 total_skip=0

registration() {
	local line
	line=$(cat "$@" 2>/dev/null | tr -d '\r' |
	       grep -o 'heapload: heap heapload,system: .*' | head -n1 || true)
	if [ -z "$line" ]; then
		echo "? (not logged)"
	elif [[ "$line" == *" ("*")" ]]; then
		# "... (HOW)", HOW itself may hold parentheses.
		line=${line#* (}
		line=${line%)}
		echo "${line#heapload\'s }"
	else
		echo "${line#heapload: heap heapload,system: }"
	fi
}

# boot ROW KVER KO ARGS...: one boot of the rig in check mode, its counts
# into row ROW. Logs: .cache/matrix/out/KVER/ROW-suffixed copies.
boot() {
	local row=$1 kver=$2 ko=$3 out tag summary p f k rc=0 t err
	local arch guest=$GUEST_OUT tool=$TOOL
	shift 3
	arch=$(arch_of_flavour "$(flavour_of_kver "$kver")")
	if [ "$arch" = arm64 ]; then
		guest=$GUEST_OUT_ARM64 tool=$TOOL_ARM64
	fi
	out=$(dirname "$ko")
	tag=${row#"$kver"}
	tag=${tag# }
	tag=${tag:+-${tag//[^a-z0-9]/_}}
	ROWS+=("$row")
	R_KVER[$row]=$row R_ARCH[$row]=$arch R_PATH[$row]=- R_TIME[$row]=-
	mlog "$row: booting $*"
	t=$(date +%s)
	rm -f "$out/check$tag.log" "$out/console$tag.log" "$out/results$tag.log"
	touch "$out/.boot-start"
	HL_CACHE=$KCACHE/$kver HL_MODULE=$ko HL_GUEST_DIR=$guest HL_TOOL=$tool \
		HL_USERLAND=$USERLAND_ARM64 \
		"$RIG" --kver "$kver" --mode check "$@" \
		>"$out/check$tag.log" 2>&1 || rc=$?
	R_TIME[$row]=$(since "$t")
	rigcache=$(cd "$(dirname "$RIG")/../.." && pwd)/.cache/qemu/logs
	for f in console results; do
		if [ "$rigcache/$kver-check.$f.log" -nt "$out/.boot-start" ]; then
			cp "$rigcache/$kver-check.$f.log" "$out/$f$tag.log"
		fi
	done
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out/check$tag.log" | tail -n1 || true)
	if [ -n "$summary" ]; then
		read -r p _ f _ k _ <<<"$summary"
	else
		p=0 f=1 k=0
	fi
	[ "$rc" = 0 ] || [ "$f" -gt 0 ] || f=1	# the rig failed without a count
	R_PASS[$row]=$p R_FAIL[$row]=$f R_SKIP[$row]=$k
	R_PATH[$row]=$(registration "$out/results$tag.log" "$out/console$tag.log")
	total_pass=$((total_pass + p)) total_fail=$((total_fail + f)) total_skip=$((total_skip + k))
	if [ "$f" -gt 0 ]; then
		R_NOTE[$row]="failed: $( { grep -E '^[a-z_]+: not ok ' "$out/check$tag.log" || true; } |
			sed 's/^\([a-z_]*\): not ok [0-9]* \(- \)\{0,1\}/\1:/' | tr '\n' ' ')"
		if [ "$rc" != 0 ]; then
			err=$(grep -E '^run: (error|guest timed out)' "$out/check$tag.log" | tail -n1 || true)
			R_NOTE[$row]+="(rig exit $rc${err:+: $err}; ${out#"$REPO"/}/check$tag.log)"
		fi
	fi
	mlog "$row: $summary (${R_TIME[$row]}s)"
}

# Per suite: the whole guest suite, then boots for what needs a kernel
# command line or a module parameter of its own:
#  - swiotlb: every DMA mapping bounced (swiotlb=force), for the test of an
#    importer that writes (tests/guest/importer.c); on CMA kernels with
#    8 GiB and a 4.1 GiB CMA area, also the restricted buffer larger than
#    4 GiB (tests/guest/restricted_large.c; nokaslr: with the kernel
#    placed above 4 GiB the CMA area may not fit below it);
#  - numa, on kernels with a CMA area (cma=512M): the whole suite boots
#    with one NUMA node there, since the CMA area lies in one node and
#    the memory-pressure tests (stress.c, torture.c) then measure the
#    other node's reclaim, not heapload's; the placed loads of loadv2 get
#    a two-node boot of their own. Other kernels boot two nodes throughout;
#  - initfault (framework path only, where the module cannot be removed
#    to retry): the restricted heap fails to be added at module init
#    (tests/guest/registration.c; on other kernels that test removes and
#    re-inserts the module itself).
for t in "${TARGETS[@]}"; do
	f=$LOGDIR/${t/:/-}
	kver=$(cat "$f.kver" 2>/dev/null || echo "$t")
	if [ ! -f "$f.ko" ]; then
		ROWS+=("$kver")
		R_KVER[$kver]=$kver R_ARCH[$kver]=$(arch_of_flavour "${t#*:}") R_PATH[$kver]=-
		R_PASS[$kver]=0 R_FAIL[$kver]=1 R_SKIP[$kver]=0 R_TIME[$kver]=-
		R_NOTE[$kver]="$(cat "$f.err" 2>/dev/null || echo prepare) failed: ${LOGDIR#"$REPO"/}/${t/:/-}.prepare.log"
		total_fail=$((total_fail + 1))
		continue
	fi
	ko=$(cat "$f.ko")
	cma_arg=
	grep -qx 'CONFIG_CMA=y' "$KCACHE/$kver/boot/config-$kver" 2>/dev/null &&
		cma_arg=cma=512M
	if [ "${t#*:}" != amd64 ]; then
		# Other flavours: the whole guest suite, one boot.
		if [ -n "$cma_arg" ]; then
			boot "$kver" "$kver" "$ko" --numa 1 --append "$cma_arg"
			boot "$kver numa" "$kver" "$ko" --append "$cma_arg hlrig.tests=loadv2"
		else
			boot "$kver" "$kver" "$ko"
		fi
		continue
	fi
	if [ -n "$cma_arg" ]; then
		boot "$kver" "$kver" "$ko" --numa 1 --append "cma=512M"
		boot "$kver numa" "$kver" "$ko" --append "cma=512M hlrig.tests=loadv2"
		# One NUMA node: a CMA area must lie in one zone, and 4200M
		# is more than either half of 8G.
		boot "$kver swiotlb" "$kver" "$ko" --mem 8G --numa 1 \
			--append "cma=4200M nokaslr swiotlb=force hlrig.tests=importer,restricted_large"
	else
		boot "$kver" "$kver" "$ko"
		boot "$kver swiotlb" "$kver" "$ko" \
			--append "swiotlb=force hlrig.tests=importer,restricted_large"
	fi
	if [[ "${R_PATH[$kver]}" == *dma_heap_add* ]]; then
		boot "$kver initfault" "$kver" "$ko" \
			--append "$cma_arg hlrig.fault_heap_add=heapload,restricted hlrig.tests=registration"
	fi
done

echo
printf '%-34s %-5s %-34s %7s %7s %7s %6s\n' boot arch registration passed failed skipped boot_s
for r in "${ROWS[@]}"; do
	printf '%-34s %-5s %-34s %7s %7s %7s %6s\n' "${R_KVER[$r]}" "${R_ARCH[$r]}" "${R_PATH[$r]}" \
		"${R_PASS[$r]}" "${R_FAIL[$r]}" "${R_SKIP[$r]}" "${R_TIME[$r]}"
done
for r in "${ROWS[@]}"; do
	[ -z "${R_NOTE[$r]:-}" ] || echo "# ${R_KVER[$r]}: ${R_NOTE[$r]}"
done
echo "# preparation ${T_PREP}s, total $(since "$T0")s"
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ] && [ "$total_pass" -gt 0 ]
