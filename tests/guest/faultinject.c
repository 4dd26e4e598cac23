// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's own fault injection during heapload's work: failslab and
 * fail_page_alloc (Documentation/fault-injection/fault-injection.rst),
 * limited by task-filter to one forked child, which sets
 * /proc/self/make-it-fail only around each ioctl. Worker threads of the
 * kernel (the loader's unbound workqueue) are not that task and never
 * see an injected failure; the parent never does.
 *
 * For each case, DMA_HEAP_IOCTL_ALLOC on heapload,system (a page,
 * 1 MiB + a page, 16 MiB) and heapload,restricted (a page, 8 MiB), and
 * HEAPLOAD_IOC_LOAD of $HL_DATA/8m and $HL_DATA/unaligned, direct and
 * buffered into heapload,system and direct into heapload,restricted: one
 * calibration call without failures (it counts, through the attributes'
 * "space" budget, how much the call allocates), then ATTEMPTS calls, each
 * with its own probability (10, 20 or 30 %), at most 1, 2, 4 or 1000
 * injected failures ("times", read back afterwards: the failures injected
 * into that call), half of them only past a random point of the call
 * ("space"), and loads half of them in 1 MiB gather batches (reads on the
 * workqueue while the caller allocates) instead of one batch. Every call
 * must succeed (a load into heapload,system is then checked byte for
 * byte through an mmap against the file, with a zero tail) or fail with
 * ENOMEM; none may take longer than ATTEMPT_S seconds (alarm in the child,
 * SIGKILL by the parent); and each case needs at least one failed call,
 * or the injection did not reach heapload. Afterwards allocated_bytes,
 * buffers and inflight_bytes of /sys/class/misc/heapload and used_bytes
 * of its restricted/ are back to where they were.
 *
 * Needs root, debugfs at /sys/kernel/debug and a kernel with
 * CONFIG_FAULT_INJECTION_DEBUG_FS, CONFIG_FAILSLAB and
 * CONFIG_FAIL_PAGE_ALLOC (the debug kernel of make check-debug); every
 * test skips elsewhere (Debian's kernels). Changes the attributes of
 * failslab and fail_page_alloc and gather_batch_mb, and puts them back
 * after each test, on a failure, and on SIGINT, SIGTERM, SIGHUP and
 * SIGALRM; the last tests check that they read as before.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "hl_test.h"
#include "hl_kill.h"
#include "hl_knobs.h"

#define FI_DEBUGFS		"/sys/kernel/debug"
#define FI_SLAB			FI_DEBUGFS "/failslab"
#define FI_PAGE			FI_DEBUGFS "/fail_page_alloc"
#define MAKE_IT_FAIL		"/proc/self/make-it-fail"
#define HL_STAT_INFLIGHT	HL_STATS_DIR "/inflight_bytes"
#define POOL_USED		HL_STATS_DIR "/restricted/used_bytes"

#define D			HEAPLOAD_LOAD_DIRECT
#define B			HEAPLOAD_LOAD_BUFFERED

/* Calls with fault injection per case, after the calibration call. */
#define ATTEMPTS		50
/* The child's alarm per call; the parent kills it HANG_SLACK_MS later. */
#define ATTEMPT_S		20
#define HANG_SLACK_MS		10000
/* Counters must read as before within this after the child is gone. */
#define IDLE_MS			30000
/* "times" of an attempt that may fail as often as the probability says. */
#define TIMES_MANY		1000
#define SEED			0xfa17ab1eULL

typedef unsigned long long ull;

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- the attributes of failslab and fail_page_alloc ---- */

/*
 * Restored in this order: both probabilities first (injection off), the
 * task filters last, so no other task ever sees a failure.
 */
enum knob_id {
	K_SL_PROB,
	K_PA_PROB,
	K_SL_TIMES,
	K_PA_TIMES,
	K_SL_SPACE,
	K_PA_SPACE,
	K_SL_INTERVAL,
	K_PA_INTERVAL,
	K_SL_VERBOSE,
	K_PA_VERBOSE,
	K_SL_WAIT,
	K_PA_WAIT,
	K_PA_HIGHMEM,
	K_PA_MIN_ORDER,
	K_SL_CACHE_FILTER,
	K_SL_TASK,
	K_PA_TASK,
	K_FI_NR,		/* the fault injection knobs end here */
	K_BATCH = K_FI_NR,
	K_NR
};

#define KSL(n, f)	[n] = { "failslab/" f, FI_SLAB "/" f }
#define KPA(n, f)	[n] = { "fail_page_alloc/" f, FI_PAGE "/" f }

static struct hl_knob knob_table[K_NR] = {
	KSL(K_SL_PROB, "probability"),
	KPA(K_PA_PROB, "probability"),
	KSL(K_SL_TIMES, "times"),
	KPA(K_PA_TIMES, "times"),
	KSL(K_SL_SPACE, "space"),
	KPA(K_PA_SPACE, "space"),
	KSL(K_SL_INTERVAL, "interval"),
	KPA(K_PA_INTERVAL, "interval"),
	KSL(K_SL_VERBOSE, "verbose"),
	KPA(K_PA_VERBOSE, "verbose"),
	KSL(K_SL_WAIT, "ignore-gfp-wait"),
	KPA(K_PA_WAIT, "ignore-gfp-wait"),
	KPA(K_PA_HIGHMEM, "ignore-gfp-highmem"),
	KPA(K_PA_MIN_ORDER, "min-order"),
	KSL(K_SL_CACHE_FILTER, "cache-filter"),
	KSL(K_SL_TASK, "task-filter"),
	KPA(K_PA_TASK, "task-filter"),
	[K_BATCH] = { "gather_batch_mb", HL_PARAM_DIR "gather_batch_mb" },
};

/* Missing attributes are found by the first test: then all skip. */
static struct hl_knobs knobs = { knob_table, K_NR, false };

/*
 * What every case starts from: only the child's task may fail (task
 * filters first), nothing yet (probability 0), quietly, every call
 * counted (interval 1), and sleeping, highmem and order-0 allocations
 * included: the defaults (ignore-gfp-wait=Y, ignore-gfp-highmem=Y,
 * min-order=1) would spare every allocation heapload makes.
 */
static const struct {
	enum knob_id id;
	const char *val;
} arm_values[] = {
	{ K_SL_TASK, "Y" },
	{ K_PA_TASK, "Y" },
	{ K_SL_PROB, "0" },
	{ K_PA_PROB, "0" },
	{ K_SL_TIMES, "1" },
	{ K_PA_TIMES, "1" },
	{ K_SL_SPACE, "0" },
	{ K_PA_SPACE, "0" },
	{ K_SL_INTERVAL, "1" },
	{ K_PA_INTERVAL, "1" },
	{ K_SL_VERBOSE, "0" },
	{ K_PA_VERBOSE, "0" },
	{ K_SL_WAIT, "N" },
	{ K_PA_WAIT, "N" },
	{ K_PA_HIGHMEM, "N" },
	{ K_PA_MIN_ORDER, "0" },
	{ K_SL_CACHE_FILTER, "N" },
};

static pid_t child_pid;

static void on_fatal_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, SIGKILL);
	hl_knobs_restore(&knobs, NULL);
	signal(sig, SIG_DFL);
	raise(sig);
}

