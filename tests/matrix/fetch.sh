#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch the current Debian kernel of a suite for the kernel matrix.
#
#   tests/matrix/fetch.sh SUITE [FLAVOUR]
#       SUITE = bookworm | trixie | sid
#       FLAVOUR = amd64 (default) | rt-amd64 | arm64 | arm64-16k
#
# With a private apt configuration (the store's apt-SUITE/ (tests/matrix/common.sh): its own
# sources file, lists and cache, for amd64 and arm64; the system's sources
# and lists are never read or written), resolves linux-image-FLAVOUR /
# linux-headers-FLAVOUR of SUITE to the concrete kernel release KVER,
# downloads the kernel image (unsigned if that package exists, else the
# signed one), the headers, the -common headers and the linux-kbuild
# package, and unpacks them (not installs).  For an arm64 kernel the
# image and headers are arm64's and linux-kbuild is amd64's, the way
# Debian's headers support a cross build: Kbuild's host programs run on
# this machine, and the headers name aarch64-linux-gnu- as CROSS_COMPILE:
#
#   kernels/KVER/ (the store)           boot/vmlinuz-KVER, lib/modules/KVER
#                                        (depmod'ed), the tree run.sh boots
#   headers-KVER/ (the store)            usr/src/linux-headers-KVER{,-common},
#                                        usr/lib/linux-kbuild-X.Y, and
#                                        lib/modules/KVER/build; absolute
#                                        symlinks are kept as the packages
#                                        have them, so the tree works when
#                                        mounted at / of a chroot
#                                        (tests/matrix/build.sh does that)
#
#   tests/matrix/fetch.sh --userland SUITE ARCH
#
# The user space the guest of a foreign architecture needs, from SUITE:
# busybox-static, and the libraries (with headers) the heapload command
# links, unpacked into userland-SUITE-ARCH/ in the store (a tree laid out
# like /); the directory is the last line on stdout.
#
# The archive is the one this machine's apt already uses (HL_DEBIAN_MIRROR
# overrides).  The lists are refreshed when older than HL_MATRIX_MAX_AGE
# seconds (default 86400) or with --refresh; a second run that finds its
# trees does no network access.  Chatter on stderr; KVER is the last line on
# stdout.

set -euo pipefail
# shellcheck disable=SC2034 # used by common.sh
MATRIX_TOOL=fetch
# shellcheck source=tests/matrix/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=tests/qemu/kernel-tree.sh
. "$(dirname "${BASH_SOURCE[0]}")/../qemu/kernel-tree.sh"

REFRESH=0
USERLAND=0
SUITE=
FLAVOUR=
while [ $# -gt 0 ]; do
	case "$1" in
	--refresh) REFRESH=1; shift ;;
	--userland) USERLAND=1; shift ;;
	-h|--help) sed -n '4,36s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
	*)	if [ -z "$SUITE" ]; then SUITE=$1
		elif [ -z "$FLAVOUR" ]; then FLAVOUR=$1
		else mdie "one suite and one flavour only"; fi
		shift ;;
	esac
done
[ -n "$SUITE" ] || mdie "usage: $0 [--refresh] bookworm|trixie|sid [FLAVOUR]"
check_suite "$SUITE"
if [ "$USERLAND" = 1 ]; then
	UARCH=${FLAVOUR:-}
	case "$UARCH" in
	arm64) ;;
	*) mdie "--userland: ARCH must be arm64" ;;
	esac
	FLAVOUR=$UARCH
fi
FLAVOUR=${FLAVOUR:-amd64}
check_flavour "$FLAVOUR"
# Architecture of the kernel's packages; linux-kbuild is always amd64's.
KARCH=$(arch_of_flavour "$FLAVOUR")
[ "$(id -u)" = 0 ] || mdie "must run as root"

APTDIR=$MSTORE/apt-$SUITE
DEBS=$MSTORE/debs
MAX_AGE=${HL_MATRIX_MAX_AGE:-86400}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial" "$DEBS"

