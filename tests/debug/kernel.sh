#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (once) the debug kernel of make check-debug and print its release.
#
#   tests/debug/kernel.sh     prints, as the last line on stdout, the tree
#
# The kernel is Debian 12's own source (the linux-source-6.1 package),
# configured with allnoconfig plus tests/debug/debug.config: only what the
# QEMU rig boots, and the checkers (KASAN, KFENCE, UBSAN, lockdep,
# kmemleak, debug objects, DMA-API debugging, fault injection). Every
# option of the fragment is checked to have taken.
#
# The result is a tree like the ones tests/qemu/setup.sh makes for Debian's
# packaged kernels: boot/vmlinuz-KVER, boot/config-KVER, boot/System.map-KVER
# and lib/modules/KVER (modules.dep, modules.builtin, and build/, the
# kernel build tree that heapload is compiled against), and a file kver
# holding KVER. It is kept under
#   $HL_RIG_CACHE/debug/<source version>-<fragment hash>/
# (HL_RIG_CACHE defaults to /var/cache/heapload-rig), outside any clone, so
# that later runs and CI reuse it; a changed fragment or a new source
# version builds a new one, and trees no run used for two days are
# removed. Builds are serialised by a lock in the cache. All chatter goes
# to stderr; the time of a build is logged.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FRAGMENT=$HERE/debug.config
CACHE=${HL_RIG_CACHE:-/var/cache/heapload-rig}/debug
SRC_PKG=linux-source-6.1
HOST_PKGS=(bc bison flex libelf-dev xz-utils dpkg-dev kmod cpio)

log() { echo "debug-kernel: $*" >&2; }
die() { echo "debug-kernel: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (installs packages)"
mkdir -p "$CACHE"

missing=()
for p in "${HOST_PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing: ${missing[*]}"
	compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null || apt-get update -q >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"${missing[@]}" >&2 ||
	{ apt-get update -q >&2 &&
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}" >&2; }
fi

# The source package Debian 12 currently ships.
compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null || apt-get update -q >&2
version=$(apt-cache policy "$SRC_PKG" | sed -n 's/^ *Candidate: //p')
[ -n "$version" ] && [ "$version" != "(none)" ] ||
	{ apt-get update -q >&2;
	  version=$(apt-cache policy "$SRC_PKG" | sed -n 's/^ *Candidate: //p'); }
[ -n "$version" ] && [ "$version" != "(none)" ] || die "no $SRC_PKG in the archive"
# Only the options count: comments can change without a rebuild.
key=$version-$(grep -E '^(# )?CONFIG_' "$FRAGMENT" | sha256sum | cut -c1-12)
TREE=$CACHE/$key
LOCALVERSION=$(sed -n 's/^CONFIG_LOCALVERSION="\(.*\)"$/\1/p' "$FRAGMENT")

# One build at a time, whichever clone or branch asks.
exec {lockfd}>"$CACHE/.lock"
flock "$lockfd"

if [ -f "$TREE/kver" ]; then
	kver=$(cat "$TREE/kver")
	if [ -f "$TREE/boot/vmlinuz-$kver" ] &&
	   [ -f "$TREE/lib/modules/$kver/build/Module.symvers" ]; then
		log "debug kernel $kver present: $TREE"
		touch "$TREE/kver"	# in use: see the clean-up below
		echo "$TREE"
		exit 0
	fi
fi

T0=$(date +%s)
# Built in place (the build tree records its own path): the file kver,
# written last, is what marks the tree complete.
rm -rf "$TREE"
mkdir -p "$TREE"
# apt drops privileges for downloads; let it write there.
chmod 0755 "$TREE"
if id _apt >/dev/null 2>&1; then chown _apt "$TREE"; fi
log "downloading $SRC_PKG $version"
(cd "$TREE" && apt-get download "$SRC_PKG=$version" >&2) ||
	{ apt-get update -q >&2 && (cd "$TREE" && apt-get download "$SRC_PKG=$version" >&2); }
deb=$(compgen -G "$TREE/${SRC_PKG}_*.deb" | head -n1) || die "no .deb downloaded"
log "unpacking the source"
dpkg-deb --fsys-tarfile "$deb" | tar -xOf - --wildcards '*.tar.xz' | tar -xJf - -C "$TREE"
rm -f "$deb"
SRC=$TREE/$SRC_PKG
[ -f "$SRC/Makefile" ] || die "no kernel source in $deb"

BUILD=$TREE/build
mkdir -p "$BUILD"
log "configuring: allnoconfig + $(basename "$FRAGMENT")"
make -s -C "$SRC" O="$BUILD" KCONFIG_ALLCONFIG="$FRAGMENT" allnoconfig >&2
bad=0
while read -r line; do
	case "$line" in CONFIG_*) ;; *) continue ;; esac
	opt=${line%%=*}
	got=$(grep -E "^$opt=|^# $opt is not set" "$BUILD/.config" || true)
	if [ "$got" != "$line" ]; then
		log "option did not take: $line (got: ${got:-nothing})"
		bad=1
	fi
done <"$FRAGMENT"
[ "$bad" = 0 ] || die "fix $FRAGMENT"

jobs=$(( $(nproc) + 1 ))
log "building with $jobs jobs (cold: about 12 minutes on 2 cores)"
make -s -C "$SRC" O="$BUILD" -j"$jobs" >"$TREE/build.log" 2>&1 ||
	{ tail -n 40 "$TREE/build.log" >&2; die "kernel build failed"; }
kver=$(make -s -C "$SRC" O="$BUILD" kernelrelease)
[ "$kver" = "${version%%-*}$LOCALVERSION" ] || log "note: release $kver"

make -s -C "$SRC" O="$BUILD" INSTALL_MOD_PATH="$TREE" modules_install >&2
mkdir -p "$TREE/boot"
cp "$BUILD/arch/x86/boot/bzImage" "$TREE/boot/vmlinuz-$kver"
cp "$BUILD/System.map" "$TREE/boot/System.map-$kver"
cp "$BUILD/.config" "$TREE/boot/config-$kver"
ln -sfn "$BUILD" "$TREE/lib/modules/$kver/build"
depmod -b "$TREE" -F "$TREE/boot/System.map-$kver" "$kver"
# Object files are not needed to build external modules against the tree.
find "$BUILD" -name '*.o' ! -path '*/scripts/*' ! -path '*/tools/*' -delete
echo "$kver" >"$TREE/kver"

# Trees of other sources or options that no run used for two days (other
# branches may still want theirs), and builds that never finished.
find "$CACHE" -mindepth 1 -maxdepth 1 -type d ! -path "$TREE" |
while read -r old; do
	if [ ! -f "$old/kver" ] || [ -n "$(find "$old/kver" -mtime +1)" ]; then
		rm -rf "$old"
	fi
done
log "built $kver in $(( $(date +%s) - T0 )) s: $TREE"
echo "$TREE"
