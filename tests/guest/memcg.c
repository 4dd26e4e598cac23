// SPDX-License-Identifier: GPL-2.0
/*
 * Memory cgroups: heapload,system pages are charged to the caller's
 * memory cgroup (mem_accounting, default on), so that an allocation or
 * a load beyond the cgroup's memory.max fails with ENOMEM inside it,
 * without an OOM kill, and a buffer counts in memory.current while it
 * lives. Reads that work items do for the caller are the caller's too:
 * the page cache of a buffered load is charged to its memory cgroup,
 * the I/O of a direct load to its block cgroup (io.stat). Order-4 pages
 * may reclaim (in the cgroup, its own page cache), as upstream's. The
 * helpers that allocate with the caller (alloc_threads) charge the
 * caller's memory cgroup too, and fail as it does at memory.max.
 *
 * Mounts cgroup2 at /sys/fs/cgroup if nothing is mounted there, makes
 * the cgroup hl_memcg_test with memory.max = 64 MiB and runs each test
 * in a child process moved into it; sets gather_batch_mb and
 * alloc_threads for some and puts them back. Needs root and
 * $HL_DATA/256m.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include "hl_inspect.h"
#include "hl_knobs.h"
#include "hl_test.h"

#define CG_ROOT		"/sys/fs/cgroup"
#define CG_DIR		CG_ROOT "/hl_memcg_test"
#define CG_MAX_MB	64ULL
#define CG_PARAM	HL_MODULE_DIR "/parameters/mem_accounting"
#define CGROUP2_MAGIC	0x63677270

static int heap_fd = -1;
static int loader_fd = -1;

#define HL_STAT_WORKERS		HL_STATS_DIR "/alloc_workers"
#define HL_STAT_PARALLEL	HL_STATS_DIR "/parallel_allocs"
/* Tries of a test that needs the helper to allocate a unit. */
#define PARALLEL_ATTEMPTS	3

/* Module parameters a test sets before its child runs; put back after it. */
enum knob_id { K_BATCH, K_THREADS, K_NR };

static struct hl_knob knob_table[K_NR] = {
	[K_BATCH] = { "gather_batch_mb", HL_PARAM_DIR "gather_batch_mb" },
	[K_THREADS] = { "alloc_threads", HL_PARAM_DIR "alloc_threads" },
};

static struct hl_knobs knobs = { knob_table, K_NR, true };

static int cg_read_u64(const char *file, const char *key, uint64_t *v)
{
	char path[256];

	snprintf(path, sizeof(path), CG_DIR "/%s", file);
	if (key)
		return hl_proc_value(path, key, v);
	return hl_read_u64(path, v);
}

/* Mount cgroup2 if needed, enable the memory controller, make CG_DIR. */
static int cg_setup(void)
{
	struct statfs fs;
	char buf[32];
	int e;

	if (statfs(CG_ROOT, &fs) || fs.f_type != CGROUP2_MAGIC) {
		mkdir(CG_ROOT, 0755);
		if (mount("cgroup2", CG_ROOT, "cgroup2", 0, NULL))
			return ktap_skip("cannot mount cgroup2 at %s: %s", CG_ROOT,
					 strerror(errno));
	}
	e = hl_write_str(CG_ROOT "/cgroup.subtree_control", "+memory");
	if (e)
		return ktap_skip("no memory controller in cgroup2: %s",
				 hl_errname(e));
	/* The io controller is optional: its test skips without it. */
	hl_write_str(CG_ROOT "/cgroup.subtree_control", "+io");
	if (mkdir(CG_DIR, 0755) && errno != EEXIST)
		return ktap_fail("mkdir %s: %s", CG_DIR, strerror(errno));
	snprintf(buf, sizeof(buf), "%llu", CG_MAX_MB * HL_MIB);
	e = hl_write_str(CG_DIR "/memory.max", buf);
	if (e)
		return ktap_fail("memory.max=%s: %s", buf, hl_errname(e));
	/* No swap: the limit must bite on heap pages, not be swapped around. */
	hl_write_str(CG_DIR "/memory.swap.max", "0");
	return KTAP_PASS;
}

/*
 * Run @fn in a child moved into CG_DIR; its exit code is the result, and
 * the reason it gives comes back through a shared page. The child's ktap
 * messages go to the same stdout.
 */