static int arm(void)
{
	size_t i;
	int e;

	for (i = 0; i < ARRAY_LEN(arm_values); i++) {
		e = hl_knob_write(&knobs, arm_values[i].id, arm_values[i].val);
		if (e)
			return ktap_fail("writing %s=%s: %s",
					 knob_table[arm_values[i].id].name,
					 arm_values[i].val, hl_errname(e));
	}
	/* Marked as changed: the child switches it between attempts. */
	if (knob_table[K_BATCH].present) {
		e = hl_knob_write(&knobs, K_BATCH, knob_table[K_BATCH].orig);
		if (e)
			return ktap_fail("writing gather_batch_mb=%s: %s",
					 knob_table[K_BATCH].orig, hl_errname(e));
	}
	return KTAP_PASS;
}

/* The child's writes: no bookkeeping, the parent restores everything. */
static int knob_put(enum knob_id id, long long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", v);
	return hl_write_str(knob_table[id].path, buf);
}

static int knob_get(enum knob_id id, long long *v)
{
	char buf[32], *end;
	int e = hl_read_word(knob_table[id].path, buf, sizeof(buf));

	if (e)
		return e;
	*v = strtoll(buf, &end, 10);
	return end == buf ? EPROTO : 0;
}

/* ---- the cases ---- */

enum fi_kind { ALLOC, LOAD };

struct fi_case {
	const char *name;
	enum fi_kind kind;
	bool restricted;
	uint64_t mib;		/* ALLOC: this many MiB, */
	uint64_t pages;		/* plus this many pages */
	const char *file;	/* LOAD: data file */
	uint32_t flags;		/* LOAD: direct or buffered */
};

