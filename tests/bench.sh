#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The benchmark (`make bench`): build heapload, boot Debian 12's kernel in
# QEMU with a read-only disk of random files (512 KiB, 8 MiB, 1 GiB,
# 3 GiB) and run `heapload bench` there: the loader (one batch, gathered
# direct and buffered, gathered direct on one allocating thread) against
# dma-heap alloc + mmap + read(), memfd + O_DIRECT + udmabuf, and the
# floors (allocation alone, with the module's parameters and on one
# thread, O_DIRECT read alone), page cache dropped before each run.
#
# Writes bench-results/<kver>-<date>.csv (one row per file and method),
# .txt (the tables) and .png (a chart), and prints the tables and whether
# the targets are met: those for the 1 GiB and 3 GiB files, and those of
# allocating on several threads (tests/bench/report.sh lists them).
#
# Environment: HL_BENCH_KVER (a kernel release of the matrix, e.g. Debian
# 13's, instead of Debian 12's), HL_BENCH_FILES (e.g. "bench-512k
# bench-8m"), HL_BENCH_METHODS (e.g. "alloc-only,alloc-only-1t") and
# HL_BENCH_RUNS (default 3) choose the kernel, the files, the methods and
# the runs; HL_BENCH_PROFILE=1 adds the host CPU time of the emulator's
# threads per method, HL_BENCH_TRACE (e.g. "vmap,vunmap") the calls and
# time of those guest kernel functions over the whole run, through the
# function_graph tracer (which slows them: compare traced runs with
# traced runs only; turning it on patches kernel text, and under emulation
# one 6.1 boot stalled there: keep the list short); other arguments go
# to tests/qemu/run.sh (e.g. --mem 16G). Under TCG a full run takes 10 to
# 20 minutes.
#
# Exit status: that of the rig (0: the bench ran, no method failed); the
# targets are reported, not enforced.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

tests/install-deps.sh
kver=$(tests/qemu/setup.sh | tail -n 1)
# HL_BENCH_KVER: another kernel of the matrix (e.g. Debian 13's,
# 6.12.118+deb13-amd64) instead of Debian 12's.
kver=${HL_BENCH_KVER:-$kver}
if ! command -v gnuplot >/dev/null; then
	if [ "$(id -u)" = 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends gnuplot-nox >&2 ||
			echo "bench: gnuplot-nox not installed: no chart" >&2
	else
		echo "bench: gnuplot missing (apt-get install gnuplot-nox): no chart" >&2
	fi
fi

if [ -d "/lib/modules/$kver/build" ]; then
	make module KERNELRELEASE="$kver" WERROR=y
else
	# Another suite's kernel: built as the matrix builds it, in that
	# suite's tree (a test build: its fault injection knobs stay off).
	HL_MODULE=$(HL_MATRIX_SPARSE=0 tests/matrix/build.sh "$kver" | tail -n 1)
	export HL_MODULE
fi
make tools

out=bench-results
stamp=$(date +%Y%m%d-%H%M%S)
base=$out/$kver-$stamp
mkdir -p "$out"

echo "# bench: Debian $kver in QEMU, results in $base.{csv,txt,png}"
# HL_BENCH_PROFILE=1: also the host CPU time of the emulator's threads
# per method (tests/bench/qemu-threads.sh), in $base.threads.txt.
[ "${HL_BENCH_PROFILE:-0}" = 0 ] || export HL_BENCH_THREADS=$PWD/$base.threads.txt
t0=$(date +%s)
set +e
tests/qemu/run.sh --kver "$kver" --mode bench --bench-csv "$PWD/$base.csv" "$@" |
	tee "$base.txt"
rc=${PIPESTATUS[0]}
set -e
echo "# bench: rig finished after $(($(date +%s) - t0)) s (exit $rc)"
if [ ! -s "$base.csv" ]; then
	echo "bench: no CSV came back; see .cache/qemu/logs/$kver-bench.*" >&2
	exit 1
fi
if [ -n "${HL_BENCH_THREADS:-}" ] && [ -s "$HL_BENCH_THREADS" ]; then
	echo "# host CPU seconds of the emulator's threads per method (all runs):"
	column -t "$HL_BENCH_THREADS" | tee -a "$base.txt"
fi
tests/bench/report.sh "$base.csv" "$base.png" \
	"Debian $kver in QEMU (TCG), median of ${HL_BENCH_RUNS:-3} runs, $stamp" || rc=1
exit "$rc"
