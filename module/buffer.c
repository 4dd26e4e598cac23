// SPDX-License-Identifier: GPL-2.0
/*
 * heapload buffers: memory gathered as physically contiguous chunks from a
 * heap, then described by one sg_table for the dma-buf exporter; and the
 * exporter ops all heaps share (attachments, device mapping, release),
 * after upstream drivers/dma-buf/heaps/system_heap.c.
 */
#include <linux/blk_types.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/highmem.h>
#include <linux/log2.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "heapload.h"

struct heapload_stats heapload_stats;

/* Bytes of allocations in progress that are not yet allocated. */
static atomic64_t heapload_reserved_bytes;

/**
 * heapload_reserve() - reserve memory for a buffer of @len bytes
 * @len: size in bytes
 *
 * Refuses requests above the administrator's max_alloc_mb limit and
 * requests larger than the memory the kernel reports as available, less
 * what allocations and loads in progress have reserved and not yet
 * allocated, so that concurrent requests cannot together pass the check,
 * and a huge request fails early with -ENOMEM instead of pushing the
 * machine into reclaim and the OOM killer against other processes.
 * heapload_chunks_alloc() uses up the reservation as it allocates; the
 * caller gives back what it did not use with heapload_unreserve().
 *
 * Return: 0 with @len bytes reserved, or -ENOMEM.
 */
int heapload_reserve(size_t len)
{
	u64 limit = (u64)READ_ONCE(heapload_tunables.max_alloc_mb) << 20;
	u64 reserved;

	if (len > limit)
		return -ENOMEM;
	reserved = atomic64_add_return(len, &heapload_reserved_bytes);
	if (reserved >> PAGE_SHIFT > si_mem_available()) {
		atomic64_sub(len, &heapload_reserved_bytes);
		return -ENOMEM;
	}
	return 0;
}

/**
 * heapload_unreserve() - give back the unused part of a reservation
 * @len: bytes reserved with heapload_reserve() and not allocated
 */
