// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * heapload: load files into dma-buf heap buffers, check and time it, and
 * show the state of the heapload module.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/dma-buf.h>

#include "bench.h"
#include "cli.h"
#include "libheapload.h"
#include "util.h"

#ifndef HEAPLOAD_VERSION
#define HEAPLOAD_VERSION "unknown"
#endif

#define CHUNK_SIZE	(1U << 20)
/* The progress bar appears after this long and is redrawn this often. */
#define PROGRESS_DELAY_NS	1000000000ULL
#define PROGRESS_PERIOD_NS	100000000ULL
/*
 * load --async polls its load fd this long between progress lines, and
 * repeats a line that did not change (the kernel still hashing, say) only
 * after ASYNC_REPEAT_NS.
 */
#define ASYNC_POLL_MS		250
#define ASYNC_REPEAT_NS		2000000000ULL
/* alloc: the fd COMMAND finds the buffer on, and the variable naming it. */
#define ALLOC_FD		3
#define ALLOC_FD_ENV		"HEAPLOAD_FD"

static void usage(FILE *f)
{
	fputs("Usage: heapload COMMAND [OPTIONS]\n"
	      "\n"
	      "Commands:\n"
	      "  load FILE...  load the FILEs into one new dma-buf heap buffer and report;\n"
	      "                each FILE starts at the next offset aligned to the page\n"
	      "                size and, with direct I/O, to the FILE's direct-I/O\n"
	      "                alignment (statx STATX_DIOALIGN); one 'segment:' line\n"
	      "                per FILE says where it landed\n"
	      "  load --into FD [--at N] FILE...\n"
	      "                load the FILEs into the heapload dma-buf open on FD (as\n"
	      "                'alloc' passes it), laid out the same way from buffer\n"
	      "                offset N (default: 0); the other bytes keep their contents\n"
	      "  alloc SIZE [--heap NAME] [--] COMMAND [ARG...]\n"
	      "                allocate a dma-buf of SIZE bytes from the heap, run\n"
	      "                COMMAND with it open on fd 3 (and " ALLOC_FD_ENV "=3 in its\n"
	      "                environment), exit with COMMAND's exit status\n"
	      "  verify FILE   load, then compare the buffer with FILE read with read()\n"
	      "  verify --into FD [--at N] FILE\n"
	      "                the same into the buffer on FD, where FILE landed\n"
	      "  info          show the module, its parameters and statistics, and the heaps\n"
	      "  bench FILE... compare, per FILE, the loader (one batch, gathered direct\n"
	      "                with and without a verified digest, gathered direct on\n"
	      "                one allocating thread, gathered buffered, gathered direct\n"
	      "                and buffered through a vmap of each batch) with dma-heap\n"
	      "                alloc + mmap + read(), memfd + O_DIRECT + udmabuf, and\n"
	      "                the floors (allocation alone, also on one thread, O_DIRECT\n"
	      "                read alone); median, min and max of --runs runs\n"
	      "\n"
	      "Options of load, verify and bench:\n"
	      "  --heap NAME   heap under " HEAPLOAD_HEAP_DIR " (default: " HEAPLOAD_DEFAULT_HEAP ")\n"
	      "  --offset N    start at byte N of FILE (default: 0; one FILE only)\n"
	      "  --length N    load N bytes (default: 0, up to the end of FILE; one FILE\n"
	      "                only)\n"
	      "Options of load and verify:\n"
	      "  --direct      direct I/O only: an error where it is not possible\n"
	      "  --buffered    read through the page cache\n"
	      "                (default: direct I/O, buffered where the file system\n"
	      "                refuses O_DIRECT or --offset is not a multiple of the\n"
	      "                file's direct-I/O alignment; the output says which)\n"
	      "  --sha256[=HEX]  print the SHA-256 of the loaded bytes, computed by the\n"
	      "                kernel while it reads them (also for heapload,restricted);\n"
	      "                with HEX (64 hex digits, '--sha256 HEX' too) the kernel\n"
	      "                checks it and a mismatch loads nothing (exit status 1)\n"
	      "  --xxh64[=HEX] the same with XXH64 (16 hex digits, as xxhsum -H1 prints)\n"
	      "  --numa-node N take every page of the buffer from NUMA node N\n"
	      "  --no-progress never draw the progress bar (drawn on stderr when it is a\n"
	      "                terminal and the load takes more than a second), nor\n"
	      "                print the progress lines of --async\n"
	      "  --into FD     fill the existing heapload dma-buf open (for writing) on\n"
	      "                FD instead of a new buffer; no --heap, no --numa-node\n"
	      "  --at N        with --into: the buffer offset of the first FILE\n"
	      "Options of load:\n"
	      "  --async       start the load without waiting for it, poll its load fd\n"
	      "                and print 'progress: DONE of TOTAL bytes (P%)' lines on\n"
	      "                stderr (at most 4 a second) until it ends; then the same\n"
	      "                output as without\n"
	      "Options of alloc:\n"
	      "  --heap NAME   heap under " HEAPLOAD_HEAP_DIR " (default: " HEAPLOAD_DEFAULT_HEAP ")\n"
	      "Options of load, verify and info:\n"
	      "  --json        print one JSON object on stdout (errors still on stderr)\n"
	      "Options of bench:\n"
	      "  --runs N      runs per method and file (default: 5, at most 1000)\n"
	      "  --csv OUT     also write one CSV row per file and method to OUT ('-':\n"
	      "                stdout)\n"
	      "  --methods L   only these methods, comma-separated: normal, udmabuf,\n"
	      "                udmabuf-prestart, heapload-sync, heapload-gather-direct,\n"
	      "                heapload-gather-direct-1t, heapload-gather-direct-vmap,\n"
	      "                heapload-gather-direct-sha256, heapload-gather-direct-xxh64,\n"
	      "                heapload-gather-buffered, heapload-gather-buffered-vmap,\n"
	      "                alloc-only, alloc-only-1t, odirect-floor (default: all;\n"
	      "                -1t: with the module parameter alloc_threads=1; -vmap:\n"
	      "                with batch_mapping=vmap)\n"
	      "  --drop-caches before each run drop the whole page cache (root) instead\n"
	      "                of evicting only the measured file\n"
	      "\n"
	      "N is a byte count with an optional suffix: K, M, G, T or KiB, MiB, GiB,\n"
	      "TiB (powers of 1024; k, m, g, t too), KB, MB, GB, TB (powers of 1000).\n"
	      "\n"
	      "  -h, --help     show this help\n"
	      "  -V, --version  show the version of this tool\n"
	      "\n"
	      "Exit status: 0 success, 1 verify found different bytes or the kernel a\n"
	      "digest other than --sha256 or --xxh64 gave, 2 trouble (any error, a\n"
	      "usage error, info: module not loaded, bench: a method failed); alloc:\n"
	      "COMMAND's exit status (128 + N if signal N killed it, 126 if it could\n"
	      "not be run, 127 if it was not found).\n", f);
}

