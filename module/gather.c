// SPDX-License-Identifier: GPL-2.0
/*
 * Parallel gathered loading: allocation overlapped with reads.
 *
 * The caller's thread allocates the buffer's pages. Each time it has
 * gathered one batch (gather_batch_mb) the batch goes to an unbound
 * workqueue, whose work item reads it in io_size_kb requests: with direct
 * I/O as asynchronous kiocbs over an ITER_BVEC of the batch's chunks, all
 * in flight at once (completions may run in interrupt context); buffered,
 * one synchronous read after the other. Meanwhile the caller allocates the
 * next batch, waiting whenever max_inflight_batches batches are still
 * being read. A load so takes about the first batch's allocation plus
 * max(remaining allocation, I/O), the design of the "async 128 MB gathered
 * direct I/O" numbers in the dma-heap read-file thread on dri-devel.
 *
 * Every read goes through vfs_iocb_iter_read(), as overlayfs and
 * cachefiles do with their kiocbs, with the caller's credentials, so the
 * LSM hooks and fanotify permission events see heapload's reads as they
 * see read(2); a direct load sends its fsnotify access event once, at
 * its end.
 *
 * Pages are allocated without __GFP_ZERO: the reads overwrite them, and
 * whatever the reads do not cover (the rest of the last page) is zeroed
 * before the buffer is exported. Nothing can see the buffer before that,
 * since the dma-buf and its fd only exist once the load is complete, so
 * no stale data leaks. On any error, and on a fatal signal, the caller
 * stops allocating, lets the work items stop submitting, waits for the
 * reads in flight (their pages must not be freed under the device), then
 * frees everything.
 */
#include <linux/atomic.h>
#include <linux/cgroup.h>
#include <linux/completion.h>
#include <linux/cred.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/fsnotify.h>
#include <linux/highmem.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/memcontrol.h>
#include <linux/refcount.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <uapi/linux/heapload.h>

#include "heapload.h"

static struct workqueue_struct *heapload_io_wq;

/**
 * struct heapload_gather - one load in progress
 * @file:	the file being read
 * @start:	file offset of the range
 * @length:	bytes of the range that must be read
 * @read_len:	bytes read: @length, rounded up to the file's direct-I/O
 *		alignment for direct I/O
 * @direct:	read with IOCB_DIRECT
 * @io_bytes:	bytes per read request: io_size_kb in whole pages and
 *		whole direct-I/O blocks
 * @faults:	fault injection snapshot, taken when the load starts
 * @cred:	the caller's credentials, which the work items read with
 * @memcg:	the caller's memory cgroup, charged for what the reads
 *		allocate (page cache of buffered loads), or NULL
 * @blkcg_css:	the caller's block cgroup, charged for the I/O, or NULL
 * @pending:	references: one of the caller, one per queued batch
 * @all_done:	completed when @pending drops to zero
 * @inflight:	batches queued and not completely read
 * @wq:		woken whenever a batch completes
 * @error:	first error of any read, 0 if none
 * @abort:	stop submitting reads
 * @done_bytes:	bytes of the range read so far
 * @io_first_ns: when the first batch was handed to the readers
 * @io_last_ns:	when the last read completed
 */
struct heapload_gather {
	struct file *file;
	loff_t start;
	size_t length;
	size_t read_len;
	bool direct;
	size_t io_bytes;
	struct heapload_faults faults;
	const struct cred *cred;
	struct mem_cgroup *memcg;
	struct cgroup_subsys_state *blkcg_css;

	atomic_t pending;
	struct completion all_done;
	atomic_t inflight;
	wait_queue_head_t wq;
	int error;
	bool abort;
	atomic64_t done_bytes;
	u64 io_first_ns;
	u64 io_last_ns;
};

/**
 * struct heapload_batch - one gather batch
 * @node:	entry in the caller's list of batches
 * @work:	reads the batch on heapload_io_wq
 * @g:		the load
 * @chunks:	the batch's memory, also its bio_vec array
 * @off:	offset of the batch in the range (and in the buffer)
 * @reqs:	read requests in flight, plus one while submitting
 */
struct heapload_batch {
	struct list_head node;
	struct work_struct work;
	struct heapload_gather *g;
	struct heapload_chunks chunks;
	size_t off;
	atomic_t reqs;
};

