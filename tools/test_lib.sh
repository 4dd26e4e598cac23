#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# ABI checks of libheapload, run by `make check` in tools/ (and so at
# package build time): the header is C99, C11 and C++ with -pedantic; the
# shared library has its SONAME and exports exactly the functions the
# header declares; a loader built from an installed copy with pkg-config
# alone needs nothing but libheapload and libc; the size rule of
# struct heapload_result holds. Prints KTAP and a closing line.
set -uo pipefail
cd "$(dirname "$0")"

# shellcheck source=tests/host/ktap.sh
. ../tests/host/ktap.sh
diag() { sed 's/^/# /' "$@"; }

CC=${CC:-cc}
CXX=${CXX:-c++}
tmp=test_lib.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
soname=$(sed -n 's/^SONAME[[:space:]]*:= *//p' Makefile | sed "s/\$(SOVERSION)/$(sed -n 's/^SOVERSION[[:space:]]*:= *//p' Makefile)/")

ktap_start 10

# --- the header in every language mode a loader may use
printf '#include <libheapload.h>\nint main(void) { return heapload_open() < 0; }\n' >"$tmp/h.c"
cp "$tmp/h.c" "$tmp/h.cc"
for std in c99 c11; do
	if $CC -std=$std -pedantic -Wall -Wextra -Werror -I. -I../include/uapi \
	       -c -o "$tmp/h.o" "$tmp/h.c" 2>"$tmp/log"; then
		ktap_result ok "header_compiles_${std}_pedantic"
	else
		diag "$tmp/log"; ktap_result fail "header_compiles_${std}_pedantic"
	fi
done
if ! command -v "$CXX" >/dev/null; then
	ktap_result skip header_compiles_cxx_pedantic "no C++ compiler ($CXX)"
elif $CXX -std=c++11 -pedantic -Wall -Wextra -Werror -I. -I../include/uapi \
	  -c -o "$tmp/h.o" "$tmp/h.cc" 2>"$tmp/log"; then
	ktap_result ok header_compiles_cxx_pedantic
else
	diag "$tmp/log"; ktap_result fail header_compiles_cxx_pedantic
fi

# --- the shared object
so=$(ls libheapload.so.*.*.* 2>/dev/null | head -n 1)
got=$(readelf -d "$so" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ -n "$so" ] && [ -n "$soname" ] && [ "$got" = "$soname" ]; then
	ktap_result ok "soname_is_$soname"
else
	echo "# SONAME of '${so:-no libheapload.so.*}' is '$got', want '$soname'"
	ktap_result fail "soname_is_${soname:-unknown}"
fi

# Exported symbols of any type (functions, data, weak ones): exactly the
# functions the header declares (static inline ones excepted), and, when
# the Debian symbols file is there, exactly those it lists.
sed -n 's/^\(int\|const char \*\|void\) *\**\(heapload_[a-z0-9_]*\)(.*/\2/p' libheapload.h |
	sort >"$tmp/declared"
nm -D --defined-only "$so" 2>/dev/null | awk '{ print $NF }' | sort >"$tmp/exported"
if [ -s "$tmp/declared" ] && cmp -s "$tmp/declared" "$tmp/exported"; then
	ktap_result ok exports_are_the_declared_functions
else
	diff "$tmp/declared" "$tmp/exported" | diag
	ktap_result fail exports_are_the_declared_functions
fi
symbols=../debian/libheapload0.symbols
if [ ! -f "$symbols" ]; then
	ktap_result skip symbols_file_lists_the_exports "no $symbols (not a source tree with debian/)"
else
	sed -n 's/^ \([a-z0-9_]*\)@.*/\1/p' "$symbols" | sort >"$tmp/listed"
	if cmp -s "$tmp/listed" "$tmp/exported"; then
		ktap_result ok symbols_file_lists_the_exports
	else
		diff "$tmp/listed" "$tmp/exported" | diag
		ktap_result fail symbols_file_lists_the_exports
	fi
fi

# --- a loader built the way a user builds one, from an installed copy
prefix=$PWD/$tmp/usr
if ! command -v pkg-config >/dev/null; then
	ktap_result skip loader_links_with_pkg_config_alone "pkg-config is not installed"
elif ! make -s install-lib install-dev PREFIX="$prefix" >"$tmp/log" 2>&1; then
	diag "$tmp/log"; ktap_result fail loader_links_with_pkg_config_alone
else
	cat >"$tmp/loader.c" <<'C'
#include <stdio.h>
#include <libheapload.h>

