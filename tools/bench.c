// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * heapload bench: time the loader against the classic ways of getting a
 * file into a dma-buf, on the same files in one run.
 *
 * Methods (enum hl_bench_method):
 *   normal                    DMA_HEAP_IOCTL_ALLOC (/dev/dma_heap/system if
 *                             there is one, else heapload,system) + mmap +
 *                             buffered read() into the mapping
 *   udmabuf                   memfd + mmap + O_DIRECT read + UDMABUF_CREATE
 *   udmabuf-prestart          the same with the read running in a thread
 *                             started before UDMABUF_CREATE
 *   heapload-sync             the loader, gather_batch_mb >= the file: all
 *                             pages allocated, then read (direct I/O)
 *   heapload-gather-direct    the loader with the module's parameters as
 *   heapload-gather-buffered  found at start, direct and buffered, but
 *                             batch_mapping=bvec: reads into the batches'
 *                             pages (ITER_BVEC)
 *   heapload-gather-direct-1t heapload-gather-direct with alloc_threads=1:
 *                             the caller's thread alone allocates
 *   heapload-gather-direct-vmap    heapload-gather-direct and -buffered
 *   heapload-gather-buffered-vmap  with batch_mapping=vmap: each batch read
 *                             through a vmap of its pages (ITER_KVEC);
 *                             failed unless the module's vmapped_batches
 *                             counter grew by the load's batches
 *   heapload-gather-direct-sha256  heapload-gather-direct, the kernel
 *   heapload-gather-direct-xxh64   verifying the digest of the loaded
 *                             bytes (HEAPLOAD_LOAD_VERIFY); the expected
 *                             digest is the one an untimed load of the
 *                             file computed first. n/a with the errno on
 *                             a module before version 2 of the UAPI or a
 *                             kernel without that digest
 *   alloc-only                floor: DMA_HEAP_IOCTL_ALLOC alone, on the
 *                             loader's heap (--heap), parameters as found
 *   alloc-only-1t             the same with alloc_threads=1
 *   odirect-floor             floor: O_DIRECT read into pre-faulted memory
 *
 * The -1t methods are n/a on a module without the alloc_threads parameter
 * (before version 0.6.0), where every allocation is on one thread anyway.
 * Every loader method runs with batch_mapping set to its mapping (the -vmap
 * methods vmap, the others bvec) where the module has that parameter; the
 * -vmap methods are n/a without it (before version 0.7.0), on the
 * restricted heap, and heapload-gather-direct-vmap where the kernel cannot
 * do direct I/O into a vmap'd batch (vmap_direct_io 0).
 *
 * Each timing starts once the file is open and ends when the data is in a
 * buffer held by an fd (mappings still in place); freeing is not timed.
 * The page-cache growth is the Cached: line of /proc/meminfo just after a
 * method minus just before it, the buffer still held (a memfd is shmem and
 * counts in Cached and Shmem).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/dma-buf.h>
#include <linux/udmabuf.h>

#include "bench.h"
#include "cli.h"
#include "libheapload.h"
#include "util.h"

#define DROP_CACHES	"/proc/sys/vm/drop_caches"
#define MEMINFO		"/proc/meminfo"
#define UDMABUF_DEV	"/dev/udmabuf"
#define SYSTEM_HEAP	"system"
#define IO_CHUNK	(128U << 20)	/* bytes per read() / pread() call */
#define CHECK_BYTES	4096U		/* compared at each end of a buffer */
#define VMAPPED_BATCHES	HEAPLOAD_SYSFS_STATS "/vmapped_batches"
#define VMAP_DIRECT_IO	HEAPLOAD_SYSFS_STATS "/vmap_direct_io"
#define RESTRICTED_HEAP	HEAPLOAD_HEAP_PREFIX "restricted"

/* ---- module parameters, restored at exit and on signals ---- */

enum bench_param {
	P_GATHER_BATCH,
	P_MAX_INFLIGHT,
	P_IO_SIZE,
	P_MAX_ALLOC,
	P_ALLOC_THREADS,
	P_BATCH_MAPPING,
	P_UDMABUF_LIMIT,
	P_COUNT,
};

struct param {
	const char *name;
	const char *path;
	char saved[32];		/* value found at start, with its newline */
	size_t saved_len;	/* strlen(saved), for the signal handler */
	bool present;
	volatile sig_atomic_t changed;
};

static struct param params[P_COUNT] = {
	[P_GATHER_BATCH] = { .name = "gather_batch_mb", .path = HEAPLOAD_SYSFS_PARAMS "/gather_batch_mb" },
	[P_MAX_INFLIGHT] = { .name = "max_inflight_batches", .path = HEAPLOAD_SYSFS_PARAMS "/max_inflight_batches" },
	[P_IO_SIZE] = { .name = "io_size_kb", .path = HEAPLOAD_SYSFS_PARAMS "/io_size_kb" },
	[P_MAX_ALLOC] = { .name = "max_alloc_mb", .path = HEAPLOAD_SYSFS_PARAMS "/max_alloc_mb" },
	[P_ALLOC_THREADS] = { .name = "alloc_threads", .path = HEAPLOAD_SYSFS_PARAMS "/alloc_threads" },
	[P_BATCH_MAPPING] = { .name = "batch_mapping", .path = HEAPLOAD_SYSFS_PARAMS "/batch_mapping" },
	[P_UDMABUF_LIMIT] = { .name = "udmabuf size_limit_mb", .path = "/sys/module/udmabuf/parameters/size_limit_mb" },
};

/* Async-signal-safe: open, write, close only. */
static int write_sysfs(const char *path, const char *val, size_t len)
{
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, len) != (ssize_t)len)
		ret = errno ? -errno : -EIO;
	close(fd);
	return ret;
}

/* A number in sysfs; -ENODATA if the file holds none. */
static int read_sysfs_u64(const char *path, uint64_t *val)
{
	char buf[32], *end;
	ssize_t n = hl_read_text(path, buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	errno = 0;
	*val = strtoull(buf, &end, 10);
	return end == buf || errno ? -ENODATA : 0;
}

static void params_load(void)
{
	int i;

	for (i = 0; i < P_COUNT; i++) {
		struct param *p = &params[i];
		ssize_t n = hl_read_text(p->path, p->saved, sizeof(p->saved));

		p->present = n > 0;
		p->saved_len = n > 0 ? (size_t)n : 0;
	}
}

static uint64_t param_value(enum bench_param i)
{
	return params[i].present ? strtoull(params[i].saved, NULL, 10) : 0;
}

/* Write @val, a word such as "vmap", to parameter @i. */
static int param_set_str(enum bench_param i, const char *val)
{
	char buf[32];
	int n;

	if (!params[i].present)
		return -ENOENT;
	n = snprintf(buf, sizeof(buf), "%s\n", val);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -EINVAL;
	params[i].changed = 1;
	return write_sysfs(params[i].path, buf, (size_t)n);
}

static int param_set(enum bench_param i, uint64_t val)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, val);
	return param_set_str(i, buf);
}

