// SPDX-License-Identifier: GPL-2.0
/*
 * heapload,system: a page-backed dma-buf heap.
 *
 * Follows upstream drivers/dma-buf/heaps/system_heap.c: buffers are built
 * from the largest page orders available (8, 4, 0: 1 MiB, 64 KiB and 4 KiB
 * with 4 KiB pages, chosen upstream to match common IOMMU mapping sizes;
 * 4 MiB, 256 KiB and 16 KiB with 16 KiB pages) and exported with a private
 * sg_table per attachment. Unlike upstream, an
 * allocation the machine cannot satisfy fails with -ENOMEM instead of
 * waking the OOM killer, and a fatal signal stops a large allocation
 * (both in heapload_chunks_alloc()).
 */
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/highmem.h>
#include <linux/iosys-map.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sched/signal.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "heapload.h"

/*
 * As upstream's system heap of v6.1 (Debian 12's): order-8 pages are
 * opportunistic and never reclaim; order-4 pages may reclaim and compact
 * but not warn (a costly order never invokes the OOM killer; later
 * upstream stopped their reclaim to save latency, heapload keeps it for
 * buffers of fewer, larger chunks, and an allocation stops trying order 4
 * after its first failure, see system_heap_alloc_chunk()); order-0
 * pages may reclaim but must fail rather than invoke the OOM killer
 * (__GFP_RETRY_MAYFAIL, where upstream would). __GFP_ZERO is added per
 * allocation: a load does not zero pages that the file overwrites.
 */
#define LOW_ORDER_GFP	(GFP_HIGHUSER | __GFP_RETRY_MAYFAIL | __GFP_NOWARN)
#define MID_ORDER_GFP	(GFP_HIGHUSER | __GFP_NOWARN | __GFP_COMP)
#define HIGH_ORDER_GFP	(((GFP_HIGHUSER | __GFP_NOWARN | __GFP_NORETRY) & \
			  ~__GFP_RECLAIM) | __GFP_COMP)
static const gfp_t order_flags[] = { HIGH_ORDER_GFP, MID_ORDER_GFP, LOW_ORDER_GFP };

/*
 * Charge the pages to the memory cgroup of the task that allocates them
 * (the caller of DMA_HEAP_IOCTL_ALLOC or HEAPLOAD_IOC_LOAD), as upstream's
 * dma_heap.mem_accounting does: a buffer then counts against the
 * caller's memory.max, and an allocation beyond it fails with ENOMEM
 * inside that cgroup instead of taking memory nobody accounts for.
 */
static bool heapload_mem_accounting = true;
module_param_named(mem_accounting, heapload_mem_accounting, bool, 0444);
MODULE_PARM_DESC(mem_accounting,
		 "Charge heapload,system pages to the allocating task's memory cgroup (default: on)");

/*
 * Orders, not byte sizes, as upstream keeps them on every page size: the
 * system alias stands in for the kernel's own system heap and should
 * behave as it would on the same kernel, and the flags above are argued
 * in orders (order 4 is above PAGE_ALLOC_COSTLY_ORDER on any page size, so
 * it never invokes the OOM killer; 64 KiB would be order 2 with 16 KiB
 * pages, which may). The IOMMU sizes behind upstream's choice are those of
 * a 4 KiB IOMMU granule; with 16 or 64 KiB pages an IOMMU uses the larger
 * granule, whose next sizes (2 MiB contiguous, 32 or 512 MiB blocks) are
 * larger still, so larger chunks cost nothing there. Capped at the buddy
 * allocator's largest order, in case a kernel's is below 8.
 */
#define SYSTEM_HEAP_ORDER(o)	((o) < HL_MAX_PAGE_ORDER ? (o) : HL_MAX_PAGE_ORDER)
static const unsigned int orders[] = {
	SYSTEM_HEAP_ORDER(8), SYSTEM_HEAP_ORDER(4), 0
};
#define NUM_ORDERS ARRAY_SIZE(orders)

