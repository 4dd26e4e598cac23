// SPDX-License-Identifier: GPL-2.0
/*
 * A seeded, reproducible ioctl fuzzer for every node of the module:
 *
 *  - HEAPLOAD_IOC_LOAD on /dev/heapload: random and boundary values of
 *    every field of struct heapload_load, every struct size the UAPI knows
 *    (128, 168, 272: versions 0, 1, 2) and sizes around them (0, 8, 127,
 *    129, 167, 169, sizes that cut version 2's fields, 271, 273, 280, 512,
 *    4096), size field matching or not, wrong directions and unknown
 *    numbers; every kind of file_fd (data files with and without O_DIRECT,
 *    memfd, tmpfs, pipe, socket, directory, device, O_PATH, closed, -1,
 *    write-only, a dma-buf, /dev/heapload itself); arguments and progress
 *    words that are unmapped, read-only, misaligned or kernel addresses;
 *  - version 2's fields: segment arrays (sane ones of up to 4096 segments
 *    in any order; unmapped or straddling a PROT_NONE page; too many;
 *    segment_size too small, larger with zero or non-zero tails, huge;
 *    segment flags; overlapping, misaligned or huge offsets; every kind of
 *    fd in a segment), HEAPLOAD_LOAD_INTO with dma-bufs of every heap
 *    (read-only, write-only, restricted, another exporter's, one another
 *    load is filling) and fds that are no dma-buf or no fd, NUMA nodes
 *    (valid, negative, huge, without the flag), digest algorithms known
 *    and not, HEAPLOAD_LOAD_VERIFY with random digests and, replaying a
 *    load, with the digest it computed (and that digest with a bit
 *    flipped), and HEAPLOAD_LOAD_ASYNC: every load fd is closed, at once
 *    (cancelling the load) or after poll() and HEAPLOAD_IOC_LOAD_RESULT
 *    calls, sane ones and ones with fuzzed numbers, sizes, size fields
 *    and argument memory;
 *  - DMA_HEAP_IOCTL_ALLOC on every node in /dev/dma_heap, struct sizes
 *    0..64 in every direction, boundary lengths up to U64_MAX;
 *  - unknown ioctls (random type, number, direction, size) on every node.
 *
 * Each iteration draws its call from its own generator state, derived
 * from the seed and the iteration number only, so that one iteration can
 * be replayed alone:
 *   HL_FUZZ_SEED=<seed> HL_FUZZ_FIRST=<iteration> HL_FUZZ_ITERS=1
 * HL_FUZZ_ITERS (default 3000) is the number of iterations, HL_FUZZ_VERBOSE=1
 * prints every call before it is made.
 *
 * Checks: every failure has a documented errno (the sets below); the
 * errno is one that a condition the request violates names (an oracle of
 * the kernel-doc, independent of the order of the checks); invalid
 * requests never succeed; every returned dma-buf fd is new, of the right
 * size, and closed, and no call leaves an fd it did not report; a
 * successful load reports what it loaded (loaded, buf_size, placed_node
 * on the node asked for, a digest of its algorithm's size, the expected
 * one if verified, -1 for the fds it does not return); the same load
 * computes the same digest; an asynchronous load returns a new O_CLOEXEC
 * load fd, and its results (HEAPLOAD_IOC_LOAD_RESULT: errnos documented,
 * no EAGAIN once poll() said it ended, the dma-buf fd installed once,
 * then EALREADY) are those the same load would have had; a struct without
 * load_fd (older than version 2) never starts one; the
 * kernel writes nothing past the bytes the ioctl number gives; no call
 * takes longer than HANG_MS (a watchdog thread reports the call and ends
 * the program); at the end allocated_bytes and buffers are back to their
 * starting values and /proc/self/fd has as many entries as at the start.
 * Lengths stay at most 4 MiB, but for the deliberately huge ones that must
 * fail, so memory stays bounded.
 *
 * Needs the files of $HL_DATA (default /data) for most successful loads.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include "hl_test.h"

#define FUZZ_SEED_DEFAULT	0x686561706c6f6164ULL	/* "heapload" */
#define FUZZ_ITERS_DEFAULT	3000ULL
/* One call may take this long (a 4 MiB load under emulation and KASAN). */
#define HANG_MS			30000
#define PROGRESS_EVERY		500

#define LOAD_CAP_SMALL		(256 * 1024ULL)
#define LOAD_CAP_LARGE		(4 * HL_MIB)
#define ALLOC_CAP_SMALL		HL_MIB
#define ALLOC_CAP_LARGE		(4 * HL_MIB)
/* Far beyond any guest's memory: an allocation this big must fail. */
#define HUGE_LEN		(1ULL << 40)

#define MAX_HEAPS		16
#define MAX_FIX			48
#define ARG_MAX_SIZE		16383	/* largest _IOC_SIZE */
#define CANARY_LEN		64
#define CANARY			0xa5
#define RW_PAGES		5	/* 20 KiB: ARG_MAX_SIZE and the canary */
#define RO_PAGES		4	/* 16 KiB: ARG_MAX_SIZE */
#define CLOSED_FD		900	/* far above every fd the program opens */
#define COMPANION_FD		600	/* a load kept running: not a stray */
#define SCAN_SLOTS		32
#define MAX_NOTES		3
#define SEG_PAGES		64	/* 256 KiB: 4096 segments of 32 bytes, twice */
#define SEG_BYTES		(SEG_PAGES * HL_PAGE)
#define MAX_TGT			(MAX_FIX + 16)
#define MAX_NODES		1024

#define VER0			HEAPLOAD_LOAD_SIZE_VER0
#define VER1			HEAPLOAD_LOAD_SIZE_VER1
#define VER2			HEAPLOAD_LOAD_SIZE_VER2
/* The struct this program and the kernel under test know. */
#define VERCUR			HEAPLOAD_LOAD_SIZE_VER3
#define RW			(_IOC_READ | _IOC_WRITE)
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define PICK(a)			((a)[rnd(ARRAY_SIZE(a))])

_Static_assert(sizeof(struct heapload_load) == VERCUR, "struct heapload_load is version 3");
_Static_assert(sizeof(struct heapload_segment) == HEAPLOAD_SEGMENT_SIZE_VER0,
	       "struct heapload_segment is version 0");
_Static_assert(sizeof(struct dma_heap_allocation_data) == 24, "dma-heap struct size");

/*
 * The errnos each ioctl may fail with, and why.
 *
 * HEAPLOAD_IOC_LOAD: the kernel-doc of HEAPLOAD_IOC_LOAD lists EFAULT,
 * EINVAL, E2BIG, ENODEV, EBADF, EISDIR, EOVERFLOW, ENODATA, ENOMEM, EINTR,
 * EMFILE (heapload_install_dmabuf(): get_unused_fd_flags()), EPERM and
 * EACCES (an LSM or fanotify denies the read, rw_verify_area()) and "EIO,
 * or any other error of the file's read_iter": the files loaded here are
 * on ext4 and tmpfs, whose reads fail with EIO. ENOTTY: heapload_ioctl()
 * for any number other than HEAPLOAD_IOC_LOAD's type, number and
 * direction. Version 2 adds EXDEV (target_fd not a heapload dma-buf),
 * ENOSPC (a segment past the end of the target), EBUSY (the target is
 * mapped by a device or being loaded), EOPNOTSUPP (NUMA placement on the
 * restricted heap, a digest the kernel was built without) and EBADMSG
 * (HEAPLOAD_LOAD_VERIFY with another digest); its EFAULT also covers the
 * segment array and its E2BIG a segment struct with unknown non-zero
 * bytes, or more than HEAPLOAD_MAX_SEGMENTS segments.
 */
static const int load_documented[] = {
	EFAULT, EINVAL, E2BIG, ENODEV, EBADF, EISDIR, EOVERFLOW, ENODATA,
	ENOMEM, EINTR, EMFILE, EIO, EPERM, EACCES, ENOTTY,
	EXDEV, ENOSPC, EBUSY, EOPNOTSUPP, EBADMSG,
};

/*
 * HEAPLOAD_IOC_LOAD_RESULT on a load fd: its kernel-doc lists EAGAIN (the
 * load still runs), EALREADY (the dma-buf fd was installed by an earlier
 * call), EINVAL (a struct older than version 2, size field not the ioctl's
 * size), ENOTTY (not a load fd: any other type, number or direction on
 * one), EFAULT, EMFILE, and any error of HEAPLOAD_IOC_LOAD (the load's
 * own, load_documented[]).
 */
static const int result_documented[] = {
	EAGAIN, EALREADY, EINVAL, ENOTTY, EFAULT, EMFILE,
};

/*
 * DMA_HEAP_IOCTL_ALLOC (module/heap_uapi.c, or the kernel's dma-heap core
 * when the heaps are registered through it): EFAULT (copy in or out),
 * EINVAL (fd, fd_flags, heap_flags, a length that pages round to 0; the
 * core's answer to numbers past its table), ENOMEM (max_alloc_mb, memory
 * available, the restricted pool: heapload_reserve(), alloc_chunk),
 * EINTR (fatal signal during the allocation: heapload_chunks_alloc()),
 * EMFILE (no fd), ENOTTY (heapload's own UAPI: another type or number).
 * The software restriction backend's restrict_buf cannot fail.
 */
static const int alloc_documented[] = {
	EFAULT, EINVAL, ENOMEM, EINTR, EMFILE, ENOTTY,
};

/*
 * Unknown ioctls: ENOTTY from /dev/heapload and heapload's own heap
 * nodes; the kernel's dma-heap core indexes its table by number alone and
 * answers EINVAL for numbers past it (see heap_contract.c).
 */

/* A set of errnos. */
struct eset {
	uint64_t w[4];
};

static void es_add(struct eset *s, int e)
{
	if (e > 0 && e < 256)
		s->w[e / 64] |= 1ULL << (e % 64);
}

static bool es_has(const struct eset *s, int e)
{
	return e > 0 && e < 256 && ((s->w[e / 64] >> (e % 64)) & 1);
}

static bool es_empty(const struct eset *s)
{
	return !(s->w[0] | s->w[1] | s->w[2] | s->w[3]);
}

static void es_str(const struct eset *s, char *buf, size_t len)
{
	size_t n = 0;
	int e;

	buf[0] = '\0';
	for (e = 1; e < 256 && n < len; e++)
		if (es_has(s, e))
			n += snprintf(buf + n, len - n, "%s%s", n ? "|" : "",
				      hl_errname(e));
	if (!n)
		snprintf(buf, len, "nothing");
}

static bool in_list(const int *list, size_t n, int e)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (list[i] == e)
			return true;
	return false;
}

/* ------------------------------------------------------------ random -- */

static uint64_t rng;

/* splitmix64 */
static uint64_t rnd64(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t rnd32(void)
{
	return (uint32_t)(rnd64() >> 32);
}

static uint64_t rnd(uint64_t n)
{
	return n ? rnd64() % n : 0;
}

static bool chance(unsigned int pct)
{
	return rnd(100) < pct;
}

/* The generator of iteration @it depends on nothing but @seed and @it. */
static void rng_iteration(uint64_t seed, uint64_t it)
{
	rng = seed ^ (it * 0xd1b54a32d192ed03ULL);
	rnd64();
}

/* ----------------------------------------------------- verdicts, notes -- */

enum {
	T_LOAD_DOC,
	T_LOAD_ORACLE,
	T_RESULT_DOC,
	T_RESULT_ORACLE,
	T_OLD_ASYNC,
	T_ALLOC_DOC,
	T_ALLOC_ORACLE,
	T_UNKNOWN,
	T_FDS,
	T_BOUNDS,
	T_STATS,
	T_FDLEAK,
	T_COUNT,
};

static const char *const test_names[T_COUNT] = {
	[T_LOAD_DOC]	 = "load_errnos_documented",
	[T_LOAD_ORACLE]	 = "load_outcome_matches_request",
	[T_RESULT_DOC]	 = "load_result_errnos_documented",
	[T_RESULT_ORACLE] = "load_result_outcome_matches_load",
	[T_OLD_ASYNC]	 = "async_load_needs_version_2_struct",
	[T_ALLOC_DOC]	 = "heap_alloc_errnos_documented",
	[T_ALLOC_ORACLE] = "heap_alloc_outcome_matches_request",
	[T_UNKNOWN]	 = "unknown_ioctls_rejected",
	[T_FDS]		 = "returned_fds_closed_no_stray_fds",
	[T_BOUNDS]	 = "no_write_past_ioctl_size",
	[T_STATS]	 = "stats_back_to_start",
	[T_FDLEAK]	 = "no_fd_leaked",
};

struct verdict {
	unsigned long long checked;
	unsigned long long bad;
	char note[MAX_NOTES][1700];
};

static struct verdict verdicts[T_COUNT];

static uint64_t seed;
static unsigned long long cur_it;
static char cur_desc[1500];

/* Count one check of test @t. */
static void checked(int t)
{
	verdicts[t].checked++;
}

/* Test @t failed for the current call: keep the first notes. */
static void __attribute__((format(printf, 2, 3)))
flag(int t, const char *fmt, ...)
{
	struct verdict *v = &verdicts[t];
	char why[256];
	va_list ap;

	if (v->bad++ >= MAX_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(v->note[v->bad - 1], sizeof(v->note[0]),
		 "%.255s; HL_FUZZ_SEED=0x%llx HL_FUZZ_FIRST=%llu HL_FUZZ_ITERS=1: %.1350s",
		 why, (unsigned long long)seed, cur_it, cur_desc);
}

/* ----------------------------------------------------------- watchdog -- */

static uint64_t wd_start_ms;	/* 0: no call running */

static void wd_write(const char *s)
{
	ssize_t r = write(STDOUT_FILENO, s, strlen(s));

	(void)r;
}

/* A call did not return: report it and every result still due, then go. */
static void *watchdog_main(void *arg)
{
	char buf[1800];
	uint64_t start;
	int t;

	(void)arg;
	for (;;) {
		hl_sleep_ms(250);
		start = __atomic_load_n(&wd_start_ms, __ATOMIC_ACQUIRE);
		if (!start || hl_now_ms() - start < HANG_MS)
			continue;
		snprintf(buf, sizeof(buf),
			 "# call did not return within %d s; HL_FUZZ_SEED=0x%llx HL_FUZZ_FIRST=%llu HL_FUZZ_ITERS=1: %s\n",
			 HANG_MS / 1000, (unsigned long long)seed, cur_it,
			 cur_desc);
		wd_write(buf);
		for (t = 0; t < T_COUNT; t++) {
			snprintf(buf, sizeof(buf), "not ok %u %s\n",
				 ktap_cnt.run + 1 + t, test_names[t]);
			wd_write(buf);
		}
		_exit(KTAP_FAIL);
	}
	return NULL;
}

static bool verbose;

static int fuzz_ioctl(int fd, unsigned long cmd, void *arg)
{
	int e;

	if (verbose)
		ktap_print_msg("it %llu: %s", cur_it, cur_desc);
	__atomic_store_n(&wd_start_ms, hl_now_ms(), __ATOMIC_RELEASE);
	e = ioctl(fd, cmd, arg) ? errno : 0;
	__atomic_store_n(&wd_start_ms, 0, __ATOMIC_RELEASE);
	return e;
}

/* ------------------------------------------------------------ fixture -- */

/* A value for file_fd, and what the kernel will find behind it. */
struct fixture {
	char name[40];
	int fd;
	bool owned;		/* close it at the end */
	bool fget_ok;		/* an open fd, not O_PATH */
	bool readable;
	bool isdir;
	bool isreg;
	bool odirect;		/* opened with O_DIRECT */
	bool can_direct;	/* its filesystem does direct I/O */
	bool sane;		/* readable non-empty regular file */
	uint64_t size;
	uint64_t dio_align;	/* direct I/O offset alignment */
};

static struct fixture fx[MAX_FIX];
static unsigned int nfx;
static unsigned int sane_fx[MAX_FIX], nsane;

struct heap_node {
	char name[64];
	int fd;
	bool ours;		/* a heapload heap: its sizes are checked */
	bool own_uapi;		/* heapload_heap_ioctl() answers, not the core */
};

static struct heap_node heaps[MAX_HEAPS];
static unsigned int nheaps;

/* A value for target_fd, and what the kernel will find behind it. */
enum { TK_OURS, TK_FOREIGN, TK_NOT_DMABUF, TK_BADFD };

struct target {
	char name[56];
	int fd;
	bool owned;		/* close it at the end */
	int kind;		/* TK_* */
	bool writable;		/* open for writing (FMODE_WRITE) */
	bool restricted;	/* of heapload,restricted */
	uint64_t size;
};

static struct target tg[MAX_TGT];
static unsigned int ntg;
static unsigned int good_tg[MAX_TGT], ngood;	/* ours and writable */

/* The nodes with memory, as /sys/devices/system/node/has_memory lists. */
static bool node_mem[MAX_NODES];
static int32_t mem_nodes[MAX_NODES];
static unsigned int nr_mem_nodes;

static unsigned int system_heap;	/* index of heapload,system */
static int loader_fd = -1;
static int dmabuf_fixture = -1;
static uint64_t limit_bytes;		/* max_alloc_mb */
static bool alias_system;		/* the loader knows "system" */
static bool have_heap[3];		/* system, restricted, alias */
static uint64_t stat_bytes0, stat_bufs0;
static long fds_at_start;

/* Memory the arguments live in. */
static unsigned char *rw_area;		/* RW_PAGES pages, then the guard */
static unsigned char *guard;		/* PROT_NONE */
static unsigned char *ro_area;		/* read-only while a call runs */
static unsigned char *prog_rw;		/* a writable progress word */
static unsigned char *prog_ro;		/* a read-only page */
static unsigned char *seg_area;		/* SEG_PAGES pages: segment arrays */
static unsigned char *seg_guard;	/* PROT_NONE, right after */

/* The fds open before the fuzzing, and the first free numbers after. */
static bool fd_known[1024];
static int fd_slot[SCAN_SLOTS];

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/*
 * Whether this open file (not another open of the same file: a memfd
 * never went through ->open, so it lacks FMODE_CAN_ODIRECT even where
 * reopening it with O_DIRECT works) can do direct I/O: the test
 * fcntl(F_SETFL, O_DIRECT) makes, as heapload does. The flag is put back.
 */
static bool probe_direct(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_DIRECT))
		return false;
	fcntl(fd, F_SETFL, fl);
	return true;
}