static int in_cgroup(int (*fn)(void))
{
	char buf[32], *why;
	int status, e, r;
	pid_t pid;

	why = mmap(NULL, sizeof(ktap_reason), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (why == MAP_FAILED)
		return ktap_fail("mmap: %s", strerror(errno));
	why[0] = '\0';
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		munmap(why, sizeof(ktap_reason));
		return ktap_fail("fork: %s", strerror(errno));
	}
	if (!pid) {
		snprintf(buf, sizeof(buf), "%d", getpid());
		e = hl_write_str(CG_DIR "/cgroup.procs", buf);
		if (e)
			r = ktap_fail("joining %s: %s", CG_DIR, hl_errname(e));
		else
			r = fn();
		snprintf(why, sizeof(ktap_reason), "%s", ktap_reason);
		_exit(r);
	}
	if (waitpid(pid, &status, 0) != pid)
		r = ktap_fail("waitpid: %s", strerror(errno));
	else if (WIFSIGNALED(status))
		r = ktap_fail("the child in %s was killed by signal %d",
			      CG_DIR, WTERMSIG(status));
	else
		r = ktap_why(WEXITSTATUS(status), "%s", why);
	munmap(why, sizeof(ktap_reason));
	return r;
}

static int alloc_over_limit(void)
{
	int fd = -1, e = hl_heap_alloc(heap_fd, 4 * CG_MAX_MB * HL_MIB,
				       O_RDWR | O_CLOEXEC, 0, &fd);

	if (!e) {
		close(fd);
		return ktap_fail("%llu MiB allocated in a cgroup of %llu MiB",
				 4 * CG_MAX_MB, CG_MAX_MB);
	}
	if (e != ENOMEM)
		return ktap_fail("%llu MiB in a cgroup of %llu MiB: %s, expected ENOMEM",
				 4 * CG_MAX_MB, CG_MAX_MB, hl_errname(e));
	return KTAP_PASS;
}

static int alloc_charged(void)
{
	const uint64_t len = 16 * HL_MIB;
	uint64_t before, during;
	int fd = -1, e, r;

	r = cg_read_u64("memory.current", NULL, &before);
	if (r)
		return ktap_fail("memory.current: %s", hl_errname(r));
	e = hl_heap_alloc(heap_fd, len, O_RDWR | O_CLOEXEC, 0, &fd);
	if (e)
		return ktap_fail("16 MiB in a cgroup of %llu MiB: %s", CG_MAX_MB,
				 hl_errname(e));
	r = cg_read_u64("memory.current", NULL, &during);
	close(fd);
	if (r)
		return ktap_fail("memory.current: %s", hl_errname(r));
	if (during < before + len)
		return ktap_fail("memory.current went from %" PRIu64 " to %" PRIu64
				 " with a 16 MiB buffer alive: not charged",
				 before, during);
	return KTAP_PASS;
}

static int load_over_limit(void)
{
	struct heapload_load l;
	char path[512];
	int fd, e;

	hl_data_path(path, sizeof(path), "256m");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ktap_skip("open %s: %s", path, strerror(errno));
	hl_load_init(&l, fd, HEAPLOAD_LOAD_DIRECT, 0, 0);
	e = hl_ioctl(loader_fd, HEAPLOAD_IOC_LOAD, &l);
	close(fd);
	if (!e) {
		close(l.dmabuf_fd);
		return ktap_fail("256 MiB loaded in a cgroup of %llu MiB", CG_MAX_MB);
	}
	if (e != ENOMEM)
		return ktap_fail("load of 256 MiB in a cgroup of %llu MiB: %s, expected ENOMEM",
				 CG_MAX_MB, hl_errname(e));
	return KTAP_PASS;
}

/* Sum of rbytes= over the devices of io.stat; 0 or the errno. */
/*
 * Order-4 pages may reclaim, as with upstream's MID_ORDER_GFP: in a
 * cgroup filled to its memory.max with its own page cache, an allocation
 * still gets them, its charges reclaiming the cgroup's cache. With the
 * no-reclaim mask of order 8 their first charge fails and the whole
 * buffer falls back to single pages.
 */
