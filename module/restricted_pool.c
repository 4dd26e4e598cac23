// SPDX-License-Identifier: GPL-2.0
/*
 * The restricted heap's pool: physically contiguous memory for buffers
 * that only devices may touch.
 *
 * A genalloc pool of page granularity over "regions" claimed from a
 * backing on demand, up to restricted_pool_mb in total, and given back to
 * the backing as soon as no chunk of the pool is in use, so nothing sits
 * idle while no restricted buffer exists. Two backings:
 *
 * - cma: the kernel's default CMA area, where the kernel exports
 *   cma_alloc() and dev_get_cma_area() (v7.1) and was booted with cma=.
 *   A region is as large as the allocation needs (halved until
 *   cma_alloc() succeeds), so a buffer is usually one contiguous block.
 * - buddy: everywhere else (Debian 12 and 13 have no CMA). A region is one
 *   4 MiB block: the buddy allocator's largest with 4 KiB pages, order 8
 *   with 16 KiB pages and 6 with 64 KiB pages, whose largest blocks (32
 *   and 512 MiB) would rarely be found. Claimed with __GFP_RETRY_MAYFAIL. Measured in the test rig, this was
 *   the only way that kept working once memory was fragmented by
 *   unmovable pages, short of alloc_contig_range() over a hand-made zone
 *   scan (alloc_contig_pages() is not exported before v7.2), which gave
 *   larger blocks but cost 1.5 to 2.5 times as much; a pool reserved at
 *   load time would work too, but holds its memory idle forever.
 *
 * Chunks are at least min(4 MiB, the buddy allocator's largest block),
 * but for a buffer's last one; smaller holes left by fragmentation of the
 * pool only serve buffers (or buffer tails) that fit in them. All free
 * memory of the pool is zero: regions are zeroed when claimed and chunks
 * are scrubbed before they are freed (restricted_heap.c).
 */
#include <linux/bitmap.h>
#include <linux/genalloc.h>
#include <linux/gfp.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/sizes.h>
#ifdef HL_HAVE_CMA
#include <linux/cma.h>
#include <linux/dma-map-ops.h>
#endif

#include "heapload.h"
#include "restricted.h"

#define RPOOL_MIN_CHUNK	min_t(size_t, SZ_4M, PAGE_SIZE << HL_MAX_PAGE_ORDER)

/**
 * struct rpool_region - physically contiguous memory claimed from a backing
 * @node:	entry in the pool's list of regions
 * @page:	first page
 * @len:	bytes, a multiple of PAGE_SIZE
 */
struct rpool_region {
	struct list_head node;
	struct page *page;
	size_t len;
};

/**
 * struct rpool_backing - where the pool's regions come from
 * @name:	shown in sysfs
 * @claim:	claim a zeroed region of at most @want bytes (a multiple of
 *		PAGE_SIZE) and at least min(@want, RPOOL_MIN_CHUNK) into @r
 * @release:	give a region back
 * @max_claim:	the largest region @claim could return for @room bytes of
 *		capacity left
 */
struct rpool_backing {
	const char *name;
	int (*claim)(size_t want, struct rpool_region *r);
	void (*release)(struct rpool_region *r);
	size_t (*max_claim)(size_t room);
};

static const struct rpool_backing buddy_backing;

static struct {
	struct mutex lock;
	const struct rpool_backing *backing;
	struct gen_pool *pool;
	struct list_head regions;
	size_t claimed;
	size_t used;
} rpool = {
	.lock = __MUTEX_INITIALIZER(rpool.lock),
	.backing = &buddy_backing,
	.regions = LIST_HEAD_INIT(rpool.regions),
};

#define RPOOL_GFP (GFP_KERNEL | __GFP_RETRY_MAYFAIL | __GFP_NOWARN | __GFP_ZERO)

static int buddy_claim(size_t want, struct rpool_region *r)
{
	size_t len = min(want, RPOOL_MIN_CHUNK);
	void *vaddr = alloc_pages_exact(len, RPOOL_GFP);

	if (!vaddr)
		return -ENOMEM;
	r->page = virt_to_page(vaddr);
	r->len = len;
	return 0;
}

static void buddy_release(struct rpool_region *r)
{
	free_pages_exact(page_address(r->page), r->len);
}

static size_t buddy_max_claim(size_t room)
{
	return min(room, RPOOL_MIN_CHUNK);
}

