// SPDX-License-Identifier: GPL-2.0
/*
 * heapload buffers: memory gathered as physically contiguous chunks from a
 * heap, then described by one sg_table for the dma-buf exporter.
 */
#include <linux/err.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "heapload.h"

struct heapload_stats heapload_stats;

/**
 * heapload_check_alloc() - may a buffer of @len bytes be allocated?
 * @len: size in bytes
 *
 * Refuses requests above the administrator's max_alloc_mb limit and
 * requests larger than the memory the kernel reports as available, so a
 * huge request fails early with -ENOMEM instead of pushing the machine
 * into reclaim and the OOM killer against other processes.
 *
 * Return: 0, or -ENOMEM.
 */
int heapload_check_alloc(size_t len)
{
	u64 limit = (u64)READ_ONCE(heapload_tunables.max_alloc_mb) << 20;

	if (len > limit)
		return -ENOMEM;
	if (len >> PAGE_SHIFT > si_mem_available())
		return -ENOMEM;
	return 0;
}

static int heapload_chunks_reserve(struct heapload_chunks *chunks)
{
	unsigned int cap = chunks->cap ? chunks->cap * 2 : 64;
	struct bio_vec *bv;

	if (chunks->nr < chunks->cap)
		return 0;
	bv = kvmalloc_array(cap, sizeof(*bv), GFP_KERNEL);
	if (!bv)
		return -ENOMEM;
	if (chunks->nr)
		memcpy(bv, chunks->bv, chunks->nr * sizeof(*bv));
	kvfree(chunks->bv);
	chunks->bv = bv;
	chunks->cap = cap;
	return 0;
}

/**
 * heapload_chunks_alloc() - gather chunks until @target more bytes are held
 * @heap:	heap to allocate from
 * @chunks:	where the chunks are appended
 * @target:	stop once this many bytes were added (the last chunk may
 *		pass it by less than one chunk), or when *@remaining is 0
 * @remaining:	bytes the whole allocation still needs; decremented
 * @zero:	whether the heap must zero the chunks
 * @cursor:	the heap's allocation state, 0 at the start of an allocation
 * @budget:	fault injection: fail with -ENOMEM before allocating past
 *		this many bytes in this call; U64_MAX when off
 *
 * Return: 0; -ENOMEM when the heap or the chunk array ran out; -EINTR on a
 * fatal signal. The chunks gathered stay in @chunks either way.
 */
int heapload_chunks_alloc(struct heapload_heap *heap,
			  struct heapload_chunks *chunks, size_t target,
			  size_t *remaining, bool zero, unsigned int *cursor,
			  u64 budget)
{
	size_t added = 0;
	int ret;

	while (added < target && *remaining) {
		struct bio_vec *chunk;

		/* Let a killed caller go instead of finishing a huge allocation. */
		if (fatal_signal_pending(current))
			return -EINTR;
		if (added >= budget)
			return -ENOMEM;

		ret = heapload_chunks_reserve(chunks);
		if (ret)
			return ret;
		chunk = &chunks->bv[chunks->nr];
		ret = heap->ops->alloc_chunk(heap, *remaining, zero, cursor, chunk);
		if (ret)
			return ret;

		chunks->nr++;
		chunks->bytes += chunk->bv_len;
		added += chunk->bv_len;
		*remaining -= chunk->bv_len;
		atomic64_add(chunk->bv_len, &heapload_stats.allocated_bytes);
		cond_resched();
	}
	return 0;
}

/**
 * heapload_chunks_free_pages() - give all chunks back to the heap
 * @heap:	the heap they came from
 * @chunks:	the chunks; emptied, the array stays
 */
void heapload_chunks_free_pages(struct heapload_heap *heap,
				struct heapload_chunks *chunks)
{
	unsigned int i;

	for (i = 0; i < chunks->nr; i++) {
		struct bio_vec *bv = &chunks->bv[i];

		atomic64_sub(bv->bv_len, &heapload_stats.allocated_bytes);
		heap->ops->free_chunk(heap, bv->bv_page, bv->bv_len);
	}
	chunks->nr = 0;
	chunks->bytes = 0;
}