# Private apt: own sources, lists, cache and (empty) preferences; no
# privilege drop, so it can write into the cache as root.
APT_OPTS=(
	-o "Dir::Etc::SourceList=$APTDIR/sources.list"
	-o "Dir::Etc::SourceParts=/dev/null"
	-o "Dir::Etc::Preferences=/dev/null"
	-o "Dir::Etc::PreferencesParts=/dev/null"
	-o "Dir::State::Lists=$APTDIR/lists"
	-o "Dir::State::extended_states=$APTDIR/extended_states"
	-o "Dir::Cache=$APTDIR/cache"
	-o "APT::Architecture=amd64"
	-o "APT::Architectures::=amd64"
	-o "APT::Architectures::=arm64"
	-o "Acquire::Languages=none"
	-o "APT::Sandbox::User=root"
)
papt_get() { apt-get -q "${APT_OPTS[@]}" "$@"; }
papt_cache() { apt-cache "${APT_OPTS[@]}" "$@"; }

# The security archive: HL_DEBIAN_SECURITY_MIRROR, else, unless
# HL_DEBIAN_MIRROR chose another archive, the one this machine's apt uses
# for Debian, if any.
security_mirror() {
	local uri
	if [ -n "${HL_DEBIAN_SECURITY_MIRROR:-}" ]; then
		echo "$HL_DEBIAN_SECURITY_MIRROR"
		return
	fi
	[ -z "${HL_DEBIAN_MIRROR:-}" ] || return 1
	uri=$(apt-cache policy 2>/dev/null | awk '
		$NF == "Packages" && $3 ~ /^[a-z]+-security\/main$/ && /o=Debian/ { print $2; exit }
		$NF == "Packages" && $3 ~ /^[a-z]+-security\/main$/ { u = $2 }
		/release .*o=Debian,.*n=[a-z]+-security/ && u { print u; exit }')
	[ -n "$uri" ] && echo "${uri%/}"
}

write_sources() {
	local mirror signed='' sec
	mirror=$(debian_mirror)
	[ -f "$KEYRING" ] && signed=" [signed-by=$KEYRING]"
	{
		echo "deb$signed $mirror $SUITE main"
		# A stable suite's kernels are updated through its security
		# archive (Debian 12's current ABI is only there).
		if [ "$SUITE" != sid ] && sec=$(security_mirror); then
			echo "deb$signed $sec $SUITE-security main"
		fi
	} >"$APTDIR/sources.list.new"
	if ! cmp -s "$APTDIR/sources.list.new" "$APTDIR/sources.list" 2>/dev/null; then
		mv "$APTDIR/sources.list.new" "$APTDIR/sources.list"
		rm -f "$APTDIR/updated"
	else
		rm -f "$APTDIR/sources.list.new"
	fi
}

lists_fresh() {
	[ -f "$APTDIR/updated" ] || return 1
	[ $(($(date +%s) - $(stat -c %Y "$APTDIR/updated"))) -lt "$MAX_AGE" ]
}

update_lists() {
	mlog "apt-get update ($SUITE, private lists)"
	papt_get update >&2
	touch "$APTDIR/updated"
}

# Concrete package a meta package depends on, e.g. linux-image-6.12.1+deb13-amd64.
meta_dep() {
	papt_cache depends "$1" 2>/dev/null |
		sed -n "s/^ *Depends: \($2\)\(:[a-z0-9]*\)\{0,1\}\( .*\)\{0,1\}\$/\1/p" | head -n1
}

resolve_kver() {
	local dep
	dep=$(meta_dep "linux-headers-$FLAVOUR:$KARCH" 'linux-headers-[^ :]*')
	[ -n "$dep" ] || return 1
	echo "${dep#linux-headers-}"
}

# Versioned packages ("linux-WORD-...KVER...") that $2 depends on, and $2,
# each as NAME:ARCH.  Debian 14 split the image into linux-image-KVER
# (empty) depending on linux-binary-KVER (vmlinuz), linux-modules-KVER and
# linux-base-KVER.  linux-kbuild-* comes as amd64's whatever the kernel's
# architecture: its programs run on this machine.
kernel_closure() {
	local kver=$1 todo=("$2:$KARCH") seen=' ' p d base=${1%-"$FLAVOUR"} arch
	while [ ${#todo[@]} -gt 0 ]; do
		p=${todo[0]}
		todo=("${todo[@]:1}")
		case "$seen" in *" $p "*) continue ;; esac
		seen+="$p "
		echo "$p"
		# Each dependency's first alternative, without version or arch.
		for d in $(papt_cache show --no-all-versions "$p" 2>/dev/null |
			   sed -n 's/^Depends: //p' | head -n1 | tr ',' '\n' |
			   sed 's/|.*//; s/(.*)//; s/:[a-z0-9]*//; s/[[:space:]]//g' |
			   grep '^linux-[a-z]*-' | grep -v '^linux-image-'); do
			case "$d" in
			linux-kbuild-*) arch=amd64 ;;
			*) arch=$KARCH ;;
			esac
			# Architecture-independent packages (the -common headers).
			# (No grep -q: under pipefail, apt-cache killed by
			# SIGPIPE would fail the test at random.)
			[ "$(papt_cache show --no-all-versions "$d:all" 2>/dev/null |
			     sed -n 's/^Architecture: //p')" != all ] || arch=all
			# (Debian 12's kbuild is linux-kbuild-6.1, without ABI.)
			case "$d" in
			*-"$base"-*|*-"$base"|*-"$kver"*|linux-kbuild-*) todo+=("$d:$arch") ;;
			esac
		done
	done
}

