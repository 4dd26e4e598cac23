// SPDX-License-Identifier: GPL-2.0
/*
 * heapload heap core: the list of heaps, dma-buf export and fd
 * installation. Each heap also gets a /dev/dma_heap/<name> node from one of
 * two registration paths, chosen at build time by a feature probe:
 * heap_framework.c where the kernel exports dma_heap_add(), heap_uapi.c
 * (heapload's own copy of the dma-heap UAPI) where it does not.
 */
#include <linux/dma-buf.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "heapload.h"

static LIST_HEAD(heap_list);
static DEFINE_MUTEX(heap_list_lock);

/**
 * heapload_buffer_export() - export a complete buffer as a dma-buf
 * @buffer:	buffer from a heap's allocate op; owned by the dma-buf on success
 * @fd_flags:	O_ACCMODE bits give the dma-buf file's access mode
 *
 * A buffer of a restricted heap is restricted first (heapload_buffer_restrict()),
 * so that such buffers only ever reach user space restricted. The dma-buf
 * holds a reference on this module until it is released.
 *
 * Return: the dma-buf, or an ERR_PTR; on error @buffer is still the caller's
 * (heapload_buffer_free() lifts a restriction).
 */
struct dma_buf *heapload_buffer_export(struct heapload_buffer *buffer,
				       u32 fd_flags)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	int ret;

	ret = heapload_buffer_restrict(buffer);
	if (ret)
		return ERR_PTR(ret);

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

/**
 * heapload_dmabuf_buffer() - the heapload buffer behind a dma-buf
 * @dmabuf:	any dma-buf
 *
 * Return: the buffer if one of heapload's heaps exported @dmabuf, else NULL.
 */
struct heapload_buffer *heapload_dmabuf_buffer(struct dma_buf *dmabuf)
{
	struct heapload_heap *heap;
	bool ours = false;

	mutex_lock(&heap_list_lock);
	list_for_each_entry(heap, &heap_list, list) {
		if (dmabuf->ops == heap->ops->dmabuf_ops) {
			ours = true;
			break;
		}
	}
	mutex_unlock(&heap_list_lock);
	return ours ? dmabuf->priv : NULL;
}

/**
 * heapload_heap_allocate() - what DMA_HEAP_IOCTL_ALLOC does with a heap
 * @heap:	the heap
 * @len:	size in bytes, a non-zero multiple of PAGE_SIZE
 * @fd_flags:	O_ACCMODE bits give the dma-buf file's access mode
 *
 * Return: a zeroed, exported buffer (restricted, if the heap restricts its
 * buffers), or ERR_PTR(-ENOMEM / -EINTR) or the heap's restrict_buf error.
 */
struct dma_buf *heapload_heap_allocate(struct heapload_heap *heap, size_t len,
				       u32 fd_flags)
{
	struct heapload_buffer *buffer;
	struct dma_buf *dmabuf;

	buffer = heapload_buffer_alloc(heap, len);
	if (IS_ERR(buffer))
		return ERR_CAST(buffer);

	dmabuf = heapload_buffer_export(buffer, fd_flags);
	if (IS_ERR(dmabuf))
		heapload_buffer_free(buffer);
	return dmabuf;
}

/**
 * heapload_heap_add() - make a heap usable by the loader and by dma-heap users
 * @heap: heap with @name and @ops set; must stay valid until removed
 *
 * Return: 0, -EEXIST for a duplicate name, or an error of the registration
 * path. On the dma-heap framework path a registered heap can never be
 * removed again (see heap_framework.c).
 */
int heapload_heap_add(struct heapload_heap *heap)
{
	int ret;

	if (heapload_heap_find(heap->name))
		return -EEXIST;
	if (heapload_fault_heap_add(heap->name))
		return -ENOMEM;
	ret = heapload_heap_node_add(heap);
	if (ret)
		return ret;

	mutex_lock(&heap_list_lock);
	list_add_tail(&heap->list, &heap_list);
	mutex_unlock(&heap_list_lock);
	pr_info("heap %s: /dev/dma_heap/%s (%s)\n", heap->name, heap->name,
		heapload_heap_registration);
	return 0;
}

void heapload_heap_remove(struct heapload_heap *heap)
{
	mutex_lock(&heap_list_lock);
	list_del(&heap->list);
	mutex_unlock(&heap_list_lock);
	heapload_heap_node_remove(heap);
}
