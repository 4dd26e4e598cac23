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
#include <pthread.h>
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

#include "bench.h"
#include "cli.h"
#include "libheapload.h"
#include "util.h"

#ifndef HEAPLOAD_VERSION
#define HEAPLOAD_VERSION "unknown"
#endif

#define EXIT_USAGE	2
#define CHUNK_SIZE	(1U << 20)
/* The progress bar appears after this long and is redrawn this often. */
#define PROGRESS_DELAY_NS	1000000000ULL
#define PROGRESS_PERIOD_NS	100000000ULL

static void usage(FILE *f)
{
	fputs("Usage: heapload COMMAND [OPTIONS]\n"
	      "\n"
	      "Commands:\n"
	      "  load FILE     load FILE into a new dma-buf heap buffer and report\n"
	      "  verify FILE   load, then compare the buffer with FILE read with read()\n"
	      "  info          show the module, its parameters and statistics, and the heaps\n"
	      "  bench FILE... compare, per FILE, the loader (one batch, gathered direct\n"
	      "                and buffered) with dma-heap alloc + mmap + read(), memfd +\n"
	      "                O_DIRECT + udmabuf, and the floors (allocation alone,\n"
	      "                O_DIRECT read alone); median, min and max of --runs runs\n"
	      "\n"
	      "Options of load, verify and bench:\n"
	      "  --heap NAME   heap under " HEAPLOAD_HEAP_DIR " (default: " HEAPLOAD_DEFAULT_HEAP ")\n"
	      "  --offset N    start at byte N of FILE (default: 0; with direct I/O a\n"
	      "                multiple of the file's direct-I/O block, often 512)\n"
	      "  --length N    load N bytes (default: 0, up to the end of FILE)\n"
	      "Options of load and verify:\n"
	      "  --direct      read with direct I/O (FILE opened with O_DIRECT)\n"
	      "  --buffered    read through the page cache (the default)\n"
	      "  --sha256      print the SHA-256 of the loaded bytes, read back via mmap\n"
	      "  --no-progress never draw the progress bar (drawn on stderr when it is a\n"
	      "                terminal and the load takes more than a second)\n"
	      "Options of bench:\n"
	      "  --runs N      runs per method and file (default: 5, at most 1000)\n"
	      "  --csv OUT     also write one CSV row per file and method to OUT ('-':\n"
	      "                stdout)\n"
	      "  --methods L   only these methods, comma-separated: normal, udmabuf,\n"
	      "                udmabuf-prestart, heapload-sync, heapload-gather-direct,\n"
	      "                heapload-gather-buffered, alloc-only, odirect-floor\n"
	      "                (default: all)\n"
	      "\n"
	      "N is a byte count with an optional binary suffix K, M or G.\n"
	      "\n"
	      "  -h, --help     show this help\n"
	      "  -V, --version  show the version of this tool\n"
	      "\n"
	      "Exit status: 0 on success, 1 on failure (verify: on a mismatch;\n"
	      "info: module not loaded; bench: a method failed), 2 on a usage error.\n", f);
}

