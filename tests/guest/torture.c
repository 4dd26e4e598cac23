// SPDX-License-Identifier: GPL-2.0
/*
 * A bounded-time concurrency torture of heapload: for HL_TORTURE_SECONDS
 * (default 60, setup and final checks included) everything at once:
 *  - workers load the files of $HL_DATA direct and buffered into
 *    heapload,system and heapload,restricted, allocate from both heaps,
 *    import some buffers into vgem and close the dma-buf fd while vgem
 *    still holds the import (the GEM handle goes later), hold a few, and
 *    verify a sample of the system buffers byte for byte through mmap;
 *  - a churner allocates and frees restricted buffers of varied sizes;
 *  - a killer SIGKILLs random workers (the churner too), preferably in
 *    the middle of an operation; the parent respawns them;
 *  - a parameter writer sets gather_batch_mb, max_inflight_batches,
 *    io_size_kb, restricted_pool_mb, alloc_threads and batch_mapping to
 *    valid values mid-load;
 *  - an unloader calls delete_module("heapload", O_NONBLOCK), which must
 *    fail with EBUSY or EAGAIN whenever anything of the module is
 *    provably in use; if it succeeds with nothing in use, the module is
 *    inserted again at once (/lib/modules/heapload.ko) and that is
 *    reported. On the dma-heap framework path the module pins itself and
 *    must never unload.
 * Then, once every child is reaped and the shared vgem fd closed: no
 * buffer left, the restricted pool empty, MemAvailable (plus the free
 * pages on the per-CPU lists) back near its baseline (within 15 s), no
 * OOM kill, every parameter as before.
 *
 * The choices come from a seeded pseudo-random stream: the seed is
 * printed, and HL_TORTURE_SEED replays the same choices (the timing, and
 * so the interleaving, differs from run to run).
 *
 * "In use" for the unloader: each process counts, in shared memory, what
 * it holds of the module (device fds, dma-buf fds and mappings, vgem
 * imports), counting a thing only once it holds it and uncounting it
 * before letting it go; vgem imports of killed workers stay in the vgem
 * fd that every process shares until the parent closes it at the end.
 * The module was in use for sure during an unload attempt if an import
 * was orphaned before it, or if a process not sent SIGKILL counted
 * something before the attempt and after it and its count never dropped
 * to 0 in between.
 *
 * Changes module parameters and restores them at the end, also on
 * failure and on SIGINT/SIGTERM. Needs root and $HL_DATA (default
 * /data) with empty, one, page_minus_one, 8m, 256m and unaligned.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "hl_test.h"
#include "hl_kill.h"
#include "hl_knobs.h"

#define D			HEAPLOAD_LOAD_DIRECT
#define B			HEAPLOAD_LOAD_BUFFERED

#define DEFAULT_SECONDS		60
/* Of HL_TORTURE_SECONDS, what stopping and the final checks may take. */
#define END_RESERVE_S		10
#define DEFAULT_SEED		0x70127e5eedULL
#define NR_WORKERS		4
#define CHURN_SLOT		NR_WORKERS
#define NR_SLOTS		(NR_WORKERS + 1)
/* Buffers a worker keeps between operations, each at most HOLD_MAX. */
#define MAX_HELD		6
#define HOLD_MAX		(8 * HL_MIB + 16 * HL_PAGE)
#define CHURN_LIVE		24
#define CHURN_MAX_BYTES		(256 * HL_MIB)
/* A SIGKILLed process must be gone within this. */
#define DEATH_MS		60000
/* ... and its stack is shown (up to MAX_SLOW_SHOWN times) after this. */
#define SLOW_DEATH_MS		5000
#define MAX_SLOW_SHOWN		3
/* One operation taking longer than this is reported as a hang. */
#define STUCK_MS		120000
/* After the end of the torture phase, every child must exit within this. */
#define STOP_MS			120000
/* Counters and the pool must read 0 again within this at the end. */
#define IDLE_MS			30000
/*
 * MemAvailable (plus the per-CPU lists) may end this much lower:
 * max(16 MiB, 1 % of MemTotal). Measured over the matrix's kernels in
 * two full runs, it ended within 2.7 MiB of the start.
 */
#define MEMAVAIL_SLACK_KB	(16 * 1024)
#define MEMAVAIL_SLACK_PCT	1
/* ... at the end of a wait of at most this for memory freed late. */
#define MEMAVAIL_WAIT_MS	15000
/* Failures printed as they happen; the rest are only counted. */
#define MAX_PRINTED		20
/* Unloads with nothing in use reported as they happen. */
#define MAX_UNLOADS_SHOWN	3
#define MODULE_FILE		"/lib/modules/heapload.ko"
#define POOL_DIR		HL_STATS_DIR "/restricted"
#define HL_STAT_INFLIGHT	HL_STATS_DIR "/inflight_bytes"
#define HL_STAT_WORKERS		HL_STATS_DIR "/alloc_workers"
#define REGISTRATION		HL_STATS_DIR "/registration"

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

typedef unsigned long long ull;

/* ---- shared state ---- */

#define at_load(p)	__atomic_load_n((p), __ATOMIC_SEQ_CST)
#define at_store(p, v)	__atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define at_add(p, v)	__atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#define at_sub(p, v)	__atomic_sub_fetch((p), (v), __ATOMIC_SEQ_CST)

/* What a slot's process is doing, for the killer and the hang reports. */
enum op {
	OP_IDLE,
	OP_LOAD,
	OP_ALLOC,
	OP_IMPORT,
	OP_VERIFY,
	OP_RELEASE,
	OP_NR
};

static const char *const op_names[OP_NR] = {
	"idle", "load", "alloc", "vgem import", "verify", "release",
};

/* Kinds of operation, counted by outcome. */
enum kind {
	K_LOAD_SYS_D,
	K_LOAD_SYS_B,
	K_LOAD_RES,
	K_LOAD_RES_B,
	K_ALLOC_SYS,
	K_ALLOC_RES,
	K_IMPORT,
	K_GEM_CLOSE,
	K_CHURN_ALLOC,
	K_CHURN_FREE,
	K_NR
};

static const char *const kind_names[K_NR] = {
	"load system direct", "load system buffered", "load restricted direct",
	"load restricted buffered (EINVAL)", "alloc system", "alloc restricted",
	"vgem import", "vgem GEM close", "churn alloc", "churn free",
};

struct kind_stat {
	uint64_t ok;		/* succeeded */
	uint64_t enomem;	/* ENOMEM, always allowed */
	uint64_t expected;	/* the one error the case must give */
	uint64_t bad;		/* anything else */
};

/* Where a failure is reported: one KTAP test each. */
enum cat {
	CAT_OPS,
	CAT_VERIFY,
	CAT_WORKERS,
	CAT_RMMOD,
	CAT_PARAMS,
	CAT_CHURN,
	CAT_NR
};

static const char *const cat_names[CAT_NR] = {
	"ops", "verify", "workers", "rmmod", "params", "churn",
};

/**
 * struct slot - one worker (or the churner) and its respawns
 * @pid:	its pid, 0 while none runs
 * @gen:	incremented at every spawn
 * @ready:	it opened its files and runs its loop
 * @holding:	things of the module it holds now (never more than it holds)
 * @idle_seq:	incremented each time @holding drops to 0
 * @imports:	GEM handles it holds in the shared vgem fd
 * @op:		enum op it is in
 * @op_start_ms: when @op began
 * @kill_gen:	@gen of the last SIGKILL sent to it
 * @kill_ms:	when that SIGKILL was sent
 * @reported:	a hang of this @gen was reported
 * @slow_shown:	the stack of this @gen, slow to die, was shown
 */
struct slot {
	uint64_t pid;
	uint64_t gen;
	uint64_t ready;
	uint64_t holding;
	uint64_t idle_seq;
	uint64_t imports;
	uint64_t op;
	uint64_t op_start_ms;
	uint64_t kill_gen;
	uint64_t kill_ms;
	uint64_t reported;
	uint64_t slow_shown;
};

struct shared {
	uint64_t stop;
	/* An unload is being tried, or a removed module inserted again. */
	uint64_t rmmod_busy;
	/* Incremented each time the module was removed. */
	uint64_t module_gen;
	/* vgem imports left in the shared vgem fd by killed processes. */
	uint64_t orphans;
	struct slot slot[NR_SLOTS];

	uint64_t fails[CAT_NR];
	uint64_t msg_claimed[CAT_NR];
	char msg[CAT_NR][320];
	uint64_t printed;

