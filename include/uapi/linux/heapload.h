/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * heapload: load files into dma-buf heap buffers with direct I/O.
 *
 * User-space API of the /dev/heapload misc device. The heaps themselves
 * speak the upstream dma-heap UAPI (<linux/dma-heap.h>) under
 * /dev/dma_heap/<name>; this header only adds the loader.
 *
 * The load ioctl follows the design proposed on dri-devel in July 2024 as
 * the DMA_HEAP_ALLOC_AND_READ_FILE heap flag ("dma-buf: heaps: Introduce
 * DMA_HEAP_ALLOC_AND_READ_FILE heap flag"), with the fd installed only
 * once the buffer is complete: its review pointed out that an fd can be
 * reached by other threads as soon as it is installed.
 */
#ifndef _UAPI_LINUX_HEAPLOAD_H
#define _UAPI_LINUX_HEAPLOAD_H

#include <linux/ioctl.h>
#include <linux/types.h>

/** HEAPLOAD_HEAP_NAME_MAX - size of the heap name field, NUL included */
#define HEAPLOAD_HEAP_NAME_MAX		64

/** HEAPLOAD_LOAD_DIRECT - read with direct I/O even if @file_fd lacks O_DIRECT */
#define HEAPLOAD_LOAD_DIRECT		(1U << 0)
/** HEAPLOAD_LOAD_BUFFERED - read through the page cache even if @file_fd has O_DIRECT */
#define HEAPLOAD_LOAD_BUFFERED		(1U << 1)
/** HEAPLOAD_LOAD_VALID_FLAGS - every flag this version knows */
#define HEAPLOAD_LOAD_VALID_FLAGS	(HEAPLOAD_LOAD_DIRECT | HEAPLOAD_LOAD_BUFFERED)

/**
 * struct heapload_load - argument of %HEAPLOAD_IOC_LOAD
 * @size:	in: sizeof(struct heapload_load) as the caller knows it; must
 *		equal the size encoded in the ioctl number.
 * @flags:	in: %HEAPLOAD_LOAD_DIRECT or %HEAPLOAD_LOAD_BUFFERED (not both),
 *		or 0 to follow the O_DIRECT flag of @file_fd.
 * @file_fd:	in: a readable regular file.
 * @fd_flags:	in: flags of the returned dma-buf fd: O_CLOEXEC and the
 *		O_ACCMODE bits (O_RDONLY, O_WRONLY, O_RDWR), as for
 *		DMA_HEAP_IOCTL_ALLOC.
 * @offset:	in: file offset in bytes where loading starts. Must not be
 *		past the end of the file. With direct I/O it must be a multiple
 *		of the file's direct-I/O alignment: the dio_offset_align that
 *		statx() reports for it with STATX_DIOALIGN, or, where its file
 *		system reports none, the logical block size of its device
 *		(512 on most disks, 4096 on 4Kn disks), or the page size
 *		where it has no block device.
 * @length:	in: bytes to load; 0 means from @offset to the end of the
 *		file. @offset + @length must not pass the end of the file.
 * @heap:	in: NUL-terminated heap name, as under /dev/dma_heap, e.g.
 *		"heapload,system".
 * @dmabuf_fd:	out: the new dma-buf fd, installed only on success.
 * @__pad:	must be zero.
 * @loaded:	out: bytes read from the file (equals the resolved length).
 * @buf_size:	out: size of the dma-buf in bytes: @loaded rounded up to
 *		the kernel's page size (sysconf(_SC_PAGESIZE): 4 KiB on
 *		x86-64, 16 or 64 KiB on some arm64 kernels). Bytes from
 *		@loaded to @buf_size are zero.
 * @reserved:	must be zero.
 * @progress_addr: in (version 1): user address of a naturally aligned
 *		__u64 that the kernel sets to the number of bytes read so far
 *		(from the caller's thread: each time it starts allocating a
 *		batch, and while it waits for reads after each completed
 *		batch and at least every 100 ms), so another thread can show
 *		progress; 0 for none. Must be 8-byte aligned.
 * @alloc_ns:	out (version 1): nanoseconds the caller's thread spent
 *		allocating pages.
 * @io_ns:	out (version 1): nanoseconds from the first read submitted to
 *		the last read completed.
 * @total_ns:	out (version 1): nanoseconds of the whole load, from the
 *		ioctl's start to just before the fd is installed.
 * @batches:	out (version 1): gather batches the buffer was read in.
 * @max_inflight: out (version 1): most batches allocated but not yet
 *		completely read at one time; memory waiting for I/O never
 *		exceeded this times the batch size.
 *
 * Version 0 is 128 bytes (%HEAPLOAD_LOAD_SIZE_VER0), version 1 adds
 * progress and statistics (168 bytes, %HEAPLOAD_LOAD_SIZE_VER1). Later
 * versions may only grow the struct at its end. The kernel accepts an
 * older (smaller) struct down to version 0, treating the missing fields as
 * zero and writing back only the bytes the caller passed, and a newer
 * (larger) one as long as every byte it does not know is zero.
 */
struct heapload_load {
	__u32 size;
	__u32 flags;
	__s32 file_fd;
	__u32 fd_flags;
	__u64 offset;
	__u64 length;
	char heap[HEAPLOAD_HEAP_NAME_MAX];
	__s32 dmabuf_fd;
	__u32 __pad;
	__u64 loaded;
	__u64 buf_size;
	__u64 reserved[1];
	/* version 1 */
	__u64 progress_addr;
	__u64 alloc_ns;
	__u64 io_ns;
	__u64 total_ns;
	__u32 batches;
	__u32 max_inflight;
};

/** HEAPLOAD_LOAD_SIZE_VER0 - size of the first version of struct heapload_load */
#define HEAPLOAD_LOAD_SIZE_VER0		128
/** HEAPLOAD_LOAD_SIZE_VER1 - size of version 1, with progress and statistics */
#define HEAPLOAD_LOAD_SIZE_VER1		168

/** HEAPLOAD_IOC_MAGIC - ioctl type of /dev/heapload ('H' is dma-heap's) */
#define HEAPLOAD_IOC_MAGIC		0xB6

/**
 * HEAPLOAD_IOC_LOAD - allocate a heap buffer and fill it from a file
 *
 * Takes a struct heapload_load (its @size and the size in the ioctl number
 * must agree). Allocates the range's length, rounded up to whole pages,
 * from the named heap and reads the file range into it with parallel
 * gathered I/O: each time the allocator has gathered one batch of pages
 * (the gather_batch_mb module parameter, 128 MiB by default) the batch is
 * queued for reading while the next one is allocated, with up to
 * max_inflight_batches batches and io_size_kb sized requests in flight, so
 * the load takes about max(allocation, I/O) instead of their sum. Direct
 * I/O reads bypass the page cache; pages the file overwrites are not
 * zeroed first, the rest of the last page is.
 *
 * The result is exported as a dma-buf. Its fd is reserved first and
 * installed only after the buffer is complete and the result was copied
 * back, so no thread can see a partly filled (or not yet zeroed) buffer.
 * A fatal signal stops the load: reads in flight are waited for, then
 * everything is freed. The file position of the file is neither used nor
 * changed (pread semantics). The idea follows the DMA_HEAP_ALLOC_AND_READ_FILE
 * heap flag proposed on dri-devel (2024) and its asynchronous gathered reads.
 *
 * Into the restricted heap ("heapload,restricted") a load always uses direct
 * I/O, so no copy of the data stays in the page cache: the buffer is filled
 * while only the kernel knows it, then restricted (no CPU access from then
 * on), then its fd is installed. A load that fails leaves nothing restricted
 * behind: its memory is scrubbed and returned to the heap's pool.
 *
 * Return: 0 on success, or -1 with errno set to:
 * * %EFAULT - the argument, or the progress word, is not accessible.
 * * %EINVAL - size field does not match the ioctl size or is smaller than
 *   %HEAPLOAD_LOAD_SIZE_VER0; unknown or conflicting flags; fd_flags
 *   outside O_CLOEXEC | O_ACCMODE; heap name not NUL-terminated; non-zero
 *   padding or reserved field; progress_addr not 8-byte aligned; offset
 *   past the end of the file, or offset + length past it; the file is not
 *   a regular file (pipe, socket, device); direct I/O asked for (or
 *   implied by the restricted heap) but the file does not support it, or
 *   offset not a multiple of the file's direct-I/O alignment (see @offset),
 *   or, with an alignment larger than the page size, length rounded up to
 *   it larger than length rounded up to the page size;
 *   %HEAPLOAD_LOAD_BUFFERED with the restricted heap.
 * * %EPERM, %EACCES - a security module or a fanotify listener denied
 *   reading the file, as it would read(2).
 * * %E2BIG - a newer struct with non-zero bytes this kernel does not know.
 * * %ENODEV - no heap of that name.
 * * %EBADF - file_fd is not an open fd, or not open for reading.
 * * %EISDIR - file_fd is a directory.
 * * %EOVERFLOW - offset + length overflows, or passes the largest file
 *   offset (2^63 - 1).
 * * %ENODATA - the range is empty (empty file, or offset at the end of the
 *   file with length 0), or a read came back short: the file shrank
 *   during the load.
 * * %ENOMEM - the buffer is larger than the module's max_alloc_mb limit or
 *   than the memory available (less what allocations and loads in progress
 *   have reserved), or the allocator ran out during the load
 *   (for the restricted heap: its pool reached restricted_pool_mb or has
 *   no contiguous run for the next chunk), or the caller's memory cgroup
 *   reached its memory.max (heapload,system with mem_accounting); never
 *   triggers the OOM killer.
 * * %EINTR - a fatal signal arrived during the load.
 * * %EMFILE - no free fd for the dma-buf.
 * * %EIO, or any other error of the file's read_iter - a read failed.
 */
#define HEAPLOAD_IOC_LOAD	_IOWR(HEAPLOAD_IOC_MAGIC, 0x00, struct heapload_load)

/*
 * The same ioctl with the first version's 128-byte struct, as programs
 * built against heapload 0.1.0 issue it. Still accepted.
 */
#define HEAPLOAD_IOC_LOAD_VER0	_IOC(_IOC_READ | _IOC_WRITE, HEAPLOAD_IOC_MAGIC, 0x00, \
				     HEAPLOAD_LOAD_SIZE_VER0)

#endif /* _UAPI_LINUX_HEAPLOAD_H */
