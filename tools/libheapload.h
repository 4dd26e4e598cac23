/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libheapload: a small C library over the heapload UAPI.
 *
 * Wraps the /dev/heapload load ioctl, the upstream dma-heap allocation
 * ioctl and CPU access to the resulting dma-bufs. It needs nothing but
 * the C library.
 *
 * Every function that can fail returns 0 (or a new fd) on success and a
 * negative errno value on failure; none of them relies on errno being
 * preserved, and none prints anything.
 *
 * Build with `pkg-config --cflags --libs libheapload`: the shared library
 * libheapload.so.0 (LGPL-2.1-or-later). The header is C99, C11 and C++.
 *
 * ABI rules: functions are only added, never changed; a public struct
 * that may grow starts with a size field the caller sets to sizeof, and
 * grows only at its end (the library fills only the bytes the caller's
 * size covers).
 */
#ifndef LIBHEAPLOAD_H
#define LIBHEAPLOAD_H

#include <stddef.h>
#include <stdint.h>

/*
 * Quoted on purpose: next to an installed copy of this header the UAPI
 * header lives in linux/heapload.h; in the source tree it is found
 * through -I include/uapi.
 */
#include "linux/heapload.h"

#ifdef __cplusplus
extern "C" {
#endif

/** HEAPLOAD_DEV_PATH - the loader's misc device */
#define HEAPLOAD_DEV_PATH		"/dev/heapload"
/** HEAPLOAD_HEAP_DIR - where dma-heaps appear, ours included */
#define HEAPLOAD_HEAP_DIR		"/dev/dma_heap"
/** HEAPLOAD_HEAP_PREFIX - name prefix of the heaps heapload provides */
#define HEAPLOAD_HEAP_PREFIX		"heapload,"
/** HEAPLOAD_DEFAULT_HEAP - the heap used when none is named */
#define HEAPLOAD_DEFAULT_HEAP		"heapload,system"
/** HEAPLOAD_MODULE_NAME - name of the kernel module */
#define HEAPLOAD_MODULE_NAME		"heapload"
/** HEAPLOAD_SYSFS_MODULE - sysfs directory of the loaded module */
#define HEAPLOAD_SYSFS_MODULE		"/sys/module/heapload"
/** HEAPLOAD_SYSFS_PARAMS - the module parameters, one file each */
#define HEAPLOAD_SYSFS_PARAMS		"/sys/module/heapload/parameters"
/** HEAPLOAD_SYSFS_STATS - the misc device's sysfs directory with the stats */
#define HEAPLOAD_SYSFS_STATS		"/sys/class/misc/heapload"

/**
 * struct heapload_result - outcome of heapload_load_file()
 * @size:	set by the caller to sizeof(struct heapload_result), for
 *		instance with %HEAPLOAD_RESULT_INIT; the library fills only
 *		the fields this size covers and never changes @size. A later
 *		library may add fields at the end.
 * @dmabuf_fd:	the new dma-buf fd (O_RDWR | O_CLOEXEC); the caller closes it.
 * @loaded:	bytes read from the file.
 * @buf_size:	size of the dma-buf in bytes: @loaded rounded up to the page
 *		size; the bytes from @loaded to @buf_size are zero.
 * @alloc_ns:	nanoseconds the kernel spent allocating pages.
 * @io_ns:	nanoseconds from the first read submitted to the last one
 *		completed.
 * @total_ns:	nanoseconds of the whole load as the kernel measured it; 0
 *		if the module reports no statistics (heapload 0.1), and then
 *		all statistics are 0.
 * @batches:	gather batches the buffer was read in.
 * @max_inflight: most batches that were allocated but not yet read at once.
 *
 * 56 bytes, no implicit padding. The statistics are those of the version 1
 * struct heapload_load.
 */
struct heapload_result {
	uint32_t size;
	int32_t dmabuf_fd;
	uint64_t loaded;
	uint64_t buf_size;
	uint64_t alloc_ns;
	uint64_t io_ns;
	uint64_t total_ns;
	uint32_t batches;
	uint32_t max_inflight;
};

/** HEAPLOAD_RESULT_SIZE_VER0 - size of the first struct heapload_result */
#define HEAPLOAD_RESULT_SIZE_VER0	56

/** HEAPLOAD_RESULT_INIT - initialiser of a struct heapload_result */
#define HEAPLOAD_RESULT_INIT	{ sizeof(struct heapload_result), -1, 0, 0, 0, 0, 0, 0, 0 }

/**
 * heapload_open() - open the loader device
 *
 * Opens %HEAPLOAD_DEV_PATH with O_RDWR | O_CLOEXEC.
 *
 * Return: the fd (close it with close()), or a negative errno of open(2):
 * -ENOENT when the module is not loaded (no device node), -EACCES or
 * -EPERM when the caller may not open it, -ENXIO or -ENODEV when the node
 * exists but no driver is behind it, -EMFILE/-ENFILE when out of fds.
 */
int heapload_open(void);

/**
 * heapload_load() - issue %HEAPLOAD_IOC_LOAD
 * @devfd:	fd returned by heapload_open().
 * @req:	the request, every field the caller's: @size is the size of
 *		struct heapload_load in the <linux/heapload.h> the caller was
 *		built with (sizeof(*req)); it is passed on untouched, and the
 *		ioctl is issued with that size in its number, so a program
 *		built against an older or newer header keeps working with
 *		this library. On success the kernel fills @dmabuf_fd,
 *		@loaded, @buf_size and the statistics its @size covers.
 *
 * Return: 0, or the negative errno documented for %HEAPLOAD_IOC_LOAD in
 * <linux/heapload.h> (-EFAULT, -EINVAL, -E2BIG, -ENODEV, -EBADF, -EISDIR,
 * -EOVERFLOW, -ENODATA, -ENOMEM, -EINTR, -EMFILE, -EIO or another read
 * error, -EPERM or -EACCES when a security module or a fanotify listener
 * denies the read); also -EINVAL, without an ioctl, if @req is NULL or
 * @req->size is smaller than %HEAPLOAD_LOAD_SIZE_VER0 or larger than an
 * ioctl number can carry (_IOC_SIZEMASK, 16383 on most architectures),
 * -EBADF if @devfd is not an open fd, and -ENOTTY if @devfd is not the
 * heapload device.
 */
int heapload_load(int devfd, struct heapload_load *req);

/**
 * heapload_load_file() - load a file range into a new heap buffer
 * @devfd:	fd returned by heapload_open().
 * @file_fd:	readable regular file.
 * @heap:	heap name as under %HEAPLOAD_HEAP_DIR, e.g.
 *		%HEAPLOAD_DEFAULT_HEAP; NULL means that default.
 * @offset:	file offset in bytes where loading starts; with direct I/O
 *		a multiple of the file's direct-I/O alignment (statx(2)
 *		STATX_DIOALIGN, usually 512; see heapload(4)).
 * @length:	bytes to load; 0 means up to the end of the file.
 * @flags:	%HEAPLOAD_LOAD_DIRECT, %HEAPLOAD_LOAD_BUFFERED, or 0 to follow
 *		the O_DIRECT flag of @file_fd.
 * @progress:	NULL, or a word the kernel sets to the bytes read so far
 *		while the load runs (at least once per gather batch), for
 *		another thread to show progress: read it with
 *		heapload_progress_get(). It must stay valid, and 8-byte
 *		aligned, until this call returns. Set to 0 here first.
 * @res:	receives the dma-buf fd, sizes and statistics; the caller
 *		sets @res->size first (%HEAPLOAD_RESULT_INIT). Untouched on
 *		failure.
 *
 * The dma-buf is created with O_RDWR | O_CLOEXEC. With a module that
 * knows no progress word (heapload 0.1 refuses it with -E2BIG) the load
 * is retried without one, so @progress then stays 0.
 *
 * Return: 0, -EINVAL if @res is NULL, @res->size is smaller than
 * %HEAPLOAD_RESULT_SIZE_VER0, @heap is empty or @progress is not 8-byte
 * aligned, -ENAMETOOLONG if @heap does not fit in
 * %HEAPLOAD_HEAP_NAME_MAX bytes with its NUL, or any error of
 * heapload_load().
 */
int heapload_load_file(int devfd, int file_fd, const char *heap,
		       uint64_t offset, uint64_t length, uint32_t flags,
		       uint64_t *progress, struct heapload_result *res);

/**
 * heapload_progress_get() - read a progress word during a load
 * @progress:	the word given to heapload_load_file().
 *
 * The kernel writes the word from another context; this reads it in one
 * piece.
 *
 * Return: the bytes read so far.
 */
static inline uint64_t heapload_progress_get(const uint64_t *progress)
{
	return __atomic_load_n(progress, __ATOMIC_RELAXED);
}

/**
 * heapload_heap_alloc() - allocate a buffer the classic dma-heap way
 * @heap_name:	heap name as under %HEAPLOAD_HEAP_DIR (no '/').
 * @len:	size in bytes; the heap rounds it up to whole pages.
 * @fd_flags:	flags of the returned fd: O_CLOEXEC and O_ACCMODE bits.
 *
 * Opens %HEAPLOAD_HEAP_DIR/@heap_name and issues DMA_HEAP_IOCTL_ALLOC.
 *
 * Return: the dma-buf fd, -EINVAL if @heap_name is NULL, empty, "." or
 * ".." or contains '/', or @len is 0, -ENAMETOOLONG if the path is too
 * long, an open(2) error for the heap node (-ENOENT: no such heap,
 * -EACCES, -EMFILE, ...), or an error of DMA_HEAP_IOCTL_ALLOC (-EINVAL for
 * bad @fd_flags, -ENOMEM, -ENOTTY if the node is not a dma-heap).
 */
int heapload_heap_alloc(const char *heap_name, uint64_t len, uint32_t fd_flags);

/**
 * heapload_dmabuf_sync() - bracket CPU access to a mapped dma-buf
 * @dmabuf_fd:	the dma-buf.
 * @flags:	DMA_BUF_SYNC_START or DMA_BUF_SYNC_END, ORed with
 *		DMA_BUF_SYNC_READ, DMA_BUF_SYNC_WRITE or DMA_BUF_SYNC_RW.
 *
 * Issues DMA_BUF_IOCTL_SYNC, retrying while it fails with EINTR or EAGAIN.
 *
 * Return: 0, -EINVAL for bad @flags, -EBADF for a bad fd, -ENOTTY if the
 * fd is not a dma-buf, or an error of the exporter's begin/end_cpu_access.
 */
int heapload_dmabuf_sync(int dmabuf_fd, uint64_t flags);

/**
 * heapload_dmabuf_map() - map a dma-buf
 * @dmabuf_fd:	the dma-buf; must be open for reading, and for writing too
 *		if @prot has PROT_WRITE.
 * @len:	bytes to map from offset 0; at most the dma-buf size.
 * @prot:	PROT_READ, optionally | PROT_WRITE.
 * @addr:	receives the address; unmap with heapload_dmabuf_unmap().
 *
 * The mapping is MAP_SHARED. Access must still be bracketed with
 * heapload_dmabuf_sync().
 *
 * Return: 0, -EINVAL if @addr is NULL, @len is 0 or larger than the
 * buffer, -EOVERFLOW if @len does not fit in size_t, -EACCES if the fd's
 * access mode does not allow @prot, -EPERM for a buffer no CPU may access
 * (heapload,restricted), -ENOMEM, or another error of mmap(2) or of the
 * exporter's mmap (-EINVAL from most).
 */
int heapload_dmabuf_map(int dmabuf_fd, uint64_t len, int prot, void **addr);

/**
 * heapload_dmabuf_unmap() - undo heapload_dmabuf_map()
 * @addr:	the address it returned.
 * @len:	the length given to it.
 *
 * Return: 0, or -EINVAL if @addr is not page aligned, @len is 0 or
 * does not fit in size_t (munmap(2); a range that is not mapped is no
 * error).
 */
int heapload_dmabuf_unmap(void *addr, uint64_t len);

#ifdef __cplusplus
}
#endif

#endif /* LIBHEAPLOAD_H */