/*
 * The alignment of direct I/O offsets on @fd, as the header documents it:
 * statx()'s dio_offset_align, else the logical block size of the device
 * the file system is on, else the page size.
 */
static uint64_t file_dio_align(int fd)
{
	char path[96];
	struct statx sx;
	uint64_t v;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx))
		return HL_PAGE;
	if ((sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_offset_align)
		return sx.stx_dio_offset_align;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/queue/logical_block_size",
		 sx.stx_dev_major, sx.stx_dev_minor);
	if (!hl_read_u64(path, &v) && v)
		return v;
	/* A partition: its disk's queue. */
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/../queue/logical_block_size",
		 sx.stx_dev_major, sx.stx_dev_minor);
	if (!hl_read_u64(path, &v) && v)
		return v;
	return HL_PAGE;
}

static struct fixture *fx_add(const char *name, int fd, bool owned)
{
	struct fixture *f;
	struct stat st;
	int fl;

	if (nfx >= MAX_FIX) {
		if (owned && fd >= 0)
			close(fd);
		return NULL;
	}
	f = &fx[nfx++];
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->fd = fd;
	f->owned = owned && fd >= 0;
	fl = fd >= 0 ? fcntl(fd, F_GETFL) : -1;
	if (fl < 0 || (fl & O_PATH) || fstat(fd, &st))
		return f;
	f->fget_ok = true;
	f->readable = (fl & O_ACCMODE) != O_WRONLY;
	f->isdir = S_ISDIR(st.st_mode);
	f->isreg = S_ISREG(st.st_mode);
	f->odirect = fl & O_DIRECT;
	f->size = st.st_size;
	if (f->isreg) {
		f->can_direct = f->odirect || probe_direct(fd);
		f->dio_align = file_dio_align(fd);
	}
	f->sane = f->isreg && f->readable && f->size > 0;
	if (f->sane)
		sane_fx[nsane++] = nfx - 1;
	return f;
}

static void fx_write(int fd, uint64_t len)
{
	unsigned char buf[4096];
	uint64_t done = 0;
	ssize_t n;
	size_t i;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 7 + 1);
	while (done < len) {
		n = write(fd, buf, len - done < sizeof(buf) ? len - done : sizeof(buf));
		if (n <= 0)
			break;
		done += n;
	}
}

static const char *const data_names[] = {
	"empty", "one", "page_minus_one", "8m", "256m", "unaligned",
};

static void setup_data_fixtures(void)
{
	char path[512], name[40];
	size_t i;
	int fd;

	for (i = 0; i < ARRAY_SIZE(data_names); i++) {
		hl_data_path(path, sizeof(path), data_names[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			ktap_print_msg("file_fd kind %s: open %s: %s",
				       data_names[i], path, strerror(errno));
			continue;
		}
		fx_add(data_names[i], fd, true);
		fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
		snprintf(name, sizeof(name), "%s O_DIRECT", data_names[i]);
		if (fd < 0)
			ktap_print_msg("file_fd kind %s: %s", name, strerror(errno));
		else
			fx_add(name, fd, true);
	}
}

/* A file on tmpfs, plain and, if open allows it, O_DIRECT. */
static void setup_tmpfs_fixtures(void)
{
	static const char *const dirs[] = { "/dev/shm", "/tmp", "/run" };
	char path[64];
	struct statfs sf;
	size_t i;
	int fd, d;

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		if (statfs(dirs[i], &sf) || sf.f_type != TMPFS_MAGIC)
			continue;
		snprintf(path, sizeof(path), "%s/heapload-fuzz-XXXXXX", dirs[i]);
		fd = mkostemp(path, O_CLOEXEC);
		if (fd < 0)
			continue;
		fx_write(fd, 2 * HL_PAGE + 1);
		d = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
		unlink(path);
		fx_add("tmpfs file", fd, true);
		if (d >= 0)
			fx_add("tmpfs file O_DIRECT", d, true);
		else
			ktap_print_msg("file_fd kind tmpfs O_DIRECT: open refused: %s",
				       hl_errname(errno));
		return;
	}
	ktap_print_msg("file_fd kind tmpfs: no tmpfs mount found");
}

static void setup_other_fixtures(void)
{
	char path[512];
	int p[2], sv[2], fd, mfd;

	mfd = memfd_create("heapload-fuzz", MFD_CLOEXEC);
	if (mfd >= 0) {
		fx_write(mfd, 3 * HL_PAGE + 100);
		fx_add("memfd", mfd, true);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd >= 0)
			fx_add("memfd O_WRONLY", fd, true);
	}
	if (!pipe2(p, O_CLOEXEC)) {
		fx_add("pipe read end", p[0], true);
		fx_add("pipe write end", p[1], true);
	}
	if (!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		fx_add("AF_UNIX socket", sv[0], true);
		fx_add("AF_UNIX socket peer", sv[1], true);
	}
	fd = open(hl_data_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fx_add("directory", fd, true);
	fx_add("/dev/null", open("/dev/null", O_RDONLY | O_CLOEXEC), true);
	hl_data_path(path, sizeof(path), "8m");
	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		fd = open("/dev/null", O_PATH | O_CLOEXEC);
	fx_add("O_PATH fd", fd, true);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		int hi = fcntl(fd, F_DUPFD_CLOEXEC, CLOSED_FD);

		close(fd);
		if (hi >= 0) {
			close(hi);
			fx_add("closed fd", hi, false);
		}
	}
	fx_add("-1", -1, false);
	fx_add("fd 0", 0, false);	/* with segments, file_fd is 0 */
	fx_add("INT_MAX", INT_MAX, false);
	fx_add("INT_MIN", INT_MIN, false);
	if (dmabuf_fixture >= 0)
		fx_add("dma-buf of an earlier load", dmabuf_fixture, false);
	fx_add("/dev/heapload", loader_fd, false);
	if (nheaps)
		fx_add("dma-heap node", heaps[0].fd, false);
}

static int cmp_heaps(const void *a, const void *b)
{
	return strcmp(((const struct heap_node *)a)->name,
		      ((const struct heap_node *)b)->name);
}

static int setup_heaps(void)
{
	char reg[128] = "", path[320], yn[8] = "";
	struct dirent *de;
	DIR *d;
	bool own;
	unsigned int i;

	if (hl_read_word(HL_STATS_DIR "/registration", reg, sizeof(reg)))
		snprintf(reg, sizeof(reg), "own");
	own = strstr(reg, "own") != NULL;
	if (!hl_read_word(HL_MODULE_DIR "/parameters/system_alias", yn, sizeof(yn)))
		alias_system = yn[0] == 'Y' || yn[0] == 'y' || yn[0] == '1';
	d = opendir(HL_HEAP_DIR);
	if (!d)
		return ktap_fail("opendir %s: %s", HL_HEAP_DIR, strerror(errno));
	while ((de = readdir(d)) && nheaps < MAX_HEAPS) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(heaps[0].name))
			continue;
		snprintf(heaps[nheaps].name, sizeof(heaps[0].name), "%s", de->d_name);
		heaps[nheaps].fd = -1;
		nheaps++;
	}
	closedir(d);
	qsort(heaps, nheaps, sizeof(heaps[0]), cmp_heaps);
	for (i = 0; i < nheaps; i++) {
		struct heap_node *h = &heaps[i];

		h->ours = !strncmp(h->name, "heapload,", 9) ||
			  (!strcmp(h->name, "system") && alias_system);
		h->own_uapi = h->ours && own;
		snprintf(path, sizeof(path), "%s/%.63s", HL_HEAP_DIR, h->name);
		h->fd = open(path, O_RDWR | O_CLOEXEC);
		if (h->fd < 0)
			return ktap_fail("open %s: %s", path, strerror(errno));
		if (!strcmp(h->name, HL_HEAP_NAME)) {
			have_heap[0] = true;
			system_heap = i;
		}
		if (!strcmp(h->name, HL_RESTRICTED_NAME))
			have_heap[1] = true;
		ktap_print_msg("heap node %s: %s%s", h->name,
			       h->ours ? "heapload's" : "not heapload's",
			       h->ours ? (h->own_uapi ? ", own UAPI" : ", dma-heap core") : "");
	}
	have_heap[2] = alias_system;
	if (!have_heap[0])
		return ktap_fail("no %s", HL_HEAP_PATH);
	return KTAP_PASS;
}

