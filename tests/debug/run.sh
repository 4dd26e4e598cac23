#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check-debug: the whole guest suite on a debug kernel.
#
#   tests/debug/run.sh
#
# Builds (once, cached: tests/debug/kernel.sh) Debian 12's kernel source
# with KASAN, KFENCE, UBSAN, lockdep, kmemleak, debug objects, DMA-API
# debugging and fault injection; builds heapload against it DKMS-style
# (a copy of the sources, WERROR=y, DEBUG=y for the test-only debugfs
# files); boots it in the QEMU rig and runs every guest test program.
# Prints the debug options of the kernel it booted.
#
# First the harness's self-test: a boot in which heapload (test build)
# commits three planted bugs, an out-of-bounds read, a lock-order
# inversion and a leak; each report must be found on the console. Then
# the suite (with up to 4 allocating threads), and a boot with every DMA
# mapping bounced (swiotlb=force) for the importer test.
#
# Pass means: every test passes, and the console shows no report of a
# checker (tests/debug/reports.sh: KASAN, KFENCE, UBSAN, lockdep,
# DEBUG_OBJECTS, DMA-API, kmemleak, BUG:, WARNING:), counted as one more
# test, console_clean. The guest itself also scans kmemleak and its log at
# the end (kernel_log_clean). Ends with "N passed, N failed, N skipped";
# exit status 1 on any failure.
#
# Environment: HL_RIG_CACHE (see kernel.sh), HL_DEBUG_TIMEOUT (seconds
# for the guest, default 5400).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${HL_RIG_CACHE:-/var/cache/heapload-rig}
TIMEOUT=${HL_DEBUG_TIMEOUT:-5400}
# Under software emulation the debug kernel's boot alone keeps a CPU busy
# for over 20 s (KASAN and kmemleak set-up, ACPI's AML interpreter): the
# soft-lockup detector's 20 s and the RCU stall detector's 21 s would
# report emulation, not heapload (both seen before heapload was even
# loaded). Both get 120 s; real lockups and stalls are still reported.
APPEND="watchdog_thresh=60 rcupdate.rcu_cpu_stall_timeout=120"
# shellcheck source=tests/debug/reports.sh
. "$HERE/reports.sh"

log() { echo "check-debug: $*" >&2; }
fail_early() {
	echo "not ok - $*"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
}

[ "$(id -u)" = 0 ] || fail_early "must run as root"
T0=$(date +%s)
"$REPO/tests/install-deps.sh" >&2 || fail_early "tests/install-deps.sh failed"
# The rig's host tools (QEMU, busybox, ...); the kernel it prints is not ours.
"$REPO/tests/qemu/setup.sh" >/dev/null || fail_early "tests/qemu/setup.sh failed"
TREE=$("$HERE/kernel.sh" | tail -n 1) || fail_early "the debug kernel did not build"
KVER=$(cat "$TREE/kver")
KDIR=$TREE/lib/modules/$KVER/build
T_KERNEL=$(( $(date +%s) - T0 ))
log "debug kernel $KVER ready after ${T_KERNEL}s"

