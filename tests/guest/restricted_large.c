// SPDX-License-Identifier: GPL-2.0
/*
 * A restricted buffer of 4 GiB and 4 MiB: more than a bio_vec's or a
 * scatterlist entry's 32-bit length holds. With the CMA backing a pool
 * region is as large as the allocation needs, so one free run of the pool
 * is as large as the buffer; the heap must still hand out chunks and make
 * sg_table entries of at most 2 GiB (HEAPLOAD_MAX_CHUNK), or the length
 * wraps (4 GiB + 4 MiB reads as 4 MiB).
 *
 * Checked: the allocation works and used_bytes grows by its size; the
 * debugfs file inspect says its size, lists chunks of at most 2 GiB that
 * add up to it, and a CRC-32 of all zeros; after the close, used_bytes,
 * restricted_bytes and claimed_bytes return to 0 and the module holds
 * nothing. Each step is timed, with the CMA and migration counters of
 * /proc/vmstat around the allocation: under emulation (TCG) the
 * allocation, which zeroes 4 GiB, took 23-28 s, inspect's CRC over it
 * 11-19 s and the close, which scrubs it, 6-10 s. When a page in the CMA
 * area cannot be migrated, cma_alloc() retries one page further on each
 * time and the allocation took over 600 s: run this program in a boot of
 * its own, not after other programs that used the pool.
 *
 * Skipped unless the pool's backing is cma and CmaFree is at least 4 GiB
 * and 64 MiB (kernels that export cma_alloc(), v7.1 on, booted with e.g.
 * cma=4200M nokaslr and 8 GiB of memory; without nokaslr the kernel may
 * land above 4 GiB and leave no room for the area). Raises
 * restricted_pool_mb and max_alloc_mb as far as needed and puts them
 * back. Needs root and the debugfs file inspect of the test builds.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stddef.h>

#include "hl_test.h"
#include "hl_inspect.h"
#include "hl_knobs.h"

#define POOL_DIR		HL_STATS_DIR "/restricted"

#define HL_GIB			(1024ULL * HL_MIB)
#define LARGE_SIZE		(4 * HL_GIB + 4 * HL_MIB)
#define LARGE_MB		(LARGE_SIZE / HL_MIB)
/* CmaFree must leave this much beyond the buffer. */
#define CMA_SLACK		(64 * HL_MIB)
/* The largest chunk and sg_table entry: 2 GiB. */
#define MAX_CHUNK		(2 * HL_GIB)
/* The pool must read empty again within this after the close... */
#define IDLE_MS			120000
/* ... or after a failure, and at the end. */
#define IDLE_AFTER_FAIL_MS	20000

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

typedef unsigned long long ull;

enum knob_id {
	K_POOL,
	K_MAX_ALLOC,
	K_NR
};

static struct hl_knob knob_table[K_NR] = {
	[K_POOL] = { .name = "restricted_pool_mb",
		     .path = HL_PARAM_DIR "restricted_pool_mb" },
	[K_MAX_ALLOC] = { .name = "max_alloc_mb", .path = HL_PARAM_MAX_MB },
};

/* Module parameters: every heapload has them. */
static struct hl_knobs knobs = { knob_table, K_NR, true };

static int heap_fd = -1;