static void *map_pages(size_t n, int prot)
{
	void *p = mmap(NULL, n * HL_PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static long count_fds(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	long n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* The dma-buf passed as file_fd: loaded from "one", else allocated. */
static void setup_dmabuf_fixture(void)
{
	struct heapload_load l;
	char path[512];
	int fd, e;

	hl_data_path(path, sizeof(path), "one");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		hl_load_init(&l, fd, HEAPLOAD_LOAD_BUFFERED, 0, 0);
		e = hl_ioctl(loader_fd, HEAPLOAD_IOC_LOAD, &l);
		close(fd);
		if (!e) {
			dmabuf_fixture = l.dmabuf_fd;
			return;
		}
		ktap_print_msg("load of %s for the dma-buf fd kind: %s", path,
			       hl_errname(e));
	}
	e = hl_heap_alloc(heaps[system_heap].fd, HL_PAGE, O_RDWR | O_CLOEXEC, 0,
			  &dmabuf_fixture);
	if (e)
		ktap_print_msg("dma-buf fd kind: alloc: %s", hl_errname(e));
}

/* The nodes with memory: "0", "0-1", "0,2-3"; node 0 without NUMA. */
static void setup_nodes(void)
{
	char buf[256] = "";
	char *p, *tok, *save = NULL;
	long a, b, i;

	if (hl_read_word("/sys/devices/system/node/has_memory", buf, sizeof(buf)))
		snprintf(buf, sizeof(buf), "0");
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		a = strtol(tok, &p, 10);
		b = *p == '-' ? strtol(p + 1, NULL, 10) : a;
		for (i = a; i <= b && i >= 0 && i < MAX_NODES; i++) {
			if (!node_mem[i])
				mem_nodes[nr_mem_nodes++] = (int32_t)i;
			node_mem[i] = true;
		}
	}
	if (!nr_mem_nodes) {
		node_mem[0] = true;
		mem_nodes[nr_mem_nodes++] = 0;
	}
	ktap_print_msg("NUMA nodes with memory: %s (%u)", buf, nr_mem_nodes);
}

static void tg_add(const char *name, int fd, bool owned, int kind,
		   bool restricted)
{
	struct target *t;
	off_t end;
	int fl;

	if (ntg >= MAX_TGT) {
		if (owned && fd >= 0)
			close(fd);
		return;
	}
	t = &tg[ntg++];
	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->fd = fd;
	t->owned = owned;
	t->kind = kind;
	t->restricted = restricted;
	if (kind == TK_OURS || kind == TK_FOREIGN) {
		fl = fcntl(fd, F_GETFL);
		t->writable = fl >= 0 && ((fl & O_ACCMODE) == O_WRONLY ||
					  (fl & O_ACCMODE) == O_RDWR);
		end = lseek(fd, 0, SEEK_END);
		t->size = end > 0 ? (uint64_t)end : 0;
	}
	if (kind == TK_OURS && t->writable && t->size)
		good_tg[ngood++] = ntg - 1;
}

/*
 * Values for target_fd: dma-bufs of every heap, in every access mode, and
 * every file_fd kind (no dma-buf, or no fd at all).
 */
static void setup_targets(void)
{
	static const struct {
		uint64_t len;
		uint32_t fl;
		const char *mode;
	} kinds[] = {
		{ 64 * 1024, O_RDWR | O_CLOEXEC, "O_RDWR" },
		{ HL_MIB, O_RDWR | O_CLOEXEC, "O_RDWR" },
		{ 64 * 1024, O_RDONLY | O_CLOEXEC, "O_RDONLY" },
		{ 64 * 1024, O_WRONLY | O_CLOEXEC, "O_WRONLY" },
		{ 64 * 1024, O_ACCMODE | O_CLOEXEC, "O_ACCMODE" },
	};
	char name[96];
	unsigned int i, k;
	int fd, e;

	for (i = 0; i < nheaps; i++) {
		const struct heap_node *h = &heaps[i];
		bool restricted = !strcmp(h->name, HL_RESTRICTED_NAME);

		for (k = 0; k < ARRAY_SIZE(kinds); k++) {
			if ((!h->ours || restricted) && k > 1)
				continue;
			if (!h->ours && k)
				continue;
			e = hl_heap_alloc(h->fd, kinds[k].len, kinds[k].fl, 0, &fd);
			if (e) {
				ktap_print_msg("target_fd kind %s: alloc: %s", h->name,
					       hl_errname(e));
				continue;
			}
			snprintf(name, sizeof(name), "%.30s dma-buf %llu KiB %s",
				 h->name, (unsigned long long)kinds[k].len >> 10,
				 kinds[k].mode);
			tg_add(name, fd, true, h->ours ? TK_OURS : TK_FOREIGN,
			       restricted);
		}
	}
	for (i = 0; i < nfx; i++) {
		snprintf(name, sizeof(name), "file_fd kind %.40s", fx[i].name);
		if (fx[i].fd >= 0 && fx[i].fd == dmabuf_fixture)
			tg_add(name, fx[i].fd, false, TK_OURS, false);
		else
			tg_add(name, fx[i].fd, false,
			       fx[i].fget_ok ? TK_NOT_DMABUF : TK_BADFD, false);
	}
	for (i = 0; i < ntg; i++)
		ktap_print_msg("target_fd kind %u: %s (fd %d, %s%s, %" PRIu64 " bytes)",
			       i, tg[i].name, tg[i].fd,
			       tg[i].kind == TK_OURS ? "heapload's dma-buf" :
			       tg[i].kind == TK_FOREIGN ? "another exporter's dma-buf" :
			       tg[i].kind == TK_NOT_DMABUF ? "not a dma-buf" : "no fd",
			       tg[i].writable ? ", writable" : "", tg[i].size);
}

static int t_setup(void)
{
	uint64_t mb;
	int e, r, fd, i, n;

	loader_fd = open(HL_LOADER_PATH, O_RDWR | O_CLOEXEC);
	if (loader_fd < 0) {
		e = errno;
		r = hl_precondition_module();
		if (r)
			return r;
		hl_precondition_skip("%s unusable", HL_LOADER_PATH);
		return ktap_fail("module loaded but open %s: %s",
				 HL_LOADER_PATH, strerror(e));
	}
	r = setup_heaps();
	if (r == KTAP_PASS && (e = hl_read_u64(HL_PARAM_MAX_MB, &mb)))
		r = ktap_fail("reading %s: %s", HL_PARAM_MAX_MB, hl_errname(e));
	if (r == KTAP_PASS && (e = hl_stats(&stat_bytes0, &stat_bufs0)))
		r = ktap_fail("reading %s: %s", HL_STATS_DIR, hl_errname(e));
	rw_area = map_pages(RW_PAGES + 1, PROT_READ | PROT_WRITE);
	ro_area = map_pages(RO_PAGES, PROT_READ | PROT_WRITE);
	prog_rw = map_pages(2, PROT_READ | PROT_WRITE);
	seg_area = map_pages(SEG_PAGES + 1, PROT_READ | PROT_WRITE);
	if (r == KTAP_PASS && (!rw_area || !ro_area || !prog_rw || !seg_area))
		r = ktap_fail("mmap: %s", strerror(errno));
	if (r) {
		hl_precondition_skip("fuzzer setup failed");
		return r;
	}
	guard = rw_area + RW_PAGES * HL_PAGE;
	prog_ro = prog_rw + HL_PAGE;
	seg_guard = seg_area + SEG_BYTES;
	if (mprotect(guard, HL_PAGE, PROT_NONE) ||
	    mprotect(seg_guard, HL_PAGE, PROT_NONE) ||
	    mprotect(prog_ro, HL_PAGE, PROT_READ)) {
		hl_precondition_skip("fuzzer setup failed");
		return ktap_fail("mprotect: %s", strerror(errno));
	}
	limit_bytes = mb << 20;

	setup_dmabuf_fixture();
	setup_data_fixtures();
	setup_tmpfs_fixtures();
	setup_other_fixtures();
	setup_targets();
	setup_nodes();

	/* Remember what is open; new fds take the lowest free numbers. */
	for (fd = 0; fd < (int)ARRAY_SIZE(fd_known); fd++)
		fd_known[fd] = fd_open(fd);
	for (fd = 0, n = 0; fd < (int)ARRAY_SIZE(fd_known) && n < SCAN_SLOTS; fd++)
		if (!fd_known[fd])
			fd_slot[n++] = fd;
	if (n < SCAN_SLOTS) {
		hl_precondition_skip("fuzzer setup failed");
		return ktap_fail("no free fd numbers below %zu", ARRAY_SIZE(fd_known));
	}
	for (i = 0; i < (int)nfx; i++)
		ktap_print_msg("file_fd kind %d: %s (fd %d%s%s%s, %" PRIu64 " bytes, direct I/O alignment %" PRIu64 ")",
			       i, fx[i].name, fx[i].fd,
			       fx[i].fget_ok ? "" : ", not an fd fget() finds",
			       fx[i].isreg ? ", regular" : "",
			       fx[i].can_direct ? ", direct I/O" : "",
			       fx[i].size, fx[i].dio_align);
	if (!nsane) {
		hl_precondition_skip("fuzzer setup failed");
		return ktap_fail("no readable non-empty regular file to load");
	}
	return KTAP_PASS;
}

static void teardown(void)
{
	unsigned int i;

	for (i = 0; i < nfx; i++)
		if (fx[i].owned)
			close(fx[i].fd);
	for (i = 0; i < ntg; i++)
		if (tg[i].owned)
			close(tg[i].fd);
	if (dmabuf_fixture >= 0)
		close(dmabuf_fixture);
	for (i = 0; i < nheaps; i++)
		if (heaps[i].fd >= 0)
			close(heaps[i].fd);
	if (loader_fd >= 0)
		close(loader_fd);
}

/* ---------------------------------------------------- argument memory -- */

enum loc { LOC_GOOD, LOC_RO, LOC_BAD, LOC_STRADDLE };

static const char *const loc_names[] = {
	[LOC_GOOD] = "good", [LOC_RO] = "read-only",
	[LOC_BAD] = "bad", [LOC_STRADDLE] = "straddling a PROT_NONE page",
};

/*
 * Never mapped (below mmap_min_addr), kernel (amd64's direct map and
 * text; kernel half of the address space on arm64 too), non-canonical
 * (on arm64 a tagged pointer, refused without PR_SET_TAGGED_ADDR_CTRL),
 * top page.
 */
static const uint64_t bad_addrs[] = {
	0, 8, 0x1000, 0xffff888000000000ULL, 0xffffffff81000000ULL,
	0x8000000000000000ULL, 0xfffffffffffff000ULL,
};

static unsigned char content[ARG_MAX_SIZE + 1];

struct placed {
	int loc;
	void *p;
	size_t size;
	size_t cross;		/* LOC_STRADDLE: bytes before the guard */
};

/*
 * Where the @size-byte argument goes: good memory if @sane. Straddling, it
 * ends half of @cross_of (the bytes the kernel reads first) into a
 * PROT_NONE page.
 */
static void pick_loc(struct placed *a, bool sane, size_t size, size_t cross_of)
{
	unsigned int r;

	memset(a, 0, sizeof(*a));
	a->loc = LOC_GOOD;
	a->size = size;
	if (!sane) {
		r = rnd(3);
		a->loc = r == 0 ? LOC_RO : r == 1 ? LOC_BAD : LOC_STRADDLE;
	}
	if (a->loc == LOC_BAD)
		a->p = (void *)(uintptr_t)PICK(bad_addrs);
	if (a->loc == LOC_STRADDLE)
		a->cross = cross_of / 2 ? cross_of / 2 : 1;
}

/* Put @a->size bytes of content[] where @a says. */
static void place(struct placed *a)
{
	switch (a->loc) {
	case LOC_GOOD:
		memcpy(rw_area, content, a->size);
		memset(rw_area + a->size, CANARY, CANARY_LEN);
		a->p = rw_area;
		break;
	case LOC_RO:
		memcpy(ro_area, content, a->size);
		mprotect(ro_area, RO_PAGES * HL_PAGE, PROT_READ);
		a->p = ro_area;
		break;
	case LOC_STRADDLE:
		a->p = guard - a->cross;
		memcpy(a->p, content, a->cross < a->size ? a->cross : a->size);
		break;
	default:
		break;
	}
}

/* After the call: make the read-only area writable again, check the canary. */
static void unplace(const struct placed *a)
{
	size_t i;

	if (a->loc == LOC_RO)
		mprotect(ro_area, RO_PAGES * HL_PAGE, PROT_READ | PROT_WRITE);
	if (a->loc != LOC_GOOD)
		return;
	checked(T_BOUNDS);
	for (i = 0; i < CANARY_LEN; i++) {
		if (rw_area[a->size + i] != CANARY) {
			flag(T_BOUNDS, "byte %zu past the %zu-byte argument changed to 0x%02x",
			     i, a->size, rw_area[a->size + i]);
			return;
		}
	}
}

static void loc_str(const struct placed *a, char *buf, size_t len)
{
	if (a->loc == LOC_BAD)
		snprintf(buf, len, "at bad address 0x%llx",
			 (unsigned long long)(uintptr_t)a->p);
	else if (a->loc == LOC_STRADDLE)
		snprintf(buf, len, "%zu bytes before a PROT_NONE page", a->cross);
	else
		snprintf(buf, len, "in %s memory", loc_names[a->loc]);
}

/* -------------------------------------------------------- fd checking -- */

/* The new fds since the fuzzing started: the lowest free numbers. */
static int scan_new_fds(int *out, int max)
{
	int i, n = 0, gap = 0;

	for (i = 0; i < SCAN_SLOTS && gap < 2; i++) {
		if (!fd_open(fd_slot[i])) {
			gap++;
			continue;
		}
		gap = 0;
		if (n < max)
			out[n++] = fd_slot[i];
	}
	return n;
}

static bool is_dmabuf(int fd, char *link, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, len - 1);
	link[n > 0 ? n : 0] = '\0';
	return strstr(link, "dmabuf") != NULL;
}

/* A dma-buf of @size bytes with close-on-exec as @cloexec says. */
static void check_dmabuf(int t, int fd, const char *what, uint64_t size,
			 bool cloexec)
{
	char link[128];
	off_t end;
	int fl;

	if (!is_dmabuf(fd, link, sizeof(link))) {
		flag(t, "%s fd %d is not a dma-buf but %s", what, fd, link);
		return;
	}
	end = lseek(fd, 0, SEEK_END);
	if (end < 0 || (uint64_t)end != size)
		flag(t, "%s fd %d is a %lld-byte dma-buf, expected %llu", what,
		     fd, (long long)end, (unsigned long long)size);
	fl = fcntl(fd, F_GETFD);
	if (fl < 0 || !!(fl & FD_CLOEXEC) != cloexec)
		flag(t, "%s fd %d: FD_CLOEXEC %s, fd_flags %s O_CLOEXEC", what,
		     fd, fl >= 0 && (fl & FD_CLOEXEC) ? "set" : "clear",
		     cloexec ? "with" : "without");
}

/*
 * After a call: @reported is the fd it returned (-1: none); up to
 * @unreported_max other new dma-buf fds are allowed (a success whose
 * struct is too short to carry the fd, the dma-heap core's EFAULT after
 * installing one). Checks them with check_dmabuf() for test @t, closes
 * every new fd.
 */
static void settle_fds(int t, int reported, int unreported_max,
		       uint64_t size, bool cloexec)
{
	int fds[SCAN_SLOTS], n, i, extra = 0;
	bool seen = false;
	char link[128];

	n = scan_new_fds(fds, SCAN_SLOTS);
	checked(T_FDS);
	for (i = 0; i < n; i++) {
		if (fds[i] == reported) {
			seen = true;
			check_dmabuf(t, fds[i], "returned", size, cloexec);
		} else if (++extra > unreported_max) {
			is_dmabuf(fds[i], link, sizeof(link));
			flag(T_FDS, "fd %d (%s) appeared that the call did not return",
			     fds[i], link);
		} else {
			check_dmabuf(t, fds[i], "unreported", size, cloexec);
		}
		close(fds[i]);
	}
	if (reported >= 0 && !seen)
		flag(T_FDS, "returned fd %d is not a new fd", reported);
}

/* -------------------------------------------------------------- counts -- */

enum { A_LOAD, A_RESULT, A_ALLOC, A_UNKNOWN, A_COUNT };

static const char *const area_names[A_COUNT] = {
	"HEAPLOAD_IOC_LOAD", "HEAPLOAD_IOC_LOAD_RESULT", "DMA_HEAP_IOCTL_ALLOC",
	"unknown ioctls",
};

static bool vfs_type(unsigned int type);

static unsigned long long counts[A_COUNT][256];

static void count(int area, int e)
{
	counts[area][e >= 0 && e < 256 ? e : 255]++;
}

static void print_counts(void)
{
	unsigned long long total;
	char line[900];
	size_t n;
	int a, e;

	for (a = 0; a < A_COUNT; a++) {
		total = 0;
		for (e = 0; e < 256; e++)
			total += counts[a][e];
		n = snprintf(line, sizeof(line), "%s: %llu calls:",
			     area_names[a], total);
		for (e = 0; e < 256 && n < sizeof(line); e++)
			if (counts[a][e])
				n += snprintf(line + n, sizeof(line) - n, " %s %llu",
					      hl_errname(e), counts[a][e]);
		ktap_print_msg("%s", line);
	}
}

/* ---------------------------------------------------------------- load -- */

enum lfield {
	LF_CMD, LF_SIZE, LF_FLAGS, LF_FD, LF_FDFLAGS, LF_RANGE, LF_HEAP,
	LF_PADRES, LF_PROGRESS, LF_TAIL, LF_LOC, LF_OUT,
	LF_SEGS, LF_TARGET, LF_NUMA, LF_DIGEST, LF_ASYNC, LF_COUNT,
};

/* How often a field is drawn from its sane values in a random request. */
static const unsigned int lf_sane_pct[LF_COUNT] = {
	[LF_CMD] = 75, [LF_SIZE] = 88, [LF_FLAGS] = 80, [LF_FD] = 55,
	[LF_FDFLAGS] = 85, [LF_RANGE] = 50, [LF_HEAP] = 80, [LF_PADRES] = 90,
	[LF_PROGRESS] = 75, [LF_TAIL] = 80, [LF_LOC] = 88, [LF_OUT] = 70,
	[LF_SEGS] = 75, [LF_TARGET] = 80, [LF_NUMA] = 85, [LF_DIGEST] = 80,
	[LF_ASYNC] = 90,
};

enum prog { PROG_NONE, PROG_OK, PROG_FAULT };

static const uint32_t sane_fd_flags[] = {
	O_RDWR | O_CLOEXEC, O_RDONLY | O_CLOEXEC, O_RDWR, O_RDONLY,
	O_WRONLY | O_CLOEXEC, O_ACCMODE | O_CLOEXEC,
};