int main(int argc, char **argv)
{
	struct heapload_result res = HEAPLOAD_RESULT_INIT;
	int dev = heapload_open();

	if (argc > 1 && dev >= 0)
		return heapload_load_file(dev, 0, NULL, 0, 0, 0, NULL, &res);
	printf("%d\n", dev);
	return 0;
}
C
	export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
	if $CC -std=c99 -pedantic -Wall -Werror -o "$tmp/loader" "$tmp/loader.c" \
	       $(pkg-config --cflags --libs libheapload) 2>"$tmp/log" &&
	   LD_LIBRARY_PATH=$prefix/lib "$tmp/loader" >/dev/null 2>>"$tmp/log"; then
		readelf -d "$tmp/loader" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' >"$tmp/needed"
		diag "$tmp/needed"
		if grep -qvE "^(${soname//./\\.}|libc\.so\.[0-9]+)$" "$tmp/needed"; then
			echo "# the loader needs more than $soname and libc"
			ktap_result fail loader_links_with_pkg_config_alone
		else
			ktap_result ok loader_links_with_pkg_config_alone
		fi
	else
		diag "$tmp/log"; ktap_result fail loader_links_with_pkg_config_alone
	fi
fi

# --- the size rules of struct heapload_result and struct heapload_load,
# without a device: libheapload's ioctl() calls land in __wrap_ioctl(),
# which notes the command and succeeds.
cat >"$tmp/size.c" <<'C'
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <libheapload.h>

static unsigned long last_cmd;
static int calls;

int __wrap_ioctl(int fd, unsigned long cmd, ...)
{
	(void)fd;
	last_cmd = cmd;
	calls++;
	return 0;
}

/* The C library's name for ioctl() where time_t is 64-bit on 32-bit. */
int __wrap___ioctl_time64(int fd, unsigned long cmd, ...)
	__attribute__((alias("__wrap_ioctl")));

/* The result's size: too small is refused, the full one loads. */
static int result_size(void)
{
	struct heapload_result res = HEAPLOAD_RESULT_INIT;
	int bad, good;

	res.size = HEAPLOAD_RESULT_SIZE_VER0 - 1;
	bad = heapload_load_file(-1, 0, NULL, 0, 0, 0, NULL, &res);
	res.size = sizeof(res);
	good = heapload_load_file(-1, 0, NULL, 0, 0, 0, NULL, &res);
	printf("short size: %d, full size: %d, ioctls: %d\n", bad, good, calls);
	return bad == -EINVAL && good == 0 && calls == 1 &&
	       sizeof(res) == HEAPLOAD_RESULT_SIZE_VER0;
}

/* heapload_load() issues the ioctl with the caller's struct size. */
static int encode(unsigned int size, unsigned long want)
{
	struct heapload_load req;
	int ret;

	memset(&req, 0, sizeof(req));
	req.size = size;
	ret = heapload_load(-1, &req);
	printf("size %u: %d, ioctl %#lx (size %lu), want %#lx\n", size, ret,
	       last_cmd, (unsigned long)_IOC_SIZE(last_cmd), want);
	return ret == 0 && last_cmd == want && _IOC_SIZE(last_cmd) == size &&
	       req.size == size;
}

/* ... and refuses a size the ioctl number cannot carry, without one. */
static int refuse(unsigned int size)
{
	struct heapload_load req = { .size = size };
	int ret, before = calls;

	ret = heapload_load(-1, &req);
	printf("size %u: %d, ioctls: %d\n", size, ret, calls - before);
	return ret == -EINVAL && calls == before;
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";

	if (!strcmp(what, "result"))
		return !result_size();
	if (!strcmp(what, "encode"))
		return !(encode(HEAPLOAD_LOAD_SIZE_VER0, HEAPLOAD_IOC_LOAD_VER0) &
			 encode(HEAPLOAD_LOAD_SIZE_VER1, HEAPLOAD_IOC_LOAD));
	if (!strcmp(what, "refuse"))
		return !(refuse(0) & refuse(64) &
			 refuse(HEAPLOAD_LOAD_SIZE_VER0 - 1) &
			 refuse(_IOC_SIZEMASK + 1) & refuse(~0U));
	return 2;
}
C
if ! $CC -I. -I../include/uapi -Wl,--wrap=ioctl -Wl,--wrap=__ioctl_time64 \
	  -o "$tmp/size" "$tmp/size.c" libheapload.a 2>"$tmp/log"; then
	diag "$tmp/log"
fi
for t in result:result_size_rule_honoured encode:load_ioctl_carries_request_size \
	 refuse:load_refuses_sizes_out_of_range; do
	if "$tmp/size" "${t%%:*}" >"$tmp/log" 2>&1; then
		diag "$tmp/log"; ktap_result ok "${t#*:}"
	else
		diag "$tmp/log"; ktap_result fail "${t#*:}"
	fi
done

ktap_finish