/* "heapload: CMD: FILE: STEP: message", FILE and STEP if not NULL. */
static void vfail(const struct hl_args *a, const char *file, const char *step,
		  const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "heapload: %s: ", hl_cmd_name(a->cmd));
	if (file)
		fprintf(stderr, "%s: ", file);
	if (step)
		fprintf(stderr, "%s: ", step);
	fprintf(stderr, "%s\n", msg);
}

__attribute__((format(printf, 3, 4)))
static void fail(const struct hl_args *a, const char *step, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(a, a->file, step, fmt, ap);
	va_end(ap);
}

/* The same about another FILE of the command line. */
__attribute__((format(printf, 4, 5)))
static void fail_file(const struct hl_args *a, const char *file, const char *step,
		      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(a, file, step, fmt, ap);
	va_end(ap);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail with a valid clock id and pointer. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The kernel's page size (from the auxiliary vector: it cannot fail). */
static uint64_t page_size(void)
{
	return (uint64_t)sysconf(_SC_PAGESIZE);
}

static const char *mode_name(enum hl_mode mode)
{
	return mode == HL_MODE_DIRECT ? "direct" : "buffered";
}

static int open_device(const char *verb)
{
	int fd = heapload_open();

	if (fd < 0) {
		fprintf(stderr, "heapload: %s: %s: %s\n", verb, HEAPLOAD_DEV_PATH,
			strerror(-fd));
		if (fd == -ENOENT)
			fprintf(stderr, "heapload: is the heapload module loaded? (modprobe heapload)\n");
	}
	return fd;
}

/*
 * The file's direct-I/O offset alignment: statx(2) STATX_DIOALIGN (0 if
 * the file system reports that it has no direct I/O), else the page size,
 * which the kernel's own fallback (the device's logical block size, or the
 * page size) never exceeds on block devices with blocks up to a page.
 */
static uint64_t dio_alignment(const char *path)
{
#ifdef STATX_DIOALIGN
	struct statx stx;

	if (!statx(AT_FDCWD, path, 0, STATX_DIOALIGN, &stx) &&
	    (stx.stx_mask & STATX_DIOALIGN))
		return stx.stx_dio_offset_align;
#endif
	(void)path;
	return page_size();
}

/* ---- progress bar ---- */

/*
 * While a load runs, a helper thread waits PROGRESS_DELAY_NS, then redraws
 * a one-line bar on stderr every PROGRESS_PERIOD_NS from the progress word
 * the kernel updates, and erases it when the load is over.
 */
struct progress {
	uint64_t word;			/* written by the kernel */
	uint64_t total;			/* bytes expected, 0 if not known */
	uint64_t t0;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* signalled when @done is set */
	bool done;
	bool running;			/* the thread was started */
};

static void abs_deadline(struct timespec *ts, uint64_t ns)
{
	ts->tv_sec = (time_t)(ns / 1000000000ULL);
	ts->tv_nsec = (long)(ns % 1000000000ULL);
}

/* Width of the bar for the terminal on stderr: what is left of the line. */
static unsigned int bar_width(void)
{
	struct winsize ws;
	unsigned int cols = 80;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col)
		cols = ws.ws_col;
	/* "[" bar "] " plus "100%  12345.6/12345.6 MB  12345.6 MB/s" */
	if (cols < 50)
		return 0;
	return cols - 50 > 40 ? 40 : cols - 50;
}

static void *progress_thread(void *arg)
{
	struct progress *p = arg;
	uint64_t next = p->t0 + PROGRESS_DELAY_NS;
	unsigned int width = bar_width();
	bool drawn = false;
	struct timespec ts;
	char line[256];
	int n;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		abs_deadline(&ts, next);
		while (!p->done &&
		       pthread_cond_timedwait(&p->cond, &p->lock, &ts) != ETIMEDOUT)
			;
		if (p->done)
			break;
		n = hl_format_progress(line, sizeof(line),
				       heapload_progress_get(&p->word), p->total,
				       (double)(now_ns() - p->t0) / 1e9, width);
		fprintf(stderr, "\r%.*s\033[K", n, line);
		fflush(stderr);
		drawn = true;
		next += PROGRESS_PERIOD_NS;
	}
	pthread_mutex_unlock(&p->lock);
	if (drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	return NULL;
}

/* Start the bar's thread if stderr is a terminal and it is wanted. */
static void progress_start(struct progress *p, const struct hl_args *a,
			   uint64_t total)
{
	pthread_condattr_t attr;

	memset(p, 0, sizeof(*p));
	p->total = total;
	p->t0 = now_ns();
	/* --async prints progress lines of its own. */
	if (a->no_progress || a->async || !isatty(STDERR_FILENO))
		return;
	if (pthread_condattr_init(&attr))
		return;
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, &attr);
	pthread_condattr_destroy(&attr);
	p->running = !pthread_create(&p->thread, NULL, progress_thread, p);
	if (!p->running) {
		pthread_cond_destroy(&p->cond);
		pthread_mutex_destroy(&p->lock);
	}
}

static void progress_stop(struct progress *p)
{
	if (!p->running)
		return;
	pthread_mutex_lock(&p->lock);
	p->done = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	p->running = false;
}

/*
 * What load and verify found, printed at the end as text or JSON.
 * @mode:	the mode used, HL_MODE_DIRECT or HL_MODE_BUFFERED.
 * @fallback:	why the default mode did not use direct I/O, or HL_FB_NONE.
 * @fb_file:	the file that made it fall back.
 * @dio_align:	the alignment the decision used (0 if not looked up), of
 *		@fb_file when it fell back, else of the first file.
 * @expect:	bytes of all ranges together.
 * @nseg:	files loaded, one segment each.
 * @seg:	the segments as sent: each file's range and buffer offset.
 * @seg_align:	each file's direct-I/O alignment (0 if not looked up).
 * @ns:		time of the load as this process saw it.
 * @digest:	hex digest with --sha256 or --xxh64, else "".
 * @digest_mmap: @digest was computed here through mmap (a module before
 *		version 2), not by the kernel.
 * @verify:	verify: 0 same, 1 a mismatch described by @mismatch.
 */