static uint32_t insane_fd_flags(void)
{
	static const uint32_t v[] = {
		O_RDWR | O_NONBLOCK, O_APPEND, O_DIRECT | O_RDWR, 1U << 31,
		O_CLOEXEC | O_TRUNC, O_RDWR | O_CREAT, ~0U,
	};

	return chance(20) ? rnd32() | O_NONBLOCK : PICK(v);
}

/* A generated segment: what the array holds, and what its fd is. */
struct seg_gen {
	const struct fixture *f;
	struct heapload_segment s;
	bool tail_nonzero;	/* a non-zero byte past the first 32 */
};

static struct seg_gen segs[HEAPLOAD_MAX_SEGMENTS];

struct load_call {
	unsigned int dir, nr, usize;
	struct heapload_load l;		/* what the kernel gets (zero-extended) */
	bool tail_nonzero;
	unsigned int tail_pos;
	int prog;
	struct placed arg;
	uint64_t cap;
	unsigned int nseg;		/* entries of segs[] written */
	unsigned char *seg_base;	/* the array in seg_area, or NULL */
	bool segs_ro;			/* seg_area read-only during the call */
	bool busy;			/* another load fills the target */
	bool digest_right;		/* expected_digest is the loaded bytes' */
};

/* What a request may end with. */
struct expect {
	struct eset allow;	/* errnos of the call */
	bool may;		/* the call may succeed */
	struct eset run;	/* results of an asynchronous load it starts */
	bool run_may;		/* ... which may succeed */
	uint64_t want;		/* bytes loaded */
	uint64_t buf_len;	/* size of the buffer */
};

static uint64_t page_down(uint64_t n)
{
	return n & ~(HL_PAGE - 1);
}

static uint64_t align_up(uint64_t n, uint64_t a)
{
	return a > 1 ? (n + a - 1) / a * a : n;
}

/* A valid range of @s bytes (s > 0) for a load. */
static void sane_range(uint64_t s, uint64_t cap, uint64_t *off, uint64_t *len)
{
	*off = chance(50) ? 0 : page_down(rnd(s));
	if (chance(20))		/* block aligned: 512 suits most disks */
		*off = rnd(s) & ~511ULL;
	if (chance(10) && s > 1)
		*off = rnd(s);
	*len = chance(40) ? 0 : 1 + rnd(s - *off < cap ? s - *off : cap);
}

/* Offsets and lengths at and around the interesting boundaries. */
static void insane_range(uint64_t s, uint64_t *off, uint64_t *len)
{
	uint64_t o[] = {
		0, 1, 100, 511, 512, 1536, 4095, 4096, 4097, 12345, s, s - 1,
		s + 1, HL_PAGE - 1, HL_PAGE, HL_PAGE + 1, HL_PAGE + 512,
		s + HL_PAGE, page_down(s), page_down(s) - HL_PAGE, rnd(s + 1),
		page_down(rnd(s + 1)), 1ULL << 62, (1ULL << 63) - 1, 1ULL << 63,
		(1ULL << 63) + HL_PAGE, ~0ULL, ~0ULL - (HL_PAGE - 1), rnd64(),
	};
	uint64_t l[13];

	*off = chance(25) ? 0 : PICK(o);
	l[0] = 0;
	l[1] = 1;
	l[2] = HL_PAGE - 1;
	l[3] = HL_PAGE;
	l[4] = HL_PAGE + 1;
	l[5] = s - *off;		/* exactly to EOF */
	l[6] = s - *off + 1;		/* one byte past */
	l[7] = s - *off - 1;
	l[8] = (1ULL << 63) - *off;	/* end exactly 2^63 */
	l[9] = 1ULL << 63;
	l[10] = ~0ULL;
	l[11] = ~0ULL - *off + 1;	/* wraps to 0 */
	l[12] = hl_page_up(*off + 1) - *off;	/* to the next page boundary */
	*len = chance(20) ? 0 : PICK(l);
}

/*
 * Keep loads that may succeed at most @cap bytes (plus a page), without
 * changing the offset's alignment.
 */
static void clamp_range(uint64_t s, uint64_t cap, uint64_t *off, uint64_t *len)
{
	uint64_t end;

	if (*off > s)
		return;
	if (!*len) {
		if (s - *off > cap)
			*off = page_down(s - cap) + (*off & (HL_PAGE - 1));
	} else if (!__builtin_add_overflow(*off, *len, &end) && end <= s &&
		   *len > cap) {
		*len = cap > HL_PAGE ? page_down(cap) - HL_PAGE + (*len & (HL_PAGE - 1)) :
		       1 + rnd(cap);
	}
}

static void gen_heap_name(char heap[HEAPLOAD_HEAP_NAME_MAX], bool sane)
{
	static const char *const bad[] = {
		"", "heapload,nosuch", "heapload,system ", "HEAPLOAD,SYSTEM",
		"heapload", "heapload,", "heapload,restricted2", "system\n",
		"heapload,system/../system", "dma_heap/heapload,system",
	};
	unsigned int i, r;

	memset(heap, 0, HEAPLOAD_HEAP_NAME_MAX);
	if (sane) {
		r = rnd(100);
		snprintf(heap, HEAPLOAD_HEAP_NAME_MAX, "%s",
			 r < 55 ? HL_HEAP_NAME : r < 92 ? HL_RESTRICTED_NAME : "system");
		if (chance(10))	/* bytes after the NUL do not matter */
			memcpy(heap + strlen(heap) + 1, "junk", 4);
		return;
	}
	switch (rnd(4)) {
	case 0:		/* unterminated */
		memset(heap, 'a', HEAPLOAD_HEAP_NAME_MAX);
		break;
	case 1:		/* a valid name, then no NUL to the end */
		memset(heap, 'x', HEAPLOAD_HEAP_NAME_MAX);
		memcpy(heap, HL_HEAP_NAME, strlen(HL_HEAP_NAME));
		break;
	case 2:		/* random bytes, sometimes with a NUL */
		for (i = 0; i < HEAPLOAD_HEAP_NAME_MAX; i++)
			heap[i] = (char)(1 + rnd(255));
		if (chance(50))
			heap[rnd(HEAPLOAD_HEAP_NAME_MAX)] = '\0';
		break;
	default:
		snprintf(heap, HEAPLOAD_HEAP_NAME_MAX, "%s", PICK(bad));
		break;
	}
}

/* Progress word: the class and the address. */
static uint64_t gen_progress(bool sane, int *cls)
{
	uint64_t rw = (uintptr_t)prog_rw + 64;

	if (sane) {
		*cls = chance(50) ? PROG_NONE : PROG_OK;
		return *cls == PROG_OK ? rw : 0;
	}
	*cls = PROG_FAULT;
	switch (rnd(8)) {
	case 0:
		return (uintptr_t)prog_ro + 64;		/* read-only */
	case 1:
		return (uintptr_t)guard + 8;		/* PROT_NONE */
	case 2:
		return 0x1000;				/* never mapped */
	case 3:
		return 0xffff888000000000ULL;		/* kernel */
	case 4:
		return 0x8000000000000000ULL;		/* non-canonical */
	case 5:
		*cls = PROG_OK;				/* misaligned */
		return rw + 1 + rnd(7);
	case 6:
		*cls = PROG_OK;
		return ~0ULL;				/* misaligned, top */
	default:
		*cls = PROG_OK;
		return rw + 4;				/* 4-byte aligned only */
	}
}

static bool known_heap(const char *name)
{
	return (have_heap[0] && !strcmp(name, HL_HEAP_NAME)) ||
	       (have_heap[1] && !strcmp(name, HL_RESTRICTED_NAME)) ||
	       (have_heap[2] && !strcmp(name, "system"));
}

/* Whether a segment of @f is read with direct I/O, as the kernel decides. */
static bool seg_direct(const struct fixture *f, uint32_t flags, bool restricted)
{
	if ((flags & HEAPLOAD_LOAD_DIRECT) || restricted)
		return true;
	if (flags & HEAPLOAD_LOAD_BUFFERED)
		return false;
	return f->odirect;
}

/* What the kernel resolves a checked segment to. */
struct seg_info {
	uint64_t buf_off, len, read_len;
};

/*
 * The kernel-doc's rules for one file range (the single one, or a
 * segment's): the errnos it breaks go into @allow; false if any.
 */
static bool seg_expect(struct eset *allow, const struct fixture *f,
		       uint32_t flags, bool restricted, uint64_t off,
		       uint64_t length, uint64_t buf_off, struct seg_info *si)
{
	struct eset before = *allow;
	bool direct, ovf;
	uint64_t a = 0, end = 0, len;

	memset(si, 0, sizeof(*si));
	si->buf_off = buf_off;
	if (!f->fget_ok || !f->readable) {
		es_add(allow, EBADF);
		return false;
	}
	if (f->isdir) {
		es_add(allow, EISDIR);
		return false;
	}
	if (!f->isreg) {
		es_add(allow, EINVAL);
		return false;
	}
	if (restricted && (flags & HEAPLOAD_LOAD_BUFFERED))
		es_add(allow, EINVAL);
	direct = seg_direct(f, flags, restricted);
	if (direct) {
		a = f->dio_align;
		if (!f->can_direct || off % a || buf_off % a)
			es_add(allow, EINVAL);
	}
	/* File offsets are loff_t: an end past LLONG_MAX overflows. */
	ovf = __builtin_add_overflow(off, length, &end) || end > (uint64_t)LLONG_MAX;
	if (ovf)
		es_add(allow, EOVERFLOW);
	if (off > f->size || (!ovf && end > f->size)) {
		es_add(allow, EINVAL);
	} else if (!ovf) {
		len = length ? length : f->size - off;
		if (!len) {
			es_add(allow, ENODATA);
		} else {
			si->len = len;
			si->read_len = a ? align_up(len, a) : len;
			if (__builtin_add_overflow(buf_off, si->read_len, &end) ||
			    end > (uint64_t)LLONG_MAX)
				es_add(allow, EOVERFLOW);
		}
	}
	return !memcmp(&before, allow, sizeof(before));
}

static const struct fixture *fx_by_fd(int fd)
{
	unsigned int i;

	for (i = 0; i < nfx; i++)
		if (fx[i].fd == fd)
			return &fx[i];
	return NULL;
}

static const struct target *tg_by_fd(int fd)
{
	unsigned int i;

	for (i = 0; i < ntg; i++)
		if (tg[i].fd == fd)
			return &tg[i];
	return NULL;
}

static bool node_ok(int32_t n)
{
	return n >= 0 && n < MAX_NODES && node_mem[n];
}

/* The bytes of a HEAPLOAD_DIGEST_* value's digest; 0 for unknown ones. */
static unsigned int digest_size(uint32_t alg)
{
	return alg == HEAPLOAD_DIGEST_SHA256 ? 32 : alg == HEAPLOAD_DIGEST_XXH64 ? 8 : 0;
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--)
		if (*b++)
			return false;
	return true;
}

static int cmp_seg_info(const void *a, const void *b)
{
	const struct seg_info *x = a, *y = b;

	return x->buf_off < y->buf_off ? -1 : x->buf_off > y->buf_off;
}

static struct seg_info seg_infos[HEAPLOAD_MAX_SEGMENTS];

/*
 * What the kernel-doc of HEAPLOAD_IOC_LOAD lets @c end with. A request
 * that breaks several rules may fail with the errno of any of them: the
 * oracle does not depend on the order of the checks.
 */
