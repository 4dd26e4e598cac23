// SPDX-License-Identifier: GPL-2.0
/*
 * The upstream dma-heap contract (DMA_HEAP_IOCTL_ALLOC, <linux/dma-heap.h>),
 * checked on every heap under /dev/dma_heap, after the upstream kselftest
 * tools/testing/selftests/dmabuf-heaps/dmabuf-heap.c: allocation, mmap and
 * DMA_BUF_IOCTL_SYNC, zeroed buffers, older and newer struct sizes, the
 * invalid arguments and import by vgem.
 *
 * Results are named "<heap>: <behaviour>". Heaps other than heapload's
 * (the built-in "system" heap of newer kernels) are held to upstream's
 * behaviour where it differs from ours; see unknown_ioctl_rejected.
 *
 * heapload,restricted refuses every CPU access (mmap, DMA_BUF_IOCTL_SYNC,
 * vmap): the tests that need one report a skip for it, and restricted.c
 * checks the refusal itself. Everything else runs on it too.
 */
#define _GNU_SOURCE
#include <dirent.h>

#include <signal.h>

#include "hl_knobs.h"
#include "hl_test.h"

#define MAX_HEAPS	16

/* Struct sizes an older and a newer user space might build in. */
struct heap_alloc_older {
	__u64 len;
	__u32 fd;
	__u32 fd_flags;
};

struct heap_alloc_newer {
	__u64 len;
	__u32 fd;
	__u32 fd_flags;
	__u64 heap_flags;
	__u64 garbage;
};

#define RESTRICTED_SKIP	"restricted heap: no CPU access; restricted.c checks the refusal"

static bool is_heapload_heap(const char *heap)
{
	return !strncmp(heap, "heapload,", strlen("heapload,"));
}

/* A heap whose buffers refuse mmap, DMA_BUF_IOCTL_SYNC and vmap. */
static bool is_restricted_heap(const char *heap)
{
	return !strcmp(heap, HL_RESTRICTED_NAME);
}

/*
 * Does heapload itself answer this heap's ioctls? Not when its heaps are
 * registered through the kernel's dma-heap framework (dma_heap_add()),
 * which then handles DMA_HEAP_IOCTL_ALLOC the upstream way.
 */
static bool heapload_own_uapi(const char *heap)
{
	char line[128] = "";
	FILE *f;

	if (!is_heapload_heap(heap))
		return false;
	f = fopen(HL_STATS_DIR "/registration", "r");
	if (!f)
		return true;	/* before registration paths: always our own */
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;
	fclose(f);
	return strstr(line, "own") != NULL;
}

static int open_heap(const char *heap, int *fd)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", HL_HEAP_DIR, heap);
	*fd = open(path, O_RDWR | O_CLOEXEC);
	if (*fd < 0)
		return ktap_fail("open %s: %s", path, strerror(errno));
	return KTAP_PASS;
}

static int64_t dmabuf_size(int dfd)
{
	return lseek(dfd, 0, SEEK_END);
}

/* Allocate @len and check the dma-buf is @want bytes. */
static int alloc_expect_size(int heap_fd, uint64_t len, uint64_t want)
{
	int64_t got;
	int dfd, e;

	e = hl_heap_alloc(heap_fd, len, O_RDWR | O_CLOEXEC, 0, &dfd);
	if (e)
		return ktap_fail("alloc of %" PRIu64 " bytes: %s", len,
				 hl_errname(e));
	got = dmabuf_size(dfd);
	close(dfd);
	if (got < 0 || (uint64_t)got != want)
		return ktap_fail("alloc of %" PRIu64 " bytes gave a %" PRId64
				 "-byte dma-buf, expected %" PRIu64, len, got,
				 want);
	return KTAP_PASS;
}

static int t_alloc_sizes(const char *heap)
{
	const uint64_t sizes[] = {
		HL_PAGE, 64 * 1024, HL_MIB + 3 * HL_PAGE, 32 * HL_MIB,
	};
	/*
	 * The restricted heap draws on a small pool: the largest size just
	 * passes one 4 MiB chunk (two chunks); restricted.c goes to 256 MiB.
	 */
	const uint64_t restricted_sizes[] = {
		HL_PAGE, 64 * 1024, HL_MIB + 3 * HL_PAGE, 4 * HL_MIB + HL_PAGE,
	};
	const uint64_t *want = is_restricted_heap(heap) ? restricted_sizes : sizes;
	int fd, r = open_heap(heap, &fd);
	size_t i;

	_Static_assert(sizeof(sizes) == sizeof(restricted_sizes),
		       "one size list as long as the other");
	for (i = 0; r == KTAP_PASS && i < sizeof(sizes) / sizeof(sizes[0]); i++)
		r = alloc_expect_size(fd, want[i], want[i]);
	if (fd >= 0)
		close(fd);
	return r;
}

static int t_alloc_len_rounded_up(const char *heap)
{
	int fd, r = open_heap(heap, &fd);

	if (r == KTAP_PASS)
		r = alloc_expect_size(fd, 1, HL_PAGE);
	if (r == KTAP_PASS)
		r = alloc_expect_size(fd, HL_PAGE + 1, 2 * HL_PAGE);
	if (fd >= 0)
		close(fd);
	return r;
}

