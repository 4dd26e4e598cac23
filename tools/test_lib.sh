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

ktap_start 19

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
	       sizeof(res) == HEAPLOAD_RESULT_SIZE_VER2;
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
			 encode(HEAPLOAD_LOAD_SIZE_VER1, HEAPLOAD_IOC_LOAD_VER1) &
			 encode(HEAPLOAD_LOAD_SIZE_VER2, HEAPLOAD_IOC_LOAD_VER2) &
			 encode(HEAPLOAD_LOAD_SIZE_VER3, HEAPLOAD_IOC_LOAD));
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

# --- version 2 loads, without a device: __wrap_ioctl() keeps a copy of
# the request (and of its segment array) as the library sent it, and
# answers as the test tells it to.
cat >"$tmp/v2.c" <<'C'
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <libheapload.h>

static unsigned long cmd;
static struct heapload_load sent;	/* the request as it came in */
static struct heapload_segment segs_sent[8];
static int calls;
/* The answer: out fields written into the caller's struct, and errno. */
static int answer_errno;
static int answer_writes = 1;
static struct heapload_load answer;

int __wrap_ioctl(int fd, unsigned long c, ...)
{
	struct heapload_load *req;
	va_list ap;

	(void)fd;
	va_start(ap, c);
	req = va_arg(ap, struct heapload_load *);
	va_end(ap);
	cmd = c;
	calls++;
	memset(&sent, 0, sizeof(sent));
	memcpy(&sent, req, _IOC_SIZE(c) < sizeof(sent) ? _IOC_SIZE(c) : sizeof(sent));
	if (sent.segments && sent.nr_segments <= 8)
		memcpy(segs_sent, (const void *)(unsigned long)sent.segments,
		       sent.nr_segments * sizeof(segs_sent[0]));
	if (answer_writes) {
		/* The kernel writes back the request with its out fields. */
		answer.size = req->size;
		memcpy((char *)req + 8, (char *)&answer + 8,
		       (_IOC_SIZE(c) < sizeof(answer) ? _IOC_SIZE(c) : sizeof(answer)) - 8);
	}
	if (answer_errno) {
		errno = answer_errno;
		return -1;
	}
	return 0;
}

int __wrap___ioctl_time64(int fd, unsigned long cmd, ...)
	__attribute__((alias("__wrap_ioctl")));

#define CHECK(c) do { if (!(c)) { printf("check failed: %s\n", #c); ok = 0; } } while (0)

/* What a version 2 module answers to a successful synchronous load. */
static void answer_v2_success(void)
{
	memset(&answer, 0, sizeof(answer));
	answer.dmabuf_fd = 9;
	answer.loaded = 5000;
	answer.buf_size = 8192;
	answer.load_fd = -1;
	answer.error_segment = -1;
	answer.placed_node = 1;
	answer.digest_alg = HEAPLOAD_DIGEST_XXH64;
	memset(answer.digest, 0xab, 8);
	answer_errno = 0;
	answer_writes = 1;
}

static int segments_sent_as_array(void)
{
	struct heapload_segment s[3] = {
		{ .file_fd = 3, .file_offset = 0, .length = 0, .buf_offset = 0 },
		{ .file_fd = 4, .file_offset = 512, .length = 100, .buf_offset = 4096 },
		{ .file_fd = 5, .file_offset = 0, .length = 7, .buf_offset = 8192 },
	};
	struct heapload_result res = HEAPLOAD_RESULT_INIT;
	int ok = 1, ret;

	answer_v2_success();
	ret = heapload_load_segments(-1, "heapload,x", s, 3, NULL, NULL, &res);
	printf("ret %d, cmd %#lx, size %u, nr %u, segment_size %u\n", ret, cmd,
	       sent.size, sent.nr_segments, sent.segment_size);
	CHECK(ret == 0 && calls == 1);
	CHECK(cmd == HEAPLOAD_IOC_LOAD && sent.size == HEAPLOAD_LOAD_SIZE_VER3);
	CHECK(sent.segments == (unsigned long)s && sent.nr_segments == 3 &&
	      sent.segment_size == HEAPLOAD_SEGMENT_SIZE_VER0);
	CHECK(!memcmp(segs_sent, s, sizeof(s)));
	CHECK(sent.file_fd == 0 && sent.offset == 0 && sent.length == 0);
	CHECK(!strcmp(sent.heap, "heapload,x") && sent.fd_flags == (O_RDWR | O_CLOEXEC));
	CHECK(sent.flags == 0 && sent.target_fd == 0 && sent.numa_node == 0 &&
	      sent.digest_alg == 0 && sent.progress_addr == 0);
	CHECK(res.dmabuf_fd == 9 && res.loaded == 5000 && res.buf_size == 8192 &&
	      res.uapi_version == 2 && res.alloc_threads == 0 && res.alloc_threads_max == 0 &&
	      res.placed_node == 1 && res.error_segment == -1 &&
	      res.digest_alg == HEAPLOAD_DIGEST_XXH64 && res.digest[7] == 0xab &&
	      res.digest[8] == 0);
	return ok;
}

