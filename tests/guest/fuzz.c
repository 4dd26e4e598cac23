// SPDX-License-Identifier: GPL-2.0
/*
 * A seeded, reproducible ioctl fuzzer for every node of the module:
 *
 *  - HEAPLOAD_IOC_LOAD on /dev/heapload: random and boundary values of
 *    every field of struct heapload_load, every struct size the UAPI knows
 *    and some it does not (0, 8, 127, 128, 168, 169, 256, 4096), size field
 *    matching or not, wrong directions and unknown numbers; every kind of
 *    file_fd (data files with and without O_DIRECT, memfd, tmpfs, pipe,
 *    socket, directory, device, O_PATH, closed, -1, write-only, a dma-buf,
 *    /dev/heapload itself); arguments and progress words that are
 *    unmapped, read-only, misaligned or kernel addresses;
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
 * size, and closed, and no call leaves an fd it did not report; the
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
#define SCAN_SLOTS		32
#define MAX_NOTES		3

#define VER0			HEAPLOAD_LOAD_SIZE_VER0
#define VER1			HEAPLOAD_LOAD_SIZE_VER1
#define RW			(_IOC_READ | _IOC_WRITE)
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define PICK(a)			((a)[rnd(ARRAY_SIZE(a))])

_Static_assert(sizeof(struct heapload_load) == VER1, "struct heapload_load is version 1");
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
 * direction.
 */
static const int load_documented[] = {
	EFAULT, EINVAL, E2BIG, ENODEV, EBADF, EISDIR, EOVERFLOW, ENODATA,
	ENOMEM, EINTR, EMFILE, EIO, EPERM, EACCES, ENOTTY,
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
	char note[MAX_NOTES][1000];
};

static struct verdict verdicts[T_COUNT];

static uint64_t seed;
static unsigned long long cur_it;
static char cur_desc[700];

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
		 "%.255s; HL_FUZZ_SEED=0x%llx HL_FUZZ_FIRST=%llu HL_FUZZ_ITERS=1: %.600s",
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
	char buf[1200];
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
	if (r == KTAP_PASS && (!rw_area || !ro_area || !prog_rw))
		r = ktap_fail("mmap: %s", strerror(errno));
	if (r) {
		hl_precondition_skip("fuzzer setup failed");
		return r;
	}
	guard = rw_area + RW_PAGES * HL_PAGE;
	prog_ro = prog_rw + HL_PAGE;
	if (mprotect(guard, HL_PAGE, PROT_NONE) ||
	    mprotect(prog_ro, HL_PAGE, PROT_READ)) {
		hl_precondition_skip("fuzzer setup failed");
		return ktap_fail("mprotect: %s", strerror(errno));
	}
	limit_bytes = mb << 20;

	setup_dmabuf_fixture();
	setup_data_fixtures();
	setup_tmpfs_fixtures();
	setup_other_fixtures();

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

enum { A_LOAD, A_ALLOC, A_UNKNOWN, A_COUNT };

static const char *const area_names[A_COUNT] = {
	"HEAPLOAD_IOC_LOAD", "DMA_HEAP_IOCTL_ALLOC", "unknown ioctls",
};

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
	LF_PADRES, LF_PROGRESS, LF_TAIL, LF_LOC, LF_OUT, LF_COUNT,
};

