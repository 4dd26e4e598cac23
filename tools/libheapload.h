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
 * struct heapload_result - outcome of a load
 * @size:	set by the caller to sizeof(struct heapload_result), for
 *		instance with %HEAPLOAD_RESULT_INIT; the library fills only
 *		the fields this size covers and never changes @size. A later
 *		library may add fields at the end.
 * @dmabuf_fd:	the new dma-buf fd (O_RDWR | O_CLOEXEC); the caller closes it.
 *		-1 for a load into an existing buffer (%HEAPLOAD_LOAD_INTO).
 * @loaded:	bytes read from the file (all segments together).
 * @buf_size:	size of the dma-buf in bytes: for a new buffer, the end of
 *		its last segment rounded up to the page size; the bytes no
 *		segment covers are zero.
 * @alloc_ns:	nanoseconds the kernel spent allocating pages.
 * @io_ns:	nanoseconds from the first read submitted to the last one
 *		completed.
 * @total_ns:	nanoseconds of the whole load as the kernel measured it; 0
 *		if the module reports no statistics (heapload 0.1), and then
 *		all statistics are 0.
 * @batches:	gather batches the buffer was read in.
 * @max_inflight: most batches that were allocated but not yet read at once.
 * @uapi_version: (since %HEAPLOAD_RESULT_SIZE_VER1) 2 when the module
 *		answered with the version 2 fields below, 3 when also with
 *		@alloc_threads_max, else 0 (then
 *		@error_segment and @placed_node are -1 and @digest is zero).
 * @error_segment: (since %HEAPLOAD_RESULT_SIZE_VER1) after a failed load,
 *		the index of the segment the error is about, or -1 when it is
 *		not about one segment or the module did not say; -1 after a
 *		successful one.
 * @placed_node: (since %HEAPLOAD_RESULT_SIZE_VER1) the NUMA node every
 *		page of the buffer came from, or -1 when they came from
 *		several nodes or the module did not say.
 * @digest_alg:	(since %HEAPLOAD_RESULT_SIZE_VER1) the algorithm of @digest,
 *		%HEAPLOAD_DIGEST_NONE if none was asked for.
 * @digest:	(since %HEAPLOAD_RESULT_SIZE_VER1) the digest of the loaded
 *		bytes as the kernel computed it, in the form of @digest_alg
 *		(heapload_digest_format() prints it), zero-padded to
 *		%HEAPLOAD_DIGEST_SIZE bytes; also after a verification failed
 *		(-EBADMSG).
 * @alloc_threads: (since %HEAPLOAD_RESULT_SIZE_VER2) how many threads
 *		allocated the buffer's pages, the caller's included (1: the
 *		caller's alone); 0 for a load into an existing buffer, or when
 *		the module did not say (before heapload 0.6.0).
 * @alloc_threads_max: (since %HEAPLOAD_RESULT_SIZE_VER2) how many threads
 *		the load could allocate on (the alloc_threads module
 *		parameter, capped by the load's batches and
 *		max_inflight_batches); 0 where @alloc_threads is.
 *		@uapi_version is 3 when it is set.
 *
 * 112 bytes, no implicit padding. The statistics are those of struct
 * heapload_load. Programs built against the first, 56-byte struct
 * (%HEAPLOAD_RESULT_SIZE_VER0) or the 104-byte one
 * (%HEAPLOAD_RESULT_SIZE_VER1) keep working: they get that many bytes.
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
	/* since HEAPLOAD_RESULT_SIZE_VER1 */
	uint32_t uapi_version;
	int32_t error_segment;
	int32_t placed_node;
	uint32_t digest_alg;
	uint8_t digest[HEAPLOAD_DIGEST_SIZE];
	/* since HEAPLOAD_RESULT_SIZE_VER2 */
	uint32_t alloc_threads;
	uint32_t alloc_threads_max;
};