#define ALLOC_CASE(n, r, m, p) \
	{ .name = n, .kind = ALLOC, .restricted = r, .mib = m, .pages = p }
#define LOAD_CASE(n, r, f, fl) \
	{ .name = n, .kind = LOAD, .restricted = r, .file = f, .flags = fl }

static const struct fi_case cases[] = {
	ALLOC_CASE("alloc_system_page_enomem_or_success_no_leak", false, 0, 1),
	ALLOC_CASE("alloc_system_1m_plus_page_enomem_or_success_no_leak", false,
		   1, 1),
	ALLOC_CASE("alloc_system_16m_enomem_or_success_no_leak", false, 16, 0),
	ALLOC_CASE("alloc_restricted_page_enomem_or_success_no_leak", true,
		   0, 1),
	ALLOC_CASE("alloc_restricted_8m_enomem_or_success_no_leak", true, 8, 0),
	LOAD_CASE("load_8m_direct_system_enomem_or_verified_no_leak", false,
		  "8m", D),
	LOAD_CASE("load_8m_buffered_system_enomem_or_verified_no_leak", false,
		  "8m", B),
	LOAD_CASE("load_unaligned_direct_system_enomem_or_verified_no_leak",
		  false, "unaligned", D),
	LOAD_CASE("load_unaligned_buffered_system_enomem_or_verified_no_leak",
		  false, "unaligned", B),
	LOAD_CASE("load_8m_direct_restricted_enomem_or_success_no_leak", true,
		  "8m", D),
	LOAD_CASE("load_unaligned_direct_restricted_enomem_or_success_no_leak",
		  true, "unaligned", D),
};

/* An ALLOC case's size in bytes. */
static uint64_t alloc_len(const struct fi_case *c)
{
	return c->mib * HL_MIB + c->pages * HL_PAGE;
}

/*
 * The errnos an attempt may fail with. DMA_HEAP_IOCTL_ALLOC: ENOMEM
 * only. HEAPLOAD_IOC_LOAD: ENOMEM, the header's "the allocator ran out
 * during the load". Nothing else is accepted: the header documents no
 * other errno for a failed allocation, and an allocation that fails under
 * a read must surface as the read's ENOMEM too.
 */
static bool accepted(const struct fi_case *c, int e)
{
	(void)c;
	return e == ENOMEM;
}

/* ---- what the parent prepares and the child reports ---- */

struct fi_ctx {
	int dev;		/* the heap (ALLOC) or /dev/heapload (LOAD) */
	int file_fd;
	char path[512];
	uint64_t size;		/* of the file */
	unsigned char *ref;	/* its content, for loads into heapload,system */
	int mif;		/* the child's /proc/self/make-it-fail */
};

/* In a MAP_SHARED mapping: the child writes, the parent reads. */
struct fi_shared {
	int attempt;		/* -1: calibration */
	int in_call;		/* between make-it-fail 1 and 0 */
	uint64_t started_ms;	/* of the attempt in progress */
	int done;
	int result;
	char reason[512];
	long long calib_slab;	/* bytes of slab objects of one call */
	long long calib_page;	/* pages of one call */
	unsigned int ok, ok_absorbed, failed, failed_clean, small_batch;
	long long inj_slab, inj_page;
	uint64_t slowest_ms;
};

static struct fi_shared *sh;

/* ---- the child ---- */

static uint64_t rnd_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * One call with make-it-fail set around it, and nothing else: the flag is
 * written through an fd opened before, from bytes on the stack already
 * touched, so no allocation of ours but the ioctl's can fail. Returns the
 * ioctl's errno; *@mif_err gets an error of make-it-fail itself.
 */