static void on_fatal_signal(int sig)
{
	hl_knobs_restore(&knobs, NULL);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Knob @id at least @mb for this test. */
static int knob_at_least(unsigned int id, uint64_t mb)
{
	uint64_t cur;
	int r = hl_knob_get(&knobs, id, &cur);

	if (r || cur >= mb)
		return r;
	return hl_knob_set(&knobs, id, mb);
}

struct pool {
	uint64_t claimed;
	uint64_t used;
	uint64_t restricted;
};

static int pool_read(struct pool *p)
{
	static const struct {
		const char *file;
		size_t off;
	} files[] = {
		{ "claimed_bytes", offsetof(struct pool, claimed) },
		{ "used_bytes", offsetof(struct pool, used) },
		{ "restricted_bytes", offsetof(struct pool, restricted) },
	};
	char path[256];
	size_t i;
	int e;

	for (i = 0; i < ARRAY_LEN(files); i++) {
		snprintf(path, sizeof(path), POOL_DIR "/%s", files[i].file);
		e = hl_read_u64(path, (uint64_t *)((char *)p + files[i].off));
		if (e)
			return ktap_fail("reading %s: %s", path, hl_errname(e));
	}
	return KTAP_PASS;
}

/*
 * Wait up to @timeout_ms until the pool uses and claims nothing; a ktap
 * result, with the milliseconds it took in *@ms.
 */
static int pool_empty(const char *when, unsigned int timeout_ms, uint64_t *ms)
{
	uint64_t t0 = hl_now_ms(), end = t0 + timeout_ms;
	struct pool p;
	int r;

	for (;;) {
		r = pool_read(&p);
		if (r)
			return r;
		if (!p.used && !p.restricted && !p.claimed)
			break;
		if (hl_now_ms() >= end)
			return ktap_fail("%s: used_bytes %" PRIu64 " restricted_bytes %"
					 PRIu64 " claimed_bytes %" PRIu64
					 ", expected 0, 0 and 0 within %u ms", when,
					 p.used, p.restricted, p.claimed, timeout_ms);
		hl_sleep_ms(20);
	}
	if (ms)
		*ms = hl_now_ms() - t0;
	return KTAP_PASS;
}

/* Chunks of whole pages, at most 2 GiB each, adding up to @size. */
static int check_chunks(const struct hl_inspect *in, uint64_t size)
{
	uint64_t sum = 0, most = 0;
	unsigned int i;

	for (i = 0; i < in->n; i++) {
		const struct hl_chunk *c = &in->chunk[i];

		ktap_print_msg("chunk %u: 0x%llx %llu bytes", i, (ull)c->phys,
			       (ull)c->len);
		if (!c->len || c->len % HL_PAGE || c->phys % HL_PAGE)
			return ktap_fail("chunk %u: 0x%llx %llu bytes is not whole pages",
					 i, (ull)c->phys, (ull)c->len);
		if (c->len > MAX_CHUNK)
			return ktap_fail("chunk %u is %llu bytes: more than 2 GiB",
					 i, (ull)c->len);
		if (c->len > most)
			most = c->len;
		sum += c->len;
	}
	if (sum != size)
		return ktap_fail("%u chunks add up to %" PRIu64 " bytes, the buffer has %"
				 PRIu64 "%s", in->n, sum, size,
				 sum == (uint32_t)size ?
				 " (its size cut to 32 bits)" : "");
	ktap_print_msg("%u chunks, the largest %" PRIu64 " bytes", in->n, most);
	return KTAP_PASS;
}

/* Inspect the large buffer @dfd: heap, size, restricted, zeros, chunks. */
static int check_large(int dfd, uint64_t size)
{
	struct hl_inspect in;
	uint64_t t0 = hl_now_ms();
	uint32_t zero = hl_crc32_zeros(0, size);
	int r = hl_inspect(dfd, &in);

	ktap_print_msg("inspect (a CRC-32 over %" PRIu64 " bytes) took %" PRIu64
		       " ms", size, hl_now_ms() - t0);
	if (!r && strcmp(in.heap, HL_RESTRICTED_NAME))
		r = ktap_fail("inspect says heap %s, expected %s", in.heap,
			      HL_RESTRICTED_NAME);
	if (!r && in.size != size)
		r = ktap_fail("inspect says size %" PRIu64 ", expected %" PRIu64,
			      in.size, size);
	if (!r && in.restricted != 1)
		r = ktap_fail("inspect says restricted: %d, expected 1",
			      in.restricted);
	if (!r)
		r = check_chunks(&in, size);
	if (!r && in.crc != zero)
		r = ktap_fail("inspect says crc32 %08x, %" PRIu64 " zero bytes have %08x",
			      in.crc, size, zero);
	hl_inspect_free(&in);
	return r;
}

/* The kernel command line's word that starts with @key, into @buf ("" if none). */
static void cmdline_arg(const char *key, char *buf, size_t len)
{
	char line[4096], *tok, *save = NULL;
	FILE *f = fopen("/proc/cmdline", "re");

	buf[0] = '\0';
	if (!f)
		return;
	if (fgets(line, sizeof(line), f))
		for (tok = strtok_r(line, " \n", &save); tok;
		     tok = strtok_r(NULL, " \n", &save))
			if (!strncmp(tok, key, strlen(key)))
				snprintf(buf, len, "%s", tok);
	fclose(f);
}

/*
 * Can this boot hold the buffer? KTAP_PASS, or a ktap_skip() with the
 * reason, or a ktap_fail() if the pool cannot be read.
 */
static int large_possible(void)
{
	uint64_t cma_free_kb = 0, cma_total_kb = 0;
	uint64_t need_kb = (LARGE_SIZE + CMA_SLACK) / 1024;
	char backing[32], cma_arg[64] = "";
	int e;

	e = hl_read_word(POOL_DIR "/backing", backing, sizeof(backing));
	if (e)
		return ktap_fail("reading %s/backing: %s", POOL_DIR, hl_errname(e));
	hl_proc_value("/proc/meminfo", "CmaTotal", &cma_total_kb);
	cmdline_arg("cma=", cma_arg, sizeof(cma_arg));
	if (strcmp(backing, "cma") && cma_arg[0] && !cma_total_kb)
		return ktap_skip("booted with %s but CmaTotal is 0 kB: the kernel could not reserve the area (\"cma: Failed to reserve\"; physical KASLR may have split the memory above 4 GiB: add nokaslr)",
				 cma_arg);
	if (strcmp(backing, "cma"))
		return ktap_skip("the restricted pool's backing is %s, not cma: no region as large as the buffer (a kernel that exports cma_alloc(), booted with cma=, has one)",
				 backing);
	e = hl_proc_value("/proc/meminfo", "CmaFree", &cma_free_kb);
	if (e)
		return ktap_fail("reading CmaFree of /proc/meminfo: %s",
				 hl_errname(e));
	if (cma_free_kb < need_kb)
		return ktap_skip("CmaFree %" PRIu64 " kB, less than the %" PRIu64
				 " kB of 4 GiB + 64 MiB (boot with cma=4200M nokaslr and 8 GiB)",
				 cma_free_kb, need_kb);
	ktap_print_msg("backing cma, CmaTotal %" PRIu64 " kB, CmaFree %" PRIu64
		       " kB", cma_total_kb, cma_free_kb);
	return KTAP_PASS;
}

/*
 * After the failure @r (a ktap result with its reason stored): report
 * whether the pool still empties, and return @r with its reason.
 */
static int fail_and_pool_empty(int r)
{
	char why[sizeof(ktap_reason)];

	snprintf(why, sizeof(why), "%s", ktap_reason);
	if (pool_empty("after the failure", IDLE_AFTER_FAIL_MS, NULL))
		ktap_print_msg("and %s", ktap_reason);
	return ktap_why(r, "%s", why);
}

/* CMA and migration counters of /proc/vmstat, to tell why an alloc was slow. */
static const char *const vm_keys[] = {
	"cma_alloc_success", "cma_alloc_fail", "pgmigrate_success",
	"pgmigrate_fail",
};

static void vm_read(uint64_t *v)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(vm_keys); i++) {
		v[i] = 0;
		hl_proc_value("/proc/vmstat", vm_keys[i], &v[i]);
	}
}

