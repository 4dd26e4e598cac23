// SPDX-License-Identifier: GPL-2.0
/*
 * The restricted heap, heapload,restricted: zeroed buffers the CPU may
 * not touch (mmap and DMA_BUF_IOCTL_SYNC fail with EPERM, vmap is
 * refused) but devices may import, drawn from a pool that grows up to
 * restricted_pool_mb on demand, in physically contiguous chunks of at
 * least min_chunk_bytes but the last, and that gives all its memory back
 * once nothing is used. Loads into it always use direct I/O.
 *
 * Checked: the heap node and the pool's sysfs files; allocations from
 * a page to 256 MiB; every CPU access refused; import by vgem; a load
 * verified without any CPU mapping; the refused loads; a failed load, a
 * full pool, a pool lowered below its use, many allocations and frees,
 * and a SIGKILL mid-load, each leaving nothing behind.
 *
 * Content and chunks are read through the debugfs file inspect (heap,
 * size, restricted, vmap, crc32 and the sg_table of a dma-buf), which the
 * test builds of heapload always have: the tests that need it fail, not
 * skip, without it.
 *
 * Changes restricted_pool_mb, gather_batch_mb and fault_read_error_after;
 * each test puts back what it changed when it ends, failed or not, and
 * the last tests check that they all read as before. Writes
 * $HL_DATA/restricted_37m_plus_123 (37 MiB) and a sparse
 * $HL_DATA/restricted_sparse_128m, removed again at the end. Needs root,
 * and $HL_DATA/256m (default /data) for the SIGKILL test.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stddef.h>
#include <sys/statfs.h>
#include <sys/wait.h>

#include <linux/magic.h>

#include "hl_test.h"
#include "hl_inspect.h"
#include "hl_kill.h"
#include "hl_knobs.h"

#define POOL_DIR		HL_STATS_DIR "/restricted"

#define D			HEAPLOAD_LOAD_DIRECT
#define B			HEAPLOAD_LOAD_BUFFERED

/* Every chunk of a restricted buffer but its last is at least this. */
#define MIN_CHUNK		(4 * HL_MIB)
/* The pool must read as expected again within this after a close. */
#define IDLE_MS			30000
#define KILL_ATTEMPTS		3
/* restricted_pool_mb for the tests that need room (256 MiB buffers). */
#define ROOMY_POOL_MB		512
/* ... and for those that fill the pool: sixteen 4 MiB buffers. */
#define SMALL_POOL_MB		64
#define SMALL_POOL_BUFS		16
/* A file of several batches with a partial last page. */
#define BIG_FILE_NAME		"restricted_37m_plus_123"
#define BIG_FILE_SIZE		(37 * HL_MIB + 123)
#define BIG_FILE_SEED		0x37123ULL
#define LOAD_POOL_MB		128
#define LOAD_BATCH_MB		8
#define SPARSE_NAME		"restricted_sparse_128m"
#define SPARSE_SIZE		(128 * HL_MIB)
/* Where the injected read error hits the 37 MiB load: its third batch. */
#define FAULT_AT		(20 * HL_MIB)
#define FRAG_STEPS		400
#define FRAG_SEED		0x5eed0400ULL
#define FRAG_ALLOC_PCT		55
#define FRAG_MAX_LIVE		128
/* Check the chunks of every this many successful allocations. */
#define FRAG_INSPECT_EVERY	16

typedef unsigned long long ull;

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

static int loader_fd = -1;
static int heap_fd = -1;

/* ---- a seeded pseudo-random stream ---- */

/* splitmix64: the same stream from the same seed, on every machine. */
static uint64_t rnd_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void fill_random(uint64_t *state, unsigned char *buf, size_t len)
{
	uint64_t v;
	size_t i;

	for (i = 0; i < len; i += sizeof(v)) {
		v = rnd_next(state);
		memcpy(buf + i, &v, len - i < sizeof(v) ? len - i : sizeof(v));
	}
}

/* ---- module parameters and debugfs knobs, restored after each test ---- */

enum knob_id {
	K_POOL,
	K_BATCH,
	K_FAULT_ERROR,
	K_NR
};

static struct hl_knob knob_table[K_NR] = {
	[K_POOL] = { .name = "restricted_pool_mb",
		     .path = HL_PARAM_DIR "restricted_pool_mb" },
	[K_BATCH] = { .name = "gather_batch_mb",
		      .path = HL_PARAM_DIR "gather_batch_mb" },
	[K_FAULT_ERROR] = { .name = "fault_read_error_after",
			    .path = HL_DEBUG_DIR "/fault_read_error_after" },
};

/*
 * The module that has the restricted heap has every knob used here: a
 * missing one fails.
 */
static struct hl_knobs knobs = { knob_table, K_NR, true };

/* restricted_pool_mb at least @mb for this test. */
static int pool_at_least(uint64_t mb)
{
	uint64_t cur;
	int r = hl_knob_get(&knobs, K_POOL, &cur);

	if (r || cur >= mb)
		return r;
	return hl_knob_set(&knobs, K_POOL, mb);
}

/* ---- files this program writes on $HL_DATA ---- */

struct file_data {
	char path[512];
	uint64_t size;
	uint32_t crc;		/* CRC-32 of the file's bytes */
	bool made;
};

static struct file_data big;
static char sparse_path[512];

static void remove_sparse(void)
{
	if (sparse_path[0] && !unlink(sparse_path))
		sparse_path[0] = '\0';
}

static void remove_files(void)
{
	if (big.made && !unlink(big.path))
		big.made = false;
	remove_sparse();
}

static void on_fatal_signal(int sig)
{
	hl_knobs_restore(&knobs, NULL);
	remove_files();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		p += n;
		len -= n;
	}
	return 0;
}

/*
 * Write @len bytes of the stream of @seed to @fd, their CRC-32 to *@crc;
 * 0 or the errno.
 */
static int write_random(int fd, uint64_t seed, uint64_t len, uint32_t *crc)
{
	unsigned char *buf = malloc(HL_MIB);
	uint64_t pos, n;
	int e = 0;

	if (!buf)
		return ENOMEM;
	*crc = 0;
	for (pos = 0; pos < len && !e; pos += n) {
		n = len - pos < HL_MIB ? len - pos : HL_MIB;
		fill_random(&seed, buf, n);
		*crc = hl_crc32_update(*crc, buf, n);
		e = write_all(fd, buf, n);
	}
	free(buf);
	return e;
}

/*
 * $HL_DATA/restricted_37m_plus_123, made on first use from a fixed seed,
 * synced and dropped from the page cache; its CRC-32 is taken while it is
 * written, so the loads are checked against the stream, not a read-back.
 */