struct report {
	enum hl_mode mode;
	enum hl_fallback fallback;
	const char *fb_file;
	uint64_t dio_align;
	uint64_t expect;
	unsigned int nseg;
	struct heapload_segment seg[HL_MAX_FILES];
	uint64_t seg_align[HL_MAX_FILES];
	struct heapload_result res;
	uint64_t ns;
	char digest[2 * HEAPLOAD_DIGEST_SIZE + 1];
	bool digest_mmap;
	int verify;
	char mismatch[256];
};

/* The offset a reason against direct I/O is about: --at's or --offset's. */
static uint64_t fallback_offset(const struct hl_args *a, enum hl_fallback why)
{
	return why == HL_FB_UNALIGNED_AT ? a->at : a->offset;
}

static const char *fallback_text(const struct hl_args *a, const struct report *r,
				 char *buf, size_t size)
{
	return hl_fallback_text(r->fallback, fallback_offset(a, r->fallback),
				r->dio_align, buf, size);
}

/* The mode to open and load with; prints an error for --direct. */
static int choose_mode(const struct hl_args *a, struct report *r,
		       enum hl_fallback why, const char *file)
{
	char text[256];

	if (hl_fallback_decide(a->mode, why, &r->mode)) {
		fail_file(a, file, "--direct", "%s",
			  hl_fallback_text(why, fallback_offset(a, why), r->dio_align,
					   text, sizeof(text)));
		return -1;
	}
	r->fallback = r->mode == HL_MODE_BUFFERED && a->mode == HL_MODE_AUTO ?
		      why : HL_FB_NONE;
	if (r->fallback != HL_FB_NONE)
		r->fb_file = file;
	return 0;
}

/* Open @file in the chosen mode; falls back if O_DIRECT is refused. */
static int open_file(const struct hl_args *a, struct report *r, const char *file)
{
	int fd;

	for (;;) {
		fd = open(file, O_RDONLY | O_CLOEXEC |
			  (r->mode == HL_MODE_DIRECT ? O_DIRECT : 0));
		if (fd >= 0)
			return fd;
		if (errno != EINVAL || r->mode != HL_MODE_DIRECT) {
			fail_file(a, file, "open", "%s", strerror(errno));
			return -1;
		}
		r->dio_align = 0;
		if (choose_mode(a, r, HL_FB_NO_O_DIRECT, file))
			return -1;
	}
}

/* Each file's buffer offset: page-aligned, and with direct I/O aligned for it. */
static int place_segments(const struct hl_args *a, struct report *r)
{
	uint64_t lens[HL_MAX_FILES], aligns[HL_MAX_FILES], offs[HL_MAX_FILES], end;
	unsigned int i;

	for (i = 0; i < r->nseg; i++) {
		lens[i] = r->seg[i].length;
		aligns[i] = page_size();
		if (r->mode == HL_MODE_DIRECT && r->seg_align[i] > aligns[i])
			aligns[i] = r->seg_align[i];
	}
	if (hl_layout_segments_at(a->into_fd >= 0 ? a->at : 0, lens, aligns,
				  r->nseg, offs, &end)) {
		fail(a, NULL, "the files do not fit in one buffer");
		return -1;
	}
	for (i = 0; i < r->nseg; i++)
		r->seg[i].buf_offset = offs[i];
	return 0;
}

/*
 * load --async: start the load, poll its load fd and print a progress line
 * when the poll times out, then fetch the result into r->res.
 */
static int load_async(const struct hl_args *a, struct report *r, int devfd,
		      const struct heapload_load_opts *opts)
{
	struct heapload_result now = HEAPLOAD_RESULT_INIT;
	const char *heap = a->into_fd >= 0 ? NULL : a->heap;
	uint64_t shown = UINT64_MAX, shown_ns = 0;
	int load_fd, ret;

	load_fd = heapload_load_start(devfd, heap, r->seg, r->nseg, opts);
	if (load_fd < 0)
		return load_fd;
	while ((ret = heapload_load_wait(load_fd, ASYNC_POLL_MS)) == -ETIMEDOUT) {
		if (a->no_progress || heapload_load_result(load_fd, &now) != -EAGAIN ||
		    (now.loaded == shown && now_ns() - shown_ns < ASYNC_REPEAT_NS))
			continue;
		fprintf(stderr, "progress: %" PRIu64 " of %" PRIu64 " bytes (%u%%)\n",
			now.loaded, r->expect,
			(unsigned int)(now.loaded * 100.0 / (double)r->expect));
		shown = now.loaded;
		shown_ns = now_ns();
	}
	if (!ret)
		ret = heapload_load_result(load_fd, &r->res);
	close(load_fd);		/* before the end: cancels the load */
	return ret;
}

static int load_with(const struct hl_args *a, struct report *r, int devfd,
		     struct progress *prog, bool kernel_digest)
{
	struct heapload_load_opts opts = HEAPLOAD_LOAD_OPTS_INIT;

	opts.flags = r->mode == HL_MODE_DIRECT ? HEAPLOAD_LOAD_DIRECT :
						 HEAPLOAD_LOAD_BUFFERED;
	if (a->into_fd >= 0) {
		opts.flags |= HEAPLOAD_LOAD_INTO;
		opts.target_fd = a->into_fd;
	}
	if (a->numa_node >= 0) {
		opts.flags |= HEAPLOAD_LOAD_NUMA_NODE;
		opts.numa_node = a->numa_node;
	}
	if (kernel_digest) {
		opts.digest_alg = a->digest_alg;
		if (a->verify_digest) {
			opts.flags |= HEAPLOAD_LOAD_VERIFY;
			memcpy(opts.expected_digest, a->expected_digest,
			       sizeof(opts.expected_digest));
		}
	}
	if (a->async)
		return load_async(a, r, devfd, &opts);
	return heapload_load_segments(devfd, a->into_fd >= 0 ? NULL : a->heap,
				      r->seg, r->nseg, &opts, &prog->word, &r->res);
}