	struct kind_stat kind[K_NR];
	uint64_t ops;
	uint64_t module_away;
	uint64_t verified;
	uint64_t verified_bytes;
	uint64_t zero_checked;
	uint64_t eperm_checked;
	uint64_t gem_only;

	uint64_t kills;
	uint64_t kills_mid_op;
	uint64_t kills_mid_load;
	uint64_t deaths;
	uint64_t respawns;
	uint64_t max_death_ms;
	uint64_t max_death_op;

	uint64_t rmmod_attempts;
	uint64_t rmmod_ebusy;
	uint64_t rmmod_eagain;
	uint64_t rmmod_in_use;
	uint64_t rmmod_mid_load;
	uint64_t rmmod_unloaded;
	uint64_t rmmod_eperm;

	uint64_t param_writes;
};

static struct shared *sh;

/* Set before anything runs; children get copies. */
static uint64_t seed = DEFAULT_SEED;
static unsigned int seconds = DEFAULT_SECONDS;
static bool have_restricted;
static bool framework_pinned;
static int vgem_fd = -1;

/* Record a failure of @c; the first of each category is kept for its test. */
static void __attribute__((format(printf, 2, 3)))
tfail(enum cat c, const char *fmt, ...)
{
	char buf[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	at_add(&sh->fails[c], 1);
	if (!__atomic_exchange_n(&sh->msg_claimed[c], 1, __ATOMIC_SEQ_CST))
		memcpy(sh->msg[c], buf, sizeof(buf));
	if (at_add(&sh->printed, 1) <= MAX_PRINTED)
		ktap_print_msg("torture: [%s] pid %d: %s", cat_names[c],
			       (int)getpid(), buf);
}

/* The test of category @c: passes if it recorded no failure. */
static int cat_result(enum cat c)
{
	uint64_t n = at_load(&sh->fails[c]);

	if (!n)
		return KTAP_PASS;
	return ktap_fail("%" PRIu64 " failure(s), the first: %s", n,
			 sh->msg[c]);
}

/* ---- a seeded pseudo-random stream ---- */

/* splitmix64: the same stream from the same seed, on every machine. */
static uint64_t rnd_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd_below(uint64_t *state, uint64_t n)
{
	return rnd_next(state) % n;
}

static bool rnd_pct(uint64_t *state, unsigned int pct)
{
	return rnd_below(state, 100) < pct;
}

/* A stream per process: the seed, whose process (@who) and its spawn. */
static uint64_t rnd_stream(uint64_t who, uint64_t gen)
{
	uint64_t s = seed ^ (who + 1) * 0xd1b54a32d192ed03ULL ^
		     gen * 0x8cb92ba72f3d8dd7ULL;

	rnd_next(&s);
	return s;
}

/* ---- module parameters, restored at the end ---- */

enum knob_id {
	K_BATCH,
	K_INFLIGHT,
	K_IO_KB,
	K_POOL,
	K_THREADS,
	K_MAPPING,
	K_KNOBS
};

static struct hl_knob knob_table[K_KNOBS] = {
	[K_BATCH] = { "gather_batch_mb", HL_PARAM_DIR "gather_batch_mb" },
	[K_INFLIGHT] = { "max_inflight_batches",
			 HL_PARAM_DIR "max_inflight_batches" },
	[K_IO_KB] = { "io_size_kb", HL_PARAM_DIR "io_size_kb" },
	[K_POOL] = { "restricted_pool_mb", HL_PARAM_DIR "restricted_pool_mb" },
	[K_THREADS] = { "alloc_threads", HL_PARAM_DIR "alloc_threads" },
	[K_MAPPING] = { "batch_mapping", HL_PARAM_DIR "batch_mapping" },
};

static struct hl_knobs knobs = { knob_table, K_KNOBS, false };

/* Valid values (Documentation/ABI/testing/sysfs-module-heapload). */
static const unsigned int batch_values[] = { 1, 2, 3, 8, 16, 64, 128, 65536 };
static const unsigned int inflight_values[] = { 1, 2, 3, 4, 16, 64 };
static const unsigned int io_kb_values[] = { 4, 64, 512, 1024, 4096, 8192,
					     65536 };
static const unsigned int pool_values[] = { 8, 32, 64, 256, 512, 1024 };
static const unsigned int threads_values[] = { 0, 1, 2, 4 };
static const char *const mapping_words[] = { "bvec", "vmap" };

/* Numbers @v, or words @w (each reads back as written). */
static const struct {
	const unsigned int *v;
	const char *const *w;
	size_t n;
} knob_values[K_KNOBS] = {
	[K_BATCH] = { .v = batch_values, .n = ARRAY_LEN(batch_values) },
	[K_INFLIGHT] = { .v = inflight_values, .n = ARRAY_LEN(inflight_values) },
	[K_IO_KB] = { .v = io_kb_values, .n = ARRAY_LEN(io_kb_values) },
	[K_POOL] = { .v = pool_values, .n = ARRAY_LEN(pool_values) },
	[K_THREADS] = { .v = threads_values, .n = ARRAY_LEN(threads_values) },
	[K_MAPPING] = { .w = mapping_words, .n = ARRAY_LEN(mapping_words) },
};

/* Put every parameter back; only open, write and close. */
static int restore_knobs(const struct hl_knob **bad)
{
	unsigned int id;

	for (id = 0; id < K_KNOBS; id++)
		knob_table[id].changed = knob_table[id].present;
	return hl_knobs_restore(&knobs, bad);
}

static void on_fatal_signal(int sig)
{
	if (sh)
		at_store(&sh->stop, 1);
	restore_knobs(NULL);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* ---- what a process holds of the module ---- */

static struct slot *me;

static void hold_get(void)
{
	at_add(&me->holding, 1);
}

static void hold_put(void)
{
	if (!at_sub(&me->holding, 1))
		at_add(&me->idle_seq, 1);
}

static void set_op(enum op op)
{
	at_store(&me->op_start_ms, hl_now_ms());
	at_store(&me->op, op);
}

/* This process was sent SIGKILL (so an EINTR is its doing). */
static bool killed(uint64_t gen)
{
	return at_load(&me->kill_gen) == gen;
}

static bool stopping(void)
{
	return at_load(&sh->stop) != 0;
}

/*
 * Whether errno @e of an open() or a sysfs write is the module being
 * away: an unload was tried or succeeded since @mgen0 was read.
 */
static bool module_away(uint64_t mgen0, int e)
{
	if (e != ENOENT && e != ENODEV && e != ENXIO)
		return false;
	return at_load(&sh->rmmod_busy) || at_load(&sh->module_gen) != mgen0;
}

/* Open @path; -1 if it failed, reported unless the module was away. */
static int open_node(const char *path, enum cat c, uint64_t mgen0)
{
	int fd = open(path, O_RDWR | O_CLOEXEC), e;

	if (fd >= 0)
		return fd;
	e = errno;
	if (module_away(mgen0, e))
		at_add(&sh->module_away, 1);
	else
		tfail(c, "open %s: %s", path, hl_errname(e));
	return -1;
}

/* ---- test data ---- */

struct data {
	const char *name;
	unsigned int weight;	/* how often a load picks it */
	int fd;
	uint64_t size;
};

static struct data files[] = {
	{ .name = "8m", .weight = 25 },
	{ .name = "unaligned", .weight = 20 },
	{ .name = "one", .weight = 12 },
	{ .name = "page_minus_one", .weight = 12 },
	{ .name = "empty", .weight = 8 },
	{ .name = "256m", .weight = 10 },
};

/* Open every data file; 0 or the errno, the file's path into @path. */
static int data_open_all(char *path, size_t len)
{
	struct stat st;
	size_t i;

	for (i = 0; i < ARRAY_LEN(files); i++)
		files[i].fd = -1;
	for (i = 0; i < ARRAY_LEN(files); i++) {
		hl_data_path(path, len, files[i].name);
		files[i].fd = open(path, O_RDONLY | O_CLOEXEC);
		if (files[i].fd < 0)
			return errno;
		if (fstat(files[i].fd, &st))
			return errno;
		files[i].size = st.st_size;
	}
	return 0;
}

static struct data *pick_file(uint64_t *rng)
{
	unsigned int total = 0, x;
	size_t i;

	for (i = 0; i < ARRAY_LEN(files); i++)
		total += files[i].weight;
	x = rnd_below(rng, total);
	for (i = 0; i < ARRAY_LEN(files); i++) {
		if (x < files[i].weight)
			return &files[i];
		x -= files[i].weight;
	}
	return &files[0];
}

/* ---- a worker ---- */

/* A buffer a worker keeps: its dma-buf fd and/or its vgem GEM handle. */
struct held {
	int fd;			/* -1 once closed */
	__u32 handle;		/* 0: not imported, or closed */
	uint64_t size;
};

struct worker {
	uint64_t gen;
	uint64_t rng;
	struct held held[MAX_HELD];
	unsigned int n_held;
};

static void count(enum kind k, int e, int expect)
{
	struct kind_stat *s = &sh->kind[k];

	if (!e && !expect)
		at_add(&s->ok, 1);
	else if (e == ENOMEM && !expect)
		at_add(&s->enomem, 1);
	else if (e == expect)
		at_add(&s->expected, 1);
	else
		at_add(&s->bad, 1);
}

/*
 * Whether errno @e (0 for success) of an operation that must give
 * @expect (or ENOMEM, where it must succeed) is fine; EINTR is, only for
 * a process that was sent SIGKILL.
 */
static bool outcome_ok(struct worker *w, int e, int expect)
{
	if (e == expect || (e == ENOMEM && !expect))
		return true;
	return e == EINTR && killed(w->gen);
}

static void close_fd(struct held *h)
{
	if (h->fd < 0)
		return;
	hold_put();
	close(h->fd);
	h->fd = -1;
}

static void close_handle(struct held *h)
{
	int e;

	if (!h->handle)
		return;
	at_sub(&me->imports, 1);
	hold_put();
	e = hl_vgem_close(vgem_fd, h->handle);
	count(K_GEM_CLOSE, e, 0);
	if (e)
		tfail(CAT_OPS, "GEM_CLOSE of vgem handle %u: %s", h->handle,
		      hl_errname(e));
	h->handle = 0;
}

/* Let go of one of the two, or of the last one @h holds. */
static void release_part(struct worker *w, struct held *h)
{
	set_op(OP_RELEASE);
	if (h->fd >= 0 && h->handle) {
		if (rnd_pct(&w->rng, 50))
			close_fd(h);
		else
			close_handle(h);
	} else {
		close_fd(h);
		close_handle(h);
	}
	set_op(OP_IDLE);
}

static void release_all(struct worker *w, struct held *h)
{
	while (h->fd >= 0 || h->handle)
		release_part(w, h);
}

static void drop_released(struct worker *w)
{
	unsigned int i, j = 0;

	for (i = 0; i < w->n_held; i++)
		if (w->held[i].fd >= 0 || w->held[i].handle)
			w->held[j++] = w->held[i];
	w->n_held = j;
}

/* Each buffer held loses its fd or its import now and then. */
static void release_some(struct worker *w)
{
	unsigned int i;

	for (i = 0; i < w->n_held; i++)
		if (rnd_pct(&w->rng, 25))
			release_part(w, &w->held[i]);
	drop_released(w);
}

/*
 * A new buffer (@fd, @size bytes, held once): import it into vgem now and
 * then, maybe closing the dma-buf fd at once so that only vgem holds it;
 * keep it if small enough, else let go of it now.
 */
static void keep_or_import(struct worker *w, int fd, uint64_t size)
{
	struct held h = { .fd = fd, .handle = 0, .size = size };
	int e;

	if (vgem_fd >= 0 && rnd_pct(&w->rng, 50)) {
		set_op(OP_IMPORT);
		e = hl_vgem_import(vgem_fd, fd, &h.handle);
		set_op(OP_IDLE);
		count(K_IMPORT, e, 0);
		if (!e) {
			at_add(&me->imports, 1);
			hold_get();
		} else if (!outcome_ok(w, e, 0)) {
			tfail(CAT_OPS, "vgem import of a %" PRIu64 "-byte buffer: %s",
			      size, hl_errname(e));
		}
		if (h.handle && rnd_pct(&w->rng, 60)) {
			close_fd(&h);
			at_add(&sh->gem_only, 1);
		}
	}
	if (size > HOLD_MAX) {
		if (h.handle && rnd_pct(&w->rng, 50))
			hl_sleep_ms(rnd_below(&w->rng, 50));
		release_all(w, &h);
		return;
	}
	if (w->n_held == MAX_HELD) {
		release_all(w, &w->held[0]);
		drop_released(w);
	}
	w->held[w->n_held++] = h;
}

/* The bytes up to @size of dma-buf @fd equal those of @f, the rest read 0. */
static void verify_load(int fd, const struct data *f, uint64_t buf_size)
{
	const size_t chunk = HL_MIB;
	unsigned char *map, *buf;
	uint64_t pos, n;
	size_t i;
	int e;

	set_op(OP_VERIFY);
	map = mmap(NULL, buf_size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		tfail(CAT_VERIFY, "mmap of a loaded %s buffer: %s", f->name,
		      hl_errname(errno));
		goto out;
	}
	buf = malloc(chunk);
	e = hl_sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	if (e)
		tfail(CAT_VERIFY, "DMA_BUF_IOCTL_SYNC start: %s", hl_errname(e));
	for (pos = 0; buf && !e && pos < f->size; pos += n) {
		n = f->size - pos < chunk ? f->size - pos : chunk;
		if (pread(f->fd, buf, n, pos) != (ssize_t)n) {
			tfail(CAT_VERIFY, "short read of %s at %" PRIu64,
			      f->name, pos);
			break;
		}
		if (memcmp(buf, map + pos, n)) {
			for (i = 0; buf[i] == map[pos + i]; i++)
				;
			tfail(CAT_VERIFY, "byte %" PRIu64 " of the %s buffer is 0x%02x, the file has 0x%02x",
			      pos + i, f->name, map[pos + i], buf[i]);
			break;
		}
	}
	if (buf && !e && pos >= f->size) {
		i = hl_first_nonzero(map + f->size, buf_size - f->size);
		if (i != buf_size - f->size)
			tfail(CAT_VERIFY, "byte %" PRIu64 " past the end of %s is 0x%02x, not 0",
			      f->size + i, f->name, map[f->size + i]);
		else
			at_add(&sh->verified, 1);
		at_add(&sh->verified_bytes, f->size);
	}
	if (!e) {
		e = hl_sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
		if (e)
			tfail(CAT_VERIFY, "DMA_BUF_IOCTL_SYNC end: %s",
			      hl_errname(e));
	}
	free(buf);
	munmap(map, buf_size);
out:
	set_op(OP_IDLE);
}

/* A fresh system buffer reads 0: all of a small one, the ends of a big one. */
static void verify_zero(int fd, uint64_t size)
{
	uint64_t part = size <= 4 * HL_MIB ? size : HL_MIB, off;
	unsigned char *map;
	size_t i;

	set_op(OP_VERIFY);
	map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		tfail(CAT_VERIFY, "mmap of a %" PRIu64 "-byte system buffer: %s",
		      size, hl_errname(errno));
		goto out;
	}
	for (off = 0; off < size; off += size - part) {
		i = hl_first_nonzero(map + off, part);
		if (i != part) {
			tfail(CAT_VERIFY, "byte %" PRIu64 " of a new %" PRIu64 "-byte system buffer is 0x%02x",
			      off + i, size, map[off + i]);
			break;
		}
		if (part == size)
			break;
	}
	at_add(&sh->zero_checked, 1);
	munmap(map, size);
out:
	set_op(OP_IDLE);
}

/* The CPU may not map a restricted buffer. */
static void verify_no_mmap(int fd, uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);

	if (p != MAP_FAILED) {
		munmap(p, size);
		tfail(CAT_VERIFY, "mmap of a %" PRIu64 "-byte restricted buffer worked",
		      size);
	} else if (errno != EPERM) {
		tfail(CAT_VERIFY, "mmap of a restricted buffer: %s, expected EPERM",
		      hl_errname(errno));
	}
	at_add(&sh->eperm_checked, 1);
}

