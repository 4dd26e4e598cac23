// SPDX-License-Identifier: GPL-2.0
/*
 * dma_buf_map_attachment_unlocked(): v6.2, commit 19d6634d8789 ("dma-buf:
 * Move dma-buf attachment to dynamic locking specification"). Since then
 * dma_buf_map_attachment() expects the caller to hold the reservation
 * lock; before, importers called it without.
 */
#include <linux/dma-buf.h>

struct sg_table *hl_probe_map_unlocked(struct dma_buf_attachment *a);
struct sg_table *hl_probe_map_unlocked(struct dma_buf_attachment *a)
{
	return dma_buf_map_attachment_unlocked(a, DMA_FROM_DEVICE);
}