# Package names to download for KVER, two lines: the image's packages
# (unsigned image if it exists, else the signed one, plus its versioned
# dependencies) and the headers' (headers, -common, kbuild, ...).
packages_for() {
	local kver=$1 image hdrs
	if papt_cache show "linux-image-$kver-unsigned:$KARCH" >/dev/null 2>&1; then
		image=linux-image-$kver-unsigned
	else
		image=linux-image-$kver
	fi
	hdrs=$(kernel_closure "$kver" "linux-headers-$kver")
	grep -q -- '-common' <<<"$hdrs" || mdie "linux-headers-$kver: no -common dependency"
	grep -q -- 'linux-kbuild-' <<<"$hdrs" || mdie "linux-headers-$kver: no linux-kbuild dependency"
	kernel_closure "$kver" "$image" | paste -sd' '
	paste -sd' ' <<<"$hdrs"
}

# Download into $DEBS (cached: a package whose .deb is there is skipped).
# Packages are NAME:ARCH.
download() {
	local p have=() need=()
	for p in "$@"; do
		if [ -n "$(deb_of "$p")" ]; then
			have+=("$p")
		else
			need+=("$p")
		fi
	done
	[ ${#have[@]} -eq 0 ] || mlog "cached: ${have[*]}"
	if [ ${#need[@]} -gt 0 ]; then
		mlog "downloading: ${need[*]}"
		(cd "$DEBS" && papt_get download "${need[@]}" >&2)
	fi
}

# The cached .deb of NAME:ARCH (arch "all" packages too), or nothing.
deb_of() {
	local ver
	ver=$(papt_cache show --no-all-versions "$1" 2>/dev/null |
	      sed -n 's/^Version: //p' | head -n1)
	[ -n "$ver" ] || mdie "package $1 not in $SUITE"
	# Debian's file names encode the epoch's colon as %3a.
	compgen -G "$DEBS/${1%:*}_${ver//:/%3a}_${1#*:}.deb" ||
		compgen -G "$DEBS/${1%:*}_${ver//:/%3a}_all.deb" || true
}

# Kernel image tree, made the rig's one way (tests/qemu/kernel-tree.sh).
unpack_image() {
	local kver=$1 tree=$KCACHE/$1
	shift
	if [ -f "$tree/boot/vmlinuz-$kver" ] &&
	   [ -f "$tree/lib/modules/$kver/modules.dep" ]; then
		mlog "kernel image tree present: ${tree#"$REPO"/}"
		return
	fi
	mlog "unpacking $(for deb in "$@"; do basename "$deb"; done | tr '\n' ' ')"
	unpack_kernel_tree "$kver" "$tree" "$@" || mdie "cannot unpack $*"
}

# unpack_debs DIR DEB...: the packages' files in a new DIR.
unpack_debs() {
	local dir=$1 deb
	shift
	rm -rf "$dir"
	for deb in "$@"; do
		mlog "unpacking $(basename "$deb")"
		dpkg-deb -x "$deb" "$dir"
	done
}

# Headers, -common and kbuild unpacked into one tree that has the same
# layout as / on a machine where they are installed.
unpack_headers() {
	local kver=$1 tree=$MSTORE/headers-$1 deb
	shift
	if [ -f "$tree/.complete" ]; then
		mlog "headers tree present: ${tree#"$REPO"/}"
		return
	fi
	unpack_debs "$tree.part" "$@"
	[ -f "$tree.part/usr/src/linux-headers-$kver/Makefile" ] ||
		mdie "no usr/src/linux-headers-$kver/Makefile in the headers"
	[ -f "$tree.part/usr/src/linux-headers-$kver/.config" ] ||
		mdie "no .config in the headers of $kver"
	# The build link, as the image package's postinst would make it
	# (some releases ship it in the headers package already).
	if [ ! -L "$tree.part/lib/modules/$kver/build" ] &&
	   [ ! -L "$tree.part/usr/lib/modules/$kver/build" ]; then
		mkdir -p "$tree.part/usr/lib/modules/$kver"
		ln -s "/usr/src/linux-headers-$kver" "$tree.part/usr/lib/modules/$kver/build"
	fi
	# Every absolute symlink must resolve inside the tree (it is mounted
	# at / of the build chroot).
	local l t bad=0
	while IFS= read -r l; do
		t=$(readlink "$l")
		case "$t" in
		/*) [ -e "$tree.part$t" ] || [ -L "$tree.part$t" ] ||
			{ mlog "dangling link ${l#"$tree.part"} -> $t"; bad=1; } ;;
		esac
	done < <(find "$tree.part" -maxdepth 4 -type l)
	[ "$bad" = 0 ] || mdie "headers tree of $kver has dangling links"
	# What building against these headers needs besides them (compiler,
	# pahole, ...): the packages' own dependencies, first alternatives,
	# linux-* left out.  tests/matrix/chroot.sh installs these.
	for deb in "$@"; do
		dpkg-deb -f "$deb" Depends | tr ',' '\n' |
			sed 's/|.*//; s/(.*)//; s/:any//; s/[[:space:]]//g'
	done | grep -v -e '^$' -e '^linux-' | sort -u >"$tree.part/.build-depends"
	touch "$tree.part/.complete"
	rm -rf "$tree"
	mv "$tree.part" "$tree"
}

# Packages of the guest's user space for a foreign architecture, and
# their dependencies among them (libkmod2: liblzma5, libssl3, libzstd1).
USERLAND_PKGS=(busybox-static libc6 libssl-dev libssl3 libkmod-dev libkmod2
	       liblzma5 libzstd1)

userland() {
	local tree=$MSTORE/userland-$SUITE-$UARCH p debs=()
	write_sources
	if [ "$REFRESH" = 1 ] || ! lists_fresh; then
		update_lists
	fi
	download "${USERLAND_PKGS[@]/%/:$UARCH}"
	for p in "${USERLAND_PKGS[@]}"; do
		debs+=("$(deb_of "$p:$UARCH")")
	done
	# The tree is remade when a package or its version changes.
	if [ "$(cat "$tree/.complete" 2>/dev/null)" = "$(basename -a "${debs[@]}")" ]; then
		mlog "user space tree present: ${tree#"$REPO"/}"
		echo "$tree"
		return
	fi
	unpack_debs "$tree.part" "${debs[@]}"
	basename -a "${debs[@]}" >"$tree.part/.complete"
	rm -rf "$tree"
	mv "$tree.part" "$tree"
	echo "$tree"
}

main() {
	local kver ipkgs=() hpkgs=() idebs=() hdebs=() p
	write_sources
	if [ "$REFRESH" = 1 ] || ! lists_fresh; then
		update_lists
	fi
	kver=$(resolve_kver) || { update_lists; kver=$(resolve_kver); } ||
		mdie "cannot resolve linux-headers-$FLAVOUR in $SUITE"
	mlog "$SUITE $FLAVOUR: kernel $kver"
	if [ -f "$KCACHE/$kver/lib/modules/$kver/modules.dep" ] &&
	   [ -f "$MSTORE/headers-$kver/.complete" ]; then
		mlog "kernel and headers trees present"
		echo "$kver"
		return
	fi
	{ read -r -a ipkgs; read -r -a hpkgs; } < <(packages_for "$kver")
	mlog "image: ${ipkgs[*]}"
	mlog "headers: ${hpkgs[*]}"
	download "${ipkgs[@]}" "${hpkgs[@]}"
	for p in "${ipkgs[@]}"; do idebs+=("$(deb_of "$p")"); done
	for p in "${hpkgs[@]}"; do hdebs+=("$(deb_of "$p")"); done
	unpack_image "$kver" "${idebs[@]}"
	unpack_headers "$kver" "${hdebs[@]}"
	echo "$kver"
}

mkdir -p "$MSTORE"
exec {lockfd}>"$MSTORE/.fetch-$SUITE.lock"
flock "$lockfd"
if [ "$USERLAND" = 1 ]; then
	userland
else
	main
fi
