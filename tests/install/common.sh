# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Shared helpers of make check-install (tests/install/*.sh); sourced, not
# run. The chroot runner in_root, the host's archive (debian_mirror) and
# the log helpers mlog and mdie come from the kernel matrix's helpers.

# shellcheck disable=SC2034 # read by the matrix helpers' messages
MATRIX_TOOL=check-install
# shellcheck source=tests/matrix/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../matrix/common.sh"

INSTALL_CACHE=${HL_INSTALL_CACHE:-/var/cache/heapload-rig/install}

# host_install PKG...: install the host packages that are missing;
# refreshes apt's lists once if the first try fails.
host_install() {
	local p missing=()
	for p; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	mlog "installing on the host: ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}" >&2 && return 0
	apt-get update -q >&2 &&
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}" >&2
}

# No daemon may start inside a chroot: package scripts ask policy-rc.d.
install_policy_rc_d() {
	printf '#!/bin/sh\nexit 101\n' >"$1/usr/sbin/policy-rc.d"
	chmod 0755 "$1/usr/sbin/policy-rc.d"
}

# Path of the model file the guest loads (Debian's tesseract-ocr-script-latn).
latin_model() {
	dpkg -L tesseract-ocr-script-latn 2>/dev/null |
		grep '/Latin\.traineddata$' | head -n1
}
