// SPDX-License-Identifier: GPL-2.0
/*
 * dma_buf_vmap_unlocked(): v6.2, commit 56e5abba8c3e ("dma-buf: Add
 * unlocked variant of vmapping functions"). Since then dma_buf_vmap()
 * expects the caller to hold the reservation lock; before, it took the
 * dma-buf's own lock.
 */
#include <linux/dma-buf.h>
#include <linux/iosys-map.h>

int hl_probe_dma_buf_vmap_unlocked(struct dma_buf *dmabuf, struct iosys_map *map);
int hl_probe_dma_buf_vmap_unlocked(struct dma_buf *dmabuf, struct iosys_map *map)
{
	return dma_buf_vmap_unlocked(dmabuf, map);
}
