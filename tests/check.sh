#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The whole test suite: host unit tests, a DKMS build of the module, then
# the guest suite in QEMU on Debian 12's own kernel. Installs what it needs
# on a fresh Debian 12 machine. Prints one closing line
# "N passed, N failed, N skipped" and exits non-zero on any failure.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

passed=0 failed=0 skipped=0

# Add the counts of a component's closing line to the totals; a component
# that printed none counts as one failure.
tally() {
	local name=$1 log=$2 line
	line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$log" | tail -n 1 || true)
	if [ -z "$line" ]; then
		echo "not ok - $name printed no result line"
		failed=$((failed + 1))
		return
	fi
	line=${line#*: }
	set -- $(echo "$line" | tr -dc '0-9 ')
	passed=$((passed + $1))
	failed=$((failed + $2))
	skipped=$((skipped + ${3:-0}))
}

tests/install-deps.sh
kver=$(tests/qemu/setup.sh | tail -n 1)
echo "# kernel under test: $kver"

make module KERNELRELEASE="$kver" WERROR=y DEBUG=y
make tools WERROR=y
make guest-tests

log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "# host: unit tests"
make -s -C tools check WERROR=y 2>&1 | tee "$log" || true
tally tools-unit "$log"
make -s -C tests host-check 2>&1 | tee "$log" || true
tally host-uapi "$log"

echo "# host: static checks against $kver"
tests/host/static-checks.sh "$kver" 2>&1 | tee "$log" || true
tally static "$log"

echo "# host: man pages against their sources"
tests/host/man-check.sh 2>&1 | tee "$log" || true
tally man "$log"

echo "# host: one version everywhere"
tests/host/version-check.sh module/heapload.ko 2>&1 | tee "$log" || true
tally version "$log"

echo "# host: plain Kbuild builds against $kver"
tests/host/kbuild-check.sh "$kver" 2>&1 | tee "$log" || true
tally kbuild "$log"

echo "# host: DKMS build against $kver"
tests/host/dkms-build.sh "$kver" 2>&1 | tee "$log" || true
tally dkms "$log"

echo "# host: Debian packages"
tests/host/deb-build.sh 2>&1 | tee "$log" || true
tally deb "$log"

echo "# guest: Debian $kver in QEMU"
tests/qemu/run.sh --kver "$kver" --mode check 2>&1 | tee "$log" || true
tally guest "$log"

# Debian's kernels zero every page on allocation (init_on_alloc), which
# hides whether heapload zeroes what the file does not cover. Boot once
# more without it, for the tests that need dirty pages.
echo "# guest: Debian $kver in QEMU with init_on_alloc=0 (dirty pages)"
dirty=$(mktemp -d)
cp tests/build/guest/gather "$dirty/"
HL_GUEST_DIR=$dirty tests/qemu/run.sh --kver "$kver" --mode check \
	--append init_on_alloc=0 2>&1 | tee "$log" || true
rm -rf "$dirty"
tally guest-dirty-pages "$log"

# The README's demo, as a user runs it: the model loaded into a dma-buf
# must be usable, tesseract reading a rendered line from it.
echo "# guest: the demo (tesseract on the model in a dma-buf) on $kver"
demo="0 passed, 1 failed, 0 skipped"
if make -s -C tools/examples WERROR=y 2>&1 &&
   tests/qemu/run.sh --kver "$kver" --mode demo 2>&1; then
	demo="1 passed, 0 failed, 0 skipped"
fi
echo "demo: $demo" | tee "$log"
tally demo "$log"

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
