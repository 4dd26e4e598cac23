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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/dma-buf.h>

#include "cli.h"
#include "libheapload.h"

#ifndef HEAPLOAD_VERSION
#define HEAPLOAD_VERSION "unknown"
#endif

#define EXIT_USAGE	2
#define CHUNK_SIZE	(1U << 20)
#define DROP_CACHES	"/proc/sys/vm/drop_caches"

static void usage(FILE *f)
{
	fputs("Usage: heapload COMMAND [OPTIONS]\n"
	      "\n"
	      "Commands:\n"
	      "  load FILE     load FILE into a new dma-buf heap buffer and report\n"
	      "  verify FILE   load, then compare the buffer with FILE read with read()\n"
	      "  info          show the module, its parameters and statistics, and the heaps\n"
	      "  bench FILE    time load --direct, load --buffered and the classic\n"
	      "                dma-heap alloc + mmap + read(), median of --runs runs\n"
	      "\n"
	      "Options of load, verify and bench:\n"
	      "  --heap NAME   heap under " HEAPLOAD_HEAP_DIR " (default: " HEAPLOAD_DEFAULT_HEAP ")\n"
	      "  --offset N    start at byte N of FILE (default: 0; a multiple of 4096\n"
	      "                with direct I/O)\n"
	      "  --length N    load N bytes (default: 0, up to the end of FILE)\n"
	      "Options of load and verify:\n"
	      "  --direct      read with direct I/O (FILE opened with O_DIRECT)\n"
	      "  --buffered    read through the page cache (the default)\n"
	      "  --sha256      print the SHA-256 of the loaded bytes, read back via mmap\n"
	      "Options of bench:\n"
	      "  --runs N      runs per method (default: 5, at most 1000)\n"
	      "\n"
	      "N is a byte count with an optional binary suffix K, M or G.\n"
	      "\n"
	      "  -h, --help     show this help\n"
	      "  -V, --version  show the version of this tool\n"
	      "\n"
	      "Exit status: 0 on success, 1 on failure (verify: on a mismatch;\n"
	      "info: module not loaded), 2 on a usage error.\n", f);
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
			hint = "direct I/O needs file system support and an --offset multiple of 4096";
		break;
	}
	if (hint)
		fprintf(stderr, "heapload: %s\n", hint);
}

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
	int file_fd, devfd, ret;
	uint64_t t0;

	file_fd = open_file(verb, a->file, a->mode);
	if (file_fd < 0)
		return -1;
	devfd = open_device(verb);
	if (devfd < 0) {
		ret = -1;
		goto out_close_file;
	}

	t0 = now_ns();
	ret = heapload_load_file(devfd, file_fd, a->heap, a->offset, a->length,
				 flags, res);
	*ns = now_ns() - t0;
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
}

static int print_sha256(const struct hl_args *a, const struct heapload_result *res)
{
	unsigned char digest[HEAPLOAD_SHA256_LEN];
	char hex[2 * HEAPLOAD_SHA256_LEN + 1];
	int ret;

	ret = heapload_dmabuf_sha256(res->dmabuf_fd, res->loaded, digest);
	if (!ret)
		ret = heapload_format_hex(digest, sizeof(digest), hex, sizeof(hex));
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
	struct heapload_result res;
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
	static const char *const stats[] = { "allocated_bytes", "buffers" };
	size_t i;

	printf("stats:\n");
	for (i = 0; i < sizeof(stats) / sizeof(stats[0]); i++)
		print_attr(HEAPLOAD_SYSFS_STATS, stats[i]);
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
		       strncmp(name, HEAPLOAD_HEAP_PREFIX, prefix_len) ? "" : " (heapload)");
		free(list[i]);
	}
	free(list);
}

