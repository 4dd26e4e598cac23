/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the heapload guest tests: paths, the first test's
 * verdict on whether the others can run, sysfs access, ioctl wrappers
 * that return an errno, and dma-buf verification.
 */
#ifndef HEAPLOAD_TESTS_HL_TEST_H
#define HEAPLOAD_TESTS_HL_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/heapload.h>

#include "ktap.h"

#define HL_HEAP_NAME	"heapload,system"
#define HL_HEAP_DIR	"/dev/dma_heap"
#define HL_HEAP_PATH	HL_HEAP_DIR "/" HL_HEAP_NAME
/* Buffers the CPU may not touch: no mmap, no DMA_BUF_IOCTL_SYNC, no vmap. */
#define HL_RESTRICTED_NAME	"heapload,restricted"
#define HL_RESTRICTED_PATH	HL_HEAP_DIR "/" HL_RESTRICTED_NAME
#define HL_LOADER_PATH	"/dev/heapload"
#define HL_MODULE_DIR	"/sys/module/heapload"
#define HL_PARAM_MAX_MB	HL_MODULE_DIR "/parameters/max_alloc_mb"
#define HL_STATS_DIR	"/sys/class/misc/heapload"
#define HL_STAT_BYTES	HL_STATS_DIR "/allocated_bytes"
#define HL_STAT_BUFS	HL_STATS_DIR "/buffers"

#define HL_MIB		(1024ULL * 1024ULL)

/*
 * The kernel's page size, which buffers and loads are rounded to: 4 KiB on
 * amd64, 16 or 64 KiB on some arm64 kernels. Sizes built from it test the
 * same edges (a page, a page and a byte) on every kernel.
 */
static inline uint64_t hl_page_size(void)
{
	static uint64_t page;

	if (!page)
		page = (uint64_t)sysconf(_SC_PAGESIZE);
	return page;
}
#define HL_PAGE		hl_page_size()

static inline uint64_t hl_page_up(uint64_t n)
{
	return (n + HL_PAGE - 1) & ~(HL_PAGE - 1);
}

static inline const char *hl_errname(int e)
{
	const char *s;

	if (!e)
		return "success";
	s = strerrorname_np(e);
	return s ? s : "unknown errno";
}

static inline uint64_t hl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void hl_sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static inline bool hl_module_loaded(void)
{
	return access(HL_MODULE_DIR, F_OK) == 0;
}

/*
 * What the first test of a program found: KTAP_PASS, or the result
 * (KTAP_SKIP) that every later test reports instead of running, with
 * hl_precondition_why as its reason.
 */
static int hl_precondition = KTAP_PASS;
static char hl_precondition_why[256];

/* The later tests cannot run: each will be skipped for the reason @fmt. */
static inline void __attribute__((format(printf, 1, 2)))
hl_precondition_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(hl_precondition_why, sizeof(hl_precondition_why), fmt, ap);
	va_end(ap);
	hl_precondition = KTAP_SKIP;
}

/*
 * The first check of a program's first test: without the module loaded,
 * that test and every later one are skipped. KTAP_PASS or a ktap_skip().
 */
static inline int hl_precondition_module(void)
{
	if (hl_module_loaded())
		return KTAP_PASS;
	hl_precondition_skip("heapload module not loaded");
	return ktap_skip("%s", hl_precondition_why);
}

/* True, with @name reported as skipped, if the first test forbids it. */
static inline bool hl_precondition_report(const char *name)
{
	if (hl_precondition == KTAP_PASS)
		return false;
	ktap_report(name, ktap_why(hl_precondition, "%s", hl_precondition_why));
	return true;
}

/* Report test @name: @fn(@arg), unless the first test forbids running it. */
static inline void hl_run(const char *name, int (*fn)(const void *arg),
			  const void *arg)
{
	if (!hl_precondition_report(name))
		ktap_report(name, fn(arg));
}

/**
 * struct hl_test - one entry of a program's table of named tests
 * @name:	the KTAP test name
 * @fn:		the test
 * @arg:	what @fn gets, e.g. &hl_flags_direct for a test run once per
 *		I/O mode; NULL if it needs nothing
 */
struct hl_test {
	const char *name;
	int (*fn)(const void *arg);
	const void *arg;
};

/* Load flags to point a table entry's @arg at. */
static const uint32_t hl_flags_direct = HEAPLOAD_LOAD_DIRECT;
static const uint32_t hl_flags_buffered = HEAPLOAD_LOAD_BUFFERED;

/* hl_run() every test of table @t of @n entries. */
static inline void hl_run_table(const struct hl_test *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		hl_run(t[i].name, t[i].fn, t[i].arg);
}

/* ioctl() returning 0 or the errno, never -1. */
static inline int hl_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) ? errno : 0;
}