static int fi_call(const struct fi_case *c, const struct fi_ctx *x,
		   int *dfd, struct heapload_load *l, int *mif_err)
{
	struct dma_heap_allocation_data d;
	volatile char on = '1', off = '0';
	unsigned long req;
	char back[4];
	void *arg;
	int e, i;

	*dfd = -1;
	if (c->kind == ALLOC) {
		memset(&d, 0, sizeof(d));
		d.len = alloc_len(c);
		d.fd_flags = O_RDWR | O_CLOEXEC;
		req = DMA_HEAP_IOCTL_ALLOC;
		arg = &d;
	} else {
		hl_load_init(l, x->file_fd, c->flags, 0, 0);
		if (c->restricted)
			snprintf(l->heap, sizeof(l->heap), "%s",
				 HL_RESTRICTED_NAME);
		req = HEAPLOAD_IOC_LOAD;
		arg = l;
	}
	*mif_err = 0;
	if (pwrite(x->mif, (const char *)&on, 1, 0) != 1) {
		*mif_err = errno;
		return 0;
	}
	__atomic_store_n(&sh->in_call, 1, __ATOMIC_RELEASE);
	e = ioctl(x->dev, req, arg) ? errno : 0;
	for (i = 0; i < 10 && pwrite(x->mif, (const char *)&off, 1, 0) != 1; i++)
		*mif_err = errno;
	__atomic_store_n(&sh->in_call, 0, __ATOMIC_RELEASE);
	if (i == 10 || pread(x->mif, back, sizeof(back), 0) < 1 ||
	    back[0] != '0') {
		*mif_err = *mif_err ? *mif_err : EPROTO;
		if (!e)
			close(c->kind == ALLOC ? (int)d.fd : l->dmabuf_fd);
		return e;
	}
	if (!e)
		*dfd = c->kind == ALLOC ? (int)d.fd : l->dmabuf_fd;
	return e;
}

