// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Helpers of the heapload command that need libcrypto or libkmod. They
 * are the command's, not libheapload's: a loader that links the library
 * needs neither.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libkmod.h>
#include <linux/dma-buf.h>
#include <openssl/evp.h>

#include "libheapload.h"
#include "util.h"

int hl_sha256(const void *data, size_t len, unsigned char out[32])
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
	    out_len == HL_SHA256_LEN)
		ret = 0;
	EVP_MD_CTX_free(ctx);
	return ret;
}

int hl_dmabuf_sha256(int dmabuf_fd, uint64_t len, unsigned char out[32])
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

	ret = hl_sha256(addr, (size_t)len, out);

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

ssize_t hl_read_text(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	buf[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do {
		n = read(fd, buf, size - 1);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		n = -errno;
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

/* Read a one-line sysfs attribute without its newline; "" on any failure. */
static void read_attr(const char *path, char *buf, size_t size)
{
	hl_read_text(path, buf, size);
	buf[strcspn(buf, "\n")] = '\0';
}

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

/* Version of the module file depmod resolves for the running kernel. */
static void installed_info(struct kmod_module *mod, struct hl_module_info *out)
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
		return HL_MODULE_BUILTIN;
	case KMOD_MODULE_LIVE:
		return HL_MODULE_LIVE;
	case KMOD_MODULE_COMING:
		return HL_MODULE_COMING;
	case KMOD_MODULE_GOING:
		return HL_MODULE_GOING;
	default:
		return HL_MODULE_NOT_LOADED;
	}
}

int hl_module_info(struct hl_module_info *out)
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
		out->state = HL_MODULE_NOT_LOADED;
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

const char *hl_module_state_str(int state)
{
	switch (state) {
	case HL_MODULE_NOT_LOADED:
		return "not loaded";
	case HL_MODULE_BUILTIN:
		return "builtin";
	case HL_MODULE_LIVE:
		return "live";
	case HL_MODULE_COMING:
		return "coming";
	case HL_MODULE_GOING:
		return "going";
	default:
		return "unknown";
	}
}