static int mid_order_reclaims(void)
{
	const uint64_t len = 8 * HL_MIB;
	uint64_t mid = 16 * (uint64_t)sysconf(_SC_PAGESIZE), cur, got = 0;
	static char block[1 << 20];
	struct hl_inspect in;
	char path[512];
	int fd, dfd = -1, e, r;
	unsigned int i;
	ssize_t n;

	if (access(HL_INSPECT, W_OK))
		return ktap_skip("no %s (a test build of heapload)", HL_INSPECT);
	hl_data_path(path, sizeof(path), "256m");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ktap_skip("open %s: %s", path, strerror(errno));
	if (hl_write_str("/proc/sys/vm/drop_caches", "3"))
		ktap_print_msg("drop_caches failed");
	while ((n = read(fd, block, sizeof(block))) > 0)
		;
	close(fd);
	if (n < 0)
		return ktap_fail("reading %s: %s", path, strerror(errno));
	e = cg_read_u64("memory.current", NULL, &cur);
	if (e)
		return ktap_fail("memory.current: %s", hl_errname(e));
	ktap_print_msg("memory.current %" PRIu64 " KiB of %llu MiB after reading 256m",
		       cur >> 10, CG_MAX_MB);
	e = hl_heap_alloc(heap_fd, len, O_RDWR | O_CLOEXEC, 0, &dfd);
	if (e)
		return ktap_fail("8 MiB in a full cgroup of %llu MiB: %s",
				 CG_MAX_MB, hl_errname(e));
	r = hl_inspect(dfd, &in);
	close(dfd);
	if (r)
		return r;
	for (i = 0; i < in.n; i++)
		if (in.chunk[i].len == mid)
			got += mid;
	hl_inspect_free(&in);
	ktap_print_msg("%" PRIu64 " KiB of 8 MiB in %" PRIu64 " KiB pages",
		       got >> 10, mid >> 10);
	if (got < len / 2)
		return ktap_fail("only %" PRIu64 " KiB of 8 MiB in %" PRIu64
				 " KiB pages: order-4 allocations did not reclaim",
				 got >> 10, mid >> 10);
	return KTAP_PASS;
}

static int cg_io_rbytes(uint64_t *sum)
{
	char line[512], *p;
	FILE *f = fopen(CG_DIR "/io.stat", "re");

	if (!f)
		return errno;
	*sum = 0;
	while (fgets(line, sizeof(line), f)) {
		p = strstr(line, " rbytes=");
		if (p)
			*sum += strtoull(p + 8, NULL, 10);
	}
	fclose(f);
	return 0;
}

/*
 * Load 8m with 1 MiB gather batches (set by the parent), so that work
 * items read it, not the caller; keep the buffer while @after looks.
 */
static int load_8m(uint32_t flags, int (*after)(void *), void *arg)
{
	struct heapload_load l;
	char path[512];
	int fd, e, r;

	hl_data_path(path, sizeof(path), "8m");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ktap_skip("open %s: %s", path, strerror(errno));
	hl_load_init(&l, fd, flags, 0, 0);
	e = hl_ioctl(loader_fd, HEAPLOAD_IOC_LOAD, &l);
	close(fd);
	if (e)
		return ktap_fail("load of 8m in the cgroup: %s", hl_errname(e));
	if (l.batches < 2)
		ktap_print_msg("only %u batch: the caller's thread read it", l.batches);
	r = after(arg);
	close(l.dmabuf_fd);
	return r;
}

static int read_current(void *arg)
{
	return cg_read_u64("memory.current", NULL, arg) ?
	       ktap_fail("memory.current unreadable") : KTAP_PASS;
}

/*
 * What memory.current may grow less than the memory charged: 1 MiB, and
 * what the per-CPU charge caches may have charged ahead before (up to
 * MEMCG_CHARGE_BATCH, 64 pages, per CPU: 1 MiB a CPU with 16 KiB pages).
 */
static uint64_t charge_slack(void)
{
	return HL_MIB + 64 * HL_PAGE * (uint64_t)sysconf(_SC_NPROCESSORS_CONF);
}

/* The page cache of a buffered load is the caller's, like its buffer. */
static int page_cache_charged(void)
{
	uint64_t before, during = 0, slack;
	int r;

	if (hl_write_str("/proc/sys/vm/drop_caches", "3"))
		return ktap_fail("drop_caches failed");
	r = cg_read_u64("memory.current", NULL, &before);
	if (r)
		return ktap_fail("memory.current: %s", hl_errname(r));
	r = load_8m(HEAPLOAD_LOAD_BUFFERED, read_current, &during);
	if (r)
		return r;
	/*
	 * 8 MiB of buffer and 8 MiB of page cache, less the slack. Not
	 * charged here, the page cache would leave 8 MiB.
	 */
	slack = charge_slack();
	if (slack > 7 * HL_MIB)		/* must still tell 16 MiB from 8 */
		slack = 7 * HL_MIB;
	if (during + slack < before + 16 * HL_MIB)
		return ktap_fail("memory.current went from %" PRIu64 " to %" PRIu64
				 " with 8m loaded buffered: the page cache the "
				 "work items read into is not charged here",
				 before, during);
	return KTAP_PASS;
}

