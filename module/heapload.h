/* SPDX-License-Identifier: GPL-2.0 */
/*
 * heapload internal interfaces: heaps, their buffers, and the loader.
 */
#ifndef _HEAPLOAD_H
#define _HEAPLOAD_H

#include <linux/atomic.h>
#include <linux/bvec.h>
#include <linux/cdev.h>
#include <linux/dma-buf.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/xxhash.h>

/*
 * The largest chunk a heap hands out and the largest sg_table entry a
 * buffer gets by merging chunks: 2 GiB. bio_vec and scatterlist lengths
 * are unsigned int, and a power of two is a multiple of any page size.
 */
#define HEAPLOAD_MAX_CHUNK	((size_t)SZ_2G)

struct heapload_heap;
struct cgroup_subsys_state;
struct cred;
struct mem_cgroup;

/**
 * struct heapload_buffer - memory of one heap allocation
 * @heap:	the heap it came from
 * @attachments: list of the importers' attachments, under @lock
 * @lock:	protects @attachments, @vmap_cnt and @vaddr
 * @len:	size in bytes, a multiple of PAGE_SIZE
 * @sg_table:	the memory, one entry per physically contiguous chunk
 * @vmap_cnt:	users of @vaddr
 * @vaddr:	kernel mapping while @vmap_cnt > 0
 * @restricted:	protected by the heap's restrict_buf op: no CPU access
 * @loading:	a load into the buffer (HEAPLOAD_LOAD_INTO) runs: no device
 *		may map it; under @lock
 */
struct heapload_buffer {
	struct heapload_heap *heap;
	struct list_head attachments;
	struct mutex lock;
	size_t len;
	struct sg_table sg_table;
	int vmap_cnt;
	void *vaddr;
	bool restricted;
	bool loading;
};

/**
 * struct heapload_chunks - physically contiguous chunks gathered so far
 * @bv:		one bio_vec per chunk (offset 0, length a multiple of PAGE_SIZE)
 * @nr:		entries used
 * @cap:	entries allocated
 * @bytes:	sum of the chunk lengths
 *
 * A gather batch of a load, or a whole buffer being allocated; the array
 * doubles as the ITER_BVEC the batch is read through.
 */
struct heapload_chunks {
	struct bio_vec *bv;
	unsigned int nr;
	unsigned int cap;
	size_t bytes;
};

/**
 * struct heapload_heap_ops - what a heap implements
 * @alloc_chunk: allocate one physically contiguous chunk of at most
 *		min(@remaining, HEAPLOAD_MAX_CHUNK) bytes (a non-zero multiple
 *		of PAGE_SIZE, offset 0) into @chunk, zeroed if @zero, from NUMA
 *		node @nid only, or with the usual policy for NUMA_NO_NODE
 *		(heaps without @numa_placement only get NUMA_NO_NODE). @cursor
 *		is the heap's own state across the calls of one allocation, 0
 *		at its start. Returns 0 or -ENOMEM; never invokes the OOM
 *		killer.
 * @free_chunk:	give back a chunk from @alloc_chunk.
 * @restrict_buf: optional, and what makes a heap restricted: protect a
 *		complete buffer before it is exported; afterwards no CPU may
 *		access it. Loads into such a heap must use direct I/O, so that
 *		no copy of the data stays in the page cache. Returns 0 or an
 *		errno; on error the buffer is still unrestricted.
 * @unrestrict_buf: lift @restrict_buf's protection before the buffer's
 *		chunks are freed.
 * @dmabuf_ops:	the dma-buf exporter ops of this heap's buffers; their
 *		release op calls heapload_buffer_free().
 * @merge_chunks: physically adjacent chunks become one sg_table entry;
 *		@free_chunk then gets such merged ranges.
 * @numa_placement: @alloc_chunk can take its memory from a given node.
 * @parallel_alloc: @alloc_chunk may run on several threads at once for
 *		one allocation (see alloc.c); heaps that serialise their
 *		allocations anyway leave it unset and allocate in the
 *		caller's thread only.
 */