/**
 * struct heapload_req - one read request
 * @iocb:	the kiocb; async for direct I/O
 * @batch:	the batch it reads part of
 * @need:	bytes that must come back; fewer only past the range's end
 * @ref:	one reference of the submitter, one of the completion
 * @res:	the read's result, set by the completion
 * @completed:	@res is set
 *
 * An asynchronous read can complete, on another CPU or in an interrupt,
 * before the ->read_iter call that submitted it has returned, and the
 * file system may still use the kiocb until then (ext4's direct read
 * calls file_accessed(iocb->ki_filp) after iomap_dio_rw() returns). So,
 * as fs/aio.c does with its aio_kiocb, the submitter holds a reference of
 * its own, dropped only once ->read_iter has returned, whatever it
 * returned; whichever of the two drops last frees the request.
 */
struct heapload_req {
	struct kiocb iocb;
	struct heapload_batch *batch;
	size_t need;
	refcount_t ref;
	long res;
	bool completed;
};

static void heapload_gather_fail(struct heapload_gather *g, int err)
{
	cmpxchg(&g->error, 0, err);
	WRITE_ONCE(g->abort, true);
	/* The caller may be waiting for a batch slot: it has to stop now. */
	wake_up(&g->wq);
}

static void heapload_gather_put(struct heapload_gather *g)
{
	if (atomic_dec_and_test(&g->pending))
		complete(&g->all_done);
}

/* The last reference of a batch: it is read (or given up). */
static void heapload_batch_put(struct heapload_batch *batch)
{
	struct heapload_gather *g = batch->g;

	if (!atomic_dec_and_test(&batch->reqs))
		return;
	atomic64_sub(batch->chunks.bytes, &heapload_stats.inflight_bytes);
	WRITE_ONCE(g->io_last_ns, ktime_get_ns());
	atomic_dec(&g->inflight);
	wake_up(&g->wq);
	heapload_gather_put(g);
}

/*
 * Drop a reference of a request; the last one accounts its result, frees
 * it and drops its batch's reference. May run in interrupt context.
 */
static void heapload_req_put(struct heapload_req *req)
{
	struct heapload_batch *batch = req->batch;
	struct heapload_gather *g = batch->g;

	if (!refcount_dec_and_test(&req->ref))
		return;
	if (req->res < 0)
		heapload_gather_fail(g, req->res);
	else if (req->res < req->need)
		heapload_gather_fail(g, -ENODATA);	/* the file shrank */
	else
		atomic64_add(req->need, &g->done_bytes);
	kfree(req);
	heapload_batch_put(batch);
}

/*
 * Completion of a read: ->ki_complete of a queued read, or called by the
 * submitter with the result of one that was not queued. May run in
 * interrupt context, and before ->read_iter has returned.
 */
static void heapload_req_complete(struct kiocb *iocb, long ret)
{
	struct heapload_req *req = container_of(iocb, struct heapload_req, iocb);

	req->res = ret;
	WRITE_ONCE(req->completed, true);
	heapload_req_put(req);
}

/*
 * Test builds only, with debugfs race_after_submit set: widen the window
 * between a queued read's completion and the return of ->read_iter. Wait
 * (at most a second) until the completion has run, then use the kiocb as
 * ext4 does after iomap_dio_rw() returns. Without the submitter's
 * reference this is a use-after-free, which KASAN reports every time.
 */
static void heapload_req_race_after_submit(struct heapload_gather *g,
					   struct heapload_req *req)
{
	unsigned int i;

	if (!IS_ENABLED(HEAPLOAD_DEBUG) || !g->faults.race_after_submit)
		return;
	for (i = 0; i < 1000 && !READ_ONCE(req->completed); i++)
		usleep_range(1000, 2000);
	/* As file_accessed(iocb->ki_filp) does. */
	(void)READ_ONCE(READ_ONCE(req->iocb.ki_filp)->f_mode);
}

/*
 * Buffered: read until the iterator is full or the file ends. Each read
 * advances ki_pos itself; file systems may return less than asked for
 * (sysfs binary files give at most a page per call, FUSE and NFS what
 * the server sent).
 */
static long heapload_read_sync(struct heapload_req *req, struct iov_iter *iter)
{
	long done = 0, ret;

	while (iov_iter_count(iter)) {
		ret = vfs_iocb_iter_read(req->iocb.ki_filp, &req->iocb, iter);
		if (ret < 0)
			return ret;	/* an error, not a file that shrank */
		if (!ret)
			break;
		done += ret;
	}
	return done;
}

/*
 * Fault injection: cut the request's iterator short at read_short_after,
 * or fail it when it reaches read_error_after. Returns 0 or the result to
 * complete the request with instead of reading.
 */
static long heapload_req_faults(struct heapload_gather *g, size_t range_off,
				struct iov_iter *iter)
{
	size_t len = iov_iter_count(iter);
	u64 stop;

