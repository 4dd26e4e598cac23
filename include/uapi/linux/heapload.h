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
/**
 * HEAPLOAD_LOAD_INTO - (version 2) fill the existing heapload dma-buf
 * @target_fd instead of allocating a new buffer
 */
#define HEAPLOAD_LOAD_INTO		(1U << 2)
/** HEAPLOAD_LOAD_NUMA_NODE - (version 2) allocate on node @numa_node only */
#define HEAPLOAD_LOAD_NUMA_NODE		(1U << 3)
/**
 * HEAPLOAD_LOAD_VERIFY - (version 2) fail with EBADMSG, installing nothing,
 * unless the digest of the loaded bytes equals @expected_digest
 */
#define HEAPLOAD_LOAD_VERIFY		(1U << 4)
/**
 * HEAPLOAD_LOAD_ASYNC - (version 2) return at once with a load fd in
 * @load_fd; see %HEAPLOAD_IOC_LOAD_RESULT
 */
#define HEAPLOAD_LOAD_ASYNC		(1U << 5)
/** HEAPLOAD_LOAD_VALID_FLAGS - every flag this version knows */
#define HEAPLOAD_LOAD_VALID_FLAGS	(HEAPLOAD_LOAD_DIRECT | HEAPLOAD_LOAD_BUFFERED | \
					 HEAPLOAD_LOAD_INTO | HEAPLOAD_LOAD_NUMA_NODE | \
					 HEAPLOAD_LOAD_VERIFY | HEAPLOAD_LOAD_ASYNC)

/** HEAPLOAD_DIGEST_NONE - compute no digest */
#define HEAPLOAD_DIGEST_NONE		0
/**
 * HEAPLOAD_DIGEST_SHA256 - SHA-256 (FIPS 180-4), 32 bytes, as sha256sum
 * prints them
 */
#define HEAPLOAD_DIGEST_SHA256		1
/**
 * HEAPLOAD_DIGEST_XXH64 - XXH64 with seed 0, a fast non-cryptographic hash:
 * 8 bytes, most significant first (xxhsum's canonical form, as
 * "xxhsum -H1" prints it); the other 24 bytes of the digest fields are 0
 */
#define HEAPLOAD_DIGEST_XXH64		2
/** HEAPLOAD_DIGEST_SIZE - size of the digest fields */
#define HEAPLOAD_DIGEST_SIZE		32

/** HEAPLOAD_MAX_SEGMENTS - most segments one load takes */
#define HEAPLOAD_MAX_SEGMENTS		4096

/**
 * struct heapload_segment - one file range of a load (version 2)
 * @file_fd:	a readable regular file
 * @flags:	must be zero
 * @file_offset: file offset in bytes where the range starts; with direct
 *		I/O a multiple of the file's direct-I/O alignment (see
 *		&struct heapload_load.offset)
 * @length:	bytes; 0 means from @file_offset to the end of the file.
 *		@file_offset + @length must not pass the end of the file.
 * @buf_offset:	where in the buffer the range lands, in bytes; with direct
 *		I/O a multiple of the file's direct-I/O alignment.
 *
 * 32 bytes (%HEAPLOAD_SEGMENT_SIZE_VER0). Segments of a load may name
 * different files, or the same file several times, in any order, but must
 * not overlap in the buffer; with direct I/O a segment occupies its
 * length rounded up to the file's direct-I/O alignment (the last block is
 * read whole; the bytes past @length are zeroed afterwards).
 */
struct heapload_segment {
	__s32 file_fd;
	__u32 flags;
	__u64 file_offset;
	__u64 length;
	__u64 buf_offset;
};