static int big_file(const struct file_data **out)
{
	int fd, e;

	*out = &big;
	if (big.made)
		return KTAP_PASS;
	hl_data_path(big.path, sizeof(big.path), BIG_FILE_NAME);
	big.size = BIG_FILE_SIZE;
	fd = open(big.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return ktap_fail("create %s: %s", big.path, strerror(errno));
	big.made = true;
	e = write_random(fd, BIG_FILE_SEED, big.size, &big.crc);
	if (!e && fsync(fd))
		e = errno;
	if (!e)
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
	if (e) {
		remove_files();
		return ktap_fail("writing %s: %s", big.path, strerror(e));
	}
	ktap_print_msg("%s: %" PRIu64 " bytes, crc32 %08x", big.path, big.size,
		       big.crc);
	return KTAP_PASS;
}

/* A sparse $HL_DATA/restricted_sparse_128m: no disk space, reads zero. */
static int sparse_file(int *fd)
{
	char path[512];
	int e;

	hl_data_path(path, sizeof(path), SPARSE_NAME);
	*fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (*fd < 0)
		return ktap_fail("create %s: %s", path, strerror(errno));
	snprintf(sparse_path, sizeof(sparse_path), "%s", path);
	if (ftruncate(*fd, SPARSE_SIZE)) {
		e = errno;
		close(*fd);
		remove_sparse();
		return ktap_fail("ftruncate %s: %s", path, strerror(e));
	}
	return KTAP_PASS;
}

/* ---- the pool's sysfs files ---- */

struct pool {
	uint64_t size;
	uint64_t claimed;
	uint64_t used;
	uint64_t free;
	uint64_t largest;
	uint64_t restricted;
	uint64_t min_chunk;
};

static const struct {
	const char *file;
	size_t off;
} pool_files[] = {
	{ "size_bytes", offsetof(struct pool, size) },
	{ "claimed_bytes", offsetof(struct pool, claimed) },
	{ "used_bytes", offsetof(struct pool, used) },
	{ "free_bytes", offsetof(struct pool, free) },
	{ "largest_free_bytes", offsetof(struct pool, largest) },
	{ "restricted_bytes", offsetof(struct pool, restricted) },
	{ "min_chunk_bytes", offsetof(struct pool, min_chunk) },
};

/* Read every number of the pool; 0 or the errno, the file to *@bad. */
static int pool_get(struct pool *p, const char **bad)
{
	size_t i;
	int e;

	for (i = 0; i < ARRAY_LEN(pool_files); i++) {
		char path[256];

		snprintf(path, sizeof(path), POOL_DIR "/%s", pool_files[i].file);
		e = hl_read_u64(path, (uint64_t *)((char *)p + pool_files[i].off));
		if (e) {
			*bad = pool_files[i].file;
			return e;
		}
	}
	return 0;
}

static int pool_read(struct pool *p)
{
	const char *bad = "";
	int e = pool_get(p, &bad);

	if (e)
		return ktap_fail("reading %s/%s: %s", POOL_DIR, bad, hl_errname(e));
	return KTAP_PASS;
}

/* The pool's state as a diagnostic; never touches the stored reason. */
static void pool_diag(const char *when)
{
	char backing[32] = "?";
	uint64_t cma_free_kb = 0;
	const char *bad;
	struct pool p;

	if (pool_get(&p, &bad))
		return;
	hl_read_word(POOL_DIR "/backing", backing, sizeof(backing));
	hl_proc_value("/proc/meminfo", "CmaFree", &cma_free_kb);
	ktap_print_msg("%s: pool size_bytes %" PRIu64 " claimed %" PRIu64
		       " used %" PRIu64 " free %" PRIu64 " largest_free %" PRIu64
		       " restricted %" PRIu64 " (backing %s, CmaFree %" PRIu64
		       " kB)", when, p.size, p.claimed, p.used, p.free,
		       p.largest, p.restricted, backing, cma_free_kb);
}

/* What must hold whenever no load is running. */
static int pool_consistent(const struct pool *p)
{
	if (p->claimed < p->used)
		return ktap_fail("claimed_bytes %" PRIu64 " < used_bytes %" PRIu64,
				 p->claimed, p->used);
	if (p->restricted > p->used)
		return ktap_fail("restricted_bytes %" PRIu64 " > used_bytes %" PRIu64,
				 p->restricted, p->used);
	/* A pool lowered below its use has no meaningful free_bytes. */
	if (p->used <= p->size && p->free != p->size - p->used)
		return ktap_fail("free_bytes %" PRIu64 ", but size_bytes %" PRIu64
				 " - used_bytes %" PRIu64 " = %" PRIu64, p->free,
				 p->size, p->used, p->size - p->used);
	return KTAP_PASS;
}

/*
 * Holding @extra bytes more than at @p0: used_bytes and restricted_bytes
 * grew by exactly that, and the rest is consistent. *@p gets the state.
 */
static int pool_holds(const struct pool *p0, uint64_t extra, struct pool *p)
{
	int r = pool_read(p);

	if (r)
		return r;
	if (p->used != p0->used + extra || p->restricted != p0->restricted + extra)
		return ktap_fail("holding %" PRIu64 " bytes more: used_bytes %" PRIu64
				 " -> %" PRIu64 ", restricted_bytes %" PRIu64 " -> %"
				 PRIu64 ", expected both +%" PRIu64, extra, p0->used,
				 p->used, p0->restricted, p->restricted, extra);
	return pool_consistent(p);
}

/*
 * Wait until used_bytes and restricted_bytes read @used and @restr again,
 * and claimed_bytes 0 if @used is 0: an unused pool gives all back.
 */
static int pool_back_to(uint64_t used, uint64_t restr, const char *when)
{
	uint64_t end = hl_now_ms() + IDLE_MS;
	struct pool p;
	int r;

	for (;;) {
		r = pool_read(&p);
		if (r)
			return r;
		if (p.used == used && p.restricted == restr && (used || !p.claimed))
			return pool_consistent(&p);
		if (hl_now_ms() >= end)
			break;
		hl_sleep_ms(20);
	}
	if (p.used == used && p.restricted == restr)
		return ktap_fail("%s: claimed_bytes %" PRIu64 " with nothing used: the pool kept its memory",
				 when, p.claimed);
	return ktap_fail("%s: used_bytes %" PRIu64 " restricted_bytes %" PRIu64
			 " claimed_bytes %" PRIu64 ", expected %" PRIu64 " and %"
			 PRIu64, when, p.used, p.restricted, p.claimed, used, restr);
}

/* The module's allocated_bytes and buffers back to @b0 and @n0. */
static int stats_back_to(uint64_t b0, uint64_t n0, const char *when)
{
	uint64_t b, n;

	if (hl_wait_stats(b0, n0, IDLE_MS, &b, &n))
		return ktap_fail("%s: allocated_bytes %" PRIu64 " buffers %" PRIu64
				 ", expected %" PRIu64 " and %" PRIu64, when, b, n,
				 b0, n0);
	return KTAP_PASS;
}

/* ---- allocations and loads ---- */

/* DMA_HEAP_IOCTL_ALLOC of @len on the restricted heap; the errno. */
static int ralloc(uint64_t len, int *dfd)
{
	*dfd = -1;
	return hl_heap_alloc(heap_fd, len, O_RDWR | O_CLOEXEC, 0, dfd);
}

static int ralloc_or_fail(uint64_t len, int *dfd)
{
	int e = ralloc(len, dfd);

	if (!e)
		return KTAP_PASS;
	pool_diag("after the failed allocation");
	return ktap_fail("alloc of %" PRIu64 " bytes from %s: %s", len,
			 HL_RESTRICTED_NAME, hl_errname(e));
}

/* A 1 MiB buffer of heapload,system into *@dfd; returns a ktap result. */
static int sys_alloc_1m(int *dfd)
{
	int sfd, e;

	sfd = open(HL_HEAP_PATH, O_RDWR | O_CLOEXEC);
	if (sfd < 0)
		return ktap_fail("open %s: %s", HL_HEAP_PATH, strerror(errno));
	e = hl_heap_alloc(sfd, HL_MIB, O_RDWR | O_CLOEXEC, 0, dfd);
	close(sfd);
	if (e)
		return ktap_fail("alloc of 1 MiB from %s: %s", HL_HEAP_NAME,
				 hl_errname(e));
	return KTAP_PASS;
}

/* Version-1 load of all of @fd on @dev into the restricted heap; the errno. */
static int rload(int dev, int fd, uint32_t flags, struct heapload_load *l)
{
	int e;

	hl_load_init(l, fd, flags, 0, 0);
	snprintf(l->heap, sizeof(l->heap), "%s", HL_RESTRICTED_NAME);
	e = hl_ioctl(dev, HEAPLOAD_IOC_LOAD, l);
	if (e)
		l->dmabuf_fd = -1;
	return e;
}

static int expect_mmap_eperm(int dfd, uint64_t len, int prot, const char *what)
{
	void *p = mmap(NULL, len, prot, MAP_SHARED, dfd, 0);

	if (p != MAP_FAILED) {
		munmap(p, len);
		return ktap_fail("%s mmap of a restricted buffer worked", what);
	}
	if (errno != EPERM)
		return ktap_fail("%s mmap of a restricted buffer: %s, expected EPERM",
				 what, hl_errname(errno));
	return KTAP_PASS;
}

static int expect_sync_eperm(int dfd, uint64_t flags, const char *what)
{
	int e = hl_sync(dfd, flags);

	if (e != EPERM)
		return ktap_fail("DMA_BUF_IOCTL_SYNC %s on a restricted buffer: %s, expected EPERM",
				 what, hl_errname(e));
	return KTAP_PASS;
}

/* ---- chunks of restricted buffers ---- */

static int cmp_phys(const void *a, const void *b)
{
	const struct hl_chunk *x = a, *y = b;

	return x->phys < y->phys ? -1 : x->phys > y->phys;
}

/* No two of the @n chunks share a byte; @c is reordered. */
static int check_disjoint(struct hl_chunk *c, unsigned int n)
{
	unsigned int i;

	if (n > 1)
		qsort(c, n, sizeof(*c), cmp_phys);
	for (i = 0; i < n; i++) {
		if (c[i].phys + c[i].len < c[i].phys)
			return ktap_fail("chunk at 0x%llx of %llu bytes wraps around",
					 (ull)c[i].phys, (ull)c[i].len);
		if (i + 1 < n && c[i].phys + c[i].len > c[i + 1].phys)
			return ktap_fail("chunk 0x%llx+%llu (buffer %d) overlaps chunk 0x%llx+%llu (buffer %d)",
					 (ull)c[i].phys, (ull)c[i].len, c[i].buf,
					 (ull)c[i + 1].phys, (ull)c[i + 1].len,
					 c[i + 1].buf);
	}
	return KTAP_PASS;
}

/*
 * The chunks of one restricted buffer of @size bytes: page aligned, whole
 * pages, adding up to @size, disjoint, and all but the last at least
 * min_chunk_bytes. Reorders in->chunk.
 */
static int check_chunks(struct hl_inspect *in, uint64_t size)
{
	uint64_t sum = 0;
	unsigned int i;

	if (!in->n)
		return ktap_fail("a %" PRIu64 "-byte buffer with no chunks", size);
	for (i = 0; i < in->n; i++) {
		const struct hl_chunk *c = &in->chunk[i];

		if (c->phys % HL_PAGE)
			return ktap_fail("chunk %u at 0x%llx is not page aligned",
					 i, (ull)c->phys);
		if (!c->len || c->len % HL_PAGE)
			return ktap_fail("chunk %u is %llu bytes, not whole pages",
					 i, (ull)c->len);
		if (i + 1 < in->n && c->len < MIN_CHUNK)
			return ktap_fail("chunk %u of %u is %llu bytes: less than min_chunk_bytes (%llu) but not the last",
					 i, in->n, (ull)c->len, MIN_CHUNK);
		sum += c->len;
	}
	if (sum != size)
		return ktap_fail("%u chunks add up to %" PRIu64 " bytes, the buffer has %" PRIu64,
				 in->n, sum, size);
	return check_disjoint(in->chunk, in->n);
}

/*
 * In-kernel vmap of a restricted buffer is refused: EPERM from the heap,
 * or EINVAL, what dma_buf_vmap() answers for an exporter without vmap.
 */
/*
 * The heap has no vmap op (as upstream's protected heaps): dma_buf_vmap()
 * fails with the core's -EINVAL; an op that failed would WARN instead.
 */
static bool vmap_refused(int vmap)
{
	return vmap == -EINVAL;
}

/*
 * Inspect @dfd: a restricted buffer of heapload,restricted, @size bytes,
 * vmap refused, content of CRC-32 @crc, chunks by the rules.
 * *@in keeps what was read; the caller frees it.
 */
static int check_restricted(int dfd, uint64_t size, uint32_t crc,
			    struct hl_inspect *in)
{
	int r = hl_inspect(dfd, in);

	if (r)
		return r;
	if (strcmp(in->heap, HL_RESTRICTED_NAME))
		return ktap_fail("inspect says heap %s, expected %s", in->heap,
				 HL_RESTRICTED_NAME);
	if (in->size != size)
		return ktap_fail("inspect says size %" PRIu64 ", expected %" PRIu64,
				 in->size, size);
	if (in->restricted != 1)
		return ktap_fail("inspect says restricted: %d, expected 1",
				 in->restricted);
	if (!vmap_refused(in->vmap))
		return ktap_fail("inspect says vmap: %d, expected %d (EINVAL)",
				 in->vmap, -EINVAL);
	if (in->crc != crc)
		return ktap_fail("inspect says crc32 %08x, expected %08x", in->crc,
				 crc);
	return check_chunks(in, size);
}

/* check_restricted() of a buffer that must still read zero. */
static int check_zeroed(int dfd, uint64_t size)
{
	struct hl_inspect in;
	int r = check_restricted(dfd, size, hl_crc32_zeros(0, size), &in);

	hl_inspect_free(&in);
	return r;
}

/*
 * A finished load of all of @f: the file's bytes, then zeroes up to
 * buf_size, checked without any mapping. *@nchunks gets the chunk count.
 */
static int check_loaded(const struct heapload_load *l,
			const struct file_data *f, unsigned int *nchunks)
{
	struct hl_inspect in;
	int r = check_restricted(l->dmabuf_fd, l->buf_size,
				 hl_crc32_zeros(f->crc, l->buf_size - f->size), &in);

	*nchunks = in.n;
	hl_inspect_free(&in);
	return r;
}

/* ---- the heap, its sysfs files and the inspect file ---- */

static int t_sysfs(const void *arg)
{
	char backing[32], prot[32];
	uint64_t mb, cma_kb = 0;
	struct pool p;
	int r, e;

	(void)arg;
	e = hl_read_word(POOL_DIR "/backing", backing, sizeof(backing));
	if (e)
		return ktap_fail("reading %s/backing: %s", POOL_DIR, hl_errname(e));
	e = hl_read_word(POOL_DIR "/protection", prot, sizeof(prot));
	if (e)
		return ktap_fail("reading %s/protection: %s", POOL_DIR,
				 hl_errname(e));
	r = pool_read(&p);
	if (!r)
		r = hl_knob_get(&knobs, K_POOL, &mb);
	if (r)
		return r;
	hl_proc_value("/proc/meminfo", "CmaTotal", &cma_kb);
	ktap_print_msg("backing %s, protection %s, restricted_pool_mb %" PRIu64
		       ", CmaTotal %" PRIu64 " kB", backing, prot, mb, cma_kb);
	pool_diag("at start");
	if (strcmp(backing, "buddy") && strcmp(backing, "cma"))
		return ktap_fail("backing \"%s\", expected buddy or cma", backing);
	if (!strcmp(backing, "cma") && !cma_kb)
		return ktap_fail("backing cma on a kernel whose CmaTotal is 0 kB");
	if (!prot[0] || strpbrk(prot, " \t\n"))
		return ktap_fail("protection \"%s\" is not one word", prot);
	if (p.min_chunk != MIN_CHUNK)
		return ktap_fail("min_chunk_bytes %" PRIu64 ", expected %llu",
				 p.min_chunk, MIN_CHUNK);
	if (p.size != mb << 20)
		return ktap_fail("size_bytes %" PRIu64 ", but restricted_pool_mb is %"
				 PRIu64 " (%" PRIu64 " bytes)", p.size, mb, mb << 20);
	r = pool_consistent(&p);
	if (r)
		return r;
	/* size_bytes follows the parameter at run time. */
	r = hl_knob_set(&knobs, K_POOL, mb + 4);
	if (!r)
		r = pool_read(&p);
	if (r)
		return r;
	if (p.size != (mb + 4) << 20)
		return ktap_fail("size_bytes %" PRIu64 " after restricted_pool_mb=%"
				 PRIu64 ", expected %" PRIu64, p.size, mb + 4,
				 (mb + 4) << 20);
	return pool_consistent(&p);
}

/* The inspect file itself: a non-dma-buf is EINVAL, a closed fd EBADF. */
static int t_inspect_bad_fds(const void *arg)
{
	int ifd, nfd, e;

	(void)arg;
	ifd = open(HL_INSPECT, O_RDWR | O_CLOEXEC);
	if (ifd < 0)
		return ktap_fail("open %s: %s (the test builds of heapload have it)",
				 HL_INSPECT, strerror(errno));
	nfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (nfd < 0) {
		close(ifd);
		return ktap_fail("open /dev/null: %s", strerror(errno));
	}
	e = hl_inspect_select(ifd, nfd);
	close(nfd);
	if (e != EINVAL) {
		close(ifd);
		return ktap_fail("the fd of /dev/null: %s, expected EINVAL",
				 hl_errname(e));
	}
	/* Closed now, and nothing opened since: a bad fd. */
	e = hl_inspect_select(ifd, nfd);
	close(ifd);
	if (e != EBADF)
		return ktap_fail("closed fd %d: %s, expected EBADF", nfd,
				 hl_errname(e));
	return KTAP_PASS;
}

/*
 * A heapload,system buffer, filled through a mapping: inspect says
 * restricted 0, vmap 0 and the CRC-32 of what was written. So the crc32
 * line follows the content, and restricted and vmap can tell.
 */
static int t_inspect_system(const void *arg)
{
	const size_t len = HL_MIB;
	uint64_t state = 0x5157ULL, sum = 0;
	unsigned char *p = MAP_FAILED;
	int dfd = -1, r;
	struct hl_inspect in = { .chunk = NULL };
	uint32_t crc = 0;
	unsigned int i;

	(void)arg;
	r = sys_alloc_1m(&dfd);
	if (r)
		return r;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
	if (p == MAP_FAILED) {
		r = ktap_fail("mmap of a %s buffer: %s", HL_HEAP_NAME,
			      strerror(errno));
		goto out;
	}
	hl_sync(dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
	fill_random(&state, p, len);
	hl_sync(dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
	crc = hl_crc32_update(0, p, len);
	r = hl_inspect(dfd, &in);
	if (r)
		goto out;
	if (strcmp(in.heap, HL_HEAP_NAME))
		r = ktap_fail("inspect says heap %s, expected %s", in.heap,
			      HL_HEAP_NAME);
	else if (in.size != len)
		r = ktap_fail("inspect says size %" PRIu64 ", expected %zu",
			      in.size, len);
	else if (in.restricted != 0 || in.vmap != 0)
		r = ktap_fail("inspect says restricted: %d vmap: %d for a %s buffer, expected 0 and 0",
			      in.restricted, in.vmap, HL_HEAP_NAME);
	else if (in.crc != crc)
		r = ktap_fail("inspect says crc32 %08x, the buffer's content has %08x",
			      in.crc, crc);
	if (r)
		goto out;
	for (i = 0; i < in.n; i++)
		sum += in.chunk[i].len;
	if (sum != len)
		r = ktap_fail("%u chunks add up to %" PRIu64 " bytes, expected %zu",
			      in.n, sum, len);
	else
		r = check_disjoint(in.chunk, in.n);
out:
	hl_inspect_free(&in);
	if (p != MAP_FAILED)
		munmap(p, len);
	close(dfd);
	return r;
}

/* ---- allocations ---- */

/* A restricted buffer this program holds. */
struct held {
	int fd;
	uint64_t len;
};

/*
 * Inspect each of the @n buffers at @h: zeroed and by the chunk rules,
 * and no chunk shared with another buffer. *@nchunks counts them all.
 */
static int check_held(const struct held *h, unsigned int n,
		      unsigned int *nchunks)
{
	struct hl_inspect in = { .chunk = NULL };
	struct hl_chunk *all = NULL, *more;
	unsigned int nall = 0, i, j;
	int r = KTAP_PASS;

	for (i = 0; !r && i < n; i++) {
		r = check_restricted(h[i].fd, h[i].len,
				     hl_crc32_zeros(0, h[i].len), &in);
		more = r ? NULL : realloc(all, (nall + in.n) * sizeof(*all));
		if (!r && !more)
			r = ktap_fail("out of memory for the chunk list");
		for (j = 0; !r && j < in.n; j++) {
			more[nall + j] = in.chunk[j];
			more[nall + j].buf = (int)i;
		}
		if (!r) {
			all = more;
			nall += in.n;
		}
		hl_inspect_free(&in);
	}
	if (!r)
		r = check_disjoint(all, nall);
	free(all);
	*nchunks = nall;
	return r;
}

struct alloc_case {
	const char *name;
	uint64_t mib;		/* size: this many MiB, */
	uint64_t pages;		/* plus this many pages */
};

static const struct alloc_case alloc_cases[] = {
	{ "alloc_page_restricted_zeroed_chunks_accounted", 0, 1 },
	{ "alloc_1m_restricted_zeroed_chunks_accounted", 1, 0 },
	{ "alloc_4m_restricted_zeroed_chunks_accounted", 4, 0 },
	{ "alloc_5m_restricted_zeroed_chunks_accounted", 5, 0 },
	{ "alloc_64m_restricted_zeroed_chunks_accounted", 64, 0 },
	{ "alloc_256m_restricted_zeroed_chunks_accounted", 256, 0 },
};

static int t_alloc_case(const void *arg)
{
	const struct alloc_case *c = arg;
	const uint64_t len = c->mib * HL_MIB + c->pages * HL_PAGE;
	struct hl_inspect in = { .chunk = NULL };
	struct pool p0, p;
	int dfd, r;
	off_t end;

	r = pool_at_least(ROOMY_POOL_MB);
	if (!r)
		r = pool_read(&p0);
	if (!r)
		r = ralloc_or_fail(len, &dfd);
	if (r)
		return r;
	end = lseek(dfd, 0, SEEK_END);
	if (end != (off_t)len)
		r = ktap_fail("dma-buf is %lld bytes, expected %" PRIu64,
			      (long long)end, len);
	if (!r)
		r = pool_holds(&p0, len, &p);
	if (!r)
		r = check_restricted(dfd, len, hl_crc32_zeros(0, len), &in);
	if (!r)
		ktap_print_msg("%" PRIu64 " bytes: %u chunk(s), claimed_bytes %" PRIu64
			       ", largest_free_bytes %" PRIu64, len, in.n,
			       p.claimed, p.largest);
	hl_inspect_free(&in);
	close(dfd);
	if (r)
		return r;
	return pool_back_to(p0.used, p0.restricted, "after the close");
}

/* Buffers held at once: accounted together, no chunk shared. */
static int t_alloc_together(const void *arg)
{
	const uint64_t sizes[] = {
		HL_PAGE, HL_MIB, 4 * HL_MIB, 5 * HL_MIB, 16 * HL_MIB + HL_PAGE,
		3 * HL_PAGE,
	};
	struct held h[ARRAY_LEN(sizes)];
	unsigned int n = 0, nchunks, i;
	uint64_t total = 0;
	struct pool p0, p;
	int r;

	(void)arg;
	r = pool_at_least(ROOMY_POOL_MB);
	if (!r)
		r = pool_read(&p0);
	for (; !r && n < ARRAY_LEN(sizes); n++) {
		r = ralloc_or_fail(sizes[n], &h[n].fd);
		if (r)
			break;
		h[n].len = sizes[n];
		total += sizes[n];
	}
	if (!r)
		r = pool_holds(&p0, total, &p);
	if (!r)
		r = check_held(h, n, &nchunks);
	if (!r)
		ktap_print_msg("%u buffers, %" PRIu64 " bytes, %u chunks, claimed_bytes %"
			       PRIu64, n, total, nchunks, p.claimed);
	for (i = 0; i < n; i++)
		close(h[i].fd);
	if (r)
		return r;
	return pool_back_to(p0.used, p0.restricted, "after closing them all");
}

/* ---- CPU access ---- */

static int t_mmap_read(const void *arg)
{
	int dfd, r = ralloc_or_fail(HL_MIB, &dfd);

	(void)arg;
	if (r)
		return r;
	r = expect_mmap_eperm(dfd, HL_MIB, PROT_READ, "PROT_READ");
	if (!r)
		r = expect_mmap_eperm(dfd, HL_PAGE, PROT_READ, "one-page PROT_READ");
	close(dfd);
	return r;
}

static int t_mmap_read_write(const void *arg)
{
	int dfd, r = ralloc_or_fail(HL_MIB, &dfd);

	(void)arg;
	if (r)
		return r;
	r = expect_mmap_eperm(dfd, HL_MIB, PROT_READ | PROT_WRITE,
			      "PROT_READ|PROT_WRITE");
	close(dfd);
	return r;
}

static int t_sync(const void *arg)
{
	int dfd, r = ralloc_or_fail(HL_MIB, &dfd);

	(void)arg;
	if (r)
		return r;
	r = expect_sync_eperm(dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ,
			      "START|READ");
	if (!r)
		r = expect_sync_eperm(dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ,
				      "END|READ");
	if (!r)
		r = expect_sync_eperm(dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW,
				      "START|RW");
	if (!r)
		r = expect_sync_eperm(dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW,
				      "END|RW");
	/* Refused, not half done: the buffer is as it was. */
	if (!r)
		r = check_zeroed(dfd, HL_MIB);
	close(dfd);
	return r;
}

/* vmap refused for a restricted buffer, 0 for a system one: it can tell. */
static int t_vmap(const void *arg)
{
	struct hl_inspect in = { .chunk = NULL };
	int dfd, r = ralloc_or_fail(HL_MIB, &dfd);

	(void)arg;
	if (r)
		return r;
	r = check_restricted(dfd, HL_MIB, hl_crc32_zeros(0, HL_MIB), &in);
	if (!r)
		ktap_print_msg("restricted buffer: vmap: %d", in.vmap);
	hl_inspect_free(&in);
	close(dfd);
	if (r)
		return r;
	r = sys_alloc_1m(&dfd);
	if (r)
		return r;
	r = hl_inspect(dfd, &in);
	if (!r && (in.vmap != 0 || in.restricted != 0))
		r = ktap_fail("a %s buffer: vmap: %d restricted: %d, expected 0 and 0",
			      HL_HEAP_NAME, in.vmap, in.restricted);
	hl_inspect_free(&in);
	close(dfd);
	return r;
}

/* ---- import by a device ---- */

/*
 * vgem imports (attaches and maps) a restricted buffer; the buffer stays
 * restricted, and the import alone keeps it alive after its fd is closed.
 */
static int t_vgem_import(const void *arg)
{
	int vfd, dfd = -1, e, r;
	struct pool p0, p;
	__u32 handle;
	bool imported = false;

	(void)arg;
	vfd = hl_open_vgem();
	if (vfd < 0)
		return ktap_skip("no vgem device under /dev/dri (vgem not loaded)");
	r = pool_read(&p0);
	if (!r)
		r = ralloc_or_fail(HL_MIB, &dfd);
	if (r)
		goto out;
	e = hl_vgem_import(vfd, dfd, &handle);
	if (e) {
		r = ktap_fail("PRIME_FD_TO_HANDLE of a restricted buffer: %s",
			      hl_errname(e));
		goto out;
	}
	imported = true;
	r = check_zeroed(dfd, HL_MIB);
	if (!r)
		r = expect_mmap_eperm(dfd, HL_MIB, PROT_READ, "imported, PROT_READ");
	if (r)
		goto out;
	close(dfd);
	dfd = -1;
	ktap_print_msg("dma-buf fd closed, vgem's handle still open");
	r = pool_holds(&p0, HL_MIB, &p);
out:
	if (imported) {
		e = hl_vgem_close(vfd, handle);
		if (e && !r)
			r = ktap_fail("GEM_CLOSE of handle %u: %s", handle,
				      hl_errname(e));
	}
	if (dfd >= 0)
		close(dfd);
	close(vfd);
	if (r)
		return r;
	return pool_back_to(p0.used, p0.restricted, "after GEM_CLOSE");
}

/* ---- loads ---- */

/*
 * The 37 MiB file (made on first use) opened into *@fd, the pool as it is
 * to *@p0; first, if @room, gather_batch_mb LOAD_BATCH_MB and a pool of
 * at least LOAD_POOL_MB for a load of it. Returns a ktap result.
 */
static int big_file_open(bool room, const struct file_data **f,
			 struct pool *p0, int *fd)
{
	int r = big_file(f);

	if (!r && room)
		r = hl_knob_set(&knobs, K_BATCH, LOAD_BATCH_MB);
	if (!r && room)
		r = pool_at_least(LOAD_POOL_MB);
	if (!r)
		r = pool_read(p0);
	if (r)
		return r;
	*fd = open((*f)->path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return ktap_fail("open %s: %s", (*f)->path, strerror(errno));
	return KTAP_PASS;
}

static int t_load(const void *arg)
{
	const struct file_data *f;
	struct heapload_load l;
	unsigned int nchunks;
	long before, after;
	struct pool p0, p;
	int fd, e, r;
	off_t end;

	(void)arg;
	r = big_file_open(true, &f, &p0, &fd);
	if (r)
		return r;
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	before = hl_resident_pages(fd, f->size);
	/* flags 0 and an fd without O_DIRECT: direct I/O all the same. */
	e = rload(loader_fd, fd, 0, &l);
	if (e) {
		close(fd);
		pool_diag("after the failed load");
		return ktap_fail("load of %s into %s: %s", f->path,
				 HL_RESTRICTED_NAME, hl_errname(e));
	}
	after = hl_resident_pages(fd, f->size);
	close(fd);
	ktap_print_msg("load: %u batches, at most %u in flight, alloc %llu ms, io %llu ms, total %llu ms",
		       l.batches, l.max_inflight, (ull)l.alloc_ns / 1000000,
		       (ull)l.io_ns / 1000000, (ull)l.total_ns / 1000000);
	end = lseek(l.dmabuf_fd, 0, SEEK_END);
	if (l.loaded != f->size || l.buf_size != hl_page_up(f->size))
		r = ktap_fail("loaded %llu buf_size %llu, expected %" PRIu64
			      " and %" PRIu64, (ull)l.loaded, (ull)l.buf_size,
			      f->size, hl_page_up(f->size));
	else if (end != (off_t)l.buf_size)
		r = ktap_fail("dma-buf is %lld bytes, buf_size %llu",
			      (long long)end, (ull)l.buf_size);
	if (!r)
		r = pool_holds(&p0, l.buf_size, &p);
	if (!r)
		r = check_loaded(&l, f, &nchunks);
	if (!r)
		ktap_print_msg("%u chunks, claimed_bytes %" PRIu64, nchunks,
			       p.claimed);
	if (!r)
		r = expect_mmap_eperm(l.dmabuf_fd, l.buf_size, PROT_READ,
				      "loaded, PROT_READ");
	if (!r)
		r = expect_sync_eperm(l.dmabuf_fd,
				      DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ,
				      "START|READ of a loaded buffer");
	if (!r && before == 0 && after > 0)
		r = ktap_fail("%ld pages of %s entered the page cache: the load was not direct",
			      after, f->path);
	else if (!r && (before != 0 || after < 0))
		ktap_print_msg("%s: %ld pages cached before the load, %ld after (-1: mincore failed): direct I/O unchecked",
			       f->path, before, after);
	close(l.dmabuf_fd);
	if (r)
		return r;
	return pool_back_to(p0.used, p0.restricted, "after the close");
}

/* Do any chunks of @a and @b overlap in physical memory? */
static bool chunks_overlap(const struct hl_inspect *a,
			   const struct hl_inspect *b)
{
	unsigned int i, j;

	for (i = 0; i < a->n; i++)
		for (j = 0; j < b->n; j++)
			if (a->chunk[i].phys < b->chunk[j].phys + b->chunk[j].len &&
			    b->chunk[j].phys < a->chunk[i].phys + a->chunk[i].len)
				return true;
	return false;
}

/*
 * Freed memory is scrubbed before the pool hands it out again. A small
 * buffer keeps the pool's regions claimed; a loaded buffer is freed and
 * an allocation of its size must reuse some of its memory (the same
 * physical addresses) and read zero.
 */
static int t_freed_scrubbed(const void *arg)
{
	struct hl_inspect loaded = {0}, again = {0};
	int fd, hold = -1, dfd = -1, e, r;
	const struct file_data *f;
	struct heapload_load l;
	struct pool p0;

	(void)arg;
	l.dmabuf_fd = -1;
	r = big_file_open(true, &f, &p0, &fd);
	if (r)
		return r;
	r = ralloc_or_fail(HL_PAGE, &hold);
	if (!r) {
		e = rload(loader_fd, fd, 0, &l);
		if (e)
			r = ktap_fail("load of %s: %s", f->path, hl_errname(e));
	}
	close(fd);
	if (!r)
		r = hl_inspect(l.dmabuf_fd, &loaded);
	if (!r) {
		close(l.dmabuf_fd);
		l.dmabuf_fd = -1;
		r = ralloc_or_fail(l.buf_size, &dfd);
	}
	if (!r)
		r = check_zeroed(dfd, l.buf_size);
	if (!r)
		r = hl_inspect(dfd, &again);
	if (!r && !chunks_overlap(&loaded, &again))
		r = ktap_fail("the new buffer reused none of the freed buffer's memory: scrubbing unchecked");
	hl_inspect_free(&loaded);
	hl_inspect_free(&again);
	if (l.dmabuf_fd >= 0)
		close(l.dmabuf_fd);
	if (dfd >= 0)
		close(dfd);
	if (hold >= 0)
		close(hold);
	if (r)
		return r;
	return pool_back_to(p0.used, p0.restricted, "after the close");
}

/* A refused load leaves the pool as it was. */
static int expect_load_einval(int fd, uint32_t flags, const char *what)
{
	struct heapload_load l;
	int e = rload(loader_fd, fd, flags, &l);

	if (!e) {
		close(l.dmabuf_fd);
		return ktap_fail("%s was loaded into %s", what,
				 HL_RESTRICTED_NAME);
	}
	if (e != EINVAL)
		return ktap_fail("%s: %s, expected EINVAL", what, hl_errname(e));
	return KTAP_PASS;
}

static int t_load_buffered(const void *arg)
{
	const struct file_data *f;
	struct pool p0;
	int fd, r;

	(void)arg;
	r = big_file_open(false, &f, &p0, &fd);
	if (r)
		return r;
	r = expect_load_einval(fd, B, "HEAPLOAD_LOAD_BUFFERED");
	close(fd);
	if (r)
		return r;
	return pool_back_to(p0.used, p0.restricted, "after the refused load");
}

/*
 * Whether @fd may do direct I/O: fcntl() takes O_DIRECT only for a file
 * whose filesystem has it (FMODE_CAN_ODIRECT), what the loader checks.
 */
static bool can_direct_io(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	bool ok;

	if (fl < 0)
		return false;
	ok = !fcntl(fd, F_SETFL, fl | O_DIRECT);
	fcntl(fd, F_SETFL, fl);
	return ok;
}

/*
 * Load @fd (@len bytes of CRC-32 @crc) with flags 0 and with
 * HEAPLOAD_LOAD_DIRECT. A file without direct I/O must give EINVAL; one
 * with it (tmpfs since v6.6) may also load, then it must be right.
 * *@strict counts the refusals that were required.
 */
static int load_without_dio(int fd, const char *what, uint64_t len,
			    uint32_t crc, unsigned int *strict)
{
	static const uint32_t flags[] = { 0, D };
	struct heapload_load l;
	bool dio = can_direct_io(fd);
	struct hl_inspect in;
	unsigned int i;
	int e, r;

	ktap_print_msg("%s: %s O_DIRECT", what, dio ? "takes" : "refuses");
	for (i = 0; i < ARRAY_LEN(flags); i++) {
		e = rload(loader_fd, fd, flags[i], &l);
		if (e == EINVAL) {
			*strict += !dio;
			continue;
		}
		if (!dio || e) {
			if (!e)
				close(l.dmabuf_fd);
			return ktap_fail("%s, flags 0x%x: %s, expected EINVAL%s",
					 what, flags[i], hl_errname(e),
					 dio ? " or a load" : "");
		}
		r = check_restricted(l.dmabuf_fd, len, crc, &in);
		hl_inspect_free(&in);
		close(l.dmabuf_fd);
		if (r)
			return r;
		ktap_print_msg("%s, flags 0x%x: loaded with direct I/O", what,
			       flags[i]);
	}
	return KTAP_PASS;
}

/* Files without direct I/O: a tmpfs file in /tmp and a memfd. */
static int t_load_no_dio(const void *arg)
{
	char path[] = "/tmp/heapload-restricted-XXXXXX";
	unsigned int strict = 0;
	int tfd, mfd, e, r;
	struct statfs sf;
	struct pool p0;
	uint32_t crc;

	(void)arg;
	r = pool_read(&p0);
	if (r)
		return r;
	tfd = mkostemp(path, O_CLOEXEC);
	if (tfd < 0)
		return ktap_fail("mkostemp in /tmp: %s", strerror(errno));
	unlink(path);
	if (fstatfs(tfd, &sf) || sf.f_type != TMPFS_MAGIC) {
		ktap_print_msg("/tmp is not a tmpfs here: no tmpfs file tried");
		close(tfd);
		tfd = -1;
	}
	e = tfd < 0 ? 0 : write_random(tfd, 0x7e3bULL, HL_MIB, &crc);
	if (!e)
		r = tfd < 0 ? KTAP_PASS :
			load_without_dio(tfd, "a 1 MiB tmpfs file", HL_MIB, crc,
					 &strict);
	if (tfd >= 0)
		close(tfd);
	if (e)
		return ktap_fail("writing %s: %s", path, strerror(e));
	if (r)
		return r;
	mfd = memfd_create("heapload-restricted", MFD_CLOEXEC);
	if (mfd < 0)
		return ktap_fail("memfd_create: %s", strerror(errno));
	e = write_random(mfd, 0x3e3fdULL, HL_MIB, &crc);
	r = e ? ktap_fail("writing the memfd: %s", strerror(e)) :
		load_without_dio(mfd, "a 1 MiB memfd", HL_MIB, crc, &strict);
	close(mfd);
	if (!r)
		r = pool_back_to(p0.used, p0.restricted, "after the loads");
	if (!r && !strict)
		return ktap_skip("neither a tmpfs file nor a memfd lacks O_DIRECT on this kernel: no refusal to check");
	return r;
}

/* A read error mid-load: EIO, and the pool and the module as before. */
static int t_load_read_error(const void *arg)
{
	const struct file_data *f;
	struct heapload_load l;
	struct pool p0;
	uint64_t b0, n0;
	int fd, e, r;

	(void)arg;
	if (!knob_table[K_FAULT_ERROR].present)
		return ktap_fail("no %s (the test builds of heapload have it)",
				 knob_table[K_FAULT_ERROR].path);
	e = hl_stats(&b0, &n0);
	if (e)
		return ktap_fail("reading %s: %s", HL_STATS_DIR, hl_errname(e));
	r = big_file_open(true, &f, &p0, &fd);
	if (r)
		return r;
	r = hl_knob_set(&knobs, K_FAULT_ERROR, FAULT_AT);
	if (r) {
		close(fd);
		return r;
	}
	e = rload(loader_fd, fd, 0, &l);
	close(fd);
	hl_knob_reset(&knobs, K_FAULT_ERROR);
	if (!e) {
		close(l.dmabuf_fd);
		return ktap_fail("the load worked despite fault_read_error_after=%llu",
				 FAULT_AT);
	}
	if (e != EIO)
		return ktap_fail("load with fault_read_error_after=%llu: %s, expected EIO",
				 FAULT_AT, hl_errname(e));
	r = pool_back_to(p0.used, p0.restricted, "after the failed load");
	return r ? r : stats_back_to(b0, n0, "after the failed load");
}

/* ---- the pool's limit ---- */

/* Load @fd expecting ENOMEM, with the pool left as *@p0 says. */
static int expect_load_enomem(int fd, const char *what, const struct pool *p0)
{
	struct heapload_load l;
	int e = rload(loader_fd, fd, 0, &l);

	if (!e) {
		close(l.dmabuf_fd);
		return ktap_fail("%s was loaded", what);
	}
	if (e != ENOMEM)
		return ktap_fail("%s: %s, expected ENOMEM", what, hl_errname(e));
	return pool_back_to(p0->used, p0->restricted, what);
}

/*
 * A 64 MiB pool holds sixteen 4 MiB buffers and not a 17th; it takes one
 * again after one is freed; a load into the full pool, and a 128 MiB
 * buffer or load into the empty one, give ENOMEM; and once all is freed
 * a load fits again.
 */
static int t_pool_exhaustion(const void *arg)
{
	int dfd[SMALL_POOL_BUFS + 1], n = 0, fd, e = 0, r, i;
	const struct file_data *f;
	struct heapload_load l;
	unsigned int nchunks;
	struct pool p0, p;

	(void)arg;
	r = big_file(&f);
	if (!r)
		r = pool_back_to(0, 0, "before the test");
	if (!r)
		r = hl_knob_set(&knobs, K_POOL, SMALL_POOL_MB);
	if (!r)
		r = pool_read(&p0);
	if (r)
		return r;
	while (n < SMALL_POOL_BUFS + 1) {
		e = ralloc(4 * HL_MIB, &dfd[n]);
		if (e)
			break;
		n++;
	}
	if (n < SMALL_POOL_BUFS)
		r = ktap_fail("%d MiB pool: only %d 4 MiB buffers fit, the next: %s",
			      SMALL_POOL_MB, n, hl_errname(e));
	else if (n > SMALL_POOL_BUFS)
		r = ktap_fail("%d MiB pool: a 17th 4 MiB buffer fit", SMALL_POOL_MB);
	else if (e != ENOMEM)
		r = ktap_fail("the 17th 4 MiB buffer: %s, expected ENOMEM",
			      hl_errname(e));
	/* And free_bytes 0. */
	if (!r)
		r = pool_holds(&p0, SMALL_POOL_BUFS * 4 * HL_MIB, &p);
	if (!r) {
		fd = open(f->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			r = ktap_fail("open %s: %s", f->path, strerror(errno));
		else
			r = expect_load_enomem(fd, "a load into the full pool", &p);
		if (fd >= 0)
			close(fd);
	}
	if (!r) {
		close(dfd[--n]);
		r = pool_back_to(p.used - 4 * HL_MIB, p.restricted - 4 * HL_MIB,
				 "after closing one");
	}
	if (!r) {
		e = ralloc(4 * HL_MIB, &dfd[n]);
		if (e)
			r = ktap_fail("4 MiB again after closing one of %d: %s",
				      SMALL_POOL_BUFS, hl_errname(e));
		else
			n++;
	}
	for (i = 0; i < n; i++)
		close(dfd[i]);
	if (!r)
		r = pool_back_to(p0.used, p0.restricted, "after closing them all");
	if (r)
		return r;

	e = ralloc(SPARSE_SIZE, &dfd[0]);
	if (!e)
		close(dfd[0]);
	if (e != ENOMEM)
		return ktap_fail("alloc of 128 MiB from a %d MiB pool: %s, expected ENOMEM",
				 SMALL_POOL_MB, hl_errname(e));
	r = sparse_file(&fd);
	if (r)
		return r;
	r = expect_load_enomem(fd, "a 128 MiB load into a 64 MiB pool", &p0);
	close(fd);
	remove_sparse();
	if (r)
		return r;

	fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ktap_fail("open %s: %s", f->path, strerror(errno));
	e = rload(loader_fd, fd, 0, &l);
	close(fd);
	if (e)
		return ktap_fail("a load into the emptied pool: %s", hl_errname(e));
	r = check_loaded(&l, f, &nchunks);
	close(l.dmabuf_fd);
	if (r)
		return r;
	return pool_back_to(p0.used, p0.restricted, "at the end");
}

/*
 * restricted_pool_mb lowered below what is used: the buffer stays as it
 * is, only new allocations fail, until it is freed.
 */
static int t_pool_lowered(const void *arg)
{
	struct pool p0, p;
	int dfd, sfd, e, r;

	(void)arg;
	r = pool_back_to(0, 0, "before the test");
	if (!r)
		r = hl_knob_set(&knobs, K_POOL, SMALL_POOL_MB);
	if (!r)
		r = pool_read(&p0);
	if (!r)
		r = ralloc_or_fail(8 * HL_MIB, &dfd);
	if (r)
		return r;
	r = hl_knob_set(&knobs, K_POOL, 4);
	if (!r)
		r = pool_read(&p);
	if (!r && (p.size != 4 * HL_MIB || p.used != p0.used + 8 * HL_MIB))
		r = ktap_fail("restricted_pool_mb=4 with 8 MiB used: size_bytes %"
			      PRIu64 " used_bytes %" PRIu64 ", expected %llu and %llu",
			      p.size, p.used, 4 * HL_MIB, p0.used + 8 * HL_MIB);
	if (!r)
		r = check_zeroed(dfd, 8 * HL_MIB);
	if (!r) {
		e = ralloc(HL_PAGE, &sfd);
		if (!e) {
			close(sfd);
			r = ktap_fail("a page allocated with 8 MiB used of a 4 MiB pool");
		} else if (e != ENOMEM) {
			r = ktap_fail("a page with 8 MiB used of a 4 MiB pool: %s, expected ENOMEM",
				      hl_errname(e));
		}
	}
	close(dfd);
	if (!r)
		r = pool_back_to(p0.used, p0.restricted, "after the close");
	if (!r)
		r = ralloc_or_fail(HL_PAGE, &sfd);
	if (r)
		return r;
	close(sfd);
	return pool_back_to(p0.used, p0.restricted, "at the end");
}

/* ---- fragmentation ---- */

/* Half up to 1 MiB, 30 % up to 4 MiB, 20 % up to 12 MiB; whole pages. */
static uint64_t frag_size(uint64_t *state)
{
	uint64_t kind = rnd_next(state) % 10, pages, mib = HL_MIB / HL_PAGE;

	if (kind < 5)
		pages = 1 + rnd_next(state) % mib;
	else if (kind < 8)
		pages = mib + 1 + rnd_next(state) % (3 * mib);
	else
		pages = 4 * mib + 1 + rnd_next(state) % (8 * mib);
	return pages * HL_PAGE;
}

static int t_fragmentation(const void *arg)
{
	unsigned int step, i, nlive = 0, attempts = 0, ok = 0, nomem = 0, frees = 0;
	uint64_t state = FRAG_SEED, live_bytes = 0, len, min_largest = UINT64_MAX;
	uint64_t most = 0;
	struct held live[FRAG_MAX_LIVE];
	unsigned int nchunks;
	struct pool p;
	int fd, e, r;

	(void)arg;
	r = pool_back_to(0, 0, "before the test");
	if (!r)
		r = hl_knob_set(&knobs, K_POOL, SMALL_POOL_MB);
	if (r)
		return r;
	for (step = 0; step < FRAG_STEPS && !r; step++) {
		if (nlive && (nlive == FRAG_MAX_LIVE ||
			      rnd_next(&state) % 100 >= FRAG_ALLOC_PCT)) {
			i = rnd_next(&state) % nlive;
			close(live[i].fd);
			live_bytes -= live[i].len;
			live[i] = live[--nlive];
			frees++;
		} else {
			len = frag_size(&state);
			attempts++;
			e = ralloc(len, &fd);
			if (!e) {
				live[nlive].fd = fd;
				live[nlive++].len = len;
				live_bytes += len;
				if (++ok % FRAG_INSPECT_EVERY == 0)
					r = check_zeroed(fd, len);
			} else if (e == ENOMEM) {
				nomem++;
			} else {
				r = ktap_fail("step %u: alloc of %" PRIu64 " bytes: %s",
					      step, len, hl_errname(e));
			}
		}
		if (!r)
			r = pool_read(&p);
		if (r)
			break;
		if (p.used != live_bytes || p.restricted != live_bytes)
			r = ktap_fail("step %u: used_bytes %" PRIu64 " restricted_bytes %"
				      PRIu64 ", the live buffers hold %" PRIu64,
				      step, p.used, p.restricted, live_bytes);
		else
			r = pool_consistent(&p);
		if (p.largest < min_largest)
			min_largest = p.largest;
		if (p.used > most)
			most = p.used;
	}
	ktap_print_msg("%u steps: %u allocations, %u succeeded, %u ENOMEM, %u frees",
		       step, attempts, ok, nomem, frees);
	ktap_print_msg("most used %" PRIu64 " bytes, least largest_free_bytes %" PRIu64,
		       most, min_largest);
	if (!r) {
		r = check_held(live, nlive, &nchunks);
		ktap_print_msg("%u buffers live at the end, %" PRIu64 " bytes, %u chunks",
			       nlive, live_bytes, nchunks);
	}
	if (!r && ok * 2 < attempts)
		r = ktap_fail("only %u of %u allocations succeeded in a %d MiB pool",
			      ok, attempts, SMALL_POOL_MB);
	for (i = 0; i < nlive; i++)
		close(live[i].fd);
	if (r)
		return r;
	/* Everything back, and the whole pool in one buffer. */
	r = pool_back_to(0, 0, "after closing them all");
	if (!r)
		r = ralloc_or_fail(SMALL_POOL_MB * HL_MIB, &fd);
	if (r)
		return r;
	r = check_zeroed(fd, SMALL_POOL_MB * HL_MIB);
	close(fd);
	if (r)
		return r;
	return pool_back_to(0, 0, "at the end");
}

/* ---- SIGKILL in the middle of a load ---- */

static uint64_t kill_used0;

/* Load started: the pool counts it in used_bytes. */
static bool load_running(void)
{
	uint64_t used = 0;

	hl_read_u64(POOL_DIR "/used_bytes", &used);
	return used > kill_used0;
}

static void __attribute__((noreturn)) kill_child(int wfd, uint32_t flags)
{
	struct heapload_load l;
	char path[512];
	int dev, ffd, e;

	hl_data_path(path, sizeof(path), "256m");
	ffd = open(path, O_RDONLY | O_CLOEXEC);
	dev = open(HL_LOADER_PATH, O_RDWR | O_CLOEXEC);
	if (ffd < 0 || dev < 0)
		e = errno;
	else
		e = rload(dev, ffd, flags, &l);
	/* Tell the parent the load is over, then hold the buffer. */
	if (write(wfd, &e, sizeof(e)) != sizeof(e))
		_exit(2);
	pause();
	_exit(0);
}

/* One attempt; KTAP_SKIP when the load ended before the kill landed. */
static int kill_attempt(uint32_t flags)
{
	uint64_t m0, b0, n0;
	struct hl_kill k;
	struct pool p0;
	int r, e;

	r = hl_memfree_before(&m0);
	if (!r)
		r = pool_read(&p0);
	if (r)
		return r;
	e = hl_stats(&b0, &n0);
	if (e)
		return ktap_fail("reading %s: %s", HL_STATS_DIR, hl_errname(e));
	kill_used0 = p0.used;
	r = hl_kill_mid_load(kill_child, flags, load_running, 200, &k);
	if (r)
		return r;
	ktap_print_msg("child died %" PRIu64 " ms after SIGKILL", k.died_ms);
	r = hl_kill_check(&k, "used_bytes");
	if (!r)
		r = pool_back_to(p0.used, p0.restricted, "after the kill");
	if (!r)
		r = stats_back_to(b0, n0, "after the kill");
	if (r)
		return r;
	if (k.report == 0)
		return ktap_skip("the load finished before the kill");
	return hl_memfree_back(m0);
}

static int t_sigkill(const void *arg)
{
	char path[512];
	int r;

	(void)arg;
	hl_data_path(path, sizeof(path), "256m");
	if (access(path, R_OK))
		return ktap_skip("test data %s missing", path);
	r = hl_knob_set(&knobs, K_BATCH, LOAD_BATCH_MB);
	if (!r)
		r = pool_at_least(ROOMY_POOL_MB);
	if (!r)
		r = pool_back_to(0, 0, "before the load");
	return r ? r : hl_kill_attempts(kill_attempt, 0, KILL_ATTEMPTS, "256m");
}

/* ---- the end ---- */

static int t_knobs_restored(const void *arg)
{
	(void)arg;
	return hl_knobs_restored(&knobs);
}

static int t_no_leak(const void *arg)
{
	int r;

	(void)arg;
	r = pool_back_to(0, 0, "after every test");
	return r ? r : stats_back_to(0, 0, "after every test");
}

static const struct hl_test first_tests[] = {
	{ "sysfs_files_present_and_consistent", t_sysfs, NULL },
	{ "inspect_rejects_non_dmabuf_and_closed_fd", t_inspect_bad_fds, NULL },
	{ "inspect_system_buffer_crc_follows_content", t_inspect_system, NULL },
};

static const struct hl_test extra_tests[] = {
	{ "alloc_held_together_chunks_disjoint", t_alloc_together, NULL },
	{ "cpu_mmap_read_refused_eperm", t_mmap_read, NULL },
	{ "cpu_mmap_read_write_refused_eperm", t_mmap_read_write, NULL },
	{ "cpu_sync_start_end_refused_eperm", t_sync, NULL },
	{ "cpu_vmap_refused_system_heap_vmaps", t_vmap, NULL },
	{ "vgem_import_restricted_buffer", t_vgem_import, NULL },
	{ "load_37m_plus_123_direct_crc_matches_no_cpu_access", t_load, NULL },
	{ "load_buffered_flag_einval", t_load_buffered, NULL },
	{ "load_file_without_direct_io_einval", t_load_no_dio, NULL },
	{ "load_read_error_eio_leaves_nothing", t_load_read_error, NULL },
	{ "freed_memory_scrubbed_before_reuse", t_freed_scrubbed, NULL },
	{ "pool_64m_sixteen_4m_buffers_then_enomem", t_pool_exhaustion, NULL },
	{ "pool_lowered_below_used_stops_growth", t_pool_lowered, NULL },
	{ "fragmentation_400_steps_pool_recovers", t_fragmentation, NULL },
	{ "sigkill_mid_load_frees_all", t_sigkill, NULL },
};

/* Last: what every test above must have left behind. */
static const struct hl_test final_tests[] = {
	{ "params_and_knobs_restored", t_knobs_restored, NULL },
	{ "no_leak_after_tests", t_no_leak, NULL },
};

static int t_present(void)
{
	struct stat st;
	const char *what;
	int r;

	r = hl_precondition_module();
	if (r)
		return r;
	if (stat(HL_RESTRICTED_PATH, &st)) {
		hl_precondition_skip("no %s", HL_RESTRICTED_PATH);
		return ktap_fail("module loaded but %s: %s", HL_RESTRICTED_PATH,
				 strerror(errno));
	}
	if (!S_ISCHR(st.st_mode)) {
		hl_precondition_skip("%s is no device", HL_RESTRICTED_PATH);
		return ktap_fail("%s is not a character device",
				 HL_RESTRICTED_PATH);
	}
	heap_fd = open(HL_RESTRICTED_PATH, O_RDWR | O_CLOEXEC);
	what = HL_RESTRICTED_PATH;
	if (heap_fd >= 0) {
		loader_fd = open(HL_LOADER_PATH, O_RDWR | O_CLOEXEC);
		what = HL_LOADER_PATH;
	}
	if (heap_fd < 0 || loader_fd < 0) {
		r = errno;
		hl_precondition_skip("%s unusable", what);
		return ktap_fail("open %s: %s", what, strerror(r));
	}
	return KTAP_PASS;
}

static void run(const char *name, int (*fn)(const void *), const void *arg)
{
	hl_knobs_run(&knobs, name, fn, arg);
}

int main(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGALRM };
	uint64_t t0 = hl_now_ms();
	size_t i;

	ktap_print_header();
	ktap_set_plan(1 + ARRAY_LEN(first_tests) + ARRAY_LEN(alloc_cases) +
		      ARRAY_LEN(extra_tests) + ARRAY_LEN(final_tests));
	ktap_print_msg("test data in %s", hl_data_dir());
	hl_knobs_save(&knobs);
	for (i = 0; i < ARRAY_LEN(sigs); i++)
		signal(sigs[i], on_fatal_signal);
	ktap_report("restricted_heap_present", t_present());
	hl_knobs_run_table(&knobs, first_tests, ARRAY_LEN(first_tests));
	for (i = 0; i < ARRAY_LEN(alloc_cases); i++)
		run(alloc_cases[i].name, t_alloc_case, &alloc_cases[i]);
	hl_knobs_run_table(&knobs, extra_tests, ARRAY_LEN(extra_tests));
	remove_files();
	hl_knobs_run_table(&knobs, final_tests, ARRAY_LEN(final_tests));
	if (heap_fd >= 0)
		close(heap_fd);
	if (loader_fd >= 0)
		close(loader_fd);
	ktap_print_msg("all tests took %" PRIu64 " ms", hl_now_ms() - t0);
	ktap_finished();
}