	stop = g->faults.read_error_after;
	if (stop && range_off + len > stop)
		return -EIO;
	stop = g->faults.read_short_after;
	if (stop && range_off + len > stop)
		iov_iter_truncate(iter, range_off < stop ? stop - range_off : 0);
	return 0;
}

/*
 * Read @req, or queue it with direct I/O: -EIOCBQUEUED means that
 * ->ki_complete will be called, any other result that it will not.
 */
static long heapload_req_read(struct heapload_gather *g,
			      struct heapload_req *req, struct iov_iter *iter)
{
	if (!g->direct)
		return heapload_read_sync(req, iter);
	req->iocb.ki_complete = heapload_req_complete;
	return vfs_iocb_iter_read(g->file, &req->iocb, iter);
}

static void heapload_batch_submit(struct heapload_batch *batch, size_t off,
				  size_t len)
{
	struct heapload_gather *g = batch->g;
	size_t range_off = batch->off + off;
	struct heapload_req *req;
	struct iov_iter iter;
	long ret;

	req = kmalloc(sizeof(*req), GFP_KERNEL);
	if (!req) {
		heapload_gather_fail(g, -ENOMEM);
		return;
	}
	req->batch = batch;
	req->need = min_t(size_t, len, g->length - min(g->length, range_off));
	req->completed = false;
	refcount_set(&req->ref, 2);

	iov_iter_bvec(&iter, ITER_DEST, batch->chunks.bv, batch->chunks.nr,
		      batch->chunks.bytes);
	iov_iter_advance(&iter, off);
	iov_iter_truncate(&iter, len);

	/* Our choice of direct or buffered, whatever O_DIRECT the fd has. */
	init_sync_kiocb(&req->iocb, g->file);
	req->iocb.ki_pos = g->start + range_off;
	if (g->direct)
		req->iocb.ki_flags |= IOCB_DIRECT;
	else
		req->iocb.ki_flags &= ~IOCB_DIRECT;

	atomic_inc(&batch->reqs);
	ret = heapload_req_faults(g, range_off, &iter);
	if (!ret && iov_iter_count(&iter))
		ret = heapload_req_read(g, req, &iter);
	if (ret == -EIOCBQUEUED)
		heapload_req_race_after_submit(g, req);
	else
		heapload_req_complete(&req->iocb, ret);	/* not queued */
	heapload_req_put(req);	/* the submitter's: ->read_iter has returned */
}

static void heapload_batch_work(struct work_struct *work)
{
	struct heapload_batch *batch = container_of(work, struct heapload_batch,
						    work);
	struct heapload_gather *g = batch->g;
	const struct cred *old_cred;
	struct mem_cgroup *old_memcg;
	size_t want, off;

	/* What of this batch lies inside the part of the range to read. */
	want = g->read_len > batch->off ?
	       min(batch->chunks.bytes, g->read_len - batch->off) : 0;

	/*
	 * The caller's reads, whichever thread submits them, as the loop
	 * driver arranges for its workers: LSMs and file systems that look
	 * at credentials (FUSE, NFS) see the caller; the page cache that
	 * buffered reads allocate is charged to the caller's memory cgroup
	 * and the I/O to its block cgroup (kthread_associate_blkcg() does
	 * nothing when the caller's own thread reads).
	 */
	old_cred = override_creds(g->cred);
	old_memcg = set_active_memcg(g->memcg);
	kthread_associate_blkcg(g->blkcg_css);
	for (off = 0; off < want && !READ_ONCE(g->abort); off += g->io_bytes)
		heapload_batch_submit(batch, off, min(g->io_bytes, want - off));
	kthread_associate_blkcg(NULL);
	set_active_memcg(old_memcg);
	revert_creds(old_cred);

	heapload_batch_put(batch);	/* the submission reference */
}

/* Tell user space how far the load is; only from the caller's thread. */
static int heapload_report_progress(struct heapload_gather *g,
				    u64 __user *progress)
{
	u64 done = min_t(u64, atomic64_read(&g->done_bytes), g->length);

	if (progress && put_user(done, progress))
		return -EFAULT;
	return 0;
}

/*
 * Wait until fewer than @limit batches are in flight, reporting progress
 * every 100 ms. Returns 0, -EINTR on a fatal signal, -EFAULT.
 */
static int heapload_wait_inflight(struct heapload_gather *g, int limit,
				  u64 __user *progress)
{
	long ret;

	for (;;) {
		ret = heapload_report_progress(g, progress);
		if (ret)
			return ret;
		if (atomic_read(&g->inflight) < limit || READ_ONCE(g->abort))
			return 0;
		ret = wait_event_killable_timeout(g->wq,
				atomic_read(&g->inflight) < limit ||
				READ_ONCE(g->abort), HZ / 10);
		if (ret < 0)
			return -EINTR;
	}
}