/** HEAPLOAD_RESULT_SIZE_VER0 - size of the first struct heapload_result */
#define HEAPLOAD_RESULT_SIZE_VER0	56
/** HEAPLOAD_RESULT_SIZE_VER1 - with digests, NUMA placement, error segment */
#define HEAPLOAD_RESULT_SIZE_VER1	104
/** HEAPLOAD_RESULT_SIZE_VER2 - with the allocating threads */
#define HEAPLOAD_RESULT_SIZE_VER2	112

/** HEAPLOAD_RESULT_INIT - initialiser of a struct heapload_result */
#define HEAPLOAD_RESULT_INIT	{ sizeof(struct heapload_result), -1, 0, 0, 0, 0, 0, 0, 0, \
				  0, -1, -1, 0, { 0 }, 0, 0 }

/**
 * struct heapload_load_opts - what a version 2 load does besides reading
 * @size:	set by the caller to sizeof(struct heapload_load_opts), for
 *		instance with %HEAPLOAD_LOAD_OPTS_INIT. The library reads only
 *		the bytes this size covers (the rest count as zero) and
 *		refuses a larger struct whose bytes it does not know are not
 *		zero (-E2BIG), as the kernel does.
 * @flags:	%HEAPLOAD_LOAD_DIRECT or %HEAPLOAD_LOAD_BUFFERED (or 0 to
 *		follow the O_DIRECT flag of each segment's file), ORed with
 *		%HEAPLOAD_LOAD_INTO, %HEAPLOAD_LOAD_NUMA_NODE and
 *		%HEAPLOAD_LOAD_VERIFY. %HEAPLOAD_LOAD_ASYNC is the business
 *		of heapload_load_start().
 * @target_fd:	with %HEAPLOAD_LOAD_INTO, the heapload dma-buf to fill (open
 *		for writing); ignored without it.
 * @numa_node:	with %HEAPLOAD_LOAD_NUMA_NODE, the node the pages must come
 *		from; ignored without it.
 * @digest_alg:	%HEAPLOAD_DIGEST_NONE, %HEAPLOAD_DIGEST_SHA256 or
 *		%HEAPLOAD_DIGEST_XXH64: the digest the kernel computes over
 *		the loaded bytes, in segment order.
 * @reserved:	must be zero.
 * @expected_digest: with %HEAPLOAD_LOAD_VERIFY, the digest the loaded bytes
 *		must have, in the form of @digest_alg, zero-padded
 *		(heapload_digest_parse() writes it from hex); ignored without.
 *
 * 56 bytes, no implicit padding.
 */
struct heapload_load_opts {
	uint32_t size;
	uint32_t flags;
	int32_t target_fd;
	int32_t numa_node;
	uint32_t digest_alg;
	uint32_t reserved;
	uint8_t expected_digest[HEAPLOAD_DIGEST_SIZE];
};

/** HEAPLOAD_LOAD_OPTS_SIZE_VER0 - size of the first struct heapload_load_opts */
#define HEAPLOAD_LOAD_OPTS_SIZE_VER0	56

