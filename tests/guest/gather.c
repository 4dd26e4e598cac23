// SPDX-License-Identifier: GPL-2.0
/*
 * Gathered parallel loading by HEAPLOAD_IOC_LOAD: the gather_batch_mb,
 * max_inflight_batches and io_size_kb parameters at and around their
 * limits; the version-1 statistics and the progress word; the version-0
 * struct; fault injection through debugfs; concurrent and killed loads;
 * the zero tail on dirty pages; the global load counters; loads
 * allocated on several threads (alloc_threads): their bytes, counters,
 * a kill, and faults injected in one thread. Every successful load is
 * checked byte for byte against its file, and its tail for zeroes,
 * through an mmap of the dma-buf.
 *
 * The loading tests run twice: with batch_mapping=bvec, then, named
 * vmap_*, with batch_mapping=vmap (gather batches read through a vmap of
 * their pages); tests of their own check that vmap is used where the
 * kernel can, and its parameter and failure.
 *
 * Changes module parameters and debugfs knobs; each test puts back what
 * it changed when it ends, failed or not, and the last tests check that
 * they all read as before. Needs root and the files of $HL_DATA
 * (default /data): one, 8m, 256m, unaligned; writes $HL_DATA/page_edge
 * (a page and a few bytes, sized from the kernel's page size) and
 * removes it again.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/klog.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "hl_test.h"
#include "hl_kill.h"
#include "hl_knobs.h"

#define HL_STAT_LOADS		HL_STATS_DIR "/loads"
#define HL_STAT_FAILURES	HL_STATS_DIR "/load_failures"
#define HL_STAT_LOADED		HL_STATS_DIR "/loaded_bytes"
#define HL_STAT_INFLIGHT	HL_STATS_DIR "/inflight_bytes"
#define HL_STAT_WORKERS		HL_STATS_DIR "/alloc_workers"
#define HL_STAT_PARALLEL	HL_STATS_DIR "/parallel_allocs"
#define HL_STAT_VMAPPED		HL_STATS_DIR "/vmapped_batches"
#define HL_STAT_VMAP_DIRECT	HL_STATS_DIR "/vmap_direct_io"

#define D			HEAPLOAD_LOAD_DIRECT
#define B			HEAPLOAD_LOAD_BUFFERED

/* Counters must read 0 again within this after the last fd is closed. */
#define IDLE_MS			30000
/* Kills tried before a kill test skips: each load may finish first. */
#define KILL_ATTEMPTS		3
#define CONCURRENT		4
#define DIRTY_MB		512
/* Where the injected faults hit a 256 MiB load: well inside it. */
#define FAULT_AT		(100 * HL_MIB)
/* A multiple of both 16 MiB batches and 8 MiB requests. */
#define FAULT_AT_BOUNDARY	(96 * HL_MIB)
#define CANARY			0x5a5a5a5a5a5a5a5aULL

typedef unsigned long long ull;

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

static int loader_fd = -1;

/* ---- module parameters and debugfs knobs, restored after each test ---- */

enum knob_id {
	K_BATCH,
	K_INFLIGHT,
	K_IO_KB,
	K_POOL,
	K_THREADS,
	K_FAULT_ALLOC,
	K_FAULT_THREAD,
	K_FAULT_SHORT,
	K_FAULT_ERROR,
	K_RACE,
	K_MAPPING,
	K_FAULT_VMAP,
	K_NR
};

static struct hl_knob knob_table[K_NR] = {
	[K_BATCH] = { "gather_batch_mb", HL_PARAM_DIR "gather_batch_mb" },
	[K_INFLIGHT] = { "max_inflight_batches",
			 HL_PARAM_DIR "max_inflight_batches" },
	[K_IO_KB] = { "io_size_kb", HL_PARAM_DIR "io_size_kb" },
	[K_POOL] = { "restricted_pool_mb", HL_PARAM_DIR "restricted_pool_mb" },
	[K_THREADS] = { "alloc_threads", HL_PARAM_DIR "alloc_threads" },
	[K_FAULT_ALLOC] = { "fault_alloc_after",
			    HL_DEBUG_DIR "/fault_alloc_after" },
	[K_FAULT_THREAD] = { "fault_alloc_thread",
			     HL_DEBUG_DIR "/fault_alloc_thread" },
	[K_FAULT_SHORT] = { "fault_read_short_after",
			    HL_DEBUG_DIR "/fault_read_short_after" },
	[K_FAULT_ERROR] = { "fault_read_error_after",
			    HL_DEBUG_DIR "/fault_read_error_after" },
	[K_RACE] = { "race_after_submit", HL_DEBUG_DIR "/race_after_submit" },
	[K_MAPPING] = { "batch_mapping", HL_PARAM_DIR "batch_mapping" },
	[K_FAULT_VMAP] = { "fault_vmap_after", HL_DEBUG_DIR "/fault_vmap_after" },
};

/* Older modules lack gathered loading or debugfs: a missing knob skips. */
static struct hl_knobs knobs = { knob_table, K_NR, false };

static void on_fatal_signal(int sig)
{
	hl_knobs_restore(&knobs, NULL);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* ---- data files, loads and their verification ---- */

struct data {
	char path[512];
	uint64_t size;
	int fd;
};

static int data_open(const char *name, struct data *d)
{
	struct stat st;

	hl_data_path(d->path, sizeof(d->path), name);
	d->fd = open(d->path, O_RDONLY | O_CLOEXEC);
	if (d->fd < 0 && errno == ENOENT)
		return ktap_skip("test data %s missing", d->path);
	if (d->fd < 0)
		return ktap_fail("open %s: %s", d->path, strerror(errno));
	if (fstat(d->fd, &st)) {
		close(d->fd);
		return ktap_fail("stat %s: %s", d->path, strerror(errno));
	}
	d->size = st.st_size;
	return KTAP_PASS;
}

/* Version-1 load of all of @d on @dev; returns the errno. */
static int load(int dev, const struct data *d, uint32_t flags,
		uint64_t progress_addr, struct heapload_load *l)
{
	int e;

	hl_load_init(l, d->fd, flags, 0, 0);
	l->progress_addr = progress_addr;
	e = hl_ioctl(dev, HEAPLOAD_IOC_LOAD, l);
	if (e)
		l->dmabuf_fd = -1;
	return e;
}

static const char *mode_name(uint32_t flags)
{
	return flags == D ? "direct" : flags == B ? "buffered" : "flags 0";
}

/*
 * Check loaded and buf_size of a load of all of @d, then through an
 * mmap the bytes up to loaded against the file and the rest for zeroes.
 */
static int verify(const struct heapload_load *l, const struct data *d)
{
	const size_t chunk = HL_MIB;
	unsigned char *map, *buf = NULL;
	int r = KTAP_PASS, e;
	uint64_t pos, n;
	ssize_t got;
	off_t end;
	size_t i;

	if (l->loaded != d->size)
		return ktap_fail("loaded %llu, expected %" PRIu64,
				 (ull)l->loaded, d->size);
	if (l->buf_size != hl_page_up(d->size))
		return ktap_fail("buf_size %llu, expected %" PRIu64,
				 (ull)l->buf_size, hl_page_up(d->size));
	end = lseek(l->dmabuf_fd, 0, SEEK_END);
	if (end != (off_t)l->buf_size)
		return ktap_fail("dma-buf is %lld bytes, buf_size %llu",
				 (long long)end, (ull)l->buf_size);
	map = mmap(NULL, l->buf_size, PROT_READ, MAP_SHARED, l->dmabuf_fd, 0);
	if (map == MAP_FAILED)
		return ktap_fail("mmap of the dma-buf: %s", strerror(errno));
	e = hl_sync(l->dmabuf_fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	if (e) {
		r = ktap_fail("DMA_BUF_IOCTL_SYNC start: %s", hl_errname(e));
		goto unmap;
	}
	buf = malloc(chunk);
	if (!buf) {
		r = ktap_fail("out of memory for the comparison");
		goto sync_end;
	}
	for (pos = 0; pos < d->size; pos += n) {
		n = d->size - pos < chunk ? d->size - pos : chunk;
		got = pread(d->fd, buf, n, pos);
		if (got != (ssize_t)n) {
			r = ktap_fail("short read of %s at %" PRIu64, d->path,
				      pos);
			goto sync_end;
		}
		if (memcmp(buf, map + pos, n)) {
			for (i = 0; buf[i] == map[pos + i]; i++)
				;
			r = ktap_fail("byte %" PRIu64 " of the buffer is 0x%02x, the file has 0x%02x",
				      pos + i, map[pos + i], buf[i]);
			goto sync_end;
		}
	}
	i = hl_first_nonzero(map + d->size, l->buf_size - d->size);
	if (i != l->buf_size - d->size)
		r = ktap_fail("tail byte %" PRIu64 " (past loaded %" PRIu64 ") is 0x%02x, not 0",
			      d->size + i, d->size, map[d->size + i]);
sync_end:
	e = hl_sync(l->dmabuf_fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	if (e && r == KTAP_PASS)
		r = ktap_fail("DMA_BUF_IOCTL_SYNC end: %s", hl_errname(e));
unmap:
	free(buf);
	munmap(map, l->buf_size);
	return r;
}

/*
 * Load all of $HL_DATA/@name with @flags, verify it and close the
 * dma-buf; @l keeps the statistics.
 */
static int load_verify(const char *name, uint32_t flags, uint64_t progress,
		       struct heapload_load *l)
{
	struct data d;
	int r = data_open(name, &d), e;

	if (r)
		return r;
	e = load(loader_fd, &d, flags, progress, l);
	if (e) {
		r = ktap_fail("%s load of %s: %s", mode_name(flags), d.path,
			      hl_errname(e));
	} else {
		r = verify(l, &d);
		close(l->dmabuf_fd);
	}
	close(d.fd);
	return r;
}

/* ---- counters ---- */

static int read_stat(const char *path, uint64_t *v)
{
	int e = hl_read_u64(path, v);

	if (e)
		return ktap_fail("reading %s: %s", path, hl_errname(e));
	return KTAP_PASS;
}

/* Wait until nothing is allocated, alive or waiting for I/O. */
static int wait_idle(const char *when)
{
	uint64_t end = hl_now_ms() + IDLE_MS, b = 0, n = 0, in = 0;
	int e;

	for (;;) {
		e = hl_stats(&b, &n);
		if (!e)
			e = hl_read_u64(HL_STAT_INFLIGHT, &in);
		if (e)
			return ktap_fail("%s: reading the counters: %s", when,
					 hl_errname(e));
		if (!b && !n && !in)
			return KTAP_PASS;
		if (hl_now_ms() >= end)
			return ktap_fail("%s: allocated_bytes %" PRIu64 " buffers %"
					 PRIu64 " inflight_bytes %" PRIu64
					 ", expected 0 0 0", when, b, n, in);
		hl_sleep_ms(20);
	}
}

struct counters {
	uint64_t loads, failures, loaded;
};

static int read_counters(struct counters *c)
{
	int r = read_stat(HL_STAT_LOADS, &c->loads);

	if (!r)
		r = read_stat(HL_STAT_FAILURES, &c->failures);
	if (!r)
		r = read_stat(HL_STAT_LOADED, &c->loaded);
	return r;
}

static int count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	int n = 0;

	if (!dir)
		return -1;
	while (readdir(dir))
		n++;
	closedir(dir);
	return n;
}

/* The fd number the next open() gets: a reserved, uninstalled fd moves it. */
static int lowest_free_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd >= 0)
		close(fd);
	return fd;
}

