// SPDX-License-Identifier: GPL-2.0
/*
 * Test builds only (HEAPLOAD_DEBUG=y): debugfs heapload/ with the fault
 * injection knobs fault_alloc_after, fault_read_short_after and
 * fault_read_error_after (see heapload_faults); heapload/inspect shows what
 * the exporter knows of a heapload dma-buf, so that tests can check a
 * restricted buffer without any CPU mapping of it; heapload/
 * race_after_submit (Y/N) makes the loader wait, after ->read_iter has
 * queued a direct read, until the read has completed before it lets go
 * of the request (gather.c), the race KASAN found in ext4's direct read;
 * heapload/planted_bug commits a deliberate bug for the debug kernel's
 * harness to report (see below).
 *
 * Write the number of a dma-buf fd of the writing process, then read:
 *
 *	heap: <heap name>
 *	size: <bytes>
 *	restricted: <0 or 1>
 *	vmap: <0 or the negative errno of dma_buf_vmap()>
 *	crc32: <CRC-32 of the whole buffer, 8 hex digits>
 *	chunks: <sg_table entries>
 *	chunk: <physical address> <bytes>	(one line per entry)
 *
 * The CRC is the one zlib's crc32() computes, read through the kernel's
 * own mapping: no production build has this file.
 */
#include <linux/crc32.h>
#include <linux/debugfs.h>
#include <linux/dma-buf.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/iosys-map.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "heapload.h"

/**
 * struct inspect_report - one open file's last report
 * @lock:	serializes writes and reads of this open file
 * @text:	the report
 * @len:	its length
 */
struct inspect_report {
	struct mutex lock;
	char *text;
	size_t len;
};

static u32 inspect_crc32(struct heapload_buffer *buffer)
{
	struct sg_page_iter piter;
	u32 crc = ~0U;

	for_each_sgtable_page(&buffer->sg_table, &piter, 0) {
		void *vaddr = kmap_local_page(sg_page_iter_page(&piter));

		crc = crc32_le(crc, vaddr, PAGE_SIZE);
		kunmap_local(vaddr);
		cond_resched();
	}
	return ~crc;
}

static int inspect_vmap(struct dma_buf *dmabuf)
{
	struct iosys_map map;
	int ret;

	iosys_map_clear(&map);
	ret = hl_dma_buf_vmap(dmabuf, &map);
	if (!ret)
		hl_dma_buf_vunmap(dmabuf, &map);
	return ret;
}

static int inspect_build(struct inspect_report *rep, struct dma_buf *dmabuf,
			 struct heapload_buffer *buffer)
{
	struct sg_table *table = &buffer->sg_table;
	size_t cap = 256 + (size_t)table->orig_nents * 48, n;
	struct scatterlist *sg;
	unsigned int i;
	char *t;

