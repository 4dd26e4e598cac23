// SPDX-License-Identifier: GPL-2.0
/*
 * heapload,restricted: physically contiguous memory that only devices may
 * access.
 *
 * Its dma-buf exporter ops are those of upstream's protected heaps (v6.18,
 * drivers/tee/tee_heap.c): attach, detach, map, unmap and release; unlike
 * theirs, mapping for a device keeps the CPU sync (no
 * DMA_ATTR_SKIP_CPU_SYNC), because with swiotlb bouncing the unmap's sync
 * is what carries a device's writes into the buffer (heapload_dmabuf_map()).
 * A bounced mapping holds a copy of the buffer in the bounce buffer while
 * it lasts (swiotlb copies on map whatever the attributes); the software
 * backend accepts that, as the kernel can read its memory anyway, but a
 * backend whose memory the CPU must never touch (TEE, firewall) has to
 * refuse devices that bounce and skip the sync. Every CPU path is refused: mmap and begin/end_cpu_access with -EPERM (where
 * the dma-buf core would take a missing op as success), vmap with the
 * core's -EINVAL for a missing op (it warns when a vmap op fails).
 *
 * A buffer reaches user space only restricted: DMA_HEAP_IOCTL_ALLOC gives
 * an empty (zeroed) one; the loader fills a buffer with direct I/O while it
 * is still private to the kernel, then restricts it, then installs its fd.
 * Freed memory is unrestricted, then scrubbed, then returned to the pool.
 *
 * How memory is obtained and protected is a small ops interface
 * (struct heapload_restrict_ops, after MediaTek's restricted_heap_ops);
 * the default backend takes memory from restricted_pool.c and protects in
 * software only.
 */
#include <linux/device.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/mm.h>
#include <linux/sysfs.h>

#include "heapload.h"
#include "restricted.h"

static atomic64_t restricted_bytes;

static int software_restrict_buf(struct heapload_buffer *buffer)
{
	/*
	 * Nothing to program: with this backend the no-CPU-access rule is the
	 * heap's dma-buf ops, which refuse every CPU path of the buffer.
	 */
	return 0;
}

static void software_unrestrict_buf(struct heapload_buffer *buffer)
{
}

static const struct heapload_restrict_ops software_restrict_ops = {
	.name = "software",
	.alloc = heapload_rpool_alloc,
	.free = heapload_rpool_free,
	.restrict_buf = software_restrict_buf,
	.unrestrict_buf = software_unrestrict_buf,
};

static const struct heapload_restrict_ops *restrict_ops = &software_restrict_ops;

static int restricted_heap_cpu_access(struct dma_buf *dmabuf,
				      enum dma_data_direction direction)
{
	return -EPERM;
}

static int restricted_heap_mmap(struct dma_buf *dmabuf,
				struct vm_area_struct *vma)
{
	return -EPERM;
}

static const struct dma_buf_ops restricted_heap_buf_ops = {
	.attach = heapload_dmabuf_attach,
	.detach = heapload_dmabuf_detach,
	.map_dma_buf = heapload_dmabuf_map,
	.unmap_dma_buf = heapload_dmabuf_unmap,
	.begin_cpu_access = restricted_heap_cpu_access,
	.end_cpu_access = restricted_heap_cpu_access,
	.mmap = restricted_heap_mmap,
	/* No vmap: dma_buf_vmap() fails with -EINVAL (an op may not fail). */
	.release = heapload_dmabuf_release,
};

/* The pool's free memory is always zero, so @zero costs nothing. */
static int restricted_heap_alloc_chunk(struct heapload_heap *heap,
				       size_t remaining, bool zero, int nid,
				       unsigned int *cursor,
				       struct bio_vec *chunk)
{
	return restrict_ops->alloc(remaining, chunk);
}

/* Chunks of buffers never restricted (failed loads) are scrubbed too. */
static void restricted_heap_free_chunk(struct heapload_heap *heap,
				       struct page *page, size_t len)
{
	heapload_pages_scrub(page, len);
	restrict_ops->free(page, len);
}

static int restricted_heap_restrict(struct heapload_buffer *buffer)
{
	int ret = restrict_ops->restrict_buf(buffer);

	if (!ret)
		atomic64_add(buffer->len, &restricted_bytes);
	return ret;
}

static void restricted_heap_unrestrict(struct heapload_buffer *buffer)
{
	restrict_ops->unrestrict_buf(buffer);
	atomic64_sub(buffer->len, &restricted_bytes);
}

static const struct heapload_heap_ops restricted_heap_ops = {
	.alloc_chunk = restricted_heap_alloc_chunk,
	.free_chunk = restricted_heap_free_chunk,
	.restrict_buf = restricted_heap_restrict,
	.unrestrict_buf = restricted_heap_unrestrict,
	.dmabuf_ops = &restricted_heap_buf_ops,
	.merge_chunks = true,
};

static struct heapload_heap restricted_heap = {
	.name = "heapload,restricted",
	.ops = &restricted_heap_ops,
};

/* sysfs: /sys/class/misc/heapload/restricted/ */

#define RESTRICTED_POOL_ATTR(name, field)				\
static ssize_t name##_show(struct device *dev,				\
			   struct device_attribute *attr, char *buf)	\
{									\
	struct heapload_rpool_stats st;					\
									\
	heapload_rpool_get_stats(&st);					\
	return sysfs_emit(buf, "%llu\n", (unsigned long long)(field));	\
}									\
static DEVICE_ATTR_RO(name)

RESTRICTED_POOL_ATTR(size_bytes, st.size);
RESTRICTED_POOL_ATTR(claimed_bytes, st.claimed);
RESTRICTED_POOL_ATTR(used_bytes, st.used);
RESTRICTED_POOL_ATTR(free_bytes, st.size > st.used ? st.size - st.used : 0);
RESTRICTED_POOL_ATTR(largest_free_bytes, st.largest);
RESTRICTED_POOL_ATTR(min_chunk_bytes, st.min_chunk);

static ssize_t backing_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	struct heapload_rpool_stats st;

	heapload_rpool_get_stats(&st);
	return sysfs_emit(buf, "%s\n", st.backing);
}
static DEVICE_ATTR_RO(backing);

static ssize_t protection_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n", restrict_ops->name);
}
static DEVICE_ATTR_RO(protection);

static ssize_t restricted_bytes_show(struct device *dev,
				     struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lld\n",
			  (long long)atomic64_read(&restricted_bytes));
}
static DEVICE_ATTR_RO(restricted_bytes);

static struct attribute *heapload_restricted_attrs[] = {
	&dev_attr_backing.attr,
	&dev_attr_protection.attr,
	&dev_attr_size_bytes.attr,
	&dev_attr_claimed_bytes.attr,
	&dev_attr_used_bytes.attr,
	&dev_attr_free_bytes.attr,
	&dev_attr_largest_free_bytes.attr,
	&dev_attr_min_chunk_bytes.attr,
	&dev_attr_restricted_bytes.attr,
	NULL,
};

const struct attribute_group heapload_restricted_group = {
	.name = "restricted",
	.attrs = heapload_restricted_attrs,
};

static bool restricted_heap_added;

int heapload_restricted_heap_init(void)
{
	int ret = heapload_heap_add(&restricted_heap);

	restricted_heap_added = !ret;
	return ret;
}

void heapload_restricted_heap_exit(void)
{
	if (restricted_heap_added)
		heapload_heap_remove(&restricted_heap);
	restricted_heap_added = false;
}