/**
 * heapload_chunks_destroy() - free the chunk array, not the chunks
 * @chunks: the chunk list
 */
void heapload_chunks_destroy(struct heapload_chunks *chunks)
{
	kvfree(chunks->bv);
	chunks->bv = NULL;
	chunks->nr = 0;
	chunks->cap = 0;
	chunks->bytes = 0;
}

/**
 * heapload_buffer_create() - make a buffer of gathered chunks
 * @heap:	the heap the chunks came from
 * @len:	buffer size; the chunks of @parts add up to it
 * @parts:	chunk lists in buffer order
 * @nr_parts:	number of @parts
 *
 * On success the buffer owns the chunks' memory and the caller still owns
 * (and destroys) the chunk arrays; on error nothing changes hands.
 *
 * Return: the buffer, or ERR_PTR(-ENOMEM).
 */
struct heapload_buffer *heapload_buffer_create(struct heapload_heap *heap,
					       size_t len,
					       struct heapload_chunks **parts,
					       unsigned int nr_parts)
{
	struct heapload_buffer *buffer;
	unsigned int i, j, nents = 0;
	struct scatterlist *sg;

	for (i = 0; i < nr_parts; i++)
		nents += parts[i]->nr;

	buffer = kzalloc(sizeof(*buffer), GFP_KERNEL);
	if (!buffer)
		return ERR_PTR(-ENOMEM);
	if (sg_alloc_table(&buffer->sg_table, nents, GFP_KERNEL)) {
		kfree(buffer);
		return ERR_PTR(-ENOMEM);
	}

	INIT_LIST_HEAD(&buffer->attachments);
	mutex_init(&buffer->lock);
	buffer->heap = heap;
	buffer->len = len;

	sg = buffer->sg_table.sgl;
	for (i = 0; i < nr_parts; i++) {
		for (j = 0; j < parts[i]->nr; j++) {
			struct bio_vec *bv = &parts[i]->bv[j];

			sg_set_page(sg, bv->bv_page, bv->bv_len, bv->bv_offset);
			sg = sg_next(sg);
		}
	}
	atomic_inc(&heapload_stats.buffers);
	return buffer;
}

/**
 * heapload_buffer_alloc() - allocate a zeroed buffer in one go
 * @heap:	heap to allocate from
 * @len:	size in bytes, a non-zero multiple of PAGE_SIZE
 *
 * What DMA_HEAP_IOCTL_ALLOC does.
 *
 * Return: the buffer, or ERR_PTR(-ENOMEM) or ERR_PTR(-EINTR).
 */
struct heapload_buffer *heapload_buffer_alloc(struct heapload_heap *heap,
					      size_t len)
{
	struct heapload_chunks chunks = {}, *parts = &chunks;
	struct heapload_buffer *buffer;
	size_t remaining = len;
	unsigned int cursor = 0;
	int ret;

	ret = heapload_check_alloc(len);
	if (ret)
		return ERR_PTR(ret);

	ret = heapload_chunks_alloc(heap, &chunks, len, &remaining, true,
				    &cursor, U64_MAX);
	buffer = ret ? ERR_PTR(ret) : heapload_buffer_create(heap, len, &parts, 1);
	if (IS_ERR(buffer))
		heapload_chunks_free_pages(heap, &chunks);
	heapload_chunks_destroy(&chunks);
	return buffer;
}

/**
 * heapload_buffer_free() - free a buffer and its memory
 * @buffer: a buffer that is not (or no longer) exported
 */
void heapload_buffer_free(struct heapload_buffer *buffer)
{
	struct heapload_heap *heap = buffer->heap;
	struct sg_table *table = &buffer->sg_table;
	struct scatterlist *sg;
	unsigned int i;

	for_each_sgtable_sg(table, sg, i) {
		atomic64_sub(sg->length, &heapload_stats.allocated_bytes);
		heap->ops->free_chunk(heap, sg_page(sg), sg->length);
	}
	sg_free_table(table);
	kfree(buffer);
	atomic_dec(&heapload_stats.buffers);
}