static int read_rbytes(void *arg)
{
	return cg_io_rbytes(arg) ? ktap_fail("io.stat unreadable") : KTAP_PASS;
}

/* The I/O of a direct load is the caller's block cgroup's. */
static int io_charged(void)
{
	uint64_t before, after = 0;
	int r;

	if (cg_io_rbytes(&before))
		return ktap_skip("no io.stat: io controller not enabled");
	r = load_8m(HEAPLOAD_LOAD_DIRECT, read_rbytes, &after);
	if (r)
		return r;
	if (after < before + 8 * HL_MIB)
		return ktap_fail("io.stat rbytes went from %" PRIu64 " to %" PRIu64
				 " for a direct load of 8 MiB: the work items' reads "
				 "are not charged here", before, after);
	return KTAP_PASS;
}

/* ---- allocation on several threads: alloc_threads 2, 4 MiB units ---- */

#define PARALLEL_MB	48ULL
#define OVER_MB		96ULL

/* No helper allocates once an allocation or load has returned. */
static int no_alloc_workers(void)
{
	uint64_t w;
	int e = hl_read_u64(HL_STAT_WORKERS, &w);

	if (e)
		return ktap_fail("reading %s: %s", HL_STAT_WORKERS, hl_errname(e));
	if (w)
		return ktap_fail("alloc_workers %" PRIu64 " after the call returned, expected 0",
				 w);
	return KTAP_PASS;
}

/*
 * A PARALLEL_MB buffer of 18 units on two threads (4 MiB ones, the last
 * two cut in 1 MiB ones) is the caller's: the helper's units count in
 * memory.current as the caller's do. Page cache left by earlier tests is
 * dropped first, so that what the allocation reclaims does not hide a
 * charge. Where the caller allocates every unit before the helper runs
 * (parallel_allocs does not grow), try again; skip after
 * PARALLEL_ATTEMPTS.
 */
static int alloc_parallel_charged(void)
{
	const uint64_t len = PARALLEL_MB * HL_MIB, slack = charge_slack();
	uint64_t before, during, p0, p1;
	int fd = -1, i, e, r;

	for (i = 0; i < PARALLEL_ATTEMPTS; i++) {
		if (hl_write_str("/proc/sys/vm/drop_caches", "3"))
			return ktap_fail("drop_caches failed");
		e = cg_read_u64("memory.current", NULL, &before);
		if (!e)
			e = hl_read_u64(HL_STAT_PARALLEL, &p0);
		if (e)
			return ktap_fail("memory.current or parallel_allocs: %s",
					 hl_errname(e));
		e = hl_heap_alloc(heap_fd, len, O_RDWR | O_CLOEXEC, 0, &fd);
		r = no_alloc_workers();
		if (e)
			return ktap_fail("%llu MiB on two threads in a cgroup of %llu MiB: %s",
					 PARALLEL_MB, CG_MAX_MB, hl_errname(e));
		e = cg_read_u64("memory.current", NULL, &during);
		close(fd);
		if (r)
			return r;
		if (!e)
			e = hl_read_u64(HL_STAT_PARALLEL, &p1);
		if (e)
			return ktap_fail("memory.current or parallel_allocs: %s",
					 hl_errname(e));
		ktap_print_msg("memory.current %" PRIu64 " KiB before, %" PRIu64
			       " KiB with the buffer; parallel_allocs +%" PRIu64,
			       before >> 10, during >> 10, p1 - p0);
		if (during + slack < before + len)
			return ktap_fail("memory.current went from %" PRIu64 " to %" PRIu64
					 " with a %llu MiB buffer alive (slack %" PRIu64
					 "): not all of it charged here",
					 before, during, PARALLEL_MB, slack);
		if (p1 != p0)
			return KTAP_PASS;
		ktap_print_msg("attempt %d: the caller allocated every unit", i + 1);
	}
	return ktap_skip("the helper allocated no unit in %d allocations of %llu MiB (a busy machine?): its charge is untested",
			 PARALLEL_ATTEMPTS, PARALLEL_MB);
}

