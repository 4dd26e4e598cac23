// SPDX-License-Identifier: GPL-2.0
/*
 * heapload's own dma-heap UAPI, for kernels whose dma-heap framework does
 * not export dma_heap_add() (Debian 12's has no framework at all; Debian
 * 13's has one but keeps it to in-tree heaps): a character device per heap
 * at /dev/dma_heap/<name>, in a class of our own so that it coexists with
 * the kernel's "dma_heap" class and its heaps.
 *
 * The ioctl handling mirrors drivers/dma-buf/dma-heap.c so that unmodified
 * heap users see no difference, with one deliberate change: the fd is
 * installed only after the result was copied back to user space.
 *
 * Always compiled; empty where the kernel exports dma_heap_add(), where
 * heap_framework.c serves instead.
 */
#ifndef HL_HAVE_EXPORTED_DMA_HEAP_ADD
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/dma-buf.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <uapi/linux/dma-heap.h>

#include "heapload.h"

#define HEAPLOAD_MAX_HEAPS	8

/* Only these fd flags may be asked for, as upstream (DMA_HEAP_VALID_FD_FLAGS). */
#define HEAPLOAD_VALID_FD_FLAGS	(O_CLOEXEC | O_ACCMODE)

const char heapload_heap_registration[] = "heapload's own dma-heap UAPI";

static dev_t heap_devt;
static struct class *heap_class;

static int heapload_heap_alloc(struct heapload_heap *heap,
			       struct dma_heap_allocation_data *data,
			       void __user *uarg, size_t out_size)
{
	struct dma_buf *dmabuf;
	size_t len;

	if (data->fd)
		return -EINVAL;
	if (data->fd_flags & ~HEAPLOAD_VALID_FD_FLAGS)
		return -EINVAL;
	if (data->heap_flags)
		return -EINVAL;

	len = PAGE_ALIGN(data->len);
	if (!len || len < data->len)
		return -EINVAL;

	dmabuf = heapload_heap_allocate(heap, len, data->fd_flags);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	return heapload_install_dmabuf(dmabuf, data->fd_flags, uarg, data,
				       out_size, &data->fd);
}

/*
 * Same size handling as upstream dma_heap_ioctl(): a smaller (older) struct
 * is zero-extended, the unknown tail of a larger (newer) one is ignored, and
 * as many bytes as the caller passed are written back.
 */
static long heapload_heap_ioctl(struct file *file, unsigned int ucmd,
				unsigned long arg)
{
	struct heapload_heap *heap = file->private_data;
	struct dma_heap_allocation_data data = {};
	void __user *uarg = (void __user *)arg;
	size_t in_size = 0, out_size = 0;

	if (_IOC_TYPE(ucmd) != _IOC_TYPE(DMA_HEAP_IOCTL_ALLOC) ||
	    _IOC_NR(ucmd) != _IOC_NR(DMA_HEAP_IOCTL_ALLOC))
		return -ENOTTY;

	if (_IOC_DIR(ucmd) & _IOC_WRITE)
		in_size = min_t(size_t, _IOC_SIZE(ucmd), sizeof(data));
	if (_IOC_DIR(ucmd) & _IOC_READ)
		out_size = min_t(size_t, _IOC_SIZE(ucmd), sizeof(data));

	if (copy_from_user(&data, uarg, in_size))
		return -EFAULT;

	return heapload_heap_alloc(heap, &data, uarg, out_size);
}

static int heapload_heap_open(struct inode *inode, struct file *file)
{
	struct heapload_heap *heap;

	heap = container_of(inode->i_cdev, struct heapload_heap, cdev);
	file->private_data = heap;
	nonseekable_open(inode, file);
	return 0;
}

static const struct file_operations heapload_heap_fops = {
	.owner		= THIS_MODULE,
	.open		= heapload_heap_open,
	.unlocked_ioctl	= heapload_heap_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

int heapload_heap_node_add(struct heapload_heap *heap)
{
	static unsigned int next_minor;
	dev_t devt;
	int ret;

	if (next_minor >= HEAPLOAD_MAX_HEAPS)
		return -ENOSPC;
	devt = MKDEV(MAJOR(heap_devt), next_minor++);

	cdev_init(&heap->cdev, &heapload_heap_fops);
	heap->cdev.owner = THIS_MODULE;
	ret = cdev_add(&heap->cdev, devt, 1);
	if (ret)
		return ret;

	heap->dev = device_create(heap_class, NULL, devt, NULL, "%s", heap->name);
	if (IS_ERR(heap->dev)) {
		cdev_del(&heap->cdev);
		return PTR_ERR(heap->dev);
	}
	return 0;
}

void heapload_heap_node_remove(struct heapload_heap *heap)
{
	device_destroy(heap_class, heap->dev->devt);
	cdev_del(&heap->cdev);
}

static char *heapload_heap_devnode(HL_DEVNODE_CONST struct device *dev,
				   umode_t *mode)
{
	return kasprintf(GFP_KERNEL, "dma_heap/%s", dev_name(dev));
}

int heapload_heap_nodes_init(void)
{
	int ret;

	ret = alloc_chrdev_region(&heap_devt, 0, HEAPLOAD_MAX_HEAPS,
				  "heapload_dma_heap");
	if (ret)
		return ret;

	/* Not "dma_heap": that class belongs to the kernel's framework. */
	heap_class = hl_class_create("heapload_dma_heap");
	if (IS_ERR(heap_class)) {
		unregister_chrdev_region(heap_devt, HEAPLOAD_MAX_HEAPS);
		return PTR_ERR(heap_class);
	}
	heap_class->devnode = heapload_heap_devnode;
	return 0;
}

void heapload_heap_nodes_exit(void)
{
	class_destroy(heap_class);
	unregister_chrdev_region(heap_devt, HEAPLOAD_MAX_HEAPS);
}

#endif /* !HL_HAVE_EXPORTED_DMA_HEAP_ADD */