/*
 * The CPU access brackets of DMA_BUF_IOCTL_SYNC sync every mapped
 * attachment in the direction it was mapped with, not the CPU access's
 * direction: the DMA API wants the mapping's (a device that only reads
 * the buffer, DMA_TO_DEVICE, has nothing to copy back to the CPU).
 */
static int system_heap_begin_cpu_access(struct dma_buf *dmabuf,
					enum dma_data_direction direction)
{
	struct heapload_buffer *buffer = dmabuf->priv;
	struct heapload_attachment *a;

	mutex_lock(&buffer->lock);
	if (buffer->vmap_cnt)
		invalidate_kernel_vmap_range(buffer->vaddr, buffer->len);

	list_for_each_entry(a, &buffer->attachments, list) {
		if (!a->mapped)
			continue;
		dma_sync_sgtable_for_cpu(a->dev, a->table, a->direction);
	}
	mutex_unlock(&buffer->lock);
	return 0;
}

static int system_heap_end_cpu_access(struct dma_buf *dmabuf,
				      enum dma_data_direction direction)
{
	struct heapload_buffer *buffer = dmabuf->priv;
	struct heapload_attachment *a;

	mutex_lock(&buffer->lock);
	if (buffer->vmap_cnt)
		flush_kernel_vmap_range(buffer->vaddr, buffer->len);

	list_for_each_entry(a, &buffer->attachments, list) {
		if (!a->mapped)
			continue;
		dma_sync_sgtable_for_device(a->dev, a->table, a->direction);
	}
	mutex_unlock(&buffer->lock);
	return 0;
}

static int system_heap_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	struct heapload_buffer *buffer = dmabuf->priv;
	struct sg_table *table = &buffer->sg_table;
	unsigned long addr = vma->vm_start;
	struct sg_page_iter piter;
	int ret;

	for_each_sgtable_page(table, &piter, vma->vm_pgoff) {
		struct page *page = sg_page_iter_page(&piter);

		ret = remap_pfn_range(vma, addr, page_to_pfn(page), PAGE_SIZE,
				      vma->vm_page_prot);
		if (ret)
			return ret;
		addr += PAGE_SIZE;
		if (addr >= vma->vm_end)
			return 0;
	}
	return 0;
}

static void *system_heap_do_vmap(struct heapload_buffer *buffer)
{
	struct sg_table *table = &buffer->sg_table;
	unsigned long npages = buffer->len >> PAGE_SHIFT;
	struct page **pages, **tmp;
	struct sg_page_iter piter;
	void *vaddr;

	pages = kvmalloc_array(npages, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return ERR_PTR(-ENOMEM);

	tmp = pages;
	for_each_sgtable_page(table, &piter, 0) {
		WARN_ON(tmp - pages >= npages);
		*tmp++ = sg_page_iter_page(&piter);
	}

	vaddr = vmap(pages, npages, VM_MAP, PAGE_KERNEL);
	kvfree(pages);
	if (!vaddr)
		return ERR_PTR(-ENOMEM);
	return vaddr;
}

static int system_heap_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct heapload_buffer *buffer = dmabuf->priv;
	void *vaddr;
	int ret = 0;

	mutex_lock(&buffer->lock);
	if (buffer->vmap_cnt) {
		buffer->vmap_cnt++;
		iosys_map_set_vaddr(map, buffer->vaddr);
		goto out;
	}

	vaddr = system_heap_do_vmap(buffer);
	if (IS_ERR(vaddr)) {
		ret = PTR_ERR(vaddr);
		goto out;
	}
	buffer->vaddr = vaddr;
	buffer->vmap_cnt++;
	iosys_map_set_vaddr(map, buffer->vaddr);
out:
	mutex_unlock(&buffer->lock);
	return ret;
}

static void system_heap_vunmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct heapload_buffer *buffer = dmabuf->priv;

	mutex_lock(&buffer->lock);
	if (!--buffer->vmap_cnt) {
		vunmap(buffer->vaddr);
		buffer->vaddr = NULL;
	}
	mutex_unlock(&buffer->lock);
	iosys_map_clear(map);
}

