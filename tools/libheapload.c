// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libheapload: a small C library over the heapload UAPI.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/dma-buf.h>
#include <linux/dma-heap.h>

#include "libheapload.h"

/* Built with -fvisibility=hidden: only what this marks is exported. */
#define HEAPLOAD_EXPORT __attribute__((visibility("default")))

_Static_assert(offsetof(struct heapload_result, uapi_version) == HEAPLOAD_RESULT_SIZE_VER0,
	       "struct heapload_result: the first layout is frozen");
_Static_assert(offsetof(struct heapload_result, alloc_threads) == HEAPLOAD_RESULT_SIZE_VER1,
	       "struct heapload_result: version 1 is frozen");
_Static_assert(sizeof(struct heapload_result) == HEAPLOAD_RESULT_SIZE_VER2,
	       "struct heapload_result: version 2 is frozen");
_Static_assert(sizeof(struct heapload_load_opts) == HEAPLOAD_LOAD_OPTS_SIZE_VER0,
	       "struct heapload_load_opts: the first layout is frozen");

/* Marks the out fields of a request before HEAPLOAD_IOC_LOAD_RESULT. */
#define UNWRITTEN	INT32_MIN

HEAPLOAD_EXPORT
int heapload_open(void)
{
	int fd = open(HEAPLOAD_DEV_PATH, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

HEAPLOAD_EXPORT
int heapload_load(int devfd, struct heapload_load *req)
{
	unsigned long cmd;

	if (!req || req->size < HEAPLOAD_LOAD_SIZE_VER0 ||
	    req->size > _IOC_SIZEMASK)
		return -EINVAL;
	/*
	 * The kernel takes the struct's size from the ioctl number and wants
	 * @size to match it: a program built against another header than
	 * this library's passes its own size.
	 */
	cmd = _IOC(_IOC_READ | _IOC_WRITE, HEAPLOAD_IOC_MAGIC,
		   _IOC_NR(HEAPLOAD_IOC_LOAD), req->size);
	if (ioctl(devfd, cmd, req) < 0)
		return -errno;
	return 0;
}

/*
 * The caller's struct heapload_result from a request the kernel answered:
 * everything after @size, as far as the caller's struct reaches.
 */
static void fill_result(struct heapload_result *res, const struct heapload_load *req,
			bool failed)
{
	struct heapload_result out;
	/* A version 2 module sets load_fd to -1, an older one leaves it 0. */
	bool v2 = req->load_fd == -1;

	memset(&out, 0, sizeof(out));
	out.dmabuf_fd = failed ? -1 : req->dmabuf_fd;
	out.loaded = req->loaded;
	out.buf_size = req->buf_size;
	out.alloc_ns = req->alloc_ns;
	out.io_ns = req->io_ns;
	out.total_ns = req->total_ns;
	out.batches = req->batches;
	out.max_inflight = req->max_inflight;
	out.uapi_version = !v2 ? 0 : req->alloc_threads_max ? 3 : 2;
	out.error_segment = v2 && failed ? req->error_segment : -1;
	out.placed_node = v2 && !failed ? req->placed_node : -1;
	out.digest_alg = v2 ? req->digest_alg : HEAPLOAD_DIGEST_NONE;
	if (v2)
		memcpy(out.digest, req->digest, sizeof(out.digest));
	out.alloc_threads = v2 ? req->alloc_threads : 0;
	out.alloc_threads_max = v2 ? req->alloc_threads_max : 0;
	out.size = res->size;
	memcpy(res, &out, res->size < sizeof(out) ? res->size : sizeof(out));
}

/* Checks @heap (NULL: the default) and copies it into @req. */
static int set_heap(struct heapload_load *req, const char *heap)
{
	size_t name_len;

	if (!heap)
		heap = HEAPLOAD_DEFAULT_HEAP;
	name_len = strlen(heap);
	if (!name_len)
		return -EINVAL;
	if (name_len >= sizeof(req->heap))
		return -ENAMETOOLONG;
	memcpy(req->heap, heap, name_len + 1);
	return 0;
}

HEAPLOAD_EXPORT
int heapload_load_file(int devfd, int file_fd, const char *heap,
		       uint64_t offset, uint64_t length, uint32_t flags,
		       uint64_t *progress, struct heapload_result *res)
{
	struct heapload_load req;
	int ret;

	if (!res || res->size < HEAPLOAD_RESULT_SIZE_VER0 ||
	    ((uintptr_t)progress & 7))
		return -EINVAL;
	memset(&req, 0, sizeof(req));
	ret = set_heap(&req, heap);
	if (ret)
		return ret;
	req.size = sizeof(req);
	req.flags = flags;
	req.file_fd = file_fd;
	req.fd_flags = O_RDWR | O_CLOEXEC;
	req.offset = offset;
	req.length = length;
	if (progress) {
		__atomic_store_n(progress, 0, __ATOMIC_RELAXED);
		req.progress_addr = (uint64_t)(uintptr_t)progress;
	}

	ret = heapload_load(devfd, &req);
	if (ret == -E2BIG && progress) {
		/* A module before version 1 of the struct: no progress. */
		req.progress_addr = 0;
		ret = heapload_load(devfd, &req);
	}
	if (ret)
		return ret;
	fill_result(res, &req, false);
	return 0;
}

/*
 * The caller's options as this library knows them: the bytes its size
 * covers, the rest zero; a larger struct only if the rest is zero.
 */
static int copy_opts(struct heapload_load_opts *o, const struct heapload_load_opts *in)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t i;

	memset(o, 0, sizeof(*o));
	if (!in)
		return 0;
	if (in->size < HEAPLOAD_LOAD_OPTS_SIZE_VER0)
		return -EINVAL;
	for (i = sizeof(*o); i < in->size; i++)
		if (p[i])
			return -E2BIG;
	memcpy(o, in, sizeof(*o));
	return 0;
}

/* The request of heapload_load_segments() and heapload_load_start(). */
static int build_request(struct heapload_load *req, const char *heap,
			 const struct heapload_segment *segs, uint32_t nr_segs,
			 const struct heapload_load_opts *opts, uint32_t async)
{
	struct heapload_load_opts o;
	int ret;

	ret = copy_opts(&o, opts);
	if (ret)
		return ret;
	if (!segs || !nr_segs || o.reserved ||
	    (o.flags & ~(uint32_t)HEAPLOAD_LOAD_VALID_FLAGS) ||
	    (o.flags & HEAPLOAD_LOAD_ASYNC))
		return -EINVAL;
	if (nr_segs > HEAPLOAD_MAX_SEGMENTS)
		return -E2BIG;

	memset(req, 0, sizeof(*req));
	req->size = sizeof(*req);
	req->flags = o.flags | async;
	if (o.flags & HEAPLOAD_LOAD_INTO) {
		if (heap)
			return -EINVAL;
		req->target_fd = o.target_fd;
	} else {
		ret = set_heap(req, heap);
		if (ret)
			return ret;
		req->fd_flags = O_RDWR | O_CLOEXEC;
	}
	if (o.flags & HEAPLOAD_LOAD_NUMA_NODE)
		req->numa_node = o.numa_node;
	req->digest_alg = o.digest_alg;
	if (o.flags & HEAPLOAD_LOAD_VERIFY)
		memcpy(req->expected_digest, o.expected_digest,
		       sizeof(req->expected_digest));
	if (nr_segs == 1 && !segs[0].buf_offset && !segs[0].flags) {
		/* The single range: what modules before version 2 know. */
		req->file_fd = segs[0].file_fd;
		req->offset = segs[0].file_offset;
		req->length = segs[0].length;
	} else {
		req->segments = (uint64_t)(uintptr_t)segs;
		req->nr_segments = nr_segs;
		req->segment_size = sizeof(*segs);
	}
	return 0;
}

HEAPLOAD_EXPORT
int heapload_load_segments(int devfd, const char *heap,
			   const struct heapload_segment *segs, uint32_t nr_segs,
			   const struct heapload_load_opts *opts,
			   uint64_t *progress, struct heapload_result *res)
{
	struct heapload_load req;
	int ret;

	if (!res || res->size < HEAPLOAD_RESULT_SIZE_VER0 ||
	    ((uintptr_t)progress & 7))
		return -EINVAL;
	ret = build_request(&req, heap, segs, nr_segs, opts, 0);
	if (ret)
		return ret;
	if (progress) {
		__atomic_store_n(progress, 0, __ATOMIC_RELAXED);
		req.progress_addr = (uint64_t)(uintptr_t)progress;
	}
	ret = heapload_load(devfd, &req);
	/* A version 2 module wrote the request back (load_fd -1) on failure too. */
	if (!ret || req.load_fd == -1)
		fill_result(res, &req, ret != 0);
	return ret;
}

HEAPLOAD_EXPORT
int heapload_load_start(int devfd, const char *heap,
			const struct heapload_segment *segs, uint32_t nr_segs,
			const struct heapload_load_opts *opts)
{
	struct heapload_load req;
	int ret;

	ret = build_request(&req, heap, segs, nr_segs, opts, HEAPLOAD_LOAD_ASYNC);
	if (ret)
		return ret;
	ret = heapload_load(devfd, &req);
	return ret ? ret : req.load_fd;
}

HEAPLOAD_EXPORT
int heapload_load_result(int load_fd, struct heapload_result *res)
{
	struct heapload_load req;
	unsigned long cmd;
	int ret;

	if (!res || res->size < HEAPLOAD_RESULT_SIZE_VER0)
		return -EINVAL;
	/* Only @size is read: the rest tells whether the kernel wrote back. */
	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.error_segment = UNWRITTEN;
	cmd = _IOC(_IOC_READ | _IOC_WRITE, HEAPLOAD_IOC_MAGIC,
		   _IOC_NR(HEAPLOAD_IOC_LOAD_RESULT), sizeof(req));
	ret = ioctl(load_fd, cmd, &req) < 0 ? -errno : 0;
	if (req.error_segment == UNWRITTEN)
		return ret;
	/* The request as the kernel keeps it: an async load fd in load_fd. */
	req.load_fd = -1;
	fill_result(res, &req, ret != 0);
	return ret;
}

HEAPLOAD_EXPORT
int heapload_load_wait(int load_fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = load_fd, .events = POLLIN };
	int ret;

	do {
		ret = poll(&pfd, 1, timeout_ms);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return -errno;
	if (!ret)
		return -ETIMEDOUT;
	if (pfd.revents & POLLNVAL)
		return -EBADF;
	return 0;
}

HEAPLOAD_EXPORT
int heapload_digest_size(uint32_t alg)
{
	switch (alg) {
	case HEAPLOAD_DIGEST_NONE:
		return 0;
	case HEAPLOAD_DIGEST_SHA256:
		return 32;
	case HEAPLOAD_DIGEST_XXH64:
		return 8;
	}
	return -EINVAL;
}

HEAPLOAD_EXPORT
const char *heapload_digest_name(uint32_t alg)
{
	switch (alg) {
	case HEAPLOAD_DIGEST_NONE:
		return "none";
	case HEAPLOAD_DIGEST_SHA256:
		return "sha256";
	case HEAPLOAD_DIGEST_XXH64:
		return "xxh64";
	}
	return NULL;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

HEAPLOAD_EXPORT
int heapload_digest_parse(uint32_t alg, const char *hex,
			  uint8_t digest[HEAPLOAD_DIGEST_SIZE])
{
	uint8_t out[HEAPLOAD_DIGEST_SIZE] = { 0 };
	int len = heapload_digest_size(alg), i;

	if (len <= 0 || !hex || !digest || strlen(hex) != (size_t)len * 2)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(digest, out, sizeof(out));
	return 0;
}

HEAPLOAD_EXPORT
int heapload_digest_format(uint32_t alg, const uint8_t digest[HEAPLOAD_DIGEST_SIZE],
			   char *buf, size_t size)
{
	static const char digits[] = "0123456789abcdef";
	int len = heapload_digest_size(alg), i;

	if (len <= 0 || !digest || !buf)
		return -EINVAL;
	if (size < (size_t)len * 2 + 1)
		return -ENOSPC;
	for (i = 0; i < len; i++) {
		buf[2 * i] = digits[digest[i] >> 4];
		buf[2 * i + 1] = digits[digest[i] & 0xf];
	}
	buf[2 * len] = '\0';
	return 2 * len;
}

static bool heap_name_valid(const char *name)
{
	return name && *name && !strchr(name, '/') &&
	       strcmp(name, ".") && strcmp(name, "..");
}

HEAPLOAD_EXPORT
int heapload_heap_alloc(const char *heap_name, uint64_t len, uint32_t fd_flags)
{
	struct dma_heap_allocation_data data = {
		.len = len,
		.fd_flags = fd_flags,
	};
	char path[PATH_MAX];
	int heap_fd, ret;

	if (!heap_name_valid(heap_name) || !len)
		return -EINVAL;
	ret = snprintf(path, sizeof(path), "%s/%s", HEAPLOAD_HEAP_DIR, heap_name);
	if (ret < 0 || (size_t)ret >= sizeof(path))
		return -ENAMETOOLONG;

	heap_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (heap_fd < 0)
		return -errno;
	ret = ioctl(heap_fd, DMA_HEAP_IOCTL_ALLOC, &data) < 0 ? -errno : (int)data.fd;
	close(heap_fd);
	return ret;
}

HEAPLOAD_EXPORT
int heapload_dmabuf_sync(int dmabuf_fd, uint64_t flags)
{
	struct dma_buf_sync sync = { .flags = flags };
	int ret;

	do {
		ret = ioctl(dmabuf_fd, DMA_BUF_IOCTL_SYNC, &sync);
	} while (ret < 0 && (errno == EINTR || errno == EAGAIN));
	return ret < 0 ? -errno : 0;
}

HEAPLOAD_EXPORT
int heapload_dmabuf_map(int dmabuf_fd, uint64_t len, int prot, void **addr)
{
	void *p;

	if (!addr || !len)
		return -EINVAL;
	if (len > SIZE_MAX)
		return -EOVERFLOW;
	p = mmap(NULL, (size_t)len, prot, MAP_SHARED, dmabuf_fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	*addr = p;
	return 0;
}

HEAPLOAD_EXPORT
int heapload_dmabuf_unmap(void *addr, uint64_t len)
{
	if (!len || len > SIZE_MAX)
		return -EINVAL;
	return munmap(addr, (size_t)len) < 0 ? -errno : 0;
}