static int single_segment_sent_as_range(void)
{
	struct heapload_segment s = { .file_fd = 6, .file_offset = 4096, .length = 10 };
	struct heapload_result res = HEAPLOAD_RESULT_INIT;
	int ok = 1, ret;

	answer_v2_success();
	ret = heapload_load_segments(-1, NULL, &s, 1, NULL, NULL, &res);
	printf("ret %d, file_fd %d, offset %llu, length %llu, segments %llu\n", ret,
	       sent.file_fd, (unsigned long long)sent.offset,
	       (unsigned long long)sent.length, (unsigned long long)sent.segments);
	CHECK(ret == 0 && sent.file_fd == 6 && sent.offset == 4096 && sent.length == 10);
	CHECK(sent.segments == 0 && sent.nr_segments == 0 && sent.segment_size == 0);
	CHECK(!strcmp(sent.heap, HEAPLOAD_DEFAULT_HEAP));
	/* At a buffer offset it needs the array. */
	s.buf_offset = 4096;
	ret = heapload_load_segments(-1, NULL, &s, 1, NULL, NULL, &res);
	CHECK(ret == 0 && sent.nr_segments == 1 && sent.file_fd == 0);
	return ok;
}

static int verify_sends_expected_digest(void)
{
	struct heapload_load_opts o = HEAPLOAD_LOAD_OPTS_INIT;
	struct heapload_segment s = { .file_fd = 3 };
	struct heapload_result res = HEAPLOAD_RESULT_INIT;
	int ok = 1, ret, i;

	answer_v2_success();
	o.flags = HEAPLOAD_LOAD_DIRECT | HEAPLOAD_LOAD_VERIFY;
	o.digest_alg = HEAPLOAD_DIGEST_SHA256;
	for (i = 0; i < HEAPLOAD_DIGEST_SIZE; i++)
		o.expected_digest[i] = (unsigned char)(i + 1);
	ret = heapload_load_segments(-1, NULL, &s, 1, &o, NULL, &res);
	printf("ret %d, flags %#x, alg %u, expected[0] %u, expected[31] %u\n", ret,
	       sent.flags, sent.digest_alg, sent.expected_digest[0],
	       sent.expected_digest[31]);
	CHECK(ret == 0);
	CHECK(sent.flags == (HEAPLOAD_LOAD_DIRECT | HEAPLOAD_LOAD_VERIFY));
	CHECK(sent.digest_alg == HEAPLOAD_DIGEST_SHA256);
	CHECK(!memcmp(sent.expected_digest, o.expected_digest, HEAPLOAD_DIGEST_SIZE));
	/* Without HEAPLOAD_LOAD_VERIFY the kernel wants it all zero. */
	o.flags = 0;
	ret = heapload_load_segments(-1, NULL, &s, 1, &o, NULL, &res);
	CHECK(ret == 0 && sent.digest_alg == HEAPLOAD_DIGEST_SHA256);
	for (i = 0; i < HEAPLOAD_DIGEST_SIZE; i++)
		CHECK(sent.expected_digest[i] == 0);
	return ok;
}

