// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libheapload: a small C library over the heapload UAPI.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libkmod.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <openssl/evp.h>

#include "libheapload.h"

int heapload_open(void)
{
	int fd = open(HEAPLOAD_DEV_PATH, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int heapload_load(int devfd, struct heapload_load *req)
{
	if (!req)
		return -EINVAL;
	req->size = sizeof(*req);
	if (ioctl(devfd, HEAPLOAD_IOC_LOAD, req) < 0)
		return -errno;
	return 0;
}

int heapload_load_file(int devfd, int file_fd, const char *heap,
		       uint64_t offset, uint64_t length, uint32_t flags,
		       uint64_t *progress, struct heapload_result *res)
{
	struct heapload_load req;
	size_t name_len;
	int ret;

	if (!res || ((uintptr_t)progress & 7))
		return -EINVAL;
	if (!heap)
		heap = HEAPLOAD_DEFAULT_HEAP;
	name_len = strlen(heap);
	if (!name_len)
		return -EINVAL;
	if (name_len >= sizeof(req.heap))
		return -ENAMETOOLONG;

	memset(&req, 0, sizeof(req));
	req.flags = flags;
	req.file_fd = file_fd;
	req.fd_flags = O_RDWR | O_CLOEXEC;
	req.offset = offset;
	req.length = length;
	memcpy(req.heap, heap, name_len + 1);
	if (progress) {
		__atomic_store_n(progress, 0, __ATOMIC_RELAXED);
		req.progress_addr = (uint64_t)(uintptr_t)progress;
	}

	ret = heapload_load(devfd, &req);
	if (ret == -E2BIG && progress) {
		/* A module before version 1 of the struct: no progress. */
		req.progress_addr = 0;
		ret = heapload_load(devfd, &req);
	}
	if (ret)
		return ret;
	res->dmabuf_fd = req.dmabuf_fd;
	res->loaded = req.loaded;
	res->buf_size = req.buf_size;
	res->alloc_ns = req.alloc_ns;
	res->io_ns = req.io_ns;
	res->total_ns = req.total_ns;
	res->batches = req.batches;
	res->max_inflight = req.max_inflight;
	return 0;
}

static bool heap_name_valid(const char *name)
{
	return name && *name && !strchr(name, '/') &&
	       strcmp(name, ".") && strcmp(name, "..");
}

int heapload_heap_alloc(const char *heap_name, uint64_t len, uint32_t fd_flags)
{
	struct dma_heap_allocation_data data = {
		.len = len,
		.fd_flags = fd_flags,
	};
	char path[PATH_MAX];
	int heap_fd, ret;

	if (!heap_name_valid(heap_name) || !len)
		return -EINVAL;
	ret = snprintf(path, sizeof(path), "%s/%s", HEAPLOAD_HEAP_DIR, heap_name);
	if (ret < 0 || (size_t)ret >= sizeof(path))
		return -ENAMETOOLONG;

	heap_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (heap_fd < 0)
		return -errno;
	ret = ioctl(heap_fd, DMA_HEAP_IOCTL_ALLOC, &data) < 0 ? -errno : (int)data.fd;
	close(heap_fd);
	return ret;
}

int heapload_dmabuf_sync(int dmabuf_fd, uint64_t flags)
{
	struct dma_buf_sync sync = { .flags = flags };
	int ret;

	do {
		ret = ioctl(dmabuf_fd, DMA_BUF_IOCTL_SYNC, &sync);
	} while (ret < 0 && (errno == EINTR || errno == EAGAIN));
	return ret < 0 ? -errno : 0;
}

int heapload_dmabuf_map(int dmabuf_fd, uint64_t len, int prot, void **addr)
{
	void *p;

	if (!addr || !len)
		return -EINVAL;
	if (len > SIZE_MAX)
		return -EOVERFLOW;
	p = mmap(NULL, (size_t)len, prot, MAP_SHARED, dmabuf_fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	*addr = p;
	return 0;
}

int heapload_dmabuf_unmap(void *addr, uint64_t len)
{
	if (len > SIZE_MAX)
		return -EINVAL;
	return munmap(addr, (size_t)len) < 0 ? -errno : 0;
}

int heapload_sha256(const void *data, size_t len, unsigned char out[32])
{
	unsigned int out_len = 0;
	EVP_MD_CTX *ctx;
	int ret = -EIO;

	if (!out || (!data && len))
		return -EINVAL;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, data, len) == 1 &&
	    EVP_DigestFinal_ex(ctx, out, &out_len) == 1 &&
	    out_len == HEAPLOAD_SHA256_LEN)
		ret = 0;
	EVP_MD_CTX_free(ctx);
	return ret;
}

int heapload_dmabuf_sha256(int dmabuf_fd, uint64_t len, unsigned char out[32])
{
	void *addr = NULL;
	int ret, ret2;

	if (!out)
		return -EINVAL;
	ret = heapload_dmabuf_map(dmabuf_fd, len, PROT_READ, &addr);
	if (ret)
		return ret;
	ret = heapload_dmabuf_sync(dmabuf_fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	if (ret)
		goto out_unmap;

	ret = heapload_sha256(addr, (size_t)len, out);

	ret2 = heapload_dmabuf_sync(dmabuf_fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	if (!ret)
		ret = ret2;
out_unmap:
	heapload_dmabuf_unmap(addr, len);
	return ret;
}

/* A library must not write to the caller's stderr. */
static void kmod_log_quiet(void *data, int priority, const char *file, int line,
			   const char *fn, const char *format, va_list args)
{
	(void)data; (void)priority; (void)file; (void)line; (void)fn;
	(void)format; (void)args;
}

/* Read a one-line sysfs attribute without its newline; "" on any failure. */
static void read_attr(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	buf[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

/* Version of the module file depmod resolves for the running kernel. */
static void installed_info(struct kmod_module *mod, struct heapload_module_info *out)
{
	struct kmod_list *list = NULL, *l;

	copy_str(out->installed_path, sizeof(out->installed_path),
		 kmod_module_get_path(mod));
	if (!out->installed_path[0] || kmod_module_get_info(mod, &list) < 0)
		return;
	kmod_list_foreach(l, list) {
		const char *key = kmod_module_info_get_key(l);
		const char *value = kmod_module_info_get_value(l);

		if (!strcmp(key, "version"))
			copy_str(out->installed_version,
				 sizeof(out->installed_version), value);
		else if (!strcmp(key, "srcversion"))
			copy_str(out->installed_srcversion,
				 sizeof(out->installed_srcversion), value);
	}
	kmod_module_info_free_list(list);
}

static int state_from_kmod(int initstate)
{
	switch (initstate) {
	case KMOD_MODULE_BUILTIN:
		return HEAPLOAD_MODULE_BUILTIN;
	case KMOD_MODULE_LIVE:
		return HEAPLOAD_MODULE_LIVE;
	case KMOD_MODULE_COMING:
		return HEAPLOAD_MODULE_COMING;
	case KMOD_MODULE_GOING:
		return HEAPLOAD_MODULE_GOING;
	default:
		return HEAPLOAD_MODULE_NOT_LOADED;
	}
}

int heapload_module_info(struct heapload_module_info *out)
{
	struct kmod_module *mod = NULL;
	struct kmod_ctx *ctx;
	int ret, refcnt;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->refcount = -1;

	ctx = kmod_new(NULL, NULL);
	if (!ctx)
		return -ENOMEM;
	kmod_set_log_fn(ctx, kmod_log_quiet, NULL);
	ret = kmod_module_new_from_name(ctx, HEAPLOAD_MODULE_NAME, &mod);
	if (ret < 0)
		goto out_unref_ctx;

	ret = kmod_module_get_initstate(mod);
	if (ret == -ENOENT) {
		out->state = HEAPLOAD_MODULE_NOT_LOADED;
	} else if (ret < 0) {
		goto out_unref_mod;
	} else {
		out->state = state_from_kmod(ret);
		refcnt = kmod_module_get_refcnt(mod);
		out->refcount = refcnt < 0 ? -1 : refcnt;
		read_attr(HEAPLOAD_SYSFS_MODULE "/version", out->version,
			  sizeof(out->version));
		read_attr(HEAPLOAD_SYSFS_MODULE "/srcversion", out->srcversion,
			  sizeof(out->srcversion));
	}
	installed_info(mod, out);
	ret = 0;

out_unref_mod:
	kmod_module_unref(mod);
out_unref_ctx:
	kmod_unref(ctx);
	return ret;
}

const char *heapload_module_state_str(int state)
{
	switch (state) {
	case HEAPLOAD_MODULE_NOT_LOADED:
		return "not loaded";
	case HEAPLOAD_MODULE_BUILTIN:
		return "builtin";
	case HEAPLOAD_MODULE_LIVE:
		return "live";
	case HEAPLOAD_MODULE_COMING:
		return "coming";
	case HEAPLOAD_MODULE_GOING:
		return "going";
	default:
		return "unknown";
	}
}

static int suffix_shift(char c)
{
	switch (c) {
	case '\0':
		return 0;
	case 'K': case 'k':
		return 10;
	case 'M': case 'm':
		return 20;
	case 'G': case 'g':
		return 30;
	default:
		return -1;
	}
}

int heapload_parse_size(const char *str, uint64_t *out)
{
	uint64_t val = 0;
	const char *p;
	int shift;

	if (!str || !out || *str < '0' || *str > '9')
		return -EINVAL;
	for (p = str; *p >= '0' && *p <= '9'; p++) {
		unsigned int digit = (unsigned int)(*p - '0');

		if (val > (UINT64_MAX - digit) / 10)
			return -ERANGE;
		val = val * 10 + digit;
	}
	shift = suffix_shift(*p);
	if (shift < 0 || (*p && p[1]))
		return -EINVAL;
	if (shift && val > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = val << shift;
	return 0;
}

int heapload_format_hex(const unsigned char *in, size_t len, char *out,
			size_t out_size)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	if (!out || (!in && len))
		return -EINVAL;
	if (len > (SIZE_MAX - 1) / 2 || out_size < 2 * len + 1)
		return -ENOSPC;
	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
	return 0;
}