static void load_expect(const struct load_call *c, struct expect *x)
{
	const struct heapload_load *l = &c->l;
	const uint32_t v2_flags = HEAPLOAD_LOAD_INTO | HEAPLOAD_LOAD_NUMA_NODE |
				  HEAPLOAD_LOAD_VERIFY | HEAPLOAD_LOAD_ASYNC;
	bool into = l->flags & HEAPLOAD_LOAD_INTO, numa = l->flags & HEAPLOAD_LOAD_NUMA_NODE;
	bool verify = l->flags & HEAPLOAD_LOAD_VERIFY, async = l->flags & HEAPLOAD_LOAD_ASYNC;
	bool restricted = false, segs_ok = true, terminated;
	struct eset *allow = &x->allow, maybe;
	const struct target *t = NULL;
	const struct fixture *f;
	uint64_t end = 0, e, pos;
	unsigned int i, n = 0, dsz;

	memset(x, 0, sizeof(*x));
	memset(&maybe, 0, sizeof(maybe));
	if (c->dir != RW || c->nr != 0) {
		es_add(allow, ENOTTY);
		return;
	}
	if (c->usize < VER0) {
		es_add(allow, EINVAL);
		if (c->arg.loc == LOC_BAD || c->arg.loc == LOC_STRADDLE)
			es_add(allow, EFAULT);
		return;
	}
	if (c->arg.loc == LOC_BAD || c->arg.loc == LOC_STRADDLE) {
		es_add(allow, EFAULT);
		/* check_zeroed_user() may meet a non-zero byte first. */
		if (c->arg.loc == LOC_STRADDLE && c->usize > VERCUR &&
		    c->tail_nonzero)
			es_add(allow, E2BIG);
		return;
	}
	if (c->usize > VERCUR && c->tail_nonzero)
		es_add(allow, E2BIG);

	/* The fields of struct heapload_load. */
	if (l->size != c->usize)
		es_add(allow, EINVAL);
	if ((l->flags & ~HEAPLOAD_LOAD_VALID_FLAGS) ||
	    ((l->flags & HEAPLOAD_LOAD_DIRECT) && (l->flags & HEAPLOAD_LOAD_BUFFERED)))
		es_add(allow, EINVAL);
	if (l->fd_flags & ~(uint32_t)(O_CLOEXEC | O_ACCMODE))
		es_add(allow, EINVAL);
	if (l->__pad || l->reserved[0])
		es_add(allow, EINVAL);
	if (l->progress_addr % 8)
		es_add(allow, EINVAL);
	terminated = memchr(l->heap, '\0', sizeof(l->heap)) != NULL;
	if (!terminated)
		es_add(allow, EINVAL);
	if (l->nr_segments) {
		if (l->file_fd || l->offset || l->length ||
		    l->segment_size < HEAPLOAD_SEGMENT_SIZE_VER0)
			es_add(allow, EINVAL);
		if (l->nr_segments > HEAPLOAD_MAX_SEGMENTS)
			es_add(allow, E2BIG);
	} else if (l->segments || l->segment_size) {
		es_add(allow, EINVAL);
	}
	if (into ? l->heap[0] || l->fd_flags || numa : l->target_fd != 0)
		es_add(allow, EINVAL);
	if ((!numa && l->numa_node) || (numa && !node_ok(l->numa_node)))
		es_add(allow, EINVAL);
	dsz = digest_size(l->digest_alg);
	if (l->digest_alg > HEAPLOAD_DIGEST_XXH64)
		es_add(allow, EINVAL);
	else if (l->digest_alg)
		es_add(&maybe, EOPNOTSUPP);	/* a kernel built without it */
	if (verify && !l->digest_alg)
		es_add(allow, EINVAL);
	if (!verify && !all_zero(l->expected_digest, sizeof(l->expected_digest)))
		es_add(allow, EINVAL);
	if (!all_zero(l->expected_digest + dsz, sizeof(l->expected_digest) - dsz))
		es_add(allow, EINVAL);
	if (async && l->progress_addr)
		es_add(allow, EINVAL);
	/*
	 * A struct older than version 2 does not know the flags of version
	 * 2: refusing them is allowed. Without load_fd, HEAPLOAD_LOAD_ASYNC
	 * must be refused (the caller could only learn its load fd by
	 * scanning its fd table): do_load() checks that as a test of its own.
	 */
	if ((l->flags & v2_flags) && c->usize < VER2)
		es_add(&maybe, EINVAL);

	/* The target, or the heap. */
	if (into) {
		t = tg_by_fd(l->target_fd);
		if (!t || t->kind == TK_BADFD) {
			es_add(allow, EBADF);
		} else if (t->kind != TK_OURS) {
			es_add(allow, EXDEV);
		} else {
			if (!t->writable)
				es_add(allow, EBADF);
			if (c->busy)
				es_add(&maybe, EBUSY);
			restricted = t->restricted;
		}
	} else if (terminated) {
		if (!known_heap(l->heap))
			es_add(allow, ENODEV);
		else
			restricted = !strcmp(l->heap, HL_RESTRICTED_NAME);
	}
	if (numa && restricted)
		es_add(allow, EOPNOTSUPP);

	/* The segments: read from the array, then checked. */
	if (!l->nr_segments) {
		f = fx_by_fd(l->file_fd);
		n = 1;
		if (!f) {
			es_add(allow, EBADF);
			segs_ok = false;
		} else {
			segs_ok = seg_expect(allow, f, l->flags, restricted,
					     l->offset, l->length, 0, &seg_infos[0]);
		}
	} else if (l->nr_segments <= HEAPLOAD_MAX_SEGMENTS &&
		   l->segment_size >= HEAPLOAD_SEGMENT_SIZE_VER0) {
		const unsigned char *base = c->seg_base &&
			l->segments == (uintptr_t)c->seg_base ? c->seg_base : NULL;

		n = l->nr_segments;
		for (i = 0; i < n && segs_ok; i++) {
			pos = base ? (uint64_t)(base - seg_area) +
				(uint64_t)(i + 1) * l->segment_size : ~0ULL;
			if (!base || i >= c->nseg || pos > SEG_BYTES) {
				es_add(allow, EFAULT);
				for (; i < c->nseg; i++)
					if (segs[i].tail_nonzero)
						es_add(allow, E2BIG);
				segs_ok = false;
				break;
			}
			if (segs[i].tail_nonzero) {
				es_add(allow, E2BIG);
				segs_ok = false;
			}
			if (segs[i].s.flags) {
				es_add(allow, EINVAL);
				segs_ok = false;
			}
			if (!segs[i].f->fget_ok) {
				es_add(allow, EBADF);
				segs_ok = false;
			}
		}
		for (i = 0; i < n && segs_ok; i++)
			if (!seg_expect(allow, segs[i].f, l->flags, restricted,
					segs[i].s.file_offset, segs[i].s.length,
					segs[i].s.buf_offset, &seg_infos[i]))
				segs_ok = false;
	} else {
		segs_ok = false;
	}
	if (segs_ok) {
		for (i = 0; i < n; i++) {
			x->want += seg_infos[i].len;
			e = seg_infos[i].buf_off + seg_infos[i].len;
			end = e > end ? e : end;
		}
		x->buf_len = t && into ? t->size : hl_page_up(end);
		qsort(seg_infos, n, sizeof(seg_infos[0]), cmp_seg_info);
		for (i = 0; i < n; i++) {
			if (i && seg_infos[i].buf_off <
				 seg_infos[i - 1].buf_off + seg_infos[i - 1].read_len)
				es_add(allow, EINVAL);
			if (seg_infos[i].buf_off + seg_infos[i].read_len > x->buf_len)
				es_add(allow, into ? ENOSPC : EINVAL);
		}
	}

	/* Always possible: a failed allocation of the kernel's. */
	es_add(&maybe, ENOMEM);
	if (!es_empty(allow)) {
		/* Version 2 callers get the struct back on an error. */
		if (c->arg.loc == LOC_RO && c->usize >= VER2)
			es_add(&maybe, EFAULT);
		for (i = 0; i < 4; i++)
			allow->w[i] |= maybe.w[i];
		return;
	}

	/* Valid: it loads, unless memory runs out or a copy out faults. */
	x->run = maybe;
	x->run_may = true;
	if (!into && x->buf_len > limit_bytes)
		x->run_may = false;		/* must fail with ENOMEM */
	if (verify) {
		es_add(&x->run, EBADMSG);
		if (!c->digest_right)
			x->run_may = false;	/* must fail with EBADMSG */
	}
	if (async) {
		x->allow = maybe;
		x->may = c->arg.loc == LOC_GOOD;
		if (!x->may)
			es_add(allow, EFAULT);
		return;
	}
	x->allow = x->run;
	x->may = x->run_may;
	if (c->arg.loc == LOC_RO || c->prog == PROG_FAULT) {
		es_add(allow, EFAULT);
		x->may = false;
	}
}

static void heap_str(const char heap[HEAPLOAD_HEAP_NAME_MAX], char *buf,
		     size_t len)
{
	const char *nul = memchr(heap, '\0', HEAPLOAD_HEAP_NAME_MAX);
	size_t i, n = 0, end = nul ? (size_t)(nul - heap) : 24;

	n += snprintf(buf + n, len - n, "\"");
	for (i = 0; i < end && n + 5 < len; i++) {
		unsigned char ch = heap[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
			buf[n++] = ch;
		else
			n += snprintf(buf + n, len - n, "\\x%02x", ch);
	}
	buf[n] = '\0';
	snprintf(buf + n, len - n, "\"%s", nul ? "" : "... (no NUL in 64 bytes)");
}

static void hex_str(const unsigned char *p, size_t n, char *buf, size_t len)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < n && o + 3 < len; i++)
		o += snprintf(buf + o, len - o, "%02x", p[i]);
}

static void load_desc(const struct load_call *c, unsigned long cmd)
{
	const struct heapload_load *l = &c->l;
	const struct fixture *f = fx_by_fd(l->file_fd);
	const struct target *t = tg_by_fd(l->target_fd);
	char heap[300], loc[64], exp[70], sg[420];
	size_t n = 0;
	unsigned int i;

	heap_str(l->heap, heap, sizeof(heap));
	loc_str(&c->arg, loc, sizeof(loc));
	n = snprintf(cur_desc, sizeof(cur_desc),
		     "/dev/heapload ioctl 0x%08lx (dir %u nr %u size %u), arg %s: size %u flags 0x%x file_fd %d [%s] fd_flags 0x%x offset %llu length %llu heap %s __pad %u reserved 0x%llx progress_addr 0x%llx%s",
		     cmd, c->dir, c->nr, c->usize, loc, l->size, l->flags,
		     l->file_fd, f ? f->name : "?", l->fd_flags,
		     (unsigned long long)l->offset,
		     (unsigned long long)l->length, heap, l->__pad,
		     (unsigned long long)l->reserved[0],
		     (unsigned long long)l->progress_addr,
		     c->tail_nonzero ? " non-zero byte past 272" : "");
	if (c->usize <= VER1 || n >= sizeof(cur_desc))
		return;
	sg[0] = '\0';
	if (l->nr_segments && c->nseg) {
		size_t m = 0;

		for (i = 0; i < c->nseg && i < 3 && m < sizeof(sg); i++)
			m += snprintf(sg + m, sizeof(sg) - m,
				      " [%u: fd %d (%s) flags 0x%x file_offset %llu length %llu buf_offset %llu%s]",
				      i, segs[i].s.file_fd, segs[i].f->name,
				      segs[i].s.flags,
				      (unsigned long long)segs[i].s.file_offset,
				      (unsigned long long)segs[i].s.length,
				      (unsigned long long)segs[i].s.buf_offset,
				      segs[i].tail_nonzero ? ", non-zero tail" : "");
		if (c->nseg > 3 && m < sizeof(sg))
			snprintf(sg + m, sizeof(sg) - m, " (%u written)", c->nseg);
	}
	hex_str(l->expected_digest, digest_size(l->digest_alg) ?
		digest_size(l->digest_alg) : 8, exp, sizeof(exp));
	snprintf(cur_desc + n, sizeof(cur_desc) - n,
		 "; segments 0x%llx%s nr_segments %u segment_size %u%s target_fd %d [%s%s] numa_node %d digest_alg %u expected_digest %s...",
		 (unsigned long long)l->segments,
		 c->seg_base ? (c->segs_ro ? " (read-only)" : "") : "",
		 l->nr_segments, l->segment_size, sg, l->target_fd,
		 t ? t->name : "?", c->busy ? ", busy" : "", l->numa_node,
		 l->digest_alg, exp);
}

/* ----------------------------------------------------------- segments -- */

/* Write the array: at the start of seg_area, or ending at its guard. */
static void write_segments(struct load_call *c, bool flush)
{
	uint64_t ss = c->l.segment_size, bytes = ss * c->nseg;
	unsigned int i;
	unsigned char *p;

	memset(seg_area, 0, SEG_BYTES);
	c->seg_base = seg_area;
	if (flush && ss && bytes <= SEG_BYTES)
		c->seg_base = seg_area + SEG_BYTES - bytes;
	if (ss < HEAPLOAD_SEGMENT_SIZE_VER0)
		return;
	for (i = 0; i < c->nseg; i++) {
		if ((uint64_t)(c->seg_base - seg_area) + (i + 1) * ss > SEG_BYTES)
			break;
		p = c->seg_base + i * ss;
		memcpy(p, &segs[i].s, sizeof(segs[i].s));
		if (segs[i].tail_nonzero)
			p[sizeof(segs[i].s) + rnd(ss - sizeof(segs[i].s))] = 1 + rnd(255);
	}
}

/*
 * Segments that can load: files that can be read at offsets their I/O
 * allows, not overlapping, within @space bytes of buffer.
 */
static void gen_sane_segments(struct load_call *c, unsigned int n,
			      bool restricted, uint64_t space, bool many)
{
	uint64_t cursor = 0, per = space / n / (many ? 1 : 2), off, len, a, rl;
	const struct fixture *f;
	unsigned int i, j, k;
	struct seg_gen tmp;

	if (!per)
		per = 1;
	for (i = 0; i < n; i++) {
		f = &fx[sane_fx[rnd(nsane)]];
		for (k = 0; many && k < 8 && seg_direct(f, c->l.flags, restricted); k++)
			f = &fx[sane_fx[rnd(nsane)]];
		a = seg_direct(f, c->l.flags, restricted) ? f->dio_align : 1;
		sane_range(f->size, per, &off, &len);
		off = off / a * a;
		clamp_range(f->size, per, &off, &len);
		if (off >= f->size)
			off = 0;
		if (many) {	/* a few bytes each */
			len = 1 + rnd(per < f->size ? per : f->size);
			off = rnd(f->size - len + 1) / a * a;
		}
		rl = len ? len : f->size - off;
		if (many && i && cursor + align_up(rl, a) > space)
			break;
		if (!many && chance(50))
			cursor += rnd(2 * HL_PAGE);
		cursor = align_up(cursor, a);
		memset(&segs[i], 0, sizeof(segs[i]));
		segs[i].f = f;
		segs[i].s.file_fd = f->fd;
		segs[i].s.file_offset = off;
		segs[i].s.length = len;
		segs[i].s.buf_offset = cursor;
		cursor += align_up(rl, a);
	}
	n = i;
	if (chance(30)) {	/* any order */
		for (i = n - 1; i > 0; i--) {
			j = rnd(i + 1);
			tmp = segs[i];
			segs[i] = segs[j];
			segs[j] = tmp;
		}
	}
	c->nseg = n;
}

static const uint64_t huge_buf_offs[] = {
	HUGE_LEN, 1ULL << 62, (uint64_t)LLONG_MAX, (uint64_t)LLONG_MAX - 100,
	1ULL << 63, ~0ULL, ~0ULL - 4095,
};

/* Segments, or the fields of segments, for @c: hostile unless @sane. */
static void gen_segments(struct load_call *c, bool sane, bool restricted,
			 uint64_t space)
{
	static const uint32_t big_nr[] = {
		HEAPLOAD_MAX_SEGMENTS + 1, 8192, 1U << 31, ~0U,
	};
	static const uint32_t small_ss[] = { 0, 1, 8, 16, 24, 31 };
	static const uint32_t larger_ss[] = { 33, 40, 48, 64, 128, 4096 };
	static const uint32_t huge_ss[] = { 65536, 1U << 20, 1U << 31, ~0U };
	bool many = sane && chance(4) && !(c->l.flags & HEAPLOAD_LOAD_DIRECT) &&
		    !restricted;
	unsigned int n = many ? 64 + rnd(HEAPLOAD_MAX_SEGMENTS - 63) :
			 1 + rnd(chance(10) ? 64 : 4), i, j;
	uint64_t o, l, s;
	bool flush = chance(50), no_ptr = false;

	if (many && n * 1ULL > space)
		n = space ? space : 1;
	gen_sane_segments(c, n, restricted, space, many);
	n = c->nseg;
	c->l.nr_segments = n;
	c->l.segment_size = HEAPLOAD_SEGMENT_SIZE_VER0;
	if (sane && chance(10))		/* a newer struct, zero past 32 */
		c->l.segment_size = PICK(larger_ss);
	if (!sane) {
		i = rnd(n);
		switch (rnd(13)) {
		case 0:		/* not accessible */
			c->l.segments = PICK(bad_addrs);
			c->seg_base = NULL;
			return;
		case 1:		/* the array's end is in a PROT_NONE page */
			c->l.segment_size = chance(70) ? 32 : 32 + 8 * rnd(13);
			for (j = 0; j < n; j++)
				segs[j].tail_nonzero = false;
			memset(seg_area, 0, SEG_BYTES);
			c->seg_base = seg_guard - (uint64_t)n * c->l.segment_size +
				      1 + rnd(c->l.segment_size - 1);
			for (j = 0; j < n; j++) {
				unsigned char *p = c->seg_base + (uint64_t)j * c->l.segment_size;

				if (p + c->l.segment_size <= seg_guard)
					memcpy(p, &segs[j].s, sizeof(segs[j].s));
			}
			c->l.segments = (uintptr_t)c->seg_base;
			return;
		case 2:		/* too many */
			c->l.nr_segments = PICK(big_nr);
			if (chance(20))
				c->l.nr_segments = HEAPLOAD_MAX_SEGMENTS + 1 + rnd32() % (1U << 20);
			break;
		case 3:
			c->l.segment_size = PICK(small_ss);
			break;
		case 4:		/* newer structs, sometimes with unknown bytes */
			c->l.segment_size = PICK(larger_ss);
			if (chance(60))
				segs[i].tail_nonzero = true;
			break;
		case 5:
			c->l.segment_size = PICK(huge_ss);
			break;
		case 6:
			segs[i].s.flags = chance(50) ? 1U << rnd(32) : rnd32() | 1;
			break;
		case 7:		/* overlapping */
			if (n == 1 && n < HEAPLOAD_MAX_SEGMENTS) {
				segs[1] = segs[0];
				c->nseg = n = 2;
				c->l.nr_segments = n;
			}
			j = (i + 1 + rnd(n - 1)) % n;
			s = segs[i].s.length ? segs[i].s.length :
			    segs[i].f->size - segs[i].s.file_offset;
			segs[j].s.buf_offset = segs[i].s.buf_offset + rnd(s ? s : 1);
			break;
		case 8:		/* huge offsets and lengths */
			switch (rnd(3)) {
			case 0:
				segs[i].s.buf_offset = PICK(huge_buf_offs);
				break;
			case 1:
				insane_range(segs[i].f->size, &o, &l);
				clamp_range(segs[i].f->size, space, &o, &l);
				segs[i].s.file_offset = o;
				segs[i].s.length = l;
				break;
			default:
				segs[i].s.length = chance(50) ? ~0ULL : 1ULL << 63;
				break;
			}
			break;
		case 9:		/* any fd */
			segs[i].f = &fx[rnd(nfx)];
			segs[i].s.file_fd = segs[i].f->fd;
			if (!segs[i].s.length)	/* not to the end of a large file */
				segs[i].s.length = 1 + rnd(HL_PAGE);
			break;
		case 10:	/* the single range's fields as well */
			switch (rnd(3)) {
			case 0:
				c->l.file_fd = fx[sane_fx[rnd(nsane)]].fd;
				break;
			case 1:
				c->l.offset = 1 + rnd(HL_PAGE);
				break;
			default:
				c->l.length = 1 + rnd(HL_PAGE);
				break;
			}
			break;
		case 11:	/* an array, or its size, but no segments */
			c->l.nr_segments = 0;
			if (chance(50))
				c->l.segment_size = 0;
			else
				no_ptr = chance(50);
			break;
		default:	/* misaligned in the buffer */
			segs[i].s.buf_offset += 1 + rnd(511);
			break;
		}
	}
	c->segs_ro = chance(20);
	write_segments(c, flush);
	c->l.segments = no_ptr ? 0 : (uintptr_t)c->seg_base;
}