static int mismatch_returns_computed_digest(void)
{
	struct heapload_load_opts o = HEAPLOAD_LOAD_OPTS_INIT;
	struct heapload_segment s[2] = { { .file_fd = 3 }, { .file_fd = 4, .buf_offset = 4096 } };
	struct heapload_result res = HEAPLOAD_RESULT_INIT;
	int ok = 1, ret;

	answer_v2_success();
	answer.dmabuf_fd = 0;
	answer.placed_node = -1;
	answer.error_segment = 1;
	answer.digest_alg = HEAPLOAD_DIGEST_SHA256;
	memset(answer.digest, 0xcd, 32);
	answer_errno = EBADMSG;
	o.flags = HEAPLOAD_LOAD_VERIFY;
	o.digest_alg = HEAPLOAD_DIGEST_SHA256;
	ret = heapload_load_segments(-1, NULL, s, 2, &o, NULL, &res);
	printf("ret %d, dmabuf_fd %d, error_segment %d, digest[31] %#x\n", ret,
	       res.dmabuf_fd, res.error_segment, res.digest[31]);
	CHECK(ret == -EBADMSG && res.dmabuf_fd == -1 && res.error_segment == 1);
	CHECK(res.digest_alg == HEAPLOAD_DIGEST_SHA256 && res.digest[0] == 0xcd &&
	      res.digest[31] == 0xcd);
	/* A failure the kernel did not write back leaves @res alone. */
	memset(&res, 0x5a, sizeof(res));
	res.size = sizeof(res);
	answer_writes = 0;
	answer_errno = EINVAL;
	ret = heapload_load_segments(-1, NULL, s, 2, &o, NULL, &res);
	CHECK(ret == -EINVAL && res.dmabuf_fd == 0x5a5a5a5a && res.error_segment == 0x5a5a5a5a);
	return ok;
}

static int into_sends_target_and_no_heap(void)
{
	struct heapload_load_opts o = HEAPLOAD_LOAD_OPTS_INIT;
	struct heapload_segment s = { .file_fd = 3, .buf_offset = 8192 };
	struct heapload_result res = HEAPLOAD_RESULT_INIT;
	int ok = 1, ret, before;

	answer_v2_success();
	answer.dmabuf_fd = -1;
	o.flags = HEAPLOAD_LOAD_INTO;
	o.target_fd = 7;
	ret = heapload_load_segments(-1, NULL, &s, 1, &o, NULL, &res);
	printf("ret %d, flags %#x, target_fd %d, heap '%s', fd_flags %#x, dmabuf_fd %d\n",
	       ret, sent.flags, sent.target_fd, sent.heap, sent.fd_flags, res.dmabuf_fd);
	CHECK(ret == 0 && sent.flags == HEAPLOAD_LOAD_INTO && sent.target_fd == 7);
	CHECK(sent.heap[0] == '\0' && sent.fd_flags == 0 && res.dmabuf_fd == -1);
	/* A heap with a target is refused without an ioctl; a target without INTO is not sent. */
	before = calls;
	CHECK(heapload_load_segments(-1, "heapload,system", &s, 1, &o, NULL, &res) == -EINVAL);
	CHECK(calls == before);
	o.flags = 0;
	CHECK(heapload_load_segments(-1, NULL, &s, 1, &o, NULL, &res) == 0 && sent.target_fd == 0);
	return ok;
}

static int numa_node_sent_with_its_flag(void)
{
	struct heapload_load_opts o = HEAPLOAD_LOAD_OPTS_INIT;
	struct heapload_segment s = { .file_fd = 3 };
	struct heapload_result res = HEAPLOAD_RESULT_INIT;
	int ok = 1, ret;

	answer_v2_success();
	o.flags = HEAPLOAD_LOAD_NUMA_NODE;
	o.numa_node = 1;
	ret = heapload_load_segments(-1, NULL, &s, 1, &o, NULL, &res);
	printf("ret %d, flags %#x, numa_node %d, placed_node %d\n", ret, sent.flags,
	       sent.numa_node, res.placed_node);
	CHECK(ret == 0 && sent.flags == HEAPLOAD_LOAD_NUMA_NODE && sent.numa_node == 1);
	CHECK(res.placed_node == 1);
	o.flags = 0;
	CHECK(heapload_load_segments(-1, NULL, &s, 1, &o, NULL, &res) == 0 &&
	      sent.numa_node == 0 && sent.flags == 0);
	return ok;
}

