/* SPDX-License-Identifier: GPL-2.0 */
/*
 * heapload kernel compatibility layer.
 *
 * Force-included into every heapload source file. Every difference between
 * the kernels heapload builds for is decided here, from the feature probes
 * that probe.sh compiled against the target tree (generated.h), never from
 * LINUX_VERSION_CODE. Core files call the hl_* wrappers below.
 */
#ifndef _HEAPLOAD_COMPAT_H
#define _HEAPLOAD_COMPAT_H

#include "generated.h"

#include <linux/device.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/mmzone.h>
#include <linux/uio.h>

/*
 * The SHA-256 library's context: struct sha256_ctx since v6.16, struct
 * sha256_state before; sha256_init(), sha256_update() and sha256_final()
 * keep their names. The library exists where CONFIG_CRYPTO_LIB_SHA256 is
 * set (it is on every kernel heapload supports; without it SHA-256
 * digests are refused).
 */
#include <crypto/sha2.h>
#ifdef HL_HAVE_SHA256_CTX
typedef struct sha256_ctx hl_sha256_ctx;
#else
typedef struct sha256_state hl_sha256_ctx;
#endif

/* class_create() without the owner argument: v6.4. */
static inline struct class *hl_class_create(const char *name)
{
#ifdef HL_HAVE_CLASS_CREATE_ONE_ARG
	return class_create(name);
#else
	return class_create(THIS_MODULE, name);
#endif
}

/* class.devnode() takes a const struct device *: v6.2. */
#ifdef HL_HAVE_DEVNODE_CONST_DEV
#define HL_DEVNODE_CONST const
#else
#define HL_DEVNODE_CONST
#endif

/* iov_iter direction names: ITER_DEST since v6.1, READ before. */
#ifndef HL_HAVE_ITER_DEST
#define ITER_DEST READ
#endif

/*
 * Can the block layer's direct I/O read into an ITER_KVEC over vmap'd
 * pages? Since v6.5 it takes a request's pages with
 * iov_iter_extract_pages(), which accepts kvec iterators; before, it
 * refused them with -EFAULT (see probes/bio_page_pinned.c). Direct I/O
 * that does not go through the block layer (NFS) may refuse them still.
 */
static inline bool hl_kvec_direct_io(void)
{
#ifdef HL_HAVE_BIO_PAGE_PINNED
	return true;
#else
	return false;
#endif
}

/*
 * Symbol namespaces: a bare identifier up to v6.12, a string literal since
 * v6.13. HL_MODULE_IMPORT_NS(NS) takes the bare name and works on both,
 * e.g. HL_MODULE_IMPORT_NS(DMA_BUF_HEAP) for dma_heap_add() where it is
 * exported (HL_HAVE_EXPORTED_DMA_HEAP_ADD).
 */
#ifdef HL_HAVE_IMPORT_NS_IDENT
#define HL_MODULE_IMPORT_NS(ns) MODULE_IMPORT_NS(ns)
#else
#define HL_MODULE_IMPORT_NS(ns) MODULE_IMPORT_NS(#ns)
#endif

/* dma-buf symbols live in the DMA_BUF namespace (v5.16). */
#define HL_IMPORT_NS_DMA_BUF() HL_MODULE_IMPORT_NS(DMA_BUF)

/*
 * Can this open file do direct I/O? v6.0 added FMODE_CAN_ODIRECT, set at
 * open by filesystems that support O_DIRECT, commit a2ad63daa88b ("VFS: add
 * FMODE_CAN_ODIRECT file flag"); before, the test was a_ops->direct_IO.
 */
static inline bool hl_file_can_direct_io(struct file *file)
{
#ifdef FMODE_CAN_ODIRECT
	return file->f_mode & FMODE_CAN_ODIRECT;
#else
	return file->f_mapping && file->f_mapping->a_ops &&
	       file->f_mapping->a_ops->direct_IO;
#endif
}

/*
 * The largest buddy allocation order. v6.8 named it MAX_PAGE_ORDER
 * (inclusive); before, MAX_ORDER was one past it (until v6.4, inclusive
 * from v6.4 to v6.7, where this stays one order on the safe side).
 */
#ifdef MAX_PAGE_ORDER
#define HL_MAX_PAGE_ORDER	MAX_PAGE_ORDER
#else
#define HL_MAX_PAGE_ORDER	(MAX_ORDER - 1)
#endif

/*
 * A CMA area heapload can allocate from: cma_alloc() is exported since
 * v7.1, and the default area is reachable through dev_get_cma_area(NULL)
 * where that is an exported function rather than an inline reading an
 * unexported variable. Both are read from Module.symvers by probe.sh.
 */
#if IS_ENABLED(CONFIG_CMA) && defined(HL_HAVE_EXPORTED_CMA_ALLOC) && \
	defined(HL_HAVE_EXPORTED_DEV_GET_CMA_AREA)
#define HL_HAVE_CMA 1
#endif

struct dma_buf;
struct iosys_map;
/*
 * Map a dma-buf into the kernel without holding its reservation lock:
 * dma_buf_vmap_unlocked() since v6.2, plain dma_buf_vmap() (which locked
 * by itself) before.
 */
#ifdef HL_HAVE_DMA_BUF_VMAP_UNLOCKED
#define hl_dma_buf_vmap(dmabuf, map)	dma_buf_vmap_unlocked(dmabuf, map)
#define hl_dma_buf_vunmap(dmabuf, map)	dma_buf_vunmap_unlocked(dmabuf, map)
#else
#define hl_dma_buf_vmap(dmabuf, map)	dma_buf_vmap(dmabuf, map)
#define hl_dma_buf_vunmap(dmabuf, map)	dma_buf_vunmap(dmabuf, map)
#endif

/*
 * An importer's mapping of an attachment, without holding the reservation
 * lock: dma_buf_map_attachment_unlocked() since v6.2, plain
 * dma_buf_map_attachment() (which did not expect the lock) before.
 */
#ifdef HL_HAVE_DMA_BUF_MAP_ATTACHMENT_UNLOCKED
#define hl_dma_buf_map_attachment(a, dir) \
	dma_buf_map_attachment_unlocked(a, dir)
#define hl_dma_buf_unmap_attachment(a, t, dir) \
	dma_buf_unmap_attachment_unlocked(a, t, dir)
#else
#define hl_dma_buf_map_attachment(a, dir)	dma_buf_map_attachment(a, dir)
#define hl_dma_buf_unmap_attachment(a, t, dir) \
	dma_buf_unmap_attachment(a, t, dir)
#endif

#endif /* _HEAPLOAD_COMPAT_H */
