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
# built with CONFIG_CMA).  The preparation of all suites runs first, in
# parallel; the boots one after the other.  The guest test programs and
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
declare -A R_KVER R_PATH R_PASS R_FAIL R_SKIP R_TIME R_NOTE
total_pass=0 total_fail=0 total_skip=0

# The heap registration the module logged ("heapload: heap NAME: ...
# (HOW)"), from the guest's results or console log.
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

for s in "${RUN_SUITES[@]}"; do
	kver=$(cat "$LOGDIR/$s.kver" 2>/dev/null || echo "$s")
	R_KVER[$s]=$kver R_PATH[$s]=- R_PASS[$s]=0 R_FAIL[$s]=0 R_SKIP[$s]=0 R_TIME[$s]=-
	if [ ! -f "$LOGDIR/$s.ko" ]; then
		R_FAIL[$s]=1
		R_NOTE[$s]="$(cat "$LOGDIR/$s.err" 2>/dev/null || echo prepare) failed: ${LOGDIR#"$REPO"/}/$s.prepare.log"
		total_fail=$((total_fail + 1))
		continue
	fi
	ko=$(cat "$LOGDIR/$s.ko")
	out=$(dirname "$ko")
	append=()
	if grep -qx 'CONFIG_CMA=y' "$KCACHE/$kver/boot/config-$kver" 2>/dev/null; then
		append=(--append "cma=512M")
	fi
	mlog "$s: booting $kver ${append[*]}"
	t=$(date +%s)
	rm -f "$out/check.log" "$out/console.log" "$out/results.log"
	touch "$out/.boot-start"
	rc=0
	HL_CACHE=$KCACHE/$kver HL_MODULE=$ko HL_GUEST_DIR=$GUEST_OUT HL_TOOL=$TOOL \
		"$RIG" --kver "$kver" --mode check "${append[@]}" \
		>"$out/check.log" 2>&1 || rc=$?
	R_TIME[$s]=$(since "$t")
	# The rig keeps its logs per kernel and mode; keep a copy with the module.
	rigcache=$(cd "$(dirname "$RIG")/../.." && pwd)/.cache/qemu/logs
	for f in console results; do
		# Only this run's: a rig that stopped early leaves older logs.
		if [ "$rigcache/$kver-check.$f.log" -nt "$out/.boot-start" ]; then
			cp "$rigcache/$kver-check.$f.log" "$out/$f.log"
		fi
	done
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out/check.log" | tail -n1 || true)
	if [ -n "$summary" ]; then
		read -r p _ f _ k _ <<<"$summary"
	else
		p=0 f=1 k=0
	fi
	[ "$rc" = 0 ] || [ "$f" -gt 0 ] || f=1	# the rig failed without a count
	R_PASS[$s]=$p R_FAIL[$s]=$f R_SKIP[$s]=$k
	R_PATH[$s]=$(registration "$out/results.log" "$out/console.log")
	total_pass=$((total_pass + p)) total_fail=$((total_fail + f)) total_skip=$((total_skip + k))
	if [ "$f" -gt 0 ]; then
		R_NOTE[$s]="failed: $( { grep -E '^[a-z_]+: not ok ' "$out/check.log" || true; } |
			sed 's/^\([a-z_]*\): not ok [0-9]* \(- \)\{0,1\}/\1:/' | tr '\n' ' ')"
		if [ "$rc" != 0 ]; then
			err=$(grep -E '^run: (error|guest timed out)' "$out/check.log" | tail -n1 || true)
			R_NOTE[$s]+="(rig exit $rc${err:+: $err}; ${out#"$REPO"/}/check.log)"
		fi
	fi
	mlog "$s: $summary (${R_TIME[$s]}s)"
done

# -------------------------------------------------------------- summary --
echo
printf '%-24s %-34s %7s %7s %7s %6s\n' kernel registration passed failed skipped boot_s
for s in "${RUN_SUITES[@]}"; do
	printf '%-24s %-34s %7s %7s %7s %6s\n' "${R_KVER[$s]}" "${R_PATH[$s]}" \
		"${R_PASS[$s]}" "${R_FAIL[$s]}" "${R_SKIP[$s]}" "${R_TIME[$s]}"
done
for s in "${RUN_SUITES[@]}"; do
	[ -z "${R_NOTE[$s]:-}" ] || echo "# ${R_KVER[$s]}: ${R_NOTE[$s]}"
done
echo "# preparation ${T_PREP}s, total $(since "$T0")s"
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ] && [ "$total_pass" -gt 0 ]