static int async_start_and_result(void)
{
	struct heapload_segment s[2] = { { .file_fd = 3 }, { .file_fd = 3, .buf_offset = 4096 } };
	struct heapload_load_opts o = HEAPLOAD_LOAD_OPTS_INIT;
	struct heapload_result res = HEAPLOAD_RESULT_INIT;
	int ok = 1, ret, before;

	answer_v2_success();
	answer.load_fd = 42;
	ret = heapload_load_start(-1, NULL, s, 2, NULL);
	printf("start: %d, flags %#x, progress_addr %llu\n", ret, sent.flags,
	       (unsigned long long)sent.progress_addr);
	CHECK(ret == 42 && cmd == HEAPLOAD_IOC_LOAD && sent.flags == HEAPLOAD_LOAD_ASYNC &&
	      sent.progress_addr == 0 && sent.nr_segments == 2);
	/* ASYNC belongs to heapload_load_start() only. */
	before = calls;
	o.flags = HEAPLOAD_LOAD_ASYNC;
	CHECK(heapload_load_segments(-1, NULL, s, 2, &o, NULL, &res) == -EINVAL && calls == before);

	/* Still running: progress in @loaded. */
	answer_v2_success();
	answer.loaded = 1234;
	answer.dmabuf_fd = -1;
	answer_errno = EAGAIN;
	ret = heapload_load_result(5, &res);
	printf("result while running: %d, cmd %#lx, loaded %llu\n", ret, cmd,
	       (unsigned long long)res.loaded);
	CHECK(ret == -EAGAIN && cmd == HEAPLOAD_IOC_LOAD_RESULT &&
	      sent.size == HEAPLOAD_LOAD_SIZE_VER3 && res.loaded == 1234 && res.dmabuf_fd == -1);
	/* Ended: the dma-buf fd. */
	answer_v2_success();
	ret = heapload_load_result(5, &res);
	CHECK(ret == 0 && res.dmabuf_fd == 9 && res.loaded == 5000 && res.uapi_version == 2);
	/* A version 3 module says how many threads allocated. */
	answer_v2_success();
	answer.alloc_threads = 2;
	answer.alloc_threads_max = 4;
	ret = heapload_load_result(5, &res);
	CHECK(ret == 0 && res.uapi_version == 3 && res.alloc_threads == 2 &&
	      res.alloc_threads_max == 4);
	/* Nothing written back (EALREADY): @res untouched. */
	res.loaded = 77;
	answer_writes = 0;
	answer_errno = EALREADY;
	CHECK(heapload_load_result(5, &res) == -EALREADY && res.loaded == 77);
	return ok;
}

static int old_module_and_old_result(void)
{
	struct heapload_result res = HEAPLOAD_RESULT_INIT;
	unsigned char small[HEAPLOAD_RESULT_SIZE_VER1];
	struct heapload_result *old = (struct heapload_result *)small;
	struct heapload_segment s = { .file_fd = 3 };
	int ok = 1, ret;

	/* A module before version 2 leaves the version 2 fields alone (0). */
	memset(&answer, 0, sizeof(answer));
	answer.dmabuf_fd = 9;
	answer.loaded = 10;
	answer_errno = 0;
	answer_writes = 1;
	ret = heapload_load_segments(-1, NULL, &s, 1, NULL, NULL, &res);
	printf("ret %d, uapi_version %u, placed_node %d, error_segment %d\n", ret,
	       res.uapi_version, res.placed_node, res.error_segment);
	CHECK(ret == 0 && res.uapi_version == 0 && res.placed_node == -1 &&
	      res.error_segment == -1 && res.dmabuf_fd == 9);
	/* A program built with the 56-byte struct gets 56 bytes. */
	memset(small, 0x5a, sizeof(small));
	old->size = HEAPLOAD_RESULT_SIZE_VER0;
	answer_v2_success();
	CHECK(heapload_load_segments(-1, NULL, &s, 1, NULL, NULL, old) == 0);
	CHECK(old->dmabuf_fd == 9 && old->size == HEAPLOAD_RESULT_SIZE_VER0);
	CHECK(small[HEAPLOAD_RESULT_SIZE_VER0] == 0x5a &&
	      small[sizeof(small) - 1] == 0x5a);
	CHECK(heapload_load_file(-1, 3, NULL, 0, 0, 0, NULL, old) == 0 &&
	      small[HEAPLOAD_RESULT_SIZE_VER0] == 0x5a);
	return ok;
}