/* A load into heapload,system: size, then every byte, through an mmap. */
static int verify_content(const struct heapload_load *l, const struct fi_ctx *x)
{
	unsigned char *map;
	int r = KTAP_PASS, e;
	size_t i, tail;

	map = mmap(NULL, l->buf_size, PROT_READ, MAP_SHARED, l->dmabuf_fd, 0);
	if (map == MAP_FAILED)
		return ktap_fail("mmap of the dma-buf: %s", strerror(errno));
	e = hl_sync(l->dmabuf_fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	if (e) {
		r = ktap_fail("DMA_BUF_IOCTL_SYNC start: %s", hl_errname(e));
		goto unmap;
	}
	if (memcmp(map, x->ref, x->size)) {
		for (i = 0; map[i] == x->ref[i]; i++)
			;
		r = ktap_fail("byte %zu of the buffer is 0x%02x, %s has 0x%02x",
			      i, map[i], x->path, x->ref[i]);
	}
	tail = l->buf_size - x->size;
	i = hl_first_nonzero(map + x->size, tail);
	if (!r && i != tail)
		r = ktap_fail("tail byte %" PRIu64 " (past loaded %" PRIu64 ") is 0x%02x, not 0",
			      x->size + i, x->size, map[x->size + i]);
	e = hl_sync(l->dmabuf_fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	if (e && !r)
		r = ktap_fail("DMA_BUF_IOCTL_SYNC end: %s", hl_errname(e));
unmap:
	munmap(map, l->buf_size);
	return r;
}

/* A successful call: its size, and a load's content; closes @dfd. */
static int verify(const struct fi_case *c, const struct fi_ctx *x, int dfd,
		  const struct heapload_load *l)
{
	uint64_t want = hl_page_up(c->kind == ALLOC ? alloc_len(c) : x->size);
	off_t end = lseek(dfd, 0, SEEK_END);
	int r = KTAP_PASS;

	if (end != (off_t)want)
		r = ktap_fail("dma-buf of %lld bytes, expected %" PRIu64,
			      (long long)end, want);
	else if (c->kind == LOAD && (l->loaded != x->size ||
				     l->buf_size != want))
		r = ktap_fail("loaded %llu buf_size %llu, expected %" PRIu64
			      " and %" PRIu64, (ull)l->loaded,
			      (ull)l->buf_size, x->size, want);
	else if (c->kind == LOAD && !c->restricted)
		r = verify_content(l, x);
	close(dfd);
	return r;
}

struct attempt {
	long long prob;
	long long times;
	long long space_slab, space_page;
	bool small_batch;
};

/* The knobs of attempt @a; 0 or the errno, its knob to *@bad. */
static int attempt_arm(const struct attempt *a, enum knob_id *bad)
{
	const struct {
		enum knob_id id;
		long long v;
	} w[] = {
		{ K_SL_TIMES, a->times }, { K_PA_TIMES, a->times },
		{ K_SL_SPACE, a->space_slab }, { K_PA_SPACE, a->space_page },
		{ K_SL_PROB, a->prob }, { K_PA_PROB, a->prob },
	};
	size_t i;
	int e;

	if (knob_table[K_BATCH].present) {
		e = a->small_batch ? knob_put(K_BATCH, 1) :
			hl_write_str(knob_table[K_BATCH].path,
				     knob_table[K_BATCH].orig);
		if (e) {
			*bad = K_BATCH;
			return e;
		}
	}
	for (i = 0; i < ARRAY_LEN(w); i++) {
		e = knob_put(w[i].id, w[i].v);
		if (e) {
			*bad = w[i].id;
			return e;
		}
	}
	return 0;
}

/* Read back "times" or "space" of both attributes. */
static int read_pair(enum knob_id slab, enum knob_id page, long long *s,
		     long long *p)
{
	int e = knob_get(slab, s);

	return e ? e : knob_get(page, p);
}

/* Attempt @i (-1: calibration) of @c; a ktap result. */
static int child_attempt(const struct fi_case *c, const struct fi_ctx *x,
			 int i, uint64_t *rs)
{
	static const long long probs[] = { 10, 20, 30 };
	static const long long times[] = { 1, 2, 4, TIMES_MANY };
	long long left_slab, left_page;
	struct heapload_load l;
	struct attempt a;
	enum knob_id bad = K_NR;
	uint64_t t0, ms;
	int e, mif_err, dfd, r;

	if (i < 0) {
		/* Probability 100, but every call is paid from "space". */
		a.prob = 100;
		a.times = 1;
		a.space_slab = a.space_page = INT_MAX;
		a.small_batch = false;
	} else {
		a.prob = probs[rnd_next(rs) % ARRAY_LEN(probs)];
		a.times = times[rnd_next(rs) % ARRAY_LEN(times)];
		a.space_slab = a.space_page = 0;
		if (rnd_next(rs) % 2) {
			a.space_slab = rnd_next(rs) % (sh->calib_slab + 1);
			a.space_page = rnd_next(rs) % (sh->calib_page + 1);
		}
		a.small_batch = c->kind == LOAD && knob_table[K_BATCH].present &&
				rnd_next(rs) % 2;
	}
	e = attempt_arm(&a, &bad);
	if (e)
		return ktap_fail("writing %s: %s", knob_table[bad].name,
				 hl_errname(e));

	__atomic_store_n(&sh->attempt, i, __ATOMIC_RELEASE);
	t0 = hl_now_ms();
	__atomic_store_n(&sh->started_ms, t0, __ATOMIC_RELEASE);
	alarm(ATTEMPT_S);
	e = fi_call(c, x, &dfd, &l, &mif_err);
	alarm(0);
	ms = hl_now_ms() - t0;
	if (ms > sh->slowest_ms)
		sh->slowest_ms = ms;
	if (mif_err)
		return ktap_fail("attempt %d: writing %s: %s", i, MAKE_IT_FAIL,
				 hl_errname(mif_err));

	/* Off again, then what this call used up. */
	knob_put(K_SL_PROB, 0);
	knob_put(K_PA_PROB, 0);
	r = read_pair(K_SL_TIMES, K_PA_TIMES, &left_slab, &left_page);
	if (r)
		return ktap_fail("reading times: %s", hl_errname(r));
	if (i < 0) {
		r = read_pair(K_SL_SPACE, K_PA_SPACE, &sh->calib_slab,
			      &sh->calib_page);
		if (r)
			return ktap_fail("reading space: %s", hl_errname(r));
		sh->calib_slab = INT_MAX - sh->calib_slab;
		sh->calib_page = INT_MAX - sh->calib_page;
		if (left_slab != 1 || left_page != 1)
			return ktap_fail("calibration call had failures injected (times now %lld and %lld)",
					 left_slab, left_page);
		if (e)
			return ktap_fail("calibration call without injected failures: %s",
					 hl_errname(e));
		return verify(c, x, dfd, &l);
	}

	sh->inj_slab += a.times - left_slab;
	sh->inj_page += a.times - left_page;
	sh->small_batch += a.small_batch;
	if (!e) {
		sh->ok++;
		if (left_slab != a.times || left_page != a.times)
			sh->ok_absorbed++;
		r = verify(c, x, dfd, &l);
		if (r) {
			char why[sizeof(ktap_reason)];

			snprintf(why, sizeof(why), "%s", ktap_reason);
			return ktap_fail("attempt %d (%lld slab and %lld page failures injected): %s",
					 i, a.times - left_slab, a.times - left_page,
					 why);
		}
		return KTAP_PASS;
	}
	if (!accepted(c, e))
		return ktap_fail("attempt %d (probability %lld, times %lld, %lld slab and %lld page failures injected): %s, expected ENOMEM",
				 i, a.prob, a.times, a.times - left_slab,
				 a.times - left_page, hl_errname(e));
	sh->failed++;
	if (left_slab == a.times && left_page == a.times)
		sh->failed_clean++;
	return KTAP_PASS;
}

static void __attribute__((noreturn))
child_main(const struct fi_case *c, struct fi_ctx *x, pid_t parent,
	   unsigned int idx)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGALRM };
	uint64_t rs = SEED ^ idx;
	int r = KTAP_PASS, i;
	size_t s;

	for (s = 0; s < ARRAY_LEN(sigs); s++)
		signal(sigs[s], SIG_DFL);
	/* Never go on injecting failures without the parent to restore. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	x->mif = open(MAKE_IT_FAIL, O_RDWR | O_CLOEXEC);
	if (x->mif < 0)
		r = ktap_fail("open %s: %s", MAKE_IT_FAIL, strerror(errno));
	for (i = -1; !r && i < ATTEMPTS; i++)
		r = child_attempt(c, x, i, &rs);
	sh->result = r;
	snprintf(sh->reason, sizeof(sh->reason), "%s", ktap_reason);
	__atomic_store_n(&sh->done, 1, __ATOMIC_RELEASE);
	_exit(0);
}

/* ---- the parent ---- */

struct snapshot {
	uint64_t bytes, bufs, inflight, pool_used;
};

static bool have_inflight(void)
{
	return !access(HL_STAT_INFLIGHT, F_OK);
}

static bool have_pool(void)
{
	return !access(POOL_USED, F_OK);
}

static int snap(struct snapshot *s)
{
	int e = hl_stats(&s->bytes, &s->bufs);

	s->inflight = s->pool_used = 0;
	if (!e && have_inflight())
		e = hl_read_u64(HL_STAT_INFLIGHT, &s->inflight);
	if (!e && have_pool())
		e = hl_read_u64(POOL_USED, &s->pool_used);
	if (e)
		return ktap_fail("reading the counters of %s: %s", HL_STATS_DIR,
				 hl_errname(e));
	return KTAP_PASS;
}

/* The counters back to @s0 within IDLE_MS. */
static int back_to(const struct snapshot *s0, const char *when)
{
	uint64_t end = hl_now_ms() + IDLE_MS;
	struct snapshot s;
	int r;

	for (;;) {
		r = snap(&s);
		if (r)
			return r;
		if (s.bytes == s0->bytes && s.bufs == s0->bufs &&
		    s.inflight == s0->inflight && s.pool_used == s0->pool_used)
			return KTAP_PASS;
		if (hl_now_ms() >= end)
			break;
		hl_sleep_ms(20);
	}
	return ktap_fail("%s: allocated_bytes %" PRIu64 " buffers %" PRIu64
			 " inflight_bytes %" PRIu64 " restricted/used_bytes %"
			 PRIu64 ", expected %" PRIu64 " %" PRIu64 " %" PRIu64
			 " %" PRIu64, when, s.bytes, s.bufs, s.inflight,
			 s.pool_used, s0->bytes, s0->bufs, s0->inflight,
			 s0->pool_used);
}

static struct snapshot at_start;

static int ctx_open(const struct fi_case *c, struct fi_ctx *x)
{
	const char *dev = c->kind == LOAD ? HL_LOADER_PATH :
			  c->restricted ? HL_RESTRICTED_PATH : HL_HEAP_PATH;
	struct stat st;
	size_t got;
	ssize_t n;

	memset(x, 0, sizeof(*x));
	x->dev = x->file_fd = x->mif = -1;
	if (c->restricted && access(HL_RESTRICTED_PATH, F_OK))
		return ktap_skip("no %s", HL_RESTRICTED_PATH);
	x->dev = open(dev, O_RDWR | O_CLOEXEC);
	if (x->dev < 0)
		return ktap_fail("open %s: %s", dev, strerror(errno));
	if (c->kind == ALLOC)
		return KTAP_PASS;
	hl_data_path(x->path, sizeof(x->path), c->file);
	x->file_fd = open(x->path, O_RDONLY | O_CLOEXEC);
	if (x->file_fd < 0 && errno == ENOENT)
		return ktap_skip("test data %s missing", x->path);
	if (x->file_fd < 0)
		return ktap_fail("open %s: %s", x->path, strerror(errno));
	if (fstat(x->file_fd, &st))
		return ktap_fail("stat %s: %s", x->path, strerror(errno));
	x->size = st.st_size;
	if (c->restricted)
		return KTAP_PASS;
	/* The reference, read once: the child compares each load with it. */
	x->ref = malloc(x->size);
	if (!x->ref)
		return ktap_fail("no memory for the %" PRIu64 " bytes of %s",
				 x->size, x->path);
	for (got = 0; got < x->size; got += n) {
		n = pread(x->file_fd, x->ref + got, x->size - got, got);
		if (n <= 0)
			return ktap_fail("reading %s: %s", x->path,
					 n ? strerror(errno) : "short file");
	}
	return KTAP_PASS;
}

static void ctx_close(struct fi_ctx *x)
{
	if (x->dev >= 0)
		close(x->dev);
	if (x->file_fd >= 0)
		close(x->file_fd);
	free(x->ref);
}

/* Reap the child; a hang (or a death) is a ktap_fail(). */
static int watch_child(pid_t pid)
{
	int status, attempt;
	uint64_t started;

	for (;;) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		started = __atomic_load_n(&sh->started_ms, __ATOMIC_ACQUIRE);
		if (started && hl_now_ms() > started + ATTEMPT_S * 1000ULL +
					      HANG_SLACK_MS) {
			attempt = __atomic_load_n(&sh->attempt, __ATOMIC_ACQUIRE);
			kill(pid, SIGKILL);
			if (hl_reap(pid, 30000, &status))
				return ktap_fail("attempt %d hangs: the child survives SIGKILL for 30 s (in the ioctl: %d)",
						 attempt, sh->in_call);
			return ktap_fail("attempt %d took longer than %d s and ignored SIGALRM (in the ioctl: %d)",
					 attempt, ATTEMPT_S, sh->in_call);
		}
		hl_sleep_ms(20);
	}
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
		return ktap_fail("attempt %d took longer than %d s (in the ioctl: %d)",
				 sh->attempt, ATTEMPT_S, sh->in_call);
	if (WIFSIGNALED(status))
		return ktap_fail("the child died of signal %d in attempt %d",
				 WTERMSIG(status), sh->attempt);
	if (!sh->done)
		return ktap_fail("the child exited with status %d in attempt %d",
				 WEXITSTATUS(status), sh->attempt);
	return KTAP_PASS;
}

