/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers of the heapload command that need libcrypto (SHA-256) or libkmod
 * (module state and the installed module file), and the reading of sysfs
 * files they share with it. Not part of libheapload.
 */
#ifndef HEAPLOAD_UTIL_H
#define HEAPLOAD_UTIL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** HL_SHA256_LEN - bytes of a SHA-256 digest */
#define HL_SHA256_LEN		32

/**
 * enum hl_module_state - state of the kernel module
 * @HL_MODULE_NOT_LOADED:	not in the kernel.
 * @HL_MODULE_BUILTIN:	built into the kernel.
 * @HL_MODULE_LIVE:	loaded and initialised.
 * @HL_MODULE_COMING:	being loaded (init still running).
 * @HL_MODULE_GOING:	being unloaded.
 */
enum hl_module_state {
	HL_MODULE_NOT_LOADED = 0,
	HL_MODULE_BUILTIN,
	HL_MODULE_LIVE,
	HL_MODULE_COMING,
	HL_MODULE_GOING,
};

/**
 * struct hl_module_info - what hl_module_info() reports
 * @state:		an enum hl_module_state.
 * @refcount:		users of the loaded module, or -1 when not loaded or
 *			not known.
 * @version:		version of the loaded module (sysfs), or "" if not
 *			loaded or the module declares none.
 * @srcversion:		source checksum of the loaded module, or "".
 * @installed_version:	version of the module file depmod knows for the
 *			running kernel (libkmod modinfo), or "" if none.
 * @installed_srcversion: source checksum of that file, or "".
 * @installed_path:	path of that file, or "" if none is installed.
 */
struct hl_module_info {
	int state;
	int refcount;
	char version[64];
	char srcversion[64];
	char installed_version[64];
	char installed_srcversion[64];
	char installed_path[PATH_MAX];
};

/**
 * hl_sha256() - SHA-256 of a memory range (OpenSSL EVP)
 * @data:	the bytes; may be NULL if @len is 0.
 * @len:	number of bytes.
 * @out:	receives the %HL_SHA256_LEN byte digest.
 *
 * Return: 0, -EINVAL if @out is NULL or @data is NULL with @len > 0,
 * -ENOMEM if no digest context could be allocated, -EIO if libcrypto
 * reports any other failure.
 */
int hl_sha256(const void *data, size_t len, unsigned char out[32]);

/**
 * hl_dmabuf_sha256() - SHA-256 of the start of a dma-buf
 * @dmabuf_fd:	the dma-buf, open for reading.
 * @len:	bytes to hash from offset 0, at most the dma-buf size; usually
 *		the @loaded of a load.
 * @out:	receives the %HL_SHA256_LEN byte digest.
 *
 * Maps the buffer read-only and hashes it between DMA_BUF_SYNC_START and
 * DMA_BUF_SYNC_END (both with DMA_BUF_SYNC_READ).
 *
 * Return: 0, or any error of heapload_dmabuf_map(),
 * heapload_dmabuf_sync() or hl_sha256(). If @out is NULL, -EINVAL.
 */
int hl_dmabuf_sha256(int dmabuf_fd, uint64_t len, unsigned char out[32]);

/**
 * hl_module_info() - state, version and users of the module
 * @out:	receives the information; fully initialised on success.
 *
 * Asks libkmod for the init state and reference count of the module
 * %HEAPLOAD_MODULE_NAME and for the version of the module file installed
 * for the running kernel; reads the loaded module's version and
 * srcversion from %HEAPLOAD_SYSFS_MODULE. A module that is not loaded is
 * not an error: @out->state is then %HL_MODULE_NOT_LOADED. Missing
 * optional facts (no version declared, no module file installed) are left
 * empty.
 *
 * Return: 0, -EINVAL if @out is NULL, -ENOMEM if libkmod could not create
 * its context or module object, or another negative errno from libkmod
 * when the state cannot be read (-EIO, -EACCES, ...).
 */
int hl_module_info(struct hl_module_info *out);

/**
 * hl_read_text() - read a small text file, such as a sysfs attribute
 * @path:	the file.
 * @buf:	receives at most @size - 1 bytes of it, NUL-terminated, the
 *		newline kept; "" on failure.
 * @size:	size of @buf, at least 1.
 *
 * Return: the number of bytes read, or the negative errno of open(2) or
 * read(2).
 */
ssize_t hl_read_text(const char *path, char *buf, size_t size);

/**
 * hl_module_state_str() - name of a module state
 * @state:	an enum hl_module_state.
 *
 * Return: "not loaded", "builtin", "live", "coming", "going", or
 * "unknown" for other values. Never NULL.
 */
const char *hl_module_state_str(int state);

#endif /* HEAPLOAD_UTIL_H */
