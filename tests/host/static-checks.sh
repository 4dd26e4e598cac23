#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Static checks of the kernel sources against the headers of KVER:
# sparse, kernel-doc, and the rule that only the compat layer may look at
# kernel versions. Prints KTAP and a closing line.
# usage: static-checks.sh KVER
set -uo pipefail

kver=$1
top=$(cd "$(dirname "$0")/../.." && pwd)
kdir=/lib/modules/$kver/build
. "$(dirname "$0")/ktap.sh"
log=$(mktemp)
trap 'rm -f "$log"' EXIT

ktap_start 5

# sparse: C=2 checks every file whether or not it is rebuilt.
if command -v sparse >/dev/null; then
	make -C "$top" module KERNELRELEASE="$kver" DEBUG=y >/dev/null 2>&1
	make -C "$kdir" M="$top/module" C=2 HEAPLOAD_DEBUG=y modules 2>&1 |
		grep -E '^[^ ].*: (warning|error):' > "$log"
	if [ -s "$log" ]; then sed 's/^/# /' "$log"; ktap_result fail sparse_clean; else ktap_result ok sparse_clean; fi
else
	ktap_result skip sparse_clean "sparse is not installed"
fi

kdoc=$(ls "$kdir"/scripts/kernel-doc /usr/src/linux-headers-*-common/scripts/kernel-doc 2>/dev/null | head -n 1)
if [ -n "$kdoc" ]; then
	perl "$kdoc" -none "$top"/module/*.c "$top"/module/*.h \
		"$top"/include/uapi/linux/heapload.h "$top"/tools/libheapload.h > "$log" 2>&1
	if grep -qiE 'warning|error' "$log"; then
		sed 's/^/# /' "$log"
		ktap_result fail kernel_doc_clean
	else
		ktap_result ok kernel_doc_clean
	fi
else
	ktap_result skip kernel_doc_clean "no scripts/kernel-doc in the headers of $kver"
fi

# Kernel differences belong in module/compat/ only.
grep -rnE 'LINUX_VERSION_CODE|KERNEL_VERSION\(' "$top/module" --include='*.[ch]' |
	grep -v "^$top/module/compat/" > "$log"
if [ -s "$log" ]; then
	sed 's/^/# /' "$log"
	ktap_result fail no_version_checks_outside_compat
else
	ktap_result ok no_version_checks_outside_compat
fi

# Fault injection (debugfs files, the fault_heap_add parameter) and the
# other test-only debugfs files (inspect, importer_write, importer_hold,
# ...) exist in test builds (DEBUG=y) only: a production build, what DKMS
# makes, has none.
prod=$(mktemp -d)
cp -r "$top/dkms.conf" "$top/Makefile" "$top/module" "$top/include" "$prod/"
find "$prod/module" \( -name '*.o' -o -name '*.ko' -o -name '*.mod*' -o -name '.*.cmd' \) -delete
if make -C "$prod" module KERNELRELEASE="$kver" DEBUG=n >"$log" 2>&1; then
	# Debug info names struct fields; only the module's own strings count.
	objcopy --strip-debug "$prod/module/heapload.ko" "$prod/stripped.ko"
	strings "$prod/stripped.ko" |
		grep -wE 'fault_alloc_after|fault_read_short_after|fault_read_error_after|race_after_submit|planted_bug|inspect|importer_write|importer_hold|fault_heap_add|heapload-test-importer' |
		sort -u >"$log"
	if [ -s "$log" ]; then
		sed 's/^/# test-only debugfs file in a production build: /' "$log"
		ktap_result fail production_build_has_no_test_knobs
	else
		ktap_result ok production_build_has_no_test_knobs
	fi
else
	tail -n 20 "$log" | sed 's/^/# /'
	ktap_result fail production_build_has_no_test_knobs
fi
rm -rf "$prod"

# A 32-bit kernel would truncate lengths and offsets: Kbuild must refuse
# it with a reason (dkms.conf's BUILD_EXCLUSIVE_CONFIG keeps DKMS away).
if make -C "$kdir" M="$top/module" CONFIG_64BIT= modules >"$log" 2>&1; then
	ktap_result fail kbuild_refuses_32bit_kernel
elif grep -q 'heapload needs a 64-bit kernel' "$log"; then
	ktap_result ok kbuild_refuses_32bit_kernel
else
	tail -n 5 "$log" | sed 's/^/# /'
	ktap_result fail kbuild_refuses_32bit_kernel
fi

ktap_finish