static void do_load(struct worker *w)
{
	bool res = have_restricted && rnd_pct(&w->rng, 30);
	struct data *f = pick_file(&w->rng);
	uint32_t flags = res || rnd_pct(&w->rng, 50) ? D : B;
	uint64_t mgen0 = at_load(&sh->module_gen);
	enum kind k = res ? K_LOAD_RES : flags == D ? K_LOAD_SYS_D : K_LOAD_SYS_B;
	struct heapload_load l;
	int dev, e, expect = 0;

	if (!f->size) {
		expect = ENODATA;
	} else if (res && rnd_pct(&w->rng, 5)) {
		flags = B;
		expect = EINVAL;
		k = K_LOAD_RES_B;
	}
	dev = open_node(HL_LOADER_PATH, CAT_OPS, mgen0);
	if (dev < 0)
		return;
	hold_get();
	hl_load_init(&l, f->fd, flags, 0, 0);
	if (res)
		snprintf(l.heap, sizeof(l.heap), "%s", HL_RESTRICTED_NAME);
	set_op(OP_LOAD);
	e = hl_ioctl(dev, HEAPLOAD_IOC_LOAD, &l);
	set_op(OP_IDLE);
	if (!e)
		hold_get();
	hold_put();
	close(dev);
	count(k, e, expect);
	if (!outcome_ok(w, e, expect))
		tfail(CAT_OPS, "%s load of %s into %s: %s, expected %s%s",
		      flags == D ? "direct" : "buffered", f->name, l.heap,
		      hl_errname(e), hl_errname(expect),
		      expect ? "" : " or ENOMEM");
	if (e)
		return;
	if (expect) {
		hold_put();
		close(l.dmabuf_fd);
		return;
	}
	if (l.loaded != f->size || l.buf_size != hl_page_up(f->size)) {
		tfail(CAT_VERIFY, "load of %s: loaded %llu buf_size %llu, expected %" PRIu64 " and %" PRIu64,
		      f->name, (ull)l.loaded, (ull)l.buf_size, f->size,
		      hl_page_up(f->size));
	} else if (!res && rnd_pct(&w->rng, f->size > HOLD_MAX ? 15 : 40)) {
		verify_load(l.dmabuf_fd, f, l.buf_size);
	} else if (res && rnd_pct(&w->rng, 10)) {
		verify_no_mmap(l.dmabuf_fd, l.buf_size);
	}
	keep_or_import(w, l.dmabuf_fd, l.buf_size);
}

