// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libheapload: a small C library over the heapload UAPI.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

_Static_assert(sizeof(struct heapload_result) == HEAPLOAD_RESULT_SIZE_VER0,
	       "struct heapload_result: the first layout is frozen");

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

HEAPLOAD_EXPORT
int heapload_load_file(int devfd, int file_fd, const char *heap,
		       uint64_t offset, uint64_t length, uint32_t flags,
		       uint64_t *progress, struct heapload_result *res)
{
	struct heapload_load req;
	size_t name_len;
	int ret;

	struct heapload_result out;

	if (!res || res->size < HEAPLOAD_RESULT_SIZE_VER0 ||
	    ((uintptr_t)progress & 7))
		return -EINVAL;
	if (!heap)
		heap = HEAPLOAD_DEFAULT_HEAP;
	name_len = strlen(heap);
	if (!name_len)
		return -EINVAL;
	if (name_len >= sizeof(req.heap))
		return -ENAMETOOLONG;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.flags = flags;
	req.file_fd = file_fd;
	req.fd_flags = O_RDWR | O_CLOEXEC;
	req.offset = offset;
	req.length = length;
	memcpy(req.heap, heap, name_len + 1);
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
	memset(&out, 0, sizeof(out));
	out.dmabuf_fd = req.dmabuf_fd;
	out.loaded = req.loaded;
	out.buf_size = req.buf_size;
	out.alloc_ns = req.alloc_ns;
	out.io_ns = req.io_ns;
	out.total_ns = req.total_ns;
	out.batches = req.batches;
	out.max_inflight = req.max_inflight;
	/* Everything after @size, as far as the caller's struct reaches. */
	out.size = res->size;
	memcpy(res, &out, res->size < sizeof(out) ? res->size : sizeof(out));
	return 0;
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
