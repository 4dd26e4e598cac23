// SPDX-License-Identifier: GPL-2.0
/*
 * dma_buf_map_attachment_unlocked(): v6.2, commit 19d6634d8789 ("dma-buf:
 * Add unlocked variant of attachment-mapping functions"), also in 6.1.54
 * and later stable kernels. Where it exists it is what an importer that
 * does not hold the reservation lock calls (since v6.2 plain
 * dma_buf_map_attachment() expects the lock held); before, importers
 * called dma_buf_map_attachment() without it.
 */
#include <linux/dma-buf.h>

struct sg_table *hl_probe_map_unlocked(struct dma_buf_attachment *a);
struct sg_table *hl_probe_map_unlocked(struct dma_buf_attachment *a)
{
	return dma_buf_map_attachment_unlocked(a, DMA_FROM_DEVICE);
}