/* Async-signal-safe: only open, write and close, of values saved before. */
static void param_restore(enum bench_param i)
{
	if (params[i].changed &&
	    !write_sysfs(params[i].path, params[i].saved, params[i].saved_len))
		params[i].changed = 0;
}

static void params_restore_all(void)
{
	int i;

	for (i = 0; i < P_COUNT; i++)
		param_restore(i);
}

static const int guarded_signals[] = { SIGINT, SIGTERM, SIGHUP };

/*
 * Restore, then die of the signal: SA_RESETHAND has put back the default
 * action, and the signal, blocked while this runs, is delivered again as
 * soon as the handler returns.
 */
static void restore_on_signal(int sig)
{
	params_restore_all();
	raise(sig);
}

/*
 * Every exit path restores what bench changed: the end of hl_cmd_bench(),
 * exit() (atexit) and SIGINT, SIGTERM and SIGHUP. The other guarded
 * signals are blocked while the handler runs.
 */
static void params_guard(void)
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = restore_on_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(guarded_signals) / sizeof(guarded_signals[0]); i++)
		sigaddset(&sa.sa_mask, guarded_signals[i]);
	for (i = 0; i < sizeof(guarded_signals) / sizeof(guarded_signals[0]); i++)
		sigaction(guarded_signals[i], &sa, NULL);
	atexit(params_restore_all);
}

/* ---- bookkeeping ---- */

enum series {
	S_SECS, S_CACHE, S_SHMEM, S_ALLOC, S_IO, S_TOTAL, S_BATCHES, S_INFLIGHT,
	S_THREADS, S_COUNT,
};

enum cell_status { ST_UNUSED = 0, ST_OK, ST_NA, ST_FAILED };

struct cell {
	enum cell_status status;
	double *v[S_COUNT];	/* one value per successful run */
	unsigned int n[S_COUNT];
	struct hl_summary sum[S_COUNT];
	bool verified;
	char note[256];
};

struct bfile {
	const char *path;
	uint64_t len;		/* bytes a load holds */
	uint64_t pagelen;	/* @len rounded up to pages */
	struct cell cells[HL_BM_COUNT];
	/* Per HEAPLOAD_DIGEST_*: the digest an untimed load computed. */
	bool have_digest[HEAPLOAD_DIGEST_XXH64 + 1];
	uint8_t digest[HEAPLOAD_DIGEST_XXH64 + 1][HEAPLOAD_DIGEST_SIZE];
};

struct bench {
	const struct hl_args *a;
	int devfd;
	int dev_err;
	int udmabuf_fd;
	const char *normal_heap;
	bool drop_all;		/* --drop-caches: the whole page cache */
	bool cold;		/* each run starts without the file cached */
	bool no_vmap_direct;	/* vmap_direct_io reads 0 */
	char drop_note[192];
	FILE *csv;
	double *store;
};

/* What one run of one method gives. */
struct sample {
	uint64_t ns;
	double cache_mib, shmem_mib;
	bool kstats;
	struct heapload_result res;
	bool verified;
};