void heapload_unreserve(size_t len)
{
	WARN_ON_ONCE(atomic64_sub_return(len, &heapload_reserved_bytes) < 0);
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
 * @remaining:	bytes the whole allocation still needs, reserved with
 *		heapload_reserve(); decremented, and the reservation with it
 * @zero:	whether the heap must zero the chunks
 * @nid:	NUMA node the chunks must come from, or NUMA_NO_NODE
 * @cursor:	the heap's allocation state, 0 at the start of an allocation
 * @budget:	fault injection: fail with -ENOMEM before allocating past
 *		this many bytes in this call; U64_MAX when off
 * @abort:	the allocation's stop flag, checked before each chunk, or NULL
 *
 * Return: 0; -ENOMEM when the heap or the chunk array ran out; -EINTR on a
 * fatal signal; -ECANCELED once *@abort is set. The chunks gathered stay
 * in @chunks either way.
 */
int heapload_chunks_alloc(struct heapload_heap *heap,
			  struct heapload_chunks *chunks, size_t target,
			  size_t *remaining, bool zero, int nid,
			  unsigned int *cursor, u64 budget, const bool *abort)
{
	size_t added = 0;
	int ret;

	while (added < target && *remaining) {
		struct bio_vec *chunk;

		/* Let a killed caller go instead of finishing a huge allocation. */
		if (fatal_signal_pending(current))
			return -EINTR;
		/* Another thread of the allocation failed, or its caller went. */
		if (abort && READ_ONCE(*abort))
			return -ECANCELED;
		if (added >= budget)
			return -ENOMEM;

		ret = heapload_chunks_reserve(chunks);
		if (ret)
			return ret;
		chunk = &chunks->bv[chunks->nr];
		ret = heap->ops->alloc_chunk(heap, *remaining, zero, nid, cursor,
					     chunk);
		if (ret)
			return ret;
		/* A heap that breaks the contract would run away with us. */
		if (WARN_ON_ONCE(!chunk->bv_len || chunk->bv_offset ||
				 chunk->bv_len > min(*remaining, HEAPLOAD_MAX_CHUNK) ||
				 !PAGE_ALIGNED(chunk->bv_len))) {
			heap->ops->free_chunk(heap, chunk->bv_page, chunk->bv_len);
			return -EINVAL;
		}

		chunks->nr++;
		chunks->bytes += chunk->bv_len;
		added += chunk->bv_len;
		*remaining -= chunk->bv_len;
		heapload_unreserve(chunk->bv_len);
		atomic64_add(chunk->bv_len, &heapload_stats.allocated_bytes);
		cond_resched();
	}
	return 0;
}

/**
 * heapload_chunks_add() - append a range of memory someone else owns
 * @chunks:	where it is appended
 * @page:	first page
 * @len:	bytes, a non-zero multiple of PAGE_SIZE, at most
 *		HEAPLOAD_MAX_CHUNK
 *
 * For views of an existing buffer's memory (loads into it): such chunks
 * are never given to heapload_chunks_free_pages().
 *
 * Return: 0 or -ENOMEM.
 */
int heapload_chunks_add(struct heapload_chunks *chunks, struct page *page,
			size_t len)
{
	int ret = heapload_chunks_reserve(chunks);

	if (ret)
		return ret;
	chunks->bv[chunks->nr++] = (struct bio_vec) {
		.bv_page = page,
		.bv_len = len,
		.bv_offset = 0,
	};
	chunks->bytes += len;
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
 * The sg_table gets one entry per chunk, or, if the heap merges chunks, one
 * per run of physically adjacent chunks (at most HEAPLOAD_MAX_CHUNK bytes
 * each). On success the buffer owns the chunks' memory and the caller
 * still owns (and destroys) the chunk arrays; on error nothing changes
 * hands.
 *
 * Return: the buffer, or ERR_PTR(-ENOMEM).
 */
struct heapload_buffer *heapload_buffer_create(struct heapload_heap *heap,
					       size_t len,
					       struct heapload_chunks **parts,
					       unsigned int nr_parts)
{
	bool merge = heap->ops->merge_chunks;
	struct heapload_buffer *buffer;
	struct scatterlist *sg = NULL;
	unsigned int i, j, nents = 0;
	phys_addr_t next = 0;
	size_t entry = 0;

	for (i = 0; i < nr_parts; i++) {
		for (j = 0; j < parts[i]->nr; j++) {
			struct bio_vec *bv = &parts[i]->bv[j];

			if (merge && nents && page_to_phys(bv->bv_page) == next &&
			    entry + bv->bv_len <= HEAPLOAD_MAX_CHUNK) {
				entry += bv->bv_len;
			} else {
				nents++;
				entry = bv->bv_len;
			}
			next = page_to_phys(bv->bv_page) + bv->bv_len;
		}
	}

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

	/*
	 * Chunks have offset 0; a merged entry grows by the next chunk, up
	 * to HEAPLOAD_MAX_CHUNK (as counted above).
	 */
	for (i = 0; i < nr_parts; i++) {
		for (j = 0; j < parts[i]->nr; j++) {
			struct bio_vec *bv = &parts[i]->bv[j];

			if (sg && merge && page_to_phys(bv->bv_page) == next &&
			    (size_t)sg->length + bv->bv_len <= HEAPLOAD_MAX_CHUNK) {
				sg->length += bv->bv_len;
			} else {
				sg = sg ? sg_next(sg) : buffer->sg_table.sgl;
				sg_set_page(sg, bv->bv_page, bv->bv_len, 0);
			}
			next = page_to_phys(bv->bv_page) + bv->bv_len;
		}
	}
	atomic_inc(&heapload_stats.buffers);
	return buffer;
}

/**
 * struct heapload_grid - a buffer allocated on several threads
 * @al:		the threads
 * @heap:	the heap
 * @parts:	one chunk list per unit of @al.units, in buffer order
 * @nr_parts:	room in @parts: the units of the threads asked for, which
 *		fewer threads never exceed (heapload_units_init())
 * @next_unit:	the next unit to claim
 * @faults:	fault injection snapshot
 * @abort:	stop allocating: a thread failed, or the caller was killed
 * @error:	the first error
 * @wq:		the caller waits here for its helpers
 */
struct heapload_grid {
	struct heapload_allocators al;
	struct heapload_heap *heap;
	struct heapload_chunks *parts;
	unsigned int nr_parts;
	atomic_t next_unit;
	struct heapload_faults faults;
	bool abort;
	int error;
	wait_queue_head_t wq;
};

static void heapload_grid_fail(struct heapload_grid *grid, int err)
{
	cmpxchg(&grid->error, 0, err);
	WRITE_ONCE(grid->abort, true);
	wake_up(&grid->wq);
}

/* One thread's share: units claimed one at a time until none is left. */
static int heapload_grid_units(struct heapload_grid *grid, unsigned int thread)
{
	unsigned int cursor = 0, idx;
	bool used = false;
	int ret;

	while (!READ_ONCE(grid->abort)) {
		size_t off, remaining;

		idx = atomic_inc_return(&grid->next_unit) - 1;
		if (idx >= grid->al.units.nr)
			break;
		if (WARN_ON_ONCE(idx >= grid->nr_parts))
			return -EINVAL;
		off = heapload_unit_off(&grid->al.units, idx, &remaining);
		ret = heapload_chunks_alloc(grid->heap, &grid->parts[idx],
					    remaining, &remaining, true,
					    NUMA_NO_NODE, &cursor,
					    heapload_alloc_budget(&grid->faults,
								  thread, off),
					    &grid->abort);
		/* A thread counts once it has allocated something. */
		if (!used && grid->parts[idx].bytes) {
			used = true;
			atomic_inc(&grid->al.used);
		}
		if (ret)
			return ret;
	}
	return 0;
}

static void heapload_grid_helper(struct heapload_allocators *al,
				 unsigned int thread)
{
	struct heapload_grid *grid = container_of(al, struct heapload_grid, al);
	int ret = heapload_grid_units(grid, thread);

	if (ret)
		heapload_grid_fail(grid, ret);
}

/*
 * heapload_buffer_alloc() on several threads: the caller and the
 * helpers fill the units' chunk lists, which become the buffer in order.
 */
static struct heapload_buffer *
heapload_buffer_alloc_grid(struct heapload_heap *heap, size_t len,
			   size_t unit, unsigned int threads)
{
	struct heapload_buffer *buffer = ERR_PTR(-ENOMEM);
	struct heapload_chunks **ptrs = NULL;
	struct heapload_units most;
	struct heapload_grid *grid;
	size_t allocated = 0;
	unsigned int i, nr;
	int ret;

	grid = kzalloc(sizeof(*grid), GFP_KERNEL);
	if (!grid)
		goto out_unreserve;
	grid->heap = heap;
	heapload_units_init(&most, len, unit, threads);
	grid->nr_parts = most.nr;
	grid->faults = heapload_faults;
	init_waitqueue_head(&grid->wq);
	grid->parts = kvcalloc(most.nr, sizeof(*grid->parts), GFP_KERNEL);
	ptrs = kvmalloc_array(most.nr, sizeof(*ptrs), GFP_KERNEL);
	if (!grid->parts || !ptrs)
		goto out_free;

	grid->al = (struct heapload_allocators) {
		.fn = heapload_grid_helper,
		.memcg = get_mem_cgroup_from_mm(current->mm),
		.node = numa_node_id(),
		.threads = threads,
		.units = { .len = len, .unit = unit },
		.abort = &grid->abort,
		.wq = &grid->wq,
	};
	heapload_allocators_start(&grid->al);
	ret = heapload_grid_units(grid, 1);
	if (!ret)
		ret = heapload_allocators_wait(&grid->al);
	if (ret)
		heapload_grid_fail(grid, ret);
	heapload_allocators_stop(&grid->al);
	mem_cgroup_put(grid->al.memcg);

	nr = min(grid->al.units.nr, grid->nr_parts);
	for (i = 0; i < nr; i++) {
		allocated += grid->parts[i].bytes;
		ptrs[i] = &grid->parts[i];
	}
	heapload_unreserve(len - allocated);
	ret = READ_ONCE(grid->error);
	buffer = ret ? ERR_PTR(ret) :
		 heapload_buffer_create(heap, len, ptrs, nr);
	for (i = 0; i < nr; i++) {
		if (IS_ERR(buffer))
			heapload_chunks_free_pages(heap, &grid->parts[i]);
		heapload_chunks_destroy(&grid->parts[i]);
	}
	kvfree(ptrs);
	kvfree(grid->parts);
	kfree(grid);
	return buffer;

out_free:
	kvfree(ptrs);
	kvfree(grid->parts);
	kfree(grid);
out_unreserve:
	heapload_unreserve(len);
	return buffer;
}

/**
 * heapload_buffer_alloc() - allocate a zeroed buffer in one go
 * @heap:	heap to allocate from
 * @len:	size in bytes, a non-zero multiple of PAGE_SIZE
 *
 * What DMA_HEAP_IOCTL_ALLOC does. A buffer of two gather batches
 * (gather_batch_mb) or more is allocated on several threads where the
 * heap can (see heapload_alloc_threads()), a unit at a time each: a
 * batch, a quarter of one near the end (heapload_units_init()); the
 * debugfs fault_alloc_after applies as it does to loads.
 *
 * Return: the buffer, or ERR_PTR(-ENOMEM) or ERR_PTR(-EINTR).
 */
struct heapload_buffer *heapload_buffer_alloc(struct heapload_heap *heap,
					      size_t len)
{
	size_t unit = (size_t)READ_ONCE(heapload_tunables.gather_batch_mb) << 20;
	struct heapload_chunks chunks = {}, *parts = &chunks;
	struct heapload_faults faults = heapload_faults;
	struct heapload_buffer *buffer;
	unsigned int cursor = 0, threads;
	size_t remaining = len;
	int ret;

	ret = heapload_reserve(len);
	if (ret)
		return ERR_PTR(ret);

	threads = heapload_alloc_threads(heap, len, unit, NUMA_NO_NODE,
					 UINT_MAX);
	if (threads > 1)
		return heapload_buffer_alloc_grid(heap, len, unit, threads);

	ret = heapload_chunks_alloc(heap, &chunks, len, &remaining, true,
				    NUMA_NO_NODE, &cursor,
				    heapload_alloc_budget(&faults, 1, 0), NULL);
	heapload_unreserve(remaining);
	buffer = ret ? ERR_PTR(ret) : heapload_buffer_create(heap, len, &parts, 1);
	if (IS_ERR(buffer))
		heapload_chunks_free_pages(heap, &chunks);
	heapload_chunks_destroy(&chunks);
	return buffer;
}

/**
 * heapload_buffer_restrict() - protect a complete buffer, if its heap does
 * @buffer:	a buffer not yet exported
 *
 * Called by heapload_buffer_export(), after the buffer was allocated (and,
 * by the loader, filled).
 *
 * Return: 0, or the heap's error; the buffer is then still unrestricted.
 */
int heapload_buffer_restrict(struct heapload_buffer *buffer)
{
	const struct heapload_heap_ops *ops = buffer->heap->ops;
	int ret;

	if (!ops->restrict_buf)
		return 0;
	ret = ops->restrict_buf(buffer);
	if (!ret)
		buffer->restricted = true;
	return ret;
}

/**
 * heapload_pages_scrub() - zero physically contiguous memory
 * @page:	first page
 * @len:	bytes, a multiple of PAGE_SIZE
 *
 * Through the kernel's own (temporary, for highmem) mappings, page by page.
 */
void heapload_pages_scrub(struct page *page, size_t len)
{
	unsigned long i, n = len >> PAGE_SHIFT, pfn = page_to_pfn(page);

	/* By pfn: a chunk or a merged run may span memory sections. */
	for (i = 0; i < n; i++) {
		clear_highpage(pfn_to_page(pfn + i));
		if (!(i % 1024))
			cond_resched();
	}
}

/**
 * heapload_buffer_free() - free a buffer and its memory
 * @buffer: a buffer that is not (or no longer) exported
 *
 * A restricted buffer is unrestricted first; its heap scrubs the chunks.
 */
void heapload_buffer_free(struct heapload_buffer *buffer)
{
	struct heapload_heap *heap = buffer->heap;
	struct sg_table *table = &buffer->sg_table;
	struct scatterlist *sg;
	unsigned int i;

	if (buffer->restricted) {
		heap->ops->unrestrict_buf(buffer);
		buffer->restricted = false;
	}
	for_each_sgtable_sg(table, sg, i) {
		atomic64_sub(sg->length, &heapload_stats.allocated_bytes);
		heap->ops->free_chunk(heap, sg_page(sg), sg->length);
	}
	sg_free_table(table);
	kfree(buffer);
	atomic_dec(&heapload_stats.buffers);
}

/*
 * Length of the piece of an entry that starts at physical address @phys
 * with @left bytes left: at most @max_seg bytes, and not across a
 * multiple of @boundary + 1 (dma_get_seg_boundary(); all ones: none).
 */
static size_t seg_piece(phys_addr_t phys, size_t left, unsigned int max_seg,
			unsigned long boundary)
{
	size_t n = min_t(size_t, left, max_seg);
	u64 to_boundary = (u64)boundary - (phys & boundary) + 1;

	if (boundary != ULONG_MAX && to_boundary < n)
		n = to_boundary;
	return n;
}

/*
 * The longest piece of the buffer @dev may get in one DMA segment: whole
 * pages where its dma_get_max_seg_size() is a page or more; below that
 * (65535 bytes is common, and less than a 64 KiB page) the largest power
 * of two it takes, so that pieces tile each page. scatterlist lengths are
 * 32-bit. 0 if the device takes less than a sector.
 */
static unsigned int seg_max(struct device *dev)
{
	size_t max = min_t(size_t, dma_get_max_seg_size(dev), UINT_MAX);

	if (max >= PAGE_SIZE)
		return round_down(max, PAGE_SIZE);
	return max >= SECTOR_SIZE ? rounddown_pow_of_two(max) : 0;
}

/*
 * A copy of @table for the importing device @dev whose entries are no
 * longer than its largest DMA segment (seg_max()) and do not cross its
 * segment boundary (dma_get_seg_boundary()): its DMA mapping must not
 * get segments the device cannot take (DMA-API debugging checks both),
 * the way the DRM PRIME helpers cap theirs. Returns the table, or an
 * ERR_PTR: -EINVAL for a device whose limits are below a sector, -ENOMEM.
 */
static struct sg_table *dup_sg_table(struct sg_table *table,
				     struct device *dev)
{
	unsigned int max_seg = seg_max(dev);
	unsigned long boundary = dma_get_seg_boundary(dev);
	struct scatterlist *sg, *new_sg;
	struct sg_table *new_table;
	unsigned int i, nents = 0;
	size_t off, n;
	int ret;

	if (!max_seg || boundary < SECTOR_SIZE - 1)
		return ERR_PTR(-EINVAL);
	for_each_sgtable_sg(table, sg, i) {
		phys_addr_t phys = sg_phys(sg);

		for (off = 0; off < sg->length; off += n) {
			n = seg_piece(phys + off, sg->length - off, max_seg,
				      boundary);
			if (check_add_overflow(nents, 1U, &nents))
				return ERR_PTR(-ENOMEM);
		}
	}

	new_table = kzalloc(sizeof(*new_table), GFP_KERNEL);
	if (!new_table)
		return ERR_PTR(-ENOMEM);

	ret = sg_alloc_table(new_table, nents, GFP_KERNEL);
	if (ret) {
		kfree(new_table);
		return ERR_PTR(-ENOMEM);
	}

	new_sg = new_table->sgl;
	for_each_sgtable_sg(table, sg, i) {
		phys_addr_t phys = sg_phys(sg);

		for (off = 0; off < sg->length; off += n) {
			n = seg_piece(phys + off, sg->length - off, max_seg,
				      boundary);
			/* Merged entries may span memory sections: by pfn. */
			sg_set_page(new_sg, pfn_to_page(PHYS_PFN(phys + off)), n,
				    offset_in_page(phys + off));
			new_sg = sg_next(new_sg);
		}
	}
	return new_table;
}

/**
 * heapload_dmabuf_attach() - dma_buf_ops.attach of every heapload heap
 * @dmabuf:	the buffer's dma-buf
 * @attachment:	the importer's attachment
 *
 * Gives the attachment its own copy of the sg_table, so that each device
 * can map it independently, with entries no longer than the device's
 * largest DMA segment and not across its segment boundary.
 *
 * Return: 0, -EINVAL (the device takes less than a sector per segment),
 * or -ENOMEM.
 */
int heapload_dmabuf_attach(struct dma_buf *dmabuf,
			   struct dma_buf_attachment *attachment)
{
	struct heapload_buffer *buffer = dmabuf->priv;
	struct heapload_attachment *a;
	struct sg_table *table;

	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return -ENOMEM;

	table = dup_sg_table(&buffer->sg_table, attachment->dev);
	if (IS_ERR(table)) {
		kfree(a);
		return PTR_ERR(table);
	}

	a->table = table;
	a->dev = attachment->dev;
	INIT_LIST_HEAD(&a->list);
	a->mapped = false;
	attachment->priv = a;

	mutex_lock(&buffer->lock);
	list_add(&a->list, &buffer->attachments);
	mutex_unlock(&buffer->lock);
	return 0;
}

/**
 * heapload_dmabuf_detach() - dma_buf_ops.detach of every heapload heap
 * @dmabuf:	the buffer's dma-buf
 * @attachment:	an attachment from heapload_dmabuf_attach()
 */
void heapload_dmabuf_detach(struct dma_buf *dmabuf,
			    struct dma_buf_attachment *attachment)
{
	struct heapload_buffer *buffer = dmabuf->priv;
	struct heapload_attachment *a = attachment->priv;

	mutex_lock(&buffer->lock);
	list_del(&a->list);
	mutex_unlock(&buffer->lock);

	sg_free_table(a->table);
	kfree(a->table);
	kfree(a);
}

/**
 * heapload_dmabuf_map() - dma_buf_ops.map_dma_buf of every heapload heap
 * @attachment:	the attachment
 * @direction:	DMA direction
 *
 * Maps the attachment's sg_table for its device with the usual CPU cache
 * maintenance, also for restricted buffers (whose upstream counterparts
 * skip it with DMA_ATTR_SKIP_CPU_SYNC): where the DMA layer bounces
 * through swiotlb (swiotlb=force, encrypted guests, devices with small
 * DMA masks) the sync is the copy between the buffer and the bounce
 * buffer, and on non-coherent systems it makes the CPU's writes (the
 * scrub zeros, buffered loads) visible to the device.
 *
 * Refused while a load into the buffer runs (HEAPLOAD_LOAD_INTO): the
 * device would see it half written.
 *
 * Return: the mapped table, ERR_PTR(-EBUSY) during a load, or an ERR_PTR
 * of dma_map_sgtable()'s error.
 */
struct sg_table *heapload_dmabuf_map(struct dma_buf_attachment *attachment,
				     enum dma_data_direction direction)
{
	struct heapload_buffer *buffer = attachment->dmabuf->priv;
	struct heapload_attachment *a = attachment->priv;
	struct sg_table *table = a->table;
	int ret = -EBUSY;

	mutex_lock(&buffer->lock);
	if (!buffer->loading)
		ret = dma_map_sgtable(attachment->dev, table, direction, 0);
	if (!ret) {
		a->mapped = true;
		a->direction = direction;
	}
	mutex_unlock(&buffer->lock);
	return ret ? ERR_PTR(ret) : table;
}

/**
 * heapload_dmabuf_unmap() - dma_buf_ops.unmap_dma_buf of every heapload heap
 * @attachment:	the attachment
 * @table:	the table heapload_dmabuf_map() returned
 * @direction:	DMA direction
 *
 * With the CPU sync: a device's writes through a bounce buffer are copied
 * back here.
 */
void heapload_dmabuf_unmap(struct dma_buf_attachment *attachment,
			   struct sg_table *table,
			   enum dma_data_direction direction)
{
	struct heapload_buffer *buffer = attachment->dmabuf->priv;
	struct heapload_attachment *a = attachment->priv;

	mutex_lock(&buffer->lock);
	a->mapped = false;
	mutex_unlock(&buffer->lock);
	dma_unmap_sgtable(attachment->dev, table, direction, 0);
}

/**
 * heapload_dmabuf_release() - dma_buf_ops.release of every heapload heap
 * @dmabuf:	the dma-buf whose last reference went away
 */
void heapload_dmabuf_release(struct dma_buf *dmabuf)
{
	heapload_buffer_free(dmabuf->priv);
}