static const struct rpool_backing buddy_backing = {
	.name = "buddy",
	.claim = buddy_claim,
	.release = buddy_release,
	.max_claim = buddy_max_claim,
};

#ifdef HL_HAVE_CMA
static struct cma *rpool_cma;

static int cma_claim(size_t want, struct rpool_region *r)
{
	size_t floor = min(want, RPOOL_MIN_CHUNK);
	struct page *page;

	/*
	 * Aligned to the smallest chunk: where a page in the range cannot be
	 * migrated, cma_alloc() retries at the next aligned start, so a
	 * busy page costs one try per min_chunk instead of one per page
	 * (a 4 GiB request with one such page took over 600 s under emulation,
	 * against 25 s without it).
	 */
	for (;;) {
		page = cma_alloc(rpool_cma, want >> PAGE_SHIFT,
				 get_order(RPOOL_MIN_CHUNK), true);
		if (page)
			break;
		if (want <= floor)
			return -ENOMEM;
		want = max(floor, PAGE_ALIGN(want / 2));
	}
	/* CMA pages come from the movable pool: whatever was there stays. */
	heapload_pages_scrub(page, want);
	r->page = page;
	r->len = want;
	return 0;
}

static void cma_release_region(struct rpool_region *r)
{
	cma_release(rpool_cma, r->page, r->len >> PAGE_SHIFT);
}

static size_t cma_max_claim(size_t room)
{
	return room;
}

static const struct rpool_backing cma_backing = {
	.name = "cma",
	.claim = cma_claim,
	.release = cma_release_region,
	.max_claim = cma_max_claim,
};
#endif

static size_t rpool_capacity(void)
{
	return (size_t)READ_ONCE(heapload_tunables.restricted_pool_mb) << 20;
}

static void rpool_chunk_largest(struct gen_pool *pool,
				struct gen_pool_chunk *chunk, void *data)
{
	unsigned long nbits = (chunk->end_addr - chunk->start_addr + 1) >>
			      pool->min_alloc_order;
	unsigned long start = 0, end;
	size_t *largest = data;

	for (;;) {
		start = find_next_zero_bit(chunk->bits, nbits, start);
		if (start >= nbits)
			break;
		end = find_next_bit(chunk->bits, nbits, start);
		*largest = max_t(size_t, *largest,
				 (end - start) << pool->min_alloc_order);
		start = end;
	}
}

/* The largest free run in the claimed regions. */
static size_t rpool_largest_locked(void)
{
	size_t largest = 0;

	if (rpool.pool && rpool.claimed > rpool.used)
		gen_pool_for_each_chunk(rpool.pool, rpool_chunk_largest, &largest);
	return largest;
}

/* Claim one more region for an allocation that still needs @remaining. */
static int rpool_grow_locked(size_t remaining, size_t *len)
{
	size_t capacity = rpool_capacity(), want;
	struct rpool_region *r;
	int ret;

	if (rpool.claimed >= capacity)
		return -ENOMEM;
	want = min(ALIGN(remaining, RPOOL_MIN_CHUNK), capacity - rpool.claimed);
	want &= PAGE_MASK;
	if (!want)
		return -ENOMEM;

	if (!rpool.pool) {
		rpool.pool = gen_pool_create(PAGE_SHIFT, NUMA_NO_NODE);
		if (!rpool.pool)
			return -ENOMEM;
	}
	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	ret = rpool.backing->claim(want, r);
	if (ret)
		goto err_free;
	ret = gen_pool_add(rpool.pool, page_to_phys(r->page), r->len,
			   NUMA_NO_NODE);
	if (ret)
		goto err_release;

	list_add_tail(&r->node, &rpool.regions);
	rpool.claimed += r->len;
	*len = r->len;
	return 0;

err_release:
	rpool.backing->release(r);
err_free:
	kfree(r);
	return ret;
}

/* No chunk is in use: give every region back. */
static void rpool_release_all_locked(void)
{
	struct rpool_region *r, *tmp;

	if (rpool.pool) {
		gen_pool_destroy(rpool.pool);
		rpool.pool = NULL;
	}
	list_for_each_entry_safe(r, tmp, &rpool.regions, node) {
		list_del(&r->node);
		rpool.backing->release(r);
		kfree(r);
	}
	rpool.claimed = 0;
}