struct heapload_heap_ops {
	int (*alloc_chunk)(struct heapload_heap *heap, size_t remaining,
			   bool zero, int nid, unsigned int *cursor,
			   struct bio_vec *chunk);
	void (*free_chunk)(struct heapload_heap *heap, struct page *page,
			   size_t len);
	int (*restrict_buf)(struct heapload_buffer *buffer);
	void (*unrestrict_buf)(struct heapload_buffer *buffer);
	const struct dma_buf_ops *dmabuf_ops;
	bool merge_chunks;
	bool numa_placement;
	bool parallel_alloc;
};

/**
 * struct heapload_heap - a heap and its /dev/dma_heap/<name> node
 * @name:	heap name, e.g. "heapload,system"
 * @ops:	the heap's operations
 * @list:	entry in the list of heaps
 * @cdev:	character device of the dma-heap node
 * @dev:	device of the dma-heap node
 */
struct heapload_heap {
	const char *name;
	const struct heapload_heap_ops *ops;
	struct list_head list;
	struct cdev cdev;
	struct device *dev;
};

/* heap.c: registry, export and fd installation */
int heapload_heap_add(struct heapload_heap *heap);
void heapload_heap_remove(struct heapload_heap *heap);
struct heapload_heap *heapload_heap_find(const char *name);
struct heapload_buffer *heapload_dmabuf_buffer(struct dma_buf *dmabuf);
struct dma_buf *heapload_heap_allocate(struct heapload_heap *heap, size_t len,
				       u32 fd_flags);
struct dma_buf *heapload_buffer_export(struct heapload_buffer *buffer,
				       u32 fd_flags);
int heapload_install_dmabuf(struct dma_buf *dmabuf, u32 fd_flags,
			    void __user *uarg, void *karg, size_t size,
			    u32 *fd_field);

/*
 * heap_uapi.c or heap_framework.c: the registration path that gives a heap
 * its /dev/dma_heap/<name> node, chosen at build time.
 */
extern const char heapload_heap_registration[];
int heapload_heap_nodes_init(void);
void heapload_heap_nodes_exit(void);
int heapload_heap_node_add(struct heapload_heap *heap);
void heapload_heap_node_remove(struct heapload_heap *heap);

/* buffer.c: chunks, buffers, limits, statistics */
int heapload_reserve(size_t len);
void heapload_unreserve(size_t len);
int heapload_chunks_alloc(struct heapload_heap *heap,
			  struct heapload_chunks *chunks, size_t target,
			  size_t *remaining, bool zero, int nid,
			  unsigned int *cursor, u64 budget, const bool *abort);
int heapload_chunks_add(struct heapload_chunks *chunks, struct page *page,
			size_t len);
void heapload_chunks_free_pages(struct heapload_heap *heap,
				struct heapload_chunks *chunks);
void heapload_chunks_destroy(struct heapload_chunks *chunks);
struct heapload_buffer *heapload_buffer_create(struct heapload_heap *heap,
					       size_t len,
					       struct heapload_chunks **parts,
					       unsigned int nr_parts);
struct heapload_buffer *heapload_buffer_alloc(struct heapload_heap *heap,
					      size_t len);
int heapload_buffer_restrict(struct heapload_buffer *buffer);
void heapload_buffer_free(struct heapload_buffer *buffer);
void heapload_pages_scrub(struct page *page, size_t len);

/* buffer.c: the exporter ops every heap shares */
int heapload_dmabuf_attach(struct dma_buf *dmabuf,
			   struct dma_buf_attachment *attachment);
void heapload_dmabuf_detach(struct dma_buf *dmabuf,
			    struct dma_buf_attachment *attachment);
struct sg_table *heapload_dmabuf_map(struct dma_buf_attachment *attachment,
				     enum dma_data_direction direction);
void heapload_dmabuf_unmap(struct dma_buf_attachment *attachment,
			   struct sg_table *table,
			   enum dma_data_direction direction);
