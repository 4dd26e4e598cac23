// SPDX-License-Identifier: GPL-2.0
/*
 * heapload: dma-buf heaps and a direct-I/O loader for distro kernels.
 *
 * Module parameters are the administrator's policy (limits, gather
 * batches); they are ABI, documented in Documentation/ABI/testing/.
 */
#include <linux/init.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/string.h>

#include "heapload.h"

struct heapload_tunables heapload_tunables = {
	.gather_batch_mb = 128,
	.max_inflight_batches = 4,
	.io_size_kb = 8192,
};


/* Set an unsigned int parameter only if it lies in [min, max]. */
static int heapload_param_set_range(const char *val,
				    const struct kernel_param *kp,
				    unsigned int min, unsigned int max,
				    unsigned int multiple)
{
	unsigned int n;
	int ret;

	ret = kstrtouint(val, 0, &n);
	if (ret)
		return ret;
	if (n < min || n > max || n % multiple)
		return -EINVAL;
	WRITE_ONCE(*(unsigned int *)kp->arg, n);
	return 0;
}

#define HEAPLOAD_PARAM(name, min, max, multiple, desc)			\
static int name##_set(const char *val, const struct kernel_param *kp)	\
{									\
	return heapload_param_set_range(val, kp, min, max, multiple);	\
}									\
static const struct kernel_param_ops name##_ops = {			\
	.set = name##_set,						\
	.get = param_get_uint,						\
};									\
module_param_cb(name, &name##_ops, &heapload_tunables.name, 0644);	\
MODULE_PARM_DESC(name, desc)

HEAPLOAD_PARAM(max_alloc_mb, 1, UINT_MAX, 1,
	       "Largest buffer one allocation or load may have, in MiB (default: half of RAM)");
HEAPLOAD_PARAM(gather_batch_mb, 1, 65536, 1,
	       "Gather batch of a load, in MiB: read while the next is allocated (1-65536, default 128)");
HEAPLOAD_PARAM(max_inflight_batches, 1, 64, 1,
	       "Batches of one load allocated and not yet read at one time (1-64, default 4)");
HEAPLOAD_PARAM(io_size_kb, 4, 65536, 4,
	       "Bytes per read request, in KiB, a multiple of 4 (4-65536, default 8192); rounded up to whole pages and direct-I/O blocks");
HEAPLOAD_PARAM(restricted_pool_mb, 1, UINT_MAX, 1,
	       "Capacity of the restricted heap's pool, in MiB (default: a quarter of RAM)");
HEAPLOAD_PARAM(alloc_threads, 0, 64, 1,
	       "Most threads one allocation or load allocates on (0-64): 0 = chosen from the CPUs (default), 1 = the caller's only");

/*
 * batch_mapping: "bvec" (default) or "vmap", as in heapload_tunables; the
 * names are ABI (Documentation/ABI/testing/sysfs-module-heapload).
 */
static const char * const heapload_mapping_names[] = {
	[HEAPLOAD_MAPPING_BVEC] = "bvec",
	[HEAPLOAD_MAPPING_VMAP] = "vmap",
};

static int batch_mapping_set(const char *val, const struct kernel_param *kp)
{
	int i = sysfs_match_string(heapload_mapping_names, val);

	if (i < 0)
		return -EINVAL;
	if (i == HEAPLOAD_MAPPING_VMAP && !hl_kvec_direct_io())
		pr_notice_once("batch_mapping=vmap: this kernel cannot do direct I/O into a vmap'd batch; direct loads read through bvec\n");
	WRITE_ONCE(*(unsigned int *)kp->arg, i);
	return 0;
}

static int batch_mapping_get(char *buf, const struct kernel_param *kp)
{
	unsigned int i = READ_ONCE(*(unsigned int *)kp->arg);

	return scnprintf(buf, PAGE_SIZE, "%s\n", heapload_mapping_names[i]);
}

static const struct kernel_param_ops batch_mapping_ops = {
	.set = batch_mapping_set,
	.get = batch_mapping_get,
};
module_param_cb(batch_mapping, &batch_mapping_ops,
		&heapload_tunables.batch_mapping, 0644);
MODULE_PARM_DESC(batch_mapping,
		 "How loads read into a gather batch: bvec (default, the batch's pages) or vmap (a vmap of them)");

/*
 * Init order. While the module initialises, its files can already be
 * opened (try_module_get() succeeds on a module still coming up), and a
 * failed init frees the module whatever such files still hold: so
 * everything that can fail comes before the first file a user can open,
 * and nothing fails after it. The first heap is that file; a heap or
 * /dev/heapload that cannot be added after it is left out with a
 * warning, and the module loads without it (on the dma-heap framework
 * path an added heap could not be removed again anyway). Everything a
 * file shows exists before the file: the restricted pool before
 * /dev/heapload's sysfs files that show it.
 */
static int __init heapload_init(void)
{
	int ret;

	if (!heapload_tunables.max_alloc_mb)
		heapload_tunables.max_alloc_mb =
			(totalram_pages() >> (20 - PAGE_SHIFT)) / 2;
	if (!heapload_tunables.restricted_pool_mb)
		heapload_tunables.restricted_pool_mb =
			(totalram_pages() >> (20 - PAGE_SHIFT)) / 4;

	ret = heapload_alloc_init();
	if (ret)
		return ret;
	ret = heapload_gather_init();
	if (ret)
		goto err_alloc;
	ret = heapload_heap_nodes_init();
	if (ret)
		goto err_gather;
	heapload_rpool_init();

	ret = heapload_system_heap_init();
	if (ret)
		goto err_nodes;
	/* From here on nothing fails. */
	ret = heapload_restricted_heap_init();
	if (ret)
		pr_warn("heap heapload,restricted not added (%d): loading without it\n",
			ret);
	ret = heapload_loader_init();
	if (ret)
		pr_warn("no /dev/heapload (%d): loading with the heaps only\n",
			ret);
	heapload_debug_init();

	pr_info("version %s loaded: heaps through %s, max_alloc_mb=%u gather_batch_mb=%u max_inflight_batches=%u io_size_kb=%u restricted_pool_mb=%u alloc_threads=%u batch_mapping=%s\n",
		HEAPLOAD_VERSION, heapload_heap_registration,
		heapload_tunables.max_alloc_mb,
		heapload_tunables.gather_batch_mb,
		heapload_tunables.max_inflight_batches,
		heapload_tunables.io_size_kb,
		heapload_tunables.restricted_pool_mb,
		heapload_tunables.alloc_threads,
		heapload_mapping_names[heapload_tunables.batch_mapping]);
	return 0;

err_nodes:
	heapload_heap_nodes_exit();
	heapload_rpool_exit();
err_gather:
	heapload_gather_exit();
err_alloc:
	heapload_alloc_exit();
	return ret;
}

static void __exit heapload_exit(void)
{
	heapload_debug_exit();
	heapload_loader_exit();
	heapload_restricted_heap_exit();
	heapload_system_heap_exit();
	heapload_rpool_exit();
	heapload_heap_nodes_exit();
	heapload_gather_exit();
	heapload_alloc_exit();
}

module_init(heapload_init);
module_exit(heapload_exit);

MODULE_DESCRIPTION("dma-buf heaps and a direct-I/O loader that fills them from files");
MODULE_AUTHOR("The heapload developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(HEAPLOAD_VERSION);
HL_IMPORT_NS_DMA_BUF();