/* Zero the buffer from byte @from of @batches to their end. */
static void heapload_zero_tail(struct list_head *batches, size_t from)
{
	struct heapload_batch *batch;
	size_t start = 0;
	unsigned int i;

	list_for_each_entry(batch, batches, node) {
		for (i = 0; i < batch->chunks.nr; i++) {
			struct bio_vec *bv = &batch->chunks.bv[i];
			size_t end = start + bv->bv_len;

			if (end > from) {
				size_t off = from > start ? from - start : 0;
				/* By pfn: a chunk may span memory sections. */
				unsigned long pfn = page_to_pfn(bv->bv_page) +
						    (off >> PAGE_SHIFT);
				size_t len = bv->bv_len - off;

				off &= ~PAGE_MASK;
				while (len) {
					size_t n = min_t(size_t, len, PAGE_SIZE - off);

					memzero_page(pfn_to_page(pfn++), off, n);
					len -= n;
					off = 0;
				}
			}
			start = end;
		}
	}
}

static struct heapload_buffer *
heapload_gather_finish(struct heapload_heap *heap, struct heapload_gather *g,
		       struct list_head *batches, unsigned int nr, size_t len,
		       int ret)
{
	struct heapload_buffer *buffer = ERR_PTR(ret);
	struct heapload_chunks **parts = NULL;
	struct heapload_batch *batch, *tmp;
	unsigned int i = 0;

	if (!ret) {
		parts = kmalloc_array(nr, sizeof(*parts), GFP_KERNEL);
		if (!parts)
			buffer = ERR_PTR(-ENOMEM);
	}
	if (parts) {
		heapload_zero_tail(batches, g->length);
		list_for_each_entry(batch, batches, node)
			parts[i++] = &batch->chunks;
		buffer = heapload_buffer_create(heap, len, parts, nr);
		kfree(parts);
	}

	list_for_each_entry_safe(batch, tmp, batches, node) {
		if (IS_ERR(buffer))
			heapload_chunks_free_pages(heap, &batch->chunks);
		heapload_chunks_destroy(&batch->chunks);
		list_del(&batch->node);
		kfree(batch);
	}
	return buffer;
}

/* The block cgroup of the calling task, referenced, or NULL. */
static struct cgroup_subsys_state *heapload_current_blkcg_css(void)
{
#ifdef CONFIG_BLK_CGROUP
	return task_get_css(current, io_cgrp_id);
#else
	return NULL;
#endif
}

static void heapload_gather_free(struct heapload_gather *g)
{
	if (g->blkcg_css)
		css_put(g->blkcg_css);
	mem_cgroup_put(g->memcg);
	put_cred(g->cred);
	kfree(g);
}

static struct heapload_gather *heapload_gather_new(struct file *file,
						  const struct heapload_load *req,
						  u32 dio_align)
{
	bool direct = dio_align;
	struct heapload_gather *g = kzalloc(sizeof(*g), GFP_KERNEL);

	if (!g)
		return NULL;
	g->file = file;
	g->start = req->offset;
	g->length = req->length;
	g->read_len = direct ? ALIGN(req->length, dio_align) : req->length;
	g->direct = direct;
	/*
	 * io_size_kb is in KiB, not pages: a request is rounded up to whole
	 * pages of the buffer and, for direct I/O, to whole blocks of the
	 * file's alignment, which can exceed io_size_kb (a device with
	 * 16 KiB logical blocks) and which no request may end inside.
	 */
	g->io_bytes = ALIGN((size_t)READ_ONCE(heapload_tunables.io_size_kb) << 10,
			    max_t(size_t, PAGE_SIZE, dio_align));
	g->faults = heapload_faults;
	g->cred = get_current_cred();
	g->memcg = get_mem_cgroup_from_mm(current->mm);
	g->blkcg_css = heapload_current_blkcg_css();
	atomic_set(&g->pending, 1);
	init_completion(&g->all_done);
	init_waitqueue_head(&g->wq);
	return g;
}

/*
 * Allocate the next batch of up to @batch_bytes at buffer offset @off and
 * start reading it. The batch joins @batches even when its allocation
 * fails, so that its chunks are freed with the others.
 */