/* Read one unsigned decimal number from a sysfs or proc file. */
static inline int hl_read_u64(const char *path, uint64_t *val)
{
	char buf[64];
	ssize_t n;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	n = read(fd, buf, sizeof(buf) - 1);
	e = errno;
	close(fd);
	if (n < 0)
		return e;
	buf[n] = '\0';
	if (sscanf(buf, "%" SCNu64, val) != 1)
		return EPROTO;
	return 0;
}

/* Write @str in one write(); returns 0 or the errno of open/write. */
static inline int hl_write_str(const char *path, const char *str)
{
	ssize_t n;
	int fd, e = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	n = write(fd, str, strlen(str));
	if (n < 0)
		e = errno;
	else if ((size_t)n != strlen(str))
		e = EIO;
	close(fd);
	return e;
}

/* The first line of @path into @buf, no trailing blanks; 0 or the errno. */
static inline int hl_read_word(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	n = read(fd, buf, len - 1);
	e = errno;
	close(fd);
	if (n < 0)
		return e;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return 0;
}

static inline int hl_stats(uint64_t *bytes, uint64_t *bufs)
{
	int e = hl_read_u64(HL_STAT_BYTES, bytes);

	return e ? e : hl_read_u64(HL_STAT_BUFS, bufs);
}

/*
 * Poll the module's counters until they read @bytes/@bufs. Freeing is
 * synchronous with the last close today; the timeout only keeps a slow
 * emulated guest from failing on a deferred release.
 */
static inline int hl_wait_stats(uint64_t bytes, uint64_t bufs,
				unsigned int timeout_ms,
				uint64_t *got_bytes, uint64_t *got_bufs)
{
	uint64_t end = hl_now_ms() + timeout_ms;
	int e;

	for (;;) {
		e = hl_stats(got_bytes, got_bufs);
		if (e)
			return e;
		if (*got_bytes == bytes && *got_bufs == bufs)
			return 0;
		if (hl_now_ms() >= end)
			return ETIMEDOUT;
		hl_sleep_ms(20);
	}
}

/*
 * The module holds no buffer any more (allocated_bytes and buffers back
 * to 0 within 5 s), @when being what the test just did; a ktap result.
 */
static inline int hl_check_no_leak(const char *when)
{
	uint64_t b, n;
	int e = hl_wait_stats(0, 0, 5000, &b, &n);

	if (e)
		return ktap_fail("allocated_bytes %" PRIu64 " buffers %" PRIu64
				 " %s (%s)", b, n, when, hl_errname(e));
	return KTAP_PASS;
}

/* Value in kB (or pages, for vmstat) of @key in a "key value" file. */
static inline int hl_proc_value(const char *path, const char *key,
				uint64_t *val)
{
	char line[256];
	size_t klen = strlen(key);
	FILE *f = fopen(path, "re");
	int e = ENOENT;

	if (!f)
		return errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) || (line[klen] != ':' &&
						  line[klen] != ' '))
			continue;
		e = sscanf(line + klen + 1, "%" SCNu64, val) == 1 ? 0 : EPROTO;
		break;
	}
	fclose(f);
	return e;
}

/*
 * kB of free pages on the per-CPU lists (/proc/zoneinfo's "count:"
 * lines), which MemFree and MemAvailable leave out. Since Linux 6.7 the
 * lists grow while a CPU frees many pages and shrink only by a batch a
 * second: with 16 KiB pages over 200 MiB were seen held long after the
 * torture had ended. 0 if the file cannot be read.
 */
static inline uint64_t hl_pcp_free_kb(void)
{
	FILE *f = fopen("/proc/zoneinfo", "re");
	char line[256];
	uint64_t pages = 0, n;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " count: %" SCNu64, &n) == 1)
			pages += n;
	fclose(f);
	return pages * (uint64_t)(HL_PAGE / 1024);
}

static inline const char *hl_data_dir(void)
{
	const char *d = getenv("HL_DATA");

	return d && *d ? d : "/data";
}

static inline void hl_data_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", hl_data_dir(), name);
}

/* Pages of @fd's first @len bytes in the page cache, or -1. */
static inline long hl_resident_pages(int fd, size_t len)
{
	size_t i, pages = (len + HL_PAGE - 1) / HL_PAGE;
	unsigned char *vec = malloc(pages);
	long n = 0;
	void *p;

	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (!vec || p == MAP_FAILED || mincore(p, len, vec)) {
		n = -1;
	} else {
		for (i = 0; i < pages; i++)
			n += vec[i] & 1;
	}
	if (p != MAP_FAILED)
		munmap(p, len);
	free(vec);
	return n;
}

/* A version-0 load request for the whole of @file_fd, into heapload,system. */
static inline void hl_load_init(struct heapload_load *l, int file_fd,
				uint32_t flags, uint64_t offset,
				uint64_t length)
{
	memset(l, 0, sizeof(*l));
	l->size = sizeof(*l);
	l->flags = flags;
	l->file_fd = file_fd;
	l->fd_flags = O_RDWR | O_CLOEXEC;
	l->offset = offset;
	l->length = length;
	snprintf(l->heap, sizeof(l->heap), "%s", HL_HEAP_NAME);
}