void heapload_dmabuf_release(struct dma_buf *dmabuf);

/**
 * struct heapload_attachment - one importer's attachment to a buffer
 * @dev:	the importing device
 * @table:	the attachment's own copy of the buffer's sg_table
 * @list:	entry in the buffer's @attachments
 * @mapped:	@table is DMA-mapped for @dev
 * @direction:	the direction @table was mapped with, which every CPU
 *		sync of the mapping must use (DMA API rule; the DMA-API
 *		debug code warns otherwise)
 */
struct heapload_attachment {
	struct device *dev;
	struct sg_table *table;
	struct list_head list;
	bool mapped;
	enum dma_data_direction direction;
};

/**
 * struct heapload_stats - module-wide counters, shown in sysfs
 * @allocated_bytes: heap memory held now
 * @buffers:	complete buffers alive
 * @loads:	successful loads
 * @load_failures: failed loads
 * @loaded_bytes: bytes of the successful loads
 * @inflight_bytes: memory of loads in progress waiting for I/O
 * @alloc_workers: helper work items allocating for a load or an
 *		allocation right now
 * @parallel_allocs: loads and allocations in which more than one thread
 *		allocated
 * @vmapped_batches: gather batches read through a vmap of their pages
 *		(batch_mapping=vmap)
 */
struct heapload_stats {
	atomic64_t allocated_bytes;
	atomic_t buffers;
	atomic64_t loads;
	atomic64_t load_failures;
	atomic64_t loaded_bytes;
	atomic64_t inflight_bytes;
	atomic_t alloc_workers;
	atomic64_t parallel_allocs;
	atomic64_t vmapped_batches;
};
extern struct heapload_stats heapload_stats;

/**
 * struct heapload_tunables - administrator's policy, module parameters
 * @max_alloc_mb: largest buffer, MiB
 * @gather_batch_mb: gather batch size, MiB
 * @max_inflight_batches: batches of one load allocated and not yet read
 * @io_size_kb:	bytes per read request, KiB (rounded up per load to whole
 *		pages and direct-I/O blocks)
 * @restricted_pool_mb: capacity of the restricted heap's pool, MiB
 * @alloc_threads: most threads one allocation uses; 0: chosen from the
 *		CPUs (see heapload_alloc_threads())
 * @batch_mapping: how a load's reads reach a gather batch's pages,
 *		HEAPLOAD_MAPPING_*
 */
struct heapload_tunables {
	unsigned int max_alloc_mb;
	unsigned int gather_batch_mb;
	unsigned int max_inflight_batches;
	unsigned int io_size_kb;
	unsigned int restricted_pool_mb;
	unsigned int alloc_threads;
	unsigned int batch_mapping;
};
extern struct heapload_tunables heapload_tunables;

/*
 * batch_mapping: HEAPLOAD_MAPPING_BVEC reads into an ITER_BVEC over the
 * batch's pages; HEAPLOAD_MAPPING_VMAP maps the batch with vmap() and
 * reads into an ITER_KVEC over that range (gather.c).
 */
enum {
	HEAPLOAD_MAPPING_BVEC,
	HEAPLOAD_MAPPING_VMAP,
};

/**
 * struct heapload_faults - fault injection from debugfs, test builds only
 *		(HEAPLOAD_DEBUG); bytes, 0 = off
 * @alloc_after: a load's allocation fails past this many bytes
 * @read_short_after: a load's reads end short at this offset in the range
 * @read_error_after: a load's read past this offset in the range fails
 * @race_after_submit: test builds only: after ->read_iter has queued a
 *		direct read, wait for its completion before the submitter
 *		lets go of the request (see gather.c)
 * @alloc_thread: @alloc_after applies in this allocating thread only (1:
 *		the caller, 2 and up: the helpers); 0: in any
 * @vmap_after: with batch_mapping=vmap, the vmap() of a gather batch
 *		that reaches past this many bytes of the buffer fails
 */