/*
 * Allocate a page with @fd_flags and probe the dma-buf as
 * hl_probe_dmabuf() does; @what names the allocation in a failure.
 */
static int alloc_probe(int heap_fd, uint32_t fd_flags, const char *what,
		       int cmd, int *fl, int *mmap_err)
{
	int dfd, e = hl_heap_alloc(heap_fd, HL_PAGE, fd_flags, 0, &dfd);

	if (e)
		return ktap_fail("%s: %s", what, hl_errname(e));
	hl_probe_dmabuf(dfd, cmd, fl, mmap_err);
	return KTAP_PASS;
}

static int t_alloc_cloexec(const char *heap)
{
	int fd, fl, r = open_heap(heap, &fd);

	if (r)
		return r;
	r = alloc_probe(fd, O_RDWR | O_CLOEXEC, "alloc with O_CLOEXEC",
			F_GETFD, &fl, NULL);
	if (r)
		goto out;
	if (fl < 0 || !(fl & FD_CLOEXEC)) {
		r = ktap_fail("fd_flags O_CLOEXEC: FD_CLOEXEC not set");
		goto out;
	}
	r = alloc_probe(fd, O_RDWR, "alloc without O_CLOEXEC", F_GETFD, &fl,
			NULL);
	if (!r && (fl < 0 || (fl & FD_CLOEXEC)))
		r = ktap_fail("fd_flags without O_CLOEXEC: FD_CLOEXEC set");
out:
	close(fd);
	return r;
}

/*
 * Also on the restricted heap: mmap() refuses a writable shared mapping
 * of a read-only file with EACCES before the exporter is asked.
 */
static int t_alloc_accmode(const char *heap)
{
	int fd, fl, e, r = open_heap(heap, &fd);

	if (r)
		return r;
	r = alloc_probe(fd, O_RDONLY | O_CLOEXEC, "alloc with O_RDONLY",
			F_GETFL, &fl, &e);
	if (r)
		goto out;
	if (fl < 0 || (fl & O_ACCMODE) != O_RDONLY) {
		r = ktap_fail("O_RDONLY buffer has access mode %d", fl & O_ACCMODE);
		goto out;
	}
	if (!e) {
		r = ktap_fail("O_RDONLY buffer could be mapped writable");
		goto out;
	}
	if (e != EACCES) {
		r = ktap_fail("writable mmap of O_RDONLY buffer: %s, expected EACCES",
			      hl_errname(e));
		goto out;
	}
	r = alloc_probe(fd, O_RDWR | O_CLOEXEC, "alloc with O_RDWR", F_GETFL,
			&fl, NULL);
	if (!r && (fl < 0 || (fl & O_ACCMODE) != O_RDWR))
		r = ktap_fail("O_RDWR buffer has access mode %d", fl & O_ACCMODE);
out:
	close(fd);
	return r;
}

static uint32_t pattern(size_t word)
{
	return (uint32_t)(word * 2654435761u) ^ 0x5a5a5a5au;
}

