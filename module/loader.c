// SPDX-License-Identifier: GPL-2.0
/*
 * heapload loader: /dev/heapload and HEAPLOAD_IOC_LOAD.
 *
 * Allocates a heap buffer and fills it from a file with a kernel kiocb
 * over an ITER_BVEC of the buffer's pages: IOCB_DIRECT for direct I/O
 * (ITER_KVEC direct I/O fails on v6.1, bvecs work everywhere, as the loop
 * driver and nvmet show), the page cache otherwise. The buffer becomes a
 * dma-buf and an fd only when it is complete.
 */
#include <linux/bvec.h>
#include <linux/dma-buf.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/miscdevice.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <uapi/linux/heapload.h>

#include "heapload.h"

/* Direct I/O offsets and lengths stay multiples of this. */
#define HEAPLOAD_DIO_ALIGN	4096

/*
 * One read covers at most this many bytes, so a fatal signal is seen
 * within one such read, and the bvec array stays small.
 */
#define HEAPLOAD_READ_MAX	(16U << 20)
#define HEAPLOAD_READ_MAX_BVECS	256

static_assert(sizeof(struct heapload_load) == HEAPLOAD_LOAD_SIZE_VER0);

/**
 * struct heapload_read - state of one read of a file range into a buffer
 * @file:	the file
 * @pos:	file position of the next byte
 * @direct:	use IOCB_DIRECT
 * @bvec:	array of up to %HEAPLOAD_READ_MAX_BVECS entries
 */
struct heapload_read {
	struct file *file;
	loff_t pos;
	bool direct;
	struct bio_vec *bvec;
};

/*
 * Read @count bytes at rd->pos into @nr bvecs. Returns the bytes read,
 * fewer at end of file, or a negative errno.
 */
static ssize_t heapload_read_bvecs(struct heapload_read *rd, unsigned int nr,
				   size_t count)
{
	size_t done = 0;

	while (done < count) {
		struct iov_iter iter;
		struct kiocb kiocb;
		ssize_t ret;

		if (fatal_signal_pending(current))
			return -EINTR;

		/* Rebuild the iterator: a short read_iter may leave it anywhere. */
		iov_iter_bvec(&iter, ITER_DEST, rd->bvec, nr, count);
		iov_iter_advance(&iter, done);

		/* Our choice of direct or buffered, whatever O_DIRECT the fd has. */
		init_sync_kiocb(&kiocb, rd->file);
		kiocb.ki_pos = rd->pos;
		if (rd->direct)
			kiocb.ki_flags |= IOCB_DIRECT;
		else
			kiocb.ki_flags &= ~IOCB_DIRECT;

		ret = rd->file->f_op->read_iter(&kiocb, &iter);
		if (ret < 0)
			return ret;
		if (ret == 0)
			break;
		rd->pos += ret;
		done += ret;
		/* A direct read that ends off a block boundary hit end of file. */
		if (rd->direct && !IS_ALIGNED(ret, HEAPLOAD_DIO_ALIGN))
			break;
	}
	return done;
}

/*
 * Fill the first @want bytes of @table from the file, gathering up to
 * HEAPLOAD_READ_MAX bytes of the table's chunks into one bvec array per
 * read. Returns the bytes read or a negative errno.
 */
static ssize_t heapload_read_table(struct heapload_read *rd,
				   struct sg_table *table, size_t want)
{
	struct scatterlist *sg;
	size_t queued = 0, total = 0;
	unsigned int i, nr = 0;
	ssize_t ret;

	for_each_sgtable_sg(table, sg, i) {
		size_t sg_off = 0;

		while (sg_off < sg->length && total + queued < want) {
			size_t len = min_t(size_t, sg->length - sg_off,
					   want - total - queued);

			size_t off = sg->offset + sg_off;

			len = min_t(size_t, len, HEAPLOAD_READ_MAX - queued);
			rd->bvec[nr++] = (struct bio_vec) {
				.bv_page = sg_page(sg) + (off >> PAGE_SHIFT),
				.bv_offset = off & ~PAGE_MASK,
				.bv_len = len,
			};
			sg_off += len;
			queued += len;

			if (nr < HEAPLOAD_READ_MAX_BVECS &&
			    queued < HEAPLOAD_READ_MAX &&
			    total + queued < want)
				continue;

			ret = heapload_read_bvecs(rd, nr, queued);
			if (ret < 0)
				return ret;
			total += ret;
			if (ret < queued)
				return total;
			nr = 0;
			queued = 0;
		}
		if (total >= want)
			break;
	}
	return total;
}

/* Zero the buffer from byte @from to its end. */
static void heapload_zero_tail(struct sg_table *table, size_t from)
{
	struct scatterlist *sg;
	size_t start = 0;
	unsigned int i;

	for_each_sgtable_sg(table, sg, i) {
		size_t end = start + sg->length;

		if (end > from) {
			size_t off = from > start ? from - start : 0;
			size_t len = sg->length - off;
			struct page *page = sg_page(sg) + (off >> PAGE_SHIFT);

			off &= ~PAGE_MASK;
			while (len) {
				size_t n = min_t(size_t, len, PAGE_SIZE - off);

				memzero_page(page++, off, n);
				len -= n;
				off = 0;
			}
		}
		start = end;
	}
}

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
	if (!memchr(req->heap, '\0', sizeof(req->heap)))
		return -EINVAL;
	return 0;
}

