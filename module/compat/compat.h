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
#include <linux/uio.h>

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

#endif /* _HEAPLOAD_COMPAT_H */
