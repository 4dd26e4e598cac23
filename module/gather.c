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
 * A load has one or more segments, file ranges at buffer offsets (see
 * struct heapload_plan): each batch's work item reads, in turn, the part of
 * every segment the batch covers. A load into an existing buffer
 * (HEAPLOAD_LOAD_INTO) allocates nothing: its batches are views of the
 * buffer's memory, queued the same way. With a digest, a work item of its
 * own follows the batches as they complete and hashes the segments'
 * bytes in the caller's order, so hashing overlaps the I/O.
 *
 * With batch_mapping=vmap, each batch's pages are mapped with vmap() and
 * read into an ITER_KVEC over that one range instead, the shape of the
 * original read-file series; the mapping goes as soon as the batch's
 * reads have ended. The block layer's direct I/O takes kvec iterators
 * since v6.5 (see hl_kvec_direct_io()); before, and for a direct segment
 * on a file system without a block device (NFS), a load reads through
 * bvec. The restricted heap's pages get no CPU mapping, so its loads
 * always read through bvec. Through bvec, the block layer uses the
 * batch's bio_vec array as it is; through a vmap it walks the page table
 * for each page (see the README for the measured difference).
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
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <uapi/linux/heapload.h>

#include "heapload.h"

static struct workqueue_struct *heapload_io_wq;

/**
 * struct heapload_gather - one load in progress
 * @plan:	what to load, and the caller's credentials and cgroups
 * @view:	the batches are views of @plan->target, not allocated
 * @vmap:	the batches are read through a vmap of their pages
 * @faults:	fault injection snapshot, taken when the load starts
 * @pending:	references: one of the caller, one per queued batch
 * @all_done:	completed when @pending drops to zero
 * @inflight:	batches queued and not completely read
 * @wq:		woken whenever a batch completes
 * @error:	first error of any read, 0 if none
 * @error_seg:	the caller's index of the segment of @error, or -1
 * @abort:	stop submitting reads
 * @io_first_ns: when the first batch was handed to the readers
 * @io_last_ns:	when the last read completed
 * @lock:	protects @batches for the digest's work item
 * @batches:	the batches, in buffer order
 * @hash_work:	hashes what the completed batches hold, in the caller's
 *		segment order, on heapload_io_wq
 * @digest:	its state
 * @hash_seg:	the caller's index of the segment it hashes next
 * @hash_off:	bytes of that segment it has hashed
 * @heap:	the heap the batches come from
 * @nr_batches:	batches in @batches
 * @grid:	several threads allocate, a unit at a time:
 * @al:		the threads, and the units of the buffer: then each batch
 *		is one unit ...
 * @next_unit:	... claimed in turn, the next one being @next_unit
 * @slots:	batches being allocated or not completely read, at most
 *		@max_slots (max_inflight_batches) at a time
 * @max_slots:	see @slots
 * @alloc_ns:	time the caller's thread spent allocating
 * @max_inflight: most batches in flight at one time
 */
struct heapload_gather {
	struct heapload_plan *plan;
	bool view;
	bool vmap;
	struct heapload_faults faults;

	atomic_t pending;
	struct completion all_done;
	atomic_t inflight;
	wait_queue_head_t wq;
	int error;
	int error_seg;
	bool abort;
	u64 io_first_ns;
	u64 io_last_ns;

	spinlock_t lock;
	struct list_head batches;
	struct work_struct hash_work;
	struct heapload_digest digest;
	u32 hash_seg;
	u64 hash_off;

	struct heapload_heap *heap;
	unsigned int nr_batches;
	bool grid;
	struct heapload_allocators al;
	atomic_t next_unit;
	atomic_t slots;
	int max_slots;
	atomic64_t alloc_ns;
	u32 max_inflight;
};

/**
 * struct heapload_batch - one gather batch
 * @node:	entry in the caller's list of batches
 * @work:	reads the batch on heapload_io_wq
 * @g:		the load
 * @chunks:	the batch's memory, also its bio_vec array
 * @off:	offset of the batch in the buffer
 * @vaddr:	with batch_mapping=vmap, the vmap of its pages while its
 *		reads are in flight; else NULL
 * @unmap_work:	unmaps @vaddr once the reads have ended (the last one
 *		may end in interrupt context, where vunmap() may not run)
 * @reqs:	read requests in flight, plus one while submitting
 * @done:	every read of the batch has ended (or was given up)
 */
struct heapload_batch {
	struct list_head node;
	struct work_struct work;
	struct heapload_gather *g;
	struct heapload_chunks chunks;
	size_t off;
	void *vaddr;
	struct work_struct unmap_work;
	atomic_t reqs;
	bool done;
};