static void print_installed(const struct heapload_module_info *mi)
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
	struct heapload_module_info mi;
	bool loaded;
	int ret;

	ret = heapload_module_info(&mi);
	if (ret) {
		print_err("info", "libkmod", -ret);
		return EXIT_FAILURE;
	}
	loaded = mi.state != HEAPLOAD_MODULE_NOT_LOADED;

	printf("module: %s\n", heapload_module_state_str(mi.state));
	if (loaded) {
		printf("version: %s\n", mi.version[0] ? mi.version : "unknown");
		if (mi.refcount >= 0)
			printf("refcount: %d\n", mi.refcount);
		else
			printf("refcount: unknown\n");
	}
	print_installed(&mi);
	if (loaded) {
		print_params();
		print_stats();
	}
	print_heaps();
	return mi.state == HEAPLOAD_MODULE_LIVE || mi.state == HEAPLOAD_MODULE_BUILTIN ?
	       EXIT_SUCCESS : EXIT_FAILURE;
}

/* ---- bench ---- */

struct bench {
	const struct hl_args *a;
	uint64_t len;		/* bytes each run loads */
	bool drop;		/* drop the page cache before each run */
};

enum bench_method { BENCH_DIRECT, BENCH_BUFFERED, BENCH_CLASSIC, BENCH_METHODS };

static const char *const bench_names[BENCH_METHODS] = {
	"load --direct", "load --buffered", "alloc+mmap+read()",
};

static int drop_caches(void)
{
	int fd, ret = 0;

	sync();
	fd = open(DROP_CACHES, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, "3\n", 2) != 2)
		ret = errno ? -errno : -EIO;
	close(fd);
	return ret;
}

/* Returns whether later runs should drop the cache too. */
static bool try_drop_caches(void)
{
	int ret = drop_caches();

	if (ret)
		fprintf(stderr, "heapload: bench: %s: %s; the remaining runs are warm\n",
			DROP_CACHES, strerror(-ret));
	return !ret;
}

static int bench_load(const struct bench *b, int devfd, bool direct, uint64_t *ns)
{
	struct heapload_result res;
	int fd, ret;
	uint64_t t0;

	fd = open(b->a->file, O_RDONLY | O_CLOEXEC | (direct ? O_DIRECT : 0));
	if (fd < 0)
		return -errno;
	t0 = now_ns();
	ret = heapload_load_file(devfd, fd, b->a->heap, b->a->offset, b->a->length,
				 direct ? HEAPLOAD_LOAD_DIRECT : HEAPLOAD_LOAD_BUFFERED,
				 &res);
	*ns = now_ns() - t0;
	close(fd);
	if (ret)
		return ret;
	close(res.dmabuf_fd);
	return res.loaded == b->len ? 0 : -ENODATA;
}