/* ------------------------------------------------------ load, outcome -- */

/* The out fields of a successful load (or load result) @out. */
static void check_success_out(int t, const struct load_call *c,
			      const struct expect *x,
			      const struct heapload_load *out, unsigned int usize,
			      bool async)
{
	const struct heapload_load *l = &c->l;
	unsigned int dsz = digest_size(l->digest_alg);

	if (out->loaded != x->want || out->buf_size != x->buf_len)
		flag(t, "loaded %llu buf_size %llu, expected %llu and %llu",
		     (unsigned long long)out->loaded,
		     (unsigned long long)out->buf_size,
		     (unsigned long long)x->want,
		     (unsigned long long)x->buf_len);
	if ((l->flags & HEAPLOAD_LOAD_INTO) && out->dmabuf_fd != -1)
		flag(t, "a load into a buffer reports dmabuf_fd %d", out->dmabuf_fd);
	if (usize >= offsetof(struct heapload_load, load_fd) + 4 &&
	    out->load_fd != -1)
		flag(t, "%s reports load_fd %d",
		     async ? "a load result" : "a synchronous load", out->load_fd);
	if (usize >= offsetof(struct heapload_load, placed_node) + 4 &&
	    (l->flags & HEAPLOAD_LOAD_NUMA_NODE) &&
	    out->placed_node != l->numa_node)
		flag(t, "placed_node %d after a load with HEAPLOAD_LOAD_NUMA_NODE %d",
		     out->placed_node, l->numa_node);
	if (usize >= VER2 &&
	    !all_zero(out->digest + dsz, sizeof(out->digest) - dsz))
		flag(t, "digest has non-zero bytes past the %u of digest_alg %u",
		     dsz, l->digest_alg);
	if (usize >= VER2 && (l->flags & HEAPLOAD_LOAD_VERIFY) &&
	    memcmp(out->digest, l->expected_digest, sizeof(out->digest)))
		flag(t, "verified load succeeded with a digest other than expected_digest");
}

/* A watched close: the last close of a load fd waits for its worker. */
static void wd_close(int fd)
{
	__atomic_store_n(&wd_start_ms, hl_now_ms(), __ATOMIC_RELEASE);
	close(fd);
	__atomic_store_n(&wd_start_ms, 0, __ATOMIC_RELEASE);
}

static bool fd_link_is(int fd, const char *what)
{
	char link[128];

	is_dmabuf(fd, link, sizeof(link));
	return strstr(link, what) != NULL;
}

/* What the follow-up of an asynchronous load knows. */
struct astate {
	bool ended;		/* poll() said so, or a result came */
	bool installed;		/* a result call succeeded */
	int failed;		/* the load's error, once a result call gave it */
};

/*
 * One HEAPLOAD_IOC_LOAD_RESULT call on @load_fd: sane, or with a fuzzed
 * number, size, size field or argument memory.
 */
static void result_call(int load_fd, const struct load_call *c,
			const struct expect *x, struct astate *st, bool sane)
{
	static const unsigned int sizes[] = {
		0, 8, VER0, VER1, VER2 - 1, VER2 + 1, VER2, VERCUR + 8, 512, 4096,
	};
	static const unsigned int bad_dirs[] = { _IOC_WRITE, _IOC_READ, _IOC_NONE };
	unsigned int dir = RW, nr = 1, type = HEAPLOAD_IOC_MAGIC, usize = VERCUR, i;
	struct heapload_load *out = NULL;
	struct eset allow;
	struct placed arg;
	bool may = false, valid = false, writable;
	char set[200], loc[64];
	unsigned long cmd;
	uint32_t sz;
	size_t n;
	int e;

	if (!sane) {
		switch (rnd(5)) {
		case 0:
			usize = PICK(sizes);
			break;
		case 1:
			dir = PICK(bad_dirs);
			break;
		case 2:
			nr = chance(50) ? 0 : 2 + rnd(254);
			break;
		case 3:
			do
				type = rnd(256);
			while (vfs_type(type) || type == HEAPLOAD_IOC_MAGIC);
			break;
		default:
			break;
		}
	}
	cmd = _IOC(dir, type, nr, usize);
	sz = usize;
	if (!sane && chance(30)) {
		const uint32_t v[] = { 0, usize - 1, usize + 1, VER1, VER2, rnd32() };

		sz = PICK(v);
	}
	memset(content, 0, usize);
	memcpy(content, &sz, usize < 4 ? usize : 4);
	if (!sane && chance(40))	/* only size is read */
		for (i = 4; i < usize; i++)
			content[i] = (unsigned char)rnd32();
	pick_loc(&arg, sane || chance(60), usize, usize);
	/* The kernel writes back at most the struct it knows. */
	writable = arg.loc == LOC_GOOD ||
		   (arg.loc == LOC_STRADDLE && arg.cross >= (usize < VERCUR ? usize : VERCUR));

	memset(&allow, 0, sizeof(allow));
	if (type != HEAPLOAD_IOC_MAGIC || nr != 1 || dir != RW) {
		es_add(&allow, ENOTTY);
	} else if (usize < VER2) {
		es_add(&allow, EINVAL);
	} else if (arg.loc == LOC_BAD || (arg.loc == LOC_STRADDLE && arg.cross < 4)) {
		es_add(&allow, EFAULT);
	} else if (sz != usize) {
		es_add(&allow, EINVAL);
	} else if (st->installed) {
		es_add(&allow, EALREADY);
	} else if (!writable) {
		es_add(&allow, EFAULT);		/* the copy back fails */
		es_add(&allow, EMFILE);
	} else {
		valid = true;
		if (!st->ended)
			es_add(&allow, EAGAIN);
		if (st->failed) {
			es_add(&allow, st->failed);
		} else {
			for (i = 0; i < 4; i++)
				allow.w[i] |= x->run.w[i];
			may = x->run_may;
		}
		es_add(&allow, EMFILE);
	}
	loc_str(&arg, loc, sizeof(loc));
	n = strlen(cur_desc);
	snprintf(cur_desc + n, sizeof(cur_desc) - n,
		 "; then on the load fd ioctl 0x%08lx (dir %u type 0x%02x nr %u size %u), arg %s, size %u",
		 cmd, dir, type, nr, usize, loc, sz);

	place(&arg);
	e = fuzz_ioctl(load_fd, cmd, arg.p);
	unplace(&arg);
	cur_desc[n] = '\0';
	count(A_RESULT, e);

	checked(T_RESULT_DOC);
	if (e && !in_list(load_documented, ARRAY_SIZE(load_documented), e) &&
	    !in_list(result_documented, ARRAY_SIZE(result_documented), e))
		flag(T_RESULT_DOC, "%s is not documented (result call: ioctl 0x%08lx size %u)",
		     hl_errname(e), cmd, usize);
	checked(T_RESULT_ORACLE);
	es_str(&allow, set, sizeof(set));
	if (!e && !may)
		flag(T_RESULT_ORACLE, "result call 0x%08lx size %u succeeded; expected %s",
		     cmd, usize, set);
	else if (e && !es_has(&allow, e))
		flag(T_RESULT_ORACLE, "result call 0x%08lx size %u: %s; expected %s%s",
		     cmd, usize, hl_errname(e), set, may ? " or success" : "");

	if (writable)
		out = (struct heapload_load *)arg.p;
	if (!e) {
		st->installed = st->ended = true;
		if (!out)
			return;
		check_success_out(T_RESULT_ORACLE, c, x, out, usize, true);
		if (!(c->l.flags & HEAPLOAD_LOAD_INTO)) {
			if (out->dmabuf_fd < 0 || out->dmabuf_fd == load_fd ||
			    (out->dmabuf_fd < (int)ARRAY_SIZE(fd_known) &&
			     fd_known[out->dmabuf_fd]) || !fd_open(out->dmabuf_fd)) {
				flag(T_RESULT_ORACLE, "result reports dmabuf_fd %d, not a new fd",
				     out->dmabuf_fd);
			} else {
				check_dmabuf(T_RESULT_ORACLE, out->dmabuf_fd, "result",
					     x->buf_len, c->l.fd_flags & O_CLOEXEC);
				close(out->dmabuf_fd);
			}
		}
	} else if (valid && e == EAGAIN) {
		if (st->ended)
			flag(T_RESULT_ORACLE, "EAGAIN after the load fd polled readable");
		if (out && out->loaded > x->want)
			flag(T_RESULT_ORACLE, "a running load reports loaded %llu of %llu",
			     (unsigned long long)out->loaded,
			     (unsigned long long)x->want);
	} else if (valid && e != EMFILE) {
		st->failed = e;
		st->ended = true;
	}
}

/* Wait up to HANG_MS for the load fd to poll readable. */
static bool wait_load_end(int load_fd)
{
	struct pollfd p = { .fd = load_fd, .events = POLLIN };
	uint64_t start = hl_now_ms();

	do {
		p.revents = 0;
		if (poll(&p, 1, 200) > 0 && (p.revents & POLLIN))
			return true;
	} while (hl_now_ms() - start < HANG_MS);
	return false;
}

/*
 * The load fd of an asynchronous load: closed at once (cancelling it), or
 * polled and queried (with fuzzed calls on the way), then closed.
 */
static void async_followup(const struct load_call *c, const struct expect *x,
			   int load_fd)
{
	struct astate st = { 0 };
	unsigned int i, k;
	uint64_t start;
	int fl;

	checked(T_RESULT_ORACLE);
	if (!fd_link_is(load_fd, "heapload_load"))
		flag(T_RESULT_ORACLE, "load_fd %d is not a load fd", load_fd);
	fl = fcntl(load_fd, F_GETFD);
	if (fl < 0 || !(fl & FD_CLOEXEC))
		flag(T_RESULT_ORACLE, "load_fd %d: FD_CLOEXEC clear", load_fd);
	if (chance(25)) {
		if (chance(50))
			hl_sleep_ms(rnd(4));
		wd_close(load_fd);
		return;
	}
	for (k = rnd(3), i = 0; i < k; i++)
		result_call(load_fd, c, x, &st, false);
	if (chance(70)) {
		if (!st.ended && !wait_load_end(load_fd))
			flag(T_RESULT_ORACLE, "load fd not readable within %d s",
			     HANG_MS / 1000);
		else
			st.ended = true;
		result_call(load_fd, c, x, &st, true);
	} else {
		start = hl_now_ms();
		do {
			result_call(load_fd, c, x, &st, true);
			if (!st.ended && !st.installed && !st.failed)
				hl_sleep_ms(2);
		} while (!st.installed && !st.failed &&
			 hl_now_ms() - start < HANG_MS);
	}
	if (chance(50))		/* again: EALREADY, or the same error */
		result_call(load_fd, c, x, &st, chance(70));
	wd_close(load_fd);
}

/* Start an asynchronous load into @t that keeps it busy for a while. */
static int start_companion(const struct target *t)
{
	const struct fixture *f = NULL;
	struct heapload_load l;
	unsigned int i;
	int fd;

	for (i = 0; i < nsane && !f; i++) {
		const struct fixture *g = &fx[sane_fx[i]];

		if (g->can_direct && g->size >= t->size && g->dio_align <= t->size)
			f = g;
	}
	if (!f)
		return -1;
	memset(&l, 0, sizeof(l));
	l.size = sizeof(l);
	l.flags = HEAPLOAD_LOAD_INTO | HEAPLOAD_LOAD_ASYNC | HEAPLOAD_LOAD_DIRECT;
	l.file_fd = f->fd;
	l.length = t->size / f->dio_align * f->dio_align;
	l.target_fd = t->fd;
	l.digest_alg = HEAPLOAD_DIGEST_SHA256;	/* slower, where built in */
	if (hl_ioctl(loader_fd, HEAPLOAD_IOC_LOAD, &l)) {
		l.digest_alg = HEAPLOAD_DIGEST_NONE;
		if (hl_ioctl(loader_fd, HEAPLOAD_IOC_LOAD, &l))
			return -1;
	}
	/* Out of the numbers the stray fd scan looks at. */
	fd = fcntl(l.load_fd, F_DUPFD_CLOEXEC, COMPANION_FD);
	close(l.load_fd);
	return fd;
}

