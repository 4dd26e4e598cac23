// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation on several threads.
 *
 * Debian's kernels zero every page they hand out (init_on_alloc), so one
 * CPU allocating is what bounds a load whose drives read faster than
 * that CPU can zero. As the kernel does with its own large jobs of this
 * kind (padata_do_multithreaded(), which hugetlb's boot-time allocation
 * and deferred struct page init use, but which is __init and not
 * exported), the work is split into units that the caller and a few
 * helpers claim one at a time, and the caller works too. The helpers are
 * work items on an unbound workqueue of their own, queued on the NUMA
 * node the memory should come from; a unit is one gather batch
 * (gather_batch_mb) of the buffer, a quarter of one near the end
 * (heapload_units_init()).
 *
 * The memory stays the caller's: each helper charges the caller's
 * memory cgroup (set_active_memcg(), as the loop driver's workers do;
 * without it a kworker's __GFP_ACCOUNT pages would be charged to nobody),
 * with the same GFP flags as the caller, which never invoke the OOM
 * killer. The caller alone sees its fatal signals; it, or any thread's
 * error, sets the allocation's abort flag, which every helper checks
 * before each chunk (at most HEAPLOAD_MAX_CHUNK, in practice 1 MiB).
 * Before anything is freed the caller waits for its helpers, and cancels
 * those that never started.
 */
#include <linux/cpumask.h>
#include <linux/cpuset.h>
#include <linux/memcontrol.h>
#include <linux/mempolicy.h>
#include <linux/nodemask.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/topology.h>
#include <linux/workqueue.h>

#include "heapload.h"

/* The default most threads (alloc_threads=0): see heapload_alloc_threads(). */
#define HEAPLOAD_ALLOC_THREADS_AUTO	4
/* The tail's units are this much smaller: see heapload_units_init(). */
#define HEAPLOAD_TAIL_SPLIT		4

static struct workqueue_struct *heapload_alloc_wq;

/*
 * Helpers queued by all allocations together, at most one per online
 * CPU: whatever the callers do at once, they cannot make heapload run
 * more kworkers than that (their CPU time is charged to no cgroup of the
 * callers'). An allocation that finds none free allocates alone.
 */
static atomic_t heapload_alloc_helpers;

/**
 * struct heapload_alloc_worker - one helper of an allocation
 * @work:	the work item, on heapload_alloc_wq
 * @al:		the allocation's threads
 * @thread:	its thread number, 2 and up
 */
struct heapload_alloc_worker {
	struct work_struct work;
	struct heapload_allocators *al;
	unsigned int thread;
};

/* CPUs the caller may run on, online, of @node (any node: NUMA_NO_NODE). */
static unsigned int heapload_caller_cpus(int node, unsigned int max)
{
	const struct cpumask *mask = node == NUMA_NO_NODE ? cpu_online_mask :
				     cpumask_of_node(node);
	unsigned int cpu, n = 0;

	for_each_cpu_and(cpu, current->cpus_ptr, mask) {
		if (cpu_online(cpu) && ++n == max)
			break;
	}
	return n;
}

/**
 * heapload_alloc_threads() - how many threads allocate @len bytes
 * @heap:	the heap
 * @len:	bytes to allocate
 * @unit:	bytes one thread claims at a time (gather_batch_mb)
 * @nid:	the node the memory must come from, or NUMA_NO_NODE
 * @max:	most threads the caller can use (a load's
 *		max_inflight_batches)
 *
 * One thread, the caller's, for a heap without parallel_alloc, for
 * anything of fewer than two units, and for a caller whose own memory
 * policy or cpuset limits where its memory may come from (unless @nid
 * says where): helpers would escape them. Otherwise alloc_threads, capped
 * by the units and @max; alloc_threads=0 takes the online CPUs the caller
 * may run on in its home node (@nid, or the node it runs on; all nodes
 * if none of them is there), at most HEAPLOAD_ALLOC_THREADS_AUTO. Zeroing
 * pages is bound by memory bandwidth, which a few CPUs fill, and a
 * helper's CPU time is not charged to the caller's CPU cgroup: the cap
 * keeps that small.
 *
 * Return: at least 1.
 */
unsigned int heapload_alloc_threads(struct heapload_heap *heap, size_t len,
				    size_t unit, int nid, unsigned int max)
{
	unsigned int p = READ_ONCE(heapload_tunables.alloc_threads);
	size_t units;
	int home;

	if (!heap->ops->parallel_alloc || !unit || max < 2 || p == 1)
		return 1;
	units = DIV_ROUND_UP(len, unit);
	if (units < 2)
		return 1;
#ifdef CONFIG_NUMA
	if (nid == NUMA_NO_NODE && current->mempolicy)
		return 1;
#endif
	if (!nodes_equal(cpuset_current_mems_allowed, node_states[N_MEMORY]))
		return 1;
	if (!p) {
		home = nid == NUMA_NO_NODE ? numa_node_id() : nid;
		p = heapload_caller_cpus(home, HEAPLOAD_ALLOC_THREADS_AUTO);
		if (!p)
			p = heapload_caller_cpus(NUMA_NO_NODE,
						 HEAPLOAD_ALLOC_THREADS_AUTO);
	}
	return max_t(unsigned int, 1, min3((size_t)p, units, (size_t)max));
}

/**
 * heapload_units_init() - cut an allocation into units for its threads
 * @u:		the cut
 * @len:	bytes to allocate, a multiple of PAGE_SIZE
 * @unit:	bytes of a unit (gather_batch_mb), a multiple of 1 MiB
 * @threads:	threads that claim the units in turn
 *
 * Units of @unit bytes, except the last @threads units' worth (the
 * tail), which is cut into units of a quarter of that where a quarter is
 * 1 MiB or more: the threads then end their last units at nearly the
 * same time, and a load's last batches, whose reads nothing overlaps
 * any more, are small. padata_do_multithreaded() cuts a job into four
 * chunks per thread for the same reason (its load_balance_factor). With
 * one thread, or small units, every unit is @unit bytes. Fewer threads
 * never cut more units: each one more adds at least three.
 */
void heapload_units_init(struct heapload_units *u, size_t len, size_t unit,
			 unsigned int threads)
{
	unsigned int whole = DIV_ROUND_UP(len, unit);

	/* A quarter of a whole number of MiB is whole pages. */
	BUILD_BUG_ON(PAGE_SIZE > SZ_256K);
	*u = (struct heapload_units) {
		.len = len, .unit = unit, .tail_unit = unit, .head = whole,
		.nr = whole,
	};
	if (threads < 2 || unit < HEAPLOAD_TAIL_SPLIT * SZ_1M)
		return;
	u->head = whole > threads ? whole - threads : 0;
	u->tail_unit = unit / HEAPLOAD_TAIL_SPLIT;
	u->nr = u->head + DIV_ROUND_UP(len - (size_t)u->head * unit,
				       u->tail_unit);
}

/**
 * heapload_unit_off() - where unit @idx of a cut is
 * @u:		the cut (heapload_units_init())
 * @idx:	the unit, below @u->nr
 * @bytes:	out: its size
 *
 * Return: its offset in the buffer.
 */
size_t heapload_unit_off(const struct heapload_units *u, unsigned int idx,
			 size_t *bytes)
{
	size_t off;

	if (idx < u->head) {
		off = (size_t)idx * u->unit;
		*bytes = min(u->unit, u->len - off);
	} else {
		off = (size_t)u->head * u->unit +
		      (size_t)(idx - u->head) * u->tail_unit;
		*bytes = min(u->tail_unit, u->len - off);
	}
	return off;
}

/**
 * heapload_alloc_budget() - fault injection: bytes a unit may allocate
 * @faults:	the allocation's snapshot of the debugfs knobs
 * @thread:	the allocating thread, 1 for the caller
 * @off:	the unit's offset in the buffer
 *
 * Return: what is left below fault_alloc_after from @off, if it applies
 * to @thread; U64_MAX when it is off.
 */
u64 heapload_alloc_budget(const struct heapload_faults *faults,
			  unsigned int thread, size_t off)
{
	if (!faults->alloc_after ||
	    (faults->alloc_thread && faults->alloc_thread != thread))
		return U64_MAX;
	return faults->alloc_after > off ? faults->alloc_after - off : 0;
}

static void heapload_alloc_work(struct work_struct *work)
{
	struct heapload_alloc_worker *w =
		container_of(work, struct heapload_alloc_worker, work);
	struct heapload_allocators *al = w->al;
	struct mem_cgroup *old_memcg;
#if defined(HEAPLOAD_DEBUG) && defined(CONFIG_FAULT_INJECTION)
	unsigned int old_fail = current->make_it_fail;

	/* Test builds: the caller's failslab and fail_page_alloc reach us. */
	current->make_it_fail = al->make_it_fail;
#endif
	atomic_inc(&al->running);
	atomic_inc(&heapload_stats.alloc_workers);
	old_memcg = set_active_memcg(al->memcg);
	if (!READ_ONCE(*al->abort))
		al->fn(al, w->thread);
	set_active_memcg(old_memcg);
	atomic_dec(&heapload_stats.alloc_workers);
#if defined(HEAPLOAD_DEBUG) && defined(CONFIG_FAULT_INJECTION)
	current->make_it_fail = old_fail;
#endif
	/* The caller frees @al only after cancel_work_sync() on us. */
	atomic_dec(&al->running);
	wake_up(al->wq);
}

/**
 * heapload_allocators_start() - queue the helpers of an allocation
 * @al:		fn, memcg, node, threads, units.len, units.unit, abort and
 *		wq set; the rest zero
 *
 * Queues @al->threads - 1 helpers, fewer when all allocations together
 * already have one per online CPU; @al->threads is then lowered to what
 * was queued (1 when nothing was, or when the work items could not be
 * allocated: the caller allocates alone). @al->units is then cut for
 * those threads (heapload_units_init()), before any helper runs.
 * The caller then allocates as thread 1, and calls
 * heapload_allocators_stop() on every path.
 */
void heapload_allocators_start(struct heapload_allocators *al)
{
	unsigned int i, helpers = 0;

	atomic_set(&al->running, 0);
	atomic_set(&al->used, 0);
#if defined(HEAPLOAD_DEBUG) && defined(CONFIG_FAULT_INJECTION)
	al->make_it_fail = current->make_it_fail;
#endif
	while (helpers + 1 < al->threads) {
		if (atomic_inc_return(&heapload_alloc_helpers) >
		    num_online_cpus()) {
			atomic_dec(&heapload_alloc_helpers);
			break;
		}
		helpers++;
	}
	al->workers = NULL;
	if (helpers) {
		al->workers = kcalloc(helpers, sizeof(*al->workers),
				      GFP_KERNEL);
		if (!al->workers) {
			atomic_sub(helpers, &heapload_alloc_helpers);
			helpers = 0;
		}
	}
	al->threads = helpers + 1;
	heapload_units_init(&al->units, al->units.len, al->units.unit,
			    al->threads);

	for (i = 0; i < helpers; i++) {
		struct heapload_alloc_worker *w = &al->workers[i];

		w->al = al;
		w->thread = i + 2;
		INIT_WORK(&w->work, heapload_alloc_work);
		if (al->node != NUMA_NO_NODE)
			queue_work_node(al->node, heapload_alloc_wq, &w->work);
		else
			queue_work(heapload_alloc_wq, &w->work);
	}
}

/**
 * heapload_allocators_wait() - wait for the helpers, as the caller
 * @al:		the allocation, whose caller has claimed its last unit
 *
 * Return: 0 once no helper runs or the allocation was aborted; -EINTR on
 * a fatal signal, after which the caller must abort the allocation.
 */
int heapload_allocators_wait(struct heapload_allocators *al)
{
	if (!al->workers)
		return 0;
	if (wait_event_killable(*al->wq, !atomic_read(&al->running) ||
				READ_ONCE(*al->abort)))
		return -EINTR;
	return 0;
}

/**
 * heapload_allocators_stop() - the end of an allocation's helpers
 * @al:		the allocation: no unit is left to claim, or it was aborted
 *
 * Cancels the helpers that never started and waits for the others (at
 * most one chunk each after an abort; the rest of a unit otherwise).
 */
void heapload_allocators_stop(struct heapload_allocators *al)
{
	unsigned int i;

	if (!al->workers)
		return;
	/*
	 * Also what orders the helpers' work before the caller's reads of
	 * it: cancel_work_sync() waits for each under the pool's lock.
	 */
	for (i = 0; i < al->threads - 1; i++)
		cancel_work_sync(&al->workers[i].work);
	atomic_sub(al->threads - 1, &heapload_alloc_helpers);
	kfree(al->workers);
	al->workers = NULL;
	if (atomic_read(&al->used) > 1)
		atomic64_inc(&heapload_stats.parallel_allocs);
}

int heapload_alloc_init(void)
{
	heapload_alloc_wq = alloc_workqueue("heapload_alloc", WQ_UNBOUND, 0);
	return heapload_alloc_wq ? 0 : -ENOMEM;
}

void heapload_alloc_exit(void)
{
	destroy_workqueue(heapload_alloc_wq);
}