/*
 * A module before version 2 refuses digests (E2BIG); for SHA-256 of a
 * single range this command can still hash the buffer through mmap, as
 * it always did, where the heap lets the CPU read it.
 */
static bool digest_here_instead(const struct hl_args *a, const struct report *r, int ret)
{
	return ret == -E2BIG && a->digest_alg == HEAPLOAD_DIGEST_SHA256 &&
	       r->nseg == 1 && a->numa_node < 0 && a->into_fd < 0 && !a->async;
}

/* "FILE", or "FILE1, FILE2, ..." for a load of several: all a digest covers. */
static const char *all_files(const struct hl_args *a, char *buf, size_t size)
{
	size_t used = 0;
	unsigned int i;
	int n;

	buf[0] = '\0';
	for (i = 0; i < a->nfiles && used < size; i++) {
		n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", a->files[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	return buf;
}

static void print_digest_mismatch(const struct hl_args *a, const char *got)
{
	char want[2 * HEAPLOAD_DIGEST_SIZE + 1], files[4096];

	heapload_digest_format(a->digest_alg, a->expected_digest, want, sizeof(want));
	fail_file(a, all_files(a, files, sizeof(files)), NULL,
		  "%s mismatch: the loaded bytes have %s, expected %s; %s",
		  heapload_digest_name(a->digest_alg), got, want,
		  a->into_fd >= 0 ? "the buffer was written all the same" :
				    "nothing was loaded");
}

/* The size of the --into buffer (dma-bufs answer SEEK_END), or 0. */
static uint64_t into_size(const struct hl_args *a)
{
	off_t end = lseek(a->into_fd, 0, SEEK_END);

	return end > 0 ? (uint64_t)end : 0;
}

/* More about an error of the --into buffer than the errno says. */
static void into_detail(const struct hl_args *a, const struct report *r, int err,
			char *buf, size_t size)
{
	const struct heapload_segment *last = &r->seg[r->nseg - 1];
	int fl = fcntl(a->into_fd, F_GETFL);

	buf[0] = '\0';
	if (err == ENOSPC)
		snprintf(buf, size, " (they end at byte %" PRIu64 ", the buffer has %" PRIu64 " bytes)",
			 (uint64_t)(last->buf_offset + last->length), into_size(a));
	else if (err == EBADF && fl < 0)
		snprintf(buf, size, " (descriptor %d is not open)", a->into_fd);
	else if (err == EBADF && (fl & O_ACCMODE) == O_RDONLY)
		snprintf(buf, size, " (descriptor %d is open read-only)", a->into_fd);
}

/* Report a failed load; returns 1 for a digest mismatch, else -1. */
static int load_failed(const struct hl_args *a, struct report *r, int ret)
{
	struct hl_load_ctx ctx = {
		.heap = a->heap,
		.direct = r->mode == HL_MODE_DIRECT,
		.fallback = r->fallback,
		.numa = a->numa_node >= 0,
		.into = a->into_fd >= 0,
	};
	const char *file = a->file;
	char msg[512], text[256];

	if (ret == -EBADMSG && a->verify_digest) {
		heapload_digest_format(a->digest_alg, r->res.digest, text, sizeof(text));
		print_digest_mismatch(a, text);
		return 1;
	}
	if (r->res.error_segment >= 0 && (unsigned int)r->res.error_segment < r->nseg)
		file = a->files[r->res.error_segment];
	hl_load_strerror(-ret, &ctx, msg, sizeof(msg));
	text[0] = '\0';
	if (ctx.into)
		into_detail(a, r, -ret, text, sizeof(text));
	if (ret == -EINVAL && r->fallback != HL_FB_NONE)
		fail_file(a, file, NULL, "%s: %s", msg, fallback_text(a, r, text, sizeof(text)));
	else
		fail_file(a, file, NULL, "%s%s", msg, text);
	return -1;
}

/* Check each FILE and its range; sets r->seg[].length and r->expect. */
static int check_files(const struct hl_args *a, struct report *r)
{
	const char *problem;
	struct stat st;
	unsigned int i;
	uint64_t len;

	r->nseg = a->nfiles;
	for (i = 0; i < a->nfiles; i++) {
		if (stat(a->files[i], &st) < 0) {
			fail_file(a, a->files[i], NULL, "%s", strerror(errno));
			return -1;
		}
		problem = hl_check_range(S_ISDIR(st.st_mode), S_ISREG(st.st_mode),
					 (uint64_t)st.st_size, a->offset, a->length, &len);
		if (problem) {
			fail_file(a, a->files[i], NULL, "%s", problem);
			return -1;
		}
		r->seg[i].length = len;
		r->seg[i].file_offset = a->offset;
		r->seg[i].file_fd = -1;
		r->expect += r->seg[i].length;
	}
	return 0;
}

/* Direct I/O unless a file cannot have it; the first such file decides. */
static int decide_mode(const struct hl_args *a, struct report *r)
{
	enum hl_fallback why;
	unsigned int i;

	if (a->mode == HL_MODE_BUFFERED)
		return choose_mode(a, r, HL_FB_NONE, a->file);
	for (i = 0; i < r->nseg; i++) {
		r->seg_align[i] = dio_alignment(a->files[i]);
		why = hl_direct_check(a->offset, r->seg[i].length, r->seg_align[i],
				      page_size());
		/* Only the first file's buffer offset is the caller's (--at). */
		if (why == HL_FB_NONE && !i && a->at % r->seg_align[i])
			why = HL_FB_UNALIGNED_AT;
		if (why != HL_FB_NONE) {
			r->dio_align = r->seg_align[i];
			return choose_mode(a, r, why, a->files[i]);
		}
	}
	r->dio_align = r->seg_align[0];
	return choose_mode(a, r, HL_FB_NONE, a->file);
}

/*
 * Check the files and ranges, choose the mode, open the files and the
 * device, place the files in the buffer and load. Prints its own errors.
 * On success r->res holds the dma-buf. Returns 0, 1 (the kernel found
 * another digest than --sha256 or --xxh64 gave) or -1.
 */
static int do_load(const struct hl_args *a, struct report *r)
{
	bool kernel_digest = a->digest_alg != HEAPLOAD_DIGEST_NONE;
	struct progress prog;
	unsigned int i;
	int devfd, ret = -1;

	if (check_files(a, r) || decide_mode(a, r))
		return -1;
	for (i = 0; i < r->nseg; i++) {
		r->seg[i].file_fd = open_file(a, r, a->files[i]);
		if (r->seg[i].file_fd < 0)
			goto out_close;
	}
	if (place_segments(a, r))
		goto out_close;
	devfd = open_device(hl_cmd_name(a->cmd));
	if (devfd < 0)
		goto out_close;

	progress_start(&prog, a, r->expect);
	ret = load_with(a, r, devfd, &prog, kernel_digest);
	if (ret == -EINVAL && r->mode == HL_MODE_DIRECT && a->mode == HL_MODE_AUTO) {
		/* The kernel knows better (an alignment statx did not tell). */
		r->mode = HL_MODE_BUFFERED;
		r->fallback = HL_FB_KERNEL_EINVAL;
		r->fb_file = a->file;
		ret = load_with(a, r, devfd, &prog, kernel_digest);
	}
	if (digest_here_instead(a, r, ret)) {
		kernel_digest = false;
		r->digest_mmap = true;
		ret = load_with(a, r, devfd, &prog, false);
	}
	r->ns = now_ns() - prog.t0;
	progress_stop(&prog);
	close(devfd);
	if (ret)
		ret = load_failed(a, r, ret);
	else if (kernel_digest)
		heapload_digest_format(a->digest_alg, r->res.digest, r->digest,
				       sizeof(r->digest));

out_close:
	for (i = 0; i < r->nseg; i++)
		if (r->seg[i].file_fd >= 0)
			close(r->seg[i].file_fd);
	return ret;
}

static double mib_per_s(uint64_t bytes, uint64_t ns)
{
	return (double)bytes / 1048576.0 / ((double)(ns ? ns : 1) / 1e9);
}

static void print_load_text(const struct hl_args *a, const struct report *r)
{
	const struct heapload_result *res = &r->res;
	char text[256];
	unsigned int i;

	if (r->nseg == 1)
		printf("file: %s\n", a->file);
	else
		printf("files: %u\n", r->nseg);
	if (a->into_fd >= 0)
		printf("into: %d\n", a->into_fd);
	else
		printf("heap: %s\n", a->heap);
	printf("mode: %s\n", mode_name(r->mode));
	if (r->fallback != HL_FB_NONE)
		printf("fallback: %s%s%s\n", fallback_text(a, r, text, sizeof(text)),
		       r->nseg > 1 ? ": " : "", r->nseg > 1 ? r->fb_file : "");
	printf("loaded: %" PRIu64 "\n", res->loaded);
	printf("buffer: %" PRIu64 "\n", res->buf_size);
	printf("time: %.3f\n", (double)r->ns / 1e9);
	printf("rate: %.1f\n", hl_rate_mbs(res->loaded, r->ns));
	if (!res->total_ns) {
		/* A module without statistics (heapload 0.1). */
		printf("alloc: n/a\nio: n/a\ntotal: n/a\nbatches: n/a\nmax_inflight: n/a\n");
	} else {
		printf("alloc: %.3f\n", (double)res->alloc_ns / 1e9);
		printf("io: %.3f\n", (double)res->io_ns / 1e9);
		printf("total: %.3f\n", (double)res->total_ns / 1e9);
		printf("batches: %" PRIu32 "\n", res->batches);
		printf("max_inflight: %" PRIu32 "\n", res->max_inflight);
	}
	/* N of M: the threads that allocated, of those the load could use. */
	if (res->uapi_version >= 3)
		printf("alloc_threads: %" PRIu32 " of %" PRIu32 "\n",
		       res->alloc_threads, res->alloc_threads_max);
	/* INDEX BUFFER-OFFSET LENGTH FILE: the name last, it may hold spaces. */
	for (i = 0; i < r->nseg; i++)
		printf("segment: %u %" PRIu64 " %" PRIu64 " %s\n", i,
		       (uint64_t)r->seg[i].buf_offset, (uint64_t)r->seg[i].length,
		       a->files[i]);
	if (res->uapi_version >= 2 && res->placed_node >= 0)
		printf("placed_node: %" PRId32 "\n", res->placed_node);
	else if (res->uapi_version >= 2)
		printf("placed_node: several\n");
	if (r->digest[0])
		printf("%s: %s\n", heapload_digest_name(a->digest_alg), r->digest);
	if (r->digest[0] && a->verify_digest)
		printf("verified: %s\n", heapload_digest_name(a->digest_alg));
	if (a->cmd != HL_CMD_VERIFY)
		return;
	if (r->verify)
		printf("verify: MISMATCH %s\n", r->mismatch);
	else
		printf("verify: OK\n");
}

static void print_load_json(const struct hl_args *a, const struct report *r)
{
	const struct heapload_result *res = &r->res;
	bool stats = res->total_ns != 0;
	struct hl_json j;
	char text[256];
	unsigned int i;

	hl_json_begin(&j, stdout);
	hl_json_str(&j, "command", hl_cmd_name(a->cmd));
	hl_json_str(&j, "file", a->file);
	if (a->into_fd >= 0)
		hl_json_u64(&j, "into_fd", (uint64_t)a->into_fd);
	else
		hl_json_str(&j, "heap", a->heap);
	hl_json_str(&j, "mode", mode_name(r->mode));
	if (r->fallback != HL_FB_NONE) {
		hl_json_str(&j, "fallback_reason", hl_fallback_name(r->fallback));
		hl_json_str(&j, "fallback_detail", fallback_text(a, r, text, sizeof(text)));
		if (r->nseg > 1)
			hl_json_str(&j, "fallback_file", r->fb_file);
	}
	if (r->dio_align)
		hl_json_u64(&j, "dio_align_bytes", r->dio_align);
	hl_json_u64(&j, "offset_bytes", a->offset);
	hl_json_u64(&j, "loaded_bytes", res->loaded);
	hl_json_u64(&j, "buf_size_bytes", res->buf_size);
	hl_json_u64(&j, "elapsed_ns", r->ns);
	hl_json_num(&j, "throughput_mib_per_s", mib_per_s(res->loaded, r->ns), 1);
	/* null: a module without statistics (heapload 0.1) */
	hl_json_num(&j, "alloc_ns", stats ? (double)res->alloc_ns : NAN, 0);
	hl_json_num(&j, "io_ns", stats ? (double)res->io_ns : NAN, 0);
	hl_json_num(&j, "total_ns", stats ? (double)res->total_ns : NAN, 0);
	hl_json_num(&j, "batches", stats ? res->batches : NAN, 0);
	hl_json_num(&j, "max_inflight_batches", stats ? res->max_inflight : NAN, 0);
	/* null: the module does not say (before 0.6.0, or a load --into) */
	hl_json_num(&j, "alloc_threads",
		    res->uapi_version >= 3 ? res->alloc_threads : NAN, 0);
	hl_json_num(&j, "alloc_threads_max",
		    res->uapi_version >= 3 ? res->alloc_threads_max : NAN, 0);
	if (r->digest[0])
		hl_json_str(&j, heapload_digest_name(a->digest_alg), r->digest);
	if (r->digest[0])
		hl_json_bool(&j, "digest_verified", a->verify_digest);
	hl_json_open(&j, "segments", '[');
	for (i = 0; i < r->nseg; i++) {
		hl_json_open(&j, NULL, '{');
		hl_json_u64(&j, "index", i);
		hl_json_str(&j, "file", a->files[i]);
		hl_json_u64(&j, "buffer_offset_bytes", r->seg[i].buf_offset);
		hl_json_u64(&j, "file_offset_bytes", r->seg[i].file_offset);
		hl_json_u64(&j, "length_bytes", r->seg[i].length);
		hl_json_close(&j, '}');
	}
	hl_json_close(&j, ']');
	/* null: pages from several nodes; absent: the module does not say */
	if (res->uapi_version >= 2 && res->placed_node >= 0)
		hl_json_u64(&j, "placed_node", (uint64_t)res->placed_node);
	else if (res->uapi_version >= 2)
		hl_json_null(&j, "placed_node");
	if (a->cmd == HL_CMD_VERIFY) {
		hl_json_str(&j, "verify", r->verify ? "mismatch" : "ok");
		if (r->verify)
			hl_json_str(&j, "mismatch", r->mismatch);
	}
	hl_json_end(&j);
}

/* SHA-256 through mmap, for a module that computes no digest. */
static int get_sha256(const struct hl_args *a, struct report *r)
{
	unsigned char digest[HL_SHA256_LEN];
	int ret;

	ret = hl_dmabuf_sha256(r->res.dmabuf_fd, r->res.loaded, digest);
	if (!ret)
		ret = hl_format_hex(digest, sizeof(digest), r->digest, sizeof(r->digest));
	if (ret) {
		fail(a, "sha256", "%s", strerror(-ret));
		return -1;
	}
	if (a->verify_digest && memcmp(digest, a->expected_digest, sizeof(digest))) {
		print_digest_mismatch(a, r->digest);
		return 1;
	}
	return 0;
}

static size_t first_diff(const unsigned char *x, const unsigned char *y, size_t n)
{
	size_t i;

	for (i = 0; i < n && x[i] == y[i]; i++)
		;
	return i;
}

__attribute__((format(printf, 2, 3)))
static int mismatch(struct report *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->mismatch, sizeof(r->mismatch), fmt, ap);
	va_end(ap);
	r->verify = 1;
	return 1;
}