/* ---- batches, in-flight limit and request size ---- */

/*
 * The batches of a load allocated on @threads threads, one per unit of
 * the module's cut (heapload_units_init()): whole gather_batch_mb, but
 * the last @threads batches' worth is cut in quarters where a quarter is
 * 1 MiB or more, so that the threads end together and the last reads
 * are short.
 */
static uint64_t grid_batches(uint64_t len, uint64_t batch_mb,
			     unsigned int threads)
{
	uint64_t unit = batch_mb * HL_MIB, tail = unit / 4;
	uint64_t whole = (len + unit - 1) / unit, head;

	if (threads < 2 || tail < HL_MIB)
		return whole;
	head = whole > threads ? whole - threads : 0;
	return head + (len - head * unit + tail - 1) / tail;
}

/*
 * Batches are whole gather_batch_mb, except the last: the heap's chunks
 * (pages of order 8, 4 and 0: 1 MiB, 64 KiB and 4 KiB with 4 KiB pages)
 * come largest first, so they end exactly on MiB boundaries. A batch holds
 * at least one chunk, though: with 16 KiB pages an order-8 chunk is
 * 4 MiB, and batches of 1 or 2 MiB are 4 MiB where order 8 succeeds.
 * A load on several threads (alloc_threads_max) has grid_batches()
 * batches exactly. max_inflight is at least 1 and at most both the
 * setting and the number of batches.
 */
static int check_gather(const struct heapload_load *l, uint64_t batch_mb,
			uint64_t inflight)
{
	uint64_t bytes = batch_mb * HL_MIB, chunk = 256 * HL_PAGE;
	uint64_t want = (l->buf_size + bytes - 1) / bytes;
	uint64_t big = bytes > chunk ? bytes : chunk;
	uint64_t least = (l->buf_size + big - 1) / big;
	uint64_t most;

	if (l->alloc_threads_max > 1)
		least = want = grid_batches(l->buf_size, batch_mb,
					    l->alloc_threads_max);
	most = inflight < want ? inflight : want;
	if (l->batches < least || l->batches > want)
		return ktap_fail("%u batches for a %llu-byte buffer with gather_batch_mb=%"
				 PRIu64 " on %u threads, expected %" PRIu64 "..%" PRIu64,
				 l->batches, (ull)l->buf_size, batch_mb,
				 l->alloc_threads_max, least, want);
	if (l->max_inflight < 1 || l->max_inflight > most)
		return ktap_fail("max_inflight %u, expected 1..%" PRIu64
				 " (max_inflight_batches=%" PRIu64 ", %" PRIu64 " batches)",
				 l->max_inflight, most, inflight, want);
	return KTAP_PASS;
}

struct gather_case {
	const char *name;
	const char *file;
	uint32_t flags;
	/* Parameters to set first; 0 leaves one as it is. */
	unsigned int batch_mb;
	unsigned int inflight;
	unsigned int io_kb;
};

/* name, data file, flags, then the parameters to set, by name. */
#define GATHER(n, f, fl, ...) \
	{ .name = n, .file = f, .flags = fl, __VA_ARGS__ }
#define BATCH(mb)	.batch_mb = (mb)
#define INFLIGHT(n)	.inflight = (n)
#define IO_KB(kb)	.io_kb = (kb)

static const struct gather_case gather_cases[] = {
	/* Smallest batch: many batches. */
	GATHER("gather_batch_1mb_8m_direct", "8m", D, BATCH(1)),
	GATHER("gather_batch_1mb_8m_buffered", "8m", B, BATCH(1)),
	GATHER("gather_batch_1mb_unaligned_direct", "unaligned", D, BATCH(1)),
	GATHER("gather_batch_1mb_unaligned_buffered", "unaligned", B, BATCH(1)),
	/* Batch as large as or larger than the file: one batch. */
	GATHER("gather_batch_equal_to_file_8m_buffered", "8m", B, BATCH(8)),
	GATHER("gather_batch_max_larger_than_file_8m_direct", "8m", D,
	       BATCH(65536)),
	GATHER("gather_batch_larger_than_file_unaligned_buffered", "unaligned",
	       B, BATCH(9)),
	GATHER("gather_batch_larger_than_file_unaligned_direct", "unaligned",
	       D, BATCH(9)),
	/* Batches that do not divide the file: a short last batch. */
	GATHER("gather_batch_3mb_8m_direct", "8m", D, BATCH(3)),
	GATHER("gather_batch_3mb_8m_buffered", "8m", B, BATCH(3)),
	GATHER("gather_batch_96mb_256m_direct", "256m", D, BATCH(96)),
	GATHER("gather_batch_96mb_256m_buffered", "256m", B, BATCH(96)),
	/* In-flight limit. */
	GATHER("max_inflight_64_more_than_batches_8m_direct", "8m", D,
	       BATCH(1), INFLIGHT(64)),
	GATHER("max_inflight_64_more_than_batches_unaligned_buffered",
	       "unaligned", B, BATCH(1), INFLIGHT(64)),
	GATHER("max_inflight_1_8m_direct", "8m", D, BATCH(1), INFLIGHT(1)),
	GATHER("max_inflight_1_unaligned_buffered", "unaligned", B, BATCH(1),
	       INFLIGHT(1)),
	GATHER("max_inflight_2_within_setting_256m_direct", "256m", D, BATCH(8),
	       INFLIGHT(2)),
	/* Request size at its limits. */
	GATHER("io_size_4k_8m_direct", "8m", D, IO_KB(4)),
	GATHER("io_size_4k_unaligned_direct", "unaligned", D, BATCH(2),
	       IO_KB(4)),
	GATHER("io_size_64m_8m_direct", "8m", D, IO_KB(65536)),
	GATHER("io_size_64m_unaligned_direct", "unaligned", D, BATCH(2),
	       IO_KB(65536)),
};

static int t_gather_case(const void *arg)
{
	const struct gather_case *c = arg;
	uint64_t batch, inflight;
	struct heapload_load l;
	int r = KTAP_PASS;

	if (c->batch_mb)
		r = hl_knob_set(&knobs, K_BATCH, c->batch_mb);
	if (!r && c->inflight)
		r = hl_knob_set(&knobs, K_INFLIGHT, c->inflight);
	if (!r && c->io_kb)
		r = hl_knob_set(&knobs, K_IO_KB, c->io_kb);
	if (!r)
		r = hl_knob_get(&knobs, K_BATCH, &batch);
	if (!r)
		r = hl_knob_get(&knobs, K_INFLIGHT, &inflight);
	if (!r)
		r = load_verify(c->file, c->flags, 0, &l);
	if (r)
		return r;
	ktap_print_msg("%s: %u batches, at most %u in flight, alloc %llu ms, io %llu ms, total %llu ms",
		       c->name, l.batches, l.max_inflight, (ull)l.alloc_ns / 1000000,
		       (ull)l.io_ns / 1000000, (ull)l.total_ns / 1000000);
	return check_gather(&l, batch, inflight);
}

/* ---- statistics and struct versions ---- */

static int t_stats_ver1(const void *arg)
{
	uint64_t inflight;
	struct heapload_load l;
	int r;

	(void)arg;
	r = hl_knob_set(&knobs, K_BATCH, 2);
	if (!r)
		r = hl_knob_get(&knobs, K_INFLIGHT, &inflight);
	if (!r)
		r = load_verify("8m", D, 0, &l);
	if (r)
		return r;
	if (!l.alloc_ns || !l.io_ns || !l.total_ns)
		return ktap_fail("alloc_ns %llu io_ns %llu total_ns %llu: all must be > 0",
				 (ull)l.alloc_ns, (ull)l.io_ns, (ull)l.total_ns);
	if (l.total_ns < l.alloc_ns)
		return ktap_fail("total_ns %llu < alloc_ns %llu", (ull)l.total_ns,
				 (ull)l.alloc_ns);
	/* Reads are submitted and completed within the ioctl. */
	if (l.total_ns < l.io_ns)
		return ktap_fail("total_ns %llu < io_ns %llu", (ull)l.total_ns,
				 (ull)l.io_ns);
	return check_gather(&l, 2, inflight);
}