struct run {
	struct bench *b;
	struct bfile *f;
	struct sample *s;
	uint64_t t0;
	double cache0, shmem0;
	bool na;		/* the failure means: not available here */
	char err[256];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

__attribute__((format(printf, 3, 4)))
static int rfail(struct run *r, int err, const char *fmt, ...)
{
	char what[192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (err)
		snprintf(r->err, sizeof(r->err), "%s: %s", what, strerror(err));
	else
		snprintf(r->err, sizeof(r->err), "%s", what);
	return err ? -err : -EIO;
}

static void read_meminfo(double *cached_mib, double *shmem_mib)
{
	char buf[8192];
	uint64_t kb;
	ssize_t n;
	int fd;

	*cached_mib = *shmem_mib = NAN;
	fd = open(MEMINFO, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	if (!hl_meminfo_kb(buf, "Cached", &kb))
		*cached_mib = (double)kb / 1024.0;
	if (!hl_meminfo_kb(buf, "Shmem", &kb))
		*shmem_mib = (double)kb / 1024.0;
}

static void run_start(struct run *r)
{
	read_meminfo(&r->cache0, &r->shmem0);
	r->t0 = now_ns();
}

static void run_stop(struct run *r)
{
	double cache, shmem;

	r->s->ns = now_ns() - r->t0;
	read_meminfo(&cache, &shmem);
	r->s->cache_mib = cache - r->cache0;
	r->s->shmem_mib = shmem - r->shmem0;
}

static int drop_caches(void)
{
	sync();
	return write_sysfs(DROP_CACHES, "3\n", 2);
}

/*
 * Evict the file's pages from the page cache, and only those. The file is
 * opened without syncing: bench only reads, so its cached pages are clean
 * and POSIX_FADV_DONTNEED drops them.
 */
static int evict_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
	return -ret;
}

/* The kernel's page size (from the auxiliary vector: it cannot fail). */
static uint64_t page_size(void)
{
	return (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t page_align(uint64_t v)
{
	uint64_t page = page_size();

	return (v + page - 1) / page * page;
}

/* ---- I/O helpers ---- */

/*
 * Read @len bytes at @off into @buf, in IO_CHUNK pieces. With @direct the
 * requests are whole pages (@buf has room up to the next page), and the
 * file may end inside the last one.
 */
static int read_all(int fd, unsigned char *buf, uint64_t len, uint64_t off,
		    bool direct)
{
	uint64_t done = 0;

	while (done < len) {
		uint64_t want = len - done;
		ssize_t n;

		if (direct)
			want = page_align(want);
		if (want > IO_CHUNK)
			want = IO_CHUNK;
		n = pread(fd, buf + done, (size_t)want, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENODATA;
		done += (uint64_t)n;
	}
	return 0;
}

/* Compare the first and last CHECK_BYTES of @buf with the file. */
static int verify_ends(struct run *r, const unsigned char *buf)
{
	const struct bfile *f = r->f;
	uint64_t off = r->b->a->offset;
	unsigned char want[CHECK_BYTES];
	uint64_t n = f->len < CHECK_BYTES ? f->len : CHECK_BYTES;
	uint64_t at[2] = { 0, f->len - n };
	int fd, i;

	fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return rfail(r, errno, "verify: open");
	for (i = 0; i < 2; i++) {
		int ret = read_all(fd, want, n, off + at[i], false);

		if (ret) {
			close(fd);
			return rfail(r, -ret, "verify: read");
		}
		if (memcmp(want, buf + at[i], (size_t)n)) {
			close(fd);
			return rfail(r, 0, "content differs from the file in the %s %" PRIu64
				     " bytes", i ? "last" : "first", n);
		}
	}
	close(fd);
	r->s->verified = true;
	return 0;
}

static int verify_dmabuf(struct run *r, int dmabuf_fd, uint64_t size)
{
	void *map;
	int ret, err;

	ret = heapload_dmabuf_map(dmabuf_fd, size, PROT_READ, &map);
	if (ret)
		return rfail(r, -ret, "verify: mmap");
	ret = heapload_dmabuf_sync(dmabuf_fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	if (ret) {
		heapload_dmabuf_unmap(map, size);
		return rfail(r, -ret, "verify: DMA_BUF_IOCTL_SYNC");
	}
	ret = verify_ends(r, map);
	err = heapload_dmabuf_sync(dmabuf_fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	heapload_dmabuf_unmap(map, size);
	if (!ret && err)
		ret = rfail(r, -err, "verify: DMA_BUF_IOCTL_SYNC");
	return ret;
}

static int open_file(struct run *r, bool direct)
{
	int fd = open(r->f->path, O_RDONLY | O_CLOEXEC | (direct ? O_DIRECT : 0));

	if (fd < 0)
		return rfail(r, errno, "open%s %s", direct ? " (O_DIRECT)" : "",
			     r->f->path);
	return fd;
}

/* ---- the methods ---- */

static int m_normal(struct run *r)
{
	const struct bfile *f = r->f;
	void *map = NULL;
	int fd, buf, ret, err;

	fd = open_file(r, false);
	if (fd < 0)
		return fd;
	run_start(r);
	buf = heapload_heap_alloc(r->b->normal_heap, f->pagelen, O_RDWR | O_CLOEXEC);
	if (buf < 0) {
		ret = rfail(r, -buf, "DMA_HEAP_IOCTL_ALLOC on %s", r->b->normal_heap);
		goto out_close;
	}
	ret = heapload_dmabuf_map(buf, f->pagelen, PROT_READ | PROT_WRITE, &map);
	if (ret) {
		map = NULL;
		ret = rfail(r, -ret, "mmap of the dma-buf");
		goto out_buf;
	}
	ret = heapload_dmabuf_sync(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
	if (ret) {
		ret = rfail(r, -ret, "DMA_BUF_IOCTL_SYNC");
		goto out_buf;
	}
	ret = read_all(fd, map, f->len, r->b->a->offset, false);
	err = heapload_dmabuf_sync(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
	run_stop(r);
	if (ret) {
		ret = rfail(r, -ret, "read");
		goto out_buf;
	}
	if (err) {
		ret = rfail(r, -err, "DMA_BUF_IOCTL_SYNC");
		goto out_buf;
	}
	ret = verify_ends(r, map);
out_buf:
	if (map)
		heapload_dmabuf_unmap(map, f->pagelen);
	close(buf);
out_close:
	close(fd);
	return ret;
}

struct reader {
	int fd;
	unsigned char *buf;
	uint64_t len, off;
	int ret;
};

static void *reader_thread(void *arg)
{
	struct reader *rd = arg;

	rd->ret = read_all(rd->fd, rd->buf, rd->len, rd->off, true);
	return NULL;
}

static int udmabuf_create(int udmabuf_fd, int memfd, uint64_t size)
{
	struct udmabuf_create c = {
		.memfd = (uint32_t)memfd,
		.flags = UDMABUF_FLAGS_CLOEXEC,
		.offset = 0,
		.size = size,
	};
	int ret = ioctl(udmabuf_fd, UDMABUF_CREATE, &c);

	return ret < 0 ? -errno : ret;
}

/* udmabuf: memfd, mmap, O_DIRECT read, UDMABUF_CREATE; @prestart overlaps them. */
static int m_udmabuf(struct run *r, bool prestart)
{
	const struct bfile *f = r->f;
	struct reader rd = { .len = f->len, .off = r->b->a->offset };
	unsigned char *map = MAP_FAILED;
	int fd, memfd, ubuf = -1, ret;
	pthread_t thread;

	fd = open_file(r, true);
	if (fd < 0)
		return fd;
	run_start(r);
	memfd = memfd_create("heapload-bench", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (memfd < 0) {
		ret = rfail(r, errno, "memfd_create");
		goto out_close;
	}
	if (ftruncate(memfd, (off_t)f->pagelen) < 0) {
		ret = rfail(r, errno, "ftruncate of the memfd");
		goto out_memfd;
	}
	if (fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK) < 0) {
		ret = rfail(r, errno, "F_SEAL_SHRINK");
		goto out_memfd;
	}
	map = mmap(NULL, f->pagelen, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (map == MAP_FAILED) {
		ret = rfail(r, errno, "mmap of the memfd");
		goto out_memfd;
	}
	rd.fd = fd;
	rd.buf = map;
	if (prestart) {
		ret = pthread_create(&thread, NULL, reader_thread, &rd);
		if (ret) {
			ret = rfail(r, ret, "pthread_create");
			goto out_unmap;
		}
		ubuf = udmabuf_create(r->b->udmabuf_fd, memfd, f->pagelen);
		pthread_join(thread, NULL);
	} else {
		reader_thread(&rd);
		ubuf = rd.ret ? -EIO : udmabuf_create(r->b->udmabuf_fd, memfd, f->pagelen);
	}
	run_stop(r);
	if (rd.ret) {
		ret = rfail(r, -rd.ret, "O_DIRECT read into the memfd");
		goto out_ubuf;
	}
	if (ubuf < 0) {
		const char *limit = params[P_UDMABUF_LIMIT].present ?
				    params[P_UDMABUF_LIMIT].saved : "unknown";

		ret = rfail(r, -ubuf, "UDMABUF_CREATE (udmabuf size_limit_mb %.*s)",
			    (int)strcspn(limit, "\n"), limit);
		goto out_ubuf;
	}
	ret = verify_ends(r, map);
out_ubuf:
	if (ubuf >= 0)
		close(ubuf);
out_unmap:
	munmap(map, f->pagelen);
out_memfd:
	close(memfd);
out_close:
	close(fd);
	return ret;
}

/*
 * One load of the file into a new buffer, direct or buffered, with the
 * kernel verifying a digest of algorithm @alg (HEAPLOAD_DIGEST_NONE: none)
 * against @expected. Timed when @timed.
 */
static int load_once(struct run *r, bool direct, uint32_t alg, const uint8_t *expected,
		     bool timed)
{
	struct heapload_load_opts opts = HEAPLOAD_LOAD_OPTS_INIT;
	struct heapload_result *res = &r->s->res;
	const struct bench *b = r->b;
	struct heapload_segment seg;
	int fd, ret;

	fd = open_file(r, direct);
	if (fd < 0)
		return fd;
	memset(&seg, 0, sizeof(seg));
	seg.file_fd = fd;
	seg.file_offset = b->a->offset;
	seg.length = b->a->length;
	opts.flags = direct ? HEAPLOAD_LOAD_DIRECT : HEAPLOAD_LOAD_BUFFERED;
	opts.digest_alg = alg;
	if (expected) {
		opts.flags |= HEAPLOAD_LOAD_VERIFY;
		memcpy(opts.expected_digest, expected, sizeof(opts.expected_digest));
	}
	*res = (struct heapload_result)HEAPLOAD_RESULT_INIT;
	if (timed)
		run_start(r);
	ret = heapload_load_segments(b->devfd, b->a->heap, &seg, 1, &opts, NULL, res);
	if (timed)
		run_stop(r);
	close(fd);
	return ret;
}

/* The digest of the file as the kernel computes it, from an untimed load. */
static int expected_digest(struct run *r, uint32_t alg)
{
	struct bfile *f = r->f;
	int ret;

	if (f->have_digest[alg])
		return 0;
	ret = load_once(r, true, alg, NULL, false);
	if (ret) {
		/* A module before version 2, or a kernel without that digest. */
		r->na = ret == -E2BIG || ret == -EOPNOTSUPP;
		return rfail(r, -ret, "HEAPLOAD_IOC_LOAD with digest %s",
			     heapload_digest_name(alg));
	}
	close(r->s->res.dmabuf_fd);
	memcpy(f->digest[alg], r->s->res.digest, HEAPLOAD_DIGEST_SIZE);
	f->have_digest[alg] = true;
	return 0;
}

static int m_load(struct run *r, bool direct, uint32_t alg)
{
	const struct bench *b = r->b;
	const struct bfile *f = r->f;
	struct heapload_result *res = &r->s->res;
	int ret;

	if (b->devfd < 0)
		return rfail(r, b->dev_err, "open " HEAPLOAD_DEV_PATH);
	if (alg != HEAPLOAD_DIGEST_NONE) {
		ret = expected_digest(r, alg);
		if (ret)
			return ret;
	}
	ret = load_once(r, direct, alg, alg ? f->digest[alg] : NULL, true);
	if (ret == -EBADMSG)
		return rfail(r, EBADMSG, "the kernel's %s differs from the first load's",
			     heapload_digest_name(alg));
	if (ret)
		return rfail(r, -ret, "HEAPLOAD_IOC_LOAD");
	r->s->kstats = res->total_ns != 0;
	if (res->loaded != f->len)
		ret = rfail(r, 0, "loaded %" PRIu64 " bytes, expected %" PRIu64,
			    res->loaded, f->len);
	else
		ret = verify_dmabuf(r, res->dmabuf_fd, res->buf_size);
	close(res->dmabuf_fd);
	return ret;
}

/*
 * Set module parameter @i to @val for one run (outside its timing); on
 * failure it is set back at once. param_end() sets it back after the run.
 */
static int param_begin_str(struct run *r, enum bench_param i, const char *val)
{
	int ret = param_set_str(i, val);

	if (!ret)
		return 0;
	param_restore(i);
	return rfail(r, -ret, "setting %s to %s", params[i].name, val);
}

static int param_begin(struct run *r, enum bench_param i, uint64_t val)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, val);
	return param_begin_str(r, i, buf);
}

/* Set @i back; a run that went well (@ret 0) fails if that did not work. */
static int param_end(struct run *r, enum bench_param i, int ret)
{
	param_restore(i);
	if (params[i].changed && !ret)
		ret = rfail(r, 0, "could not restore %s", params[i].name);
	return ret;
}

static int m_sync(struct run *r)
{
	int ret;

	if (!params[P_GATHER_BATCH].present)
		return m_load(r, true, HEAPLOAD_DIGEST_NONE);
	ret = param_begin(r, P_GATHER_BATCH, hl_batch_mb_for(r->f->pagelen));
	if (ret)
		return ret;
	ret = m_load(r, true, HEAPLOAD_DIGEST_NONE);
	return param_end(r, P_GATHER_BATCH, ret);
}

/* The loader's heap, as the loader would allocate the buffer. */
static int m_alloc_only(struct run *r)
{
	const char *heap = r->b->a->heap;
	int buf;

	run_start(r);
	buf = heapload_heap_alloc(heap, r->f->pagelen, O_RDWR | O_CLOEXEC);
	run_stop(r);
	if (buf < 0)
		return rfail(r, -buf, "DMA_HEAP_IOCTL_ALLOC on %s", heap);
	close(buf);
	return 0;
}

/*
 * A method with alloc_threads=1: the caller's thread allocates alone, the
 * single-CPU floor the parallel allocation is measured against. Set up
 * as n/a where the module has no alloc_threads (bench_file_setup()).
 */
static int m_one_thread(struct run *r, enum hl_bench_method m)
{
	int ret = param_begin(r, P_ALLOC_THREADS, 1);

	if (ret)
		return ret;
	if (m == HL_BM_ALLOC_ONLY_1T) {
		ret = m_alloc_only(r);
	} else {
		ret = m_load(r, true, HEAPLOAD_DIGEST_NONE);
		if (!ret && r->s->res.uapi_version >= 3 && r->s->res.alloc_threads > 1)
			ret = rfail(r, 0, "alloc_threads=1, yet %" PRIu32 " threads allocated",
				    r->s->res.alloc_threads);
	}
	return param_end(r, P_ALLOC_THREADS, ret);
}

/*
 * heapload-gather-*-vmap, run with batch_mapping=vmap (run_method()): the
 * module's count of vmap'd batches must grow by the load's batches, so
 * that a load that quietly read through bvec does not pass for vmap.
 */
static int m_load_vmap(struct run *r, bool direct)
{
	uint64_t before, after;
	uint32_t batches;
	int ret;

	ret = read_sysfs_u64(VMAPPED_BATCHES, &before);
	if (ret)
		return rfail(r, -ret, "reading " VMAPPED_BATCHES);
	ret = m_load(r, direct, HEAPLOAD_DIGEST_NONE);
	if (ret)
		return ret;
	ret = read_sysfs_u64(VMAPPED_BATCHES, &after);
	if (ret)
		return rfail(r, -ret, "reading " VMAPPED_BATCHES);
	batches = r->s->res.batches;
	if (!batches)
		return rfail(r, 0, "batch_mapping=vmap, but the module did not report the load's batches");
	if (after - before < batches)
		return rfail(r, 0, "batch_mapping=vmap, yet %" PRIu64 " of %" PRIu32
			     " batches were vmap'd", after - before, batches);
	return 0;
}

static int m_odirect_floor(struct run *r)
{
	const struct bfile *f = r->f;
	unsigned char *map;
	int fd, ret;

	fd = open_file(r, true);
	if (fd < 0)
		return fd;
	map = mmap(NULL, f->pagelen, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (map == MAP_FAILED) {
		ret = rfail(r, errno, "mmap of anonymous memory");
		goto out_close;
	}
	run_start(r);
	ret = read_all(fd, map, f->len, r->b->a->offset, true);
	run_stop(r);
	if (ret)
		ret = rfail(r, -ret, "O_DIRECT read");
	else
		ret = verify_ends(r, map);
	munmap(map, f->pagelen);
out_close:
	close(fd);
	return ret;
}

static int run_method_as_set(struct run *r, enum hl_bench_method m)
{
	switch (m) {
	case HL_BM_NORMAL:
		return m_normal(r);
	case HL_BM_UDMABUF:
		return m_udmabuf(r, false);
	case HL_BM_UDMABUF_PRESTART:
		return m_udmabuf(r, true);
	case HL_BM_SYNC:
		return m_sync(r);
	case HL_BM_GATHER_DIRECT:
		return m_load(r, true, HEAPLOAD_DIGEST_NONE);
	case HL_BM_GATHER_DIRECT_1T:
	case HL_BM_ALLOC_ONLY_1T:
		return m_one_thread(r, m);
	case HL_BM_GATHER_DIRECT_VMAP:
		return m_load_vmap(r, true);
	case HL_BM_GATHER_SHA256:
		return m_load(r, true, HEAPLOAD_DIGEST_SHA256);
	case HL_BM_GATHER_XXH64:
		return m_load(r, true, HEAPLOAD_DIGEST_XXH64);
	case HL_BM_GATHER_BUFFERED:
		return m_load(r, false, HEAPLOAD_DIGEST_NONE);
	case HL_BM_GATHER_BUFFERED_VMAP:
		return m_load_vmap(r, false);
	case HL_BM_ALLOC_ONLY:
		return m_alloc_only(r);
	case HL_BM_ODIRECT_FLOOR:
		return m_odirect_floor(r);
	default:
		return rfail(r, EINVAL, "method %d", m);
	}
}

/*
 * How method @m's loads reach the batches' pages: "vmap" for the -vmap
 * methods, "bvec" for the other loader methods (and every load of a
 * module without batch_mapping), NULL for the methods without the loader.
 */
static const char *method_mapping(enum hl_bench_method m)
{
	switch (m) {
	case HL_BM_GATHER_DIRECT_VMAP:
	case HL_BM_GATHER_BUFFERED_VMAP:
		return "vmap";
	case HL_BM_SYNC:
	case HL_BM_GATHER_DIRECT:
	case HL_BM_GATHER_DIRECT_1T:
	case HL_BM_GATHER_SHA256:
	case HL_BM_GATHER_XXH64:
	case HL_BM_GATHER_BUFFERED:
		return "bvec";
	default:
		return NULL;
	}
}

/*
 * Run method @m, a loader method with batch_mapping set to its mapping
 * for the run and set back after, so that a module loaded with
 * batch_mapping=vmap does not change what the bvec methods measure.
 */
static int run_method(struct run *r, enum hl_bench_method m)
{
	const char *mapping = method_mapping(m);
	int ret;

	if (!mapping || !params[P_BATCH_MAPPING].present)
		return run_method_as_set(r, m);
	ret = param_begin_str(r, P_BATCH_MAPPING, mapping);
	if (ret)
		return ret;
	ret = run_method_as_set(r, m);
	return param_end(r, P_BATCH_MAPPING, ret);
}

/* ---- results ---- */

static void cell_add(struct cell *c, enum series s, double v)
{
	if (!isnan(v))
		c->v[s][c->n[s]++] = v;
}

static void cell_record(struct cell *c, const struct sample *s)
{
	cell_add(c, S_SECS, (double)s->ns / 1e9);
	cell_add(c, S_CACHE, s->cache_mib);
	cell_add(c, S_SHMEM, s->shmem_mib);
	if (s->kstats) {
		cell_add(c, S_ALLOC, (double)s->res.alloc_ns / 1e9);
		cell_add(c, S_IO, (double)s->res.io_ns / 1e9);
		cell_add(c, S_TOTAL, (double)s->res.total_ns / 1e9);
		cell_add(c, S_BATCHES, s->res.batches);
		cell_add(c, S_INFLIGHT, s->res.max_inflight);
		/* Threads that allocated: a module of version 3 of the UAPI says. */
		if (s->res.uapi_version >= 3 && s->res.alloc_threads)
			cell_add(c, S_THREADS, s->res.alloc_threads);
	}
	c->verified = s->verified;
}

static double median_of(const struct bfile *f, enum hl_bench_method m)
{
	const struct cell *c = &f->cells[m];

	return c->status == ST_OK ? c->sum[S_SECS].median : NAN;
}

/* max(alloc-only, odirect-floor) of the medians; either one if only one ran. */
static double floor_of(const struct bfile *f)
{
	double a = median_of(f, HL_BM_ALLOC_ONLY), o = median_of(f, HL_BM_ODIRECT_FLOOR);

	if (isnan(a))
		return o;
	if (isnan(o))
		return a;
	return a > o ? a : o;
}

static void put_num(double v, int width, int decimals)
{
	char text[64];

	hl_csv_num(v, decimals, text, sizeof(text));
	printf(" %*s", width, text[0] ? text : "-");
}

/* The mapping column: bvec or vmap for the loader's methods, else "-". */
static const char *mapping_column(enum hl_bench_method m)
{
	const char *mapping = method_mapping(m);

	return mapping ? mapping : "-";
}

static const char *status_name(enum cell_status st)
{
	return st == ST_OK ? "ok" : st == ST_NA ? "n/a" : "failed";
}

/* The parallel allocation against the caller's thread alone: median / median. */
static void print_one_thread(const struct bfile *f)
{
	static const enum hl_bench_method against[] = {
		HL_BM_ALLOC_ONLY, HL_BM_GATHER_DIRECT, HL_BM_GATHER_DIRECT_1T,
	};
	double one = median_of(f, HL_BM_ALLOC_ONLY_1T);
	const char *sep = "";
	size_t i;

	if (isnan(one) || one <= 0)
		return;
	printf("against alloc-only-1t (%.3f s):", one);
	for (i = 0; i < sizeof(against) / sizeof(against[0]); i++) {
		double t = median_of(f, against[i]);

		if (isnan(t))
			continue;
		printf("%s %s %.2f x", sep, hl_bench_method_name(against[i]), t / one);
		sep = ",";
	}
	printf("%s\n", *sep ? "" : " nothing else to compare");
}

static void print_table(const struct bench *b, const struct bfile *f)
{
	double normal = median_of(f, HL_BM_NORMAL), floor = floor_of(f);
	unsigned int m;

	printf("\n== %s: %" PRIu64 " bytes (%.1f MiB), %u run%s ==\n", f->path, f->len,
	       (double)f->len / 1048576.0, b->a->runs, b->a->runs == 1 ? "" : "s");
	printf("%-29s %8s %8s %8s %8s %7s %7s %9s %9s %7s %7s %7s %7s %8s %7s %7s\n",
	       "method", "median_s", "min_s", "max_s", "MB/s", "xnormal", "xfloor",
	       "cache_MiB", "shmem_MiB", "alloc_s", "io_s", "total_s", "batches",
	       "inflight", "threads", "mapping");
	for (m = 0; m < HL_BM_COUNT; m++) {
		const struct cell *c = &f->cells[m];
		double t = c->sum[S_SECS].median;

		if (c->status == ST_UNUSED)
			continue;
		printf("%-29s", hl_bench_method_name(m));
		if (c->status == ST_NA) {
			printf(" n/a (%s)\n", c->note);
			continue;
		}
		if (c->status == ST_FAILED) {
			printf(" failed: %s\n", c->note);
			continue;
		}
		put_num(t, 8, 3);
		put_num(c->sum[S_SECS].min, 8, 3);
		put_num(c->sum[S_SECS].max, 8, 3);
		put_num(hl_rate_mbs(f->len, (uint64_t)(t * 1e9)), 8, 1);
		put_num(hl_ratio(t, normal), 7, 2);
		put_num(hl_ratio(t, floor), 7, 2);
		put_num(c->sum[S_CACHE].median, 9, 1);
		put_num(c->sum[S_SHMEM].median, 9, 1);
		put_num(c->sum[S_ALLOC].median, 7, 3);
		put_num(c->sum[S_IO].median, 7, 3);
		put_num(c->sum[S_TOTAL].median, 7, 3);
		put_num(c->sum[S_BATCHES].median, 7, 0);
		put_num(c->sum[S_INFLIGHT].median, 8, 0);
		put_num(c->sum[S_THREADS].median, 7, 0);
		printf(" %7s", mapping_column(m));
		if (c->note[0])
			printf("  (%s)", c->note);
		printf("\n");
	}
	if (!isnan(floor))
		printf("floor = max(alloc-only, odirect-floor) = %.3f s\n", floor);
	print_one_thread(f);
	fflush(stdout);
}

/* The note stays last: it alone may hold commas (quoted). */
static const char *const csv_columns =
	"file,bytes,method,status,runs,median_s,min_s,max_s,mb_s,ratio_normal,"
	"ratio_floor,floor_s,cache_mib,shmem_mib,alloc_s,io_s,total_s,batches,"
	"max_inflight,alloc_threads,verified,cache_dropped,mapping,note";

static void csv_put(FILE *out, const char *text, bool last)
{
	char field[1024];

	hl_csv_field(text, field, sizeof(field));
	fprintf(out, "%s%s", field, last ? "\n" : ",");
}

static void csv_num(FILE *out, double v, int decimals)
{
	char field[64];

	hl_csv_num(v, decimals, field, sizeof(field));
	fprintf(out, "%s,", field);
}

static void write_csv(const struct bench *b, const struct bfile *f)
{
	double normal = median_of(f, HL_BM_NORMAL), floor = floor_of(f);
	FILE *out = b->csv;
	unsigned int m;
	char num[32];

	for (m = 0; m < HL_BM_COUNT; m++) {
		const struct cell *c = &f->cells[m];
		bool ok = c->status == ST_OK;
		double t = ok ? c->sum[S_SECS].median : NAN;
		enum series s;

		if (c->status == ST_UNUSED)
			continue;
		csv_put(out, f->path, false);
		fprintf(out, "%" PRIu64 ",", f->len);
		csv_put(out, hl_bench_method_name(m), false);
		csv_put(out, status_name(c->status), false);
		snprintf(num, sizeof(num), "%u", ok ? c->n[S_SECS] : 0);
		csv_put(out, num, false);
		csv_num(out, t, 6);
		csv_num(out, ok ? c->sum[S_SECS].min : NAN, 6);
		csv_num(out, ok ? c->sum[S_SECS].max : NAN, 6);
		csv_num(out, ok ? hl_rate_mbs(f->len, (uint64_t)(t * 1e9)) : NAN, 1);
		csv_num(out, hl_ratio(t, normal), 4);
		csv_num(out, hl_ratio(t, floor), 4);
		csv_num(out, floor, 6);
		for (s = S_CACHE; s <= S_THREADS; s++)
			csv_num(out, ok ? c->sum[s].median : NAN,
				s <= S_SHMEM ? 1 : s <= S_TOTAL ? 6 : 1);
		csv_put(out, !ok ? "" : c->verified ? "yes" : "no", false);
		csv_put(out, b->cold ? "yes" : "no", false);
		csv_put(out, mapping_column(m), false);
		csv_put(out, c->note, true);
	}
	fflush(out);
}

/* ---- driver ---- */

static bool file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* Why a parameter is missing: @why, or that the module is not loaded. */
static const char *no_param(const char *why)
{
	return file_exists(HEAPLOAD_SYSFS_PARAMS) ? why : "heapload module not loaded";
}

/* Why a -vmap method (@direct: heapload-gather-direct-vmap) cannot run, or NULL. */
static const char *vmap_unavailable(const struct bench *b, bool direct)
{
	if (!params[P_BATCH_MAPPING].present)
		return no_param("the module has no batch_mapping parameter (before 0.7.0)");
	if (!strcmp(b->a->heap, RESTRICTED_HEAP))
		return "the restricted heap always reads through bvec";
	if (direct && b->no_vmap_direct)
		return "this kernel cannot do direct I/O into a vmap'd batch: direct loads read through bvec";
	return NULL;
}

static int bench_file_setup(struct bench *b, struct bfile *f, const char *path,
			    unsigned int idx)
{
	const struct hl_args *a = b->a;
	unsigned int m, s;
	struct stat st;

	memset(f, 0, sizeof(*f));
	f->path = path;
	if (stat(path, &st) < 0) {
		fprintf(stderr, "heapload: bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) || a->offset > (uint64_t)st.st_size ||
	    (a->length && a->length > (uint64_t)st.st_size - a->offset)) {
		fprintf(stderr, "heapload: bench: %s: not a regular file, or the range is outside it\n",
			path);
		return -1;
	}
	f->len = a->length ? a->length : (uint64_t)st.st_size - a->offset;
	if (!f->len) {
		fprintf(stderr, "heapload: bench: %s: nothing to load\n", path);
		return -1;
	}
	f->pagelen = page_align(f->len);
	for (m = 0; m < HL_BM_COUNT; m++) {
		struct cell *c = &f->cells[m];

		if (!(a->methods & (1U << m)))
			continue;
		c->status = ST_OK;
		for (s = 0; s < S_COUNT; s++)
			c->v[s] = b->store + (((size_t)idx * HL_BM_COUNT + m) * S_COUNT + s) * a->runs;
		if ((m == HL_BM_UDMABUF || m == HL_BM_UDMABUF_PRESTART) && b->udmabuf_fd < 0) {
			c->status = ST_NA;
			snprintf(c->note, sizeof(c->note), "no %s", UDMABUF_DEV);
		}
		if (m == HL_BM_SYNC && !params[P_GATHER_BATCH].present)
			snprintf(c->note, sizeof(c->note),
				 "module has no gather_batch_mb: every load is synchronous");
		if ((m == HL_BM_GATHER_DIRECT_1T || m == HL_BM_ALLOC_ONLY_1T) &&
		    !params[P_ALLOC_THREADS].present) {
			c->status = ST_NA;
			snprintf(c->note, sizeof(c->note), "skipped: %s",
				 no_param("the module has no alloc_threads parameter (before 0.6.0; one allocating thread anyway)"));
		}
		if (m == HL_BM_GATHER_DIRECT_VMAP || m == HL_BM_GATHER_BUFFERED_VMAP) {
			const char *why = vmap_unavailable(b, m == HL_BM_GATHER_DIRECT_VMAP);

			if (why) {
				c->status = ST_NA;
				snprintf(c->note, sizeof(c->note), "skipped: %s", why);
			}
		}
	}
	return 0;
}

/*
 * Before a run: drop the whole page cache (--drop-caches) or evict the
 * measured file. If that fails, say so and go on warm.
 */
static void make_cold(struct bench *b, const char *path)
{
	int ret;

	if (b->drop_all) {
		ret = drop_caches();
		if (!ret)
			return;
		b->drop_all = false;
		snprintf(b->drop_note, sizeof(b->drop_note),
			 "whole cache NOT dropped from here on (" DROP_CACHES ": %s), measured files evicted instead",
			 strerror(-ret));
		printf("cache: %s\n", b->drop_note);
	}
	ret = evict_file(path);
	if (!ret)
		return;
	b->cold = false;
	snprintf(b->drop_note, sizeof(b->drop_note),
		 "NOT evicted from here on: %s: %s", path, strerror(-ret));
	printf("cache: %s\n", b->drop_note);
}

static void bench_one_file(struct bench *b, struct bfile *f)
{
	const struct hl_args *a = b->a;
	unsigned int run, m, s;

	for (run = 0; run < a->runs; run++) {
		for (m = 0; m < HL_BM_COUNT; m++) {
			struct cell *c = &f->cells[m];
			struct sample smp;
			struct run r = { .b = b, .f = f, .s = &smp };
			int ret;

			if (c->status != ST_OK)
				continue;
			memset(&smp, 0, sizeof(smp));
			if (b->cold)
				make_cold(b, f->path);
			/* For a profile of the host: the run starts now. */
			fprintf(stderr, "bench: %s run %u/%u %s: start\n", f->path,
				run + 1, a->runs, hl_bench_method_name(m));
			ret = run_method(&r, m);
			if (ret) {
				/* Not available here (a module without it): skipped. */
				c->status = r.na ? ST_NA : ST_FAILED;
				snprintf(c->note, sizeof(c->note), "%s", r.err);
				fprintf(stderr, "bench: %s run %u/%u %s: %s: %s\n",
					f->path, run + 1, a->runs,
					hl_bench_method_name(m),
					r.na ? "n/a" : "failed", r.err);
				continue;
			}
			cell_record(c, &smp);
			fprintf(stderr, "bench: %s run %u/%u %s: %.3f s\n", f->path,
				run + 1, a->runs, hl_bench_method_name(m),
				(double)smp.ns / 1e9);
		}
	}
	for (m = 0; m < HL_BM_COUNT; m++)
		for (s = 0; s < S_COUNT; s++)
			hl_summarize(f->cells[m].v[s], f->cells[m].n[s],
				     &f->cells[m].sum[s]);
}

static void print_header(const struct bench *b)
{
	const struct hl_args *a = b->a;
	int i;

	printf("bench: %u file%s, %u run%s per method\n", a->nfiles,
	       a->nfiles == 1 ? "" : "s", a->runs, a->runs == 1 ? "" : "s");
	printf("cache: %s\n", !b->cold ? b->drop_note : b->drop_all ?
	       "dropped (whole system, " DROP_CACHES ") before each run" :
	       "measured file evicted (posix_fadvise DONTNEED) before each run");
	printf("normal heap: %s%s\n", b->normal_heap,
	       strcmp(b->normal_heap, SYSTEM_HEAP) ?
	       " (no " HEAPLOAD_HEAP_DIR "/" SYSTEM_HEAP ")" : "");
	printf("loader heap: %s (alloc-only too)\n", a->heap);
	printf("loader: %s\n", b->devfd >= 0 ? HEAPLOAD_DEV_PATH : strerror(b->dev_err));
	printf("udmabuf: %s\n", b->udmabuf_fd >= 0 ? UDMABUF_DEV : "n/a (no " UDMABUF_DEV ")");
	printf("parameters:");
	for (i = 0; i < P_COUNT; i++)
		if (params[i].present)
			printf(" %s=%.*s", params[i].name,
			       (int)strcspn(params[i].saved, "\n"), params[i].saved);
	printf("%s\n", params[P_GATHER_BATCH].present || params[P_MAX_ALLOC].present ?
	       "" : " none found");
	fflush(stdout);
}

/* Let udmabuf take the largest file (Debian 13 allows 64 MiB by default). */
static void raise_udmabuf_limit(struct bench *b, const struct bfile *files, unsigned int n)
{
	uint64_t need = 0;
	unsigned int i;
	int ret;

	if (b->udmabuf_fd < 0 || !params[P_UDMABUF_LIMIT].present ||
	    !(b->a->methods & ((1U << HL_BM_UDMABUF) | (1U << HL_BM_UDMABUF_PRESTART))))
		return;
	for (i = 0; i < n; i++)
		if (hl_batch_mb_for(files[i].pagelen) > need)
			need = hl_batch_mb_for(files[i].pagelen);
	if (param_value(P_UDMABUF_LIMIT) >= need)
		return;
	ret = param_set(P_UDMABUF_LIMIT, need);
	printf("udmabuf size_limit_mb: %s %" PRIu64 " for this run%s%s\n",
	       ret ? "could not be raised to" : "raised to", need,
	       ret ? ": " : "", ret ? strerror(-ret) : "");
}

int hl_cmd_bench(const struct hl_args *a)
{
	struct bench b = { .a = a, .devfd = -1, .udmabuf_fd = -1 };
	struct bfile *files;
	unsigned int i, m;
	int ret = HL_EXIT_OK;
	uint64_t val;

	files = calloc(a->nfiles, sizeof(*files));
	b.store = calloc((size_t)a->nfiles * HL_BM_COUNT * S_COUNT * a->runs,
			 sizeof(double));
	if (!files || !b.store) {
		fprintf(stderr, "heapload: bench: %s\n", strerror(ENOMEM));
		ret = HL_EXIT_TROUBLE;
		goto out_free;
	}
	params_load();
	params_guard();
	b.no_vmap_direct = read_sysfs_u64(VMAP_DIRECT_IO, &val) == 0 && val == 0;

	b.normal_heap = file_exists(HEAPLOAD_HEAP_DIR "/" SYSTEM_HEAP) ?
			SYSTEM_HEAP : HEAPLOAD_DEFAULT_HEAP;
	b.devfd = heapload_open();
	b.dev_err = b.devfd < 0 ? -b.devfd : 0;
	b.udmabuf_fd = open(UDMABUF_DEV, O_RDWR | O_CLOEXEC);
	b.cold = true;
	if (a->drop_caches) {
		int err = drop_caches();

		if (err) {
			fprintf(stderr, "heapload: bench: --drop-caches: " DROP_CACHES ": %s%s\n",
				strerror(-err), geteuid() ? " (needs root)" : "");
			ret = HL_EXIT_TROUBLE;
			goto out_close;
		}
		b.drop_all = true;
	}

	for (i = 0; i < a->nfiles; i++) {
		if (bench_file_setup(&b, &files[i], a->files[i], i)) {
			ret = HL_EXIT_TROUBLE;
			goto out_close;
		}
	}
	if (a->csv) {
		b.csv = strcmp(a->csv, "-") ? fopen(a->csv, "w") : stdout;
		if (!b.csv) {
			fprintf(stderr, "heapload: bench: %s: %s\n", a->csv, strerror(errno));
			ret = HL_EXIT_TROUBLE;
			goto out_close;
		}
		if (b.csv != stdout)
			fprintf(b.csv, "%s\n", csv_columns);
	}

	print_header(&b);
	raise_udmabuf_limit(&b, files, a->nfiles);
	for (i = 0; i < a->nfiles; i++) {
		bench_one_file(&b, &files[i]);
		print_table(&b, &files[i]);
		if (b.csv && b.csv != stdout)
			write_csv(&b, &files[i]);
		for (m = 0; m < HL_BM_COUNT; m++)
			if (files[i].cells[m].status == ST_FAILED)
				ret = HL_EXIT_TROUBLE;
	}
	/* With --csv -, the CSV comes after all tables. */
	if (b.csv == stdout) {
		printf("\n%s\n", csv_columns);
		for (i = 0; i < a->nfiles; i++)
			write_csv(&b, &files[i]);
	}
	if (b.csv && b.csv != stdout && fclose(b.csv)) {
		fprintf(stderr, "heapload: bench: %s: %s\n", a->csv, strerror(errno));
		ret = HL_EXIT_TROUBLE;
	}
out_close:
	/* Every path that changed a parameter comes through here. */
	params_restore_all();
	for (i = 0; i < P_COUNT; i++)
		if (params[i].changed) {
			fprintf(stderr, "heapload: bench: could not restore %s to %.*s\n",
				params[i].path, (int)strcspn(params[i].saved, "\n"),
				params[i].saved);
			ret = HL_EXIT_TROUBLE;
		}
	if (b.devfd >= 0)
		close(b.devfd);
	if (b.udmabuf_fd >= 0)
		close(b.udmabuf_fd);
out_free:
	free(b.store);
	free(files);
	return ret;
}
