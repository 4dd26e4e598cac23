// SPDX-License-Identifier: GPL-2.0
/*
 * Resource behaviour of heapload under pressure:
 *  - a process killed in the middle of a load leaves nothing allocated;
 *  - the max_alloc_mb limit and the memory available give ENOMEM, fast
 *    and without waking the OOM killer, also to requests that together
 *    (one still loading) ask for more than is available;
 *  - max_alloc_mb refuses bad writes and keeps its value.
 *
 * Changes max_alloc_mb while it runs and restores it before exiting.
 * Needs root and $HL_DATA/256m (default /data).
 */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <sys/fanotify.h>
#include <sys/wait.h>

#include "hl_test.h"
#include "hl_kill.h"

/* A limit check must answer long before 1 GiB could be zeroed. */
#define FAST_MS			2000
/* Kills tried before a kill test skips: each load may finish first. */
#define KILL_ATTEMPTS		3
#define SMALL_LIMIT_MB		4
#define HUGE_LIMIT_MB		"1000000"
#define BEYOND_RAM		(16ULL << 30)

static uint64_t orig_limit_mb;

static int set_limit_mb(uint64_t mb)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, mb);
	return hl_write_str(HL_PARAM_MAX_MB, buf);
}

/* Put max_alloc_mb back; a failure here is reported by the last tests. */
static void restore_limit(void)
{
	int e = set_limit_mb(orig_limit_mb);

	if (e)
		ktap_print_msg("restoring max_alloc_mb to %" PRIu64 ": %s",
			       orig_limit_mb, hl_errname(e));
}

/* A sparse regular file of @size bytes that costs no memory to read. */
static int make_memfd(uint64_t size, int *fd)
{
	*fd = memfd_create("heapload-stress", MFD_CLOEXEC);
	if (*fd < 0)
		return ktap_fail("memfd_create: %s", strerror(errno));
	if (ftruncate(*fd, size)) {
		close(*fd);
		return ktap_fail("ftruncate memfd to %" PRIu64 ": %s", size,
				 strerror(errno));
	}
	return KTAP_PASS;
}