struct heapload_faults {
	u64 alloc_after;
	u32 alloc_thread;
	u64 read_short_after;
	u64 read_error_after;
	bool race_after_submit;
	u64 vmap_after;
};
#ifdef HEAPLOAD_DEBUG
extern struct heapload_faults heapload_faults;
#else
/* Production builds: all off, so the compiler drops every injection. */
static const struct heapload_faults heapload_faults;
#endif

/* system_heap.c */
extern bool heapload_system_alias;
int heapload_system_heap_init(void);
void heapload_system_heap_exit(void);

/* restricted_heap.c and restricted_pool.c */
void heapload_rpool_init(void);
void heapload_rpool_exit(void);
int heapload_restricted_heap_init(void);
void heapload_restricted_heap_exit(void);
extern const struct attribute_group heapload_restricted_group;

/* debug.c, in test builds (HEAPLOAD_DEBUG) only: the debugfs files */
#ifdef HEAPLOAD_DEBUG
void heapload_debug_init(void);
void heapload_debug_exit(void);
bool heapload_fault_heap_add(const char *name);
#else
static inline void heapload_debug_init(void) { }
static inline void heapload_debug_exit(void) { }
static inline bool heapload_fault_heap_add(const char *name) { return false; }
#endif

/* digest.c: digests of loaded bytes */
struct heapload_digest {
	u32 alg;
	union {
		hl_sha256_ctx sha256;
		struct xxh64_state xxh64;
	};
};
int heapload_digest_check(u32 alg, const u8 *expected);
void heapload_digest_init(struct heapload_digest *d, u32 alg);
void heapload_digest_update(struct heapload_digest *d, const void *p,
			    size_t len);
void heapload_digest_final(struct heapload_digest *d, u8 *out);

/**
 * struct heapload_seg - one checked segment of a load
 * @file:	the file, referenced
 * @file_off:	file offset of the range
 * @length:	bytes to load, resolved (non-zero)
 * @buf_off:	buffer offset of the range
 * @read_len:	bytes read: @length, rounded up to the file's direct-I/O
 *		alignment for direct I/O (the rest is zeroed afterwards)
 * @io_bytes:	bytes per read request: io_size_kb in whole pages and
 *		whole direct-I/O blocks
 * @direct:	read with IOCB_DIRECT
 * @index:	the segment's index in the caller's array
 */
struct heapload_seg {
	struct file *file;
	u64 file_off;
	u64 length;
	u64 buf_off;
	u64 read_len;
	size_t io_bytes;
	bool direct;
	u32 index;
};

/**
 * struct heapload_plan - a checked load, what gather.c carries out
 * @segs:	the segments, sorted by buffer offset
 * @order:	@order[i] is the position in @segs of the caller's segment i:
 *		the digest's order
 * @nr:		number of segments
 * @len:	buffer size, a multiple of PAGE_SIZE
 * @total:	sum of the segments' lengths
 * @target:	with HEAPLOAD_LOAD_INTO, the buffer to fill (its dma-buf
 *		referenced in @target_dmabuf, @target->loading set); else NULL
 * @target_dmabuf: the dma-buf of @target
 * @nid:	NUMA node the pages must come from, or NUMA_NO_NODE
 * @digest_alg:	HEAPLOAD_DIGEST_*
 * @cred:	the caller's credentials, which every read uses
 * @memcg:	the caller's memory cgroup, charged for what the load
 *		allocates (also from other threads), or NULL
 * @blkcg_css:	the caller's block cgroup, charged for the I/O, or NULL
 * @batch_bytes: gather_batch_mb in bytes, read when the plan was made
 * @max_inflight: max_inflight_batches, read when the plan was made
 * @alloc_threads: threads that allocate the load (1 into a target),
 *		chosen by heapload_alloc_threads() in the caller's thread:
 *		an asynchronous load's worker has neither the caller's CPUs
 *		nor its memory policy
 * @alloc_node:	the node whose CPUs run the helpers: @nid, or the one the
 *		caller ran on
 * @done_bytes:	bytes of the segments read so far
 * @error_seg:	out: caller's index of the segment an error is about, or -1
 * @placed_node: out: node of every page of the buffer, or -1
 * @digest:	out: the digest of the loaded bytes
 */