static void vm_diag(const uint64_t *v0)
{
	uint64_t v[ARRAY_LEN(vm_keys)];

	vm_read(v);
	ktap_print_msg("during the alloc, /proc/vmstat: %s +%" PRIu64 ", %s +%"
		       PRIu64 ", %s +%" PRIu64 ", %s +%" PRIu64, vm_keys[0],
		       v[0] - v0[0], vm_keys[1], v[1] - v0[1], vm_keys[2],
		       v[2] - v0[2], vm_keys[3], v[3] - v0[3]);
}

static int t_large(const void *arg)
{
	uint64_t vm0[ARRAY_LEN(vm_keys)];
	uint64_t t0, ms, b, n, mem_kb = 0;
	struct pool p = { 0 };
	int dfd = -1, e, r;
	off_t end;

	(void)arg;
	r = large_possible();
	if (!r)
		r = pool_empty("before the test", IDLE_MS, NULL);
	if (!r)
		r = knob_at_least(K_POOL, LARGE_MB);
	if (!r)
		r = knob_at_least(K_MAX_ALLOC, LARGE_MB);
	if (r)
		return r;

	vm_read(vm0);
	t0 = hl_now_ms();
	e = hl_heap_alloc(heap_fd, LARGE_SIZE, O_RDWR | O_CLOEXEC, 0, &dfd);
	ms = hl_now_ms() - t0;
	vm_diag(vm0);
	if (e) {
		hl_proc_value("/proc/meminfo", "MemAvailable", &mem_kb);
		pool_read(&p);
		r = ktap_fail("alloc of %llu bytes from %s: %s after %" PRIu64
			      " ms (then used_bytes %" PRIu64 " claimed_bytes %"
			      PRIu64 ", MemAvailable %" PRIu64 " kB)", LARGE_SIZE,
			      HL_RESTRICTED_NAME, hl_errname(e), ms, p.used,
			      p.claimed, mem_kb);
		return fail_and_pool_empty(r);
	}
	ktap_print_msg("alloc of %llu bytes took %" PRIu64 " ms", LARGE_SIZE, ms);

	end = lseek(dfd, 0, SEEK_END);
	if (end != (off_t)LARGE_SIZE)
		r = ktap_fail("the dma-buf is %lld bytes, expected %llu",
			      (long long)end, LARGE_SIZE);
	if (!r)
		r = pool_read(&p);
	if (!r && (p.used != LARGE_SIZE || p.restricted != LARGE_SIZE))
		r = ktap_fail("holding the buffer: used_bytes %" PRIu64
			      " restricted_bytes %" PRIu64 ", expected %llu", p.used,
			      p.restricted, LARGE_SIZE);
	if (!r && p.claimed < p.used)
		r = ktap_fail("claimed_bytes %" PRIu64 " < used_bytes %" PRIu64,
			      p.claimed, p.used);
	if (!r)
		ktap_print_msg("used_bytes %" PRIu64 ", claimed_bytes %" PRIu64,
			       p.used, p.claimed);
	if (!r)
		r = check_large(dfd, LARGE_SIZE);

	t0 = hl_now_ms();
	close(dfd);
	ms = hl_now_ms() - t0;
	if (r)
		return fail_and_pool_empty(r);
	ktap_print_msg("close took %" PRIu64 " ms", ms);
	r = pool_empty("after the close", IDLE_MS, &ms);
	if (r)
		return r;
	ktap_print_msg("the pool was empty %" PRIu64 " ms after the close returned",
		       ms);
	if (hl_wait_stats(0, 0, 5000, &b, &n))
		return ktap_fail("after the close: allocated_bytes %" PRIu64
				 " buffers %" PRIu64 ", expected 0 and 0", b, n);
	return KTAP_PASS;
}