/* Sizes as MiB + KiB + pages: the same edges on every page size. */
struct alloc_size {
	uint32_t mib;
	uint32_t kib;
	int32_t pages;
};

static const struct alloc_size sys_sizes[] = {
	{ 0, 0, 1 }, { 0, 64, 0 }, { 1, 0, 0 }, { 3, 0, 1 }, { 8, 0, 0 },
	{ 32, 0, 0 }, { 100, 0, 0 },
};

static const struct alloc_size res_sizes[] = {
	{ 0, 0, 1 }, { 0, 0, 3 }, { 1, 0, 0 }, { 4, 0, -1 }, { 4, 0, 0 },
	{ 4, 0, 1 }, { 6, 0, 0 }, { 12, 0, 0 }, { 17, 0, 2 }, { 33, 0, 0 },
};

static uint64_t size_of(struct alloc_size s)
{
	return s.mib * HL_MIB + s.kib * 1024ULL +
	       (uint64_t)((int64_t)s.pages * (int64_t)HL_PAGE);
}

static void do_alloc(struct worker *w)
{
	bool res = have_restricted && rnd_pct(&w->rng, 40);
	uint64_t mgen0 = at_load(&sh->module_gen), size;
	int heap, dfd = -1, e;

	size = size_of(res ? res_sizes[rnd_below(&w->rng, 5)] :
		       sys_sizes[rnd_below(&w->rng, ARRAY_LEN(sys_sizes))]);
	heap = open_node(res ? HL_RESTRICTED_PATH : HL_HEAP_PATH, CAT_OPS,
			 mgen0);
	if (heap < 0)
		return;
	hold_get();
	set_op(OP_ALLOC);
	e = hl_heap_alloc(heap, size, O_RDWR | O_CLOEXEC, 0, &dfd);
	set_op(OP_IDLE);
	if (!e)
		hold_get();
	hold_put();
	close(heap);
	count(res ? K_ALLOC_RES : K_ALLOC_SYS, e, 0);
	if (!outcome_ok(w, e, 0))
		tfail(CAT_OPS, "DMA_HEAP_IOCTL_ALLOC of %" PRIu64 " bytes from %s: %s, expected success or ENOMEM",
		      size, res ? HL_RESTRICTED_NAME : HL_HEAP_NAME,
		      hl_errname(e));
	if (e)
		return;
	if (!res && rnd_pct(&w->rng, 30))
		verify_zero(dfd, size);
	else if (res && rnd_pct(&w->rng, 10))
		verify_no_mmap(dfd, size);
	keep_or_import(w, dfd, size);
}

static void __attribute__((noreturn)) worker_main(unsigned int id,
						  uint64_t gen)
{
	struct worker w = { .gen = gen, .rng = rnd_stream(id, gen) };
	char path[512];
	unsigned int i;
	int e;

	e = data_open_all(path, sizeof(path));
	if (e) {
		tfail(CAT_WORKERS, "worker %u: open %s: %s", id, path,
		      hl_errname(e));
		_exit(3);
	}
	at_store(&me->ready, 1);
	while (!stopping()) {
		release_some(&w);
		if (rnd_pct(&w.rng, 55))
			do_load(&w);
		else
			do_alloc(&w);
		at_add(&sh->ops, 1);
	}
	for (i = 0; i < w.n_held; i++)
		release_all(&w, &w.held[i]);
	_exit(0);
}

/* ---- the restricted pool churner ---- */

static void __attribute__((noreturn)) churn_main(unsigned int id, uint64_t gen)
{
	struct { int fd; uint64_t size; } live[CHURN_LIVE];
	uint64_t rng = rnd_stream(id, gen), mgen0, size, bytes = 0;
	unsigned int n = 0, i;
	int heap, fd, e;

	at_store(&me->ready, 1);
	while (!stopping()) {
		size = size_of(res_sizes[rnd_below(&rng, ARRAY_LEN(res_sizes))]);
		if (!n || (n < CHURN_LIVE && bytes + size <= CHURN_MAX_BYTES &&
			   rnd_pct(&rng, 55))) {
			mgen0 = at_load(&sh->module_gen);
			heap = open_node(HL_RESTRICTED_PATH, CAT_CHURN, mgen0);
			if (heap < 0) {
				hl_sleep_ms(10);
				continue;
			}
			hold_get();
			set_op(OP_ALLOC);
			e = hl_heap_alloc(heap, size, O_RDWR | O_CLOEXEC, 0, &fd);
			set_op(OP_IDLE);
			if (!e)
				hold_get();
			hold_put();
			close(heap);
			count(K_CHURN_ALLOC, e, 0);
			if (!e) {
				live[n].fd = fd;
				live[n++].size = size;
				bytes += size;
			} else if (e != ENOMEM &&
				   !(e == EINTR && killed(gen))) {
				tfail(CAT_CHURN, "restricted alloc of %" PRIu64 " bytes: %s, expected success or ENOMEM",
				      size, hl_errname(e));
			}
		} else {
			i = rnd_below(&rng, n);
			set_op(OP_RELEASE);
			hold_put();
			close(live[i].fd);
			set_op(OP_IDLE);
			count(K_CHURN_FREE, 0, 0);
			bytes -= live[i].size;
			live[i] = live[--n];
		}
		at_add(&sh->ops, 1);
		hl_sleep_ms(rnd_below(&rng, 4));
	}
	while (n) {
		hold_put();
		close(live[--n].fd);
	}
	_exit(0);
}

/* ---- the killer ---- */

static bool slot_running(const struct slot *s)
{
	return at_load(&s->pid) && at_load(&s->ready) &&
	       at_load(&s->kill_gen) != at_load(&s->gen);
}

static void __attribute__((noreturn)) killer_main(void)
{
	uint64_t rng = rnd_stream(100, 0), gen, pid, op;
	unsigned int cand[NR_SLOTS], n, busy, i;
	struct slot *s;

	while (!stopping()) {
		hl_sleep_ms(150 + rnd_below(&rng, 750));
		if (stopping())
			break;
		/* Most kills land in the middle of an operation. */
		busy = rnd_pct(&rng, 75);
		for (n = 0, i = 0; i < NR_SLOTS; i++) {
			s = &sh->slot[i];
			if (slot_running(s) &&
			    (!busy || at_load(&s->op) != OP_IDLE))
				cand[n++] = i;
		}
		if (!n)
			continue;
		s = &sh->slot[cand[rnd_below(&rng, n)]];
		gen = at_load(&s->gen);
		pid = at_load(&s->pid);
		op = at_load(&s->op);
		if (!pid || (pid_t)pid <= 0)
			continue;
		at_store(&s->kill_ms, hl_now_ms());
		at_store(&s->kill_gen, gen);
		if (kill((pid_t)pid, SIGKILL))
			continue;
		at_add(&sh->kills, 1);
		if (op != OP_IDLE)
			at_add(&sh->kills_mid_op, 1);
		if (op == OP_LOAD)
			at_add(&sh->kills_mid_load, 1);
	}
	_exit(0);
}

