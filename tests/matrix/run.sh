#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernel matrix: build heapload for Debian 12, 13 and sid's current
# kernels and run the guest suite on each in QEMU.
#
#   tests/matrix/run.sh [SUITE...]      default: bookworm trixie sid
#
# Per suite: the kernel (bookworm: tests/qemu/setup.sh, the host's own
# release, headers installed on the host; others: tests/matrix/fetch.sh),
# the module (tests/matrix/build.sh: DKMS-style build with WERROR=y, in the
# suite's debootstrap tree with the kernel's compiler, plus sparse), then
# tests/qemu/run.sh --mode check with that module (and cma=512M on kernels
# built with CONFIG_CMA), then the extra boots described below (swiotlb,
# initfault), each a row of its own.  The preparation of all suites runs
# first, in parallel; the boots one after the other.  The guest test programs and
# the heapload command are built from copies under .cache/matrix, so the
# working tree gets no build products.
#
# Prints one table (kernel, heap registration path as the module logged
# it, passed, failed, skipped) and the closing line
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
if [ $# -gt 0 ]; then RUN_SUITES=("$@"); else RUN_SUITES=("${SUITES[@]}"); fi
for s in "${RUN_SUITES[@]}"; do check_suite "$s"; done
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
if make -s -C "$TOOLS_SRC/tools" heapload >"$LOGDIR/tools.log" 2>&1; then
	TOOL=$TOOLS_SRC/tools/heapload
else
	mlog "the heapload command did not build (tests that need it may skip): $LOGDIR/tools.log"
	TOOL=$TOOLS_SRC/tools/none
fi

# --------------------------------------------------------- preparation --
# kernel + module per suite; results in $LOGDIR/SUITE.{kver,ko,err}.
prepare() {
	local suite=$1 kver ko
	rm -f "$LOGDIR/$suite".{kver,ko,err}
	if [ "$suite" = bookworm ]; then
		kver=$BOOKWORM_KVER
	else
		kver=$("$MATRIX_DIR/fetch.sh" "$suite" | tail -n1) || {
			echo "fetch" >"$LOGDIR/$suite.err"; return 1; }
	fi
	echo "$kver" >"$LOGDIR/$suite.kver"
	ko=$("$MATRIX_DIR/build.sh" "$kver" | tail -n1) || {
		echo "build" >"$LOGDIR/$suite.err"; return 1; }
	echo "$ko" >"$LOGDIR/$suite.ko"
}

declare -A PREP_PID PREP_T
for s in "${RUN_SUITES[@]}"; do
	mlog "$s: preparing (log: ${LOGDIR#"$REPO"/}/$s.prepare.log)"
	PREP_T[$s]=$(date +%s)
	prepare "$s" >"$LOGDIR/$s.prepare.log" 2>&1 &
	PREP_PID[$s]=$!
done
for s in "${RUN_SUITES[@]}"; do
	if wait "${PREP_PID[$s]}"; then
		mlog "$s: kernel $(cat "$LOGDIR/$s.kver"), module built ($(since "${PREP_T[$s]}")s)"
	else
		mlog "$s: preparation failed at $(cat "$LOGDIR/$s.err" 2>/dev/null || echo '?'):"
		tail -n 25 "$LOGDIR/$s.prepare.log" | sed 's/^/    /' >&2
	fi
done
T_PREP=$(since "$T0")

# ---------------------------------------------------------------- boots --
# One row per boot: the suite's full suite, then its extra boots.
ROWS=()
declare -A R_KVER R_PATH R_PASS R_FAIL R_SKIP R_TIME R_NOTE
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
	shift 3
	out=$(dirname "$ko")
	tag=${row#"$kver"}
	tag=${tag# }
	tag=${tag:+-${tag//[^a-z0-9]/_}}
	ROWS+=("$row")
	R_KVER[$row]=$row R_PATH[$row]=- R_TIME[$row]=-
	mlog "$row: booting $*"
	t=$(date +%s)
	rm -f "$out/check$tag.log" "$out/console$tag.log" "$out/results$tag.log"
	touch "$out/.boot-start"
	HL_CACHE=$KCACHE/$kver HL_MODULE=$ko HL_GUEST_DIR=$GUEST_OUT HL_TOOL=$TOOL \
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
#  - initfault (framework path only, where the module cannot be removed
#    to retry): the restricted heap fails to be added at module init
#    (tests/guest/registration.c; on other kernels that test removes and
#    re-inserts the module itself).
for s in "${RUN_SUITES[@]}"; do
	kver=$(cat "$LOGDIR/$s.kver" 2>/dev/null || echo "$s")
	if [ ! -f "$LOGDIR/$s.ko" ]; then
		ROWS+=("$kver")
		R_KVER[$kver]=$kver R_PATH[$kver]=- R_PASS[$kver]=0 R_FAIL[$kver]=1 R_SKIP[$kver]=0 R_TIME[$kver]=-
		R_NOTE[$kver]="$(cat "$LOGDIR/$s.err" 2>/dev/null || echo prepare) failed: ${LOGDIR#"$REPO"/}/$s.prepare.log"
		total_fail=$((total_fail + 1))
		continue
	fi
	ko=$(cat "$LOGDIR/$s.ko")
	cma_arg=
	grep -qx 'CONFIG_CMA=y' "$KCACHE/$kver/boot/config-$kver" 2>/dev/null &&
		cma_arg=cma=512M
	if [ -n "$cma_arg" ]; then
		boot "$kver" "$kver" "$ko" --append "cma=512M"
		boot "$kver swiotlb" "$kver" "$ko" --mem 8G \
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
printf '%-34s %-34s %7s %7s %7s %6s\n' boot registration passed failed skipped boot_s
for r in "${ROWS[@]}"; do
	printf '%-34s %-34s %7s %7s %7s %6s\n' "${R_KVER[$r]}" "${R_PATH[$r]}" \
		"${R_PASS[$r]}" "${R_FAIL[$r]}" "${R_SKIP[$r]}" "${R_TIME[$r]}"
done
for r in "${ROWS[@]}"; do
	[ -z "${R_NOTE[$r]:-}" ] || echo "# ${R_KVER[$r]}: ${R_NOTE[$r]}"
done
echo "# preparation ${T_PREP}s, total $(since "$T0")s"
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ] && [ "$total_pass" -gt 0 ]
