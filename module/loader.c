// SPDX-License-Identifier: GPL-2.0
/*
 * heapload loader: /dev/heapload and HEAPLOAD_IOC_LOAD.
 *
 * Checks the request and the file, has gather.c allocate and fill the
 * buffer (kernel kiocbs over ITER_BVECs of the buffer's pages, or with
 * batch_mapping=vmap ITER_KVECs over vmaps of them: IOCB_DIRECT for
 * direct I/O, the page cache otherwise), and makes it a dma-buf and an fd
 * only when it is complete.
 */
#include <linux/anon_inodes.h>
#include <linux/blkdev.h>
#include <linux/cgroup.h>
#include <linux/dma-resv.h>
#include <linux/kthread.h>
#include <linux/memcontrol.h>
#include <linux/nodemask.h>
#include <linux/poll.h>
#include <linux/sched/task.h>
#include <linux/sort.h>
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

static_assert(sizeof(struct heapload_load) == HEAPLOAD_LOAD_SIZE_VER3);
static_assert(sizeof(struct heapload_segment) == HEAPLOAD_SEGMENT_SIZE_VER0);

static int heapload_load_check(const struct heapload_load *req, size_t usize)
{
	u32 node_flag = req->flags & HEAPLOAD_LOAD_NUMA_NODE;
	u32 into = req->flags & HEAPLOAD_LOAD_INTO;

	if (req->size != usize)
		return -EINVAL;
	if (req->flags & ~HEAPLOAD_LOAD_VALID_FLAGS)
		return -EINVAL;
	/* An older struct cannot carry their fields, nor get a load fd back. */
	if (usize < HEAPLOAD_LOAD_SIZE_VER2 &&
	    (req->flags & ~(HEAPLOAD_LOAD_DIRECT | HEAPLOAD_LOAD_BUFFERED)))
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
	/* Version 2 */
	if (req->nr_segments) {
		if (req->file_fd || req->offset || req->length ||
		    req->segment_size < HEAPLOAD_SEGMENT_SIZE_VER0)
			return -EINVAL;
		if (req->nr_segments > HEAPLOAD_MAX_SEGMENTS)
			return -E2BIG;
	} else if (req->segments || req->segment_size) {
		return -EINVAL;
	}
	if (into ? req->heap[0] || req->fd_flags || node_flag : req->target_fd)
		return -EINVAL;
	if (!node_flag && req->numa_node)
		return -EINVAL;
	if (node_flag && (req->numa_node < 0 || req->numa_node >= MAX_NUMNODES ||
			  !node_state(req->numa_node, N_MEMORY)))
		return -EINVAL;
	if ((req->flags & HEAPLOAD_LOAD_VERIFY) && !req->digest_alg)
		return -EINVAL;
	if (!(req->flags & HEAPLOAD_LOAD_VERIFY) &&
	    memchr_inv(req->expected_digest, 0, sizeof(req->expected_digest)))
		return -EINVAL;
	if ((req->flags & HEAPLOAD_LOAD_ASYNC) && req->progress_addr)
		return -EINVAL;
	return heapload_digest_check(req->digest_alg, req->expected_digest);
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
 * Check a segment's file and resolve its range: direct or buffered, the
 * length if 0, the length read. Loads into a restricted heap always use
 * direct I/O: no copy may stay in the page cache.
 */
static int heapload_seg_check(struct heapload_seg *seg, u32 flags,
			      bool restricted)
{
	struct file *file = seg->file;
	struct inode *inode = file_inode(file);
	u32 dio_align = 0;
	loff_t size;
	u64 end;

	if (!(file->f_mode & FMODE_READ))
		return -EBADF;
	if (S_ISDIR(inode->i_mode))
		return -EISDIR;
	if (!S_ISREG(inode->i_mode) || !file->f_op->read_iter)
		return -EINVAL;

	if (restricted && (flags & HEAPLOAD_LOAD_BUFFERED))
		return -EINVAL;
	if ((flags & HEAPLOAD_LOAD_DIRECT) || restricted)
		seg->direct = true;
	else if (flags & HEAPLOAD_LOAD_BUFFERED)
		seg->direct = false;
	else
		seg->direct = file->f_flags & O_DIRECT;
	if (seg->direct) {
		if (!hl_file_can_direct_io(file))
			return -EINVAL;
		dio_align = heapload_dio_align(file);
		if (!IS_ALIGNED(seg->file_off, dio_align) ||
		    !IS_ALIGNED(seg->buf_off, dio_align))
			return -EINVAL;
	}

	if (check_add_overflow(seg->file_off, seg->length, &end) ||
	    end > LLONG_MAX)
		return -EOVERFLOW;
	size = i_size_read(inode);
	if (seg->file_off > size || end > size)
		return -EINVAL;
	if (!seg->length)
		seg->length = size - seg->file_off;
	if (!seg->length)
		return -ENODATA;
	/* Direct reads cover whole blocks, the last one too. */
	seg->read_len = dio_align ? ALIGN(seg->length, dio_align) : seg->length;
	if (check_add_overflow(seg->buf_off, seg->read_len, &end) ||
	    end > LLONG_MAX)
		return -EOVERFLOW;
	/*
	 * io_size_kb is in KiB, not pages: a request is rounded up to whole
	 * pages of the buffer and, for direct I/O, to whole blocks of the
	 * file's alignment, which can exceed io_size_kb (a device with
	 * 16 KiB logical blocks) and which no request may end inside.
	 */
	seg->io_bytes = ALIGN((size_t)READ_ONCE(heapload_tunables.io_size_kb) << 10,
			      max_t(size_t, PAGE_SIZE, dio_align));
	return 0;
}

static int heapload_seg_cmp(const void *a, const void *b)
{
	const struct heapload_seg *x = a, *y = b;

	if (x->buf_off != y->buf_off)
		return x->buf_off < y->buf_off ? -1 : 1;
	return 0;
}

/*
 * The caller's thread's context, which every part of a load acts in, and
 * what is decided from it: the gather batch and inflight tunables as they
 * are now, and the allocating threads, from the caller's CPUs and memory
 * policy, and the node whose CPUs run the helpers, the caller's (an
 * asynchronous load's worker may run anywhere).
 */
static void heapload_plan_caller(struct heapload_plan *plan,
				 struct heapload_heap *heap)
{
	plan->cred = get_current_cred();
	plan->memcg = get_mem_cgroup_from_mm(current->mm);
#ifdef CONFIG_BLK_CGROUP
	plan->blkcg_css = task_get_css(current, io_cgrp_id);
#endif
	plan->batch_bytes =
		(size_t)READ_ONCE(heapload_tunables.gather_batch_mb) << 20;
	plan->max_inflight = READ_ONCE(heapload_tunables.max_inflight_batches);
	plan->alloc_node = plan->nid != NUMA_NO_NODE ? plan->nid :
			   numa_node_id();
	plan->alloc_threads = 1;
	if (!plan->target)
		plan->alloc_threads =
			heapload_alloc_threads(heap, plan->len,
					       plan->batch_bytes, plan->nid,
					       plan->max_inflight);
}

/* The load into the target has ended: devices may map it again. */
static void heapload_plan_end_target(struct heapload_plan *plan)
{
	if (!plan->target)
		return;
	mutex_lock(&plan->target->lock);
	plan->target->loading = false;
	mutex_unlock(&plan->target->lock);
	plan->target = NULL;
}

static void heapload_plan_free(struct heapload_plan *plan)
{
	u32 i;

	if (!plan)
		return;
	for (i = 0; i < plan->nr; i++)
		if (plan->segs[i].file)
			fput(plan->segs[i].file);
	heapload_plan_end_target(plan);
	if (plan->target_dmabuf)
		dma_buf_put(plan->target_dmabuf);
	if (plan->blkcg_css)
		css_put(plan->blkcg_css);
	mem_cgroup_put(plan->memcg);
	if (plan->cred)
		put_cred(plan->cred);
	kvfree(plan->order);
	kvfree(plan->segs);
	kfree(plan);
}

/* Read the caller's segments, or make the one of a version 0/1 request. */
static int heapload_plan_read_segs(struct heapload_plan *plan,
				   const struct heapload_load *req)
{
	const char __user *usegs = u64_to_user_ptr(req->segments);
	struct heapload_segment useg;
	u32 i;
	int ret;

	if (!req->nr_segments) {
		plan->error_seg = 0;
		plan->segs[0] = (struct heapload_seg) {
			.file_off = req->offset,
			.length = req->length,
		};
		plan->nr = 1;
		plan->segs[0].file = fget(req->file_fd);
		return plan->segs[0].file ? 0 : -EBADF;
	}
	for (i = 0; i < req->nr_segments; i++) {
		plan->error_seg = i;
		ret = copy_struct_from_user(&useg, sizeof(useg),
					    usegs + (size_t)i * req->segment_size,
					    req->segment_size);
		if (ret)
			return ret;
		if (useg.flags)
			return -EINVAL;
		plan->segs[i] = (struct heapload_seg) {
			.file_off = useg.file_offset,
			.length = useg.length,
			.buf_off = useg.buf_offset,
			.index = i,
		};
		plan->nr = i + 1;
		plan->segs[i].file = fget(useg.file_fd);
		if (!plan->segs[i].file)
			return -EBADF;
	}
	return 0;
}

/*
 * The target of HEAPLOAD_LOAD_INTO: a heapload dma-buf open for writing
 * that no device has mapped and no other load fills. Waits for its fences.
 */
static int heapload_plan_target(struct heapload_plan *plan, int fd,
				struct heapload_heap **heapp)
{
	struct heapload_buffer *buffer;
	struct dma_buf *dmabuf;
	struct heapload_attachment *a;
	long ret;

	dmabuf = dma_buf_get(fd);
	if (IS_ERR(dmabuf))	/* no file, or not a dma-buf */
		return PTR_ERR(dmabuf) == -EBADF ? -EBADF : -EXDEV;
	plan->target_dmabuf = dmabuf;
	buffer = heapload_dmabuf_buffer(dmabuf);
	if (!buffer)
		return -EXDEV;		/* another exporter's */
	if (!(dmabuf->file->f_mode & FMODE_WRITE))
		return -EBADF;

	ret = dma_resv_wait_timeout(dmabuf->resv, DMA_RESV_USAGE_BOOKKEEP, true,
				    MAX_SCHEDULE_TIMEOUT);
	if (ret < 0)
		return ret == -ERESTARTSYS ? -EINTR : ret;

	mutex_lock(&buffer->lock);
	ret = buffer->loading ? -EBUSY : 0;
	list_for_each_entry(a, &buffer->attachments, list)
		if (a->mapped)
			ret = -EBUSY;
	if (!ret) {
		buffer->loading = true;
		plan->target = buffer;
	}
	mutex_unlock(&buffer->lock);
	*heapp = buffer->heap;
	return ret;
}

/*
 * Check a request and everything it names; on success the plan holds the
 * files, the target and the caller's context. On error *@error_seg is the
 * caller's index of the segment the error is about, or -1.
 */
static struct heapload_plan *heapload_plan_new(const struct heapload_load *req,
					       struct heapload_heap **heapp,
					       int *error_seg)
{
	u32 nr = max_t(u32, req->nr_segments, 1), i;
	struct heapload_plan *plan;
	bool restricted;
	u64 end = 0;
	int ret;

	*error_seg = -1;
	plan = kzalloc(sizeof(*plan), GFP_KERNEL);
	if (!plan)
		return ERR_PTR(-ENOMEM);
	plan->error_seg = -1;
	plan->nid = NUMA_NO_NODE;
	plan->placed_node = -1;
	plan->digest_alg = req->digest_alg;
	plan->segs = kvcalloc(nr, sizeof(*plan->segs), GFP_KERNEL);
	plan->order = kvcalloc(nr, sizeof(*plan->order), GFP_KERNEL);
	ret = -ENOMEM;
	if (!plan->segs || !plan->order)
		goto err;

	if (req->flags & HEAPLOAD_LOAD_INTO) {
		ret = heapload_plan_target(plan, req->target_fd, heapp);
		if (ret)
			goto err;
	} else {
		ret = -ENODEV;
		*heapp = heapload_heap_find(req->heap);
		if (!*heapp)
			goto err;
	}
	restricted = (*heapp)->ops->restrict_buf;
	if (req->flags & HEAPLOAD_LOAD_NUMA_NODE) {
		ret = -EOPNOTSUPP;
		if (!(*heapp)->ops->numa_placement)
			goto err;
		plan->nid = req->numa_node;
	}

	ret = heapload_plan_read_segs(plan, req);
	if (ret)
		goto err;
	for (i = 0; i < plan->nr; i++) {
		plan->error_seg = i;
		ret = heapload_seg_check(&plan->segs[i], req->flags, restricted);
		if (ret)
			goto err;
		plan->total += plan->segs[i].length;
		end = max(end, plan->segs[i].buf_off + plan->segs[i].length);
	}
	plan->error_seg = -1;

	sort(plan->segs, plan->nr, sizeof(*plan->segs), heapload_seg_cmp, NULL);
	for (i = 0; i < plan->nr; i++) {
		const struct heapload_seg *seg = &plan->segs[i];

		plan->order[seg->index] = i;
		ret = -EINVAL;
		plan->error_seg = seg->index;
		if (i && seg->buf_off < plan->segs[i - 1].buf_off +
					plan->segs[i - 1].read_len)
			goto err;
	}

	/*
	 * A new buffer ends with the last segment, in whole pages; a direct
	 * read's last block must fit in it too. A target is as large as it is.
	 */
	plan->len = plan->target ? plan->target->len : PAGE_ALIGN(end);
	for (i = 0; i < plan->nr; i++) {
		const struct heapload_seg *seg = &plan->segs[i];

		ret = plan->target ? -ENOSPC : -EINVAL;
		plan->error_seg = seg->index;
		if (seg->buf_off + seg->read_len > plan->len)
			goto err;
	}
	plan->error_seg = -1;
	heapload_plan_caller(plan, *heapp);
	return plan;

err:
	*error_seg = plan->error_seg;
	heapload_plan_free(plan);
	return ERR_PTR(ret);
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
	req->alloc_threads = 0;
	req->alloc_threads_max = 0;
	req->load_fd = -1;
	req->error_segment = -1;
	req->placed_node = -1;
	memset(req->digest, 0, sizeof(req->digest));
}

/*
 * Carry out a checked load, from the caller's thread or an asynchronous
 * load's worker: fill the buffer, check the digest, export a new buffer.
 * Sets @req's out fields but the fds. *@dmabufp is the new dma-buf, or
 * NULL when the load filled its target.
 */
static int heapload_load_run(struct heapload_heap *heap,
			     struct heapload_plan *plan,
			     struct heapload_load *req, u64 start_ns,
			     struct dma_buf **dmabufp)
{
	struct heapload_buffer *buffer;
	struct dma_buf *dmabuf = NULL;
	int ret;

	*dmabufp = NULL;
	ret = heapload_gather_load(heap, plan, req, &buffer);
	/*
	 * The software restriction backend lets the kernel write a restricted
	 * target; a backend whose memory the CPU must never touch would have
	 * to unrestrict around the load, or refuse it.
	 */
	heapload_plan_end_target(plan);
	req->error_segment = plan->error_seg;
	memcpy(req->digest, plan->digest, sizeof(req->digest));
	if (!ret && (req->flags & HEAPLOAD_LOAD_VERIFY) &&
	    memcmp(plan->digest, req->expected_digest, sizeof(plan->digest)))
		ret = -EBADMSG;
	/* Filled while private to the kernel; restricted before anyone sees it. */
	if (!ret && buffer) {
		dmabuf = heapload_buffer_export(buffer, req->fd_flags);
		if (IS_ERR(dmabuf))
			ret = PTR_ERR(dmabuf);
	}
	if (ret) {
		if (buffer)
			heapload_buffer_free(buffer);
		atomic64_inc(&heapload_stats.load_failures);
		return ret;
	}
	req->loaded = plan->total;
	req->buf_size = plan->len;
	req->placed_node = plan->placed_node;
	req->total_ns = ktime_get_ns() - start_ns;
	atomic64_inc(&heapload_stats.loads);
	atomic64_add(plan->total, &heapload_stats.loaded_bytes);
	*dmabufp = dmabuf;
	return 0;
}

/**
 * struct heapload_async - an asynchronous load, behind its load fd
 * @heap:	the heap
 * @plan:	the checked load
 * @req:	the request, and its out fields once the load has ended
 * @start_ns:	when the ioctl started
 * @task:	the worker thread, referenced
 * @exited:	completed as the worker exits
 * @wq:		poll() waits here
 * @lock:	protects what follows
 * @cancel:	the load fd is being released
 * @ended:	the load has ended with @ret
 * @ret:	its result
 * @dmabuf:	the new dma-buf until its fd is installed
 * @installed:	the result was handed out
 */
struct heapload_async {
	struct heapload_heap *heap;
	struct heapload_plan *plan;
	struct heapload_load req;
	u64 start_ns;
	struct task_struct *task;
	struct completion exited;
	wait_queue_head_t wq;
	struct mutex lock;
	bool cancel;
	bool ended;
	int ret;
	struct dma_buf *dmabuf;
	bool installed;
};

/*
 * The worker: a kernel thread acting for the caller (memory cgroup here,
 * credentials and block cgroup in the readers, as for a synchronous
 * load). Closing the load fd sends it SIGKILL, which every wait and
 * allocation loop of a load honours as a fatal signal.
 */
static int heapload_async_fn(void *data)
{
	struct heapload_async *a = data;
	struct mem_cgroup *old_memcg;
	struct dma_buf *dmabuf;
	int ret;

	allow_signal(SIGKILL);
	/* A SIGKILL sent before allow_signal() was ignored: look for this. */
	smp_mb();
	if (READ_ONCE(a->cancel)) {
		ret = -EINTR;
		dmabuf = NULL;
	} else {
		old_memcg = set_active_memcg(a->plan->memcg);
		ret = heapload_load_run(a->heap, a->plan, &a->req, a->start_ns,
					&dmabuf);
		set_active_memcg(old_memcg);
	}

	mutex_lock(&a->lock);
	a->ret = ret;
	a->dmabuf = dmabuf;
	a->ended = true;
	mutex_unlock(&a->lock);
	wake_up_interruptible_poll(&a->wq, EPOLLIN | EPOLLRDNORM);
	/* The load fd's release waits for this, in the kernel proper. */
	kthread_complete_and_exit(&a->exited, 0);
}

static int heapload_async_release(struct inode *inode, struct file *filp)
{
	struct heapload_async *a = filp->private_data;

	if (!a)			/* heapload_async_start() failed */
		return 0;
	WRITE_ONCE(a->cancel, true);
	smp_mb();	/* pairs with heapload_async_fn() */
	if (!READ_ONCE(a->ended))
		send_sig(SIGKILL, a->task, 1);
	wait_for_completion(&a->exited);
	put_task_struct(a->task);
	if (a->dmabuf)
		dma_buf_put(a->dmabuf);
	heapload_plan_free(a->plan);
	kfree(a);
	return 0;
}

static __poll_t heapload_async_poll(struct file *filp, poll_table *wait)
{
	struct heapload_async *a = filp->private_data;

	poll_wait(filp, &a->wq, wait);
	return READ_ONCE(a->ended) ? EPOLLIN | EPOLLRDNORM : 0;
}

static long heapload_async_result(struct heapload_async *a, void __user *uarg,
				  size_t usize)
{
	struct heapload_load out;
	u32 size;
	int ret;

	if (usize < HEAPLOAD_LOAD_SIZE_VER2)
		return -EINVAL;
	if (get_user(size, (u32 __user *)uarg))
		return -EFAULT;
	if (size != usize)
		return -EINVAL;

	mutex_lock(&a->lock);
	out = a->req;
	out.size = size;
	if (!a->ended) {
		/* Progress: the statistics so far are racy snapshots. */
		out.loaded = min_t(u64, atomic64_read(&a->plan->done_bytes),
				   a->plan->total);
		ret = copy_to_user(uarg, &out, min(usize, sizeof(out))) ?
		      -EFAULT : -EAGAIN;
	} else if (a->installed) {
		ret = -EALREADY;
	} else if (a->ret) {
		ret = copy_to_user(uarg, &out, min(usize, sizeof(out))) ?
		      -EFAULT : a->ret;
	} else if (a->dmabuf) {
		/* The install consumes a reference, or drops it on failure. */
		get_dma_buf(a->dmabuf);
		ret = heapload_install_dmabuf(a->dmabuf, a->req.fd_flags, uarg,
					      &out, min(usize, sizeof(out)),
					      (u32 *)&out.dmabuf_fd);
		if (!ret) {
			dma_buf_put(a->dmabuf);
			a->dmabuf = NULL;
			a->installed = true;
		}
	} else {
		ret = copy_to_user(uarg, &out, min(usize, sizeof(out))) ?
		      -EFAULT : 0;
		a->installed = !ret;
	}
	mutex_unlock(&a->lock);
	return ret;
}

static long heapload_async_ioctl(struct file *filp, unsigned int cmd,
				 unsigned long arg)
{
	/* Size-versioned as HEAPLOAD_IOC_LOAD is. */
	if (_IOC_TYPE(cmd) != HEAPLOAD_IOC_MAGIC ||
	    _IOC_NR(cmd) != _IOC_NR(HEAPLOAD_IOC_LOAD_RESULT) ||
	    _IOC_DIR(cmd) != (_IOC_READ | _IOC_WRITE))
		return -ENOTTY;
	return heapload_async_result(filp->private_data, (void __user *)arg,
				     _IOC_SIZE(cmd));
}

static const struct file_operations heapload_async_fops = {
	.owner		= THIS_MODULE,
	.release	= heapload_async_release,
	.poll		= heapload_async_poll,
	.unlocked_ioctl	= heapload_async_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

/*
 * Start @plan on a worker and install its load fd, last. Takes over
 * @plan, also on error.
 */
static int heapload_async_start(struct heapload_heap *heap,
				struct heapload_plan *plan,
				struct heapload_load *req, u64 start_ns,
				void __user *uarg, size_t usize)
{
	struct heapload_async *a;
	struct file *file;
	int fd, ret;

	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a) {
		heapload_plan_free(plan);
		return -ENOMEM;
	}
	a->heap = heap;
	a->plan = plan;
	a->req = *req;
	a->start_ns = start_ns;
	init_completion(&a->exited);
	init_waitqueue_head(&a->wq);
	mutex_init(&a->lock);

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto err_free;
	}
	file = anon_inode_getfile("[heapload_load]", &heapload_async_fops, a,
				  O_RDWR | O_CLOEXEC);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto err_fd;
	}
	a->task = kthread_create(heapload_async_fn, a, "heapload_load");
	if (IS_ERR(a->task)) {
		ret = PTR_ERR(a->task);
		a->task = NULL;
		goto err_file;
	}
	get_task_struct(a->task);

	req->load_fd = fd;
	if (copy_to_user(uarg, req, min(usize, sizeof(*req)))) {
		/* Never started: its release must not wait for it. */
		kthread_stop(a->task);
		put_task_struct(a->task);
		a->task = NULL;
		ret = -EFAULT;
		goto err_file;
	}
	wake_up_process(a->task);
	fd_install(fd, file);
	return 0;