/* Load all of @file_fd buffered; returns the errno, closes any buffer. */
static int load_errno(int file_fd)
{
	struct heapload_load l;
	int dev, e;

	dev = open(HL_LOADER_PATH, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return errno;
	hl_load_init(&l, file_fd, HEAPLOAD_LOAD_BUFFERED, 0, 0);
	e = hl_ioctl(dev, HEAPLOAD_IOC_LOAD, &l);
	if (!e)
		close(l.dmabuf_fd);
	close(dev);
	return e;
}

static int alloc_errno(uint64_t len)
{
	int fd, dfd, e;

	fd = open(HL_HEAP_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno;
	e = hl_heap_alloc(fd, len, O_RDWR | O_CLOEXEC, 0, &dfd);
	if (!e)
		close(dfd);
	close(fd);
	return e;
}

/*
 * Wait up to 30 s for the module's counters to read @b0 and @n0 again;
 * @when starts the failure's diagnostic.
 */
static int stats_back_to(uint64_t b0, uint64_t n0, const char *when)
{
	uint64_t b, n;

	if (hl_wait_stats(b0, n0, 30000, &b, &n))
		return ktap_fail("%s: allocated_bytes %" PRIu64 " buffers %"
				 PRIu64 ", expected %" PRIu64 " and %" PRIu64,
				 when, b, n, b0, n0);
	return KTAP_PASS;
}

/* OOM kills since /proc/vmstat counted @oom0; 0 if it is unreadable now. */
static uint64_t oom_kills_since(uint64_t oom0)
{
	uint64_t oom1;

	if (hl_proc_value("/proc/vmstat", "oom_kill", &oom1))
		return 0;
	return oom1 - oom0;
}

/* ---- (a) SIGKILL in the middle of a load ---- */

static void __attribute__((noreturn)) child_load(int wfd, uint32_t flags)
{
	struct heapload_load l;
	char path[512];
	int dev, ffd, e;

	hl_data_path(path, sizeof(path), "256m");
	ffd = open(path, O_RDONLY);
	dev = open(HL_LOADER_PATH, O_RDWR);
	if (ffd < 0 || dev < 0) {
		e = errno;
	} else {
		hl_load_init(&l, ffd, flags, 0, 0);
		e = hl_ioctl(dev, HEAPLOAD_IOC_LOAD, &l);
	}
	/* Tell the parent the load is over, then hold the buffer. */
	if (write(wfd, &e, sizeof(e)) != sizeof(e))
		_exit(2);
	pause();
	_exit(0);
}

/*
 * One attempt: returns KTAP_PASS/FAIL, or KTAP_SKIP when the load was
 * complete before the kill landed (then nothing was tested mid-load).
 */
static uint64_t kill_b0;

/* The load runs: more heap memory allocated than before it. */
static bool load_allocating(void)
{
	uint64_t b, n;

	return !hl_stats(&b, &n) && b > kill_b0;
}

static int kill_attempt(uint32_t flags, uint64_t b0, uint64_t n0)
{
	struct hl_kill k;
	uint64_t m0;
	int stats, r = hl_memfree_before(&m0);

	if (r)
		return r;
	kill_b0 = b0;
	r = hl_kill_mid_load(child_load, flags, load_allocating, 500, &k);
	if (r)
		return r;

	if (k.report > 0)
		return ktap_fail("the load itself failed: %s", hl_errname(k.report));
	if (!k.seen && k.report < 0)
		return ktap_fail("no allocation seen in allocated_bytes within 60 s");
	if (!WIFSIGNALED(k.status) || WTERMSIG(k.status) != SIGKILL)
		r = ktap_fail("child did not die of SIGKILL (status 0x%x)",
			      k.status);
	ktap_print_msg("child died %" PRIu64 " ms after SIGKILL", k.died_ms);

	stats = stats_back_to(b0, n0, "30 s after the kill");
	if (stats)
		return stats;
	if (k.report == 0)
		return ktap_skip("load finished before the kill");
	if (r)
		return r;
	return hl_memfree_back(m0);
}

static int sigkill_mid_load(uint32_t flags)
{
	char path[512];
	uint64_t b0, n0;
	int i, r = KTAP_SKIP, e;

	hl_data_path(path, sizeof(path), "256m");
	if (access(path, R_OK))
		return ktap_skip("test data %s missing", path);
	e = hl_stats(&b0, &n0);
	if (e)
		return ktap_fail("reading %s: %s", HL_STATS_DIR, hl_errname(e));
	for (i = 0; i < KILL_ATTEMPTS; i++) {
		r = kill_attempt(flags, b0, n0);
		if (r != KTAP_SKIP)
			return r;
		ktap_print_msg("attempt %d: %s", i + 1, ktap_reason);
	}
	return ktap_skip("load of %s finished before SIGKILL in %d attempts; "
			 "mid-load cleanup untested", path, KILL_ATTEMPTS);
}

static int t_sigkill_buffered(void)
{
	return sigkill_mid_load(HEAPLOAD_LOAD_BUFFERED);
}

static int t_sigkill_direct(void)
{
	return sigkill_mid_load(HEAPLOAD_LOAD_DIRECT);
}

/* ---- (b) limits ---- */

static int t_default_half_of_ram(void)
{
	uint64_t total_kb, half_mb;

	if (hl_proc_value("/proc/meminfo", "MemTotal", &total_kb))
		return ktap_fail("no MemTotal in /proc/meminfo");
	half_mb = total_kb / 2 / 1024;
	ktap_print_msg("max_alloc_mb %" PRIu64 ", half of MemTotal %" PRIu64 " MiB",
		       orig_limit_mb, half_mb);
	/* Half of totalram or of the installed RAM: within 10 %. */
	if (orig_limit_mb * 10 < half_mb * 9 || orig_limit_mb * 10 > half_mb * 11)
		return ktap_fail("max_alloc_mb %" PRIu64 " is not about half of RAM (%" PRIu64 " MiB)",
				 orig_limit_mb, half_mb);
	return KTAP_PASS;
}

static int with_small_limit(int (*fn)(void))
{
	int e = set_limit_mb(SMALL_LIMIT_MB), r;

	if (e == EACCES || e == EPERM)
		return ktap_skip("writing max_alloc_mb needs root");
	if (e)
		return ktap_fail("writing max_alloc_mb=%d: %s", SMALL_LIMIT_MB,
				 hl_errname(e));
	r = fn();
	restore_limit();
	return r;
}

static int alloc_at_limit(void)
{
	int e = alloc_errno(SMALL_LIMIT_MB * HL_MIB);

	if (e)
		return ktap_fail("alloc of exactly max_alloc_mb (%d MiB): %s",
				 SMALL_LIMIT_MB, hl_errname(e));
	return KTAP_PASS;
}

static int alloc_over_limit(void)
{
	int e = alloc_errno(SMALL_LIMIT_MB * HL_MIB + HL_PAGE);

	if (e != ENOMEM)
		return ktap_fail("alloc of max_alloc_mb + a page: %s, expected ENOMEM",
				 hl_errname(e));
	return KTAP_PASS;
}

static int load_size_errno(uint64_t size, int want)
{
	int fd, e, r = make_memfd(size, &fd);

	if (r)
		return r;
	e = load_errno(fd);
	close(fd);
	if (e != want)
		return ktap_fail("load of a %" PRIu64 "-byte file with max_alloc_mb %d: %s, expected %s",
				 size, SMALL_LIMIT_MB, hl_errname(e),
				 hl_errname(want));
	return KTAP_PASS;
}

static int load_at_limit(void)
{
	return load_size_errno(SMALL_LIMIT_MB * HL_MIB, 0);
}

/* One byte over: the buffer is rounded up to a page past the limit. */
static int load_over_limit(void)
{
	return load_size_errno(SMALL_LIMIT_MB * HL_MIB + 1, ENOMEM);
}

static int t_alloc_at_limit(void)	{ return with_small_limit(alloc_at_limit); }
static int t_alloc_over_limit(void)	{ return with_small_limit(alloc_over_limit); }
static int t_load_at_limit(void)	{ return with_small_limit(load_at_limit); }
static int t_load_over_limit(void)	{ return with_small_limit(load_over_limit); }

/* A request over the default limit must fail with ENOMEM within FAST_MS. */
static int enomem_fast(const char *what, int e, uint64_t ms)
{
	if (e != ENOMEM)
		return ktap_fail("%s: %s, expected ENOMEM", what, hl_errname(e));
	if (ms > FAST_MS)
		return ktap_fail("ENOMEM took %" PRIu64 " ms: limit checked after allocating?",
				 ms);
	return KTAP_PASS;
}

static int t_alloc_over_default_fast(void)
{
	uint64_t len = orig_limit_mb * HL_MIB + HL_PAGE, t0, ms;
	char what[64];
	int e;

	t0 = hl_now_ms();
	e = alloc_errno(len);
	ms = hl_now_ms() - t0;
	snprintf(what, sizeof(what), "alloc of %" PRIu64 " MiB + a page",
		 orig_limit_mb);
	return enomem_fast(what, e, ms);
}

static int t_load_over_default_fast(void)
{
	uint64_t size = orig_limit_mb * HL_MIB + 1, t0, ms;
	int fd, e, r = make_memfd(size, &fd);
	char what[64];

	if (r)
		return r;
	t0 = hl_now_ms();
	e = load_errno(fd);
	ms = hl_now_ms() - t0;
	close(fd);
	snprintf(what, sizeof(what), "load of a %" PRIu64 " MiB + 1 byte file",
		 orig_limit_mb);
	return enomem_fast(what, e, ms);
}

struct beyond_ram {
	bool load;		/* HEAPLOAD_IOC_LOAD, else DMA_HEAP_IOCTL_ALLOC */
	int err;		/* out: errno of the request */
	uint64_t ms;		/* out: how long it took */
};

static void child_beyond_ram(int wfd, bool load)
{
	struct beyond_ram res = { .load = load };
	uint64_t t0 = hl_now_ms();
	int fd;

	if (load) {
		fd = memfd_create("heapload-stress", MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, BEYOND_RAM))
			res.err = -errno;
		else
			res.err = load_errno(fd);
	} else {
		res.err = alloc_errno(BEYOND_RAM);
	}
	res.ms = hl_now_ms() - t0;
	if (write(wfd, &res, sizeof(res)) != sizeof(res))
		_exit(2);
	_exit(0);
}

/*
 * The request runs in a child: if the OOM killer wakes up, the victim
 * could be anyone, and the parent must survive to report it.
 */
static int beyond_ram(bool load)
{
	uint64_t oom0, oom, b0, n0;
	struct beyond_ram res;
	int pfd[2], status, e, r = KTAP_PASS;
	ssize_t got;
	pid_t pid;

	if (hl_proc_value("/proc/vmstat", "oom_kill", &oom0))
		return ktap_fail("no oom_kill in /proc/vmstat");
	e = hl_stats(&b0, &n0);
	if (e)
		return ktap_fail("reading %s: %s", HL_STATS_DIR, hl_errname(e));
	e = hl_write_str(HL_PARAM_MAX_MB, HUGE_LIMIT_MB);
	if (e == EACCES || e == EPERM)
		return ktap_skip("writing max_alloc_mb needs root");
	if (e)
		return ktap_fail("writing max_alloc_mb=%s: %s", HUGE_LIMIT_MB,
				 hl_errname(e));
	if (pipe2(pfd, O_CLOEXEC)) {
		restore_limit();
		return ktap_fail("pipe: %s", strerror(errno));
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		restore_limit();
		return ktap_fail("fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(pfd[0]);
		child_beyond_ram(pfd[1], load);
	}
	close(pfd[1]);
	if (hl_reap(pid, 120000, &status)) {
		kill(pid, SIGKILL);
		hl_reap(pid, 60000, &status);
		r = ktap_fail("no answer in 120 s for %llu GiB", BEYOND_RAM >> 30);
	}
	got = read(pfd[0], &res, sizeof(res));
	close(pfd[0]);
	restore_limit();
	oom = oom_kills_since(oom0);
	if (oom)
		return ktap_fail("the OOM killer ran %" PRIu64 " time(s)", oom);
	if (r)
		return r;
	if (WIFSIGNALED(status))
		return ktap_fail("requesting process killed by signal %d",
				 WTERMSIG(status));
	if (got != sizeof(res))
		return ktap_fail("requesting process exited without a result");
	if (res.err < 0)
		return ktap_fail("memfd of 16 GiB: %s", hl_errname(-res.err));
	ktap_print_msg("%s of %llu GiB: %s after %" PRIu64 " ms",
		       load ? "load" : "alloc", BEYOND_RAM >> 30,
		       hl_errname(res.err), res.ms);
	if (res.err != ENOMEM)
		return ktap_fail("%s of %llu GiB: %s, expected ENOMEM",
				 load ? "load" : "alloc", BEYOND_RAM >> 30,
				 hl_errname(res.err));
	return stats_back_to(b0, n0, "after ENOMEM");
}

static int t_alloc_beyond_ram(void)
{
	return beyond_ram(false);
}

static int t_load_beyond_ram(void)
{
	return beyond_ram(true);
}

/*
 * The up-front check against available memory is no reservation: two
 * requests that each fit, but not together, must still end in ENOMEM
 * for one of them and never in the OOM killer. Each child holds its
 * buffer until the parent has both answers.
 */
static void child_hold(int wfd, int gofd, uint64_t len)
{
	struct beyond_ram res = { .load = false };
	uint64_t t0 = hl_now_ms();
	int fd, dfd = -1;
	char c;

	fd = open(HL_HEAP_PATH, O_RDWR | O_CLOEXEC);
	res.err = fd < 0 ? -errno :
		hl_heap_alloc(fd, len, O_RDWR | O_CLOEXEC, 0, &dfd);
	res.ms = hl_now_ms() - t0;
	if (write(wfd, &res, sizeof(res)) != sizeof(res))
		_exit(2);
	/* Returns at EOF, when the parent closes its end. */
	if (read(gofd, &c, 1) < 0)
		_exit(2);
	_exit(0);
}

static int t_concurrent_beyond_ram(void)
{
	uint64_t avail_kb, len, oom0, oom, b0, n0;
	struct beyond_ram res[2];
	int rfd[2], gfd[2], status[2], e, i, nomem = 0, r = KTAP_PASS;
	pid_t pid[2];

	if (hl_proc_value("/proc/meminfo", "MemAvailable", &avail_kb) ||
	    hl_proc_value("/proc/vmstat", "oom_kill", &oom0))
		return ktap_fail("no MemAvailable or oom_kill in /proc");
	e = hl_stats(&b0, &n0);
	if (e)
		return ktap_fail("reading %s: %s", HL_STATS_DIR, hl_errname(e));
	/* Each alone fits; together they need 130 % of what is available. */
	len = avail_kb * 1024 / 100 * 65 & ~(HL_PAGE - 1);
	e = hl_write_str(HL_PARAM_MAX_MB, HUGE_LIMIT_MB);
	if (e)
		return ktap_fail("writing max_alloc_mb=%s: %s", HUGE_LIMIT_MB,
				 hl_errname(e));
	if (pipe2(rfd, O_CLOEXEC) || pipe2(gfd, O_CLOEXEC)) {
		restore_limit();
		return ktap_fail("pipe: %s", strerror(errno));
	}
	fflush(stdout);
	for (i = 0; i < 2; i++) {
		pid[i] = fork();
		if (pid[i] == 0) {
			close(rfd[0]);
			close(gfd[1]);
			child_hold(rfd[1], gfd[0], len);
		}
	}
	close(rfd[1]);
	close(gfd[0]);
	for (i = 0; i < 2 && r == KTAP_PASS; i++) {
		struct pollfd p = { .fd = rfd[0], .events = POLLIN };

		if (poll(&p, 1, 120000) != 1 ||
		    read(rfd[0], &res[i], sizeof(res[i])) != sizeof(res[i]))
			r = ktap_fail("no answer from child %d within 120 s", i);
	}
	close(gfd[1]);		/* let both go; their buffers are freed */
	for (i = 0; i < 2; i++) {
		if (pid[i] < 0)
			continue;
		if (hl_reap(pid[i], 60000, &status[i])) {
			kill(pid[i], SIGKILL);
			hl_reap(pid[i], 60000, &status[i]);
		}
	}
	close(rfd[0]);
	restore_limit();
	oom = oom_kills_since(oom0);
	if (oom)
		return ktap_fail("the OOM killer ran %" PRIu64 " time(s)", oom);
	if (pid[0] < 0 || pid[1] < 0)
		return ktap_fail("fork failed");
	for (i = 0; i < 2; i++)
		if (WIFSIGNALED(status[i]))
			return ktap_fail("child %d killed by signal %d", i,
					 WTERMSIG(status[i]));
	if (r)
		return r;
	for (i = 0; i < 2; i++) {
		ktap_print_msg("concurrent alloc %d of %" PRIu64 " MiB: %s after %" PRIu64 " ms",
			       i, len >> 20, hl_errname(res[i].err < 0 ? -res[i].err : res[i].err),
			       res[i].ms);
		if (res[i].err == ENOMEM)
			nomem++;
		else if (res[i].err)
			return ktap_fail("alloc %d: %s, expected success or ENOMEM",
					 i, hl_errname(res[i].err < 0 ? -res[i].err : res[i].err));
	}
	if (!nomem)
		return ktap_fail("both %" PRIu64 " MiB buffers were allocated at once",
				 len >> 20);
	return stats_back_to(b0, n0, "afterwards");
}

/* ---- (c) the parameter itself ---- */

static int rejects_write(const char *val, const char *shown)
{
	uint64_t before, after;
	int e;

	if (hl_read_u64(HL_PARAM_MAX_MB, &before))
		return ktap_fail("reading max_alloc_mb");
	e = hl_write_str(HL_PARAM_MAX_MB, val);
	if (e == EACCES || e == EPERM)
		return ktap_skip("writing max_alloc_mb needs root");
	if (hl_read_u64(HL_PARAM_MAX_MB, &after))
		return ktap_fail("reading max_alloc_mb");
	if (e != EINVAL) {
		if (!e)
			restore_limit();
		return ktap_fail("writing %s: %s, expected EINVAL", shown,
				 hl_errname(e));
	}
	if (after != before)
		return ktap_fail("value changed from %" PRIu64 " to %" PRIu64
				 " by a refused write of %s", before, after,
				 shown);
	return KTAP_PASS;
}

static int t_rejects_zero(void)
{
	int r = rejects_write("0", "\"0\"");

	return r ? r : rejects_write("0\n", "\"0\\n\"");
}

static int t_rejects_garbage(void)
{
	static const char * const bad[] = { "abc", "-1", "12x", "1.5" };
	size_t i;
	int r = KTAP_PASS;

	for (i = 0; r == KTAP_PASS && i < sizeof(bad) / sizeof(bad[0]); i++)
		r = rejects_write(bad[i], bad[i]);
	return r;
}

static int t_write_reads_back(void)
{
	uint64_t v;
	int e = set_limit_mb(orig_limit_mb);

	if (e == EACCES || e == EPERM)
		return ktap_skip("writing max_alloc_mb needs root");
	if (e)
		return ktap_fail("writing back %" PRIu64 ": %s", orig_limit_mb,
				 hl_errname(e));
	if (hl_read_u64(HL_PARAM_MAX_MB, &v) || v != orig_limit_mb)
		return ktap_fail("wrote %" PRIu64 ", read back %" PRIu64,
				 orig_limit_mb, v);
	return KTAP_PASS;
}

static int t_no_leak(void)
{
	uint64_t b, n;

	if (hl_wait_stats(0, 0, 5000, &b, &n))
		return ktap_fail("allocated_bytes %" PRIu64 " buffers %" PRIu64
				 " after every process let go", b, n);
	return KTAP_PASS;
}

/*
 * A load in progress keeps what it has not allocated yet reserved: while
 * one load of 60 % of the available memory waits for its first read (a
 * fanotify listener holds it), an allocation of another 60 % must fail
 * with ENOMEM at once, though the memory the load has allocated so far
 * would leave room for it; once the load is done and freed it succeeds.
 * Without the reservation both pass the check and race for the memory.
 */
#define RESERVE_FILE	"/tmp/heapload-reserve"

static void __attribute__((noreturn)) child_reserve_load(int wfd)
{
	int fd = open(RESERVE_FILE, O_RDONLY | O_CLOEXEC), e;

	e = fd < 0 ? errno : load_errno(fd);
	if (write(wfd, &e, sizeof(e)) != sizeof(e))
		_exit(2);
	_exit(0);
}

/* Answer every pending permission event of @fan with @response. */
static int answer_events(int fan, uint32_t response, int timeout_ms)
{
	char buf[4096] __attribute__((aligned(8)));
	struct fanotify_event_metadata *m;
	struct pollfd p = { .fd = fan, .events = POLLIN };
	int answered = 0;
	ssize_t n;

	if (poll(&p, 1, timeout_ms) != 1)
		return 0;
	n = read(fan, buf, sizeof(buf));
	for (m = (void *)buf; n > 0 && FAN_EVENT_OK(m, n);
	     m = FAN_EVENT_NEXT(m, n)) {
		struct fanotify_response resp = { .fd = m->fd,
						  .response = response };

		if (m->fd < 0)
			continue;
		if (write(fan, &resp, sizeof(resp)) == sizeof(resp))
			answered++;
		close(m->fd);
	}
	return answered;
}

static int t_reservation_held_by_load(void)
{
	uint64_t avail_kb, len, b0, n0;
	int fan = -1, fd, pfd[2] = { -1, -1 }, e, e_load = -1, status;
	int r = KTAP_PASS;
	struct pollfd p;
	pid_t pid = -1;
	ssize_t n;

	if (hl_proc_value("/proc/meminfo", "MemAvailable", &avail_kb))
		return ktap_fail("no MemAvailable in /proc/meminfo");
	e = hl_stats(&b0, &n0);
	if (e)
		return ktap_fail("reading %s: %s", HL_STATS_DIR, hl_errname(e));
	len = avail_kb * 1024 / 100 * 60 & ~(HL_MIB - 1);
	ktap_print_msg("MemAvailable %" PRIu64 " MiB; a load and an allocation of %" PRIu64 " MiB each",
		       avail_kb >> 10, len >> 20);

	fd = open(RESERVE_FILE, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return ktap_fail("creating %s: %s", RESERVE_FILE, strerror(errno));
	e = ftruncate(fd, len) ? errno : 0;	/* sparse: reads cost nothing */
	close(fd);
	if (e) {
		r = ktap_fail("ftruncate %s: %s", RESERVE_FILE, strerror(e));
		goto out;
	}
	fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY);
	if (fan < 0) {
		r = ktap_skip("fanotify_init(FAN_CLASS_CONTENT): %s",
			      strerror(errno));
		goto out;
	}
	if (fanotify_mark(fan, FAN_MARK_ADD, FAN_ACCESS_PERM, AT_FDCWD,
			  RESERVE_FILE)) {
		r = ktap_skip("fanotify_mark(FAN_ACCESS_PERM): %s "
			      "(no CONFIG_FANOTIFY_ACCESS_PERMISSIONS?)",
			      strerror(errno));
		goto out;
	}
	e = hl_write_str(HL_PARAM_MAX_MB, HUGE_LIMIT_MB);
	if (e) {
		r = ktap_fail("writing max_alloc_mb=%s: %s", HUGE_LIMIT_MB,
			      hl_errname(e));
		goto out;
	}
	if (pipe2(pfd, O_CLOEXEC)) {
		r = ktap_fail("pipe: %s", strerror(errno));
		goto out;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(fan);
		close(pfd[0]);
		child_reserve_load(pfd[1]);
	}
	close(pfd[1]);
	pfd[1] = -1;
	if (pid < 0) {
		r = ktap_fail("fork: %s", strerror(errno));
		goto out;
	}

	/* The load's first read waits for us: its reservation is made. */
	p = (struct pollfd){ .fd = fan, .events = POLLIN };
	if (poll(&p, 1, 60000) != 1) {
		r = ktap_fail("the load made no read within 60 s");
		goto release;
	}
	e = alloc_errno(len);
	if (e != ENOMEM)
		r = ktap_fail("allocation of %" PRIu64 " MiB while a load of as much was in progress: %s, expected ENOMEM",
			      len >> 20, hl_errname(e));
release:
	/* Allow the held read and all that follow until the load is done. */
	for (;;) {
		answer_events(fan, FAN_ALLOW, 50);
		p = (struct pollfd){ .fd = pfd[0], .events = POLLIN };
		if (poll(&p, 1, 0) == 1)
			break;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			pid = -1;
			break;
		}
	}
	n = read(pfd[0], &e_load, sizeof(e_load));
	if (n != sizeof(e_load) && r == KTAP_PASS)
		r = ktap_fail("the loading child died without an answer");
	else if (e_load && r == KTAP_PASS)
		r = ktap_fail("the load itself failed: %s", hl_errname(e_load));
	if (pid > 0 && hl_reap(pid, 60000, &status)) {
		kill(pid, SIGKILL);
		hl_reap(pid, 60000, &status);
	}
	pid = -1;
	if (r == KTAP_PASS)
		r = stats_back_to(b0, n0, "after the load was freed");
	if (r == KTAP_PASS) {
		e = alloc_errno(len);
		if (e)
			r = ktap_fail("allocation of %" PRIu64 " MiB once the load was freed: %s",
				      len >> 20, hl_errname(e));
	}
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		hl_reap(pid, 60000, &status);
	}
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	if (fan >= 0)
		close(fan);
	unlink(RESERVE_FILE);
	restore_limit();
	return r;
}