static int read_full(int fd, unsigned char *buf, uint64_t len, uint64_t offset)
{
	uint64_t done = 0;

	while (done < len) {
		size_t want = len - done < CHUNK_SIZE ? len - done : CHUNK_SIZE;
		ssize_t n = pread(fd, buf + done, want, (off_t)(offset + done));

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

/* The classic way: allocate from the heap, map it, read() into the map. */
static int bench_classic(const struct bench *b, uint64_t *ns)
{
	uint64_t t0 = 0;
	void *map;
	int fd, buf_fd, ret, err;

	fd = open(b->a->file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	t0 = now_ns();
	buf_fd = heapload_heap_alloc(b->a->heap, b->len, O_RDWR | O_CLOEXEC);
	if (buf_fd < 0) {
		ret = buf_fd;
		goto out_close_file;
	}
	ret = heapload_dmabuf_map(buf_fd, b->len, PROT_READ | PROT_WRITE, &map);
	if (ret)
		goto out_close_buf;
	ret = heapload_dmabuf_sync(buf_fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
	if (ret)
		goto out_unmap;
	ret = read_full(fd, map, b->len, b->a->offset);
	err = heapload_dmabuf_sync(buf_fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
	if (!ret)
		ret = err;
out_unmap:
	heapload_dmabuf_unmap(map, b->len);
	*ns = now_ns() - t0;
out_close_buf:
	close(buf_fd);
out_close_file:
	close(fd);
	return ret;
}

static int bench_one(const struct bench *b, int devfd, enum bench_method m,
		     uint64_t *ns)
{
	switch (m) {
	case BENCH_DIRECT:
		return devfd < 0 ? devfd : bench_load(b, devfd, true, ns);
	case BENCH_BUFFERED:
		return devfd < 0 ? devfd : bench_load(b, devfd, false, ns);
	default:
		return bench_classic(b, ns);
	}
}

static void print_bench_row(const struct bench *b, enum bench_method m,
			    int err, double *secs, bool have_dev)
{
	double t;

	if (err && m != BENCH_CLASSIC && !have_dev) {
		printf("%-20s  failed: %s: %s\n", bench_names[m], HEAPLOAD_DEV_PATH,
		       strerror(-err));
		return;
	}
	if (err && m == BENCH_CLASSIC && err == -ENOENT) {
		printf("%-20s  failed: %s/%s: %s\n", bench_names[m], HEAPLOAD_HEAP_DIR,
		       b->a->heap, strerror(-err));
		return;
	}
	if (err) {
		printf("%-20s  failed: %s\n", bench_names[m], strerror(-err));
		return;
	}
	t = hl_median(secs, b->a->runs);
	printf("%-20s  %10.3f  %10.1f\n", bench_names[m], t * 1e3,
	       hl_rate_mbs(b->len, (uint64_t)(t * 1e9)));
}

static bool can_drop_caches(void)
{
	return geteuid() == 0 && access(DROP_CACHES, W_OK) == 0;
}

static int bench_prepare(struct bench *b, const struct hl_args *a)
{
	struct stat st;

	b->a = a;
	if (stat(a->file, &st) < 0) {
		print_err("bench", a->file, errno);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || expected_length(a, (uint64_t)st.st_size, &b->len) ||
	    !b->len) {
		fprintf(stderr, "heapload: bench: %s: not a regular file, or the range is empty or outside the file\n",
			a->file);
		return -1;
	}
	b->drop = can_drop_caches();
	return 0;
}

static int cmd_bench(const struct hl_args *a)
{
	double *secs[BENCH_METHODS] = { NULL };
	int err[BENCH_METHODS] = { 0 };
	struct bench b;
	int devfd, m, ret = EXIT_SUCCESS;
	unsigned int run;
	uint64_t ns = 0;

	if (bench_prepare(&b, a))
		return EXIT_FAILURE;
	for (m = 0; m < BENCH_METHODS; m++) {
		secs[m] = calloc(a->runs, sizeof(double));
		if (!secs[m]) {
			print_err("bench", NULL, ENOMEM);
			ret = EXIT_FAILURE;
			goto out_free;
		}
	}
	devfd = open_device("bench");

	printf("bench: %s\n", a->file);
	printf("heap: %s\n", a->heap);
	printf("bytes: %" PRIu64 "\n", b.len);
	printf("runs: %u\n", a->runs);
	printf("cache: %s\n", b.drop ? "dropped before each run" :
	       "warm (not dropped: needs root and a writable " DROP_CACHES ")");
	fflush(stdout);

	/* Interleave the methods so that drift affects all of them alike. */
	for (run = 0; run < a->runs; run++) {
		for (m = 0; m < BENCH_METHODS; m++) {
			if (err[m])
				continue;
			if (b.drop)
				b.drop = try_drop_caches();
			err[m] = bench_one(&b, devfd, m, &ns);
			secs[m][run] = (double)ns / 1e9;
		}
	}

	printf("%-20s  %10s  %10s\n", "method", "median ms", "MB/s");
	for (m = 0; m < BENCH_METHODS; m++) {
		print_bench_row(&b, m, err[m], secs[m], devfd >= 0);
		if (err[m])
			ret = EXIT_FAILURE;
	}
	if (devfd >= 0)
		close(devfd);
out_free:
	for (m = 0; m < BENCH_METHODS; m++)
		free(secs[m]);
	return ret;
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
		return cmd_bench(&a);
	default:
		usage(stderr);
		return EXIT_USAGE;
	}
}