struct heapload_plan {
	struct heapload_seg *segs;
	u32 *order;
	u32 nr;
	size_t len;
	u64 total;
	struct heapload_buffer *target;
	struct dma_buf *target_dmabuf;
	int nid;
	u32 digest_alg;
	const struct cred *cred;
	struct mem_cgroup *memcg;
	struct cgroup_subsys_state *blkcg_css;
	size_t batch_bytes;
	int max_inflight;
	unsigned int alloc_threads;
	int alloc_node;
	atomic64_t done_bytes;
	int error_seg;
	int placed_node;
	u8 digest[32];
};

/**
 * struct heapload_units - an allocation cut into the units its threads
 *		claim in turn (heapload_units_init())
 * @len:	bytes in all
 * @unit:	bytes of a unit before the tail (gather_batch_mb)
 * @tail_unit:	bytes of a unit of the tail (@unit where nothing is cut)
 * @head:	units before the tail
 * @nr:		units in all; the last one may be smaller
 */
struct heapload_units {
	size_t len;
	size_t unit;
	size_t tail_unit;
	unsigned int head;
	unsigned int nr;
};

/**
 * struct heapload_allocators - the threads that allocate for one load or
 *		allocation: the caller and its helpers (alloc.c)
 * @fn:		what each helper runs, with its thread number (2 and up;
 *		the caller is 1); it stops when @abort is set
 * @memcg:	the memory cgroup the helpers charge, the caller's; or NULL
 * @node:	the NUMA node whose CPUs should run the helpers, or
 *		NUMA_NO_NODE
 * @threads:	threads in all, the caller's included
 * @units:	the bytes to allocate (@units.len) cut into units of
 *		@units.unit (gather_batch_mb) for @threads threads, by
 *		heapload_allocators_start()
 * @abort:	the allocation's stop flag
 * @wq:		woken when a helper ends
 * @running:	helpers inside @fn
 * @used:	threads that allocated something
 * @workers:	the helpers' work items, @threads - 1 of them
 * @make_it_fail: test builds: the caller's fault injection flag, which its
 *		helpers take over
 */
struct heapload_allocators {
	void (*fn)(struct heapload_allocators *al, unsigned int thread);
	struct mem_cgroup *memcg;
	int node;
	unsigned int threads;
	struct heapload_units units;
	const bool *abort;
	wait_queue_head_t *wq;
	atomic_t running;
	atomic_t used;
	struct heapload_alloc_worker *workers;
	int make_it_fail;
};

/* alloc.c: allocation on several threads */
int heapload_alloc_init(void);
void heapload_alloc_exit(void);
unsigned int heapload_alloc_threads(struct heapload_heap *heap, size_t len,
				    size_t unit, int nid, unsigned int max);
void heapload_units_init(struct heapload_units *u, size_t len, size_t unit,
			 unsigned int threads);
size_t heapload_unit_off(const struct heapload_units *u, unsigned int idx,
			 size_t *bytes);
void heapload_allocators_start(struct heapload_allocators *al);
int heapload_allocators_wait(struct heapload_allocators *al);
void heapload_allocators_stop(struct heapload_allocators *al);
u64 heapload_alloc_budget(const struct heapload_faults *faults,
			  unsigned int thread, size_t off);

/* gather.c: the parallel gathered load */
struct heapload_load;
int heapload_gather_init(void);
void heapload_gather_exit(void);
int heapload_gather_load(struct heapload_heap *heap, struct heapload_plan *plan,
			 struct heapload_load *req,
			 struct heapload_buffer **bufferp);

/* loader.c: /dev/heapload */
int heapload_loader_init(void);
void heapload_loader_exit(void);

#endif /* _HEAPLOAD_H */