/*
 * Compare buf[0, loaded) with the file from a->offset. Returns 0 if equal,
 * 1 on a mismatch (in r), -1 on an error (reported).
 */
static int compare_file(const struct hl_args *a, struct report *r, int fd,
			const unsigned char *map, uint64_t base, uint64_t loaded)
{
	const unsigned char *buf = map + base;
	unsigned char *chunk;
	uint64_t done = 0;
	int ret = 0;

	chunk = malloc(CHUNK_SIZE);
	if (!chunk) {
		fail(a, "verify", "%s", strerror(ENOMEM));
		return -1;
	}
	while (done < loaded) {
		size_t want = loaded - done < CHUNK_SIZE ? loaded - done : CHUNK_SIZE;
		ssize_t n = pread(fd, chunk, want, (off_t)(a->offset + done));
		size_t i;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail(a, "verify: read", "%s", strerror(errno));
			ret = -1;
			break;
		}
		if (n == 0) {
			ret = mismatch(r, "file ends at offset %" PRIu64 ", before the %"
				       PRIu64 " loaded bytes", a->offset + done, loaded);
			break;
		}
		i = first_diff(chunk, buf + done, (size_t)n);
		if (i < (size_t)n) {
			ret = mismatch(r, "at file offset %" PRIu64 " (buffer offset %"
				       PRIu64 "): file 0x%02x, buffer 0x%02x",
				       a->offset + done + i, base + done + i, chunk[i],
				       buf[done + i]);
			break;
		}
		done += (uint64_t)n;
	}
	free(chunk);
	return ret;
}