static int t_case(const void *arg)
{
	const struct fi_case *c = arg;
	const struct hl_knob *bad = NULL;
	unsigned int idx = c - cases;
	struct snapshot s0;
	struct fi_ctx x;
	uint64_t t0;
	pid_t pid;
	int r, e;

	r = ctx_open(c, &x);
	if (!r)
		r = snap(&s0);
	if (!r)
		r = arm();
	if (r) {
		ctx_close(&x);
		return r;
	}
	memset(sh, 0, sizeof(*sh));
	sh->attempt = -1;
	t0 = hl_now_ms();
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		ctx_close(&x);
		return ktap_fail("fork: %s", strerror(errno));
	}
	if (pid == 0)
		child_main(c, &x, getppid(), idx);
	child_pid = pid;
	r = watch_child(pid);
	child_pid = 0;
	ctx_close(&x);

	/* Injection off before anything else is judged. */
	e = hl_knobs_restore(&knobs, &bad);
	if (!r && sh->result)
		r = ktap_fail("%s", sh->reason);
	ktap_print_msg("%s: %d attempts in %" PRIu64 " ms (slowest %" PRIu64
		       " ms): %u succeeded (%u despite injected failures), %u failed with ENOMEM (%u without an injected failure)",
		       c->name, sh->attempt + 1, hl_now_ms() - t0, sh->slowest_ms,
		       sh->ok, sh->ok_absorbed, sh->failed, sh->failed_clean);
	ktap_print_msg("%s: %lld slab and %lld page allocation failures injected; one call allocates %lld bytes of slab objects and %lld pages; %u attempts in 1 MiB batches",
		       c->name, sh->inj_slab, sh->inj_page, sh->calib_slab,
		       sh->calib_page, sh->small_batch);
	if (e) {
		if (r)
			ktap_print_msg("%s: also restoring %s to %s: %s",
				       c->name, bad->name, bad->orig,
				       hl_errname(e));
		else
			r = ktap_fail("restoring %s to %s: %s", bad->name,
				      bad->orig, hl_errname(e));
	}
	if (r) {
		if (r == KTAP_FAIL) {
			/* Still report a leak, for the console excerpt. */
			char why[sizeof(ktap_reason)];

			snprintf(why, sizeof(why), "%s", ktap_reason);
			if (back_to(&s0, "after the failed case"))
				ktap_print_msg("%s: %s", c->name, ktap_reason);
			ktap_why(KTAP_FAIL, "%s", why);
		}
		return r;
	}
	r = back_to(&s0, "after the attempts");
	if (r)
		return r;
	if (!sh->failed)
		return ktap_fail("no attempt of %d failed (%lld slab and %lld page failures injected): the injection did not reach heapload",
				 ATTEMPTS, sh->inj_slab, sh->inj_page);
	return KTAP_PASS;
}

