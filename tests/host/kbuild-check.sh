#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The module through plain Kbuild, as build systems that package kernel
# modules run it ("make -C KDIR M=.../module", no top-level Makefile): it
# builds from a fresh copy of the sources, writes the same compat/generated.h
# as "make module", rebuilds nothing the second time, refuses kernels it
# cannot serve with one line saying why, and "clean" removes what it wrote.
# The refusals run against a copy of the kernel's build tree (symbolic links
# but for the files changed) with one option dropped or an older version.
# Prints KTAP and a closing line.
# usage: kbuild-check.sh [KVER]   (default: the first kernel with a build tree)
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/ktap.sh"

tests=(plain_kbuild_builds_module plain_kbuild_generated_h_as_make_module
	plain_kbuild_second_build_compiles_nothing
	refuses_without_dma_shared_buffer refuses_32bit refuses_before_6_1
	plain_kbuild_clean_removes_generated_h)

kver=${1:-}
if [ -z "$kver" ]; then
	for d in /lib/modules/*/build; do
		[ -f "$d/Makefile" ] && { kver=$(basename "$(dirname "$d")"); break; }
	done
fi
kdir=/lib/modules/$kver/build

ktap_start ${#tests[@]}
if [ -z "$kver" ] || [ ! -f "$kdir/Makefile" ]; then
	for t in "${tests[@]}"; do
		ktap_result skip "$t" "no kernel build tree in /lib/modules/*/build"
	done
	ktap_finish
	exit
fi
echo "# kernel build tree: $kdir"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
jobs=$(nproc)

# The sources as a release archive has them: no build products.
fresh_copy() {
	mkdir -p "$1"
	(cd "$top" && tar -c --exclude='*.o' --exclude='*.ko' --exclude='*.mod' \
		--exclude='*.mod.c' --exclude='.*.cmd' --exclude='modules.order' \
		--exclude='Module.symvers' --exclude='generated.h' \
		dkms.conf Makefile module include) | tar -x -C "$1"
}

# Print the log indented as KTAP diagnostics, at most its last 40 lines.
show() {
	tail -n 40 "$1" | sed 's/^/# /'
}

# a) A plain build from a fresh copy, then "make module" in another copy.
plain=$tmp/plain viamake=$tmp/make
fresh_copy "$plain"
fresh_copy "$viamake"
make -C "$kdir" M="$plain/module" -j"$jobs" >"$tmp/plain.log" 2>&1
rc=$?
if [ $rc -eq 0 ] && [ -f "$plain/module/heapload.ko" ]; then
	ktap_result ok plain_kbuild_builds_module
else
	show "$tmp/plain.log"
	ktap_result fail plain_kbuild_builds_module
fi

make -C "$viamake" module KERNELRELEASE="$kver" KDIR="$kdir" -j"$jobs" \
	>"$tmp/make.log" 2>&1
if [ -f "$plain/module/compat/generated.h" ] &&
   cmp -s "$plain/module/compat/generated.h" "$viamake/module/compat/generated.h"; then
	ktap_result ok plain_kbuild_generated_h_as_make_module
else
	show "$tmp/make.log"
	diff "$viamake/module/compat/generated.h" "$plain/module/compat/generated.h" 2>&1 |
		sed 's/^/# /'
	ktap_result fail plain_kbuild_generated_h_as_make_module
fi

make -C "$kdir" M="$plain/module" -j"$jobs" >"$tmp/again.log" 2>&1
rc=$?
if [ $rc -eq 0 ] && ! grep -qE '^ +CC ' "$tmp/again.log"; then
	ktap_result ok plain_kbuild_second_build_compiles_nothing
else
	show "$tmp/again.log"
	ktap_result fail plain_kbuild_second_build_compiles_nothing
fi