/** HEAPLOAD_SEGMENT_SIZE_VER0 - size of the first version of struct heapload_segment */
#define HEAPLOAD_SEGMENT_SIZE_VER0	32

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
 *		@loaded to @buf_size are zero. (Version 2) with segments, the
 *		end of the last segment in the buffer rounded up so; with
 *		%HEAPLOAD_LOAD_INTO, the size of the target.
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
 * @segments:	in (version 2): user address of an array of @nr_segments
 *		struct heapload_segment, each @segment_size bytes; 0 with
 *		@nr_segments 0 for the one range @file_fd, @offset, @length
 *		at buffer offset 0. With segments, @file_fd, @offset and
 *		@length must be 0.
 * @nr_segments: in (version 2): 0, or 1 to %HEAPLOAD_MAX_SEGMENTS.
 * @segment_size: in (version 2): sizeof(struct heapload_segment) as the
 *		caller knows it, at least %HEAPLOAD_SEGMENT_SIZE_VER0, with
 *		the same rules for a newer (larger) struct as this one; 0
 *		without segments.
 * @target_fd:	in (version 2): with %HEAPLOAD_LOAD_INTO, a dma-buf that a
 *		heapload heap exported, to fill instead of allocating one;
 *		must be 0 without it.
 * @numa_node:	in (version 2): with %HEAPLOAD_LOAD_NUMA_NODE, the NUMA
 *		node the buffer's pages must come from (no fallback to other
 *		nodes); must be 0 without it. Without it the kernel's usual
 *		policy for the calling thread applies (its mempolicy, else
 *		its local node with fallback).
 * @digest_alg:	in (version 2): %HEAPLOAD_DIGEST_NONE, %HEAPLOAD_DIGEST_SHA256
 *		or %HEAPLOAD_DIGEST_XXH64: the digest to compute over the
 *		loaded bytes, the segments' file ranges concatenated in the
 *		order of the segment array (what sha256sum of the files, or
 *		of the ranges, in that order, prints). Computed while the
 *		batches are read.
 * @load_fd:	out (version 2): the load fd (O_CLOEXEC) when
 *		%HEAPLOAD_IOC_LOAD started an asynchronous load; -1 in every
 *		other struct the kernel writes back (errors, synchronous
 *		loads, %HEAPLOAD_IOC_LOAD_RESULT).
 * @error_segment: out (version 2): index in the segment array of the
 *		segment an error is about (0 for the single range), or -1
 *		when the error is not about one segment.
 * @placed_node: out (version 2): the NUMA node every page of the buffer
 *		came from, or -1 when they came from several.
 * @expected_digest: in (version 2): with %HEAPLOAD_LOAD_VERIFY, the digest
 *		the loaded bytes must have, in the form of @digest_alg (the
 *		bytes past that form must be 0); must be all zero without it.
 * @digest:	out (version 2): the computed digest, also when the
 *		verification failed (%EBADMSG); zero without @digest_alg.
 * @alloc_threads: out (version 3): threads that allocated the buffer's
 *		pages, the caller's included: 1 when the caller's thread
 *		alone did; more when helpers allocated some of the gather
 *		batches (the alloc_threads module parameter, heapload 0.6.0).
 *		0 with %HEAPLOAD_LOAD_INTO (nothing is allocated) and when the
 *		load failed before allocating.
 * @alloc_threads_max: out (version 3): threads the load could allocate
 *		on: what alloc_threads allowed for it, capped by its gather
 *		batches and max_inflight_batches; at least 1 once a new
 *		buffer is allocated, 0 where @alloc_threads is. A kernel
 *		older than version 3 leaves both 0.
 *
 * Version 0 is 128 bytes (%HEAPLOAD_LOAD_SIZE_VER0), version 1 adds
 * progress and statistics (168 bytes, %HEAPLOAD_LOAD_SIZE_VER1), version 2
 * segments, loads into existing buffers, NUMA placement, digests and
 * asynchronous loads (272 bytes, %HEAPLOAD_LOAD_SIZE_VER2), version 3
 * the allocating threads (280 bytes, %HEAPLOAD_LOAD_SIZE_VER3). Later
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
	/* version 2 */
	__u64 segments;
	__u32 nr_segments;
	__u32 segment_size;
	__s32 target_fd;
	__s32 numa_node;
	__u32 digest_alg;
	__s32 load_fd;
	__s32 error_segment;
	__s32 placed_node;
	__u8 expected_digest[HEAPLOAD_DIGEST_SIZE];
	__u8 digest[HEAPLOAD_DIGEST_SIZE];
	/* version 3 */
	__u32 alloc_threads;
	__u32 alloc_threads_max;
};