/* oom_kill of memory.events into *@v; a ktap result. */
static int cg_oom_kills(uint64_t *v)
{
	int e = cg_read_u64("memory.events", "oom_kill", v);

	if (e)
		return ktap_fail("oom_kill in memory.events: %s", hl_errname(e));
	return KTAP_PASS;
}

/*
 * The end of an allocation or load of OVER_MB that failed with @e (0 if
 * it succeeded) beyond the cgroup's memory.max: ENOMEM, no helper left,
 * and no OOM kill in the cgroup since @oom0. @what names the call.
 */
static int over_limit_result(int e, const char *what, uint64_t oom0)
{
	uint64_t oom1;
	int r = no_alloc_workers();

	if (!r && !e)
		r = ktap_fail("%s: %llu MiB in a cgroup of %llu MiB", what,
			      OVER_MB, CG_MAX_MB);
	if (!r && e != ENOMEM)
		r = ktap_fail("%s of %llu MiB in a cgroup of %llu MiB: %s, expected ENOMEM",
			      what, OVER_MB, CG_MAX_MB, hl_errname(e));
	if (!r)
		r = cg_oom_kills(&oom1);
	if (!r && oom1 != oom0)
		r = ktap_fail("%s: memory.events oom_kill went from %" PRIu64
			      " to %" PRIu64, what, oom0, oom1);
	return r;
}

static int alloc_parallel_over_limit(void)
{
	uint64_t oom0;
	int fd = -1, e, r;

	r = cg_oom_kills(&oom0);
	if (r)
		return r;
	e = hl_heap_alloc(heap_fd, OVER_MB * HL_MIB, O_RDWR | O_CLOEXEC, 0, &fd);
	if (!e)
		close(fd);
	return over_limit_result(e, "allocation on two threads", oom0);
}

/* OVER_MB of 256m: a load of 30 units on two threads (22 of 4 MiB, 8 of 1). */
static int load_parallel_over_limit(void)
{
	struct heapload_load l;
	char path[512];
	uint64_t oom0;
	int fd, e, r;

	hl_data_path(path, sizeof(path), "256m");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ktap_skip("open %s: %s", path, strerror(errno));
	r = cg_oom_kills(&oom0);
	if (r) {
		close(fd);
		return r;
	}
	hl_load_init(&l, fd, HEAPLOAD_LOAD_DIRECT, 0, OVER_MB * HL_MIB);
	e = hl_ioctl(loader_fd, HEAPLOAD_IOC_LOAD, &l);
	close(fd);
	if (!e)
		close(l.dmabuf_fd);
	return over_limit_result(e, "direct load on two threads", oom0);
}

/**
 * struct cg_case - a test run in a child inside the test cgroup
 * @fn:		the test, in the child; its result is the child's exit code
 * @batch_mb:	gather_batch_mb to set first (1: work items read the
 *		batches of a load; 4: units of a parallel allocation), or 0
 * @threads:	alloc_threads to set first, or 0 to leave it
 */
struct cg_case {
	int (*fn)(void);
	unsigned int batch_mb;
	unsigned int threads;
};

/* The parameters are the module's, set here and put back by the caller. */
static int t_in_cgroup(const void *arg)
{
	const struct cg_case *c = arg;
	int r = KTAP_PASS;

	if (c->batch_mb)
		r = hl_knob_set(&knobs, K_BATCH, c->batch_mb);
	if (!r && c->threads)
		r = hl_knob_set(&knobs, K_THREADS, c->threads);
	if (!r && c->threads && (access(HL_STAT_WORKERS, R_OK) ||
				 access(HL_STAT_PARALLEL, R_OK)))
		r = ktap_fail("no %s or %s", HL_STAT_WORKERS, HL_STAT_PARALLEL);
	return r ? r : in_cgroup(c->fn);
}

static const struct cg_case cg_alloc_over = { alloc_over_limit, 0, 0 };
static const struct cg_case cg_alloc_charged = { alloc_charged, 0, 0 };
static const struct cg_case cg_load_over = { load_over_limit, 0, 0 };
static const struct cg_case cg_page_cache = { page_cache_charged, 1, 0 };
static const struct cg_case cg_io = { io_charged, 1, 0 };
static const struct cg_case cg_mid_order = { mid_order_reclaims, 0, 0 };
static const struct cg_case cg_par_charged = { alloc_parallel_charged, 4, 2 };
static const struct cg_case cg_par_alloc_over = { alloc_parallel_over_limit,
						  4, 2 };