# The module from a copy of the sources, as DKMS would build it.
mkdir -p "$CACHE"
WORK=$(mktemp -d "$CACHE/check-debug.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/src" "$WORK/guest"
(cd "$REPO" && cp -r dkms.conf Makefile module include "$WORK/src/")
if ! make -C "$WORK/src" module KERNELRELEASE="$KVER" KDIR="$KDIR" WERROR=y \
		DEBUG=y >"$WORK/build.log" 2>&1; then
	tail -n 30 "$WORK/build.log" >&2
	fail_early "heapload did not build against $KVER"
fi
make -s -C "$REPO/tests" guest GUEST_OUT="$WORK/guest" >&2 ||
	fail_early "the guest tests did not build"
make -s -C "$REPO/tools" heapload >&2 || log "the heapload command did not build"

echo "# debug kernel $KVER, options:"
debug_options "$TREE/boot/config-$KVER" | sed 's/^/#   /'

# The harness's self-test: a boot in which heapload commits its planted
# bugs; each must show up on the console as what reports_in() finds.
passed=0 failed=0
run_rig() {
	HL_CACHE=$TREE HL_MODULE=$WORK/src/module/heapload.ko \
	HL_GUEST_DIR=$WORK/guest "$REPO/tests/qemu/run.sh" --kver "$KVER" "$@"
}
planted=$REPO/.cache/qemu/logs/$KVER-planted.console.log
rm -f "$planted"
# No KFENCE sampling here: it could catch the out-of-bounds read first.
run_rig --mode planted --timeout 900 --append "$APPEND kfence.sample_interval=0" \
	>"$WORK/planted.out" 2>&1
if ! grep -qx '# planted_bug oob' "$WORK/planted.out"; then
	echo "# the planted boot never reached the last bug:"
	tail -n 20 "$WORK/planted.out" | sed 's/^/#   /'
	: >"$planted"	# judge nothing from a boot that did not plant
fi
# A planted bug counts as reported when a report's first line (one that
# reports_in() finds) is followed, within its trace, by the function that
# planted it.
planted_reported() {
	reports_in "$planted" 2>/dev/null | grep -A30 -F "$1" | grep -qF "$2"
}
for bug in "oob|BUG: KASAN: slab-out-of-bounds|planted_oob" \
	   "lock_inversion|WARNING: possible circular locking dependency|planted_lock_inversion" \
	   "leak|unreferenced object|planted_leak"; do
	IFS='|' read -r name first frame <<<"$bug"
	if planted_reported "$first" "$frame"; then
		echo "ok - harness_reports_planted_$name"
		passed=$((passed + 1))
	else
		echo "# no \"$first\" report from $frame on $planted"
		echo "not ok - harness_reports_planted_$name"
		failed=$((failed + 1))
	fi
done

# suite_boot NAME ARGS...: one boot of the rig in check mode; its counts,
# plus one result for a console without checker reports (NAME_console_clean
# for the extra boots).
skipped=0
suite_boot() {
	local name=$1 out=$WORK/$1.out summary rig_status clean=console_clean
	shift
	[ "$name" = suite ] || clean=${name}_console_clean
	console=$REPO/.cache/qemu/logs/$KVER-check.console.log
	rm -f "$console"
	run_rig --mode check "$@" | tee "$out"
	rig_status=${PIPESTATUS[0]}

	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out" | tail -n 1)
	[ -n "$summary" ] || summary="0 passed, 1 failed, 0 skipped"
	set -- $(echo "$summary" | tr -dc '0-9 ')
	passed=$((passed + $1)) failed=$((failed + $2)) skipped=$((skipped + $3))
	if [ "$rig_status" -ne 0 ] && [ "$2" -eq 0 ]; then
		echo "not ok - the rig exited with $rig_status but reported no failure"
		failed=$((failed + 1))
	fi
	if [ -f "$console" ] && ! reports_in "$console" >"$WORK/reports"; then
		echo "ok - $clean"
		passed=$((passed + 1))
	else
		[ -f "$console" ] || echo "# no console log $console"
		sed 's/^/# /' "$WORK/reports" 2>/dev/null | head -n 60
		echo "not ok - $clean"
		failed=$((failed + 1))
	fi
}

# The suite with up to 4 allocating threads (alloc_threads; the rig's
# nodes have one CPU each, where the default is 1): the checkers watch the
# helpers, their hand-off to the readers and their teardown on errors,
# kills and fault injection, in every test that allocates two batches or
# more. The other boots of the test commands keep the default.
suite_boot suite --timeout "$TIMEOUT" \
	--append "$APPEND hlrig.heapload_params=alloc_threads=4"
# Every DMA mapping bounced, DMA-API debugging watching: an importer that
# writes (tests/guest/importer.c).
suite_boot swiotlb --timeout 900 \
	--append "$APPEND swiotlb=force hlrig.tests=importer"
log "total $(( $(date +%s) - T0 ))s (kernel ${T_KERNEL}s)"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