/** HEAPLOAD_LOAD_SIZE_VER0 - size of the first version of struct heapload_load */
#define HEAPLOAD_LOAD_SIZE_VER0		128
/** HEAPLOAD_LOAD_SIZE_VER1 - size of version 1, with progress and statistics */
#define HEAPLOAD_LOAD_SIZE_VER1		168
/** HEAPLOAD_LOAD_SIZE_VER2 - size of version 2: segments, targets, digests, async */
#define HEAPLOAD_LOAD_SIZE_VER2		272
/** HEAPLOAD_LOAD_SIZE_VER3 - size of version 3: the allocating threads */
#define HEAPLOAD_LOAD_SIZE_VER3		280

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
 * Version 2 of the struct adds:
 *
 * * Segments: several file ranges, of one or several files, fill one
 *   buffer through the same gathered pipeline (each batch's reads of every
 *   segment it covers are in flight together), e.g. every shard of a
 *   model, or selected tensors of one file. A new buffer is as large as
 *   the end of the last segment in it, rounded up to the page size; what
 *   no segment covers (gaps, the rest of the last page) is zero. Segments
 *   must not overlap; the error of a segment names it in @error_segment.
 * * %HEAPLOAD_LOAD_INTO: the segments are read into the existing dma-buf
 *   @target_fd of any heapload heap, the restricted one included (where
 *   only the kernel may write), at their buffer offsets; nothing is
 *   allocated, @heap must be empty and @fd_flags 0, and the bytes no
 *   segment covers keep their contents. The dma-buf fd must be open for
 *   writing. While the load runs no device may map the buffer: the load
 *   fails with %EBUSY if an importer has it mapped (holds its sg_table),
 *   and dma_buf_map_attachment() fails with %EBUSY until the load ends.
 *   CPU mappings (mmap, vmap) stay allowed and see the bytes as they
 *   arrive: as with write(2) into a shared mapping, ordering them against
 *   the load is the caller's business (DMA_BUF_IOCTL_SYNC around the CPU
 *   access). Fences of the buffer's reservation object are waited for
 *   (interruptibly) before the first read. A failed load leaves the
 *   buffer's segment ranges partly written.
 * * %HEAPLOAD_LOAD_NUMA_NODE: the pages come from node @numa_node only
 *   (__GFP_THISNODE); the load fails with %ENOMEM when that node runs out.
 *   @placed_node tells where they landed in any case.
 * * @digest_alg, %HEAPLOAD_LOAD_VERIFY: a digest of the loaded bytes,
 *   computed while the batches are read, returned in @digest; with
 *   %HEAPLOAD_LOAD_VERIFY a mismatch fails the load with %EBADMSG and
 *   nothing is installed. For the restricted heap the digest is how user
 *   space can know what it loaded: it cannot read the buffer back.
 * * %HEAPLOAD_LOAD_ASYNC: the ioctl checks the request, starts the load on
 *   a kernel worker that acts for the caller (its credentials, memory and
 *   block cgroups) and returns at once with a load fd in @load_fd (an
 *   anonymous inode, O_CLOEXEC), see %HEAPLOAD_IOC_LOAD_RESULT. Without
 *   %HEAPLOAD_LOAD_NUMA_NODE the worker allocates with the kernel's
 *   default policy, not the caller's mempolicy. @progress_addr must be 0.
 *
 * On an error found once the struct was read (every errno below but
 * %EFAULT and an %E2BIG for unknown non-zero bytes of this struct), a caller of version
 * 2 or later gets the struct back with its out fields set: @error_segment
 * (-1 when the error is not about a segment), @digest, and @load_fd and
 * @dmabuf_fd -1. Older callers get nothing back, as before.
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
 *   %HEAPLOAD_LOAD_BUFFERED with the restricted heap; a version 2 flag
 *   in a struct older than version 2; (version 2)
 *   segments given with a non-zero @file_fd, @offset or @length, a
 *   @segment_size below %HEAPLOAD_SEGMENT_SIZE_VER0, non-zero segment
 *   flags, segments that overlap in the buffer, @segments or
 *   @segment_size non-zero without segments, a buffer offset that is
 *   not a multiple of the file's direct-I/O alignment; a non-zero
 *   @target_fd without %HEAPLOAD_LOAD_INTO, or %HEAPLOAD_LOAD_INTO with a
 *   heap name, @fd_flags or %HEAPLOAD_LOAD_NUMA_NODE; a non-zero
 *   @numa_node without %HEAPLOAD_LOAD_NUMA_NODE, or a node that does not
 *   exist or has no memory; an unknown @digest_alg, or
 *   %HEAPLOAD_LOAD_VERIFY without one, or non-zero bytes of
 *   @expected_digest past the digest or without %HEAPLOAD_LOAD_VERIFY;
 *   %HEAPLOAD_LOAD_ASYNC with @progress_addr.
 * * %EPERM, %EACCES - a security module or a fanotify listener denied
 *   reading the file, as it would read(2).
 * * %E2BIG - a newer struct (or segment struct) with non-zero bytes this
 *   kernel does not know; more than %HEAPLOAD_MAX_SEGMENTS segments.
 * * %ENODEV - no heap of that name.
 * * %EBADF - file_fd (a segment's file_fd) is not an open fd, or not open
 *   for reading; @target_fd is not an open fd, or not open for writing.
 * * %EXDEV - @target_fd is not a dma-buf of a heapload heap.
 * * %ENOSPC - a segment ends past the end of the @target_fd buffer.
 * * %EBUSY - an importer has the @target_fd buffer mapped for its device,
 *   or another load into it is running.
 * * %EOPNOTSUPP - %HEAPLOAD_LOAD_NUMA_NODE with a heap that cannot place
 *   its memory (the restricted heap, whose pool is shared); a digest this
 *   kernel was built without (CONFIG_CRYPTO_LIB_SHA256, CONFIG_XXHASH).
 * * %EBADMSG - %HEAPLOAD_LOAD_VERIFY and the digest of the loaded bytes is
 *   not @expected_digest; @digest has the computed one. No buffer is
 *   created; a %HEAPLOAD_LOAD_INTO target has been written all the same.
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
 * * %EINTR - a fatal signal arrived during the load, or any signal while
 *   the load waited for the fences of a %HEAPLOAD_LOAD_INTO target.
 * * %EMFILE - no free fd for the dma-buf (or the load fd).
 * * %EIO, or any other error of the file's read_iter - a read failed.
 */
#define HEAPLOAD_IOC_LOAD	_IOWR(HEAPLOAD_IOC_MAGIC, 0x00, struct heapload_load)

/**
 * HEAPLOAD_IOC_LOAD_RESULT - the state or the result of an asynchronous load
 *
 * On a load fd from %HEAPLOAD_LOAD_ASYNC. Takes a struct heapload_load of
 * version 2 or later (its @size and the ioctl size agree, as for
 * %HEAPLOAD_IOC_LOAD); only @size is read. Writes back the load's request
 * with its out fields: while the load runs, @loaded is the number of bytes read so far
 * and the statistics are those so far; once it has ended, those of
 * %HEAPLOAD_IOC_LOAD, and the first call after a successful end installs
 * the dma-buf fd (new buffers; -1 with %HEAPLOAD_LOAD_INTO) in @dmabuf_fd.
 *
 * poll() on the load fd reports EPOLLIN once the load has ended. Closing
 * the load fd before the end cancels the load: its reads in flight are
 * waited for and everything it allocated is freed (the last close waits
 * for that). A load that ended and whose dma-buf fd was never installed is
 * freed at the last close. Each load in flight holds the same limits as a
 * synchronous one (max_alloc_mb, the memory reservation, the batches in
 * flight), so a process may run several.
 *
 * Return: 0 when the load succeeded (the dma-buf fd is installed by the
 * first such call), or -1 with errno set to:
 * * %EAGAIN - the load is still running.
 * * %EALREADY - the dma-buf fd was already installed by an earlier call.
 * * %EINVAL - a struct older than version 2, or @size not the ioctl's size.
 * * %ENOTTY - not a load fd.
 * * %EFAULT - the argument is not accessible.
 * * %EMFILE - no free fd for the dma-buf; a later call may try again.
 * * any error %HEAPLOAD_IOC_LOAD can return - the load failed with it
 *   (the out fields tell more, e.g. @error_segment and @digest).
 */
#define HEAPLOAD_IOC_LOAD_RESULT _IOWR(HEAPLOAD_IOC_MAGIC, 0x01, struct heapload_load)

/*
 * The same ioctl with the first version's 128-byte struct, as programs
 * built against heapload 0.1.0 issue it. Still accepted.
 */
#define HEAPLOAD_IOC_LOAD_VER0	_IOC(_IOC_READ | _IOC_WRITE, HEAPLOAD_IOC_MAGIC, 0x00, \
				     HEAPLOAD_LOAD_SIZE_VER0)

/*
 * The same ioctl with version 1's 168-byte struct, as programs built
 * against heapload 0.2.0 to 0.4.0 issue it. Still accepted.
 */
#define HEAPLOAD_IOC_LOAD_VER1	_IOC(_IOC_READ | _IOC_WRITE, HEAPLOAD_IOC_MAGIC, 0x00, \
				     HEAPLOAD_LOAD_SIZE_VER1)

/*
 * The same ioctls with version 2's 272-byte struct, as programs built
 * against heapload 0.5.0 issue them. Still accepted.
 */
#define HEAPLOAD_IOC_LOAD_VER2	_IOC(_IOC_READ | _IOC_WRITE, HEAPLOAD_IOC_MAGIC, 0x00, \
				     HEAPLOAD_LOAD_SIZE_VER2)
#define HEAPLOAD_IOC_LOAD_RESULT_VER2 _IOC(_IOC_READ | _IOC_WRITE, HEAPLOAD_IOC_MAGIC, \
					  0x01, HEAPLOAD_LOAD_SIZE_VER2)

#endif /* _UAPI_LINUX_HEAPLOAD_H */
