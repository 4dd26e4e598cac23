#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the Debian packages from a clean copy of the committed tree and
# check what they contain. Prints KTAP and a closing line.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
. "$(dirname "$0")/ktap.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT


# contains DEB PATH: the package holds PATH
contains() {
	dpkg-deb -c "$1" | awk '{print $NF}' | grep -qx "./${2#/}"
}

ktap_start 3
if ! command -v dpkg-buildpackage >/dev/null || ! dpkg -s dh-dkms >/dev/null 2>&1; then
	for t in debian_packages_build dkms_package_holds_source tools_package_holds_command; do
		ktap_result skip "$t" "dpkg-dev and dh-dkms are not installed"
	done
else
	mkdir -p "$work/src"
	if [ -d "$top/.git" ]; then
		git -C "$top" archive HEAD | tar -x -C "$work/src"
	else
		cp -r "$top"/. "$work/src"
	fi
	if (cd "$work/src" && dpkg-buildpackage -us -uc -b) > "$work/log" 2>&1; then
		ktap_result ok debian_packages_build
	else
		tail -n 30 "$work/log" | sed 's/^/# /'
		ktap_result fail debian_packages_build
	fi
	dkms_deb=$work/heapload-dkms_${ver}_all.deb
	tools_deb=$(ls "$work"/heapload-tools_"$ver"_*.deb 2>/dev/null | head -n 1)
	if [ -f "$dkms_deb" ] &&
	   contains "$dkms_deb" "/usr/src/heapload-$ver/dkms.conf" &&
	   contains "$dkms_deb" "/usr/src/heapload-$ver/module/Kbuild" &&
	   contains "$dkms_deb" "/usr/src/heapload-$ver/include/uapi/linux/heapload.h" &&
	   ! dpkg-deb -c "$dkms_deb" | grep -q 'generated\.h\|\.ko$'; then
		ktap_result ok dkms_package_holds_source
	else
		ktap_result fail dkms_package_holds_source
	fi
	if [ -n "$tools_deb" ] && contains "$tools_deb" /usr/bin/heapload; then
		ktap_result ok tools_package_holds_command
	else
		ktap_result fail tools_package_holds_command
	fi
fi
ktap_finish
