# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Sourced by tests/qemu/setup.sh and tests/matrix/fetch.sh: the one way a
# Debian kernel's packages become the tree the QEMU rig boots from.
#
# unpack_kernel_tree KVER TREE DEB...
#   Unpacks the packages into TREE: boot/vmlinuz-KVER (and System.map,
#   config), lib/modules/KVER with a fresh modules.dep. Built in TREE.part
#   and renamed, so a crash never leaves a half tree that a later run would
#   take for complete. Returns non-zero, with a message, on failure.

unpack_kernel_tree() {
	local kver=$1 tree=$2 deb f
	shift 2

	mkdir -p "$(dirname "$tree")"
	rm -rf "$tree.part"
	for deb in "$@"; do
		dpkg-deb -x "$deb" "$tree.part" || return 1
	done
	# Debian 14 ships vmlinuz, System.map and config in
	# usr/lib/modules/KVER/ (boot/ is made by a hook): link them.
	for f in vmlinuz System.map config; do
		if [ ! -e "$tree.part/boot/$f-$kver" ] &&
		   [ -f "$tree.part/usr/lib/modules/$kver/$f" ]; then
			mkdir -p "$tree.part/boot"
			ln -s "../usr/lib/modules/$kver/$f" "$tree.part/boot/$f-$kver"
		fi
	done
	if [ ! -f "$tree.part/boot/vmlinuz-$kver" ]; then
		echo "no boot/vmlinuz-$kver in $*" >&2
		return 1
	fi
	# Debian 13 and later ship modules under usr/lib/modules; depmod and
	# the rig look under lib/modules.
	if [ ! -d "$tree.part/lib/modules/$kver" ] &&
	   [ -d "$tree.part/usr/lib/modules/$kver" ]; then
		mkdir -p "$tree.part/lib"
		ln -s ../usr/lib/modules "$tree.part/lib/modules"
	fi
	# The packages ship no modules.dep (the postinst makes it): make it.
	depmod -b "$tree.part" -F "$tree.part/boot/System.map-$kver" "$kver" ||
		return 1
	rm -rf "$tree"
	mv "$tree.part" "$tree"
}
