/* SPDX-License-Identifier: GPL-2.0 */
/*
 * heapload internal interfaces: heaps, their buffers, and the loader.
 */
#ifndef _HEAPLOAD_H
#define _HEAPLOAD_H

#include <linux/cdev.h>
#include <linux/dma-buf.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/types.h>

struct heapload_heap;

/**
 * struct heapload_buffer - memory of one heap allocation
 * @heap:	the heap it came from
 * @attachments: list of struct heapload_attachment, under @lock
 * @lock:	protects @attachments, @vmap_cnt and @vaddr
 * @len:	size in bytes, a multiple of PAGE_SIZE
 * @sg_table:	the pages, one entry per physically contiguous chunk
 * @vmap_cnt:	users of @vaddr
 * @vaddr:	kernel mapping while @vmap_cnt > 0
 */
struct heapload_buffer {
	struct heapload_heap *heap;
	struct list_head attachments;
	struct mutex lock;
	size_t len;
	struct sg_table sg_table;
	int vmap_cnt;
	void *vaddr;
};

/**
 * struct heapload_heap_ops - what a heap implements
 * @allocate:	allocate @len bytes (page-aligned, non-zero) of zeroed memory;
 *		returns the buffer or ERR_PTR(-ENOMEM / -EINTR). The buffer is
 *		not exported yet.
 * @free:	free a buffer that was never exported (an exported buffer is
 *		freed by its dma_buf_ops.release).
 * @dmabuf_ops:	the dma-buf exporter ops of this heap's buffers
 */
struct heapload_heap_ops {
	struct heapload_buffer *(*allocate)(struct heapload_heap *heap, size_t len);
	void (*free)(struct heapload_buffer *buffer);
	const struct dma_buf_ops *dmabuf_ops;
};

/**
 * struct heapload_heap - a heap and its /dev/dma_heap/<name> node
 * @name:	heap name, e.g. "heapload,system"
 * @ops:	the heap's operations
 * @list:	entry in the list of heaps
 * @cdev:	character device of the dma-heap node
 * @dev:	device of the dma-heap node
 */
struct heapload_heap {
	const char *name;
	const struct heapload_heap_ops *ops;
	struct list_head list;
	struct cdev cdev;
	struct device *dev;
};

/* heap.c: registry, dma-heap UAPI, limits, statistics */
int heapload_heaps_init(void);
void heapload_heaps_exit(void);
int heapload_heap_add(struct heapload_heap *heap);
void heapload_heap_remove(struct heapload_heap *heap);
struct heapload_heap *heapload_heap_find(const char *name);
int heapload_check_alloc(size_t len);
struct dma_buf *heapload_buffer_export(struct heapload_buffer *buffer,
				       u32 fd_flags);
int heapload_install_dmabuf(struct dma_buf *dmabuf, u32 fd_flags,
			    void __user *uarg, void *karg, size_t size,
			    u32 *fd_field);

void heapload_stats_add(long bytes);
void heapload_stats_sub(long bytes);
void heapload_stats_buffer(int delta);
s64 heapload_stats_allocated_bytes(void);
int heapload_stats_buffers(void);

extern unsigned int heapload_max_alloc_mb;

/* system_heap.c */
int heapload_system_heap_init(void);
void heapload_system_heap_exit(void);

/* loader.c */
int heapload_loader_init(void);
void heapload_loader_exit(void);

#endif /* _HEAPLOAD_H */