/** HEAPLOAD_LOAD_OPTS_INIT - initialiser of a struct heapload_load_opts: no options */
#define HEAPLOAD_LOAD_OPTS_INIT	{ sizeof(struct heapload_load_opts), 0, -1, 0, 0, 0, { 0 } }

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
 * @res:	receives the dma-buf fd, sizes and statistics (and with a
 *		%HEAPLOAD_RESULT_SIZE_VER1 struct @placed_node); the caller
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
 * heapload_load_segments() - load file ranges into one heap buffer
 * @devfd:	fd returned by heapload_open().
 * @heap:	heap name as under %HEAPLOAD_HEAP_DIR; NULL means
 *		%HEAPLOAD_DEFAULT_HEAP. Must be NULL with %HEAPLOAD_LOAD_INTO.
 * @segs:	the file ranges and where each lands in the buffer (struct
 *		heapload_segment of <linux/heapload.h>: @file_fd, @flags 0,
 *		@file_offset, @length (0: to the end of the file),
 *		@buf_offset); with direct I/O offsets are multiples of the
 *		file's direct-I/O alignment. They may not overlap.
 * @nr_segs:	1 to %HEAPLOAD_MAX_SEGMENTS.
 * @opts:	NULL for none, or digests, verification, NUMA node, target
 *		buffer and I/O mode (struct heapload_load_opts).
 * @progress:	NULL, or a word the kernel sets to the bytes read so far,
 *		as for heapload_load_file().
 * @res:	receives the outcome; the caller sets @res->size first
 *		(%HEAPLOAD_RESULT_INIT). On success all of it; on a failure
 *		reported by the module, @dmabuf_fd -1 and the fields of
 *		version 1 of the struct: @error_segment, and @digest (the
 *		computed one after -EBADMSG); untouched on -EINVAL, -E2BIG or
 *		-ENAMETOOLONG from the library itself.
 *
 * A single segment at buffer offset 0 is sent as the single range of the
 * request, so that a module before version 2 loads it as long as no other
 * version 2 option is used; several segments are sent as the segment
 * array. New buffers are O_RDWR | O_CLOEXEC.
 *
 * Return: 0, -EINVAL if @res is NULL or @res->size smaller than
 * %HEAPLOAD_RESULT_SIZE_VER0, @segs is NULL or @nr_segs is 0, @opts->size
 * smaller than %HEAPLOAD_LOAD_OPTS_SIZE_VER0, @opts->flags has
 * %HEAPLOAD_LOAD_ASYNC or a bit <linux/heapload.h> does not define,
 * @opts->reserved is not zero, @heap is empty or given with
 * %HEAPLOAD_LOAD_INTO, or @progress is not 8-byte aligned; -E2BIG if
 * @nr_segs is above %HEAPLOAD_MAX_SEGMENTS or @opts is larger than this
 * library knows and not zero there; -ENAMETOOLONG if @heap does not fit
 * in %HEAPLOAD_HEAP_NAME_MAX bytes with its NUL; or any error of
 * heapload_load(): among them -EBADMSG (verification failed),
 * -EXDEV, -ENOSPC and -EBUSY (the target), -EOPNOTSUPP (a heap that
 * cannot place its pages, a digest the kernel lacks), and -E2BIG from a
 * module before version 2 when a version 2 option is used.
 */
int heapload_load_segments(int devfd, const char *heap,
			   const struct heapload_segment *segs, uint32_t nr_segs,
			   const struct heapload_load_opts *opts,
			   uint64_t *progress, struct heapload_result *res);

/**
 * heapload_load_start() - start a load without waiting for it
 * @devfd:	fd returned by heapload_open().
 * @heap:	as for heapload_load_segments().
 * @segs:	as for heapload_load_segments().
 * @nr_segs:	as for heapload_load_segments().
 * @opts:	as for heapload_load_segments(); %HEAPLOAD_LOAD_ASYNC is added.
 *
 * Issues %HEAPLOAD_IOC_LOAD with %HEAPLOAD_LOAD_ASYNC: the kernel checks
 * the request and loads on a worker. The returned load fd (O_CLOEXEC) is
 * pollable (POLLIN once the load has ended, see heapload_load_wait());
 * heapload_load_result() fetches the progress and the outcome. Closing it
 * with close(2) before the end cancels the load and frees what it had
 * allocated.
 *
 * Return: the load fd, or the errors of heapload_load_segments() but the
 * ones of @progress and @res (the load's own errors come from
 * heapload_load_result()); -E2BIG from a module before version 2.
 */
int heapload_load_start(int devfd, const char *heap,
			const struct heapload_segment *segs, uint32_t nr_segs,
			const struct heapload_load_opts *opts);