static const struct dma_buf_ops system_heap_buf_ops = {
	.attach = heapload_dmabuf_attach,
	.detach = heapload_dmabuf_detach,
	.map_dma_buf = heapload_dmabuf_map,
	.unmap_dma_buf = heapload_dmabuf_unmap,
	.begin_cpu_access = system_heap_begin_cpu_access,
	.end_cpu_access = system_heap_end_cpu_access,
	.mmap = system_heap_mmap,
	.vmap = system_heap_vmap,
	.vunmap = system_heap_vunmap,
	.release = heapload_dmabuf_release,
};

/*
 * The largest order that fits @remaining, starting at the order index
 * *@cursor: after a failure of a high order there is no point in asking
 * for it again within the same allocation (or the same thread of it).
 */
static int system_heap_alloc_chunk(struct heapload_heap *heap,
				   size_t remaining, bool zero, int nid,
				   unsigned int *cursor, struct bio_vec *chunk)
{
	struct page *page;
	unsigned int i;
	gfp_t gfp;

	/* bv_len is 32-bit: the largest chunk must fit, whatever the page size. */
	BUILD_BUG_ON((PAGE_SIZE << SYSTEM_HEAP_ORDER(8)) > HEAPLOAD_MAX_CHUNK);

	for (i = *cursor; i < NUM_ORDERS; i++) {
		if (remaining < (PAGE_SIZE << orders[i]))
			continue;

		gfp = order_flags[i] | (zero ? __GFP_ZERO : 0) |
		      (heapload_mem_accounting ? __GFP_ACCOUNT : 0);

		/* A chosen node is a promise: no fallback to the others. */
		if (nid == NUMA_NO_NODE)
			page = alloc_pages(gfp, orders[i]);
		else
			page = alloc_pages_node(nid, gfp | __GFP_THISNODE,
						orders[i]);
		if (!page) {
			/*
			 * Not again in this allocation; an order too large
			 * for what was left (a unit's end) was only skipped.
			 */
			if (i == *cursor)
				*cursor = i + 1;
			continue;
		}

		*chunk = (struct bio_vec) {
			.bv_page = page,
			.bv_len = PAGE_SIZE << orders[i],
			.bv_offset = 0,
		};
		return 0;
	}
	return -ENOMEM;
}

static void system_heap_free_chunk(struct heapload_heap *heap,
				   struct page *page, size_t len)
{
	__free_pages(page, get_order(len));
}

static const struct heapload_heap_ops system_heap_ops = {
	.alloc_chunk = system_heap_alloc_chunk,
	.free_chunk = system_heap_free_chunk,
	.dmabuf_ops = &system_heap_buf_ops,
	.numa_placement = true,
	.parallel_alloc = true,
};

static struct heapload_heap system_heap = {
	.name = "heapload,system",
	.ops = &system_heap_ops,
};

/* The same heap under the standard name, for unmodified heap users. */
static struct heapload_heap system_alias_heap = {
	.name = "system",
	.ops = &system_heap_ops,
};

bool heapload_system_alias = !IS_ENABLED(CONFIG_DMABUF_HEAPS_SYSTEM);
module_param_named(system_alias, heapload_system_alias, bool, 0444);
MODULE_PARM_DESC(system_alias,
		 "Also provide heapload,system as the heap \"system\" (default: on when the kernel has no system heap)");

int heapload_system_heap_init(void)
{
	int ret;

	ret = heapload_heap_add(&system_heap);
	if (ret)
		return ret;
	if (!heapload_system_alias)
		return 0;

	/* Never shadow the kernel's own heap of that name. */
	ret = IS_ENABLED(CONFIG_DMABUF_HEAPS_SYSTEM) ? -EEXIST :
	      heapload_heap_add(&system_alias_heap);
	if (ret) {
		pr_warn("system_alias: no heap \"system\" (%d): the kernel has one\n",
			ret);
		heapload_system_alias = false;
	}
	return 0;
}

void heapload_system_heap_exit(void)
{
	if (heapload_system_alias)
		heapload_heap_remove(&system_alias_heap);
	heapload_heap_remove(&system_heap);
}