# b) Refusals. A copy of the build tree: links to every entry but the
# Makefile (and, in the object tree, include/config/auto.conf).
farm() {
	local from to=$2
	from=$(readlink -f "$1")
	mkdir -p "$to"
	find "$from" -mindepth 1 -maxdepth 1 ! -name Makefile -exec ln -s -t "$to" {} +
}

# fake_tree DIR SED-FOR-AUTO.CONF SED-FOR-MAKEFILE
fake_tree() {
	local dir=$1 obj srcmk
	obj=$(readlink -f "$kdir")
	# Debian's build trees are split: the per-flavour tree's Makefile
	# includes the common tree's, which sets srctree from where it lies.
	srcmk=$(sed -n 's/^include \(\/.*\/Makefile\)$/\1/p' "$obj/Makefile")
	farm "$obj" "$dir/obj"
	rm "$dir/obj/include"
	farm "$obj/include" "$dir/obj/include"
	rm "$dir/obj/include/config"
	farm "$obj/include/config" "$dir/obj/include/config"
	rm "$dir/obj/include/config/auto.conf"
	sed "$2" "$obj/include/config/auto.conf" >"$dir/obj/include/config/auto.conf"
	if [ -n "$srcmk" ]; then
		farm "$(dirname "$srcmk")" "$dir/src"
		sed "$3" "$srcmk" >"$dir/src/Makefile"
		echo "include $dir/src/Makefile" >"$dir/obj/Makefile"
	else
		sed "$3" "$obj/Makefile" >"$dir/obj/Makefile"
	fi
	echo "$dir/obj"
}

# refusal NAME SED-FOR-AUTO.CONF SED-FOR-MAKEFILE MESSAGE
refusal() {
	local name=$1 fake copy=$tmp/$1 rc errors
	fake=$(fake_tree "$tmp/$name-kernel" "$2" "$3")
	fresh_copy "$copy"
	make -C "$fake" M="$copy/module" -j"$jobs" >"$tmp/$name.log" 2>&1
	rc=$?
	# make's own error lines: "FILE:LINE: *** MESSAGE.  Stop."
	errors=$(sed -n 's/^[^ ]*Kbuild:[0-9]*: \*\*\* \(.*\)\.  Stop\.$/\1/p' "$tmp/$name.log")
	if [ $rc -ne 0 ] && [ "$errors" = "$4" ] &&
	   ! grep -qE '^ +(CC|UPD) ' "$tmp/$name.log"; then
		ktap_result ok "$name"
	else
		echo "# expected the one error: $4"
		show "$tmp/$name.log"
		ktap_result fail "$name"
	fi
}

refusal refuses_without_dma_shared_buffer '/^CONFIG_DMA_SHARED_BUFFER=/d' '' \
	'heapload needs CONFIG_DMA_SHARED_BUFFER, which this kernel is built without'
refusal refuses_32bit '/^CONFIG_64BIT=/d' '' \
	'heapload needs a 64-bit kernel (CONFIG_64BIT): its lengths and offsets would be truncated in a 32-bit size_t'
refusal refuses_before_6_1 '' 's/^VERSION = .*/VERSION = 5/; s/^PATCHLEVEL = .*/PATCHLEVEL = 15/' \
	'heapload needs Linux 6.1 or later, this kernel is 5.15'

# c) Plain Kbuild's clean, in the copy built through "make module".
had=n
[ -f "$viamake/module/compat/generated.h" ] && had=y
make -C "$kdir" M="$viamake/module" clean >"$tmp/clean.log" 2>&1
if [ $had = y ] && [ -f "$viamake/module/compat/compat.h" ] &&
   [ ! -e "$viamake/module/compat/generated.h" ] &&
   [ ! -e "$viamake/module/heapload.ko" ]; then
	ktap_result ok plain_kbuild_clean_removes_generated_h
else
	show "$tmp/clean.log"
	ls -l "$viamake/module/compat" | sed 's/^/# /'
	ktap_result fail plain_kbuild_clean_removes_generated_h
fi

ktap_finish