/**
 * heapload_load_result() - progress or outcome of a started load
 * @load_fd:	fd returned by heapload_load_start().
 * @res:	the caller sets @res->size first (%HEAPLOAD_RESULT_INIT).
 *		While the load runs, @loaded is the bytes read so far and the
 *		statistics those so far; once it ended, as after
 *		heapload_load_segments(): the first successful call installs
 *		the dma-buf fd in @dmabuf_fd (-1 with %HEAPLOAD_LOAD_INTO).
 *		Untouched when the module wrote nothing back (-EALREADY,
 *		-EINVAL, -ENOTTY, -EBADF).
 *
 * Issues %HEAPLOAD_IOC_LOAD_RESULT.
 *
 * Return: 0 when the load succeeded, -EAGAIN while it runs, -EALREADY if
 * an earlier call already installed the dma-buf fd, -EINVAL if @res is
 * NULL or @res->size is smaller than %HEAPLOAD_RESULT_SIZE_VER0, -ENOTTY
 * if @load_fd is not a load fd, -EBADF if it is not an open fd, -EMFILE
 * (no fd for the dma-buf; call again), or the error the load failed with
 * (any of heapload_load_segments()).
 */
int heapload_load_result(int load_fd, struct heapload_result *res);

/**
 * heapload_load_wait() - wait for a started load to end
 * @load_fd:	fd returned by heapload_load_start().
 * @timeout_ms:	most milliseconds to wait; -1 for no limit, 0 to only look.
 *
 * Polls @load_fd for POLLIN, retrying when a signal interrupts the wait
 * (the timeout then starts again). Fetch the outcome afterwards with
 * heapload_load_result().
 *
 * Return: 0 once the load has ended, -ETIMEDOUT if it still runs after
 * @timeout_ms, -EBADF if @load_fd is not an open fd, -EINVAL for a fd
 * poll(2) refuses, -ENOMEM.
 */
int heapload_load_wait(int load_fd, int timeout_ms);

/**
 * heapload_digest_size() - bytes of a digest
 * @alg:	%HEAPLOAD_DIGEST_NONE, %HEAPLOAD_DIGEST_SHA256 or
 *		%HEAPLOAD_DIGEST_XXH64.
 *
 * Return: 0 for none, 32 for SHA-256, 8 for XXH64; -EINVAL for an
 * unknown @alg.
 */
int heapload_digest_size(uint32_t alg);

/**
 * heapload_digest_name() - name of a digest algorithm
 * @alg:	a %HEAPLOAD_DIGEST_* value.
 *
 * Return: "none", "sha256" or "xxh64"; NULL for an unknown @alg.
 */
const char *heapload_digest_name(uint32_t alg);

/**
 * heapload_digest_parse() - a digest from its hex form
 * @alg:	%HEAPLOAD_DIGEST_SHA256 or %HEAPLOAD_DIGEST_XXH64.
 * @hex:	exactly 2 * heapload_digest_size(@alg) hex digits, either
 *		case, as sha256sum and xxhsum -H1 print them; nothing else.
 * @digest:	receives the digest, zero-padded to %HEAPLOAD_DIGEST_SIZE
 *		bytes: what &struct heapload_load_opts.expected_digest wants.
 *		Untouched on failure.
 *
 * Return: 0, or -EINVAL if @alg is not one of those two, @hex or @digest
 * is NULL, or @hex has another length or a character that is not a hex
 * digit.
 */
int heapload_digest_parse(uint32_t alg, const char *hex,
			  uint8_t digest[HEAPLOAD_DIGEST_SIZE]);

/**
 * heapload_digest_format() - the hex form of a digest
 * @alg:	%HEAPLOAD_DIGEST_SHA256 or %HEAPLOAD_DIGEST_XXH64.
 * @digest:	the digest, e.g. &struct heapload_result.digest.
 * @buf:	receives 2 * heapload_digest_size(@alg) lower-case hex digits
 *		and a NUL, as sha256sum and xxhsum -H1 print them.
 * @size:	size of @buf: 65 bytes hold any digest.
 *
 * Return: the number of digits, -EINVAL if @alg is not one of those two
 * or @digest or @buf is NULL, -ENOSPC if @size is too small (then @buf is
 * untouched).
 */
int heapload_digest_format(uint32_t alg, const uint8_t digest[HEAPLOAD_DIGEST_SIZE],
			   char *buf, size_t size);

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
