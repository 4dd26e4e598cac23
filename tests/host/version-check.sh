#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# One version for the whole tree: PACKAGE_VERSION in dkms.conf. The
# Debian changelog, the module's MODULE_VERSION (modinfo of a built
# module), the command's --version, the pkg-config file and the README's
# status line must all say the same. Prints KTAP and a closing line.
# usage: version-check.sh [MODULE.ko]
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
ko=${1:-$top/module/heapload.ko}
. "$(dirname "$0")/ktap.sh"
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")

# same NAME GOT: GOT must be the dkms.conf version
same() {
	if [ -n "$ver" ] && [ "$2" = "$ver" ]; then
		ktap_result ok "$1"
	else
		echo "# dkms.conf says '$ver', $1 says '$2'"
		ktap_result fail "$1"
	fi
}

ktap_start 5
if command -v dpkg-parsechangelog >/dev/null; then
	same debian_changelog_version "$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)"
else
	ktap_result skip debian_changelog_version "dpkg-parsechangelog (dpkg-dev) is not installed"
fi
if [ -f "$ko" ]; then
	same module_version "$(modinfo -F version "$ko")"
else
	ktap_result skip module_version "no built module at $ko"
fi
if [ -x "$top/tools/heapload" ]; then
	same command_version "$("$top/tools/heapload" --version | grep -oE '[0-9]+\.[0-9]+\.[0-9]+[^ ]*' | head -n 1)"
else
	ktap_result skip command_version "tools/heapload is not built"
fi
pc=$(mktemp -d)
if make -s -C "$top/tools" install-dev DESTDIR="$pc" >/dev/null 2>&1; then
	same pkg_config_version "$(sed -n 's/^Version: //p' "$pc"/usr/lib/pkgconfig/libheapload.pc)"
else
	ktap_result fail pkg_config_version
fi
rm -rf "$pc"
same readme_status_version "$(sed -n 's/^Status: version \([^ ]*\)\..*/\1/p' "$top/README.md" | head -n 1)"
ktap_finish
