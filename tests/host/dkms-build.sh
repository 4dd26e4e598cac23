#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Register the source tree with DKMS, build the module for KVER the way a
# user's machine would, and remove it again. A second build with a
# compiler warning planted in the source must still succeed: users'
# builds never use -Werror. Prints KTAP and a closing line.
# usage: dkms-build.sh KVER
set -uo pipefail

kver=$1
top=$(cd "$(dirname "$0")/../.." && pwd)
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
src=/usr/src/heapload-$ver
# DKMS 3 keeps the log of the last build per kernel and architecture.
makelog=/var/lib/dkms/heapload/$ver/$kver/$(uname -m)/log/make.log
. "$(dirname "$0")/ktap.sh"


ktap_start 4
if [ "$(id -u)" -ne 0 ] || ! command -v dkms >/dev/null; then
	for t in dkms_add dkms_build_for_$kver dkms_build_survives_a_warning dkms_remove; do
		ktap_result skip "$t" "needs root and dkms"
	done
else
	log=$(mktemp)
	dkms remove -m heapload -v "$ver" --all >/dev/null 2>&1
	rm -rf "$src"
	mkdir -p "$src"
	# Only the files DKMS needs, never build products of the work tree.
	(cd "$top" && tar -c --exclude='*.o' --exclude='*.ko' --exclude='*.mod*' \
		--exclude='.*.cmd' --exclude='modules.order' --exclude='Module.symvers' \
		--exclude='generated.h' dkms.conf Makefile module include) | tar -x -C "$src"

	if dkms add -m heapload -v "$ver" >"$log" 2>&1; then
		ktap_result ok dkms_add
	else
		sed 's/^/# /' "$log"; ktap_result fail dkms_add
	fi
	if dkms build -m heapload -v "$ver" -k "$kver" >"$log" 2>&1 &&
	   modinfo -F version "/var/lib/dkms/heapload/$ver/$kver/$(uname -m)/module/heapload.ko"* | grep -qx "$ver"; then
		ktap_result ok "dkms_build_for_$kver"
	else
		sed 's/^/# /' "$log"
		sed 's/^/# /' "$makelog" 2>/dev/null
		ktap_result fail "dkms_build_for_$kver"
	fi
	# A warning a newer compiler might give: an unused static variable.
	echo 'static int heapload_dkms_test_unused;' >>"$src/module/main.c"
	if dkms build -m heapload -v "$ver" -k "$kver" --force >"$log" 2>&1 &&
	   grep -q 'heapload_dkms_test_unused.*-Wunused' "$makelog"; then
		ktap_result ok dkms_build_survives_a_warning
	else
		sed 's/^/# /' "$log"
		grep -E 'error|warning' "$makelog" 2>/dev/null | sed 's/^/# /'
		ktap_result fail dkms_build_survives_a_warning
	fi
	if dkms remove -m heapload -v "$ver" --all >"$log" 2>&1 &&
	   [ ! -e "/var/lib/dkms/heapload/$ver" ]; then
		ktap_result ok dkms_remove
	else
		sed 's/^/# /' "$log"; ktap_result fail dkms_remove
	fi
	rm -rf "$src" "$log"
fi
ktap_finish
