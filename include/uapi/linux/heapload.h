/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * heapload: load files into dma-buf heap buffers with direct I/O.
 *
 * User-space API of the /dev/heapload misc device. The heaps themselves
 * speak the upstream dma-heap UAPI (<linux/dma-heap.h>) under
 * /dev/dma_heap/<name>; this header only adds the loader.
 *
 * The load ioctl follows the design discussed on dri-devel for
 * DMA_HEAP_IOCTL_ALLOC_AND_READ (2024, "dma-buf: heaps: Support reading
 * a file into a dmabuf"), with the fd installed only once the buffer is
 * complete, as the reviewers of that series asked.
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
 *		equal the size encoded in the ioctl number. The first version
 *		is 128 bytes (%HEAPLOAD_LOAD_SIZE_VER0).
 * @flags:	in: %HEAPLOAD_LOAD_DIRECT or %HEAPLOAD_LOAD_BUFFERED (not both),
 *		or 0 to follow the O_DIRECT flag of @file_fd.
 * @file_fd:	in: a readable regular file.
 * @fd_flags:	in: flags of the returned dma-buf fd: O_CLOEXEC and the
 *		O_ACCMODE bits (O_RDONLY, O_WRONLY, O_RDWR), as for
 *		DMA_HEAP_IOCTL_ALLOC.
 * @offset:	in: file offset in bytes where loading starts. Must not be
 *		past the end of the file. With direct I/O it must be a multiple
 *		of 4096.
 * @length:	in: bytes to load; 0 means from @offset to the end of the
 *		file. @offset + @length must not pass the end of the file.
 * @heap:	in: NUL-terminated heap name, as under /dev/dma_heap, e.g.
 *		"heapload,system".
 * @dmabuf_fd:	out: the new dma-buf fd, installed only on success.
 * @__pad:	must be zero.
 * @loaded:	out: bytes read from the file (equals the resolved length).
 * @buf_size:	out: size of the dma-buf in bytes: @loaded rounded up to
 *		the page size. Bytes from @loaded to @buf_size are zero.
 * @reserved:	must be zero; room for later versions.
 *
 * Later versions may only grow the struct at its end. The kernel accepts
 * an older (smaller) struct, treating the missing fields as zero, and a
 * newer (larger) one as long as every byte it does not know is zero.
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
};

/** HEAPLOAD_LOAD_SIZE_VER0 - size of the first version of struct heapload_load */
#define HEAPLOAD_LOAD_SIZE_VER0		128

/** HEAPLOAD_IOC_MAGIC - ioctl type of /dev/heapload ('H' is dma-heap's) */
#define HEAPLOAD_IOC_MAGIC		0xB6

/**
 * HEAPLOAD_IOC_LOAD - allocate a heap buffer and fill it from a file
 *
 * Takes a struct heapload_load. Allocates &heapload_load.length bytes (rounded up to
 * whole pages) from the heap named &heapload_load.heap, reads the file range into it,
 * zeroes the rest of the last page, exports it as a dma-buf and returns
 * its fd in &heapload_load.dmabuf_fd. The fd is reserved first and installed only after
 * the buffer is complete and the result was copied back, so no thread can
 * see a partly filled buffer. A fatal signal stops the load and frees
 * everything. The file position of &heapload_load.file_fd is neither used nor changed
 * (pread semantics).
 *
 * Return: 0 on success, or -1 with errno set to:
 * * %EFAULT - the argument is not readable or writable.
 * * %EINVAL - &heapload_load.size does not match the ioctl size or is smaller than
 *   %HEAPLOAD_LOAD_SIZE_VER0; unknown or conflicting &heapload_load.flags; &heapload_load.fd_flags
 *   outside O_CLOEXEC | O_ACCMODE; &heapload_load.heap not NUL-terminated; &heapload_load.offset past
 *   the end of the file, or &heapload_load.offset + &heapload_load.length past it; &heapload_load.file_fd is not a
 *   regular file (pipe, socket, device); direct I/O asked for but the file
 *   does not support it, or &heapload_load.offset not a multiple of 4096 with direct I/O.
 * * %E2BIG - a newer struct with non-zero bytes this kernel does not know.
 * * %ENODEV - no heap named &heapload_load.heap.
 * * %EBADF - &heapload_load.file_fd is not an open fd, or not open for reading.
 * * %EISDIR - &heapload_load.file_fd is a directory.
 * * %EOVERFLOW - &heapload_load.offset + &heapload_load.length overflows.
 * * %ENODATA - the range is empty (empty file, or &heapload_load.offset at the end of
 *   the file with &heapload_load.length 0), or the file shrank during the load.
 * * %ENOMEM - the buffer is larger than the module's max_alloc_mb limit
 *   or than the memory available; never triggers the OOM killer.
 * * %EINTR - a fatal signal arrived during the load.
 * * %EMFILE - no free fd for the dma-buf.
 * * %EIO, or any other error of the file's read_iter - the read failed.
 */
#define HEAPLOAD_IOC_LOAD	_IOWR(HEAPLOAD_IOC_MAGIC, 0x00, struct heapload_load)

#endif /* _UAPI_LINUX_HEAPLOAD_H */