/* ---- the parameter writer ---- */

static void __attribute__((noreturn)) params_main(void)
{
	uint64_t rng = rnd_stream(200, 0), mgen0, got = 0;
	unsigned int ids[K_KNOBS], n = 0, id, v, i;
	char buf[32], back[32];
	int e;

	for (id = 0; id < K_KNOBS; id++)
		if (knob_table[id].present)
			ids[n++] = id;
	while (n && !stopping()) {
		hl_sleep_ms(30 + rnd_below(&rng, 270));
		id = ids[rnd_below(&rng, n)];
		i = rnd_below(&rng, knob_values[id].n);
		v = knob_values[id].v ? knob_values[id].v[i] : 0;
		if (knob_values[id].w)
			snprintf(buf, sizeof(buf), "%s", knob_values[id].w[i]);
		else
			snprintf(buf, sizeof(buf), "%u", v);
		mgen0 = at_load(&sh->module_gen);
		e = hl_write_str(knob_table[id].path, buf);
		if (!e && knob_values[id].w)
			e = hl_read_word(knob_table[id].path, back, sizeof(back));
		else if (!e)
			e = hl_read_u64(knob_table[id].path, &got);
		if (e) {
			if (!module_away(mgen0, e))
				tfail(CAT_PARAMS, "writing %s=%s: %s",
				      knob_table[id].name, buf, hl_errname(e));
			continue;
		}
		at_add(&sh->param_writes, 1);
		if (at_load(&sh->module_gen) != mgen0)
			continue;
		if (knob_values[id].w && strcmp(back, buf))
			tfail(CAT_PARAMS, "%s reads %s just after writing %s",
			      knob_table[id].name, back, buf);
		else if (!knob_values[id].w && got != v)
			tfail(CAT_PARAMS, "%s reads %" PRIu64 " just after writing %u",
			      knob_table[id].name, got, v);
	}
	_exit(0);
}

/* ---- the unloader ---- */

struct snap {
	uint64_t gen[NR_SLOTS];
	uint64_t holding[NR_SLOTS];
	uint64_t idle_seq[NR_SLOTS];
	uint64_t orphans;
	bool loading;
};

static void take_snap(struct snap *sn)
{
	const struct slot *s;
	unsigned int i;

	sn->orphans = at_load(&sh->orphans);
	sn->loading = false;
	for (i = 0; i < NR_SLOTS; i++) {
		s = &sh->slot[i];
		sn->gen[i] = at_load(&s->gen);
		sn->holding[i] = at_load(&s->holding);
		sn->idle_seq[i] = at_load(&s->idle_seq);
		if (at_load(&s->pid) && at_load(&s->op) == OP_LOAD)
			sn->loading = true;
	}
}

/*
 * Something of the module was held from before @a until after @b: an
 * orphaned import, or a process not sent SIGKILL that held something at
 * both and never nothing in between. Into @what, which.
 */
static bool held_throughout(const struct snap *a, const struct snap *b,
			    char *what, size_t len)
{
	const struct slot *s;
	unsigned int i;

	if (a->orphans) {
		snprintf(what, len, "%" PRIu64 " orphaned vgem import(s)",
			 a->orphans);
		return true;
	}
	for (i = 0; i < NR_SLOTS; i++) {
		s = &sh->slot[i];
		if (a->gen[i] == b->gen[i] && a->holding[i] &&
		    b->holding[i] && a->idle_seq[i] == b->idle_seq[i] &&
		    at_load(&s->kill_gen) != b->gen[i]) {
			snprintf(what, len, "%" PRIu64 " thing(s) held by slot %u (pid %" PRIu64 ", %s)",
				 b->holding[i], i, at_load(&s->pid),
				 op_names[at_load(&s->op) % OP_NR]);
			return true;
		}
	}
	return false;
}

/* Wait up to 10 s for the module's nodes after inserting it. */
static bool nodes_back(void)
{
	const char *const need[] = { HL_LOADER_PATH, HL_HEAP_PATH,
				     have_restricted ? HL_RESTRICTED_PATH : NULL };
	uint64_t end = hl_now_ms() + 10000;
	size_t i;

	for (i = 0; i < ARRAY_LEN(need); i++)
		while (need[i] && access(need[i], F_OK)) {
			if (hl_now_ms() >= end)
				return false;
			hl_sleep_ms(10);
		}
	return true;
}

static int module_insert(void)
{
	int fd, e = 0;

	fd = open(MODULE_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	if (syscall(SYS_finit_module, fd, "", 0))
		e = errno;
	close(fd);
	return e;
}

/* The unload worked: say whether it should have, and insert the module again. */
static void unloaded(const struct snap *a, const struct snap *b)
{
	uint64_t n = at_add(&sh->rmmod_unloaded, 1);
	char what[160];
	int e;

	at_add(&sh->module_gen, 1);
	if (held_throughout(a, b, what, sizeof(what)))
		tfail(CAT_RMMOD, "delete_module succeeded while %s", what);
	else if (framework_pinned)
		tfail(CAT_RMMOD, "delete_module succeeded on the dma-heap framework path, which must pin the module");
	else if (n <= MAX_UNLOADS_SHOWN)
		ktap_print_msg("torture: delete_module succeeded with nothing provably in use; inserting %s again",
			       MODULE_FILE);
	e = module_insert();
	if (e || !nodes_back()) {
		tfail(CAT_RMMOD, "inserting %s again: %s", MODULE_FILE,
		      e ? hl_errname(e) : "its nodes did not appear within 10 s");
		at_store(&sh->stop, 1);
	}
}

static void __attribute__((noreturn)) rmmod_main(void)
{
	uint64_t rng = rnd_stream(300, 0);
	struct snap a, b;
	char what[160];
	long r;
	int e;

	while (!stopping()) {
		hl_sleep_ms(80 + rnd_below(&rng, 320));
		if (stopping())
			break;
		at_store(&sh->rmmod_busy, 1);
		take_snap(&a);
		r = syscall(SYS_delete_module, "heapload", O_NONBLOCK);
		e = errno;
		take_snap(&b);
		at_add(&sh->rmmod_attempts, 1);
		if (a.loading)
			at_add(&sh->rmmod_mid_load, 1);
		if (held_throughout(&a, &b, what, sizeof(what)))
			at_add(&sh->rmmod_in_use, 1);
		if (!r)
			unloaded(&a, &b);
		else if (e == EBUSY)
			at_add(&sh->rmmod_ebusy, 1);
		else if (e == EAGAIN)
			at_add(&sh->rmmod_eagain, 1);
		else if (e == EPERM)
			at_store(&sh->rmmod_eperm, 1);
		else
			tfail(CAT_RMMOD, "delete_module(heapload, O_NONBLOCK): %s, expected EBUSY or EAGAIN",
			      hl_errname(e));
		at_store(&sh->rmmod_busy, 0);
		if (at_load(&sh->rmmod_eperm))
			break;
	}
	_exit(0);
}

/* ---- the parent ---- */

enum helper {
	H_KILLER,
	H_PARAMS,
	H_RMMOD,
	H_NR
};

static const char *const helper_names[H_NR] = {
	"killer", "parameter writer", "unloader",
};

static void (*const helper_fn[H_NR])(void) = {
	[H_KILLER] = killer_main,
	[H_PARAMS] = params_main,
	[H_RMMOD] = rmmod_main,
};

static pid_t helper_pid[H_NR];

static pid_t spawn(void (*fn)(void))
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fn();
		_exit(0);
	}
	return pid;
}

static unsigned int spawn_id;
static unsigned int slow_deaths_shown;
static uint64_t spawn_gen;

static void slot_child(void)
{
	me = &sh->slot[spawn_id];
	at_store(&me->pid, (uint64_t)getpid());
	if (spawn_id == CHURN_SLOT)
		churn_main(spawn_id, spawn_gen);
	worker_main(spawn_id, spawn_gen);
}