/* A 128-byte request inside a larger buffer whose rest is a canary. */
static int t_stats_ver0(const void *arg)
{
	unsigned char raw[256];
	struct heapload_load l;
	struct data d;
	int r, e;
	size_t i;

	(void)arg;
	r = hl_knob_set(&knobs, K_BATCH, 1);
	if (!r)
		r = data_open("unaligned", &d);
	if (r)
		return r;
	hl_load_init(&l, d.fd, B, 0, 0);
	l.size = HEAPLOAD_LOAD_SIZE_VER0;
	memset(raw, 0x5a, sizeof(raw));
	memcpy(raw, &l, HEAPLOAD_LOAD_SIZE_VER0);
	e = hl_ioctl(loader_fd, HEAPLOAD_IOC_LOAD_VER0, raw);
	if (e) {
		close(d.fd);
		return ktap_fail("HEAPLOAD_IOC_LOAD_VER0 with a 128-byte struct: %s",
				 hl_errname(e));
	}
	memcpy(&l, raw, HEAPLOAD_LOAD_SIZE_VER0);
	r = verify(&l, &d);
	close(l.dmabuf_fd);
	close(d.fd);
	if (r)
		return r;
	for (i = HEAPLOAD_LOAD_SIZE_VER0; i < sizeof(raw); i++)
		if (raw[i] != 0x5a)
			return ktap_fail("byte %zu past the 128-byte struct changed from 0x5a to 0x%02x",
					 i, raw[i]);
	return KTAP_PASS;
}

/* ---- progress ---- */

static int progress_at_end(uint32_t flags)
{
	uint64_t word = CANARY, p;
	struct heapload_load l;
	int r = hl_knob_set(&knobs, K_BATCH, 1);

	if (!r)
		r = load_verify("unaligned", flags, (uintptr_t)&word, &l);
	if (r)
		return r;
	p = __atomic_load_n(&word, __ATOMIC_RELAXED);
	/* "Bytes read so far": all of them; direct I/O may count whole pages. */
	if (p < l.loaded || p > l.buf_size)
		return ktap_fail("progress word 0x%" PRIx64 " at the end, expected loaded (%llu) to buf_size (%llu)",
				 p, (ull)l.loaded, (ull)l.buf_size);
	return KTAP_PASS;
}

/* @arg: the load flags (direct or buffered). */
static int t_progress_end(const void *arg)
{
	return progress_at_end(*(const uint32_t *)arg);
}

static int t_progress_unaligned(const void *arg)
{
	uint64_t words[2] = { CANARY, CANARY };
	struct heapload_load l;
	struct data d;
	int r = data_open("8m", &d), e;

	(void)arg;
	if (r)
		return r;
	e = load(loader_fd, &d, D, (uintptr_t)words + 4, &l);
	close(d.fd);
	if (!e)
		close(l.dmabuf_fd);
	if (e != EINVAL)
		return ktap_fail("progress_addr 4 bytes into a __u64: %s, expected EINVAL",
				 hl_errname(e));
	if (words[0] != CANARY || words[1] != CANARY)
		return ktap_fail("the words around a refused progress_addr changed");
	return wait_idle("after the refused load");
}

static int t_progress_efault(const void *arg)
{
	int fds0, fds1, free0, free1, r, e;
	struct heapload_load l;
	struct data d;

	(void)arg;
	/* Many batches: a late check of the word fails mid-load. */
	r = hl_knob_set(&knobs, K_BATCH, 1);
	if (!r)
		r = data_open("8m", &d);
	if (r)
		return r;
	fds0 = count_fds();
	free0 = lowest_free_fd();
	e = load(loader_fd, &d, D, 8, &l);
	fds1 = count_fds();
	free1 = lowest_free_fd();
	close(d.fd);
	if (!e)
		close(l.dmabuf_fd);
	if (e != EFAULT)
		return ktap_fail("progress_addr 8: %s, expected EFAULT",
				 hl_errname(e));
	if (fds1 != fds0 || free1 != free0)
		return ktap_fail("fd leaked: %d open fds before, %d after; lowest free fd %d before, %d after",
				 fds0, fds1, free0, free1);
	return wait_idle("after EFAULT");
}

struct sampler {
	const uint64_t *word;
	int stop;
	uint64_t samples, changes, last, min_nonzero;
	uint64_t drop_from, drop_to;
	bool dropped;
};

static void sample(struct sampler *s, uint64_t v)
{
	s->samples++;
	if (v == s->last)
		return;
	s->changes++;
	if (v < s->last && !s->dropped) {
		s->dropped = true;
		s->drop_from = s->last;
		s->drop_to = v;
	}
	if (v && v < s->min_nonzero)
		s->min_nonzero = v;
	s->last = v;
}

static void *sampler_main(void *arg)
{
	struct sampler *s = arg;

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		sample(s, __atomic_load_n(s->word, __ATOMIC_RELAXED));
		usleep(100);
	}
	sample(s, __atomic_load_n(s->word, __ATOMIC_RELAXED));
	return NULL;
}

static int t_progress_mid_load(const void *arg)
{
	uint64_t word = 0, t0, ms;
	struct sampler s = {
		.word = &word, .min_nonzero = UINT64_MAX,
	};
	struct heapload_load l;
	struct data d;
	pthread_t th;
	int r, e;

	(void)arg;
	r = hl_knob_set(&knobs, K_BATCH, 8);
	if (!r)
		r = data_open("256m", &d);
	if (r)
		return r;
	e = pthread_create(&th, NULL, sampler_main, &s);
	if (e) {
		close(d.fd);
		return ktap_fail("pthread_create: %s", strerror(e));
	}
	t0 = hl_now_ms();
	e = load(loader_fd, &d, D, (uintptr_t)&word, &l);
	ms = hl_now_ms() - t0;
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	close(d.fd);
	if (e)
		return ktap_fail("direct load of %s: %s", d.path, hl_errname(e));
	close(l.dmabuf_fd);
	ktap_print_msg("256m load: %" PRIu64 " ms, %u batches, %" PRIu64
		       " samples, %" PRIu64 " changes of the progress word",
		       ms, l.batches, s.samples, s.changes);
	if (s.dropped)
		return ktap_fail("progress went down from %" PRIu64 " to %" PRIu64,
				 s.drop_from, s.drop_to);
	if (s.last < l.loaded || s.last > l.buf_size)
		return ktap_fail("progress %" PRIu64 " at the end, expected %llu to %llu",
				 s.last, (ull)l.loaded, (ull)l.buf_size);
	if (s.min_nonzero < l.loaded)
		return KTAP_PASS;
	/*
	 * Sampled several times per batch, yet only ever 0 or the end: the
	 * word is not set per completed batch.
	 */
	if (l.batches >= 8 && s.samples >= 8ULL * l.batches)
		return ktap_fail("progress never between 0 and the end in a %" PRIu64
				 " ms load of %u batches (%" PRIu64 " samples)",
				 ms, l.batches, s.samples);
	return ktap_skip("load took %" PRIu64 " ms, %" PRIu64 " samples for %u batches: too fast to see progress between 0 and the end",
			 ms, s.samples, l.batches);
}

/* The progress word's page, unmapped by a thread once progress moved. */
struct unmapper {
	uint64_t *word;
	int stop;
	uint64_t seen;		/* progress when unmapped; 0 if never */
};

static void *unmapper_main(void *arg)
{
	struct unmapper *u = arg;
	uint64_t v;

	while (!__atomic_load_n(&u->stop, __ATOMIC_ACQUIRE)) {
		v = __atomic_load_n(u->word, __ATOMIC_RELAXED);
		if (v) {
			munmap(u->word, HL_PAGE);
			u->seen = v;
			break;
		}
		usleep(100);
	}
	return NULL;
}