struct test {
	const char *name;
	int (*fn)(void);
};

static const struct test tests[] = {
	{ "max_alloc_mb_default_half_of_ram",	t_default_half_of_ram },
	{ "max_alloc_mb_rejects_zero",		t_rejects_zero },
	{ "max_alloc_mb_rejects_garbage",	t_rejects_garbage },
	{ "alloc_at_limit_succeeds",		t_alloc_at_limit },
	{ "alloc_over_limit_enomem",		t_alloc_over_limit },
	{ "load_at_limit_succeeds",		t_load_at_limit },
	{ "load_over_limit_enomem",		t_load_over_limit },
	{ "alloc_over_default_limit_fails_fast", t_alloc_over_default_fast },
	{ "load_over_default_limit_fails_fast",	t_load_over_default_fast },
	{ "alloc_beyond_ram_enomem_no_oom",	t_alloc_beyond_ram },
	{ "load_beyond_ram_enomem_no_oom",	t_load_beyond_ram },
	{ "concurrent_allocs_beyond_ram_no_oom", t_concurrent_beyond_ram },
	{ "alloc_fails_while_a_load_holds_the_memory", t_reservation_held_by_load },
	{ "sigkill_mid_load_buffered_frees_all", t_sigkill_buffered },
	{ "sigkill_mid_load_direct_frees_all",	t_sigkill_direct },
	{ "max_alloc_mb_write_reads_back",	t_write_reads_back },
	{ "no_leak_after_stress",		t_no_leak },
};