static void spawn_slot(unsigned int id)
{
	struct slot *s = &sh->slot[id];
	pid_t pid;

	at_store(&s->pid, 0);
	at_store(&s->ready, 0);
	at_store(&s->holding, 0);
	at_store(&s->imports, 0);
	at_store(&s->op, OP_IDLE);
	at_store(&s->reported, 0);
	at_store(&s->slow_shown, 0);
	spawn_id = id;
	spawn_gen = at_add(&s->gen, 1);
	pid = spawn(slot_child);
	if (pid < 0) {
		tfail(CAT_WORKERS, "fork of slot %u: %s", id, strerror(errno));
		return;
	}
	at_store(&s->pid, (uint64_t)pid);
}

/* The kernel stack and wait channel of @pid, as diagnostics. */
static void dump_task(pid_t pid)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/wchan", (int)pid);
	if (!hl_read_word(path, line, sizeof(line)))
		ktap_print_msg("torture: pid %d wchan %s", (int)pid, line);
	snprintf(path, sizeof(path), "/proc/%d/stack", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		ktap_print_msg("torture: pid %d stack: %s", (int)pid, line);
	fclose(f);
}

/* Milliseconds since @t, 0 if another process stored it after we read the clock. */
static uint64_t ms_since(uint64_t now, uint64_t t)
{
	return now > t ? now - t : 0;
}

/* Report once a slot's process stuck after SIGKILL or in one operation. */
static void check_stuck(unsigned int id)
{
	struct slot *s = &sh->slot[id];
	uint64_t now = hl_now_ms(), gen = at_load(&s->gen);
	pid_t pid = (pid_t)at_load(&s->pid);
	uint64_t op = at_load(&s->op);

	if (!pid || at_load(&s->reported))
		return;
	if (at_load(&s->kill_gen) == gen && !s->slow_shown &&
	    ms_since(now, at_load(&s->kill_ms)) > SLOW_DEATH_MS &&
	    slow_deaths_shown < MAX_SLOW_SHOWN) {
		/* Not a failure yet: where a slow death spends its time. */
		s->slow_shown = 1;
		slow_deaths_shown++;
		ktap_print_msg("torture: slot %u pid %d alive %u s after SIGKILL (was in %s):",
			       id, (int)pid, SLOW_DEATH_MS / 1000,
			       op_names[op % OP_NR]);
		dump_task(pid);
	}
	if (at_load(&s->kill_gen) == gen &&
	    ms_since(now, at_load(&s->kill_ms)) > DEATH_MS) {
		tfail(CAT_WORKERS, "slot %u pid %d still alive %u s after SIGKILL (was in %s)",
		      id, (int)pid, DEATH_MS / 1000, op_names[op % OP_NR]);
	} else if (op != OP_IDLE &&
		   ms_since(now, at_load(&s->op_start_ms)) > STUCK_MS) {
		tfail(CAT_WORKERS, "slot %u pid %d in %s for over %u s",
		      id, (int)pid, op_names[op % OP_NR], STUCK_MS / 1000);
	} else {
		return;
	}
	at_store(&s->reported, 1);
	dump_task(pid);
}

/* A slot's process ended with @status: was it our SIGKILL, or the stop? */
static void slot_reaped(unsigned int id, int status)
{
	struct slot *s = &sh->slot[id];
	uint64_t gen = at_load(&s->gen), ms;
	const char *who = id == CHURN_SLOT ? "churner" : "worker";

	/* Its imports stay in the vgem fd that we and the others share. */
	at_add(&sh->orphans, at_load(&s->imports));
	at_store(&s->pid, 0);
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL &&
	    at_load(&s->kill_gen) == gen) {
		ms = ms_since(hl_now_ms(), at_load(&s->kill_ms));
		at_add(&sh->deaths, 1);
		if (ms > sh->max_death_ms) {
			sh->max_death_ms = ms;
			sh->max_death_op = at_load(&s->op);
		}
	} else if (WIFSIGNALED(status)) {
		tfail(CAT_WORKERS, "%s %u died of signal %d (%s)%s", who, id,
		      WTERMSIG(status), strsignal(WTERMSIG(status)),
		      WTERMSIG(status) == SIGKILL ? ", not ours: the OOM killer?" : "");
	} else if (WEXITSTATUS(status)) {
		tfail(CAT_WORKERS, "%s %u exited with status %d", who, id,
		      WEXITSTATUS(status));
	} else if (!stopping()) {
		tfail(CAT_WORKERS, "%s %u exited before the end", who, id);
	}
}

static void helper_reaped(enum helper h, int status)
{
	helper_pid[h] = 0;
	if (WIFSIGNALED(status))
		tfail(CAT_WORKERS, "the %s died of signal %d", helper_names[h],
		      WTERMSIG(status));
	else if (WEXITSTATUS(status))
		tfail(CAT_WORKERS, "the %s exited with status %d",
		      helper_names[h], WEXITSTATUS(status));
	else if (!stopping() && h != H_RMMOD)
		tfail(CAT_WORKERS, "the %s exited before the end",
		      helper_names[h]);
}

/* Reap what ended; respawn slots unless stopping. Returns how many live. */
static unsigned int reap(void)
{
	unsigned int i, alive = 0;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < NR_SLOTS; i++) {
			if ((pid_t)at_load(&sh->slot[i].pid) != pid)
				continue;
			slot_reaped(i, status);
			if (!stopping()) {
				at_add(&sh->respawns, 1);
				spawn_slot(i);
			}
			break;
		}
		for (i = 0; i < H_NR; i++)
			if (helper_pid[i] == pid)
				helper_reaped(i, status);
	}
	for (i = 0; i < NR_SLOTS; i++) {
		if (!at_load(&sh->slot[i].pid))
			continue;
		check_stuck(i);
		alive++;
	}
	for (i = 0; i < H_NR; i++)
		alive += helper_pid[i] > 0;
	return alive;
}

/* Every child still there after STOP_MS: report, SIGKILL and reap it. */
static void kill_leftovers(void)
{
	unsigned int i;
	int status;
	pid_t pid;

	for (i = 0; i < NR_SLOTS + H_NR; i++) {
		pid = i < NR_SLOTS ? (pid_t)at_load(&sh->slot[i].pid) :
				     helper_pid[i - NR_SLOTS];
		if (pid <= 0)
			continue;
		tfail(CAT_WORKERS, "pid %d did not stop within %u s of the end",
		      (int)pid, STOP_MS / 1000);
		dump_task(pid);
		kill(pid, SIGKILL);
		if (hl_reap(pid, DEATH_MS, &status))
			tfail(CAT_WORKERS, "pid %d still alive %u s after SIGKILL",
			      (int)pid, DEATH_MS / 1000);
		if (i < NR_SLOTS)
			at_store(&sh->slot[i].pid, 0);
		else
			helper_pid[i - NR_SLOTS] = 0;
	}
}

static void print_counts(uint64_t phase_ms)
{
	const struct kind_stat *s;
	unsigned int k;

	ktap_print_msg("torture: %" PRIu64 " operations in %" PRIu64 " ms (%" PRIu64
		       " with the module away for an unload)",
		       sh->ops, phase_ms, sh->module_away);
	for (k = 0; k < K_NR; k++) {
		s = &sh->kind[k];
		ktap_print_msg("torture:   %-34s ok %" PRIu64 " ENOMEM %" PRIu64
			       " expected-errno %" PRIu64 " unexpected %" PRIu64,
			       kind_names[k], s->ok, s->enomem, s->expected,
			       s->bad);
	}
	ktap_print_msg("torture: verified %" PRIu64 " loads (%" PRIu64 " MiB) byte for byte, %" PRIu64
		       " new buffers zero, %" PRIu64 " restricted mmaps refused; %" PRIu64
		       " buffers left to vgem alone, %" PRIu64 " imports orphaned by kills",
		       sh->verified, sh->verified_bytes >> 20, sh->zero_checked,
		       sh->eperm_checked, sh->gem_only, sh->orphans);
	ktap_print_msg("torture: kills %" PRIu64 " (%" PRIu64 " mid-operation, %" PRIu64
		       " mid-load), deaths %" PRIu64 " (slowest %" PRIu64 " ms, killed in %s), respawns %" PRIu64,
		       sh->kills, sh->kills_mid_op, sh->kills_mid_load,
		       sh->deaths, sh->max_death_ms,
		       op_names[sh->max_death_op % OP_NR], sh->respawns);
	ktap_print_msg("torture: rmmod attempts %" PRIu64 " (%" PRIu64 " mid-load, %" PRIu64
		       " provably in use): EBUSY %" PRIu64 " EAGAIN %" PRIu64
		       ", unloaded %" PRIu64,
		       sh->rmmod_attempts, sh->rmmod_mid_load, sh->rmmod_in_use,
		       sh->rmmod_ebusy, sh->rmmod_eagain,
		       sh->rmmod_unloaded);
	ktap_print_msg("torture: parameter writes %" PRIu64, sh->param_writes);
}