/* Make @c's call and check its outcome; *@res gets the struct back. */
static int do_load(struct load_call *c, struct heapload_load *res, bool *have_res)
{
	unsigned long cmd = _IOC(c->dir, HEAPLOAD_IOC_MAGIC, c->nr, c->usize);
	uint64_t *prog_word = (uint64_t *)(prog_rw + 64);
	bool async = c->l.flags & HEAPLOAD_LOAD_ASYNC;
	const unsigned int lfd_end = offsetof(struct heapload_load, load_fd) + 4;
	struct heapload_load *out;
	struct expect x;
	char set[200];
	int e, lfd;

	uint64_t prog_addr = c->l.progress_addr;

	memset(content, 0, c->usize);
	memcpy(content, &c->l, c->usize < VERCUR ? c->usize : VERCUR);
	if (c->tail_nonzero)
		content[c->tail_pos] = 1 + rnd(255);
	/* What the kernel sees: the bytes passed, zero-extended. */
	memset(&c->l, 0, sizeof(c->l));
	memcpy(&c->l, content, c->usize < VERCUR ? c->usize : VERCUR);
	/* A size that cuts progress_addr leaves its low bytes: unmapped. */
	if (c->l.progress_addr != prog_addr)
		c->prog = c->l.progress_addr ? PROG_FAULT : PROG_NONE;

	load_expect(c, &x);
	load_desc(c, cmd);
	*prog_word = 0x5eed5eed5eed5eedULL;

	if (c->segs_ro)
		mprotect(seg_area, SEG_BYTES, PROT_READ);
	place(&c->arg);
	e = fuzz_ioctl(loader_fd, cmd, c->arg.p);
	unplace(&c->arg);
	if (c->segs_ro)
		mprotect(seg_area, SEG_BYTES, PROT_READ | PROT_WRITE);
	count(A_LOAD, e);

	checked(T_LOAD_DOC);
	if (e && !in_list(load_documented, ARRAY_SIZE(load_documented), e))
		flag(T_LOAD_DOC, "%s is not documented", hl_errname(e));
	checked(T_LOAD_ORACLE);
	es_str(&x.allow, set, sizeof(set));
	if (!e && !x.may)
		flag(T_LOAD_ORACLE, "succeeded; expected %s", set);
	else if (e && !es_has(&x.allow, e))
		flag(T_LOAD_ORACLE, "%s; expected %s%s", hl_errname(e), set,
		     x.may ? " or success" : "");

	out = NULL;
	if (c->arg.loc == LOC_GOOD || c->arg.loc == LOC_RO)
		out = (struct heapload_load *)c->arg.p;
	*have_res = out && c->arg.loc == LOC_GOOD;
	memset(res, 0, sizeof(*res));
	if (*have_res)
		memcpy(res, out, sizeof(*res) < c->usize ? sizeof(*res) : c->usize);
	if (async && c->usize < lfd_end && c->usize >= VER0 && c->dir == RW && !c->nr) {
		int fds[SCAN_SLOTS], nfd, i;

		checked(T_OLD_ASYNC);
		nfd = scan_new_fds(fds, SCAN_SLOTS);
		for (i = 0; i < nfd; i++) {
			if (!fd_link_is(fds[i], "heapload_load"))
				continue;
			flag(T_OLD_ASYNC, "%s with a %u-byte struct, which has no load_fd: load fd %d installed, unreported",
			     e ? hl_errname(e) : "success", c->usize, fds[i]);
			wd_close(fds[i]);
			break;
		}
		if (!e && i == nfd)
			flag(T_OLD_ASYNC, "succeeded with a %u-byte struct, which has no load_fd",
			     c->usize);
	}
	if (!e && out && async) {
		lfd = c->usize >= lfd_end ? out->load_fd : -1;
		if (c->usize >= lfd_end && out->dmabuf_fd != -1)
			flag(T_LOAD_ORACLE, "an asynchronous load reports dmabuf_fd %d",
			     out->dmabuf_fd);
		if (lfd >= 0 && fd_open(lfd) && lfd != loader_fd &&
		    !(lfd < (int)ARRAY_SIZE(fd_known) && fd_known[lfd]))
			async_followup(c, &x, lfd);
		else if (c->usize >= lfd_end)
			flag(T_LOAD_ORACLE, "load_fd %d is not a new fd", lfd);
		/* Whatever is left (an fd it did not report) is a stray. */
		settle_fds(T_LOAD_ORACLE, -1, 0, 0, false);
		return e;
	}
	if (out && !e && x.may) {
		check_success_out(T_LOAD_ORACLE, c, &x, out, c->usize, false);
		if (c->prog == PROG_OK && c->l.progress_addr &&
		    *prog_word != out->loaded)
			flag(T_LOAD_ORACLE, "progress word reads %llu after loading %llu bytes",
			     (unsigned long long)*prog_word,
			     (unsigned long long)out->loaded);
	}
	/*
	 * Errors found once the struct was read give version 2 callers the
	 * struct back: error_segment names a segment or is -1, no fds.
	 */
	if (e && e != EFAULT && e != E2BIG && e != ENOTTY && e != EMFILE &&
	    !(async && e == ENOMEM) && c->arg.loc == LOC_GOOD && c->usize >= VER2) {
		if (out->error_segment < -1 ||
		    (int64_t)out->error_segment >=
		    (int64_t)(c->l.nr_segments ? c->l.nr_segments : 1))
			flag(T_LOAD_ORACLE, "%s with error_segment %d of %u segments",
			     hl_errname(e), out->error_segment, c->l.nr_segments);
		if (out->load_fd != -1 || out->dmabuf_fd != -1)
			flag(T_LOAD_ORACLE, "%s written back with load_fd %d dmabuf_fd %d",
			     hl_errname(e), out->load_fd, out->dmabuf_fd);
	}
	settle_fds(T_LOAD_ORACLE,
		   out && !e && !(c->l.flags & HEAPLOAD_LOAD_INTO) ? out->dmabuf_fd : -1,
		   0, x.buf_len, c->l.fd_flags & O_CLOEXEC);
	return e;
}

static void fuzz_load(void)
{
	static const unsigned int odd_sizes[] = {
		0, 8, 127, 129, 160, 167, 169, 176, 184, 196, 200, 208, 240,
		256, 271, 273, 280, 512, 4096,
	};
	static const unsigned int bad_dirs[] = {
		_IOC_WRITE, _IOC_READ, _IOC_NONE,
	};
	static struct load_call c;
	const uint32_t v2_flags = HEAPLOAD_LOAD_INTO | HEAPLOAD_LOAD_NUMA_NODE |
				  HEAPLOAD_LOAD_VERIFY | HEAPLOAD_LOAD_ASYNC;
	int near = chance(40) ? (int)rnd(2 * LF_COUNT) : -1;
	const struct target *t = NULL;
	struct heapload_load res;
	bool sane[LF_COUNT], restricted, have_res, flip;
	uint64_t s, off, len, space;
	unsigned int i, dsz;
	int e, companion = -1;

	for (i = 0; i < LF_COUNT; i++)
		sane[i] = near >= 0 ? near != (int)i : chance(lf_sane_pct[i]);
	memset(&c, 0, sizeof(c));
	c.cap = chance(90) ? LOAD_CAP_SMALL : LOAD_CAP_LARGE;

	c.dir = RW;
	i = rnd(100);
	c.usize = i < 40 ? VERCUR : i < 55 ? VER2 : i < 75 ? VER1 : VER0;
	if (!sane[LF_CMD]) {
		switch (rnd(3)) {
		case 0:
			c.usize = PICK(odd_sizes);
			break;
		case 1:
			c.dir = PICK(bad_dirs);
			break;
		default:
			c.nr = 1 + rnd(255);
			break;
		}
	}

	c.l.size = c.usize;
	if (!sane[LF_SIZE]) {
		const uint32_t v[] = {
			0, c.usize - 1, c.usize + 1, VER0, VER1, VER2, VERCUR, 4096, rnd32(),
		};
		c.l.size = PICK(v);
	}
	c.l.flags = rnd(3) == 0 ? 0 : 1U << rnd(2);
	if (!sane[LF_FLAGS]) {
		const uint32_t v[] = {
			HEAPLOAD_LOAD_DIRECT | HEAPLOAD_LOAD_BUFFERED, 1U << 6,
			1U << 31, rnd32() | (1U << 6), ~0U,
			HEAPLOAD_LOAD_DIRECT | HEAPLOAD_LOAD_BUFFERED | HEAPLOAD_LOAD_ASYNC,
			HEAPLOAD_LOAD_VALID_FLAGS, rnd32() & HEAPLOAD_LOAD_VALID_FLAGS,
		};
		c.l.flags = PICK(v);
	}
	c.l.fd_flags = sane[LF_FDFLAGS] ? PICK(sane_fd_flags) : insane_fd_flags();
	gen_heap_name(c.l.heap, sane[LF_HEAP]);

	/* Version 2: a load into a buffer, NUMA placement, digest, async. */
	if (chance(20) || !sane[LF_TARGET]) {
		if (sane[LF_TARGET]) {
			t = &tg[good_tg[rnd(ngood)]];
			c.l.flags |= HEAPLOAD_LOAD_INTO;
			memset(c.l.heap, 0, sizeof(c.l.heap));
			c.l.fd_flags = 0;
		} else {
			t = &tg[rnd(ntg)];
			switch (rnd(4)) {
			case 0:		/* a target without the flag */
				break;
			case 1:		/* with a heap name or fd_flags */
				c.l.flags |= HEAPLOAD_LOAD_INTO;
				if (chance(50))
					memset(c.l.heap, 0, sizeof(c.l.heap));
				else
					c.l.fd_flags = 0;
				break;
			default:	/* any fd */
				c.l.flags |= HEAPLOAD_LOAD_INTO;
				memset(c.l.heap, 0, sizeof(c.l.heap));
				c.l.fd_flags = 0;
				break;
			}
		}
		c.l.target_fd = t->fd;
		if ((c.l.flags & HEAPLOAD_LOAD_INTO) && t->kind == TK_OURS &&
		    t->writable && chance(15))
			c.busy = true;
	}
	if (!sane[LF_NUMA]) {
		const int32_t v[] = {
			-1, INT_MIN, INT_MAX, MAX_NODES, 1024, 4096,
			(int32_t)nr_mem_nodes, (int32_t)rnd32(), 64,
		};

		c.l.numa_node = PICK(v);
		if (chance(70))
			c.l.flags |= HEAPLOAD_LOAD_NUMA_NODE;
		else if (!c.l.numa_node)
			c.l.numa_node = 1;
		if (chance(30))		/* a valid node where it does not belong */
			c.l.numa_node = mem_nodes[rnd(nr_mem_nodes)];
	} else if (chance(15)) {
		c.l.flags |= HEAPLOAD_LOAD_NUMA_NODE;
		c.l.numa_node = mem_nodes[rnd(nr_mem_nodes)];
		if (c.l.flags & HEAPLOAD_LOAD_INTO)
			c.l.flags &= ~HEAPLOAD_LOAD_NUMA_NODE;
		if (!(c.l.flags & HEAPLOAD_LOAD_NUMA_NODE))
			c.l.numa_node = 0;
	}
	c.l.digest_alg = chance(50) ? 0 : 1 + rnd(2);
	dsz = digest_size(c.l.digest_alg);
	if (dsz && chance(25)) {
		c.l.flags |= HEAPLOAD_LOAD_VERIFY;
		for (i = 0; i < dsz; i++)
			c.l.expected_digest[i] = (unsigned char)rnd32();
	}
	if (!sane[LF_DIGEST]) {
		switch (rnd(5)) {
		case 0:
			c.l.digest_alg = chance(50) ? 3 + rnd(10) : rnd32() | 4;
			break;
		case 1:		/* verify without a digest */
			c.l.digest_alg = 0;
			c.l.flags |= HEAPLOAD_LOAD_VERIFY;
			break;
		case 2:		/* an expected digest without verify */
			c.l.flags &= ~HEAPLOAD_LOAD_VERIFY;
			c.l.expected_digest[rnd(32)] = 1 + rnd(255);
			break;
		case 3:		/* bytes past the XXH64 digest */
			c.l.digest_alg = HEAPLOAD_DIGEST_XXH64;
			c.l.flags |= HEAPLOAD_LOAD_VERIFY;
			c.l.expected_digest[8 + rnd(24)] = 1 + rnd(255);
			break;
		default:	/* all zero: a valid form, the wrong digest */
			c.l.digest_alg = 1 + rnd(2);
			c.l.flags |= HEAPLOAD_LOAD_VERIFY;
			memset(c.l.expected_digest, 0, sizeof(c.l.expected_digest));
			break;
		}
	}
	if (chance(15) || !sane[LF_ASYNC])
		c.l.flags |= HEAPLOAD_LOAD_ASYNC;
	/* Older structs rarely carry the flags of version 2. */
	if (c.usize < VER2 && sane[LF_CMD] && !chance(10))
		c.l.flags &= ~v2_flags;

	restricted = (c.l.flags & HEAPLOAD_LOAD_INTO) ? t && t->restricted :
		     !strcmp(c.l.heap, HL_RESTRICTED_NAME);
	space = (c.l.flags & HEAPLOAD_LOAD_INTO) && t && t->kind == TK_OURS ?
		t->size : c.cap;

	if (chance(30) || !sane[LF_SEGS]) {
		gen_segments(&c, sane[LF_SEGS], restricted, space);
	} else {
		const struct fixture *f;
		int fdi = sane[LF_FD] ? (int)sane_fx[rnd(nsane)] : (int)rnd(nfx);

		f = &fx[fdi];
		c.l.file_fd = f->fd;
		s = f->isreg ? f->size : HL_MIB;
		if (sane[LF_RANGE] && s)
			sane_range(s, space, &off, &len);
		else
			insane_range(s, &off, &len);
		clamp_range(s, space, &off, &len);
		c.l.offset = off;
		c.l.length = len;
	}

	if (!sane[LF_PADRES]) {
		switch (rnd(3)) {
		case 0:
			c.l.__pad = 1 + rnd(0xffffffffU);
			break;
		case 1:
			c.l.reserved[0] = 1ULL << rnd(64);
			break;
		default:
			c.l.__pad = 1;
			c.l.reserved[0] = rnd64() | 1;
			break;
		}
	}
	c.l.progress_addr = gen_progress(sane[LF_PROGRESS], &c.prog);
	if ((c.l.flags & HEAPLOAD_LOAD_ASYNC) && sane[LF_ASYNC] && sane[LF_PROGRESS]) {
		c.l.progress_addr = 0;
		c.prog = PROG_NONE;
	}
	if (!sane[LF_OUT]) {	/* out fields: the kernel ignores what they hold */
		c.l.dmabuf_fd = (int32_t)rnd32();
		c.l.loaded = rnd64();
		c.l.buf_size = rnd64();
		c.l.alloc_ns = rnd64();
		c.l.io_ns = rnd64();
		c.l.total_ns = rnd64();
		c.l.batches = rnd32();
		c.l.max_inflight = rnd32();
		c.l.load_fd = (int32_t)rnd32();
		c.l.error_segment = (int32_t)rnd32();
		c.l.placed_node = (int32_t)rnd32();
		for (i = 0; i < sizeof(c.l.digest); i++)
			c.l.digest[i] = (unsigned char)rnd32();
		c.l.alloc_threads = rnd32();
		c.l.alloc_threads_max = rnd32();
	}
	if (c.usize > VERCUR && !sane[LF_TAIL]) {
		c.tail_pos = VERCUR + rnd(c.usize - VERCUR);
		c.tail_nonzero = true;
	}
	pick_loc(&c.arg, sane[LF_LOC], c.usize, c.usize);

	if (c.busy && c.usize >= VER2 && c.dir == RW && !c.nr) {
		companion = start_companion(t);
		c.busy = companion >= 0;
	} else {
		c.busy = false;
	}
	e = do_load(&c, &res, &have_res);
	if (companion >= 0) {
		wd_close(companion);
		c.busy = false;
	}

	/*
	 * A digest: the same load again, verified against it (must succeed
	 * with the same digest) or against it with one bit flipped (must fail
	 * with EBADMSG and report the same digest).
	 */
	dsz = digest_size(c.l.digest_alg);
	if (e || !have_res || !dsz || c.usize < VER2 || !chance(30) ||
	    (c.l.flags & HEAPLOAD_LOAD_ASYNC))
		return;
	flip = chance(50);
	c.l.flags |= HEAPLOAD_LOAD_VERIFY;
	memcpy(c.l.expected_digest, res.digest, sizeof(res.digest));
	if (flip)
		c.l.expected_digest[rnd(dsz)] ^= 1U << rnd(8);
	c.digest_right = !flip;
	{
		unsigned char want[HEAPLOAD_DIGEST_SIZE];
		struct heapload_load res2;

		memcpy(want, res.digest, sizeof(want));
		e = do_load(&c, &res2, &have_res);
		checked(T_LOAD_ORACLE);
		if (have_res && (!e || e == EBADMSG) &&
		    memcmp(res2.digest, want, sizeof(want)))
			flag(T_LOAD_ORACLE, "the same load computed another digest (%s)",
			     hl_errname(e));
	}
}

