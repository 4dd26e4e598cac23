/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The restricted heap's pool of physically contiguous memory
 * (restricted_pool.c) and its protection backends (restricted_heap.c).
 */
#ifndef _HEAPLOAD_RESTRICTED_H
#define _HEAPLOAD_RESTRICTED_H

#include <linux/bvec.h>
#include <linux/types.h>

struct heapload_buffer;

/**
 * struct heapload_rpool_stats - the pool as sysfs shows it, in bytes
 * @backing:	where regions come from: "cma" or "buddy"
 * @size:	capacity, restricted_pool_mb
 * @claimed:	regions taken from the backing now
 * @used:	handed out in chunks now
 * @largest:	the largest physically contiguous chunk one allocation can
 *		get now: a free run in the claimed regions, or what the
 *		backing may still give (an upper bound: the kernel may be
 *		unable to provide it)
 * @min_chunk:	the size every chunk has at least, but a buffer's last
 */
struct heapload_rpool_stats {
	const char *backing;
	u64 size;
	u64 claimed;
	u64 used;
	u64 largest;
	u64 min_chunk;
};

int heapload_rpool_alloc(size_t remaining, struct bio_vec *chunk);
void heapload_rpool_free(struct page *page, size_t len);
void heapload_rpool_get_stats(struct heapload_rpool_stats *st);

/**
 * struct heapload_restrict_ops - a protection backend of the restricted heap
 * @name:	shown in sysfs ("protection")
 * @alloc:	one physically contiguous, zeroed chunk of at most
 *		min(@remaining, HEAPLOAD_MAX_CHUNK) bytes (a multiple of
 *		PAGE_SIZE) into @chunk; at least min(@remaining, the pool's
 *		min_chunk). 0 or -ENOMEM.
 * @free:	take back a chunk of @alloc, already unrestricted and scrubbed
 * @restrict_buf: protect a complete buffer: from here on only devices
 *		(and a secure world) may access it. 0 or an errno.
 * @unrestrict_buf: lift @restrict_buf before the memory is scrubbed
 *
 * After MediaTek's restricted_heap_ops (dri-devel, "dma-buf: heaps:
 * restricted_heap: Add private heap ops"): a TEE or memory-firewall backend
 * implements these four without any change to the heap. The default,
 * "software", takes chunks from the pool and enforces the rule in software
 * only: the heap's dma-buf ops refuse every CPU access path.
 */
struct heapload_restrict_ops {
	const char *name;
	int (*alloc)(size_t remaining, struct bio_vec *chunk);
	void (*free)(struct page *page, size_t len);
	int (*restrict_buf)(struct heapload_buffer *buffer);
	void (*unrestrict_buf)(struct heapload_buffer *buffer);
};

#endif /* _HEAPLOAD_RESTRICTED_H */