err_file:
	/* fput() would run the release op: take the load back first. */
	file->private_data = NULL;
	fput(file);
err_fd:
	put_unused_fd(fd);
err_free:
	heapload_plan_free(plan);
	kfree(a);
	return ret;
}

static long heapload_ioctl_load(void __user *uarg, size_t usize)
{
	u64 start_ns = ktime_get_ns();
	struct heapload_heap *heap;
	struct heapload_plan *plan;
	struct heapload_load req;
	struct dma_buf *dmabuf;
	int error_seg, ret;

	if (usize < HEAPLOAD_LOAD_SIZE_VER0)
		return -EINVAL;
	ret = copy_struct_from_user(&req, sizeof(req), uarg, usize);
	if (ret)
		return ret;
	heapload_load_reset_out(&req);
	ret = heapload_load_check(&req, usize);
	if (ret)
		goto out_err;

	plan = heapload_plan_new(&req, &heap, &error_seg);
	if (IS_ERR(plan)) {
		ret = PTR_ERR(plan);
		req.error_segment = error_seg;
		goto out_err;
	}

	if (req.flags & HEAPLOAD_LOAD_ASYNC)
		return heapload_async_start(heap, plan, &req, start_ns, uarg,
					    usize);

	ret = heapload_load_run(heap, plan, &req, start_ns, &dmabuf);
	heapload_plan_free(plan);
	if (ret)
		goto out_err;
	if (!dmabuf)		/* filled its target: no new fd */
		return copy_to_user(uarg, &req, min(usize, sizeof(req))) ?
		       -EFAULT : 0;
	/* Write back only what the caller's version of the struct has. */
	return heapload_install_dmabuf(dmabuf, req.fd_flags, uarg, &req,
				       min(usize, sizeof(req)),
				       (u32 *)&req.dmabuf_fd);

out_err:
	/* Version 2 callers learn which segment, and the digest. */
	if (usize >= HEAPLOAD_LOAD_SIZE_VER2 &&
	    copy_to_user(uarg, &req, min(usize, sizeof(req))))
		return -EFAULT;
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
HEAPLOAD_STAT_ATTR(alloc_workers, atomic_read);
HEAPLOAD_STAT_ATTR(parallel_allocs, atomic64_read);
HEAPLOAD_STAT_ATTR(vmapped_batches, atomic64_read);

/* Whether batch_mapping=vmap also applies to direct loads here. */
static ssize_t vmap_direct_io_show(struct device *dev,
				   struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", hl_kvec_direct_io());
}
static DEVICE_ATTR_RO(vmap_direct_io);

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
	&dev_attr_alloc_workers.attr,
	&dev_attr_parallel_allocs.attr,
	&dev_attr_vmapped_batches.attr,
	&dev_attr_vmap_direct_io.attr,
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