/* ---------------------------------------------------------- heap alloc -- */

enum afield {
	AF_CMD, AF_LEN, AF_FD, AF_FDFLAGS, AF_HEAPFLAGS, AF_TAIL, AF_LOC,
	AF_COUNT,
};

static const unsigned int af_sane_pct[AF_COUNT] = {
	[AF_CMD] = 70, [AF_LEN] = 75, [AF_FD] = 90, [AF_FDFLAGS] = 85,
	[AF_HEAPFLAGS] = 90, [AF_TAIL] = 50, [AF_LOC] = 88,
};

struct alloc_call {
	const struct heap_node *h;
	unsigned int dir, size;
	struct dma_heap_allocation_data d;	/* what the kernel gets */
	struct placed arg;
};

/*
 * What @c may end with. The struct is zero-extended to the bytes the
 * direction and size pass in; heapload's own UAPI reads and writes at most
 * 24 bytes, the dma-heap core all of _IOC_SIZE.
 */
static void alloc_expect(const struct alloc_call *c, struct eset *allow,
			 bool *may_succeed, size_t *out_size)
{
	const struct dma_heap_allocation_data *d = &c->d;
	size_t in = c->dir & _IOC_WRITE ? c->size : 0;
	size_t in_read = c->h->own_uapi && in > 24 ? 24 : in;
	uint64_t len;

	memset(allow, 0, sizeof(*allow));
	*may_succeed = false;
	*out_size = c->dir & _IOC_READ ?
		    (c->h->own_uapi && c->size > 24 ? 24 : c->size) : 0;
	if (c->arg.loc == LOC_BAD && in_read) {
		es_add(allow, EFAULT);
		return;
	}
	if (c->arg.loc == LOC_STRADDLE && in_read > c->arg.cross) {
		es_add(allow, EFAULT);
		return;
	}
	if (d->fd)
		es_add(allow, EINVAL);
	if (d->fd_flags & ~(uint32_t)(O_CLOEXEC | O_ACCMODE))
		es_add(allow, EINVAL);
	if (d->heap_flags)
		es_add(allow, EINVAL);
	len = hl_page_up(d->len);
	if (!len)
		es_add(allow, EINVAL);
	if (!es_empty(allow))
		return;
	es_add(allow, ENOMEM);
	if (c->h->ours && (len > limit_bytes || len >= HUGE_LEN))
		return;		/* must fail with ENOMEM */
	*may_succeed = true;
	if (*out_size && (c->arg.loc != LOC_GOOD &&
			  !(c->arg.loc == LOC_STRADDLE && *out_size <= c->arg.cross))) {
		es_add(allow, EFAULT);
		*may_succeed = false;
	}
}

static void fuzz_alloc(void)
{
	static const unsigned int dirs[] = {
		_IOC_NONE, _IOC_READ, _IOC_WRITE, RW,
	};
	const uint64_t small_lens[] = {
		1, 4096, HL_PAGE - 1, HL_PAGE, HL_PAGE + 1, 2 * HL_PAGE, 65536,
		HL_MIB + 1,
	};
	int near = chance(40) ? (int)rnd(2 * AF_COUNT) : -1;
	struct alloc_call c;
	struct eset allow;
	bool sane[AF_COUNT], may;
	const struct dma_heap_allocation_data *out;
	unsigned long cmd;
	size_t out_size, i;
	char set[200], loc[64];
	int e, reported = -1, unreported = 0;

	for (i = 0; i < AF_COUNT; i++)
		sane[i] = near >= 0 ? near != (int)i : chance(af_sane_pct[i]);
	memset(&c, 0, sizeof(c));
	c.h = &heaps[rnd(nheaps)];
	c.dir = RW;
	c.size = sizeof(c.d);
	if (!sane[AF_CMD]) {
		c.size = rnd(65);
		if (chance(50))
			c.dir = PICK(dirs);
	}
	cmd = _IOC(c.dir, DMA_HEAP_IOC_MAGIC, 0, c.size);

	if (sane[AF_LEN]) {
		c.d.len = chance(40) ? PICK(small_lens) :
			  1 + rnd(chance(90) ? ALLOC_CAP_SMALL : ALLOC_CAP_LARGE);
	} else if (c.h->ours) {
		const uint64_t v[] = {
			0, ~0ULL, ~0ULL - (HL_PAGE - 2), ~0ULL - (HL_PAGE - 1),
			HUGE_LEN,
			1ULL << 62, 1ULL << 63, (1ULL << 63) + 1,
			limit_bytes + 1, limit_bytes + HL_PAGE,
		};
		c.d.len = PICK(v);
	} else {	/* the core would really try other heaps' huge sizes */
		const uint64_t v[] = { 0, ~0ULL, ~0ULL - (HL_PAGE - 2) };

		c.d.len = PICK(v);
	}
	if (!sane[AF_FD]) {
		const uint32_t v[] = { 1, 3, 0xffffffffU, rnd32() | 1 };

		c.d.fd = PICK(v);
	}
	c.d.fd_flags = sane[AF_FDFLAGS] ? PICK(sane_fd_flags) : insane_fd_flags();
	if (!sane[AF_HEAPFLAGS]) {
		const uint64_t v[] = { 1, 1ULL << 63, rnd64() | 1, ~0ULL };

		c.d.heap_flags = PICK(v);
	}

	memset(content, 0, 64 + 1);
	memcpy(content, &c.d, sizeof(c.d));
	if (!sane[AF_TAIL])	/* bytes past the struct: ignored */
		for (i = sizeof(c.d); i < 64; i++)
			content[i] = (unsigned char)rnd32();
	memset(&c.d, 0, sizeof(c.d));
	if (c.dir & _IOC_WRITE)
		memcpy(&c.d, content, c.size < sizeof(c.d) ? c.size : sizeof(c.d));

	pick_loc(&c.arg, sane[AF_LOC], c.size, c.size < 24 ? c.size : 24);
	alloc_expect(&c, &allow, &may, &out_size);
	loc_str(&c.arg, loc, sizeof(loc));
	snprintf(cur_desc, sizeof(cur_desc),
		 "%s/%.63s ioctl 0x%08lx (dir %u size %u), arg %.63s: len 0x%llx fd %u fd_flags 0x%x heap_flags 0x%llx%s",
		 HL_HEAP_DIR, c.h->name, cmd, c.dir, c.size, loc,
		 (unsigned long long)c.d.len, c.d.fd, c.d.fd_flags,
		 (unsigned long long)c.d.heap_flags,
		 sane[AF_TAIL] ? "" : ", random bytes past 24");

	place(&c.arg);
	e = fuzz_ioctl(c.h->fd, cmd, c.arg.p);
	unplace(&c.arg);
	count(A_ALLOC, e);

	checked(T_ALLOC_DOC);
	if (e && !in_list(alloc_documented, ARRAY_SIZE(alloc_documented), e))
		flag(T_ALLOC_DOC, "%s is not documented", hl_errname(e));
	checked(T_ALLOC_ORACLE);
	es_str(&allow, set, sizeof(set));
	if (!e && !may)
		flag(T_ALLOC_ORACLE, "succeeded; expected %s", set);
	else if (e && !es_has(&allow, e))
		flag(T_ALLOC_ORACLE, "%s; expected %s%s", hl_errname(e), set,
		     may ? " or success" : "");

	if (!e) {
		if (out_size >= 12 && c.arg.loc == LOC_GOOD) {
			out = (const struct dma_heap_allocation_data *)c.arg.p;
			reported = (int)out->fd;
		} else {
			unreported = 1;	/* too short to carry the fd */
		}
	} else if (e == EFAULT && !c.h->own_uapi) {
		unreported = 1;		/* the core installs before copying out */
	}
	settle_fds(T_ALLOC_ORACLE, reported, unreported, hl_page_up(c.d.len),
		   c.d.fd_flags & O_CLOEXEC);
}

/* ------------------------------------------------------- unknown ioctls -- */

/*
 * Types the VFS answers itself (do_vfs_ioctl(): FIOCLEX, FIONBIO, FIOASYNC,
 * FIFREEZE, FS_IOC_FIEMAP, FIGETBSZ, FICLONE, FS_IOC_GETFSUUID ...) before
 * the driver sees the call: not the module's, and some change the fd.
 */
static bool vfs_type(unsigned int type)
{
	return type == 0x00 || type == 0x15 || type == 'T' || type == 'X' ||
	       type == 'f' || type == 0x94;
}

static void fuzz_unknown(void)
{
	static const unsigned int dirs[] = {
		_IOC_NONE, _IOC_READ, _IOC_WRITE, RW,
	};
	unsigned int type, nr, dir, size, node, i;
	const struct heap_node *h = NULL;
	struct placed arg;
	struct eset allow;
	unsigned long cmd;
	char set[64], loc[64];
	int fd, e;

	node = rnd(nheaps + 1);
	if (node < nheaps) {
		h = &heaps[node];
		fd = h->fd;
	} else {
		fd = loader_fd;
	}
	do {
		type = chance(15) ? (h ? DMA_HEAP_IOC_MAGIC : HEAPLOAD_IOC_MAGIC) :
		       rnd(256);
		nr = chance(30) ? 0 : rnd(256);
		dir = PICK(dirs);
		size = chance(70) ? rnd(257) : chance(70) ? rnd(4097) :
		       rnd(ARG_MAX_SIZE + 1);
		if (dir == _IOC_NONE && chance(80))
			size = 0;
	} while (vfs_type(type) ||
		 (!h && type == HEAPLOAD_IOC_MAGIC && nr == 0 && dir == RW) ||
		 (h && h->own_uapi && type == DMA_HEAP_IOC_MAGIC && nr == 0) ||
		 (h && !h->own_uapi && nr == 0));
	cmd = _IOC(dir, type, nr, size);
	for (i = 0; i < size; i++)
		content[i] = (unsigned char)rnd32();
	pick_loc(&arg, !chance(12), size, size);

	memset(&allow, 0, sizeof(allow));
	es_add(&allow, ENOTTY);
	if (h && !h->own_uapi)
		es_add(&allow, EINVAL);
	es_str(&allow, set, sizeof(set));
	loc_str(&arg, loc, sizeof(loc));
	snprintf(cur_desc, sizeof(cur_desc),
		 "%s%s ioctl 0x%08lx (dir %u type 0x%02x nr %u size %u), arg %s",
		 h ? HL_HEAP_DIR "/" : HL_LOADER_PATH, h ? h->name : "", cmd,
		 dir, type, nr, size, loc);

	place(&arg);
	e = fuzz_ioctl(fd, cmd, arg.p);
	unplace(&arg);
	count(A_UNKNOWN, e);
	checked(T_UNKNOWN);
	if (!es_has(&allow, e))
		flag(T_UNKNOWN, "%s; expected %s", hl_errname(e), set);
	settle_fds(T_UNKNOWN, -1, 0, 0, false);
}

/* ---------------------------------------------------------------- main -- */

static int t_verdict(const void *arg)
{
	const struct verdict *v = &verdicts[*(const int *)arg];
	int i;

	for (i = 0; i < MAX_NOTES && (unsigned long long)i < v->bad; i++)
		ktap_print_msg("%s", v->note[i]);
	if (v->bad)
		return ktap_fail("%llu of %llu checks failed; the first are above",
				 v->bad, v->checked);
	if (!v->checked)
		return ktap_skip("nothing was checked");
	return KTAP_PASS;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *s = getenv(name);
	char *end;
	uint64_t v;

	if (!s || !*s)
		return def;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end) {
		ktap_print_msg("%s=%s is not a number: using %llu", name, s,
			       (unsigned long long)def);
		return def;
	}
	return v;
}

static void check_end_state(void)
{
	uint64_t b, n;
	long fds;
	int e;

	teardown();
	checked(T_STATS);
	e = hl_wait_stats(stat_bytes0, stat_bufs0, 5000, &b, &n);
	if (e)
		flag(T_STATS, "allocated_bytes %" PRIu64 " buffers %" PRIu64
		     " after every fd was closed, %" PRIu64 " and %" PRIu64
		     " at the start (%s)", b, n, stat_bytes0, stat_bufs0,
		     hl_errname(e));
	checked(T_FDLEAK);
	fds = count_fds();
	if (fds != fds_at_start)
		flag(T_FDLEAK, "%ld entries in /proc/self/fd at the end, %ld at the start",
		     fds, fds_at_start);
}

int main(void)
{
	static int idx[T_COUNT];
	unsigned long long first, iters, it;
	pthread_t wd;
	int t, r;

	fds_at_start = count_fds();
	seed = env_u64("HL_FUZZ_SEED", FUZZ_SEED_DEFAULT);
	iters = env_u64("HL_FUZZ_ITERS", FUZZ_ITERS_DEFAULT);
	first = env_u64("HL_FUZZ_FIRST", 0);
	verbose = env_u64("HL_FUZZ_VERBOSE", 0) != 0;

	ktap_print_header();
	ktap_set_plan(1 + T_COUNT);
	ktap_print_msg("seed 0x%llx (HL_FUZZ_SEED), iterations %llu to %llu (HL_FUZZ_FIRST, HL_FUZZ_ITERS)",
		       (unsigned long long)seed, first, first + iters - 1);
	ktap_print_msg("test data in %s", hl_data_dir());
	ktap_report("fuzz_setup", t_setup());

	if (hl_precondition == KTAP_PASS) {
		if (pthread_create(&wd, NULL, watchdog_main, NULL))
			ktap_print_msg("no watchdog thread: a hang will not be reported");
		for (it = first; it < first + iters; it++) {
			cur_it = it;
			rng_iteration(seed, it);
			r = rnd(100);
			if (r < 60)
				fuzz_load();
			else if (r < 85)
				fuzz_alloc();
			else
				fuzz_unknown();
			if (it > first && !((it - first) % PROGRESS_EVERY))
				ktap_print_msg("iteration %llu", it);
		}
		snprintf(cur_desc, sizeof(cur_desc), "after the last iteration");
		print_counts();
		check_end_state();
	} else {
		teardown();
	}
	for (t = 0; t < T_COUNT; t++) {
		idx[t] = t;
		hl_run(test_names[t], t_verdict, &idx[t]);
	}
	ktap_finished();
}
