#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the Debian packages from a clean copy of the committed tree, check
# that debian/copyright gives each file the licence its SPDX line names,
# what each package holds (and that heapload-dkms holds no product of a
# module build), that heapload-tools depends on libheapload0, that the
# build did not use -Werror (a user's build), that the unit tests ran at
# build time (and not with DEB_BUILD_OPTIONS=nocheck), and that lintian
# --pedantic reports no error or warning tag but bogus-mail-host (the
# project has no public address yet). Prints KTAP and a closing line;
# lists every package's files and lintian's whole output as diagnostics.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
. "$(dirname "$0")/ktap.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null)

# holds DEB PATH...: the package holds every PATH (globs allowed)
holds() {
	local deb=$1 path
	shift
	[ -f "$deb" ] || { echo "# no package $(basename "$deb")"; return 1; }
	dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$work/list"
	for path; do
		# shellcheck disable=SC2053
		if ! (while read -r f; do [[ $f == $path ]] && exit 0; done; exit 1) <"$work/list"; then
			echo "# $(basename "$deb") has no $path"
			return 1
		fi
	done
}

# lacks_build_products DEB: the package holds no object, module, Kbuild
# .cmd or .mod file, and no header the compat probes generated
lacks_build_products() {
	local found
	[ -f "$1" ] || { echo "# no package $(basename "$1")"; return 1; }
	found=$(dpkg-deb -c "$1" | awk '{print $6}' |
		grep -E '\.(o|ko|a|cmd|mod|mod\.c)$|/(generated\.h|Module\.symvers|modules\.order)$')
	[ -z "$found" ] || { sed 's/^/# build product: /' <<<"$found"; return 1; }
}

# depends_on DEB PACKAGE: the package's Depends names PACKAGE
depends_on() {
	local deps
	deps=$(dpkg-deb -f "$1" Depends 2>/dev/null)
	echo "# $(basename "$1"): Depends: $deps"
	tr ',' '\n' <<<"$deps" | grep -qE "^ *$2( |$)"
}

# no_werror LOG: the build log's compiler commands do not make every
# warning an error (-Werror=format-security and the like are fine)
no_werror() {
	local compiles werror
	compiles=$(grep -E ' -c -o [^ ]+\.o ' "$1")
	[ -n "$compiles" ] || { echo "# no compiler command in the build log"; return 1; }
	werror=$(grep -E -e '-Werror( |$)' <<<"$compiles")
	[ -z "$werror" ] || { head -n 3 <<<"$werror" | sed 's/^/# with -Werror: /'; return 1; }
}

# spdx_stanzas: "PATTERN<tab>LICENCE" for each Files pattern of
# debian/copyright (stdin), in order: the last match of a file wins
spdx_stanzas() {
	awk '/^Files:/ { files = substr($0, 7); cont = 1; next }
	     cont && /^[ \t]/ { files = files " " $0; next }
	     { cont = 0 }
	     /^License:/ && files != "" {
		lic = substr($0, 9); sub(/^[ \t]+/, "", lic)
		n = split(files, p, /[ \t]+/)
		for (i = 1; i <= n; i++) if (p[i] != "") print p[i] "\t" lic
		files = ""
	     }
	     /^$/ { files = "" }'
}

