// SPDX-License-Identifier: GPL-2.0
/*
 * heapload loader: /dev/heapload and HEAPLOAD_IOC_LOAD.
 *
 * Checks the request and the file, has gather.c allocate and fill the
 * buffer (kernel kiocbs over ITER_BVECs of the buffer's pages: IOCB_DIRECT
 * for direct I/O, since ITER_KVEC direct I/O fails on v6.1 while bvecs
 * work everywhere, as the loop driver and nvmet show; the page cache
 * otherwise), and makes it a dma-buf and an fd only when it is complete.
 */
#include <linux/blkdev.h>
#include <linux/bvec.h>
#include <linux/dma-buf.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/ktime.h>
#include <linux/miscdevice.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <uapi/linux/heapload.h>

#include "heapload.h"

static_assert(sizeof(struct heapload_load) == HEAPLOAD_LOAD_SIZE_VER1);

static int heapload_load_check(const struct heapload_load *req, size_t usize)
{
	if (req->size != usize)
		return -EINVAL;
	if (req->flags & ~HEAPLOAD_LOAD_VALID_FLAGS)
		return -EINVAL;
	if ((req->flags & HEAPLOAD_LOAD_DIRECT) &&
	    (req->flags & HEAPLOAD_LOAD_BUFFERED))
		return -EINVAL;
	if (req->fd_flags & ~(O_CLOEXEC | O_ACCMODE))
		return -EINVAL;
	if (req->__pad || memchr_inv(req->reserved, 0, sizeof(req->reserved)))
		return -EINVAL;
	if (!IS_ALIGNED(req->progress_addr, sizeof(u64)))
		return -EINVAL;
	if (!memchr(req->heap, '\0', sizeof(req->heap)))
		return -EINVAL;
	return 0;
}

/*
 * The alignment, in bytes, of file offsets and lengths for direct I/O on
 * @file: what statx() reports as STATX_DIOALIGN (v6.1; ext4, xfs, f2fs),
 * else the logical block size of the file system's device, else the page
 * size. 512 on most disks, 4096 on 4Kn ones.
 */
static u32 heapload_dio_align(struct file *file)
{
	struct block_device *bdev = file_inode(file)->i_sb->s_bdev;
	struct kstat stat;

	if (!vfs_getattr(&file->f_path, &stat, STATX_DIOALIGN,
			 AT_STATX_SYNC_AS_STAT) &&
	    (stat.result_mask & STATX_DIOALIGN) && stat.dio_offset_align)
		return stat.dio_offset_align;
	if (bdev)
		return bdev_logical_block_size(bdev);
	return PAGE_SIZE;
}

/*
 * Check the file and resolve the range; sets *dio_align to the file's
 * direct-I/O alignment, or to 0 for a buffered load. Loads into a
 * restricted heap always use direct I/O: no copy may stay in the page cache.
 */
static int heapload_load_file_check(struct heapload_load *req,
				    const struct heapload_heap *heap,
				    struct file *file, u32 *dio_align)
{
	bool direct;
	struct inode *inode = file_inode(file);
	loff_t size;
	u64 end;

	if (!(file->f_mode & FMODE_READ))
		return -EBADF;
	if (S_ISDIR(inode->i_mode))
		return -EISDIR;
	if (!S_ISREG(inode->i_mode) || !file->f_op->read_iter)
		return -EINVAL;

	if (heap->ops->restrict_buf && (req->flags & HEAPLOAD_LOAD_BUFFERED))
		return -EINVAL;
	if ((req->flags & HEAPLOAD_LOAD_DIRECT) || heap->ops->restrict_buf)
		direct = true;
	else if (req->flags & HEAPLOAD_LOAD_BUFFERED)
		direct = false;
	else
		direct = file->f_flags & O_DIRECT;
	*dio_align = 0;
	if (direct) {
		if (!hl_file_can_direct_io(file))
			return -EINVAL;
		*dio_align = heapload_dio_align(file);
		if (!IS_ALIGNED(req->offset, *dio_align))
			return -EINVAL;
	}

	if (check_add_overflow(req->offset, req->length, &end) ||
	    end > LLONG_MAX)
		return -EOVERFLOW;
	size = i_size_read(inode);
	if (req->offset > size || end > size)
		return -EINVAL;
	if (!req->length)
		req->length = size - req->offset;
	if (!req->length)
		return -ENODATA;
	/*
	 * Direct reads cover whole blocks; where a block is larger than a
	 * page, the last one must still fit in the buffer: refuse here
	 * rather than fail in the middle of the load.
	 */
	if (*dio_align && ALIGN(req->length, *dio_align) > PAGE_ALIGN(req->length))
		return -EINVAL;
	return 0;
}