static int heapload_gather_batch(struct heapload_heap *heap,
				 struct heapload_gather *g,
				 struct list_head *batches,
				 struct heapload_load *req, size_t batch_bytes,
				 size_t *remaining, unsigned int *cursor)
{
	size_t off = PAGE_ALIGN(req->length) - *remaining;
	u64 budget = U64_MAX, t;
	struct heapload_batch *batch;
	int ret;

	batch = kzalloc(sizeof(*batch), GFP_KERNEL);
	if (!batch)
		return -ENOMEM;
	batch->g = g;
	batch->off = off;
	INIT_WORK(&batch->work, heapload_batch_work);
	list_add_tail(&batch->node, batches);
	req->batches++;

	if (g->faults.alloc_after)
		budget = g->faults.alloc_after > off ? g->faults.alloc_after - off : 0;
	t = ktime_get_ns();
	ret = heapload_chunks_alloc(heap, &batch->chunks, batch_bytes, remaining,
				    false, cursor, budget);
	req->alloc_ns += ktime_get_ns() - t;
	if (ret)
		return ret;

	atomic64_add(batch->chunks.bytes, &heapload_stats.inflight_bytes);
	atomic_set(&batch->reqs, 1);
	atomic_inc(&g->pending);
	req->max_inflight = max_t(u32, req->max_inflight,
				  atomic_inc_return(&g->inflight));
	if (!g->io_first_ns)
		g->io_first_ns = ktime_get_ns();
	/* A load of one batch gains nothing from the workqueue hop. */
	if (!*remaining && req->batches == 1)
		heapload_batch_work(&batch->work);
	else
		queue_work(heapload_io_wq, &batch->work);
	return 0;
}

/**
 * heapload_gather_load() - allocate a buffer and fill it, overlapped
 * @heap:	heap to allocate from
 * @file:	file to read, checked by the caller (readable regular file,
 *		direct I/O capable if @dio_align)
 * @req:	the load: offset, length (resolved, non-zero), progress_addr;
 *		alloc_ns, io_ns, batches and max_inflight are filled in
 * @dio_align:	0 for buffered reads; else read with direct I/O, offsets and
 *		lengths multiples of this (the caller checked the offset, and
 *		that the length rounded up to it fits in whole pages)
 *
 * Return: the complete buffer, not yet exported, or an ERR_PTR: -ENOMEM,
 * -EINTR, -EFAULT (progress word), -ENODATA (short read), or the read's
 * error. Everything is freed on error.
 */
struct heapload_buffer *heapload_gather_load(struct heapload_heap *heap,
					     struct file *file,
					     struct heapload_load *req,
					     u32 dio_align)
{
	u64 __user *progress = u64_to_user_ptr(req->progress_addr);
	size_t batch_bytes = (size_t)READ_ONCE(heapload_tunables.gather_batch_mb) << 20;
	int max_inflight = READ_ONCE(heapload_tunables.max_inflight_batches);
	size_t len = PAGE_ALIGN(req->length), remaining = len;
	struct heapload_buffer *buffer;
	struct heapload_gather *g;
	unsigned int cursor = 0;
	LIST_HEAD(batches);
	int ret;

	ret = heapload_reserve(len);
	if (ret)
		return ERR_PTR(ret);
	g = heapload_gather_new(file, req, dio_align);
	if (!g) {
		heapload_unreserve(len);
		return ERR_PTR(-ENOMEM);
	}

	while (remaining && !ret) {
		ret = heapload_wait_inflight(g, max_inflight, progress);
		if (ret || READ_ONCE(g->abort))
			break;
		ret = heapload_gather_batch(heap, g, &batches, req, batch_bytes,
					    &remaining, &cursor);
	}

	/* What a failed load did not allocate. */
	heapload_unreserve(remaining);

	/* All allocated (or given up): wait for the reads still in flight. */
	if (!ret)
		ret = heapload_wait_inflight(g, 1, progress);
	if (ret)
		heapload_gather_fail(g, ret);
	heapload_gather_put(g);
	wait_for_completion(&g->all_done);

	ret = READ_ONCE(g->error);
	if (!ret)
		ret = heapload_report_progress(g, progress);
	if (g->io_first_ns)
		req->io_ns = READ_ONCE(g->io_last_ns) - g->io_first_ns;

	/*
	 * Queued direct reads end without an access event (they return
	 * -EIOCBQUEUED to vfs_iocb_iter_read()): send one for the load, from
	 * the caller, as io_uring does when its reads complete.
	 */
	if (!ret && g->direct)
		fsnotify_access(file);

	buffer = heapload_gather_finish(heap, g, &batches, req->batches, len, ret);
	heapload_gather_free(g);
	return buffer;
}

int heapload_gather_init(void)
{
	heapload_io_wq = alloc_workqueue("heapload_io", WQ_UNBOUND, 0);
	return heapload_io_wq ? 0 : -ENOMEM;
}

void heapload_gather_exit(void)
{
	destroy_workqueue(heapload_io_wq);
}