/* Check the file and resolve the range; sets *direct. */
static int heapload_load_file_check(struct heapload_load *req,
				    struct file *file, bool *direct)
{
	struct inode *inode = file_inode(file);
	loff_t size;
	u64 end;

	if (!(file->f_mode & FMODE_READ))
		return -EBADF;
	if (S_ISDIR(inode->i_mode))
		return -EISDIR;
	if (!S_ISREG(inode->i_mode) || !file->f_op->read_iter)
		return -EINVAL;

	if (req->flags & HEAPLOAD_LOAD_DIRECT)
		*direct = true;
	else if (req->flags & HEAPLOAD_LOAD_BUFFERED)
		*direct = false;
	else
		*direct = file->f_flags & O_DIRECT;
	if (*direct && (!hl_file_can_direct_io(file) ||
			!IS_ALIGNED(req->offset, HEAPLOAD_DIO_ALIGN)))
		return -EINVAL;

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
	return 0;
}

/*
 * Allocate and fill a buffer with req->length bytes at req->offset.
 * Returns the complete buffer or an ERR_PTR; frees everything on error.
 */
static struct heapload_buffer *heapload_fill(struct heapload_heap *heap,
					     struct file *file,
					     struct heapload_load *req,
					     bool direct)
{
	struct heapload_read rd = { .file = file, .pos = req->offset,
				    .direct = direct };
	struct heapload_buffer *buffer;
	size_t len = PAGE_ALIGN(req->length);
	ssize_t ret;

	if (len < req->length)
		return ERR_PTR(-ENOMEM);

	rd.bvec = kmalloc_array(HEAPLOAD_READ_MAX_BVECS, sizeof(*rd.bvec),
				GFP_KERNEL);
	if (!rd.bvec)
		return ERR_PTR(-ENOMEM);

	buffer = heap->ops->allocate(heap, len);
	if (IS_ERR(buffer))
		goto out;

	/* Direct reads cover whole blocks; what lies past the range is zeroed below. */
	ret = heapload_read_table(&rd, &buffer->sg_table,
				  direct ? ALIGN(req->length, HEAPLOAD_DIO_ALIGN) :
					   req->length);
	if (ret >= 0 && ret < req->length)
		ret = -ENODATA;	/* the file shrank under us */
	if (ret < 0) {
		heap->ops->free(buffer);
		buffer = ERR_PTR(ret);
		goto out;
	}
	heapload_zero_tail(&buffer->sg_table, req->length);
out:
	kfree(rd.bvec);
	return buffer;
}

static long heapload_ioctl_load(void __user *uarg, size_t usize)
{
	struct heapload_buffer *buffer;
	struct heapload_heap *heap;
	struct heapload_load req;
	struct dma_buf *dmabuf;
	struct file *file;
	bool direct;
	int ret;

	if (usize < HEAPLOAD_LOAD_SIZE_VER0)
		return -EINVAL;
	ret = copy_struct_from_user(&req, sizeof(req), uarg, usize);
	if (ret)
		return ret;
	ret = heapload_load_check(&req, usize);
	if (ret)
		return ret;

	heap = heapload_heap_find(req.heap);
	if (!heap)
		return -ENODEV;

	file = fget(req.file_fd);
	if (!file)
		return -EBADF;

	ret = heapload_load_file_check(&req, file, &direct);
	if (ret)
		goto out_fput;

	buffer = heapload_fill(heap, file, &req, direct);
	if (IS_ERR(buffer)) {
		ret = PTR_ERR(buffer);
		goto out_fput;
	}

	dmabuf = heapload_buffer_export(buffer, req.fd_flags);
	if (IS_ERR(dmabuf)) {
		heap->ops->free(buffer);
		ret = PTR_ERR(dmabuf);
		goto out_fput;
	}

	req.loaded = req.length;
	req.buf_size = buffer->len;
	ret = heapload_install_dmabuf(dmabuf, req.fd_flags, uarg, &req,
				      sizeof(req), (u32 *)&req.dmabuf_fd);
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

static ssize_t allocated_bytes_show(struct device *dev,
				    struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lld\n", heapload_stats_allocated_bytes());
}
static DEVICE_ATTR_RO(allocated_bytes);

static ssize_t buffers_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%d\n", heapload_stats_buffers());
}
static DEVICE_ATTR_RO(buffers);

static struct attribute *heapload_attrs[] = {
	&dev_attr_allocated_bytes.attr,
	&dev_attr_buffers.attr,
	NULL,
};
ATTRIBUTE_GROUPS(heapload);

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

int heapload_loader_init(void)
{
	return misc_register(&heapload_misc);
}

void heapload_loader_exit(void)
{
	misc_deregister(&heapload_misc);
}