/* Zero what a version 0 caller cannot pass; out fields start at 0. */
static void heapload_load_reset_out(struct heapload_load *req)
{
	req->dmabuf_fd = -1;
	req->loaded = 0;
	req->buf_size = 0;
	req->alloc_ns = 0;
	req->io_ns = 0;
	req->total_ns = 0;
	req->batches = 0;
	req->max_inflight = 0;
}

static long heapload_ioctl_load(void __user *uarg, size_t usize)
{
	u64 start_ns = ktime_get_ns();
	struct heapload_buffer *buffer;
	struct heapload_heap *heap;
	struct heapload_load req;
	struct dma_buf *dmabuf;
	struct file *file;
	u32 dio_align;
	int ret;

	if (usize < HEAPLOAD_LOAD_SIZE_VER0)
		return -EINVAL;
	ret = copy_struct_from_user(&req, sizeof(req), uarg, usize);
	if (ret)
		return ret;
	ret = heapload_load_check(&req, usize);
	if (ret)
		return ret;
	heapload_load_reset_out(&req);

	heap = heapload_heap_find(req.heap);
	if (!heap)
		return -ENODEV;

	file = fget(req.file_fd);
	if (!file)
		return -EBADF;

	ret = heapload_load_file_check(&req, heap, file, &dio_align);
	if (ret)
		goto out_fput;

	buffer = heapload_gather_load(heap, file, &req, dio_align);
	if (IS_ERR(buffer)) {
		ret = PTR_ERR(buffer);
		goto out_count;
	}

	/* Filled while private to the kernel; restricted before anyone sees it. */
	dmabuf = heapload_buffer_export(buffer, req.fd_flags);
	if (IS_ERR(dmabuf)) {
		heapload_buffer_free(buffer);
		ret = PTR_ERR(dmabuf);
		goto out_count;
	}

	req.loaded = req.length;
	req.buf_size = buffer->len;
	req.total_ns = ktime_get_ns() - start_ns;
	/* Write back only what the caller's version of the struct has. */
	ret = heapload_install_dmabuf(dmabuf, req.fd_flags, uarg, &req,
				      min(usize, sizeof(req)),
				      (u32 *)&req.dmabuf_fd);
out_count:
	if (ret) {
		atomic64_inc(&heapload_stats.load_failures);
	} else {
		atomic64_inc(&heapload_stats.loads);
		atomic64_add(req.loaded, &heapload_stats.loaded_bytes);
	}
out_fput:
	fput(file);
	return ret;
}

static long heapload_ioctl(struct file *filp, unsigned int cmd,
			   unsigned long arg)
{
	if (_IOC_TYPE(cmd) != HEAPLOAD_IOC_MAGIC)
		return -ENOTTY;

	switch (_IOC_NR(cmd)) {
	case _IOC_NR(HEAPLOAD_IOC_LOAD):
		if (_IOC_DIR(cmd) != (_IOC_READ | _IOC_WRITE))
			return -ENOTTY;
		return heapload_ioctl_load((void __user *)arg, _IOC_SIZE(cmd));
	default:
		return -ENOTTY;
	}
}

#define HEAPLOAD_STAT_ATTR(name, read)					\
static ssize_t name##_show(struct device *dev,				\
			   struct device_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%lld\n", (long long)read(&heapload_stats.name)); \
}									\
static DEVICE_ATTR_RO(name)

HEAPLOAD_STAT_ATTR(allocated_bytes, atomic64_read);
HEAPLOAD_STAT_ATTR(buffers, atomic_read);
HEAPLOAD_STAT_ATTR(loads, atomic64_read);
HEAPLOAD_STAT_ATTR(load_failures, atomic64_read);
HEAPLOAD_STAT_ATTR(loaded_bytes, atomic64_read);
HEAPLOAD_STAT_ATTR(inflight_bytes, atomic64_read);

static ssize_t registration_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n", heapload_heap_registration);
}
static DEVICE_ATTR_RO(registration);

static struct attribute *heapload_attrs[] = {
	&dev_attr_registration.attr,
	&dev_attr_allocated_bytes.attr,
	&dev_attr_buffers.attr,
	&dev_attr_loads.attr,
	&dev_attr_load_failures.attr,
	&dev_attr_loaded_bytes.attr,
	&dev_attr_inflight_bytes.attr,
	NULL,
};

static const struct attribute_group heapload_group = {
	.attrs = heapload_attrs,
};

static const struct attribute_group *heapload_groups[] = {
	&heapload_group,
	&heapload_restricted_group,
	NULL,
};

static const struct file_operations heapload_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= heapload_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice heapload_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "heapload",
	.fops	= &heapload_fops,
	.groups	= heapload_groups,
};

static bool heapload_misc_registered;

int heapload_loader_init(void)
{
	int ret = misc_register(&heapload_misc);

	heapload_misc_registered = !ret;
	return ret;
}

void heapload_loader_exit(void)
{
	if (heapload_misc_registered)
		misc_deregister(&heapload_misc);
	heapload_misc_registered = false;
}
