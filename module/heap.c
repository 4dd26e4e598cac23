// SPDX-License-Identifier: GPL-2.0
/*
 * heapload heap core: the list of heaps, the upstream dma-heap UAPI on
 * /dev/dma_heap/<name> for kernels whose dma-heap framework cannot take our
 * heaps, dma-buf export and fd installation.
 *
 * The ioctl handling mirrors drivers/dma-buf/dma-heap.c so that unmodified
 * heap users see no difference, with one deliberate change: the fd is
 * installed only after the result was copied back to user space.
 */
#include <linux/dma-buf.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <uapi/linux/dma-heap.h>

#include "heapload.h"

#define HEAPLOAD_MAX_HEAPS	8

/* Only these fd flags may be asked for, as upstream (DMA_HEAP_VALID_FD_FLAGS). */
#define HEAPLOAD_VALID_FD_FLAGS	(O_CLOEXEC | O_ACCMODE)

static LIST_HEAD(heap_list);
static DEFINE_MUTEX(heap_list_lock);
static dev_t heap_devt;
static struct class *heap_class;

/**
 * heapload_buffer_export() - export a complete buffer as a dma-buf
 * @buffer:	buffer from a heap's allocate op; owned by the dma-buf on success
 * @fd_flags:	O_ACCMODE bits give the dma-buf file's access mode
 *
 * The dma-buf holds a reference on this module until it is released.
 *
 * Return: the dma-buf, or an ERR_PTR; on error @buffer is still the caller's.
 */
struct dma_buf *heapload_buffer_export(struct heapload_buffer *buffer,
				       u32 fd_flags)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);

	exp_info.exp_name = buffer->heap->name;
	exp_info.ops = buffer->heap->ops->dmabuf_ops;
	exp_info.size = buffer->len;
	exp_info.flags = fd_flags;
	exp_info.priv = buffer;
	return dma_buf_export(&exp_info);
}

/**
 * heapload_install_dmabuf() - hand a dma-buf to user space, fd last
 * @dmabuf:	the exported buffer; its reference passes to the new fd, or is
 *		dropped on error
 * @fd_flags:	O_CLOEXEC decides the fd's close-on-exec flag
 * @uarg:	user copy of the ioctl argument
 * @karg:	kernel copy of the ioctl argument
 * @size:	bytes of @karg to copy back to @uarg
 * @fd_field:	where in @karg the fd number goes
 *
 * Reserves an fd, copies the result (with the fd number) back, and only
 * then installs the fd, so no other thread can reach the buffer before the
 * ioctl succeeded, and a failed copy leaves no fd behind.
 *
 * Return: 0, -EMFILE (or another get_unused_fd_flags() error), or -EFAULT.
 */
int heapload_install_dmabuf(struct dma_buf *dmabuf, u32 fd_flags,
			    void __user *uarg, void *karg, size_t size,
			    u32 *fd_field)
{
	int fd;

	fd = get_unused_fd_flags(fd_flags);
	if (fd < 0) {
		dma_buf_put(dmabuf);
		return fd;
	}
	*fd_field = fd;
	if (copy_to_user(uarg, karg, size)) {
		put_unused_fd(fd);
		dma_buf_put(dmabuf);
		return -EFAULT;
	}
	fd_install(fd, dmabuf->file);
	return 0;
}

struct heapload_heap *heapload_heap_find(const char *name)
{
	struct heapload_heap *heap, *found = NULL;

	mutex_lock(&heap_list_lock);
	list_for_each_entry(heap, &heap_list, list) {
		if (!strcmp(heap->name, name)) {
			found = heap;
			break;
		}
	}
	mutex_unlock(&heap_list_lock);
	return found;
}

static int heapload_heap_alloc(struct heapload_heap *heap,
			       struct dma_heap_allocation_data *data,
			       void __user *uarg, size_t out_size)
{
	struct heapload_buffer *buffer;
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

	buffer = heapload_buffer_alloc(heap, len);
	if (IS_ERR(buffer))
		return PTR_ERR(buffer);

	dmabuf = heapload_buffer_export(buffer, data->fd_flags);
	if (IS_ERR(dmabuf)) {
		heapload_buffer_free(buffer);
		return PTR_ERR(dmabuf);
	}
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

/**
 * heapload_heap_add() - make a heap usable by the loader and by dma-heap users
 * @heap: heap with @name and @ops set; must stay valid until removed
 *
 * Creates /dev/dma_heap/<name> speaking the upstream dma-heap UAPI.
 *
 * Return: 0, -EEXIST for a duplicate name, -ENOSPC when all minors are used,
 * or an error of cdev_add()/device_create().
 */
int heapload_heap_add(struct heapload_heap *heap)
{
	static unsigned int next_minor;
	dev_t devt;
	int ret;

	if (heapload_heap_find(heap->name))
		return -EEXIST;
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
		ret = PTR_ERR(heap->dev);
		goto err_cdev;
	}

	mutex_lock(&heap_list_lock);
	list_add_tail(&heap->list, &heap_list);
	mutex_unlock(&heap_list_lock);
	pr_info("heap %s: /dev/dma_heap/%s (heapload's own dma-heap UAPI)\n",
		heap->name, heap->name);
	return 0;

err_cdev:
	cdev_del(&heap->cdev);
	return ret;
}

void heapload_heap_remove(struct heapload_heap *heap)
{
	mutex_lock(&heap_list_lock);
	list_del(&heap->list);
	mutex_unlock(&heap_list_lock);
	device_destroy(heap_class, heap->dev->devt);
	cdev_del(&heap->cdev);
}

static char *heapload_heap_devnode(HL_DEVNODE_CONST struct device *dev,
				   umode_t *mode)
{
	return kasprintf(GFP_KERNEL, "dma_heap/%s", dev_name(dev));
}

int heapload_heaps_init(void)
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

void heapload_heaps_exit(void)
{
	class_destroy(heap_class);
	unregister_chrdev_region(heap_devt, HEAPLOAD_MAX_HEAPS);
}