static const struct cg_case cg_par_load_over = { load_parallel_over_limit,
						 4, 2 };

/* Nobody was OOM-killed, in the cgroup or outside it. */
static uint64_t oom_kills_start;

static int t_no_oom_kill(const void *arg)
{
	uint64_t now, in_cg = 0;
	int e;

	(void)arg;
	e = hl_proc_value("/proc/vmstat", "oom_kill", &now);
	if (e)
		return ktap_fail("oom_kill in /proc/vmstat: %s", hl_errname(e));
	cg_read_u64("memory.events", "oom_kill", &in_cg);
	if (now != oom_kills_start || in_cg)
		return ktap_fail("OOM kills: system %" PRIu64 " -> %" PRIu64
				 ", in the cgroup %" PRIu64, oom_kills_start, now,
				 in_cg);
	return KTAP_PASS;
}

static int t_no_leak(const void *arg)
{
	(void)arg;
	return hl_check_no_leak("after the cgroup tests");
}

static int t_knobs_restored(const void *arg)
{
	(void)arg;
	return hl_knobs_restored(&knobs);
}

static const struct hl_test tests[] = {
	{ "alloc_beyond_memcg_limit_enomem", t_in_cgroup, &cg_alloc_over },
	{ "alloc_charged_to_caller_memcg", t_in_cgroup, &cg_alloc_charged },
	{ "load_beyond_memcg_limit_enomem", t_in_cgroup, &cg_load_over },
	{ "buffered_load_page_cache_charged_to_caller_memcg", t_in_cgroup,
	  &cg_page_cache },
	{ "direct_load_io_charged_to_caller_blkcg", t_in_cgroup, &cg_io },
	{ "order4_pages_reclaim_in_full_memcg", t_in_cgroup, &cg_mid_order },
	{ "alloc_parallel_charged_to_caller_memcg", t_in_cgroup,
	  &cg_par_charged },
	{ "alloc_parallel_beyond_memcg_limit_enomem_no_oom_kill", t_in_cgroup,
	  &cg_par_alloc_over },
	{ "load_parallel_beyond_memcg_limit_enomem_no_oom_kill", t_in_cgroup,
	  &cg_par_load_over },
	{ "no_oom_kill", t_no_oom_kill, NULL },
	{ "no_leak_after_cgroup_tests", t_no_leak, NULL },
	{ "params_restored", t_knobs_restored, NULL },
};

#define N_TESTS	(sizeof(tests) / sizeof(tests[0]))

static int t_present(void)
{
	char word[8] = "";
	int r;

	r = hl_precondition_module();
	if (r)
		return r;
	/* Charging is the default: only an explicit mem_accounting=0 skips. */
	if (!hl_read_word(CG_PARAM, word, sizeof(word)) && word[0] == 'N') {
		hl_precondition_skip("mem_accounting is off");
		return ktap_skip("%s", hl_precondition_why);
	}
	heap_fd = open(HL_HEAP_PATH, O_RDWR | O_CLOEXEC);
	loader_fd = open(HL_LOADER_PATH, O_RDWR | O_CLOEXEC);
	if (heap_fd < 0 || loader_fd < 0) {
		hl_precondition_skip("%s or %s unusable", HL_HEAP_PATH,
				     HL_LOADER_PATH);
		return ktap_fail("open %s / %s: %s", HL_HEAP_PATH, HL_LOADER_PATH,
				 strerror(errno));
	}
	hl_proc_value("/proc/vmstat", "oom_kill", &oom_kills_start);
	r = cg_setup();
	if (r)
		hl_precondition_skip("no memory cgroup to test in");
	return r;
}

int main(void)
{
	ktap_print_header();
	ktap_set_plan(1 + N_TESTS);
	hl_knobs_save(&knobs);
	ktap_report("memcg_test_cgroup_ready", t_present());
	hl_knobs_run_table(&knobs, tests, N_TESTS);
	if (heap_fd >= 0)
		close(heap_fd);
	if (loader_fd >= 0)
		close(loader_fd);
	rmdir(CG_DIR);
	ktap_finished();
}