/* The bytes after the loaded ones must be zero. Returns 0 or 1 (in r). */
static int check_tail(struct report *r, const unsigned char *buf,
		      uint64_t loaded, uint64_t size)
{
	uint64_t i;

	for (i = loaded; i < size; i++)
		if (buf[i])
			return mismatch(r, "at buffer offset %" PRIu64 ": 0x%02x in the zero padding after the loaded bytes",
					i, buf[i]);
	return 0;
}

/*
 * Compare the buffer with FILE read with read(): a new buffer whole (the
 * bytes after the file must be zero), a --into buffer where FILE landed.
 */
static int verify_buffer(const struct hl_args *a, struct report *r)
{
	const struct heapload_result *res = &r->res;
	int buf = a->into_fd >= 0 ? a->into_fd : res->dmabuf_fd;
	uint64_t base = r->seg[0].buf_offset;
	void *map;
	int fd, ret, err;

	fd = open(a->file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fail(a, "verify: open", "%s", strerror(errno));
		return -1;
	}
	if (r->expect != res->loaded) {
		ret = mismatch(r, "loaded %" PRIu64 " bytes, the range holds %" PRIu64,
			       res->loaded, r->expect);
		goto out_close;
	}
	if (res->buf_size < base || res->buf_size - base < res->loaded) {
		ret = mismatch(r, "buffer of %" PRIu64 " bytes holds %" PRIu64 " loaded bytes at %" PRIu64,
			       res->buf_size, res->loaded, base);
		goto out_close;
	}

	ret = heapload_dmabuf_map(buf, res->buf_size, PROT_READ, &map);
	if (ret) {
		fail(a, "verify: mmap", "%s", strerror(-ret));
		ret = -1;
		goto out_close;
	}
	ret = heapload_dmabuf_sync(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	if (ret) {
		fail(a, "verify: DMA_BUF_IOCTL_SYNC", "%s", strerror(-ret));
		ret = -1;
		goto out_unmap;
	}

	ret = compare_file(a, r, fd, map, base, res->loaded);
	if (!ret && a->into_fd < 0)
		ret = check_tail(r, map, res->loaded, res->buf_size);

	err = heapload_dmabuf_sync(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	if (err && ret >= 0) {
		fail(a, "verify: DMA_BUF_IOCTL_SYNC", "%s", strerror(-err));
		ret = -1;
	}
out_unmap:
	heapload_dmabuf_unmap(map, res->buf_size);
out_close:
	close(fd);
	return ret;
}

/*
 * load and verify: load the FILEs, for verify compare the buffer with
 * FILE; then print it all. Returns 0, 1 (verify: a mismatch; a digest
 * other than the expected one) or -1 (an error, reported).
 */
static int cmd_load(const struct hl_args *a)
{
	struct report r = { .res = HEAPLOAD_RESULT_INIT };
	int ret;

	ret = do_load(a, &r);
	if (ret)
		return ret;
	if (r.digest_mmap)
		ret = get_sha256(a, &r);
	if (!ret && a->cmd == HL_CMD_VERIFY)
		ret = verify_buffer(a, &r);
	if (r.res.dmabuf_fd >= 0)	/* -1 after a load --into */
		close(r.res.dmabuf_fd);
	if (ret < 0 || (ret && a->cmd != HL_CMD_VERIFY))
		return ret;
	if (a->json)
		print_load_json(a, &r);
	else
		print_load_text(a, &r);
	return ret;
}

/* ---- alloc ---- */

/* In the child: the buffer on ALLOC_FD, kept across exec; exec COMMAND. */
static void __attribute__((noreturn)) alloc_exec(const struct hl_args *a, int buf)
{
	int err;

	if (buf == ALLOC_FD)
		err = fcntl(buf, F_SETFD, 0);
	else
		err = dup2(buf, ALLOC_FD) < 0 ? -1 : 0;
	if (err || setenv(ALLOC_FD_ENV, "3", 1)) {
		fail_file(a, NULL, NULL, "fd %d for the buffer: %s", ALLOC_FD,
			  strerror(errno));
		_exit(126);
	}
	execvp(a->command[0], a->command);
	err = errno;
	fail_file(a, a->command[0], NULL, "%s", strerror(err));
	_exit(err == ENOENT ? 127 : 126);
}

/*
 * alloc: a buffer of SIZE from the heap, COMMAND run with it on fd 3.
 * Returns COMMAND's exit status as a shell gives it, or HL_EXIT_TROUBLE.
 */
static int cmd_alloc(const struct hl_args *a)
{
	int buf, status;
	pid_t pid;

	buf = heapload_heap_alloc(a->heap, a->alloc_size, O_RDWR | O_CLOEXEC);
	if (buf < 0) {
		if (buf == -ENOENT)
			fail_file(a, a->heap, NULL, "no such heap under %s (see 'heapload info')",
				  HEAPLOAD_HEAP_DIR);
		else
			fail_file(a, a->heap, "DMA_HEAP_IOCTL_ALLOC", "%s", strerror(-buf));
		return HL_EXIT_TROUBLE;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fail_file(a, NULL, "fork", "%s", strerror(errno));
		close(buf);
		return HL_EXIT_TROUBLE;
	}
	if (!pid)
		alloc_exec(a, buf);
	close(buf);		/* COMMAND holds the buffer now */
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fail_file(a, NULL, "waitpid", "%s", strerror(errno));
			return HL_EXIT_TROUBLE;
		}
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* ---- info ---- */

static int no_dots(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Read a small text file into buf without its trailing newlines. */
static int read_text(const char *path, char *buf, size_t size)
{
	ssize_t n = hl_read_text(path, buf, size);

	if (n < 0)
		return (int)n;
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return 0;
}

/* A sysfs value in JSON: a number if it is all digits, else a string. */
static void json_value(struct hl_json *j, const char *key, const char *value)
{
	size_t len = strlen(value);
	uint64_t v;

	if (len && len < 20 && strspn(value, "0123456789") == len &&
	    !hl_parse_size(value, &v))
		hl_json_u64(j, key, v);
	else
		hl_json_str(j, key, value);
}

/* One attribute as "  name = value", or as a JSON member (null: unreadable). */
static void print_attr(struct hl_json *j, const char *dir, const char *name)
{
	char path[PATH_MAX], value[4096];
	int ret;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		ret = -ENAMETOOLONG;
	else
		ret = read_text(path, value, sizeof(value));
	if (j && ret)
		hl_json_null(j, name);
	else if (j)
		json_value(j, name, value);
	else if (ret)
		printf("  %s = <unavailable: %s>\n", name, strerror(-ret));
	else
		printf("  %s = %s\n", name, value);
}

/* Heading of a group of attributes: "title:" or a JSON object. */
static void group_open(struct hl_json *j, const char *title, const char *key)
{
	if (j)
		hl_json_open(j, key, '{');
	else
		printf("%s:\n", title);
}

static void group_close(struct hl_json *j)
{
	if (j)
		hl_json_close(j, '}');
}

static void print_params(struct hl_json *j)
{
	struct dirent **list;
	int i, n;

	n = scandir(HEAPLOAD_SYSFS_PARAMS, &list, no_dots, alphasort);
	if (n < 0) {
		if (j)
			hl_json_null(j, "parameters");
		else
			printf("parameters: none (%s)\n", strerror(errno));
		return;
	}
	if (n || j)
		group_open(j, "parameters", "parameters");
	else
		printf("parameters: none\n");
	for (i = 0; i < n; i++) {
		print_attr(j, HEAPLOAD_SYSFS_PARAMS, list[i]->d_name);
		free(list[i]);
	}
	free(list);
	group_close(j);
}

static void print_stats(struct hl_json *j)
{
	static const char *const stats[] = {
		"allocated_bytes", "buffers", "loads", "load_failures",
		"loaded_bytes", "inflight_bytes",
	};
	char path[PATH_MAX];
	size_t i;

	group_open(j, "stats", "stats");
	for (i = 0; i < sizeof(stats) / sizeof(stats[0]); i++) {
		/* Counters after the first two are new in 0.2: skip if absent. */
		snprintf(path, sizeof(path), "%s/%s", HEAPLOAD_SYSFS_STATS, stats[i]);
		if (i >= 2 && access(path, F_OK))
			continue;
		print_attr(j, HEAPLOAD_SYSFS_STATS, stats[i]);
	}
	group_close(j);
}

/* The restricted heap's pool (absent before 0.3). */
static void print_restricted(struct hl_json *j)
{
	static const char *const attrs[] = {
		"backing", "protection", "size_bytes", "claimed_bytes",
		"used_bytes", "free_bytes", "largest_free_bytes",
		"min_chunk_bytes", "restricted_bytes",
	};
	const char *dir = HEAPLOAD_SYSFS_STATS "/restricted";
	size_t i;

	if (access(dir, F_OK))
		return;
	group_open(j, "restricted pool", "restricted_pool");
	for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		print_attr(j, dir, attrs[i]);
	group_close(j);
}

/* How the heaps got their /dev/dma_heap nodes (absent before 0.2). */
static void print_registration(struct hl_json *j)
{
	char value[256];

	if (read_text(HEAPLOAD_SYSFS_STATS "/registration", value, sizeof(value)))
		return;
	if (j)
		hl_json_str(j, "registration", value);
	else
		printf("registration: %s\n", value);
}

/* A heap of heapload's own UAPI class, e.g. the "system" alias. */
static bool own_class_heap(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/class/heapload_dma_heap/%s", name);
	return !access(path, F_OK);
}

static void print_heaps(struct hl_json *j)
{
	size_t prefix_len = strlen(HEAPLOAD_HEAP_PREFIX);
	struct dirent **list;
	int i, n;

	n = scandir(HEAPLOAD_HEAP_DIR, &list, no_dots, alphasort);
	if (n < 0 && j) {
		hl_json_open(j, "heaps", '[');
		hl_json_close(j, ']');
		return;
	}
	if (n < 0) {
		printf("heaps: none (%s: %s)\n", HEAPLOAD_HEAP_DIR, strerror(errno));
		return;
	}
	if (j)
		hl_json_open(j, "heaps", '[');
	else
		printf(n ? "heaps:\n" : "heaps: none\n");
	for (i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		bool ours = !strncmp(name, HEAPLOAD_HEAP_PREFIX, prefix_len) ||
			    own_class_heap(name);

		if (j) {
			hl_json_open(j, NULL, '{');
			hl_json_str(j, "name", name);
			hl_json_bool(j, "heapload", ours);
			hl_json_close(j, '}');
		} else {
			printf("  %s%s\n", name, ours ? " (heapload)" : "");
		}
		free(list[i]);
	}
	free(list);
	if (j)
		hl_json_close(j, ']');
}

static void print_installed(struct hl_json *j, const struct hl_module_info *mi)
{
	bool differs = mi->srcversion[0] && mi->installed_srcversion[0] &&
		       strcmp(mi->srcversion, mi->installed_srcversion);

	if (j) {
		if (!mi->installed_path[0]) {
			hl_json_null(j, "installed");
			return;
		}
		hl_json_open(j, "installed", '{');
		hl_json_str(j, "version", mi->installed_version[0] ?
			    mi->installed_version : NULL);
		hl_json_str(j, "path", mi->installed_path);
		hl_json_bool(j, "differs_from_loaded", differs);
		hl_json_close(j, '}');
		return;
	}
	if (!mi->installed_path[0]) {
		printf("installed: none\n");
		return;
	}
	printf("installed: %s %s%s\n",
	       mi->installed_version[0] ? mi->installed_version : "unknown",
	       mi->installed_path, differs ? " (differs from the loaded module)" : "");
}

static void print_module(struct hl_json *j, const struct hl_module_info *mi,
			 bool loaded)
{
	if (j) {
		hl_json_str(j, "module", hl_module_state_str(mi->state));
		hl_json_str(j, "version", loaded && mi->version[0] ? mi->version : NULL);
		if (loaded && mi->refcount >= 0)
			hl_json_u64(j, "refcount", (uint64_t)mi->refcount);
		else
			hl_json_null(j, "refcount");
		return;
	}
	printf("module: %s\n", hl_module_state_str(mi->state));
	if (!loaded)
		return;
	printf("version: %s\n", mi->version[0] ? mi->version : "unknown");
	if (mi->refcount >= 0)
		printf("refcount: %d\n", mi->refcount);
	else
		printf("refcount: unknown\n");
}

/* Returns 0 if the module is live (or built in), else -1. */
static int cmd_info(const struct hl_args *a)
{
	struct hl_json json, *j = a->json ? &json : NULL;
	struct hl_module_info mi;
	bool loaded;
	int ret;

	ret = hl_module_info(&mi);
	if (ret) {
		fail(a, "libkmod", "%s", strerror(-ret));
		return -1;
	}
	loaded = mi.state != HL_MODULE_NOT_LOADED;

	if (j)
		hl_json_begin(j, stdout);
	print_module(j, &mi, loaded);
	print_installed(j, &mi);
	if (loaded) {
		print_registration(j);
		print_params(j);
		print_stats(j);
		print_restricted(j);
	}
	print_heaps(j);
	if (j)
		hl_json_end(j);
	fflush(stdout);
	if (mi.state == HL_MODULE_LIVE || mi.state == HL_MODULE_BUILTIN)
		return 0;
	fail(a, NULL, "module %s", hl_module_state_str(mi.state));
	return -1;
}

int main(int argc, char *argv[])
{
	struct hl_args a;
	char err[512];

	if (hl_parse_args(argc, argv, &a, err, sizeof(err))) {
		fprintf(stderr, "heapload: %s\n", err);
		fprintf(stderr, "Try 'heapload --help'.\n");
		return HL_EXIT_TROUBLE;
	}
	switch (a.cmd) {
	case HL_CMD_HELP:
		usage(stdout);
		return HL_EXIT_OK;
	case HL_CMD_VERSION:
		printf("heapload %s\n", HEAPLOAD_VERSION);
		return HL_EXIT_OK;
	case HL_CMD_LOAD:
	case HL_CMD_VERIFY:
		return hl_exit_code(cmd_load(&a));
	case HL_CMD_INFO:
		return hl_exit_code(cmd_info(&a));
	case HL_CMD_BENCH:
		return hl_cmd_bench(&a);
	case HL_CMD_ALLOC:
		return cmd_alloc(&a);
	default:
		usage(stderr);
		return HL_EXIT_TROUBLE;
	}
}