static uint64_t t_start_ms;
static uint64_t memavail0_kb, oom0;

/* /proc/meminfo at the start, to say where memory went if it is missing. */
#define MEMINFO_MAX		80
static struct meminfo_line {
	char key[32];
	uint64_t kb;
} meminfo0[MEMINFO_MAX];
static size_t nr_meminfo0;

/* Read /proc/meminfo into @m (at most MEMINFO_MAX lines); the count. */
static size_t meminfo_read(struct meminfo_line *m)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[256];
	size_t n = 0;

	if (!f)
		return 0;
	while (n < MEMINFO_MAX && fgets(line, sizeof(line), f))
		if (sscanf(line, "%31[^:]: %" SCNu64, m[n].key, &m[n].kb) == 2)
			n++;
	fclose(f);
	return n;
}

/* MemAvailable plus hl_pcp_free_kb(), in kB. */
static int mem_available_kb(uint64_t *kb)
{
	if (hl_proc_value("/proc/meminfo", "MemAvailable", kb))
		return ktap_fail("no MemAvailable in /proc/meminfo");
	*kb += hl_pcp_free_kb();
	return KTAP_PASS;
}

/* Pageblocks by zone and migrate type (isolated ones are not free). */
static void pagetypeinfo_print(void)
{
	FILE *f = fopen("/proc/pagetypeinfo", "re");
	bool blocks = false;
	char line[512];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Number of blocks", 16))
			blocks = true;
		if (blocks && line[0] != '\n') {
			line[strcspn(line, "\n")] = 0;
			ktap_print_msg("torture: %s", line);
		}
	}
	fclose(f);
}

/* Print the /proc/meminfo lines that moved by more than @min_kb. */
static void meminfo_print_moved(uint64_t min_kb)
{
	struct meminfo_line now[MEMINFO_MAX];
	size_t n = meminfo_read(now), i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < nr_meminfo0; j++) {
			int64_t d = (int64_t)(now[i].kb - meminfo0[j].kb);

			if (strcmp(now[i].key, meminfo0[j].key))
				continue;
			if (d > (int64_t)min_kb || -d > (int64_t)min_kb)
				ktap_print_msg("torture: %s %" PRIu64 " kB at the start, %"
					       PRIu64 " kB at the end (%+" PRId64 ")",
					       now[i].key, meminfo0[j].kb,
					       now[i].kb, d);
			break;
		}
}

/*
 * The torture phase: HL_TORTURE_SECONDS less what the stop and the checks
 * need (END_RESERVE_S, or a quarter of a short run).
 */
static int run_torture(void)
{
	uint64_t reserve = seconds / 4 < END_RESERVE_S ? seconds / 4 :
							 END_RESERVE_S;
	uint64_t phase = (seconds - reserve) * 1000;
	uint64_t end, t0 = hl_now_ms();
	const struct hl_knob *bad = NULL;
	unsigned int i;
	int e;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		sh = NULL;
		return ktap_fail("mmap of the shared state: %s", strerror(errno));
	}
	vgem_fd = hl_open_vgem();
	if (vgem_fd < 0)
		ktap_print_msg("torture: no vgem under /dev/dri: no imports");
	ktap_print_msg("torture: %u workers%s, killer, parameter writer, unloader for %" PRIu64 " ms",
		       NR_WORKERS, have_restricted ? ", restricted churner" : "",
		       phase);

	for (i = 0; i < NR_SLOTS; i++)
		if (i != CHURN_SLOT || have_restricted)
			spawn_slot(i);
	for (i = 0; i < H_NR; i++) {
		helper_pid[i] = spawn(helper_fn[i]);
		if (helper_pid[i] < 0) {
			tfail(CAT_WORKERS, "fork of the %s: %s",
			      helper_names[i], strerror(errno));
			helper_pid[i] = 0;
		}
	}

	end = t0 + phase;
	while (hl_now_ms() < end && !stopping()) {
		reap();
		hl_sleep_ms(10);
	}
	at_store(&sh->stop, 1);
	phase = hl_now_ms() - t0;
	ktap_print_msg("torture: stopping after %" PRIu64 " ms", phase);

	end = hl_now_ms() + STOP_MS;
	while (reap() && hl_now_ms() < end)
		hl_sleep_ms(10);
	kill_leftovers();
	ktap_print_msg("torture: every child reaped %" PRIu64 " ms after the stop",
		       hl_now_ms() - t0 - phase);
	if (vgem_fd >= 0)
		close(vgem_fd);
	vgem_fd = -1;

	e = restore_knobs(&bad);
	if (e)
		tfail(CAT_PARAMS, "restoring %s to %s: %s", bad->name,
		      bad->orig, hl_errname(e));
	print_counts(phase);
	return KTAP_PASS;
}

/* ---- the tests ---- */

static int t_prerequisites(void)
{
	static const char *const need[] = {
		HL_LOADER_PATH, HL_HEAP_PATH, HL_STAT_BYTES, HL_STAT_BUFS,
	};
	char path[512], reg[128] = "";
	size_t i;
	int e, r;

	r = hl_precondition_module();
	if (r)
		return r;
	for (i = 0; i < ARRAY_LEN(need); i++) {
		if (access(need[i], R_OK)) {
			e = errno;
			hl_precondition_skip("%s missing", need[i]);
			return ktap_fail("module loaded but %s: %s", need[i],
					 strerror(e));
		}
	}
	e = data_open_all(path, sizeof(path));
	for (i = 0; i < ARRAY_LEN(files); i++)
		if (files[i].fd >= 0)
			close(files[i].fd);
	if (e) {
		hl_precondition_skip("test data %s: %s", path, hl_errname(e));
		return ktap_skip("%s", hl_precondition_why);
	}
	if (geteuid()) {
		hl_precondition_skip("needs root (parameters, drop_caches, delete_module)");
		return ktap_skip("%s", hl_precondition_why);
	}
	have_restricted = !access(HL_RESTRICTED_PATH, F_OK);
	hl_read_word(REGISTRATION, reg, sizeof(reg));
	framework_pinned = strstr(reg, "dma_heap_add") != NULL;
	ktap_print_msg("torture: registration \"%s\"%s; %s", reg,
		       framework_pinned ? " (module pinned)" : "",
		       have_restricted ? "with heapload,restricted" :
					 "no heapload,restricted");
	for (i = 0; i < K_KNOBS; i++)
		ktap_print_msg("torture: %s=%s", knob_table[i].name,
			       knob_table[i].present ? knob_table[i].orig :
						       "(absent)");

	if (hl_drop_caches())
		return ktap_fail("cannot write /proc/sys/vm/drop_caches");
	if (mem_available_kb(&memavail0_kb))
		return KTAP_FAIL;
	if (hl_proc_value("/proc/vmstat", "oom_kill", &oom0))
		return ktap_fail("no oom_kill in /proc/vmstat");
	nr_meminfo0 = meminfo_read(meminfo0);
	ktap_print_msg("torture: MemAvailable and per-CPU lists %" PRIu64
		       " kB (%" PRIu64 " kB on the lists), oom_kill %" PRIu64
		       " at the start", memavail0_kb, hl_pcp_free_kb(), oom0);
	return KTAP_PASS;
}

static int t_ops(const void *arg)
{
	uint64_t ok = 0;
	int r;

	(void)arg;
	r = run_torture();
	if (r) {
		hl_precondition_skip("the torture did not run");
		return r;
	}
	r = cat_result(CAT_OPS);
	if (r)
		return r;
	ok = sh->kind[K_LOAD_SYS_D].ok + sh->kind[K_LOAD_SYS_B].ok +
	     sh->kind[K_LOAD_RES].ok;
	if (!ok)
		return ktap_fail("not one load succeeded in %" PRIu64 " operations",
				 sh->ops);
	return KTAP_PASS;
}

static int t_verified(const void *arg)
{
	int r = cat_result(CAT_VERIFY);

	(void)arg;
	if (r)
		return r;
	if (!sh->verified)
		return ktap_fail("no load was verified");
	return KTAP_PASS;
}

static int t_workers(const void *arg)
{
	int r = cat_result(CAT_WORKERS);

	(void)arg;
	if (r)
		return r;
	if (!sh->deaths)
		return ktap_fail("%" PRIu64 " SIGKILLs sent, no death of one seen",
				 sh->kills);
	return KTAP_PASS;
}