/* ---- first and last tests ---- */

static int t_present(void)
{
	unsigned int id;
	int r, fd;

	r = hl_precondition_module();
	if (r)
		return r;
	fd = open(HL_LOADER_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		r = errno;
		hl_precondition_skip("%s unusable", HL_LOADER_PATH);
		return ktap_fail("module loaded but open %s: %s",
				 HL_LOADER_PATH, strerror(r));
	}
	close(fd);
	if (geteuid()) {
		hl_precondition_skip("fault injection needs root");
		return ktap_skip("%s", hl_precondition_why);
	}
	if (access(FI_SLAB, F_OK) || access(FI_PAGE, F_OK)) {
		if (!hl_debugfs_mounted())
			hl_precondition_skip("no %s and %s: debugfs not mounted at %s",
					     FI_SLAB, FI_PAGE, FI_DEBUGFS);
		else
			hl_precondition_skip("no %s or %s: kernel without CONFIG_FAULT_INJECTION_DEBUG_FS, CONFIG_FAILSLAB and CONFIG_FAIL_PAGE_ALLOC",
					     FI_SLAB, FI_PAGE);
		return ktap_skip("%s", hl_precondition_why);
	}
	for (id = 0; id < K_FI_NR; id++) {
		if (!knob_table[id].present) {
			hl_precondition_skip("no %s", knob_table[id].path);
			return ktap_skip("%s", hl_precondition_why);
		}
	}
	if (access(MAKE_IT_FAIL, W_OK)) {
		hl_precondition_skip("%s: %s", MAKE_IT_FAIL, strerror(errno));
		return ktap_skip("%s", hl_precondition_why);
	}
	if (strcmp(knob_table[K_SL_PROB].orig, "0") ||
	    strcmp(knob_table[K_PA_PROB].orig, "0")) {
		hl_precondition_skip("fault injection already in use (probability %s and %s)",
				     knob_table[K_SL_PROB].orig,
				     knob_table[K_PA_PROB].orig);
		return ktap_skip("%s", hl_precondition_why);
	}
	return snap(&at_start);
}