static inline int hl_heap_alloc(int heap_fd, uint64_t len, uint32_t fd_flags,
				uint64_t heap_flags, int *dmabuf_fd)
{
	struct dma_heap_allocation_data d = {
		.len = len,
		.fd = 0,
		.fd_flags = fd_flags,
		.heap_flags = heap_flags,
	};
	int e = hl_ioctl(heap_fd, DMA_HEAP_IOCTL_ALLOC, &d);

	if (!e)
		*dmabuf_fd = (int)d.fd;
	return e;
}

static inline int hl_sync(int dmabuf_fd, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags };

	return hl_ioctl(dmabuf_fd, DMA_BUF_IOCTL_SYNC, &s);
}

/*
 * Read fcntl(@cmd) of @dmabuf_fd (F_GETFD or F_GETFL) into *@fl. With
 * @mmap_err, also try a writable shared mapping of its first page:
 * *@mmap_err is 0 if that worked, else the errno of mmap(). Closes
 * @dmabuf_fd.
 */
static inline void hl_probe_dmabuf(int dmabuf_fd, int cmd, int *fl,
				   int *mmap_err)
{
	void *p;

	*fl = fcntl(dmabuf_fd, cmd);
	if (mmap_err) {
		p = mmap(NULL, HL_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 dmabuf_fd, 0);
		*mmap_err = p == MAP_FAILED ? errno : 0;
		if (p != MAP_FAILED)
			munmap(p, HL_PAGE);
	}
	close(dmabuf_fd);
}

/*
 * Fill and free anonymous memory so that the next allocations likely
 * reuse dirty pages: a buffer that comes back zero then proves the
 * module zeroed it, not that the page allocator happened to.
 */
static inline void hl_dirty_free_memory(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED)
		return;
	memset(p, 0xa5, len);
	munmap(p, len);
}

/*
 * Minimal DRM UAPI, as <drm/drm.h> defines it, to import dma-bufs into
 * vgem; no DRM headers needed.
 */
struct hl_drm_version {
	int version_major;
	int version_minor;
	int version_patchlevel;
	size_t name_len;
	char *name;
	size_t date_len;
	char *date;
	size_t desc_len;
	char *desc;
};

struct hl_drm_gem_close {
	__u32 handle;
	__u32 pad;
};

struct hl_drm_prime_handle {
	__u32 handle;
	__u32 flags;
	__s32 fd;
};

#define HL_DRM_IOCTL_BASE		'd'
#define HL_DRM_IOCTL_VERSION		_IOWR(HL_DRM_IOCTL_BASE, 0x00, struct hl_drm_version)
#define HL_DRM_IOCTL_GEM_CLOSE		_IOW(HL_DRM_IOCTL_BASE, 0x09, struct hl_drm_gem_close)
#define HL_DRM_IOCTL_PRIME_FD_TO_HANDLE	_IOWR(HL_DRM_IOCTL_BASE, 0x2e, struct hl_drm_prime_handle)

static inline bool hl_is_vgem(int fd)
{
	struct hl_drm_version v;
	char name[5] = { 0 };

	memset(&v, 0, sizeof(v));
	v.name_len = 4;
	v.name = name;
	if (ioctl(fd, HL_DRM_IOCTL_VERSION, &v))
		return false;
	return v.name_len == 4 && !memcmp(name, "vgem", 4);
}

/* An fd of the vgem card (the dma-buf importer of the tests), or -1. */
static inline int hl_open_vgem(void)
{
	char path[64];
	int i, fd;

	for (i = 0; i < 16; i++) {
		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (hl_is_vgem(fd))
			return fd;
		close(fd);
	}
	return -1;
}

/* Import @dmabuf_fd into vgem (@vgem_fd): 0 or the errno; *@handle is its GEM handle. */
static inline int hl_vgem_import(int vgem_fd, int dmabuf_fd, __u32 *handle)
{
	struct hl_drm_prime_handle imp;
	int e;

	memset(&imp, 0, sizeof(imp));
	imp.fd = dmabuf_fd;
	e = hl_ioctl(vgem_fd, HL_DRM_IOCTL_PRIME_FD_TO_HANDLE, &imp);
	if (!e)
		*handle = imp.handle;
	return e;
}

/* Drop the GEM handle @handle of @vgem_fd: 0 or the errno. */
static inline int hl_vgem_close(int vgem_fd, __u32 handle)
{
	struct hl_drm_gem_close gc;

	memset(&gc, 0, sizeof(gc));
	gc.handle = handle;
	return hl_ioctl(vgem_fd, HL_DRM_IOCTL_GEM_CLOSE, &gc);
}

/* Index of the first non-zero byte of @p[0..@len), or @len. */
static inline size_t hl_first_nonzero(const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return i;
	return len;
}

#endif /* HEAPLOAD_TESTS_HL_TEST_H */