/**
 * heapload_rpool_alloc() - take one physically contiguous chunk
 * @remaining:	bytes the allocation still needs, a non-zero multiple of
 *		PAGE_SIZE
 * @chunk:	set to the chunk: zeroed, at most min(@remaining,
 *		HEAPLOAD_MAX_CHUNK) bytes and at least min(@remaining, min_chunk)
 *
 * Takes the largest free run of the pool, claiming a new region from the
 * backing first if no run is large enough.
 *
 * Return: 0, or -ENOMEM when the pool is at its capacity (or the backing
 * cannot give more) and has no free run of min(@remaining, min_chunk).
 */
int heapload_rpool_alloc(size_t remaining, struct bio_vec *chunk)
{
	size_t need = min(remaining, RPOOL_MIN_CHUNK), largest, take;
	unsigned long addr;
	int ret = 0;

	mutex_lock(&rpool.lock);
	largest = rpool.claimed - rpool.used >= need ? rpool_largest_locked() : 0;
	while (largest < need) {
		ret = rpool_grow_locked(remaining, &largest);
		if (ret)
			goto out;
	}

	/* bio_vec lengths are unsigned int: a region may be larger. */
	take = min3(remaining, largest, HEAPLOAD_MAX_CHUNK);
	addr = gen_pool_alloc(rpool.pool, take);
	if (WARN_ON_ONCE(!addr)) {
		ret = -ENOMEM;
		goto out;
	}
	rpool.used += take;
	*chunk = (struct bio_vec) {
		.bv_page = pfn_to_page(PHYS_PFN(addr)),
		.bv_len = take,
		.bv_offset = 0,
	};
out:
	if (ret && !rpool.used)
		rpool_release_all_locked();
	mutex_unlock(&rpool.lock);
	return ret;
}

/* The bytes from @addr to the end of the region holding it. */
static size_t rpool_region_rest_locked(phys_addr_t addr)
{
	struct rpool_region *r;

	list_for_each_entry(r, &rpool.regions, node) {
		phys_addr_t start = page_to_phys(r->page);

		if (addr >= start && addr < start + r->len)
			return start + r->len - addr;
	}
	return 0;
}

/**
 * heapload_rpool_free() - give memory back
 * @page:	first page
 * @len:	bytes: chunks of heapload_rpool_alloc(), or a run of physically
 *		adjacent ones, which may span regions
 *
 * The caller scrubbed it. The last chunk in use returns all regions to
 * the backing.
 */
void heapload_rpool_free(struct page *page, size_t len)
{
	phys_addr_t addr = page_to_phys(page);

	mutex_lock(&rpool.lock);
	while (len) {
		size_t n = min(len, rpool_region_rest_locked(addr));

		if (WARN_ON_ONCE(!n))
			break;
		gen_pool_free(rpool.pool, addr, n);
		rpool.used -= n;
		addr += n;
		len -= n;
	}
	if (!rpool.used)
		rpool_release_all_locked();
	mutex_unlock(&rpool.lock);
}

/**
 * heapload_rpool_get_stats() - the pool's numbers, for sysfs
 * @st:	filled in
 */
void heapload_rpool_get_stats(struct heapload_rpool_stats *st)
{
	size_t capacity = rpool_capacity(), room;

	mutex_lock(&rpool.lock);
	room = capacity > rpool.claimed ? capacity - rpool.claimed : 0;
	st->backing = rpool.backing->name;
	st->size = capacity;
	st->claimed = rpool.claimed;
	st->used = rpool.used;
	st->largest = max(rpool_largest_locked(), rpool.backing->max_claim(room));
	st->min_chunk = RPOOL_MIN_CHUNK;
	mutex_unlock(&rpool.lock);
}

/**
 * heapload_rpool_init() - pick the backing
 *
 * CMA where the kernel lets modules allocate from it and has an area,
 * the buddy allocator (the default) elsewhere. Called at module load,
 * before the sysfs files that show the pool appear.
 */
void heapload_rpool_init(void)
{
#ifdef HL_HAVE_CMA
	rpool_cma = dev_get_cma_area(NULL);
	if (rpool_cma)
		rpool.backing = &cma_backing;
#endif
}

/**
 * heapload_rpool_exit() - nothing may be in use any more
 */
void heapload_rpool_exit(void)
{
	mutex_lock(&rpool.lock);
	WARN_ON(rpool.used);
	if (!rpool.used)
		rpool_release_all_locked();
	mutex_unlock(&rpool.lock);
}