static void print_err(const char *verb, const char *what, int err)
{
	if (what)
		fprintf(stderr, "heapload: %s: %s: %s\n", verb, what, strerror(err));
	else
		fprintf(stderr, "heapload: %s: %s\n", verb, strerror(err));
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail with a valid clock id and pointer. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static const char *mode_name(enum hl_mode mode)
{
	return mode == HL_MODE_DIRECT ? "direct" : "buffered";
}

static int open_device(const char *verb)
{
	int fd = heapload_open();

	if (fd < 0) {
		print_err(verb, HEAPLOAD_DEV_PATH, -fd);
		if (fd == -ENOENT)
			fprintf(stderr, "heapload: is the heapload module loaded? (modprobe heapload)\n");
	}
	return fd;
}

static int open_file(const char *verb, const char *path, enum hl_mode mode)
{
	int flags = O_RDONLY | O_CLOEXEC | (mode == HL_MODE_DIRECT ? O_DIRECT : 0);
	int fd = open(path, flags);

	if (fd < 0) {
		print_err(verb, path, errno);
		if (errno == EINVAL && mode == HL_MODE_DIRECT)
			fprintf(stderr, "heapload: the file system of %s does not support O_DIRECT; try --buffered\n",
				path);
		return -1;
	}
	return fd;
}

static void load_hint(const struct hl_args *a, int err)
{
	const char *hint = NULL;

	switch (err) {
	case ENODEV:
		fprintf(stderr, "heapload: no heap named '%s' (see 'heapload info')\n",
			a->heap);
		return;
	case ENOMEM:
		hint = "the buffer exceeds the module's max_alloc_mb or the free memory";
		break;
	case ENODATA:
		hint = "nothing to load: the file or the range is empty";
		break;
	case ENOTTY:
		hint = HEAPLOAD_DEV_PATH " does not know this load ioctl (module too old?)";
		break;
	case EINVAL:
		if (a->mode == HL_MODE_DIRECT)
			hint = "direct I/O needs file system support and an --offset multiple of the file's direct-I/O block";
		break;
	}
	if (hint)
		fprintf(stderr, "heapload: %s\n", hint);
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
	if (a->no_progress || !isatty(STDERR_FILENO))
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

static int expected_length(const struct hl_args *a, uint64_t size, uint64_t *len);

/*
 * Open FILE and the device, and load. Prints its own errors. On success
 * *res holds the dma-buf and *ns the time the ioctl took.
 */
static int do_load(const struct hl_args *a, struct heapload_result *res,
		   uint64_t *ns)
{
	const char *verb = hl_cmd_name(a->cmd);
	uint32_t flags = a->mode == HL_MODE_DIRECT ? HEAPLOAD_LOAD_DIRECT :
						     HEAPLOAD_LOAD_BUFFERED;
	struct progress prog;
	uint64_t total = 0;
	int file_fd, devfd, ret;
	struct stat st;

	file_fd = open_file(verb, a->file, a->mode);
	if (file_fd < 0)
		return -1;
	devfd = open_device(verb);
	if (devfd < 0) {
		ret = -1;
		goto out_close_file;
	}
	if (fstat(file_fd, &st) < 0 ||
	    expected_length(a, (uint64_t)st.st_size, &total))
		total = 0;	/* the kernel will say what is wrong */

	progress_start(&prog, a, total);
	ret = heapload_load_file(devfd, file_fd, a->heap, a->offset, a->length,
				 flags, &prog.word, res);
	*ns = now_ns() - prog.t0;
	progress_stop(&prog);
	if (ret) {
		print_err(verb, NULL, -ret);
		load_hint(a, -ret);
		ret = -1;
	}

	close(devfd);
out_close_file:
	close(file_fd);
	return ret;
}

static void print_load(const struct hl_args *a, const struct heapload_result *res,
		       uint64_t ns)
{
	printf("file: %s\n", a->file);
	printf("heap: %s\n", a->heap);
	printf("mode: %s\n", mode_name(a->mode));
	printf("loaded: %" PRIu64 "\n", res->loaded);
	printf("buffer: %" PRIu64 "\n", res->buf_size);
	printf("time: %.3f\n", (double)ns / 1e9);
	printf("rate: %.1f\n", hl_rate_mbs(res->loaded, ns));
	if (!res->total_ns) {
		/* A module without statistics (heapload 0.1). */
		printf("alloc: n/a\nio: n/a\ntotal: n/a\nbatches: n/a\nmax_inflight: n/a\n");
		return;
	}
	printf("alloc: %.3f\n", (double)res->alloc_ns / 1e9);
	printf("io: %.3f\n", (double)res->io_ns / 1e9);
	printf("total: %.3f\n", (double)res->total_ns / 1e9);
	printf("batches: %" PRIu32 "\n", res->batches);
	printf("max_inflight: %" PRIu32 "\n", res->max_inflight);
}

static int print_sha256(const struct hl_args *a, const struct heapload_result *res)
{
	unsigned char digest[HL_SHA256_LEN];
	char hex[2 * HL_SHA256_LEN + 1];
	int ret;

	ret = hl_dmabuf_sha256(res->dmabuf_fd, res->loaded, digest);
	if (!ret)
		ret = hl_format_hex(digest, sizeof(digest), hex, sizeof(hex));
	if (ret) {
		print_err(hl_cmd_name(a->cmd), "sha256", -ret);
		return -1;
	}
	printf("sha256: %s\n", hex);
	return 0;
}

/* Bytes a load of @a should produce for a file of @size bytes. */
static int expected_length(const struct hl_args *a, uint64_t size, uint64_t *len)
{
	if (a->offset > size)
		return -EINVAL;
	if (a->length && a->length > size - a->offset)
		return -EINVAL;
	*len = a->length ? a->length : size - a->offset;
	return 0;
}

static size_t first_diff(const unsigned char *x, const unsigned char *y, size_t n)
{
	size_t i;

	for (i = 0; i < n && x[i] == y[i]; i++)
		;
	return i;
}

/*
 * Compare buf[0, loaded) with the file from a->offset. Returns 0 if equal,
 * 1 on a mismatch (reported), -1 on an error (reported).
 */
static int compare_file(const struct hl_args *a, int fd,
			const unsigned char *buf, uint64_t loaded)
{
	unsigned char *chunk;
	uint64_t done = 0;
	int ret = 0;

	chunk = malloc(CHUNK_SIZE);
	if (!chunk) {
		print_err("verify", NULL, ENOMEM);
		return -1;
	}
	while (done < loaded) {
		size_t want = loaded - done < CHUNK_SIZE ? loaded - done : CHUNK_SIZE;
		ssize_t n = pread(fd, chunk, want, (off_t)(a->offset + done));
		size_t i;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			print_err("verify", a->file, errno);
			ret = -1;
			break;
		}
		if (n == 0) {
			printf("verify: MISMATCH: file ends at offset %" PRIu64
			       ", before the %" PRIu64 " loaded bytes\n",
			       a->offset + done, loaded);
			ret = 1;
			break;
		}
		i = first_diff(chunk, buf + done, (size_t)n);
		if (i < (size_t)n) {
			printf("verify: MISMATCH at file offset %" PRIu64
			       " (buffer offset %" PRIu64 "): file 0x%02x, buffer 0x%02x\n",
			       a->offset + done + i, done + i, chunk[i], buf[done + i]);
			ret = 1;
			break;
		}
		done += (uint64_t)n;
	}
	free(chunk);
	return ret;
}

/* The bytes after the loaded ones must be zero. Returns 0 or 1 (reported). */
static int check_tail(const unsigned char *buf, uint64_t loaded, uint64_t size)
{
	uint64_t i;

	for (i = loaded; i < size; i++) {
		if (buf[i]) {
			printf("verify: MISMATCH at buffer offset %" PRIu64
			       ": 0x%02x in the zero padding after the loaded bytes\n",
			       i, buf[i]);
			return 1;
		}
	}
	return 0;
}

static int verify_buffer(const struct hl_args *a, const struct heapload_result *res)
{
	struct stat st;
	uint64_t expect;
	void *map;
	int fd, ret, err;

	fd = open(a->file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		print_err("verify", a->file, errno);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (expected_length(a, (uint64_t)st.st_size, &expect)) {
		printf("verify: MISMATCH: the range is no longer inside the %" PRIu64
		       " byte file\n", (uint64_t)st.st_size);
		ret = 1;
		goto out_close;
	}
	if (expect != res->loaded) {
		printf("verify: MISMATCH: loaded %" PRIu64 " bytes, the range holds %"
		       PRIu64 "\n", res->loaded, expect);
		ret = 1;
		goto out_close;
	}
	if (res->buf_size < res->loaded) {
		printf("verify: MISMATCH: buffer of %" PRIu64 " bytes holds %" PRIu64
		       " loaded bytes\n", res->buf_size, res->loaded);
		ret = 1;
		goto out_close;
	}

	ret = heapload_dmabuf_map(res->dmabuf_fd, res->buf_size, PROT_READ, &map);
	if (ret) {
		print_err("verify", "mmap", -ret);
		ret = -1;
		goto out_close;
	}
	ret = heapload_dmabuf_sync(res->dmabuf_fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	if (ret) {
		print_err("verify", "DMA_BUF_IOCTL_SYNC", -ret);
		ret = -1;
		goto out_unmap;
	}

	ret = compare_file(a, fd, map, res->loaded);
	if (!ret)
		ret = check_tail(map, res->loaded, res->buf_size);

	err = heapload_dmabuf_sync(res->dmabuf_fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	if (err && !ret) {
		print_err("verify", "DMA_BUF_IOCTL_SYNC", -err);
		ret = -1;
	}
out_unmap:
	heapload_dmabuf_unmap(map, res->buf_size);
out_close:
	close(fd);
	return ret;
}

/*
 * load and verify: load FILE, print the result and, with --sha256, the
 * digest; verify then compares the buffer with FILE.
 */
static int cmd_load(const struct hl_args *a)
{
	struct heapload_result res = HEAPLOAD_RESULT_INIT;
	uint64_t ns;
	int ret = 0;

	if (do_load(a, &res, &ns))
		return EXIT_FAILURE;
	print_load(a, &res, ns);
	if (a->sha256)
		ret = print_sha256(a, &res);
	if (!ret && a->cmd == HL_CMD_VERIFY) {
		ret = verify_buffer(a, &res);
		if (!ret)
			printf("verify: OK\n");
	}
	close(res.dmabuf_fd);
	return ret ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* ---- info ---- */

static int no_dots(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Read a small text file into buf without its trailing newlines. */
static int read_text(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do {
		n = read(fd, buf, size - 1);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return 0;
}

static void print_attr(const char *dir, const char *name)
{
	char path[PATH_MAX], value[4096];
	int ret;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		ret = -ENAMETOOLONG;
	else
		ret = read_text(path, value, sizeof(value));
	if (ret)
		printf("  %s = <unavailable: %s>\n", name, strerror(-ret));
	else
		printf("  %s = %s\n", name, value);
}

static void print_params(void)
{
	struct dirent **list;
	int i, n;

	n = scandir(HEAPLOAD_SYSFS_PARAMS, &list, no_dots, alphasort);
	if (n < 0) {
		printf("parameters: none (%s)\n", strerror(errno));
		return;
	}
	printf(n ? "parameters:\n" : "parameters: none\n");
	for (i = 0; i < n; i++) {
		print_attr(HEAPLOAD_SYSFS_PARAMS, list[i]->d_name);
		free(list[i]);
	}
	free(list);
}

static void print_stats(void)
{
	static const char *const stats[] = {
		"allocated_bytes", "buffers", "loads", "load_failures",
		"loaded_bytes", "inflight_bytes",
	};
	size_t i;

	char path[PATH_MAX];

	printf("stats:\n");
	for (i = 0; i < sizeof(stats) / sizeof(stats[0]); i++) {
		/* Counters after the first two are new in 0.2: skip if absent. */
		snprintf(path, sizeof(path), "%s/%s", HEAPLOAD_SYSFS_STATS, stats[i]);
		if (i >= 2 && access(path, F_OK))
			continue;
		print_attr(HEAPLOAD_SYSFS_STATS, stats[i]);
	}
}

/* The restricted heap's pool (absent before 0.3). */
static void print_restricted(void)
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
	printf("restricted pool:\n");
	for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		print_attr(dir, attrs[i]);
}

/* How the heaps got their /dev/dma_heap nodes (absent before 0.2). */
static void print_registration(void)
{
	char value[256];

	if (!read_text(HEAPLOAD_SYSFS_STATS "/registration", value, sizeof(value)))
		printf("registration: %s\n", value);
}

/* A heap of heapload's own UAPI class, e.g. the "system" alias. */
static bool own_class_heap(const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/class/heapload_dma_heap/%s", name);
	return !access(path, F_OK);
}

static void print_heaps(void)
{
	size_t prefix_len = strlen(HEAPLOAD_HEAP_PREFIX);
	struct dirent **list;
	int i, n;

	n = scandir(HEAPLOAD_HEAP_DIR, &list, no_dots, alphasort);
	if (n < 0) {
		printf("heaps: none (%s: %s)\n", HEAPLOAD_HEAP_DIR, strerror(errno));
		return;
	}
	printf(n ? "heaps:\n" : "heaps: none\n");
	for (i = 0; i < n; i++) {
		const char *name = list[i]->d_name;

		printf("  %s%s\n", name,
		       !strncmp(name, HEAPLOAD_HEAP_PREFIX, prefix_len) ||
		       own_class_heap(name) ? " (heapload)" : "");
		free(list[i]);
	}
	free(list);
}

static void print_installed(const struct hl_module_info *mi)
{
	if (!mi->installed_path[0]) {
		printf("installed: none\n");
		return;
	}
	printf("installed: %s %s%s\n",
	       mi->installed_version[0] ? mi->installed_version : "unknown",
	       mi->installed_path,
	       mi->srcversion[0] && mi->installed_srcversion[0] &&
	       strcmp(mi->srcversion, mi->installed_srcversion) ?
	       " (differs from the loaded module)" : "");
}

static int cmd_info(void)
{
	struct hl_module_info mi;
	bool loaded;
	int ret;

	ret = hl_module_info(&mi);
	if (ret) {
		print_err("info", "libkmod", -ret);
		return EXIT_FAILURE;
	}
	loaded = mi.state != HL_MODULE_NOT_LOADED;

	printf("module: %s\n", hl_module_state_str(mi.state));
	if (loaded) {
		printf("version: %s\n", mi.version[0] ? mi.version : "unknown");
		if (mi.refcount >= 0)
			printf("refcount: %d\n", mi.refcount);
		else
			printf("refcount: unknown\n");
	}
	print_installed(&mi);
	if (loaded) {
		print_registration();
		print_params();
		print_stats();
		print_restricted();
	}
	print_heaps();
	return mi.state == HL_MODULE_LIVE || mi.state == HL_MODULE_BUILTIN ?
	       EXIT_SUCCESS : EXIT_FAILURE;
}

int main(int argc, char *argv[])
{
	struct hl_args a;
	char err[256];

	if (hl_parse_args(argc, argv, &a, err, sizeof(err))) {
		fprintf(stderr, "heapload: %s\n", err);
		fprintf(stderr, "Try 'heapload --help'.\n");
		return EXIT_USAGE;
	}
	switch (a.cmd) {
	case HL_CMD_HELP:
		usage(stdout);
		return EXIT_SUCCESS;
	case HL_CMD_VERSION:
		printf("heapload %s\n", HEAPLOAD_VERSION);
		return EXIT_SUCCESS;
	case HL_CMD_LOAD:
	case HL_CMD_VERIFY:
		return cmd_load(&a);
	case HL_CMD_INFO:
		return cmd_info();
	case HL_CMD_BENCH:
		return hl_cmd_bench(&a);
	default:
		usage(stderr);
		return EXIT_USAGE;
	}
}