# copyright_matches_spdx SRC: each file's SPDX line, in debian/copyright's
# short names, is the licence of the last Files stanza matching the file
copyright_matches_spdx() {
	local src=$1 f id want got pat lic bad=0
	spdx_stanzas <"$src/debian/copyright" >"$work/stanzas"
	while read -r f; do
		id=$(head -n 5 "$src/$f" | sed -nE \
			's/.*SPDX-License-Identifier: ([A-Za-z0-9.+-]+( WITH [A-Za-z0-9.+-]+)?).*/\1/p' |
			head -n 1)
		[ -n "$id" ] || continue
		want=$(sed -E 's/-only//; s/-or-later/+/; s/([0-9])\.0\b/\1/;
			       s/ WITH (.*)/ with \1 exception/' <<<"$id")
		got=
		while IFS=$'\t' read -r pat lic; do
			# shellcheck disable=SC2053
			[[ $f == $pat ]] && got=$lic
		done <"$work/stanzas"
		if [ "$got" != "$want" ]; then
			echo "# $f: SPDX $id, debian/copyright: ${got:-no stanza}"
			bad=1
		fi
	done < <(cd "$src" && find . -type f | sed 's|^\./||' | sort)
	return $bad
}

# check NAME COMMAND...: one result from a command's status
check() {
	local name=$1
	shift
	if "$@"; then ktap_result ok "$name"; else ktap_result fail "$name"; fi
}

mkdir -p "$work/src"
if [ -d "$top/.git" ]; then
	git -C "$top" archive HEAD | tar -x -C "$work/src"
else
	cp -r "$top"/. "$work/src"
fi

tests=(debian_packages_build unit_tests_ran_at_build package_build_without_werror
       dkms_package_holds_source_and_docs dkms_package_holds_no_build_products
       library_package_holds_soname dev_package_holds_header_pc_and_link
       tools_package_holds_command_and_manual tools_package_depends_on_libheapload0
       lintian_pedantic_clean nocheck_skips_the_unit_tests)
ktap_start $((${#tests[@]} + 1))
check copyright_matches_spdx_lines copyright_matches_spdx "$work/src"
if ! command -v dpkg-buildpackage >/dev/null || ! dpkg -s dh-dkms >/dev/null 2>&1 ||
   ! command -v lintian >/dev/null; then
	for t in "${tests[@]}"; do
		ktap_result skip "$t" "dpkg-dev, dh-dkms and lintian are not all installed"
	done
	ktap_finish
	exit
fi

cp -r "$work/src" "$work/src-nocheck"
if (cd "$work/src" && dpkg-buildpackage -us -uc -b) >"$work/log" 2>&1; then
	ktap_result ok debian_packages_build
else
	tail -n 30 "$work/log" | sed 's/^/# /'
	ktap_result fail debian_packages_build
fi
# Both test programs print their closing line during the build.
check unit_tests_ran_at_build \
	test "$(grep -cE '^[0-9]+ passed, 0 failed' "$work/log")" -ge 2
check package_build_without_werror no_werror "$work/log"

for deb in "$work"/*.deb; do
	[ -f "$deb" ] || continue
	echo "# $(basename "$deb"):"
	dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print "#   " $6}'
done

dkms_deb=$work/heapload-dkms_${ver}_all.deb
check dkms_package_holds_source_and_docs holds "$dkms_deb" \
	"/usr/src/heapload-$ver/dkms.conf" "/usr/src/heapload-$ver/module/Kbuild" \
	"/usr/src/heapload-$ver/include/uapi/linux/heapload.h" \
	/usr/share/doc/heapload-dkms/README.md* \
	"/usr/share/doc/heapload-dkms/ABI/testing/sysfs-*" \
	/usr/share/doc/heapload-dkms/examples/60-heapload.rules \
	/usr/share/doc/heapload-dkms/examples/heapload.conf \
	/usr/share/man/man4/heapload.4.gz
check dkms_package_holds_no_build_products lacks_build_products "$dkms_deb"

lib_deb=$(ls "$work"/libheapload0_"$ver"_*.deb 2>/dev/null | head -n 1)
check library_package_holds_soname holds "${lib_deb:-$work/libheapload0.deb}" \
	"/usr/lib/$multiarch/libheapload.so.0" "/usr/lib/$multiarch/libheapload.so.0.*"

dev_deb=$(ls "$work"/libheapload-dev_"$ver"_*.deb 2>/dev/null | head -n 1)
check dev_package_holds_header_pc_and_link holds "${dev_deb:-$work/libheapload-dev.deb}" \
	/usr/include/heapload/libheapload.h /usr/include/heapload/linux/heapload.h \
	"/usr/lib/$multiarch/libheapload.so" "/usr/lib/$multiarch/pkgconfig/libheapload.pc" \
	/usr/share/man/man3/libheapload.3.gz

tools_deb=$(ls "$work"/heapload-tools_"$ver"_*.deb 2>/dev/null | head -n 1)
check tools_package_holds_command_and_manual holds "${tools_deb:-$work/heapload-tools.deb}" \
	/usr/bin/heapload /usr/share/man/man1/heapload.1.gz
check tools_package_depends_on_libheapload0 depends_on "${tools_deb:-$work/heapload-tools.deb}" \
	libheapload0

# lintian on the binary packages and the source (a native package: the
# .dsc is made from the clean copy).
(cd "$work/src-nocheck" && dpkg-source -b . >/dev/null 2>&1) || true
lintian --pedantic --display-info "$work"/*.changes "$work"/*.dsc >"$work/lintian" 2>&1
sed 's/^/# lintian: /' "$work/lintian"
if grep -E '^[EW]: ' "$work/lintian" | grep -qv ' bogus-mail-host'; then
	ktap_result fail lintian_pedantic_clean
elif ! ls "$work"/*.changes >/dev/null 2>&1; then
	echo "# nothing to check: no .changes"
	ktap_result fail lintian_pedantic_clean
else
	ktap_result ok lintian_pedantic_clean
fi

if (cd "$work/src-nocheck" && DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b) \
	>"$work/log-nocheck" 2>&1; then
	check nocheck_skips_the_unit_tests \
		test "$(grep -cE '^[0-9]+ passed, ' "$work/log-nocheck")" -eq 0
else
	tail -n 30 "$work/log-nocheck" | sed 's/^/# /'
	ktap_result fail nocheck_skips_the_unit_tests
fi
ktap_finish