static int t_mmap_sync_roundtrip(const char *heap)
{
	const size_t len = 2 * HL_MIB + 3 * HL_PAGE;
	int fd, dfd = -1, e, r = open_heap(heap, &fd);
	uint32_t *p = MAP_FAILED;
	size_t i;

	if (r)
		return r;
	e = hl_heap_alloc(fd, len, O_RDWR | O_CLOEXEC, 0, &dfd);
	if (e) {
		r = ktap_fail("alloc: %s", hl_errname(e));
		goto out;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
	if (p == MAP_FAILED) {
		r = ktap_fail("mmap: %s", strerror(errno));
		goto out;
	}
	e = hl_sync(dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
	if (e) {
		r = ktap_fail("SYNC_START|WRITE: %s", hl_errname(e));
		goto out;
	}
	for (i = 0; i < len / 4; i++)
		p[i] = pattern(i);
	e = hl_sync(dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
	if (e) {
		r = ktap_fail("SYNC_END|WRITE: %s", hl_errname(e));
		goto out;
	}
	/* Read back through a fresh mapping, not the one that wrote. */
	munmap(p, len);
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, dfd, 0);
	if (p == MAP_FAILED) {
		r = ktap_fail("second mmap: %s", strerror(errno));
		goto out;
	}
	e = hl_sync(dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	if (e) {
		r = ktap_fail("SYNC_START|READ: %s", hl_errname(e));
		goto out;
	}
	for (i = 0; i < len / 4; i++) {
		if (p[i] != pattern(i)) {
			r = ktap_fail("word %zu reads 0x%08x, wrote 0x%08x",
				      i, p[i], pattern(i));
			break;
		}
	}
	e = hl_sync(dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	if (e && r == KTAP_PASS)
		r = ktap_fail("SYNC_END|READ: %s", hl_errname(e));
out:
	if (p != MAP_FAILED)
		munmap(p, len);
	if (dfd >= 0)
		close(dfd);
	close(fd);
	return r;
}

#define ZERO_BUFS	16
#define ZERO_LEN	HL_MIB

/* Map @dfd, fill it with 0xff (@fill) or check it reads zero. */
static int fill_or_check(int dfd, bool fill, unsigned int idx)
{
	unsigned char *p;
	size_t nz;
	int r = KTAP_PASS;

	p = mmap(NULL, ZERO_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
	if (p == MAP_FAILED)
		return ktap_fail("mmap of buffer %u: %s", idx, strerror(errno));
	hl_sync(dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
	if (fill) {
		memset(p, 0xff, ZERO_LEN);
	} else {
		nz = hl_first_nonzero(p, ZERO_LEN);
		if (nz != ZERO_LEN)
			r = ktap_fail("new buffer %u has 0x%02x at byte %zu",
				      idx, p[nz], nz);
	}
	hl_sync(dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
	munmap(p, ZERO_LEN);
	return r;
}

static int t_alloc_zeroed(const char *heap)
{
	int fd, dfd[ZERO_BUFS], e, r = open_heap(heap, &fd);
	unsigned int i, n = 0, pass;

	if (r)
		return r;
	/* Dirty buffers, free them, then expect new ones to read zero. */
	for (pass = 0; pass < 2 && r == KTAP_PASS; pass++) {
		for (n = 0; n < ZERO_BUFS; n++) {
			e = hl_heap_alloc(fd, ZERO_LEN, O_RDWR | O_CLOEXEC, 0,
					  &dfd[n]);
			if (e) {
				r = ktap_fail("alloc %u: %s", n, hl_errname(e));
				break;
			}
			r = fill_or_check(dfd[n], pass == 0, n);
			if (r) {
				n++;
				break;
			}
		}
		for (i = 0; i < n; i++)
			close(dfd[i]);
	}
	close(fd);
	return r;
}

/*
 * DMA_HEAP_IOCTL_ALLOC as user space built with its own @size-byte struct
 * (@d, asking for HL_MIB; @dfd is its fd field) must give a dma-buf of
 * HL_MIB bytes.
 */
static int alloc_struct_size(const char *heap, void *d, size_t size,
			     const __u32 *dfd)
{
	unsigned long req = _IOC(_IOC_READ | _IOC_WRITE, DMA_HEAP_IOC_MAGIC,
				 0x0, size);
	int fd, e, r = open_heap(heap, &fd);
	int64_t sz;

	if (r)
		return r;
	e = hl_ioctl(fd, req, d);
	close(fd);
	if (e)
		return ktap_fail("%zu-byte struct: %s", size, hl_errname(e));
	sz = dmabuf_size((int)*dfd);
	close((int)*dfd);
	if (sz != (int64_t)HL_MIB)
		return ktap_fail("dma-buf is %" PRId64 " bytes, expected %llu",
				 sz, HL_MIB);
	return KTAP_PASS;
}

static int t_alloc_older_struct(const char *heap)
{
	struct heap_alloc_older d = {
		.len = HL_MIB,
		.fd = 0,
		.fd_flags = O_RDWR | O_CLOEXEC,
	};

	return alloc_struct_size(heap, &d, sizeof(d), &d.fd);
}

/*
 * Upstream copies only the size it knows and ignores the rest of a
 * larger struct, so non-zero bytes past heap_flags must not matter.
 */
static int t_alloc_newer_struct(const char *heap)
{
	struct heap_alloc_newer d = {
		.len = HL_MIB,
		.fd = 0,
		.fd_flags = O_RDWR | O_CLOEXEC,
		.heap_flags = 0,
		.garbage = 0xffffffffULL,
	};

	return alloc_struct_size(heap, &d, sizeof(d), &d.fd);
}

/* DMA_HEAP_IOCTL_ALLOC with @d must fail with EINVAL. */
static int expect_einval(const char *heap, struct dma_heap_allocation_data d,
			 const char *what)
{
	int fd, e, r = open_heap(heap, &fd);

	if (r)
		return r;
	e = hl_ioctl(fd, DMA_HEAP_IOCTL_ALLOC, &d);
	close(fd);
	if (!e) {
		close((int)d.fd);
		return ktap_fail("%s was accepted", what);
	}
	if (e != EINVAL)
		return ktap_fail("%s: %s, expected EINVAL", what, hl_errname(e));
	return KTAP_PASS;
}

static int t_rejects_fd_field(const char *heap)
{
	struct dma_heap_allocation_data d = {
		.len = HL_PAGE, .fd = 3, .fd_flags = O_RDWR | O_CLOEXEC,
	};

	return expect_einval(heap, d, "fd field 3 on input");
}

static int t_rejects_fd_flags(const char *heap)
{
	struct dma_heap_allocation_data d = { .len = HL_PAGE };
	int r;

	d.fd_flags = ~(O_ACCMODE | O_CLOEXEC);
	r = expect_einval(heap, d, "fd_flags ~(O_ACCMODE|O_CLOEXEC)");
	if (r)
		return r;
	d.fd_flags = O_RDWR | O_NONBLOCK;
	return expect_einval(heap, d, "fd_flags O_RDWR|O_NONBLOCK");
}

static int t_rejects_heap_flags(const char *heap)
{
	struct dma_heap_allocation_data d = {
		.len = HL_PAGE, .fd_flags = O_RDWR | O_CLOEXEC,
	};
	int r;

	d.heap_flags = 0x111111;
	r = expect_einval(heap, d, "heap_flags 0x111111");
	if (r)
		return r;
	d.heap_flags = 1ULL << 63;
	return expect_einval(heap, d, "heap_flags bit 63");
}

static int t_rejects_len_zero(const char *heap)
{
	struct dma_heap_allocation_data d = {
		.len = 0, .fd_flags = O_RDWR | O_CLOEXEC,
	};

	return expect_einval(heap, d, "len 0");
}

/*
 * Upstream dma_heap_buffer_alloc() does PAGE_ALIGN(len) first; ~0 wraps
 * to 0 and is refused as EINVAL before any heap sees it. We assert
 * exactly that (not ENOMEM).
 */
static int t_rejects_len_overflow(const char *heap)
{
	struct dma_heap_allocation_data d = {
		.len = ~0ULL, .fd_flags = O_RDWR | O_CLOEXEC,
	};

	return expect_einval(heap, d, "len ~0 (wraps to 0 when page-aligned)");
}

/*
 * heapload's own dma-heap UAPI answers unknown ioctls with ENOTTY,
 * including one of another type that happens to use number 0. Upstream's
 * dma-heap core (other heaps, and ours when registered through it) indexes
 * its table by number alone and returns EINVAL for numbers past it.
 */
static int t_unknown_ioctl(const char *heap)
{
	struct dma_heap_allocation_data d = {
		.len = HL_PAGE, .fd_flags = O_RDWR | O_CLOEXEC,
	};
	const unsigned long next_nr =
		_IOWR(DMA_HEAP_IOC_MAGIC, 0x1, struct dma_heap_allocation_data);
	const unsigned long other_type =
		_IOWR('x', 0x0, struct dma_heap_allocation_data);
	bool own = heapload_own_uapi(heap);
	int fd, e, r = open_heap(heap, &fd);

	if (r)
		return r;
	e = hl_ioctl(fd, next_nr, &d);
	if (own ? e != ENOTTY : (e != ENOTTY && e != EINVAL)) {
		r = ktap_fail("ioctl nr 1 of type 'H': %s, expected ENOTTY%s",
			      hl_errname(e), own ? "" : " or EINVAL");
		goto out;
	}
	if (!own)
		goto out;
	d.fd = 0;
	e = hl_ioctl(fd, other_type, &d);
	if (!e)
		close((int)d.fd);
	if (e != ENOTTY)
		r = ktap_fail("ioctl nr 0 of type 'x': %s, expected ENOTTY",
			      hl_errname(e));
out:
	close(fd);
	return r;
}

/*
 * Import by vgem without any CPU access, so that it runs on every heap:
 * PRIME_FD_TO_HANDLE and GEM_CLOSE work, the dma-buf intact in between.
 */
/*
 * Open vgem and @heap and allocate 1 MiB from it. Returns KTAP_PASS with
 * all three fds set, or the result to report; *@dfd is -1 and the other
 * fds closed unless both opens succeeded.
 */
static int vgem_setup(const char *heap, int *vfd, int *fd, int *dfd)
{
	int e, r;

	*dfd = -1;
	*vfd = hl_open_vgem();
	if (*vfd < 0)
		return ktap_skip("no vgem device under /dev/dri (vgem not loaded)");
	r = open_heap(heap, fd);
	if (r) {
		close(*vfd);
		*vfd = -1;
		return r;
	}
	e = hl_heap_alloc(*fd, HL_MIB, O_RDWR | O_CLOEXEC, 0, dfd);
	if (e)
		return ktap_fail("alloc: %s", hl_errname(e));
	return KTAP_PASS;
}

static int t_vgem_import_unmapped(const char *heap)
{
	int fd = -1, dfd, vfd, e, r;
	__u32 handle;
	int64_t sz;

	r = vgem_setup(heap, &vfd, &fd, &dfd);
	if (vfd < 0)
		return r;
	if (r != KTAP_PASS)
		goto out;
	e = hl_vgem_import(vfd, dfd, &handle);
	if (e) {
		r = ktap_fail("PRIME_FD_TO_HANDLE: %s", hl_errname(e));
		goto out;
	}
	sz = dmabuf_size(dfd);
	if (sz != (int64_t)HL_MIB)
		r = ktap_fail("dma-buf is %" PRId64 " bytes while imported, expected %llu",
			      sz, HL_MIB);
	e = hl_vgem_close(vfd, handle);
	if (e && r == KTAP_PASS)
		r = ktap_fail("GEM_CLOSE of handle %u: %s", handle, hl_errname(e));
out:
	if (dfd >= 0)
		close(dfd);
	close(fd);
	close(vfd);
	return r;
}

static int t_vgem_import(const char *heap)
{
	int fd = -1, dfd, vfd, e, r;
	unsigned char *p = MAP_FAILED;
	__u32 handle;

	r = vgem_setup(heap, &vfd, &fd, &dfd);
	if (vfd < 0)
		return r;
	if (r != KTAP_PASS)
		goto out;
	p = mmap(NULL, HL_MIB, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
	if (p == MAP_FAILED) {
		r = ktap_fail("mmap: %s", strerror(errno));
		goto out;
	}
	hl_sync(dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
	memset(p, 1, HL_MIB / 2);
	memset(p + HL_MIB / 2, 0, HL_MIB / 2);
	hl_sync(dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);

	e = hl_vgem_import(vfd, dfd, &handle);
	if (e) {
		r = ktap_fail("PRIME_FD_TO_HANDLE: %s", hl_errname(e));
		goto out;
	}
	/* CPU access must still work while a device has it attached. */
	e = hl_sync(dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
	if (!e) {
		memset(p, 0xff, HL_MIB);
		e = hl_sync(dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
	}
	if (e)
		r = ktap_fail("sync while imported: %s", hl_errname(e));
	e = hl_vgem_close(vfd, handle);
	if (e && r == KTAP_PASS)
		r = ktap_fail("GEM_CLOSE of handle %u: %s", handle, hl_errname(e));
out:
	if (p != MAP_FAILED)
		munmap(p, HL_MIB);
	if (dfd >= 0)
		close(dfd);
	close(fd);
	close(vfd);
	return r;
}

/* @cpu: maps or syncs a buffer (CPU), so the restricted heap skips it. */
struct heap_test {
	const char *name;
	int (*fn)(const char *heap);
	bool cpu;
};

#define CPU	true

static const struct heap_test heap_tests[] = {
	{ "alloc_sizes",			t_alloc_sizes, false },
	{ "alloc_len_rounded_up_to_page",	t_alloc_len_rounded_up, false },
	{ "alloc_fd_flags_cloexec",		t_alloc_cloexec, false },
	{ "alloc_fd_flags_accmode",		t_alloc_accmode, false },
	{ "mmap_sync_roundtrip",		t_mmap_sync_roundtrip, CPU },
	{ "alloc_zeroed",			t_alloc_zeroed, CPU },
	{ "alloc_older_struct_size",		t_alloc_older_struct, false },
	{ "alloc_newer_struct_size",		t_alloc_newer_struct, false },
	{ "alloc_rejects_fd_field",		t_rejects_fd_field, false },
	{ "alloc_rejects_fd_flags",		t_rejects_fd_flags, false },
	{ "alloc_rejects_heap_flags",		t_rejects_heap_flags, false },
	{ "alloc_rejects_len_zero",		t_rejects_len_zero, false },
	{ "alloc_rejects_len_overflow",		t_rejects_len_overflow, false },
	{ "unknown_ioctl_rejected",		t_unknown_ioctl, false },
	{ "vgem_import_unmapped",		t_vgem_import_unmapped, false },
	{ "vgem_import",			t_vgem_import, CPU },
};

#undef CPU

#define N_HEAP_TESTS	(sizeof(heap_tests) / sizeof(heap_tests[0]))

/* ---- allocation on several threads (alloc_threads) ---- */

#define HL_STAT_WORKERS		HL_STATS_DIR "/alloc_workers"
#define HL_STAT_PARALLEL	HL_STATS_DIR "/parallel_allocs"
#define HL_PARAM_ALIAS		HL_PARAM_DIR "system_alias"
/* Tries of a test that needs the helper to allocate a unit. */
#define PARALLEL_ATTEMPTS	3
#define PARALLEL_LEN		(64 * HL_MIB)
#define FAULT_AT		(40 * HL_MIB)

enum knob_id { K_BATCH, K_THREADS, K_FAULT_ALLOC, K_FAULT_THREAD, K_NR };

static struct hl_knob knob_table[K_NR] = {
	[K_BATCH] = { "gather_batch_mb", HL_PARAM_DIR "gather_batch_mb" },
	[K_THREADS] = { "alloc_threads", HL_PARAM_DIR "alloc_threads" },
	[K_FAULT_ALLOC] = { "fault_alloc_after",
			    HL_DEBUG_DIR "/fault_alloc_after" },
	[K_FAULT_THREAD] = { "fault_alloc_thread",
			     HL_DEBUG_DIR "/fault_alloc_thread" },
};

/*
 * The module under test has the parameters; the debugfs knobs of test
 * builds are checked before use (fault_precondition()).
 */
static struct hl_knobs knobs = { knob_table, K_NR, true };

static void on_fatal_signal(int sig)
{
	hl_knobs_restore(&knobs, NULL);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Heaps allocating on several threads: heapload,system and its alias. */
static bool is_parallel_heap(const char *heap)
{
	char word[8] = "";

	if (!strcmp(heap, HL_HEAP_NAME))
		return true;
	return !strcmp(heap, "system") &&
	       !hl_read_word(HL_PARAM_ALIAS, word, sizeof(word)) &&
	       word[0] == 'Y';
}

static int read_stat(const char *path, uint64_t *v)
{
	int e = hl_read_u64(path, v);

	if (e)
		return ktap_fail("reading %s: %s", path, hl_errname(e));
	return KTAP_PASS;
}

/*
 * gather_batch_mb @unit_mb (the unit) and alloc_threads @threads; the
 * counters alloc_workers and parallel_allocs, which this module has, must
 * be there.
 */
static int parallel_knobs(unsigned int unit_mb, unsigned int threads)
{
	int r = hl_knob_set(&knobs, K_BATCH, unit_mb);

	if (!r)
		r = hl_knob_set(&knobs, K_THREADS, threads);
	if (!r && access(HL_STAT_WORKERS, R_OK))
		r = ktap_fail("no %s: %s", HL_STAT_WORKERS, strerror(errno));
	if (!r && access(HL_STAT_PARALLEL, R_OK))
		r = ktap_fail("no %s: %s", HL_STAT_PARALLEL, strerror(errno));
	return r;
}

/* No helper allocates once DMA_HEAP_IOCTL_ALLOC returned, failed or not. */
static int no_alloc_workers(void)
{
	uint64_t w;
	int r = read_stat(HL_STAT_WORKERS, &w);

	if (!r && w)
		r = ktap_fail("alloc_workers %" PRIu64 " after DMA_HEAP_IOCTL_ALLOC returned, expected 0",
			      w);
	return r;
}

/* allocated_bytes and buffers back at @bytes and @bufs within 5 s. */
static int stats_back(uint64_t bytes, uint64_t bufs, const char *when)
{
	uint64_t b, n;
	int e = hl_wait_stats(bytes, bufs, 5000, &b, &n);

	if (e)
		return ktap_fail("allocated_bytes %" PRIu64 " buffers %" PRIu64
				 " %s, expected %" PRIu64 " and %" PRIu64 " (%s)",
				 b, n, when, bytes, bufs, hl_errname(e));
	return KTAP_PASS;
}

/*
 * @len bytes of @dfd read zero through a mapping, in DMA_BUF_IOCTL_SYNC
 * brackets; then each page, its index written through that mapping,
 * reads it back through another: no page is in the buffer twice.
 */
static int check_zeroed_pages(int dfd, size_t len)
{
	const size_t step = HL_PAGE / sizeof(uint64_t);
	size_t nz, i, words = len / sizeof(uint64_t);
	uint64_t *p;
	int r = KTAP_PASS, e;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
	if (p == MAP_FAILED)
		return ktap_fail("mmap: %s", strerror(errno));
	e = hl_sync(dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
	if (e) {
		munmap(p, len);
		return ktap_fail("SYNC_START|RW: %s", hl_errname(e));
	}
	nz = hl_first_nonzero((const unsigned char *)p, len);
	if (nz != len)
		r = ktap_fail("byte %zu of a new %zu-byte buffer is 0x%02x",
			      nz, len, ((const unsigned char *)p)[nz]);
	for (i = 0; !r && i < words; i += step)
		p[i] = i / step + 1;
	e = hl_sync(dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
	if (e && !r)
		r = ktap_fail("SYNC_END|RW: %s", hl_errname(e));
	munmap(p, len);
	if (r)
		return r;
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, dfd, 0);
	if (p == MAP_FAILED)
		return ktap_fail("second mmap: %s", strerror(errno));
	e = hl_sync(dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	if (e)
		r = ktap_fail("SYNC_START|READ: %s", hl_errname(e));
	for (i = 0; !r && i < words; i += step)
		if (p[i] != i / step + 1)
			r = ktap_fail("page %zu reads back %" PRIu64 ", written %zu: a page is in the buffer twice",
				      i / step, p[i], i / step + 1);
	e = hl_sync(dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	if (e && !r)
		r = ktap_fail("SYNC_END|READ: %s", hl_errname(e));
	munmap(p, len);
	return r;
}

/*
 * One parallel allocation of PARALLEL_LEN: exact size, zeroed, its pages
 * distinct, freed on close; *@delta is the growth of parallel_allocs.
 */
static int parallel_alloc_once(int fd, uint64_t *delta)
{
	uint64_t p0, p1, b0, n0;
	int dfd = -1, e, r;
	int64_t size;

	r = hl_stats(&b0, &n0) ? ktap_fail("reading allocated_bytes or buffers") :
	    read_stat(HL_STAT_PARALLEL, &p0);
	if (r)
		return r;
	/* Dirty pages, freed: the module must zero what it gets back. */
	hl_dirty_free_memory(PARALLEL_LEN);
	e = hl_heap_alloc(fd, PARALLEL_LEN, O_RDWR | O_CLOEXEC, 0, &dfd);
	r = no_alloc_workers();
	if (e)
		return ktap_fail("alloc of %llu MiB: %s", PARALLEL_LEN / HL_MIB,
				 hl_errname(e));
	size = dmabuf_size(dfd);
	if (!r && size != (int64_t)PARALLEL_LEN)
		r = ktap_fail("dma-buf is %" PRId64 " bytes, expected %llu", size,
			      PARALLEL_LEN);
	if (!r)
		r = check_zeroed_pages(dfd, PARALLEL_LEN);
	close(dfd);
	if (!r)
		r = stats_back(b0, n0, "after the buffer was closed");
	if (!r)
		r = read_stat(HL_STAT_PARALLEL, &p1);
	if (r)
		return r;
	if (p1 < p0 || p1 > p0 + 1)
		return ktap_fail("parallel_allocs went from %" PRIu64 " to %" PRIu64
				 " in one allocation", p0, p1);
	*delta = p1 - p0;
	return KTAP_PASS;
}

/*
 * PARALLEL_LEN in units of @unit_mb on two threads. Where the caller
 * claims every unit before the helper runs (a busy machine),
 * parallel_allocs does not grow: try again, and skip after
 * PARALLEL_ATTEMPTS allocations.
 */
static int parallel_zeroed(const char *heap, unsigned int unit_mb)
{
	uint64_t delta = 0;
	int fd, i, r;

	r = parallel_knobs(unit_mb, 2);
	if (!r)
		r = open_heap(heap, &fd);
	if (r)
		return r;
	for (i = 0; i < PARALLEL_ATTEMPTS; i++) {
		r = parallel_alloc_once(fd, &delta);
		if (r || delta)
			break;
		ktap_print_msg("attempt %d: the caller allocated every unit", i + 1);
	}
	close(fd);
	if (!r && !delta)
		r = ktap_skip("the helper allocated no unit in %d allocations of %llu MiB (a busy machine?): parallel allocation untested",
			      PARALLEL_ATTEMPTS, PARALLEL_LEN / HL_MIB);
	return r;
}

/* 64 units of 1 MiB. @arg: the heap's name. */
static int t_parallel_zeroed(const void *arg)
{
	return parallel_zeroed(arg, 1);
}

/*
 * Units of 16 MiB: the last two are cut into 4 MiB units (the module's
 * tail), 10 units in all. @arg: the heap's name.
 */
static int t_parallel_zeroed_tail(const void *arg)
{
	return parallel_zeroed(arg, 16);
}

/* One unit or less: the caller alone, however many threads are allowed. */
/* @arg: the heap's name. */
static int t_below_batch(const void *arg)
{
	const char *heap = arg;
	const uint64_t sizes[] = { HL_PAGE, HL_MIB / 2, HL_MIB };
	uint64_t p0, p1;
	int fd, dfd, e, r;
	size_t i;

	r = parallel_knobs(1, 2);
	if (!r)
		r = open_heap(heap, &fd);
	if (r)
		return r;
	r = read_stat(HL_STAT_PARALLEL, &p0);
	for (i = 0; !r && i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		e = hl_heap_alloc(fd, sizes[i], O_RDWR | O_CLOEXEC, 0, &dfd);
		if (e) {
			r = ktap_fail("alloc of %" PRIu64 " bytes: %s", sizes[i],
				      hl_errname(e));
			break;
		}
		close(dfd);
		r = no_alloc_workers();
	}
	close(fd);
	if (!r)
		r = read_stat(HL_STAT_PARALLEL, &p1);
	if (!r && p1 != p0)
		r = ktap_fail("parallel_allocs went from %" PRIu64 " to %" PRIu64
			      " for buffers of one gather batch or less", p0, p1);
	return r;
}

/* The fault injection of test builds, or a skip. */
static int fault_precondition(void)
{
	if (!knob_table[K_FAULT_ALLOC].present) {
		if (!access(HL_DEBUG_DIR, F_OK))
			return ktap_skip("no %s", knob_table[K_FAULT_ALLOC].path);
		if (!hl_debugfs_mounted())
			return ktap_skip("no %s: debugfs not mounted at /sys/kernel/debug",
					 HL_DEBUG_DIR);
		return ktap_skip("no %s: this heapload has no fault injection",
				 HL_DEBUG_DIR);
	}
	/* A test build of this module has both or neither. */
	if (!knob_table[K_FAULT_THREAD].present)
		return ktap_fail("%s but no %s", knob_table[K_FAULT_ALLOC].path,
				 knob_table[K_FAULT_THREAD].path);
	return KTAP_PASS;
}

/*
 * A PARALLEL_LEN allocation with fault_alloc_after at FAULT_AT: ENOMEM
 * (*@ok false if it succeeded instead), no helper left, nothing left
 * allocated.
 */
static int fault_alloc_once(int fd, const char *what, bool *ok)
{
	uint64_t b0, n0;
	int dfd = -1, e, r;

	*ok = false;
	if (hl_stats(&b0, &n0))
		return ktap_fail("reading allocated_bytes or buffers");
	e = hl_heap_alloc(fd, PARALLEL_LEN, O_RDWR | O_CLOEXEC, 0, &dfd);
	r = no_alloc_workers();
	if (!e) {
		close(dfd);
		*ok = true;
	} else if (e != ENOMEM && !r) {
		r = ktap_fail("%s, fault_alloc_after=%llu: %s, expected ENOMEM",
			      what, FAULT_AT, hl_errname(e));
	}
	if (!r)
		r = stats_back(b0, n0, *ok ? "after the buffer was closed" :
				       "after the failed allocation");
	return r;
}

/*
 * The fault tests' start: alloc_threads @threads with 1 MiB batches,
 * fault_alloc_after at FAULT_AT for thread @thread (0: any), and @heap
 * open in *@fd.
 */
static int fault_setup(const char *heap, unsigned int threads,
		       unsigned int thread, int *fd)
{
	int r = fault_precondition();

	if (!r)
		r = parallel_knobs(1, threads);
	if (!r)
		r = hl_knob_set(&knobs, K_FAULT_THREAD, thread);
	if (!r)
		r = hl_knob_set(&knobs, K_FAULT_ALLOC, FAULT_AT);
	if (!r)
		r = open_heap(heap, fd);
	return r;
}

/*
 * fault_alloc_after for any thread: the caller alone (alloc_threads 1),
 * then two threads; whichever allocates the unit past FAULT_AT fails.
 */
/* @arg: the heap's name. */
static int t_parallel_fault(const void *arg)
{
	const char *heap = arg;
	static const unsigned int threads[] = { 1, 2 };
	char what[64];
	int fd, r;
	size_t i;
	bool ok;

	r = fault_setup(heap, 1, 0, &fd);
	if (r)
		return r;
	for (i = 0; !r && i < sizeof(threads) / sizeof(threads[0]); i++) {
		snprintf(what, sizeof(what), "%llu MiB with alloc_threads=%u",
			 PARALLEL_LEN / HL_MIB, threads[i]);
		r = hl_knob_set(&knobs, K_THREADS, threads[i]);
		if (!r)
			r = fault_alloc_once(fd, what, &ok);
		if (!r && ok)
			r = ktap_fail("%s allocated past fault_alloc_after=%llu",
				      what, FAULT_AT);
	}
	close(fd);
	return r;
}

/*
 * fault_alloc_after for the helper only: its ENOMEM stops the caller
 * too. If the caller claimed every unit past FAULT_AT, the allocation
 * succeeds: try again, and skip after PARALLEL_ATTEMPTS.
 */
/* @arg: the heap's name. */
static int t_parallel_fault_helper(const void *arg)
{
	const char *heap = arg;
	int fd, i, r;
	bool ok = true;

	r = fault_setup(heap, 2, 2, &fd);
	if (r)
		return r;
	for (i = 0; !r && ok && i < PARALLEL_ATTEMPTS; i++) {
		r = fault_alloc_once(fd, "64 MiB on two threads, the helper's failing",
				     &ok);
		if (!r && ok)
			ktap_print_msg("attempt %d: the helper allocated nothing past byte %llu",
				       i + 1, FAULT_AT);
	}
	close(fd);
	if (!r && ok)
		r = ktap_skip("the helper allocated nothing past byte %llu in %d allocations: its failure is untested",
			      FAULT_AT, PARALLEL_ATTEMPTS);
	return r;
}

static const struct hl_test parallel_tests[] = {
	{ "alloc_parallel_zeroed_exact", t_parallel_zeroed, NULL },
	{ "alloc_parallel_16m_units_tail_zeroed_exact", t_parallel_zeroed_tail,
	  NULL },
	{ "alloc_below_batch_single", t_below_batch, NULL },
	{ "alloc_parallel_fault_enomem_no_leak", t_parallel_fault, NULL },
	{ "alloc_parallel_fault_in_helper_enomem_no_leak",
	  t_parallel_fault_helper, NULL },
};

#define N_PARALLEL_TESTS	(sizeof(parallel_tests) / sizeof(parallel_tests[0]))

/* Report @heap's parallel tests, each putting back the knobs it changed. */
static void run_parallel_tests(const char *heap)
{
	char name[256];
	size_t t;

	for (t = 0; t < N_PARALLEL_TESTS; t++) {
		snprintf(name, sizeof(name), "%s: %s", heap,
			 parallel_tests[t].name);
		hl_knobs_run(&knobs, name, parallel_tests[t].fn, heap);
	}
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

static unsigned int find_heaps(char *names[MAX_HEAPS])
{
	unsigned int n = 0;
	struct dirent *de;
	DIR *d = opendir(HL_HEAP_DIR);

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < MAX_HEAPS) {
		if (de->d_name[0] == '.')
			continue;
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_names);
	return n;
}

static int t_heapload_heap_present(void)
{
	struct stat st;

	if (!stat(HL_HEAP_PATH, &st)) {
		if (S_ISCHR(st.st_mode))
			return KTAP_PASS;
		return ktap_fail("%s is not a character device", HL_HEAP_PATH);
	}
	if (!hl_module_loaded())
		return ktap_skip("heapload module not loaded");
	return ktap_fail("module loaded but %s: %s", HL_HEAP_PATH,
			 strerror(errno));
}

int main(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGALRM };
	unsigned int nheaps, nparallel = 0, h;
	char *heaps[MAX_HEAPS];
	char name[256];
	size_t t;

	nheaps = find_heaps(heaps);
	for (h = 0; h < nheaps; h++)
		nparallel += is_parallel_heap(heaps[h]);
	ktap_print_header();
	ktap_set_plan(1 + nheaps * N_HEAP_TESTS + nparallel * N_PARALLEL_TESTS +
		      1);
	if (!nheaps)
		ktap_print_msg("no heaps under %s", HL_HEAP_DIR);
	hl_knobs_save(&knobs);
	for (t = 0; t < sizeof(sigs) / sizeof(sigs[0]); t++)
		signal(sigs[t], on_fatal_signal);
	ktap_report("heapload_system_heap_present", t_heapload_heap_present());
	for (h = 0; h < nheaps; h++) {
		ktap_print_msg("heap %s", heaps[h]);
		for (t = 0; t < N_HEAP_TESTS; t++) {
			snprintf(name, sizeof(name), "%s: %s", heaps[h],
				 heap_tests[t].name);
			if (heap_tests[t].cpu && is_restricted_heap(heaps[h]))
				ktap_report(name, ktap_skip(RESTRICTED_SKIP));
			else
				ktap_report(name, heap_tests[t].fn(heaps[h]));
		}
		if (is_parallel_heap(heaps[h]))
			run_parallel_tests(heaps[h]);
		free(heaps[h]);
	}
	ktap_report("params_and_knobs_restored", hl_knobs_restored(&knobs));
	ktap_finished();
}