static int opts_size_rule_honoured(void)
{
	unsigned char big[HEAPLOAD_LOAD_OPTS_SIZE_VER0 + 8];
	struct heapload_load_opts *o = (struct heapload_load_opts *)big;
	struct heapload_result res = HEAPLOAD_RESULT_INIT;
	struct heapload_segment s = { .file_fd = 3 };
	int ok = 1, before;

	answer_v2_success();
	memset(big, 0, sizeof(big));
	o->size = HEAPLOAD_LOAD_OPTS_SIZE_VER0 - 1;
	before = calls;
	CHECK(heapload_load_segments(-1, NULL, &s, 1, o, NULL, &res) == -EINVAL);
	o->size = sizeof(big);
	big[sizeof(big) - 1] = 1;
	CHECK(heapload_load_segments(-1, NULL, &s, 1, o, NULL, &res) == -E2BIG);
	o->reserved = 1;
	big[sizeof(big) - 1] = 0;
	CHECK(heapload_load_segments(-1, NULL, &s, 1, o, NULL, &res) == -EINVAL);
	o->reserved = 0;
	o->flags = 1U << 31;
	CHECK(heapload_load_segments(-1, NULL, &s, 1, o, NULL, &res) == -EINVAL);
	CHECK(heapload_load_segments(-1, NULL, &s, 0, NULL, NULL, &res) == -EINVAL);
	CHECK(heapload_load_segments(-1, NULL, NULL, 1, NULL, NULL, &res) == -EINVAL);
	CHECK(heapload_load_segments(-1, NULL, &s, HEAPLOAD_MAX_SEGMENTS + 1, NULL, NULL,
				     &res) == -E2BIG);
	printf("refused without an ioctl: %d calls\n", calls - before);
	CHECK(calls == before);
	o->flags = 0;
	CHECK(heapload_load_segments(-1, NULL, &s, 1, o, NULL, &res) == 0 && calls == before + 1);
	return ok;
}

int main(int argc, char **argv)
{
	static const struct { const char *name; int (*fn)(void); } t[] = {
		{ "segments", segments_sent_as_array },
		{ "single", single_segment_sent_as_range },
		{ "verify", verify_sends_expected_digest },
		{ "mismatch", mismatch_returns_computed_digest },
		{ "into", into_sends_target_and_no_heap },
		{ "numa", numa_node_sent_with_its_flag },
		{ "async", async_start_and_result },
		{ "old", old_module_and_old_result },
		{ "opts", opts_size_rule_honoured },
	};
	unsigned int i;

	for (i = 0; argc > 1 && i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(argv[1], t[i].name))
			return !t[i].fn();
	return 2;
}
C
if ! $CC -I. -I../include/uapi -Wl,--wrap=ioctl -Wl,--wrap=__ioctl_time64 \
	  -o "$tmp/v2" "$tmp/v2.c" libheapload.a 2>"$tmp/log"; then
	diag "$tmp/log"
fi
for t in segments:v2_segments_sent_as_array single:v2_single_segment_sent_as_range \
	 verify:v2_verify_sends_expected_digest mismatch:v2_mismatch_returns_computed_digest \
	 into:v2_into_sends_target_and_no_heap numa:v2_numa_node_sent_with_its_flag \
	 async:v2_async_start_and_result old:v2_old_module_and_old_result_size \
	 opts:v2_opts_size_rule_honoured; do
	if "$tmp/v2" "${t%%:*}" >"$tmp/log" 2>&1; then
		diag "$tmp/log"; ktap_result ok "${t#*:}"
	else
		diag "$tmp/log"; ktap_result fail "${t#*:}"
	fi
done

ktap_finish
