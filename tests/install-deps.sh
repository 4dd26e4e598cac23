#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build dependencies of the module, the tools and the tests, from Debian's
# archive. Idempotent: installs only what is missing. (The QEMU rig's own
# packages and the kernel under test come from tests/qemu/setup.sh.)
set -euo pipefail

pkgs=(gcc g++ make pkg-config libkmod-dev libssl-dev dkms kmod sparse
      debhelper dh-dkms dpkg-dev fakeroot lintian groff-base man-db
      libtesseract-dev pango1.0-tools fonts-dejavu-core)
missing=()
for p in "${pkgs[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: need root to install: ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