static int t_knobs_restored(const void *arg)
{
	(void)arg;
	return hl_knobs_restored(&knobs);
}

/* The pool and the module hold nothing. */
static int t_no_leak(const void *arg)
{
	int r;

	(void)arg;
	r = pool_empty("after the tests", IDLE_AFTER_FAIL_MS, NULL);
	return r ? r : hl_check_no_leak("after the tests");
}

static int t_present(void)
{
	int r = hl_precondition_module();

	if (r)
		return r;
	heap_fd = open(HL_RESTRICTED_PATH, O_RDWR | O_CLOEXEC);
	if (heap_fd < 0) {
		r = errno;
		hl_precondition_skip("no usable %s", HL_RESTRICTED_PATH);
		return ktap_fail("open %s: %s", HL_RESTRICTED_PATH, strerror(r));
	}
	if (access(HL_INSPECT, R_OK | W_OK)) {
		r = errno;
		hl_precondition_skip("no %s", HL_INSPECT);
		return ktap_fail("no %s: %s (the test builds of heapload have it)",
				 HL_INSPECT, strerror(r));
	}
	return KTAP_PASS;
}

int main(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGALRM };
	uint64_t t0 = hl_now_ms();
	size_t i;

	ktap_print_header();
	ktap_set_plan(4);
	hl_knobs_save(&knobs);
	for (i = 0; i < ARRAY_LEN(sigs); i++)
		signal(sigs[i], on_fatal_signal);
	ktap_report("restricted_heap_and_inspect_present", t_present());
	hl_knobs_run(&knobs, "alloc_4g_plus_4m_chunks_at_most_2g_pool_empties",
		     t_large, NULL);
	hl_run("params_restored", t_knobs_restored, NULL);
	hl_run("no_leak_after_tests", t_no_leak, NULL);
	if (heap_fd >= 0)
		close(heap_fd);
	ktap_print_msg("all tests took %" PRIu64 " ms", hl_now_ms() - t0);
	ktap_finished();
}