	t = kvmalloc(cap, GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	n = scnprintf(t, cap,
		      "heap: %s\nsize: %zu\nrestricted: %d\nvmap: %d\ncrc32: %08x\nchunks: %u\n",
		      buffer->heap->name, buffer->len, buffer->restricted,
		      inspect_vmap(dmabuf), inspect_crc32(buffer),
		      table->orig_nents);
	for_each_sgtable_sg(table, sg, i)
		n += scnprintf(t + n, cap - n, "chunk: %#llx %u\n",
			       (unsigned long long)page_to_phys(sg_page(sg)),
			       sg->length);
	rep->text = t;
	rep->len = n;
	return 0;
}

static ssize_t inspect_write(struct file *file, const char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	struct inspect_report *rep = file->private_data;
	struct heapload_buffer *buffer;
	struct dma_buf *dmabuf;
	int fd, ret;

	ret = kstrtoint_from_user(ubuf, count, 10, &fd);
	if (ret)
		return ret;
	dmabuf = dma_buf_get(fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);

	buffer = heapload_dmabuf_buffer(dmabuf);
	if (!buffer) {
		ret = -EINVAL;
		goto out;
	}
	mutex_lock(&rep->lock);
	kvfree(rep->text);
	rep->text = NULL;
	rep->len = 0;
	ret = inspect_build(rep, dmabuf, buffer);
	mutex_unlock(&rep->lock);
out:
	dma_buf_put(dmabuf);
	return ret ? ret : count;
}

static ssize_t inspect_read(struct file *file, char __user *ubuf, size_t count,
			    loff_t *ppos)
{
	struct inspect_report *rep = file->private_data;
	ssize_t ret;

	mutex_lock(&rep->lock);
	ret = simple_read_from_buffer(ubuf, count, ppos, rep->text, rep->len);
	mutex_unlock(&rep->lock);
	return ret;
}

static int inspect_open(struct inode *inode, struct file *file)
{
	struct inspect_report *rep = kzalloc(sizeof(*rep), GFP_KERNEL);

	if (!rep)
		return -ENOMEM;
	mutex_init(&rep->lock);
	file->private_data = rep;
	return 0;
}

static int inspect_release(struct inode *inode, struct file *file)
{
	struct inspect_report *rep = file->private_data;

	kvfree(rep->text);
	kfree(rep);
	return 0;
}

static const struct file_operations inspect_fops = {
	.owner = THIS_MODULE,
	.open = inspect_open,
	.read = inspect_read,
	.write = inspect_write,
	.release = inspect_release,
	.llseek = default_llseek,
};

/*
 * planted_bug: the harness's own self-test. Writing "oob" reads one byte
 * past a 16-byte allocation (KASAN: slab-out-of-bounds); writing
 * "lock_inversion" takes two mutexes in one order and then in the other
 * (lockdep: possible circular locking dependency); writing "leak" loses
 * a 64-byte allocation (kmemleak: unreferenced object). make check-debug
 * proves with them that it sees such reports on the console.
 */
static DEFINE_MUTEX(planted_a);
static DEFINE_MUTEX(planted_b);

static noinline void planted_oob(void)
{
	char *p = kmalloc(16, GFP_KERNEL);

	if (!p)
		return;
	OPTIMIZER_HIDE_VAR(p);
	pr_info("planted bug: reading byte 16 of a 16-byte object: %d\n",
		READ_ONCE(p[16]));
	kfree(p);
}

static noinline void planted_lock_inversion(void)
{
	mutex_lock(&planted_a);
	mutex_lock(&planted_b);
	mutex_unlock(&planted_b);
	mutex_unlock(&planted_a);

	mutex_lock(&planted_b);
	mutex_lock(&planted_a);
	mutex_unlock(&planted_a);
	mutex_unlock(&planted_b);
	pr_info("planted bug: took two mutexes in both orders\n");
}

static noinline void planted_leak(void)
{
	void *p = kmalloc(64, GFP_KERNEL);

	OPTIMIZER_HIDE_VAR(p);
	pr_info("planted bug: leaking a 64-byte object\n");
}

static ssize_t planted_write(struct file *file, const char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	char cmd[32];

	if (count >= sizeof(cmd))
		return -EINVAL;
	if (copy_from_user(cmd, ubuf, count))
		return -EFAULT;
	cmd[count] = '\0';
	if (sysfs_streq(cmd, "oob"))
		planted_oob();
	else if (sysfs_streq(cmd, "lock_inversion"))
		planted_lock_inversion();
	else if (sysfs_streq(cmd, "leak"))
		planted_leak();
	else
		return -EINVAL;
	return count;
}

static const struct file_operations planted_fops = {
	.owner = THIS_MODULE,
	.write = planted_write,
	.llseek = noop_llseek,
};

struct heapload_faults heapload_faults;
static struct dentry *heapload_debugfs;

/**
 * heapload_debug_init() - make debugfs heapload/ and its test-only files
 */
void heapload_debug_init(void)
{
	struct dentry *dir = debugfs_create_dir("heapload", NULL);

	heapload_debugfs = dir;
	debugfs_create_u64("fault_alloc_after", 0600, dir,
			   &heapload_faults.alloc_after);
	debugfs_create_u64("fault_read_short_after", 0600, dir,
			   &heapload_faults.read_short_after);
	debugfs_create_u64("fault_read_error_after", 0600, dir,
			   &heapload_faults.read_error_after);
	debugfs_create_file("inspect", 0600, dir, NULL, &inspect_fops);
	debugfs_create_bool("race_after_submit", 0600, dir,
			    &heapload_faults.race_after_submit);
	debugfs_create_file("planted_bug", 0200, dir, NULL, &planted_fops);
}

/**
 * heapload_debug_exit() - remove debugfs heapload/
 */
void heapload_debug_exit(void)
{
	debugfs_remove(heapload_debugfs);
}