/* How often a field is drawn from its sane values in a random request. */
static const unsigned int lf_sane_pct[LF_COUNT] = {
	[LF_CMD] = 75, [LF_SIZE] = 88, [LF_FLAGS] = 80, [LF_FD] = 55,
	[LF_FDFLAGS] = 85, [LF_RANGE] = 50, [LF_HEAP] = 80, [LF_PADRES] = 90,
	[LF_PROGRESS] = 75, [LF_TAIL] = 80, [LF_LOC] = 88, [LF_OUT] = 70,
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

struct load_call {
	unsigned int dir, nr, usize;
	struct heapload_load l;		/* what the kernel gets (zero-extended) */
	bool tail_nonzero;
	int prog;
	struct placed arg;
	const struct fixture *f;
	uint64_t cap;
};

static uint64_t page_down(uint64_t n)
{
	return n & ~(HL_PAGE - 1);
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
		*len = page_down(cap) - HL_PAGE + (*len & (HL_PAGE - 1));
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

/*
 * What the kernel-doc of HEAPLOAD_IOC_LOAD lets @c end with: *@allow, and
 * *@may_succeed; the length a success loads in *@want. A request that
 * breaks several rules may fail with the errno of any of them.
 */
static void load_expect(const struct load_call *c, struct eset *allow,
			bool *may_succeed, uint64_t *want)
{
	const struct heapload_load *l = &c->l;
	const struct fixture *f = c->f;
	bool restricted = false, direct = false, terminated;
	uint64_t end = 0, len, a;
	bool ovf;

	memset(allow, 0, sizeof(*allow));
	*may_succeed = false;
	*want = 0;
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
		if (c->arg.loc == LOC_STRADDLE && c->usize > VER1 &&
		    c->tail_nonzero)
			es_add(allow, E2BIG);
		return;
	}
	if (c->usize > VER1 && c->tail_nonzero)
		es_add(allow, E2BIG);
	if (l->size != c->usize)
		es_add(allow, EINVAL);
	if ((l->flags & ~HEAPLOAD_LOAD_VALID_FLAGS) ||
	    (l->flags & HEAPLOAD_LOAD_VALID_FLAGS) == HEAPLOAD_LOAD_VALID_FLAGS)
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
	else if (!known_heap(l->heap))
		es_add(allow, ENODEV);
	else
		restricted = !strcmp(l->heap, HL_RESTRICTED_NAME);

	if (!f->fget_ok || !f->readable) {
		es_add(allow, EBADF);
	} else if (f->isdir) {
		es_add(allow, EISDIR);
	} else if (!f->isreg) {
		es_add(allow, EINVAL);
	} else {
		if (restricted && (l->flags & HEAPLOAD_LOAD_BUFFERED))
			es_add(allow, EINVAL);
		if ((l->flags & HEAPLOAD_LOAD_DIRECT) || restricted)
			direct = true;
		else if (l->flags & HEAPLOAD_LOAD_BUFFERED)
			direct = false;
		else
			direct = f->odirect;
		if (direct && (!f->can_direct || l->offset % f->dio_align))
			es_add(allow, EINVAL);
		/* File offsets are loff_t: an end past LLONG_MAX overflows. */
		ovf = __builtin_add_overflow(l->offset, l->length, &end) ||
		      end > (uint64_t)LLONG_MAX;
		if (ovf)
			es_add(allow, EOVERFLOW);
		if (l->offset > f->size || (!ovf && end > f->size)) {
			es_add(allow, EINVAL);
		} else if (!ovf && !l->length && l->offset == f->size) {
			es_add(allow, ENODATA);
		} else if (!ovf && direct && f->can_direct) {
			/* Blocks above a page: the last must fit the buffer. */
			a = f->dio_align;
			len = l->length ? l->length : f->size - l->offset;
			if (a > HL_PAGE && (len + a - 1) / a * a > hl_page_up(len))
				es_add(allow, EINVAL);
		}
	}
	if (!es_empty(allow))
		return;

	*want = l->length ? l->length : f->size - l->offset;
	/* Valid: it loads, unless memory runs out or a copy out faults. */
	es_add(allow, ENOMEM);
	if (hl_page_up(*want) > limit_bytes)
		return;		/* must fail with ENOMEM */
	*may_succeed = true;
	if (c->arg.loc == LOC_RO || (c->usize >= VER1 && c->prog == PROG_FAULT)) {
		es_add(allow, EFAULT);
		*may_succeed = false;
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

static void load_desc(const struct load_call *c, unsigned long cmd)
{
	char heap[300], loc[64];

	heap_str(c->l.heap, heap, sizeof(heap));
	loc_str(&c->arg, loc, sizeof(loc));
	snprintf(cur_desc, sizeof(cur_desc),
		 "/dev/heapload ioctl 0x%08lx (dir %u nr %u size %u), arg %s: size %u flags 0x%x file_fd %d [%s] fd_flags 0x%x offset %llu length %llu heap %s __pad %u reserved 0x%llx progress_addr 0x%llx%s",
		 cmd, c->dir, c->nr, c->usize, loc, c->l.size, c->l.flags,
		 c->l.file_fd, c->f->name, c->l.fd_flags,
		 (unsigned long long)c->l.offset,
		 (unsigned long long)c->l.length, heap, c->l.__pad,
		 (unsigned long long)c->l.reserved[0],
		 (unsigned long long)c->l.progress_addr,
		 c->tail_nonzero ? " non-zero byte past 168" : "");
}

static void fuzz_load(void)
{
	static const unsigned int odd_sizes[] = { 0, 8, 127, 169, 256, 4096 };
	static const unsigned int bad_dirs[] = {
		_IOC_WRITE, _IOC_READ, _IOC_NONE,
	};
	int near = chance(40) ? (int)rnd(2 * LF_COUNT) : -1;
	struct heapload_load *out;
	struct load_call c;
	struct eset allow;
	bool sane[LF_COUNT], may;
	unsigned long cmd;
	uint64_t want, s, off, len, *prog_word = (uint64_t *)(prog_rw + 64);
	char set[200];
	int i, e, fdi;

	for (i = 0; i < LF_COUNT; i++)
		sane[i] = near >= 0 ? near != i : chance(lf_sane_pct[i]);
	memset(&c, 0, sizeof(c));
	c.cap = chance(90) ? LOAD_CAP_SMALL : LOAD_CAP_LARGE;

	c.dir = RW;
	c.usize = chance(60) ? VER1 : VER0;
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
	cmd = _IOC(c.dir, HEAPLOAD_IOC_MAGIC, c.nr, c.usize);

	c.l.size = c.usize;
	if (!sane[LF_SIZE]) {
		const uint32_t v[] = {
			0, c.usize - 1, c.usize + 1, VER0, VER1, 4096, rnd32(),
		};
		c.l.size = PICK(v);
	}
	c.l.flags = rnd(3) == 0 ? 0 : 1U << rnd(2);
	if (!sane[LF_FLAGS]) {
		const uint32_t v[] = {
			HEAPLOAD_LOAD_DIRECT | HEAPLOAD_LOAD_BUFFERED, 1U << 2,
			1U << 31, rnd32() | 4, ~0U, HEAPLOAD_LOAD_DIRECT | 8,
		};
		c.l.flags = PICK(v);
	}
	fdi = sane[LF_FD] ? (int)sane_fx[rnd(nsane)] : (int)rnd(nfx);
	c.f = &fx[fdi];
	c.l.file_fd = c.f->fd;
	c.l.fd_flags = sane[LF_FDFLAGS] ? PICK(sane_fd_flags) : insane_fd_flags();

	s = c.f->isreg ? c.f->size : HL_MIB;
	if (sane[LF_RANGE] && s)
		sane_range(s, c.cap, &off, &len);
	else
		insane_range(s, &off, &len);
	clamp_range(s, c.cap, &off, &len);
	c.l.offset = off;
	c.l.length = len;

	gen_heap_name(c.l.heap, sane[LF_HEAP]);
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
	if (!sane[LF_OUT]) {	/* out fields: the kernel ignores what they hold */
		c.l.dmabuf_fd = (int32_t)rnd32();
		c.l.loaded = rnd64();
		c.l.buf_size = rnd64();
		c.l.alloc_ns = rnd64();
		c.l.io_ns = rnd64();
		c.l.total_ns = rnd64();
		c.l.batches = rnd32();
		c.l.max_inflight = rnd32();
	}

	memset(content, 0, c.usize);
	memcpy(content, &c.l, c.usize < VER1 ? c.usize : VER1);
	if (c.usize > VER1 && !sane[LF_TAIL]) {
		content[VER1 + rnd(c.usize - VER1)] = 1 + rnd(255);
		c.tail_nonzero = true;
	}
	/* What the kernel sees: the bytes passed, zero-extended. */
	memset(&c.l, 0, sizeof(c.l));
	memcpy(&c.l, content, c.usize < VER1 ? c.usize : VER1);
	if (c.usize < VER1)
		c.prog = PROG_NONE;

	pick_loc(&c.arg, sane[LF_LOC], c.usize, c.usize);
	load_expect(&c, &allow, &may, &want);
	load_desc(&c, cmd);
	*prog_word = 0x5eed5eed5eed5eedULL;

	place(&c.arg);
	e = fuzz_ioctl(loader_fd, cmd, c.arg.p);
	unplace(&c.arg);
	count(A_LOAD, e);

	checked(T_LOAD_DOC);
	if (e && !in_list(load_documented, ARRAY_SIZE(load_documented), e))
		flag(T_LOAD_DOC, "%s is not documented", hl_errname(e));
	checked(T_LOAD_ORACLE);
	es_str(&allow, set, sizeof(set));
	if (!e && !may)
		flag(T_LOAD_ORACLE, "succeeded; expected %s", set);
	else if (e && !es_has(&allow, e))
		flag(T_LOAD_ORACLE, "%s; expected %s%s", hl_errname(e), set,
		     may ? " or success" : "");

	out = NULL;
	if (!e && (c.arg.loc == LOC_GOOD || c.arg.loc == LOC_RO))
		out = (struct heapload_load *)c.arg.p;
	if (out && may) {
		if (out->loaded != want || out->buf_size != hl_page_up(want))
			flag(T_LOAD_ORACLE, "loaded %llu buf_size %llu, expected %llu and %llu",
			     (unsigned long long)out->loaded,
			     (unsigned long long)out->buf_size,
			     (unsigned long long)want,
			     (unsigned long long)hl_page_up(want));
		if (c.prog == PROG_OK && c.l.progress_addr &&
		    *prog_word != out->loaded)
			flag(T_LOAD_ORACLE, "progress word reads %llu after loading %llu bytes",
			     (unsigned long long)*prog_word,
			     (unsigned long long)out->loaded);
	}
	settle_fds(T_LOAD_ORACLE, out ? out->dmabuf_fd : -1, 0,
		   out ? out->buf_size : 0, c.l.fd_flags & O_CLOEXEC);
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