/* One attempt; KTAP_SKIP when the unmap did not land mid-load. */
static int unmap_attempt(const struct data *d)
{
	struct unmapper u = { 0 };
	int fds0, fds1, free0, free1, e;
	struct heapload_load l;
	pthread_t th;

	u.word = mmap(NULL, HL_PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (u.word == MAP_FAILED)
		return ktap_fail("mmap: %s", strerror(errno));
	*u.word = 0;
	fds0 = count_fds();
	free0 = lowest_free_fd();
	e = pthread_create(&th, NULL, unmapper_main, &u);
	if (e) {
		munmap(u.word, HL_PAGE);
		return ktap_fail("pthread_create: %s", strerror(e));
	}
	e = load(loader_fd, d, D, (uintptr_t)u.word, &l);
	__atomic_store_n(&u.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	if (!u.seen)
		munmap(u.word, HL_PAGE);
	if (!e)
		close(l.dmabuf_fd);
	fds1 = count_fds();
	free1 = lowest_free_fd();
	if (!u.seen)
		return ktap_skip("progress never moved before the load ended (%s)",
				 hl_errname(e));
	/* The kernel's last write may land between our read and munmap. */
	if (!e)
		return ktap_skip("unmapped at progress %" PRIu64 " of %llu, but the load had written its last progress",
				 u.seen, (ull)l.loaded);
	if (e != EFAULT)
		return ktap_fail("progress word unmapped at %" PRIu64 " bytes: %s, expected EFAULT",
				 u.seen, hl_errname(e));
	if (fds1 != fds0 || free1 != free0)
		return ktap_fail("fd leaked: %d open fds before, %d after; lowest free fd %d before, %d after",
				 fds0, fds1, free0, free1);
	return wait_idle("after EFAULT mid-load");
}

static int t_progress_unmapped_mid_load(const void *arg)
{
	struct data d;
	int i, r;

	(void)arg;
	r = hl_knob_set(&knobs, K_BATCH, 8);
	if (!r)
		r = data_open("256m", &d);
	if (r)
		return r;
	for (i = 0; i < KILL_ATTEMPTS; i++) {
		r = unmap_attempt(&d);
		if (r != KTAP_SKIP)
			break;
		ktap_print_msg("attempt %d: %s", i + 1, ktap_reason);
	}
	close(d.fd);
	if (r == KTAP_SKIP)
		return ktap_skip("progress page never unmapped mid-load in %d attempts: the mid-load EFAULT path is untested",
				 KILL_ATTEMPTS);
	return r;
}

/* ---- fault injection ---- */

struct fault_case {
	const char *name;
	enum knob_id knob;
	uint64_t at;
	uint32_t flags;
	unsigned int batch_mb;
	unsigned int io_kb;	/* 0 leaves it as it is */
	int expect;
};

#define FAULT(n, k, pos, fl, ...) \
	{ .name = n, .knob = k, .at = pos, .flags = fl, __VA_ARGS__ }
#define EXPECT(e)	.expect = (e)

static const struct fault_case fault_cases[] = {
	/* The limit falls in the first batch: nothing was read yet. */
	FAULT("fault_alloc_first_batch_enomem_no_leak", K_FAULT_ALLOC,
	      64 * HL_MIB, D, BATCH(128), EXPECT(ENOMEM)),
	/* ... and in the ninth: eight batches are being read or done. */
	FAULT("fault_alloc_reads_in_flight_enomem_no_leak", K_FAULT_ALLOC,
	      64 * HL_MIB, D, BATCH(8), EXPECT(ENOMEM)),
	FAULT("fault_read_short_direct_enodata_no_leak", K_FAULT_SHORT,
	      FAULT_AT, D, BATCH(16), EXPECT(ENODATA)),
	FAULT("fault_read_short_buffered_enodata_no_leak", K_FAULT_SHORT,
	      FAULT_AT, B, BATCH(16), EXPECT(ENODATA)),
	/* Where one request ends and the next begins: the next reads nothing. */
	FAULT("fault_read_short_at_request_boundary_direct_enodata", K_FAULT_SHORT,
	      FAULT_AT_BOUNDARY, D, BATCH(16), IO_KB(8192), EXPECT(ENODATA)),
	FAULT("fault_read_short_at_request_boundary_buffered_enodata", K_FAULT_SHORT,
	      FAULT_AT_BOUNDARY, B, BATCH(16), IO_KB(8192), EXPECT(ENODATA)),
	FAULT("fault_read_error_direct_eio_no_leak", K_FAULT_ERROR, FAULT_AT, D,
	      BATCH(16), EXPECT(EIO)),
	FAULT("fault_read_error_buffered_eio_no_leak", K_FAULT_ERROR, FAULT_AT,
	      B, BATCH(16), EXPECT(EIO)),
};

static int fault_precondition(enum knob_id id)
{
	if (!access(HL_DEBUG_DIR, F_OK))
		return knob_table[id].present ? KTAP_PASS :
			ktap_skip("no %s", knob_table[id].path);
	if (!hl_debugfs_mounted())
		return ktap_skip("no %s: debugfs not mounted at /sys/kernel/debug",
				 HL_DEBUG_DIR);
	return ktap_skip("no %s: this heapload has no fault injection",
			 HL_DEBUG_DIR);
}

static int t_fault_case(const void *arg)
{
	const struct fault_case *c = arg;
	struct counters c0, c1;
	struct heapload_load l;
	struct data d;
	int r, e;

	r = fault_precondition(c->knob);
	if (!r)
		r = wait_idle("before the load");
	if (!r)
		r = read_counters(&c0);
	if (!r)
		r = hl_knob_set(&knobs, K_BATCH, c->batch_mb);
	if (!r && c->io_kb)
		r = hl_knob_set(&knobs, K_IO_KB, c->io_kb);
	if (!r)
		r = hl_knob_set(&knobs, c->knob, c->at);
	if (!r)
		r = data_open("256m", &d);
	if (r)
		return r;
	e = load(loader_fd, &d, c->flags, 0, &l);
	close(d.fd);
	if (!e)
		close(l.dmabuf_fd);
	if (e != c->expect)
		return ktap_fail("%s load of 256m with %s=%" PRIu64 ": %s, expected %s",
				 mode_name(c->flags), knob_table[c->knob].name,
				 c->at, hl_errname(e), hl_errname(c->expect));
	r = wait_idle("after the failed load");
	if (!r)
		r = read_counters(&c1);
	if (r)
		return r;
	if (c1.failures != c0.failures + 1 || c1.loads != c0.loads)
		return ktap_fail("load_failures %" PRIu64 " -> %" PRIu64 ", loads %"
				 PRIu64 " -> %" PRIu64 "; expected +1 and unchanged",
				 c0.failures, c1.failures, c0.loads, c1.loads);
	return KTAP_PASS;
}

/*
 * Every direct read request completes before the ->read_iter call that
 * queued it returns (race_after_submit, test builds only), and the
 * submitter then still uses the request's kiocb, as ext4 does: the load
 * must come out byte for byte. On a KASAN kernel (make check-debug) a
 * request that its completion frees alone is reported there, every time.
 */
static int t_race_after_submit(const void *arg)
{
	struct heapload_load l;
	int r;

	(void)arg;
	r = fault_precondition(K_RACE);
	if (!r)
		r = hl_knob_set(&knobs, K_IO_KB, 1024);
	if (!r)
		r = hl_knob_set(&knobs, K_RACE, 1);
	if (!r)
		r = load_verify("unaligned", D, 0, &l);
	return r;
}

/* ---- module parameters ---- */

struct param_case {
	const char *name;
	enum knob_id knob;
	const char *start;	/* set first; must not be the default */
	const char *bad[6];
	const char *good[4];	/* and what they read back as */
	uint64_t good_val[4];
};

#define PARAM(n, k, ...)	{ .name = n, .knob = k, __VA_ARGS__ }
#define REJECTS(from, ...)	.start = from, .bad = { __VA_ARGS__ }
#define ACCEPTS(...)		.good = { __VA_ARGS__ }
#define READS(...)		.good_val = { __VA_ARGS__ }

static const struct param_case param_cases[] = {
	PARAM("param_gather_batch_mb_rejects_bad_values", K_BATCH,
	      REJECTS("7", "0", "65537", "abc")),
	PARAM("param_gather_batch_mb_accepts_1_and_65536", K_BATCH,
	      ACCEPTS("1", "65536", "5\n"), READS(1, 65536, 5)),
	PARAM("param_max_inflight_batches_rejects_bad_values", K_INFLIGHT,
	      REJECTS("3", "0", "65")),
	PARAM("param_max_inflight_batches_accepts_1_and_64", K_INFLIGHT,
	      ACCEPTS("1", "64", "5\n"), READS(1, 64, 5)),
	PARAM("param_io_size_kb_rejects_bad_values", K_IO_KB,
	      REJECTS("12", "0", "3", "6", "65540", "8190")),
	PARAM("param_io_size_kb_accepts_4_and_65536", K_IO_KB,
	      ACCEPTS("4", "65536", "16\n"), READS(4, 65536, 16)),
	PARAM("param_restricted_pool_mb_rejects_bad_values", K_POOL,
	      REJECTS("64", "0", "abc", "-1", "12x")),
	PARAM("param_restricted_pool_mb_accepts_1_and_max", K_POOL,
	      ACCEPTS("1", "4294967295", "96\n"), READS(1, 4294967295, 96)),
};

static int t_param_case(const void *arg)
{
	const struct param_case *c = arg;
	const char *name = knob_table[c->knob].name;
	uint64_t start = 0, v;
	size_t i;
	int r, e;

	if (c->start) {
		start = strtoull(c->start, NULL, 10);
		r = hl_knob_set(&knobs, c->knob, start);
		if (r)
			return r;
	}
	for (i = 0; c->start && i < ARRAY_LEN(c->bad) && c->bad[i]; i++) {
		e = hl_knob_write(&knobs, c->knob, c->bad[i]);
		if (e != EINVAL)
			return ktap_fail("writing \"%s\" to %s: %s, expected EINVAL",
					 c->bad[i], name, hl_errname(e));
		r = hl_knob_get(&knobs, c->knob, &v);
		if (r)
			return r;
		if (v != start)
			return ktap_fail("%s reads %" PRIu64 " after the refused \"%s\", expected %" PRIu64,
					 name, v, c->bad[i], start);
	}
	for (i = 0; i < ARRAY_LEN(c->good) && c->good[i]; i++) {
		e = hl_knob_write(&knobs, c->knob, c->good[i]);
		if (e == EACCES || e == EPERM)
			return ktap_skip("writing %s needs root", name);
		if (e)
			return ktap_fail("writing \"%s\" to %s: %s", c->good[i],
					 name, hl_errname(e));
		r = hl_knob_get(&knobs, c->knob, &v);
		if (r)
			return r;
		if (v != c->good_val[i])
			return ktap_fail("%s reads %" PRIu64 " after writing \"%s\"",
					 name, v, c->good[i]);
	}
	return KTAP_PASS;
}

/* ---- concurrent loads ---- */

static void __attribute__((noreturn))
concurrent_child(int idx, int release_fd, uint32_t flags)
{
	struct heapload_load l;
	struct data d;
	int dev, r, e;
	char c;

	dev = open(HL_LOADER_PATH, O_RDWR | O_CLOEXEC);
	r = data_open("8m", &d);
	if (dev < 0)
		r = ktap_fail("open %s: %s", HL_LOADER_PATH, strerror(errno));
	/* All children wait here until the parent lets them go at once. */
	if (read(release_fd, &c, 1) < 0)
		r = ktap_fail("waiting for the start: %s", strerror(errno));
	if (!r) {
		e = load(dev, &d, flags, 0, &l);
		if (e) {
			r = ktap_fail("load: %s", hl_errname(e));
		} else {
			r = verify(&l, &d);
			close(l.dmabuf_fd);
		}
	}
	if (r)
		ktap_print_msg("process %d (%s): %s", idx, mode_name(flags),
			       ktap_reason);
	_exit(r);
}

static int t_concurrent(const void *arg)
{
	pid_t pids[CONCURRENT];
	int pfd[2], i, n, status, r;
	struct data d;
	uint64_t end;

	(void)arg;
	r = data_open("8m", &d);
	if (r)
		return r;
	close(d.fd);
	r = hl_knob_set(&knobs, K_BATCH, 1);
	if (r)
		return r;
	if (pipe2(pfd, O_CLOEXEC))
		return ktap_fail("pipe: %s", strerror(errno));
	fflush(stdout);
	for (n = 0; n < CONCURRENT; n++) {
		pids[n] = fork();
		if (pids[n] < 0) {
			r = ktap_fail("fork: %s", strerror(errno));
			break;
		}
		if (pids[n] == 0) {
			close(pfd[1]);
			concurrent_child(n, pfd[0], n % 2 ? B : D);
		}
	}
	close(pfd[0]);
	/* EOF on the pipe starts every child. */
	close(pfd[1]);
	end = hl_now_ms() + 120000;
	for (i = 0; i < n; i++) {
		while (waitpid(pids[i], &status, WNOHANG) != pids[i]) {
			if (hl_now_ms() >= end) {
				kill(pids[i], SIGKILL);
				waitpid(pids[i], &status, 0);
				break;
			}
			hl_sleep_ms(20);
		}
		if (r)
			continue;
		if (WIFSIGNALED(status))
			r = ktap_fail("process %d (%s) killed by signal %d%s", i,
				      mode_name(i % 2 ? B : D), WTERMSIG(status),
				      hl_now_ms() >= end ? " after 120 s" : "");
		else if (WEXITSTATUS(status))
			r = ktap_fail("process %d (%s) failed, see above", i,
				      mode_name(i % 2 ? B : D));
	}
	if (r)
		return r;
	return wait_idle("after the concurrent loads");
}

/* ---- SIGKILL in the middle of a load ---- */

static void __attribute__((noreturn)) kill_child(int wfd, uint32_t flags)
{
	struct heapload_load l;
	struct data d;
	int dev, e;

	dev = open(HL_LOADER_PATH, O_RDWR | O_CLOEXEC);
	if (dev < 0 || data_open("256m", &d))
		e = dev < 0 ? errno : ENOENT;
	else
		e = load(dev, &d, flags, 0, &l);
	/* Tell the parent the load is over, then hold the buffer. */
	if (write(wfd, &e, sizeof(e)) != sizeof(e))
		_exit(2);
	pause();
	_exit(0);
}

/* Load started: something allocated or waiting for I/O. */
static bool load_running(void)
{
	uint64_t b = 0, in = 0;

	hl_read_u64(HL_STAT_BYTES, &b);
	hl_read_u64(HL_STAT_INFLIGHT, &in);
	return b || in;
}

/*
 * No helper allocates once a load has returned, failed or not:
 * alloc_workers reads 0 at once, without waiting. @when: what returned.
 */
static int no_alloc_workers(const char *when)
{
	uint64_t w;
	int r = read_stat(HL_STAT_WORKERS, &w);

	if (!r && w)
		r = ktap_fail("alloc_workers %" PRIu64 " %s, expected 0", w, when);
	return r;
}

/**
 * struct kill_watch - what one kill attempt waits for and checks
 * @running:	the load is where the kill should land
 * @counters:	the counters hl_kill_check() names
 * @helpers:	alloc_workers must read 0 as soon as the child is reaped
 * @missed:	the skip reason when the load ended before the kill
 */
struct kill_watch {
	bool (*running)(void);
	const char *counters;
	bool helpers;
	const char *missed;
};

/* One attempt; KTAP_SKIP when the load ended before the kill landed. */
static int kill_attempt_watch(uint32_t flags, const struct kill_watch *w)
{
	struct hl_kill k;
	uint64_t m0;
	int r;

	r = hl_memfree_before(&m0);
	if (!r)
		r = hl_kill_mid_load(kill_child, flags, w->running, 200, &k);
	if (r)
		return r;
	ktap_print_msg("%s: child died %" PRIu64 " ms after SIGKILL",
		       mode_name(flags), k.died_ms);
	r = hl_kill_check(&k, w->counters);
	if (!r && w->helpers)
		r = no_alloc_workers("once the killed loader was reaped");
	if (!r)
		r = wait_idle("after the kill");
	if (r)
		return r;
	if (k.report == 0)
		return ktap_skip("%s", w->missed);
	return hl_memfree_back(m0);
}

static int kill_attempt(uint32_t flags)
{
	static const struct kill_watch w = {
		.running = load_running,
		.counters = "allocated_bytes or inflight_bytes",
		.missed = "the load finished before the kill",
	};

	return kill_attempt_watch(flags, &w);
}

static int sigkill_mid_load(uint32_t flags)
{
	int r = hl_knob_set(&knobs, K_BATCH, 8);

	if (!r)
		r = wait_idle("before the load");
	return r ? r : hl_kill_attempts(kill_attempt, flags, KILL_ATTEMPTS,
					"256m");
}

/* @arg: the load flags (direct or buffered). */
static int t_sigkill(const void *arg)
{
	return sigkill_mid_load(*(const uint32_t *)arg);
}

/* ---- zero tail on dirty pages ---- */

/* Fill @mb MiB of heap memory with 0xff and free it again, dirty. */
static int dirty_heap_pages(unsigned int mb)
{
	size_t len = (size_t)mb * HL_MIB;
	int heap, buf, e;
	void *p;

	heap = open(HL_HEAP_PATH, O_RDWR | O_CLOEXEC);
	if (heap < 0)
		return ktap_fail("open %s: %s", HL_HEAP_PATH, strerror(errno));
	e = hl_heap_alloc(heap, len, O_RDWR | O_CLOEXEC, 0, &buf);
	close(heap);
	if (e == ENOMEM)
		return ktap_skip("cannot allocate %u MiB to dirty", mb);
	if (e)
		return ktap_fail("allocating %u MiB: %s", mb, hl_errname(e));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	if (p == MAP_FAILED) {
		e = errno;
		close(buf);
		return ktap_fail("mmap of %u MiB: %s", mb, strerror(e));
	}
	hl_sync(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
	memset(p, 0xff, len);
	hl_sync(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
	munmap(p, len);
	close(buf);
	return wait_idle("after freeing the dirtied buffer");
}

/* Whether "@key" is followed by "on" on the line that starts at @line. */
static bool log_line_on(const char *line, const char *key)
{
	const char *eol = strchr(line, '\n');
	const char *k = strstr(line, key);

	return k && (!eol || k < eol) && !strncmp(k + strlen(key), "on", 2);
}

/*
 * Whether the kernel zeroes pages itself when it allocates or frees them
 * (init_on_alloc, init_on_free; Debian's default is init_on_alloc=1):
 * then no dirty page reaches heapload, and a zero tail proves nothing.
 * The boot log's "mem auto-init:" line says; 1 yes, 0 no, -1 unknown.
 */
static int kernel_zeroes_pages(void)
{
	const char *line;
	char *log;
	int len, n, r = -1;

	len = klogctl(10, NULL, 0);	/* SYSLOG_ACTION_SIZE_BUFFER */
	if (len <= 0)
		return -1;
	log = malloc(len + 1);
	if (!log)
		return -1;
	n = klogctl(3, log, len);	/* SYSLOG_ACTION_READ_ALL */
	if (n > 0) {
		log[n] = '\0';
		line = strstr(log, "mem auto-init:");
		if (line)
			r = log_line_on(line, "heap alloc:") ||
			    log_line_on(line, "heap free:");
	}
	free(log);
	return r;
}

#define EDGE_FILE	"page_edge"

/*
 * $HL_DATA/EDGE_FILE, made anew with @size bytes of a fixed pattern:
 * page-relative sizes, which the data disk's files cannot have on every
 * page size.
 */
static int make_edge_file(uint64_t size)
{
	unsigned char *buf = malloc(size);
	char path[512];
	ssize_t n = -1;
	uint64_t i;
	int fd, e;

	if (!buf)
		return ktap_fail("out of memory for a %" PRIu64 "-byte file", size);
	for (i = 0; i < size; i++)
		buf[i] = (unsigned char)(i * 7 + 3);
	hl_data_path(path, sizeof(path), EDGE_FILE);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		n = write(fd, buf, size);
		if (n == (ssize_t)size && fsync(fd))
			n = -1;
	}
	e = errno;
	if (fd >= 0)
		close(fd);
	free(buf);
	if (n != (ssize_t)size)
		return ktap_fail("writing %" PRIu64 " bytes to %s: %s", size,
				 path, n < 0 ? strerror(e) : "short write");
	return KTAP_PASS;
}

static void remove_edge_file(void)
{
	char path[512];

	hl_data_path(path, sizeof(path), EDGE_FILE);
	unlink(path);
}

/*
 * A load of @file, or where that is NULL of a file one page plus
 * @page_plus bytes long (made for the test): the last page partly read,
 * at the same edges whatever the page size.
 */
struct tail_case {
	const char *name;
	const char *file;
	int page_plus;
	uint32_t flags;
};

static const struct tail_case tail_cases[] = {
	{ "tail_zeroed_on_dirty_pages_unaligned_direct", "unaligned", 0, D },
	{ "tail_zeroed_on_dirty_pages_unaligned_buffered", "unaligned", 0, B },
	{ "tail_zeroed_on_dirty_pages_one_direct", "one", 0, D },
	{ "tail_zeroed_on_dirty_pages_one_buffered", "one", 0, B },
	{ "tail_zeroed_page_minus_one_direct", NULL, -1, D },
	{ "tail_zeroed_page_minus_one_buffered", NULL, -1, B },
	{ "tail_zeroed_page_plus_one_direct", NULL, 1, D },
	{ "tail_zeroed_page_plus_one_buffered", NULL, 1, B },
	{ "tail_zeroed_page_plus_512_direct", NULL, 512, D },
	{ "tail_zeroed_page_plus_512_buffered", NULL, 512, B },
};

/*
 * The edge cases run also where the kernel zeroes every page (their
 * lengths and buffer sizes are still worth checking), the others not.
 */
static int t_tail_case(const void *arg)
{
	const struct tail_case *c = arg;
	bool zeroes = kernel_zeroes_pages() == 1;
	struct heapload_load l;
	int r;

	if (zeroes && c->file)
		return ktap_skip("the kernel zeroes every page it allocates or frees (mem auto-init, e.g. init_on_alloc=1): no dirty page can reach the tail; boot with init_on_alloc=0");
	r = c->file ? KTAP_PASS : make_edge_file(HL_PAGE + c->page_plus);
	if (!r && !zeroes)
		r = dirty_heap_pages(DIRTY_MB);
	if (!r)
		r = load_verify(c->file ? c->file : EDGE_FILE, c->flags, 0, &l);
	if (!c->file)
		remove_edge_file();
	return r;
}

/* ---- allocation on several threads (alloc_threads) ---- */

/*
 * alloc_threads and the counters alloc_workers and parallel_allocs come
 * with the module these tests are built with: unlike the knobs of older
 * modules, a missing one fails.
 */
static int parallel_present(void)
{
	if (!knob_table[K_THREADS].present)
		return ktap_fail("no %s", knob_table[K_THREADS].path);
	if (access(HL_STAT_WORKERS, R_OK))
		return ktap_fail("no %s: %s", HL_STAT_WORKERS, strerror(errno));
	if (access(HL_STAT_PARALLEL, R_OK))
		return ktap_fail("no %s: %s", HL_STAT_PARALLEL, strerror(errno));
	return KTAP_PASS;
}

/*
 * gather_batch_mb @batch_mb, alloc_threads @threads and 4 batches in
 * flight, so that up to 4 threads may allocate whatever the defaults.
 */
static int parallel_knobs(unsigned int batch_mb, unsigned int threads)
{
	int r = parallel_present();

	if (!r)
		r = hl_knob_set(&knobs, K_BATCH, batch_mb);
	if (!r)
		r = hl_knob_set(&knobs, K_INFLIGHT, 4);
	if (!r)
		r = hl_knob_set(&knobs, K_THREADS, threads);
	return r;
}

static int t_threads_limits(const void *arg)
{
	static const char *const bad[] = { "65", "-1", "x", "100", "2x" };
	const char *name = knob_table[K_THREADS].name;
	uint64_t v, i;
	size_t j;
	int r, e;

	(void)arg;
	r = parallel_present();
	for (i = 0; !r && i <= 64; i++) {
		r = hl_knob_set(&knobs, K_THREADS, i);
		if (!r)
			r = hl_knob_get(&knobs, K_THREADS, &v);
		if (!r && v != i)
			r = ktap_fail("%s reads %" PRIu64 " after writing %" PRIu64,
				      name, v, i);
	}
	/* Not the default, so that a refusal that resets it shows. */
	if (!r)
		r = hl_knob_set(&knobs, K_THREADS, 3);
	for (j = 0; !r && j < ARRAY_LEN(bad); j++) {
		e = hl_knob_write(&knobs, K_THREADS, bad[j]);
		if (e != EINVAL)
			return ktap_fail("writing \"%s\" to %s: %s, expected EINVAL",
					 bad[j], name, hl_errname(e));
		r = hl_knob_get(&knobs, K_THREADS, &v);
		if (!r && v != 3)
			r = ktap_fail("%s reads %" PRIu64 " after the refused \"%s\", expected 3",
				      name, v, bad[j]);
	}
	return r;
}

/**
 * struct parallel_case - a load allocated on several threads, verified
 * @name:	the test
 * @file:	its data file: 256m, or unaligned for a zero tail past the
 *		file's end in the last unit
 * @flags:	direct or buffered
 * @batch_mb:	gather_batch_mb, the unit: at least two units per file
 * @threads:	alloc_threads
 */
struct parallel_case {
	const char *name;
	const char *file;
	uint32_t flags;
	unsigned int batch_mb;
	unsigned int threads;
};

static const struct parallel_case parallel_cases[] = {
	{ "load_parallel_exact_256m_2_threads_direct", "256m", D, 16, 2 },
	{ "load_parallel_exact_256m_2_threads_buffered", "256m", B, 16, 2 },
	{ "load_parallel_exact_256m_4_threads_direct", "256m", D, 16, 4 },
	{ "load_parallel_exact_256m_4_threads_buffered", "256m", B, 16, 4 },
	{ "load_parallel_exact_unaligned_2_threads_direct", "unaligned", D, 1, 2 },
	{ "load_parallel_exact_unaligned_2_threads_buffered", "unaligned", B, 1, 2 },
	{ "load_parallel_exact_unaligned_4_threads_direct", "unaligned", D, 1, 4 },
	{ "load_parallel_exact_unaligned_4_threads_buffered", "unaligned", B, 1, 4 },
};

/*
 * Byte for byte and the zero tail, whichever thread allocated a unit and
 * in whatever order the units were read. Dirty heap pages first where
 * the kernel does not zero them itself: only the module's zeroing of the
 * tail can then make it read zero.
 */
static int t_parallel_exact(const void *arg)
{
	const struct parallel_case *c = arg;
	struct heapload_load l;
	uint64_t p0, p1;
	int r;

	r = parallel_knobs(c->batch_mb, c->threads);
	if (!r && kernel_zeroes_pages() != 1)
		r = dirty_heap_pages(64);
	if (!r)
		r = read_stat(HL_STAT_PARALLEL, &p0);
	if (!r)
		r = load_verify(c->file, c->flags, 0, &l);
	if (!r)
		r = no_alloc_workers("after the load returned");
	if (!r)
		r = read_stat(HL_STAT_PARALLEL, &p1);
	if (r)
		return r;
	ktap_print_msg("%s: %u batches, parallel_allocs +%" PRIu64 ", alloc %llu ms, total %llu ms",
		       c->name, l.batches, p1 - p0, (ull)l.alloc_ns / 1000000,
		       (ull)l.total_ns / 1000000);
	return check_gather(&l, c->batch_mb, 4);
}

/* Load all of 256m with @flags and drop it; the growth of parallel_allocs. */
static int load_parallel_delta(uint32_t flags, uint64_t *delta)
{
	struct heapload_load l;
	uint64_t p0, p1;
	struct data d;
	int r, e;

	r = read_stat(HL_STAT_PARALLEL, &p0);
	if (!r)
		r = data_open("256m", &d);
	if (r)
		return r;
	e = load(loader_fd, &d, flags, 0, &l);
	close(d.fd);
	if (e)
		return ktap_fail("%s load of %s: %s", mode_name(flags), d.path,
				 hl_errname(e));
	close(l.dmabuf_fd);
	r = no_alloc_workers("after the load returned");
	if (!r)
		r = read_stat(HL_STAT_PARALLEL, &p1);
	if (r)
		return r;
	if (p1 < p0)
		return ktap_fail("parallel_allocs went down from %" PRIu64 " to %" PRIu64,
				 p0, p1);
	*delta = p1 - p0;
	return KTAP_PASS;
}

/*
 * alloc_threads=1 never counts in parallel_allocs; with 2 a load of 16
 * units counts once when the helper allocated a unit. On a busy machine
 * the caller may allocate every unit before the helper runs: then try
 * again, and skip after KILL_ATTEMPTS loads.
 */
static int t_parallel_helpers(const void *arg)
{
	uint64_t delta = 0;
	int i, r;

	(void)arg;
	r = parallel_knobs(16, 1);
	if (!r)
		r = load_parallel_delta(D, &delta);
	if (r)
		return r;
	if (delta)
		return ktap_fail("parallel_allocs grew by %" PRIu64 " in a load with alloc_threads=1",
				 delta);
	r = hl_knob_set(&knobs, K_THREADS, 2);
	for (i = 0; !r && i < KILL_ATTEMPTS; i++) {
		r = load_parallel_delta(D, &delta);
		if (r)
			return r;
		if (delta > 1)
			return ktap_fail("parallel_allocs grew by %" PRIu64 " in one load",
					 delta);
		if (delta == 1)
			return KTAP_PASS;
		ktap_print_msg("attempt %d: the caller allocated every unit", i + 1);
	}
	return r ? r : ktap_skip("the helper allocated no unit of a 256m load in %d attempts (a busy machine?): parallel allocation untested",
				 KILL_ATTEMPTS);
}

/* A helper is allocating for a load. */
static bool helper_running(void)
{
	uint64_t w = 0;

	hl_read_u64(HL_STAT_WORKERS, &w);
	return w > 0;
}

/*
 * One attempt: SIGKILL while a helper allocates; KTAP_SKIP when none was
 * seen before the load ended. The load returned before the child was
 * reaped, so alloc_workers must read 0 at once.
 */
static int kill_parallel_attempt(uint32_t flags)
{
	static const struct kill_watch w = {
		.running = helper_running,
		.counters = "alloc_workers",
		.helpers = true,
		.missed = "no helper seen allocating before the load finished",
	};

	return kill_attempt_watch(flags, &w);
}

static int t_parallel_kill(const void *arg)
{
	int r;

	(void)arg;
	r = parallel_knobs(8, 2);
	if (!r)
		r = wait_idle("before the load");
	return r ? r : hl_kill_attempts(kill_parallel_attempt, D, KILL_ATTEMPTS,
					"256m two-thread");
}

/*
 * fault_alloc_after at FAULT_AT of a 256m load of 22 units on two
 * threads (14 of 16 MiB, 8 of 4 MiB), aimed at thread @arg (1: the
 * caller, 2: the helper): the load fails with ENOMEM, which a failing
 * helper hands to the caller, and everything is freed. That thread may
 * allocate no unit past FAULT_AT when the other takes them all: the load
 * then succeeds, and is tried again, up to KILL_ATTEMPTS times.
 */
static int t_fault_thread(const void *arg)
{
	unsigned int thread = *(const unsigned int *)arg;
	struct counters c0, c1;
	struct heapload_load l;
	struct data d;
	int i, r, e;

	r = fault_precondition(K_FAULT_ALLOC);
	if (r)
		return r;
	/* A test build of this module has both or neither. */
	if (!knob_table[K_FAULT_THREAD].present)
		return ktap_fail("%s but no %s", knob_table[K_FAULT_ALLOC].path,
				 knob_table[K_FAULT_THREAD].path);
	r = parallel_knobs(16, 2);
	if (!r)
		r = hl_knob_set(&knobs, K_FAULT_THREAD, thread);
	if (!r)
		r = hl_knob_set(&knobs, K_FAULT_ALLOC, FAULT_AT);
	if (!r)
		r = wait_idle("before the load");
	for (i = 0; !r && i < KILL_ATTEMPTS; i++) {
		r = read_counters(&c0);
		if (!r)
			r = data_open("256m", &d);
		if (r)
			return r;
		e = load(loader_fd, &d, D, 0, &l);
		close(d.fd);
		r = no_alloc_workers("after the load returned");
		if (!e)
			close(l.dmabuf_fd);
		if (r)
			return r;
		if (!e) {
			ktap_print_msg("attempt %d: thread %u allocated nothing past byte %llu",
				       i + 1, thread, (ull)FAULT_AT);
			continue;
		}
		if (e != ENOMEM)
			return ktap_fail("load with fault_alloc_after=%llu on thread %u: %s, expected ENOMEM",
					 (ull)FAULT_AT, thread, hl_errname(e));
		r = wait_idle("after the failed load");
		if (!r)
			r = read_counters(&c1);
		if (r)
			return r;
		if (c1.failures != c0.failures + 1 || c1.loads != c0.loads)
			return ktap_fail("load_failures %" PRIu64 " -> %" PRIu64 ", loads %"
					 PRIu64 " -> %" PRIu64 "; expected +1 and unchanged",
					 c0.failures, c1.failures, c0.loads, c1.loads);
		return KTAP_PASS;
	}
	return r ? r : ktap_skip("thread %u allocated nothing past byte %llu in %d loads: its failure is untested",
				 thread, (ull)FAULT_AT, KILL_ATTEMPTS);
}

static const unsigned int thread_caller = 1, thread_helper = 2;

static const struct hl_test parallel_tests[] = {
	{ "alloc_threads_param_limits", t_threads_limits, NULL },
	{ "load_parallel_uses_helpers", t_parallel_helpers, NULL },
	{ "load_parallel_kill_no_leak", t_parallel_kill, NULL },
	{ "fault_alloc_in_helper_enomem_no_leak", t_fault_thread, &thread_helper },
	{ "fault_alloc_in_caller_enomem_no_leak", t_fault_thread, &thread_caller },
};

/* ---- global counters ---- */

static int t_counters_success(const void *arg)
{
	struct counters c0, c1;
	struct heapload_load l;
	int r;

	(void)arg;
	r = read_counters(&c0);
	if (!r)
		r = load_verify("unaligned", B, 0, &l);
	if (!r)
		r = read_counters(&c1);
	if (r)
		return r;
	if (c1.loads != c0.loads + 1 || c1.loaded != c0.loaded + l.loaded ||
	    c1.failures != c0.failures)
		return ktap_fail("loads %" PRIu64 " -> %" PRIu64 ", loaded_bytes %"
				 PRIu64 " -> %" PRIu64 ", load_failures %" PRIu64
				 " -> %" PRIu64 "; expected +1, +%llu, unchanged",
				 c0.loads, c1.loads, c0.loaded, c1.loaded,
				 c0.failures, c1.failures, (ull)l.loaded);
	return KTAP_PASS;
}

/*
 * Load data file @file into heap @heap with @flags, and close the new
 * dma-buf: the load's errno in *@e; a ktap result (the file's).
 */
static int load_into_heap(const char *file, uint32_t flags, const char *heap,
			  int *e)
{
	struct heapload_load l;
	struct data d;
	int r = data_open(file, &d);

	if (r)
		return r;
	hl_load_init(&l, d.fd, flags, 0, 0);
	snprintf(l.heap, sizeof(l.heap), "%s", heap);
	*e = hl_ioctl(loader_fd, HEAPLOAD_IOC_LOAD, &l);
	close(d.fd);
	if (!*e)
		close(l.dmabuf_fd);
	return KTAP_PASS;
}

/* An unknown heap is refused before a load starts: no counter moves. */
static int t_counters_rejected(const void *arg)
{
	struct counters c0, c1;
	int r, e = 0;

	(void)arg;
	r = read_counters(&c0);
	if (!r)
		r = load_into_heap("one", B, "heapload,no-such-heap", &e);
	if (r)
		return r;
	if (e != ENODEV)
		return ktap_fail("load from an unknown heap: %s, expected ENODEV",
				 hl_errname(e));
	r = read_counters(&c1);
	if (r)
		return r;
	if (c1.loads != c0.loads || c1.failures != c0.failures ||
	    c1.loaded != c0.loaded)
		return ktap_fail("loads %" PRIu64 " -> %" PRIu64 ", load_failures %"
				 PRIu64 " -> %" PRIu64 ", loaded_bytes %" PRIu64
				 " -> %" PRIu64 "; expected no change",
				 c0.loads, c1.loads, c0.failures, c1.failures,
				 c0.loaded, c1.loaded);
	return KTAP_PASS;
}

/* ---- batch_mapping ---- */

/* Set batch_mapping to @mapping; a ktap result (skip on older modules). */
static int set_mapping(const char *mapping)
{
	const struct hl_knob *k = &knob_table[K_MAPPING];
	int e;

	if (!k->present)
		return ktap_skip("no %s: heapload before 0.7.0", k->path);
	e = hl_knob_write(&knobs, K_MAPPING, mapping);
	if (e == EACCES || e == EPERM)
		return ktap_skip("writing batch_mapping needs root");
	if (e)
		return ktap_fail("writing batch_mapping=%s: %s", mapping,
				 hl_errname(e));
	return KTAP_PASS;
}

static int param_mapping_reads(const char *want)
{
	char buf[32];
	int e = hl_read_word(knob_table[K_MAPPING].path, buf, sizeof(buf));

	if (e)
		return ktap_fail("reading batch_mapping: %s", hl_errname(e));
	if (strcmp(buf, want))
		return ktap_fail("batch_mapping reads \"%s\", expected \"%s\"",
				 buf, want);
	return KTAP_PASS;
}

static int t_param_mapping(const void *arg)
{
	static const char *const bad[] = { "vma", "vmapx", "BVEC", "1", "bvec vmap",
					   "vmap\n\n" };
	size_t i;
	int r, e;

	(void)arg;
	r = set_mapping("vmap");
	if (!r)
		r = param_mapping_reads("vmap");
	for (i = 0; !r && i < ARRAY_LEN(bad); i++) {
		e = hl_knob_write(&knobs, K_MAPPING, bad[i]);
		if (e != EINVAL)
			return ktap_fail("writing \"%s\" to batch_mapping: %s, expected EINVAL",
					 bad[i], hl_errname(e));
		r = param_mapping_reads("vmap");
	}
	if (!r)
		r = set_mapping("bvec\n");
	if (!r)
		r = param_mapping_reads("bvec");
	return r;
}

/*
 * A load of 8m in 1 MiB batches with batch_mapping @arg's mapping and
 * mode: verified, and vmapped_batches moved by its batches where vmap
 * applies (buffered; direct where vmap_direct_io reads 1), else not.
 */
struct mapping_case {
	const char *mapping;
	uint32_t flags;
};

static int t_mapping_used(const void *arg)
{
	const struct mapping_case *c = arg;
	uint64_t v0, v1, direct_ok = 0;
	struct heapload_load l;
	bool want;
	int r;

	r = set_mapping(c->mapping);
	if (!r)
		r = read_stat(HL_STAT_VMAP_DIRECT, &direct_ok);
	if (!r)
		r = hl_knob_set(&knobs, K_BATCH, 1);
	if (!r)
		r = read_stat(HL_STAT_VMAPPED, &v0);
	if (!r)
		r = load_verify("8m", c->flags, 0, &l);
	if (!r)
		r = read_stat(HL_STAT_VMAPPED, &v1);
	if (r)
		return r;
	want = !strcmp(c->mapping, "vmap") && (c->flags == B || direct_ok);
	ktap_print_msg("%s %s load: %u batches, vmapped_batches +%" PRIu64
		       " (vmap_direct_io %" PRIu64 ")", c->mapping,
		       mode_name(c->flags), l.batches, v1 - v0, direct_ok);
	if (l.batches < 2)
		return ktap_fail("%u batches for 8m with gather_batch_mb=1",
				 l.batches);
	if (v1 - v0 != (want ? l.batches : 0))
		return ktap_fail("vmapped_batches +%" PRIu64 ", expected +%u",
				 v1 - v0, want ? l.batches : 0);
	return KTAP_PASS;
}

static const struct mapping_case map_vmap_b = { "vmap", B },
	map_vmap_d = { "vmap", D }, map_bvec_b = { "bvec", B },
	map_bvec_d = { "bvec", D };

/* The restricted heap's pages get no CPU mapping, vmap or not. */
static int t_mapping_restricted(const void *arg)
{
	uint64_t v0, v1;
	int r, e = 0;

	(void)arg;
	if (access("/dev/dma_heap/heapload,restricted", F_OK))
		return ktap_skip("no heapload,restricted heap");
	r = read_stat(HL_STAT_VMAP_DIRECT, &v0);
	if (r)
		return r;
	/* Its loads are direct: without vmap_direct_io they map nothing anyway. */
	if (!v0)
		return ktap_skip("vmap_direct_io is 0: no direct load reads through a vmap here, restricted or not");
	r = set_mapping("vmap");
	if (!r)
		r = hl_knob_set(&knobs, K_BATCH, 1);
	if (!r)
		r = read_stat(HL_STAT_VMAPPED, &v0);
	if (!r)
		r = load_into_heap("8m", D, "heapload,restricted", &e);
	if (r)
		return r;
	if (e == ENOMEM)
		return ktap_skip("the restricted heap has no 8 MiB free");
	if (e)
		return ktap_fail("direct load of 8m into heapload,restricted: %s",
				 hl_errname(e));
	r = read_stat(HL_STAT_VMAPPED, &v1);
	if (!r && v1 != v0)
		return ktap_fail("vmapped_batches +%" PRIu64 " for a restricted load, expected +0",
				 v1 - v0);
	return r;
}

/*
 * vmap() of a batch fails, the first or one in the middle of a load with
 * batches before it read: ENOMEM, nothing left behind, counted once.
 * Direct loads read through vmaps only where vmap_direct_io is 1.
 */
static const struct fault_case fault_vmap_cases[] = {
	FAULT("fault_vmap_first_batch_buffered_enomem_no_leak", K_FAULT_VMAP,
	      1, B, BATCH(16), EXPECT(ENOMEM)),
	FAULT("fault_vmap_mid_load_buffered_enomem_no_leak", K_FAULT_VMAP,
	      FAULT_AT, B, BATCH(16), EXPECT(ENOMEM)),
	FAULT("fault_vmap_mid_load_direct_enomem_no_leak", K_FAULT_VMAP,
	      FAULT_AT, D, BATCH(16), EXPECT(ENOMEM)),
};

static int t_fault_vmap(const void *arg)
{
	const struct fault_case *c = arg;
	uint64_t direct_ok;
	int r = read_stat(HL_STAT_VMAP_DIRECT, &direct_ok);

	if (!r && c->flags == D && !direct_ok)
		return ktap_skip("vmap_direct_io is 0: direct loads do not read through vmaps here");
	if (!r)
		r = set_mapping("vmap");
	return r ? r : t_fault_case(c);
}

/*
 * vmap_direct_io reads 1 from Linux 6.5 on, where the block layer takes
 * kvec iterators for direct I/O: a probe broken by a later kernel would
 * otherwise turn vmap'd direct loads off unseen. Before 6.5 either value
 * passes: a distribution may backport the block layer's change, and a
 * wrong 1 there makes the vmap'd direct loads fail, which
 * vmap_direct_load_through_vmap_where_the_kernel_can catches.
 */
static int t_vmap_direct_io_kernel(const void *arg)
{
	unsigned int major = 0, minor = 0;
	struct utsname u;
	uint64_t v;
	int r;

	(void)arg;
	if (uname(&u) || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return ktap_fail("kernel release \"%s\" unreadable", u.release);
	r = read_stat(HL_STAT_VMAP_DIRECT, &v);
	if (r)
		return r;
	if (major > 6 || (major == 6 && minor >= 5)) {
		if (v != 1)
			return ktap_fail("vmap_direct_io reads %" PRIu64 " on Linux %s",
					 v, u.release);
	} else {
		ktap_print_msg("vmap_direct_io reads %" PRIu64 " on Linux %s (1 only with a backport)",
			       v, u.release);
	}
	return KTAP_PASS;
}

/*
 * Every batch's vmap is gone: /proc/vmallocinfo names the caller of each
 * mapping, and with no buffer left none may be in heapload (kmemleak
 * does not see vmaps).
 */
static int t_no_vmap_left(const void *arg)
{
	char line[512];
	bool named = false;
	int left = 0;
	FILE *f;

	(void)arg;
	f = fopen("/proc/vmallocinfo", "re");
	if (!f)
		return ktap_skip("/proc/vmallocinfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		named |= strstr(line, "+0x") != NULL;
		if (strstr(line, " [heapload]")) {
			if (!left++)
				ktap_print_msg("left: %s", line);
		}
	}
	fclose(f);
	if (left)
		return ktap_fail("%d vmaps of heapload's left after the loads",
				 left);
	if (!named)
		return ktap_skip("/proc/vmallocinfo names no callers here (no kallsyms, or not root)");
	return KTAP_PASS;
}

static const struct hl_test mapping_tests[] = {
	{ "param_batch_mapping_accepts_bvec_and_vmap_only", t_param_mapping, NULL },
	{ "vmap_buffered_load_reads_through_vmap", t_mapping_used, &map_vmap_b },
	{ "vmap_direct_load_through_vmap_where_the_kernel_can",
	  t_mapping_used, &map_vmap_d },
	{ "bvec_buffered_load_maps_nothing", t_mapping_used, &map_bvec_b },
	{ "bvec_direct_load_maps_nothing", t_mapping_used, &map_bvec_d },
	{ "vmap_restricted_load_maps_nothing", t_mapping_restricted, NULL },
	{ "vmap_direct_io_from_linux_6_5", t_vmap_direct_io_kernel, NULL },
};

/* ---- the end ---- */

static int t_knobs_restored(const void *arg)
{
	(void)arg;
	return hl_knobs_restored(&knobs);
}

static int t_no_leak(const void *arg)
{
	(void)arg;
	return wait_idle("after every test");
}

static const struct hl_test extra_tests[] = {
	{ "stats_ver1_times_and_batches", t_stats_ver1, NULL },
	{ "stats_ver0_struct_loads_and_leaves_rest_untouched", t_stats_ver0, NULL },
	{ "progress_ends_at_loaded_direct", t_progress_end, &hl_flags_direct },
	{ "progress_ends_at_loaded_buffered", t_progress_end, &hl_flags_buffered },
	{ "progress_rejects_unaligned_addr_einval", t_progress_unaligned, NULL },
	{ "progress_bad_pointer_efault_no_leak", t_progress_efault, NULL },
	{ "progress_seen_mid_load_monotonic", t_progress_mid_load, NULL },
	{ "progress_unmapped_mid_load_efault_no_leak",
	  t_progress_unmapped_mid_load, NULL },
	{ "concurrent_loads_4_processes_verified", t_concurrent, NULL },
	{ "sigkill_mid_gather_load_direct_no_leak", t_sigkill, &hl_flags_direct },
	{ "sigkill_mid_gather_load_buffered_no_leak", t_sigkill, &hl_flags_buffered },
	{ "counters_count_successful_load", t_counters_success, NULL },
	{ "counters_ignore_rejected_arguments", t_counters_rejected, NULL },
	{ "direct_read_completing_before_submitter_returns_verified",
	  t_race_after_submit, NULL },
};

/* Last: what every test above must have left behind. */
static const struct hl_test final_tests[] = {
	{ "params_and_knobs_restored", t_knobs_restored, NULL },
	{ "no_leak_after_tests", t_no_leak, NULL },
	{ "no_batch_vmap_left_after_tests", t_no_vmap_left, NULL },
};

static int t_present(void)
{
	int e, r;

	loader_fd = open(HL_LOADER_PATH, O_RDWR | O_CLOEXEC);
	if (loader_fd >= 0 && !access(knob_table[K_BATCH].path, F_OK) &&
	    !access(HL_STAT_INFLIGHT, F_OK))
		return KTAP_PASS;
	e = errno;
	r = hl_precondition_module();
	if (r)
		return r;
	if (loader_fd < 0) {
		hl_precondition_skip("%s unusable", HL_LOADER_PATH);
		return ktap_fail("module loaded but open %s: %s", HL_LOADER_PATH,
				 strerror(e));
	}
	hl_precondition_skip("heapload without gathered loading (no gather_batch_mb or inflight_bytes)");
	return ktap_skip("%s", hl_precondition_why);
}

/*
 * The pass of the loading tests: batch_mapping for each test, and the
 * prefix of their names (none for the first pass).
 */
struct pass {
	const char *mapping;
	const char *prefix;
};

static const struct pass passes[] = { { "bvec", "" }, { "vmap", "vmap_" } };
static const struct pass *pass = &passes[0];

struct in_pass {
	int (*fn)(const void *);
	const void *arg;
};

/* A test of the pass: its batch_mapping first (an older module: as is). */
static int t_in_pass(const void *arg)
{
	const struct in_pass *t = arg;
	int r = KTAP_PASS;

	if (knob_table[K_MAPPING].present || pass != &passes[0])
		r = set_mapping(pass->mapping);
	return r ? r : t->fn(t->arg);
}

static void run(const char *name, int (*fn)(const void *), const void *arg)
{
	struct in_pass t = { fn, arg };
	char full[128];

	snprintf(full, sizeof(full), "%s%s", pass->prefix, name);
	hl_knobs_run(&knobs, full, t_in_pass, &t);
}

static void run_table(const struct hl_test *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		run(t[i].name, t[i].fn, t[i].arg);
}

int main(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGALRM };
	uint64_t t0 = hl_now_ms();
	size_t i;

	ktap_print_header();
	ktap_set_plan(1 + ARRAY_LEN(passes) *
		      (ARRAY_LEN(gather_cases) + ARRAY_LEN(fault_cases) +
		       ARRAY_LEN(tail_cases) + ARRAY_LEN(extra_tests) +
		       ARRAY_LEN(parallel_cases) + ARRAY_LEN(parallel_tests)) +
		      ARRAY_LEN(param_cases) + ARRAY_LEN(mapping_tests) +
		      ARRAY_LEN(fault_vmap_cases) + ARRAY_LEN(final_tests));
	ktap_print_msg("test data in %s", hl_data_dir());
	hl_knobs_save(&knobs);
	for (i = 0; i < ARRAY_LEN(sigs); i++)
		signal(sigs[i], on_fatal_signal);
	ktap_report("gathered_loading_present", t_present());
	for (i = 0; i < ARRAY_LEN(param_cases); i++)
		hl_knobs_run(&knobs, param_cases[i].name, t_param_case,
			     &param_cases[i]);
	for (pass = passes; pass < passes + ARRAY_LEN(passes); pass++) {
		for (i = 0; i < ARRAY_LEN(gather_cases); i++)
			run(gather_cases[i].name, t_gather_case, &gather_cases[i]);
		run_table(extra_tests, ARRAY_LEN(extra_tests));
		for (i = 0; i < ARRAY_LEN(fault_cases); i++)
			run(fault_cases[i].name, t_fault_case, &fault_cases[i]);
		for (i = 0; i < ARRAY_LEN(tail_cases); i++)
			run(tail_cases[i].name, t_tail_case, &tail_cases[i]);
		for (i = 0; i < ARRAY_LEN(parallel_cases); i++)
			run(parallel_cases[i].name, t_parallel_exact,
			    &parallel_cases[i]);
		run_table(parallel_tests, ARRAY_LEN(parallel_tests));
	}
	pass = &passes[0];
	hl_knobs_run_table(&knobs, mapping_tests, ARRAY_LEN(mapping_tests));
	for (i = 0; i < ARRAY_LEN(fault_vmap_cases); i++)
		hl_knobs_run(&knobs, fault_vmap_cases[i].name, t_fault_vmap,
			     &fault_vmap_cases[i]);
	hl_knobs_run_table(&knobs, final_tests, ARRAY_LEN(final_tests));
	if (loader_fd >= 0)
		close(loader_fd);
	ktap_print_msg("all tests took %" PRIu64 " ms", hl_now_ms() - t0);
	ktap_finished();
}
