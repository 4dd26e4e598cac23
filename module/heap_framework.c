// SPDX-License-Identifier: GPL-2.0
/*
 * Registration through the kernel's dma-heap framework, where it exports
 * dma_heap_add() (namespace DMA_BUF_HEAP, v6.18; Debian sid): the heaps
 * then appear in /dev/dma_heap and /sys/class/dma_heap exactly like in-tree
 * ones, and the framework handles DMA_HEAP_IOCTL_ALLOC.
 *
 * The framework has no dma_heap_remove(): a heap, once added, lives until
 * reboot and calls into this module. So, like upstream's own heap modules,
 * heapload then cannot be unloaded: each registration takes a module
 * reference that is never dropped (rmmod fails with EBUSY).
 *
 * Always compiled; empty where the kernel does not export dma_heap_add(),
 * where heap_uapi.c serves instead.
 */
#ifdef HL_HAVE_EXPORTED_DMA_HEAP_ADD
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/err.h>
#include <linux/module.h>

#include "heapload.h"

HL_MODULE_IMPORT_NS(DMA_BUF_HEAP);

const char heapload_heap_registration[] = "dma-heap framework (dma_heap_add)";

static struct dma_buf *heapload_framework_allocate(struct dma_heap *dma_heap,
						   unsigned long len,
						   u32 fd_flags, u64 heap_flags)
{
	/* The framework checked fd_flags and heap_flags and aligned len. */
	return heapload_heap_allocate(dma_heap_get_drvdata(dma_heap), len,
				      fd_flags);
}

static const struct dma_heap_ops heapload_framework_ops = {
	.allocate = heapload_framework_allocate,
};

int heapload_heap_node_add(struct heapload_heap *heap)
{
	struct dma_heap_export_info exp_info = {
		.name = heap->name,
		.ops = &heapload_framework_ops,
		.priv = heap,
	};
	struct dma_heap *dma_heap;

	dma_heap = dma_heap_add(&exp_info);
	if (IS_ERR(dma_heap))
		return PTR_ERR(dma_heap);
	__module_get(THIS_MODULE);
	return 0;
}

void heapload_heap_node_remove(struct heapload_heap *heap)
{
	/* Unreachable once a heap is added: the module cannot be unloaded. */
}

int heapload_heap_nodes_init(void)
{
	return 0;
}

void heapload_heap_nodes_exit(void)
{
}

#endif /* HL_HAVE_EXPORTED_DMA_HEAP_ADD */
