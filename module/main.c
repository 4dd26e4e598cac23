// SPDX-License-Identifier: GPL-2.0
/*
 * heapload: dma-buf heaps and a direct-I/O loader for distro kernels.
 */
#include <linux/init.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "heapload.h"

unsigned int heapload_max_alloc_mb;

static int max_alloc_mb_set(const char *val, const struct kernel_param *kp)
{
	unsigned int mb;
	int ret;

	ret = kstrtouint(val, 0, &mb);
	if (ret)
		return ret;
	if (!mb)
		return -EINVAL;
	WRITE_ONCE(heapload_max_alloc_mb, mb);
	return 0;
}

static const struct kernel_param_ops max_alloc_mb_ops = {
	.set = max_alloc_mb_set,
	.get = param_get_uint,
};
module_param_cb(max_alloc_mb, &max_alloc_mb_ops, &heapload_max_alloc_mb, 0644);
MODULE_PARM_DESC(max_alloc_mb,
		 "Largest buffer one allocation or load may have, in MiB (default: half of RAM; 0 is refused)");

static int __init heapload_init(void)
{
	int ret;

	if (!heapload_max_alloc_mb)
		heapload_max_alloc_mb = (totalram_pages() >> (20 - PAGE_SHIFT)) / 2;

	ret = heapload_heaps_init();
	if (ret)
		return ret;
	ret = heapload_system_heap_init();
	if (ret)
		goto err_heaps;
	ret = heapload_loader_init();
	if (ret)
		goto err_system;

	pr_info("version %s loaded, max_alloc_mb=%u\n", HEAPLOAD_VERSION,
		heapload_max_alloc_mb);
	return 0;

err_system:
	heapload_system_heap_exit();
err_heaps:
	heapload_heaps_exit();
	return ret;
}

static void __exit heapload_exit(void)
{
	heapload_loader_exit();
	heapload_system_heap_exit();
	heapload_heaps_exit();
}

module_init(heapload_init);
module_exit(heapload_exit);

MODULE_DESCRIPTION("dma-buf heaps and a direct-I/O loader that fills them from files");
MODULE_AUTHOR("The heapload developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(HEAPLOAD_VERSION);
HL_IMPORT_NS_DMA_BUF();