/* Injection off: every attribute as before, and make-it-fail 0 here. */
static int t_restored(const void *arg)
{
	char buf[16];
	int r, e;

	(void)arg;
	r = hl_knobs_restored(&knobs);
	if (r)
		return r;
	e = hl_read_word(MAKE_IT_FAIL, buf, sizeof(buf));
	if (e)
		return ktap_fail("reading %s: %s", MAKE_IT_FAIL, hl_errname(e));
	if (strcmp(buf, "0"))
		return ktap_fail("%s of the test reads %s", MAKE_IT_FAIL, buf);
	return KTAP_PASS;
}

static int t_no_leak(const void *arg)
{
	(void)arg;
	return back_to(&at_start, "after every test");
}

static const struct hl_test final_tests[] = {
	{ "fault_injection_off_and_knobs_restored", t_restored, NULL },
	{ "counters_back_to_start_no_leak", t_no_leak, NULL },
};

int main(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGALRM };
	uint64_t t0 = hl_now_ms();
	size_t i;

	ktap_print_header();
	ktap_set_plan(1 + ARRAY_LEN(cases) + ARRAY_LEN(final_tests));
	ktap_print_msg("test data in %s", hl_data_dir());
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		ktap_print_msg("mmap: %s", strerror(errno));
		exit(KTAP_FAIL);
	}
	hl_knobs_save(&knobs);
	for (i = 0; i < ARRAY_LEN(sigs); i++)
		signal(sigs[i], on_fatal_signal);
	ktap_report("fault_injection_present", t_present());
	for (i = 0; i < ARRAY_LEN(cases); i++)
		hl_knobs_run(&knobs, cases[i].name, t_case, &cases[i]);
	hl_knobs_run_table(&knobs, final_tests, ARRAY_LEN(final_tests));
	ktap_print_msg("all tests took %" PRIu64 " ms", hl_now_ms() - t0);
	ktap_finished();
}