/**
 * struct heapload_req - one read request
 * @iocb:	the kiocb; async for direct I/O
 * @batch:	the batch it reads part of
 * @seg:	the segment it reads part of
 * @need:	bytes that must come back; fewer only past the segment's end
 * @kvec:	the range of the batch's vmap it reads into (batch_mapping=vmap)
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
	const struct heapload_seg *seg;
	size_t need;
	struct kvec kvec;
	refcount_t ref;
	long res;
	bool completed;
};

/* The first error wins; @seg is the segment it is about, or NULL. */
static void heapload_gather_fail(struct heapload_gather *g, int err,
				 const struct heapload_seg *seg)
{
	if (!cmpxchg(&g->error, 0, err))
		WRITE_ONCE(g->error_seg, seg ? seg->index : -1);
	WRITE_ONCE(g->abort, true);
	/* The caller may be waiting for a batch slot: it has to stop now. */
	wake_up(&g->wq);
}

static void heapload_gather_put(struct heapload_gather *g)
{
	if (atomic_dec_and_test(&g->pending))
		complete(&g->all_done);
}

/* Every read of a batch has ended (or was given up). */
static void heapload_batch_ended(struct heapload_batch *batch)
{
	struct heapload_gather *g = batch->g;

	atomic64_sub(batch->chunks.bytes, &heapload_stats.inflight_bytes);
	/* Before the load's reference goes: the caller waits for that. */
	smp_store_release(&batch->done, true);
	if (g->digest.alg)
		queue_work(heapload_io_wq, &g->hash_work);
	WRITE_ONCE(g->io_last_ns, ktime_get_ns());
	atomic_dec(&g->inflight);
	if (g->grid)
		atomic_dec(&g->slots);
	wake_up(&g->wq);
	heapload_gather_put(g);
}

/*
 * Remove a batch's vmap. Buffered reads wrote through it: on caches with
 * virtual aliases those lines must reach memory before the pages are
 * used through other mappings (a no-op elsewhere).
 */
static void heapload_batch_unmap(struct heapload_batch *batch)
{
	size_t off, n;

	/* It takes an int size. */
	for (off = 0; off < batch->chunks.bytes; off += n) {
		n = min_t(size_t, batch->chunks.bytes - off, SZ_1G);
		flush_kernel_vmap_range(batch->vaddr + off, n);
	}
	vunmap(batch->vaddr);
	batch->vaddr = NULL;
}

static void heapload_batch_unmap_work(struct work_struct *work)
{
	struct heapload_batch *batch = container_of(work, struct heapload_batch,
						    unmap_work);

	heapload_batch_unmap(batch);
	heapload_batch_ended(batch);
}

/*
 * The last reference of a batch: it is read (or given up). May run in
 * interrupt context, unless @can_sleep: a vmap'd batch is then unmapped
 * here, else from the workqueue (vunmap() may sleep).
 */
static void __heapload_batch_put(struct heapload_batch *batch, bool can_sleep)
{
	if (!atomic_dec_and_test(&batch->reqs))
		return;
	if (batch->vaddr && !can_sleep) {
		queue_work(heapload_io_wq, &batch->unmap_work);
		return;
	}
	if (batch->vaddr)
		heapload_batch_unmap(batch);
	heapload_batch_ended(batch);
}

static void heapload_batch_put(struct heapload_batch *batch)
{
	__heapload_batch_put(batch, false);
}

/*
 * batch_mapping=vmap: map the batch's pages into one kernel range, which
 * its reads fill through ITER_KVEC iterators. 0 or -ENOMEM.
 */
static int heapload_batch_vmap(struct heapload_gather *g,
			       struct heapload_batch *batch)
{
	unsigned long n = batch->chunks.bytes >> PAGE_SHIFT, k = 0, j;
	struct page **pages;
	unsigned int i;