static int t_rmmod(const void *arg)
{
	int r = cat_result(CAT_RMMOD);

	(void)arg;
	if (r)
		return r;
	if (sh->rmmod_eperm)
		return ktap_skip("delete_module: EPERM (no CAP_SYS_MODULE)");
	if (!sh->rmmod_attempts)
		return ktap_fail("no unload was tried");
	if (!sh->rmmod_in_use)
		return ktap_fail("none of %" PRIu64 " unloads was tried with the module provably in use",
				 sh->rmmod_attempts);
	if (sh->rmmod_unloaded)
		ktap_print_msg("torture: the module was unloaded %" PRIu64 " time(s) with nothing in use and inserted again",
			       sh->rmmod_unloaded);
	return KTAP_PASS;
}

static int t_params(const void *arg)
{
	unsigned int id, n = 0;
	int r = cat_result(CAT_PARAMS);

	(void)arg;
	if (r)
		return r;
	for (id = 0; id < K_KNOBS; id++)
		n += knob_table[id].present;
	if (!n)
		return ktap_skip("none of the parameters exists");
	if (!sh->param_writes)
		return ktap_fail("no parameter was written");
	return KTAP_PASS;
}

static int t_churn(const void *arg)
{
	int r;

	(void)arg;
	if (!have_restricted)
		return ktap_skip("no %s", HL_RESTRICTED_PATH);
	r = cat_result(CAT_CHURN);
	if (r)
		return r;
	if (!sh->kind[K_CHURN_ALLOC].ok)
		return ktap_fail("no restricted allocation of the churner succeeded (%" PRIu64 " ENOMEM)",
				 sh->kind[K_CHURN_ALLOC].enomem);
	return KTAP_PASS;
}

static int t_no_leak(const void *arg)
{
	uint64_t end = hl_now_ms() + IDLE_MS, b = 0, n = 0, in = 0, w = 0;
	int e;

	(void)arg;
	for (;;) {
		e = hl_stats(&b, &n);
		if (!e && !access(HL_STAT_INFLIGHT, F_OK))
			e = hl_read_u64(HL_STAT_INFLIGHT, &in);
		if (!e && !access(HL_STAT_WORKERS, F_OK))
			e = hl_read_u64(HL_STAT_WORKERS, &w);
		if (e)
			return ktap_fail("reading the counters: %s", hl_errname(e));
		if (!b && !n && !in && !w)
			return KTAP_PASS;
		if (hl_now_ms() >= end)
			return ktap_fail("allocated_bytes %" PRIu64 " buffers %" PRIu64
					 " inflight_bytes %" PRIu64 " alloc_workers %" PRIu64
					 " %u s after every process and the vgem fd were gone",
					 b, n, in, w, IDLE_MS / 1000);
		hl_sleep_ms(20);
	}
}

static int t_pool_empty(const void *arg)
{
	uint64_t end = hl_now_ms() + IDLE_MS, used = 0, claimed = 0;
	int e;

	(void)arg;
	if (!have_restricted)
		return ktap_skip("no %s", HL_RESTRICTED_PATH);
	for (;;) {
		e = hl_read_u64(POOL_DIR "/used_bytes", &used);
		if (!e)
			e = hl_read_u64(POOL_DIR "/claimed_bytes", &claimed);
		if (e)
			return ktap_fail("reading %s: %s", POOL_DIR, hl_errname(e));
		if (!used && !claimed)
			return KTAP_PASS;
		if (hl_now_ms() >= end)
			return ktap_fail("restricted pool used_bytes %" PRIu64 " claimed_bytes %" PRIu64
					 " %u s after the end", used, claimed,
					 IDLE_MS / 1000);
		hl_sleep_ms(20);
	}
}

static int t_memavailable(const void *arg)
{
	uint64_t m1 = 0, m, total, slack, end = hl_now_ms() + MEMAVAIL_WAIT_MS;

	(void)arg;
	if (hl_proc_value("/proc/meminfo", "MemTotal", &total))
		return ktap_fail("no MemTotal in /proc/meminfo");
	slack = total / 100 * MEMAVAIL_SLACK_PCT;
	if (slack < MEMAVAIL_SLACK_KB)
		slack = MEMAVAIL_SLACK_KB;
	/*
	 * What the kernel frees late (RCU callbacks) comes back within
	 * MEMAVAIL_WAIT_MS, and what the per-CPU lists keep counts as
	 * available (mem_available_kb()); a leak does neither.
	 */
	do {
		hl_drop_caches();
		if (mem_available_kb(&m))
			return KTAP_FAIL;
		if (m > m1)
			m1 = m;
		if (m1 + slack >= memavail0_kb)
			break;
		hl_sleep_ms(1000);
	} while (hl_now_ms() < end);
	ktap_print_msg("torture: MemAvailable and per-CPU lists %" PRIu64
		       " kB at the start, %" PRIu64 " kB at the end (%" PRIu64
		       " kB on the lists; slack %" PRIu64 " kB)", memavail0_kb,
		       m1, hl_pcp_free_kb(), slack);
	/* Where it went (or came from): the lines that moved by 4 MiB. */
	meminfo_print_moved(4096);
	if (m1 + slack < memavail0_kb) {
		pagetypeinfo_print();
		return ktap_fail("MemAvailable and per-CPU lists are %" PRIu64
				 " kB lower than at the start after %u s",
				 memavail0_kb - m1, MEMAVAIL_WAIT_MS / 1000);
	}
	return KTAP_PASS;
}

static int t_no_oom(const void *arg)
{
	uint64_t oom1;

	(void)arg;
	if (hl_proc_value("/proc/vmstat", "oom_kill", &oom1))
		return ktap_fail("no oom_kill in /proc/vmstat");
	if (oom1 != oom0)
		return ktap_fail("the OOM killer ran %" PRIu64 " time(s)",
				 oom1 - oom0);
	return KTAP_PASS;
}

static int t_params_restored(const void *arg)
{
	(void)arg;
	return hl_knobs_restored(&knobs);
}

static const struct hl_test tests[] = {
	{ "torture_ops_succeed_or_expected_errno", t_ops, NULL },
	{ "torture_sampled_loads_verified", t_verified, NULL },
	{ "torture_children_die_only_of_our_sigkill", t_workers, NULL },
	{ "torture_rmmod_refused_while_in_use", t_rmmod, NULL },
	{ "torture_param_writes_mid_load", t_params, NULL },
	{ "torture_restricted_pool_churn", t_churn, NULL },
	{ "torture_no_buffer_left", t_no_leak, NULL },
	{ "torture_restricted_pool_empty", t_pool_empty, NULL },
	{ "torture_memavailable_back", t_memavailable, NULL },
	{ "torture_no_oom_kill", t_no_oom, NULL },
	{ "torture_params_restored", t_params_restored, NULL },
};

static void read_env(void)
{
	const char *s = getenv("HL_TORTURE_SEED");
	char *endp;

	if (s && *s) {
		seed = strtoull(s, &endp, 0);
		if (*endp)
			ktap_print_msg("torture: HL_TORTURE_SEED=%s is not a number: using %#llx",
				       s, (ull)seed);
	}
	s = getenv("HL_TORTURE_SECONDS");
	if (s && *s) {
		seconds = strtoul(s, &endp, 0);
		if (*endp || seconds < 4) {
			ktap_print_msg("torture: HL_TORTURE_SECONDS=%s is not a number of at least 4: using %u",
				       s, DEFAULT_SECONDS);
			seconds = DEFAULT_SECONDS;
		}
	}
}

int main(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	size_t i;

	t_start_ms = hl_now_ms();
	ktap_print_header();
	ktap_set_plan(1 + ARRAY_LEN(tests));
	read_env();
	ktap_print_msg("torture: seed %#llx (HL_TORTURE_SEED=%#llx to replay), %u s (HL_TORTURE_SECONDS)",
		       (ull)seed, (ull)seed, seconds);
	ktap_print_msg("torture: test data in %s", hl_data_dir());
	hl_knobs_save(&knobs);
	for (i = 0; i < ARRAY_LEN(sigs); i++)
		signal(sigs[i], on_fatal_signal);
	ktap_report("torture_prerequisites", t_prerequisites());
	hl_run_table(tests, ARRAY_LEN(tests));
	if (restore_knobs(NULL))
		ktap_print_msg("torture: restoring the parameters failed");
	ktap_print_msg("torture: took %" PRIu64 " ms in all",
		       hl_now_ms() - t_start_ms);
	ktap_finished();
}