#define N_TESTS	(sizeof(tests) / sizeof(tests[0]))

static int t_prerequisites(void)
{
	static const char * const need[] = {
		HL_LOADER_PATH, HL_HEAP_PATH, HL_PARAM_MAX_MB, HL_STAT_BYTES,
		HL_STAT_BUFS,
	};
	size_t i;
	int e, r;

	r = hl_precondition_module();
	if (r)
		return r;
	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (access(need[i], R_OK)) {
			e = errno;
			hl_precondition_skip("%s missing", need[i]);
			return ktap_fail("module loaded but %s: %s", need[i],
					 strerror(e));
		}
	}
	e = hl_read_u64(HL_PARAM_MAX_MB, &orig_limit_mb);
	if (e) {
		hl_precondition_skip("max_alloc_mb unreadable");
		return ktap_fail("reading max_alloc_mb: %s", hl_errname(e));
	}
	return KTAP_PASS;
}

int main(void)
{
	size_t i;

	ktap_print_header();
	ktap_set_plan(1 + N_TESTS);
	ktap_report("stress_prerequisites", t_prerequisites());
	for (i = 0; i < N_TESTS; i++)
		if (!hl_precondition_report(tests[i].name))
			ktap_report(tests[i].name, tests[i].fn());
	if (hl_precondition == KTAP_PASS)
		restore_limit();
	ktap_finished();
}