	if (IS_ENABLED(HEAPLOAD_DEBUG) && g->faults.vmap_after &&
	    batch->off + batch->chunks.bytes > g->faults.vmap_after)
		return -ENOMEM;
	if (n > UINT_MAX)
		return -ENOMEM;		/* vmap() counts pages in an unsigned int */
	/* The caller's memory cgroup is the active one (heapload_batch_work()). */
	pages = kvmalloc_array(n, sizeof(*pages), GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!pages)
		return -ENOMEM;
	/* Chunks are whole pages at offset 0; a chunk's pages are contiguous. */
	for (i = 0; i < batch->chunks.nr; i++) {
		const struct bio_vec *bv = &batch->chunks.bv[i];
		unsigned long pfn = page_to_pfn(bv->bv_page);

		for (j = 0; j < bv->bv_len >> PAGE_SHIFT; j++)
			pages[k++] = pfn_to_page(pfn + j);
	}
	batch->vaddr = vmap(pages, n, VM_MAP, PAGE_KERNEL);
	kvfree(pages);
	if (!batch->vaddr)
		return -ENOMEM;
	atomic64_inc(&heapload_stats.vmapped_batches);
	return 0;
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
		heapload_gather_fail(g, req->res, req->seg);
	else if (req->res < req->need)
		heapload_gather_fail(g, -ENODATA, req->seg);	/* the file shrank */
	else
		atomic64_add(req->need, &g->plan->done_bytes);
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
 * or fail it when it reaches read_error_after (offsets in its segment).
 * Returns 0 or the result to complete the request with instead of reading.
 */
static long heapload_req_faults(struct heapload_gather *g, u64 range_off,
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
static long heapload_req_read(struct heapload_req *req, struct iov_iter *iter)
{
	if (!req->seg->direct)
		return heapload_read_sync(req, iter);
	req->iocb.ki_complete = heapload_req_complete;
	return vfs_iocb_iter_read(req->seg->file, &req->iocb, iter);
}

/* Read @len bytes of @seg at buffer offset @pos, inside @batch. */
static void heapload_batch_submit(struct heapload_batch *batch,
				  const struct heapload_seg *seg, u64 pos,
				  size_t len)
{
	struct heapload_gather *g = batch->g;
	u64 range_off = pos - seg->buf_off;
	struct heapload_req *req;
	struct iov_iter iter;
	long ret;

	req = kmalloc(sizeof(*req), GFP_KERNEL);
	if (!req) {
		heapload_gather_fail(g, -ENOMEM, NULL);
		return;
	}
	req->batch = batch;
	req->seg = seg;
	req->need = min_t(u64, len, seg->length - min(seg->length, range_off));
	req->completed = false;
	refcount_set(&req->ref, 2);

	if (batch->vaddr) {
		req->kvec.iov_base = batch->vaddr + (pos - batch->off);
		req->kvec.iov_len = len;
		iov_iter_kvec(&iter, ITER_DEST, &req->kvec, 1, len);
	} else {
		iov_iter_bvec(&iter, ITER_DEST, batch->chunks.bv,
			      batch->chunks.nr, batch->chunks.bytes);
		iov_iter_advance(&iter, pos - batch->off);
		iov_iter_truncate(&iter, len);
	}

	/* Our choice of direct or buffered, whatever O_DIRECT the fd has. */
	init_sync_kiocb(&req->iocb, seg->file);
	req->iocb.ki_pos = seg->file_off + range_off;
	if (seg->direct)
		req->iocb.ki_flags |= IOCB_DIRECT;
	else
		req->iocb.ki_flags &= ~IOCB_DIRECT;

	atomic_inc(&batch->reqs);
	ret = heapload_req_faults(g, range_off, &iter);
	if (!ret && iov_iter_count(&iter))
		ret = heapload_req_read(req, &iter);
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
	struct heapload_plan *plan = g->plan;
	u64 start = batch->off, end = start + batch->chunks.bytes;
	const struct cred *old_cred;
	struct mem_cgroup *old_memcg;
	int ret;
	u32 i;

	/*
	 * The caller's reads, whichever thread submits them, as the loop
	 * driver arranges for its workers: LSMs and file systems that look
	 * at credentials (FUSE, NFS) see the caller; the page cache that
	 * buffered reads allocate is charged to the caller's memory cgroup
	 * and the I/O to its block cgroup (kthread_associate_blkcg() does
	 * nothing when the caller's own thread reads).
	 */
	old_cred = override_creds(plan->cred);
	old_memcg = set_active_memcg(plan->memcg);
	kthread_associate_blkcg(plan->blkcg_css);
	if (g->vmap && !READ_ONCE(g->abort)) {
		ret = heapload_batch_vmap(g, batch);
		if (ret)
			heapload_gather_fail(g, ret, NULL);
	}
	/* Each segment the batch covers, in requests of its io_bytes. */
	for (i = 0; i < plan->nr; i++) {
		const struct heapload_seg *seg = &plan->segs[i];
		u64 pos = max_t(u64, start, seg->buf_off);
		u64 stop = min_t(u64, end, seg->buf_off + seg->read_len);

		if (seg->buf_off >= end)
			break;		/* sorted: the rest lie further on */
		for (; pos < stop && !READ_ONCE(g->abort); pos += seg->io_bytes)
			heapload_batch_submit(batch, seg, pos,
					      min_t(u64, seg->io_bytes, stop - pos));
	}
	kthread_associate_blkcg(NULL);
	set_active_memcg(old_memcg);
	revert_creds(old_cred);

	__heapload_batch_put(batch, true);	/* the submission reference */
}

/* Tell user space how far the load is; only from the caller's thread. */
static int heapload_report_progress(struct heapload_gather *g,
				    u64 __user *progress)
{
	u64 done = min_t(u64, atomic64_read(&g->plan->done_bytes),
			 g->plan->total);

	if (progress && put_user(done, progress))
		return -EFAULT;
	return 0;
}

/*
 * The caller waits on @g->wq until @cond, killably, writing the progress
 * word every 100 ms. 0, -EINTR on a fatal signal, or -EFAULT.
 */
#define heapload_wait_progress(g, progress, cond)			\
({									\
	long __ret;							\
									\
	for (;;) {							\
		__ret = heapload_report_progress(g, progress);		\
		if (__ret)						\
			break;						\
		__ret = wait_event_killable_timeout((g)->wq, cond, HZ / 10); \
		if (__ret) {						\
			__ret = __ret < 0 ? -EINTR : 0;			\
			break;						\
		}							\
	}								\
	(int)__ret;							\
})

/* Wait until fewer than @limit batches are in flight. */
static int heapload_wait_inflight(struct heapload_gather *g, int limit,
				  u64 __user *progress)
{
	return heapload_wait_progress(g, progress,
				      atomic_read(&g->inflight) < limit ||
				      READ_ONCE(g->abort));
}

/*
 * Call @fn on the pieces, at most a page each, of the buffer's bytes
 * [@from, @to) in @batch, through the kernel's (temporary, for highmem)
 * mappings of its pages.
 */
static void heapload_batch_walk(struct heapload_batch *batch, u64 from, u64 to,
				void (*fn)(void *arg, void *p, size_t len),
				void *arg)
{
	u64 start = batch->off;
	unsigned int i;

	for (i = 0; i < batch->chunks.nr && start < to; i++) {
		struct bio_vec *bv = &batch->chunks.bv[i];
		u64 end = start + bv->bv_len;

		if (end > from) {
			u64 off = from > start ? from - start : 0;
			u64 len = min(end, to) - start - off;
			/* By pfn: a chunk may span memory sections. */
			unsigned long pfn = page_to_pfn(bv->bv_page) +
					    (off >> PAGE_SHIFT);

			off &= ~PAGE_MASK;
			while (len) {
				size_t n = min_t(u64, len, PAGE_SIZE - off);
				void *p = kmap_local_page(pfn_to_page(pfn++));

				fn(arg, p + off, n);
				kunmap_local(p);
				len -= n;
				off = 0;
			}
		}
		start = end;
	}
}

static void heapload_zero_piece(void *arg, void *p, size_t len)
{
	memset(p, 0, len);
}

/* Zero the buffer's bytes [@from, @to). */
static void heapload_zero_range(struct heapload_gather *g, u64 from, u64 to)
{
	struct heapload_batch *batch;

	if (from >= to)
		return;
	list_for_each_entry(batch, &g->batches, node) {
		if (batch->off >= to)
			break;
		if (batch->off + batch->chunks.bytes > from)
			heapload_batch_walk(batch, from, to, heapload_zero_piece,
					    NULL);
	}
}

/*
 * What the segments do not cover must be zero: in a new buffer the gaps
 * between them and the rest of the last page; in an existing one only
 * what direct reads brought in past a segment's end.
 */
static void heapload_zero_uncovered(struct heapload_gather *g)
{
	struct heapload_plan *plan = g->plan;
	u64 covered = 0;
	u32 i;

	for (i = 0; i < plan->nr; i++) {
		const struct heapload_seg *seg = &plan->segs[i];
		u64 end = seg->buf_off + seg->length;

		if (g->view) {
			heapload_zero_range(g, end, seg->buf_off + seg->read_len);
			continue;
		}
		heapload_zero_range(g, covered, seg->buf_off);
		covered = max(covered, end);
	}
	if (!g->view)
		heapload_zero_range(g, covered, plan->len);
}

static void heapload_hash_piece(void *arg, void *p, size_t len)
{
	heapload_digest_update(arg, p, len);
}

/* The batch that holds buffer offset @pos if its reads have ended, or NULL. */
static struct heapload_batch *heapload_done_batch(struct heapload_gather *g,
						  u64 pos)
{
	struct heapload_batch *batch, *found = NULL;

	spin_lock(&g->lock);
	list_for_each_entry(batch, &g->batches, node) {
		/* Only a batch whose reads ended has its final size. */
		if (!smp_load_acquire(&batch->done))
			continue;
		if (pos >= batch->off && pos < batch->off + batch->chunks.bytes) {
			found = batch;
			break;
		}
	}
	spin_unlock(&g->lock);
	return found;
}

/*
 * Hash the segments' bytes in the caller's order, as far as the batches
 * that hold them have been read; queued each time a batch completes, and
 * called once more by the caller when all are.
 */
static void heapload_hash_work(struct work_struct *work)
{
	struct heapload_gather *g = container_of(work, struct heapload_gather,
						 hash_work);
	struct heapload_plan *plan = g->plan;

	while (g->hash_seg < plan->nr && !READ_ONCE(g->error)) {
		const struct heapload_seg *seg = &plan->segs[plan->order[g->hash_seg]];
		struct heapload_batch *batch;
		u64 pos, end;

		if (g->hash_off == seg->length) {
			g->hash_seg++;
			g->hash_off = 0;
			continue;
		}
		pos = seg->buf_off + g->hash_off;
		batch = heapload_done_batch(g, pos);
		if (!batch)
			return;
		end = min(seg->buf_off + seg->length,
			  batch->off + batch->chunks.bytes);
		heapload_batch_walk(batch, pos, end, heapload_hash_piece,
				    &g->digest);
		g->hash_off += end - pos;
		cond_resched();
	}
}

/* The node of every page of the batches, or -1 if there are several. */
static int heapload_batches_node(struct heapload_gather *g)
{
	struct heapload_batch *batch;
	int nid = NUMA_NO_NODE;
	unsigned int i;

	list_for_each_entry(batch, &g->batches, node) {
		for (i = 0; i < batch->chunks.nr; i++) {
			struct page *page = batch->chunks.bv[i].bv_page;
			unsigned long pages = batch->chunks.bv[i].bv_len >> PAGE_SHIFT;
			int first = page_to_nid(page);
			int last = page_to_nid(pfn_to_page(page_to_pfn(page) +
							   pages - 1));

			if (nid == NUMA_NO_NODE)
				nid = first;
			if (first != nid || last != nid)
				return -1;
		}
	}
	return nid;
}

static struct heapload_buffer *
heapload_gather_finish(struct heapload_heap *heap, struct heapload_gather *g,
		       unsigned int nr, int ret)
{
	struct heapload_buffer *buffer = ERR_PTR(ret);
	struct heapload_chunks **parts = NULL;
	struct heapload_batch *batch, *tmp;
	unsigned int i = 0;

	if (!ret) {
		heapload_zero_uncovered(g);
		g->plan->placed_node = heapload_batches_node(g);
	}
	if (!ret && !g->view) {
		parts = kmalloc_array(nr, sizeof(*parts), GFP_KERNEL);
		if (!parts)
			buffer = ERR_PTR(-ENOMEM);
	}
	if (parts) {
		list_for_each_entry(batch, &g->batches, node)
			parts[i++] = &batch->chunks;
		buffer = heapload_buffer_create(heap, g->plan->len, parts, nr);
		kfree(parts);
	}
	if (!ret && g->view)
		buffer = NULL;

	list_for_each_entry_safe(batch, tmp, &g->batches, node) {
		/* A view's pages are the target's. */
		if (IS_ERR(buffer) && !g->view)
			heapload_chunks_free_pages(heap, &batch->chunks);
		heapload_chunks_destroy(&batch->chunks);
		list_del(&batch->node);
		kfree(batch);
	}
	return buffer;
}

static struct heapload_gather *heapload_gather_new(struct heapload_plan *plan)
{
	struct heapload_gather *g = kzalloc(sizeof(*g), GFP_KERNEL);

	if (!g)
		return NULL;
	g->plan = plan;
	g->view = plan->target;
	g->faults = heapload_faults;
	g->error_seg = -1;
	atomic_set(&g->pending, 1);
	init_completion(&g->all_done);
	init_waitqueue_head(&g->wq);
	spin_lock_init(&g->lock);
	INIT_LIST_HEAD(&g->batches);
	INIT_WORK(&g->hash_work, heapload_hash_work);
	if (plan->digest_alg)
		heapload_digest_init(&g->digest, plan->digest_alg);
	return g;
}

/* Where the next view batch starts: an entry of the target's sg_table. */
struct heapload_view_cursor {
	struct scatterlist *sg;
	size_t off;
};

/*
 * Up to @batch_bytes of the target's memory from @cur on, as chunks of
 * @batch; *@remaining counts down. Chunks are page multiples at offset 0,
 * as allocated ones are.
 */
static int heapload_view_fill(struct heapload_gather *g,
			      struct heapload_batch *batch,
			      struct heapload_view_cursor *cur,
			      size_t batch_bytes, size_t *remaining)
{
	int ret;

	if (!cur->sg)
		cur->sg = g->plan->target->sg_table.sgl;
	while (batch->chunks.bytes < batch_bytes && *remaining) {
		struct scatterlist *sg = cur->sg;
		size_t n = min3((size_t)sg->length - cur->off,
				batch_bytes - batch->chunks.bytes, *remaining);

		ret = heapload_chunks_add(&batch->chunks,
					  pfn_to_page(page_to_pfn(sg_page(sg)) +
						      (cur->off >> PAGE_SHIFT)),
					  n);
		if (ret)
			return ret;
		*remaining -= n;
		cur->off += n;
		if (cur->off == sg->length) {
			cur->sg = sg_next(sg);
			cur->off = 0;
		}
	}
	return 0;
}

/*
 * A new batch at buffer offset @off, listed in buffer order (threads
 * that allocate in parallel finish their batches out of order, but claim
 * them nearly in order: the place is near the tail). A batch is listed
 * before it has memory, so that a failed allocation's chunks are freed
 * with the others.
 */
static struct heapload_batch *heapload_batch_new(struct heapload_gather *g,
						 size_t off)
{
	struct heapload_batch *batch, *pos;

	batch = kzalloc(sizeof(*batch), GFP_KERNEL);
	if (!batch)
		return NULL;
	batch->g = g;
	batch->off = off;
	INIT_WORK(&batch->work, heapload_batch_work);
	INIT_WORK(&batch->unmap_work, heapload_batch_unmap_work);
	spin_lock(&g->lock);
	list_for_each_entry_reverse(pos, &g->batches, node)
		if (pos->off < off)
			break;
	list_add(&batch->node, &pos->node);
	g->nr_batches++;
	spin_unlock(&g->lock);
	return batch;
}

/* Hand an allocated batch to the readers, or read it here (@here). */
static void heapload_batch_start(struct heapload_gather *g,
				 struct heapload_batch *batch, bool here)
{
	u32 inflight;

	atomic64_add(batch->chunks.bytes, &heapload_stats.inflight_bytes);
	atomic_set(&batch->reqs, 1);
	atomic_inc(&g->pending);
	inflight = atomic_inc_return(&g->inflight);
	spin_lock(&g->lock);
	g->max_inflight = max(g->max_inflight, inflight);
	if (!g->io_first_ns)
		g->io_first_ns = ktime_get_ns();
	spin_unlock(&g->lock);
	if (here)
		heapload_batch_work(&batch->work);
	else
		queue_work(heapload_io_wq, &batch->work);
}

/*
 * Allocate @batch's memory, @target bytes or *@remaining if less, on
 * thread @thread (1: the caller, whose time alloc_ns counts), stopping
 * early once *@abort is set (or never: NULL).
 */
static int heapload_batch_alloc(struct heapload_gather *g,
				struct heapload_batch *batch, size_t target,
				size_t *remaining, unsigned int thread,
				unsigned int *cursor, const bool *abort)
{
	u64 t = ktime_get_ns();
	int ret;

	ret = heapload_chunks_alloc(g->heap, &batch->chunks, target, remaining,
				    false, g->plan->nid, cursor,
				    heapload_alloc_budget(&g->faults, thread,
							  batch->off),
				    abort);
	/* alloc_ns is the caller's thread's time (UAPI). */
	if (thread == 1)
		atomic64_add(ktime_get_ns() - t, &g->alloc_ns);
	return ret;
}

/*
 * Allocate the next batch of up to @batch_bytes (or take it from the
 * target) and start reading it: the caller's thread alone allocates.
 */
static int heapload_gather_batch(struct heapload_gather *g,
				 size_t batch_bytes, size_t *remaining,
				 unsigned int *cursor,
				 struct heapload_view_cursor *view)
{
	struct heapload_batch *batch;
	int ret;

	batch = heapload_batch_new(g, g->plan->len - *remaining);
	if (!batch)
		return -ENOMEM;

	if (g->view)
		ret = heapload_view_fill(g, batch, view, batch_bytes, remaining);
	else
		ret = heapload_batch_alloc(g, batch, batch_bytes, remaining, 1,
					   cursor, NULL);
	if (ret)
		return ret;

	/* A load of one batch gains nothing from the workqueue hop. */
	heapload_batch_start(g, batch, !*remaining && g->nr_batches == 1);
	return 0;
}

/*
 * With several threads: a slot for the next batch. 1 when taken, 0 when
 * nothing is left to allocate (every unit claimed, or the load aborted),
 * -EAGAIN while max_inflight_batches batches are being allocated or read.
 */
static int heapload_slot_try(struct heapload_gather *g)
{
	if (READ_ONCE(g->abort) ||
	    atomic_read(&g->next_unit) >= g->al.units.nr)
		return 0;
	return atomic_add_unless(&g->slots, 1, g->max_slots) ? 1 : -EAGAIN;
}

/* Give back a slot that no batch will use, to a thread waiting for one. */
static void heapload_slot_put(struct heapload_gather *g)
{
	atomic_dec(&g->slots);
	wake_up(&g->wq);
}

/* heapload_slot_try() for the caller: killable, reporting progress. */
static int heapload_slot_wait(struct heapload_gather *g, u64 __user *progress)
{
	int got = -EAGAIN;
	int ret = heapload_wait_progress(g, progress,
				(got = heapload_slot_try(g)) != -EAGAIN);

	return ret ? ret : got;
}

/* Allocate unit @idx of the grid on thread @thread, and start reading it. */
static int heapload_gather_unit(struct heapload_gather *g, unsigned int idx,
				unsigned int thread, unsigned int *cursor,
				bool *used)
{
	struct heapload_batch *batch;
	size_t remaining, off;
	int ret;

	off = heapload_unit_off(&g->al.units, idx, &remaining);
	batch = heapload_batch_new(g, off);
	if (!batch)
		return -ENOMEM;
	ret = heapload_batch_alloc(g, batch, remaining, &remaining, thread,
				   cursor, &g->abort);
	/* A thread counts once it has allocated something. */
	if (!*used && batch->chunks.bytes) {
		*used = true;
		atomic_inc(&g->al.used);
	}
	if (ret)
		return ret;
	heapload_batch_start(g, batch, false);
	return 0;
}

/*
 * A slot and the next unit for allocating thread @thread (1: the caller,
 * killably, reporting to @progress): 1 with *@idx claimed and a slot
 * held, 0 when no unit is left (or the load aborted), or -EINTR or
 * -EFAULT. The slot goes with the batch to the readers and comes back
 * when the batch is read.
 */
static int heapload_unit_claim(struct heapload_gather *g, unsigned int thread,
			       u64 __user *progress, unsigned int *idx)
{
	int got = -EAGAIN;

	if (thread == 1)
		got = heapload_slot_wait(g, progress);
	else
		wait_event_idle(g->wq, (got = heapload_slot_try(g)) != -EAGAIN);
	if (got <= 0)
		return got;
	*idx = atomic_inc_return(&g->next_unit) - 1;
	/* The last unit: threads waiting for a slot have none to use. */
	if (*idx + 1 >= g->al.units.nr)
		wake_up(&g->wq);
	if (*idx < g->al.units.nr)
		return 1;
	heapload_slot_put(g);
	return 0;
}

/*
 * One allocating thread of a load on several: units until none is left.
 * The caller's first, unit 0, was claimed with its slot before the
 * helpers started (heapload_gather_grid()).
 */
static int heapload_gather_units(struct heapload_gather *g,
				 unsigned int thread, u64 __user *progress)
{
	unsigned int cursor = 0, idx = 0;
	bool used = false;
	int got = thread == 1 ? 1 : heapload_unit_claim(g, thread, progress,
							  &idx);
	int ret;

	while (got > 0) {
		ret = heapload_gather_unit(g, idx, thread, &cursor, &used);
		if (ret) {
			heapload_slot_put(g);
			return ret;
		}
		got = heapload_unit_claim(g, thread, progress, &idx);
	}
	return got;
}

/*
 * The caller, its last unit claimed: wait for the helpers' last batches,
 * killably and reporting progress. 0, -EINTR or -EFAULT.
 */
static int heapload_gather_helpers_wait(struct heapload_gather *g,
					u64 __user *progress)
{
	return heapload_wait_progress(g, progress,
				      !atomic_read(&g->al.running) ||
				      READ_ONCE(g->abort));
}

static void heapload_gather_helper(struct heapload_allocators *al,
				   unsigned int thread)
{
	struct heapload_gather *g = container_of(al, struct heapload_gather, al);
	int ret = heapload_gather_units(g, thread, NULL);

	if (ret)
		heapload_gather_fail(g, ret, NULL);
}

/*
 * Allocate the load's batches on @threads threads, the caller's and
 * helpers, and start reading each as soon as it is allocated. Returns
 * the bytes allocated; errors end in g->error.
 */
static size_t heapload_gather_grid(struct heapload_gather *g,
				   unsigned int threads, size_t unit,
				   int max_slots, u64 __user *progress)
{
	struct heapload_plan *plan = g->plan;
	struct heapload_batch *batch;
	size_t allocated = 0;
	int ret;

	g->grid = true;
	g->max_slots = max_slots;
	g->al = (struct heapload_allocators) {
		.fn = heapload_gather_helper,
		.memcg = plan->memcg,
		.node = plan->alloc_node,
		.threads = threads,
		.units = { .len = plan->len, .unit = unit },
		.abort = &g->abort,
		.wq = &g->wq,
	};
	/*
	 * Unit 0 and a slot for it are the caller's before any helper runs:
	 * the caller always allocates (its time is alloc_ns), and helpers
	 * woken on its CPU cannot take every unit while it waits to run.
	 */
	atomic_set(&g->slots, 1);
	atomic_set(&g->next_unit, 1);
	heapload_allocators_start(&g->al);
	ret = heapload_gather_units(g, 1, progress);
	if (!ret)
		ret = heapload_gather_helpers_wait(g, progress);
	if (ret)
		heapload_gather_fail(g, ret, NULL);
	heapload_allocators_stop(&g->al);

	list_for_each_entry(batch, &g->batches, node)
		allocated += batch->chunks.bytes;
	return allocated;
}

/*
 * Whether a load reads through vmaps of its batches: batch_mapping=vmap,
 * a heap whose pages may have a CPU mapping (not the restricted heap, nor
 * a load into one of its buffers), and, for every direct segment, a
 * kernel whose block layer does direct I/O into kvec iterators and a file
 * on a block device (NFS's direct I/O refuses them on every kernel). Else
 * through bvec, as when batch_mapping=bvec.
 */
static bool heapload_gather_vmap(struct heapload_heap *heap,
				 const struct heapload_plan *plan)
{
	u32 i;

	if (READ_ONCE(heapload_tunables.batch_mapping) != HEAPLOAD_MAPPING_VMAP ||
	    heap->ops->restrict_buf)
		return false;
	for (i = 0; i < plan->nr; i++) {
		const struct heapload_seg *seg = &plan->segs[i];

		if (seg->direct && (!hl_kvec_direct_io() ||
				    !file_inode(seg->file)->i_sb->s_bdev))
			return false;
	}
	return true;
}

/**
 * heapload_gather_load() - fill a buffer from files, allocation overlapped
 * @heap:	heap to allocate from (unused with @plan->target)
 * @plan:	the checked load; its segments' files are readable regular
 *		files, direct I/O capable where a segment is direct, offsets
 *		aligned, segments in the buffer and not overlapping. Its
 *		out fields are set: done_bytes, error_seg, placed_node, digest.
 * @req:	the request: progress_addr is used; alloc_ns (the caller's
 *		thread's), io_ns, batches, max_inflight, alloc_threads and
 *		alloc_threads_max are filled in
 * @bufferp:	the complete new buffer, not yet exported; NULL when the load
 *		filled @plan->target
 *
 * Return: 0, or -ENOMEM, -EINTR, -EFAULT (progress word), -ENODATA
 * (short read), or the read's error. Everything allocated is freed on
 * error.
 */
int heapload_gather_load(struct heapload_heap *heap, struct heapload_plan *plan,
			 struct heapload_load *req,
			 struct heapload_buffer **bufferp)
{
	u64 __user *progress = u64_to_user_ptr(req->progress_addr);
	size_t batch_bytes = plan->batch_bytes;
	int max_inflight = plan->max_inflight;
	size_t len = plan->len, remaining = len;
	struct heapload_view_cursor view = {};
	struct heapload_buffer *buffer;
	struct heapload_gather *g;
	unsigned int cursor = 0, threads = plan->alloc_threads;
	int ret = 0;

	*bufferp = NULL;
	plan->error_seg = -1;
	if (!plan->target) {
		ret = heapload_reserve(len);
		if (ret)
			return ret;
	}
	g = heapload_gather_new(plan);
	if (!g) {
		if (!plan->target)
			heapload_unreserve(len);
		return -ENOMEM;
	}

	g->heap = heap;
	g->vmap = heapload_gather_vmap(heap, plan);
	if (threads > 1) {
		remaining -= heapload_gather_grid(g, threads, batch_bytes,
						  max_inflight, progress);
	}
	while (threads == 1 && remaining && !ret) {
		ret = heapload_wait_inflight(g, max_inflight, progress);
		if (ret || READ_ONCE(g->abort))
			break;
		ret = heapload_gather_batch(g, batch_bytes, &remaining,
					    &cursor, &view);
	}

	/* What a failed load did not allocate. */
	if (!plan->target)
		heapload_unreserve(remaining);

	/* All allocated (or given up): wait for the reads still in flight. */
	if (!ret)
		ret = heapload_wait_inflight(g, 1, progress);
	if (ret)
		heapload_gather_fail(g, ret, NULL);
	heapload_gather_put(g);
	wait_for_completion(&g->all_done);

	ret = READ_ONCE(g->error);
	plan->error_seg = ret ? READ_ONCE(g->error_seg) : -1;
	if (!ret)
		ret = heapload_report_progress(g, progress);
	if (g->io_first_ns)
		req->io_ns = READ_ONCE(g->io_last_ns) - g->io_first_ns;
	req->alloc_ns = atomic64_read(&g->alloc_ns);
	req->batches = g->nr_batches;
	req->max_inflight = g->max_inflight;
	if (!g->view && g->grid) {
		req->alloc_threads = atomic_read(&g->al.used);
		req->alloc_threads_max = g->al.threads;
	} else if (!g->view) {
		req->alloc_threads = g->nr_batches ? 1 : 0;
		req->alloc_threads_max = 1;
	}

	/*
	 * No batch completes any more, so nothing queues the digest's work:
	 * let it finish, then hash what is left from here.
	 */
	if (plan->digest_alg) {
		if (ret) {
			cancel_work_sync(&g->hash_work);
		} else {
			flush_work(&g->hash_work);
			heapload_hash_work(&g->hash_work);
			heapload_digest_final(&g->digest, plan->digest);
		}
	}

	/*
	 * Queued direct reads end without an access event (they return
	 * -EIOCBQUEUED to vfs_iocb_iter_read()): send one per segment, from
	 * the caller, as io_uring does when its reads complete.
	 */
	if (!ret) {
		u32 i;

		for (i = 0; i < plan->nr; i++)
			if (plan->segs[i].direct)
				fsnotify_access(plan->segs[i].file);
	}

	buffer = heapload_gather_finish(heap, g, g->nr_batches, ret);
	kfree(g);
	if (IS_ERR(buffer))
		return PTR_ERR(buffer);
	*bufferp = buffer;
	return 0;
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
