// SPDX-License-Identifier: GPL-2.0
/*
 * Test builds only (HEAPLOAD_DEBUG=y): debugfs heapload/ with the fault
 * injection knobs fault_alloc_after (with fault_alloc_thread),
 * fault_read_short_after, fault_read_error_after and fault_vmap_after (see
 * heapload_faults); heapload/inspect shows what
 * the exporter knows of a heapload dma-buf, so that tests can check a
 * restricted buffer without any CPU mapping of it; heapload/
 * race_after_submit (Y/N) makes the loader wait, after ->read_iter has
 * queued a direct read, until the read has completed before it lets go
 * of the request (gather.c), the race KASAN found in ext4's direct read;
 * heapload/planted_bug commits a deliberate bug for the debug kernel's
 * harness to report; heapload/importer_write plays a device that writes
 * into a dma-buf, heapload/importer_hold one that keeps a dma-buf mapped
 * (all below).
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
#include <linux/dma-direct.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/iosys-map.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/platform_device.h>
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

/* "nodes: <nid>:<bytes> ...": where the buffer's pages are, per NUMA node. */
static size_t inspect_nodes(struct heapload_buffer *buffer, char *t, size_t cap)
{
	struct scatterlist *sg;
	unsigned int i;
	size_t n;
	u64 *bytes;
	int nid;

	bytes = kcalloc(nr_node_ids, sizeof(*bytes), GFP_KERNEL);
	if (!bytes)
		return 0;
	for_each_sgtable_sg(&buffer->sg_table, sg, i) {
		unsigned long pfn = page_to_pfn(sg_page(sg)), p;

		for (p = 0; p < sg->length >> PAGE_SHIFT; p++)
			bytes[page_to_nid(pfn_to_page(pfn + p))] += PAGE_SIZE;
		cond_resched();
	}
	n = scnprintf(t, cap, "nodes:");
	for (nid = 0; nid < nr_node_ids; nid++)
		if (bytes[nid])
			n += scnprintf(t + n, cap - n, " %d:%llu", nid, bytes[nid]);
	n += scnprintf(t + n, cap - n, "\n");
	kfree(bytes);
	return n;
}

static int inspect_build(struct inspect_report *rep, struct dma_buf *dmabuf,
			 struct heapload_buffer *buffer)
{
	struct sg_table *table = &buffer->sg_table;
	size_t cap = 256 + (size_t)nr_node_ids * 32 +
		     (size_t)table->orig_nents * 48, n;
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
	n += inspect_nodes(buffer, t + n, cap - n);
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

/*
 * importer_write: a stand-in for a device that writes into a dma-buf.
 * Write "<fd> <byte>": a platform device of this module attaches to the
 * dma-buf (fd of the writing process), maps it DMA_FROM_DEVICE as any
 * importer would, stores @byte into every mapped segment at its DMA
 * address the way a device's DMA engine would (where the DMA layer
 * bounces, that is the bounce buffer), then unmaps and detaches. Only
 * heapload's dma-bufs (-EINVAL for others), and only where the device's
 * DMA addresses are physical addresses of RAM (dma-direct: no IOMMU, no
 * DMA ops of the platform); elsewhere -EOPNOTSUPP. The stores go through
 * the CPU's cache. A device that is not DMA-coherent (arm64's platform
 * devices without firmware description) is served on arm64 only:
 * dma_sync_sgtable_for_device(DMA_FROM_DEVICE) writes the stores back to
 * memory, where a device's writes would be, before the unmap hands the
 * buffer back to the CPU (arm64's sync for the device cleans to the
 * point of coherency whatever the direction, its sync for the CPU
 * invalidates; swiotlb does not bounce DMA_FROM_DEVICE for the device).
 * Other architectures may invalidate there, losing the stores, so they
 * get -EOPNOTSUPP. QEMU's emulation has no caches, so its arm64 runs
 * check the data path, not that cache maintenance.
 * Read the result through heapload/inspect.
 */
static struct platform_device *importer_pdev;

/* The test device attaches to @dmabuf and maps it: the table, or an ERR_PTR. */
static struct sg_table *importer_map(struct dma_buf *dmabuf,
				     enum dma_data_direction direction,
				     struct dma_buf_attachment **attachp)
{
	struct dma_buf_attachment *attach;
	struct sg_table *table;

	attach = dma_buf_attach(dmabuf, &importer_pdev->dev);
	if (IS_ERR(attach))
		return ERR_CAST(attach);
	table = hl_dma_buf_map_attachment(attach, direction);
	if (IS_ERR(table))
		dma_buf_detach(dmabuf, attach);
	else
		*attachp = attach;
	return table;
}

/* Undo importer_map(). */
static void importer_unmap(struct dma_buf_attachment *attach,
			   struct sg_table *table,
			   enum dma_data_direction direction)
{
	hl_dma_buf_unmap_attachment(attach, table, direction);
	dma_buf_detach(attach->dmabuf, attach);
}

static int importer_write_dmabuf(struct dma_buf *dmabuf, u8 byte)
{
	struct device *dev = &importer_pdev->dev;
	struct dma_buf_attachment *attach;
	struct scatterlist *sg;
	struct sg_table *table;
	unsigned int i;
	int ret = 0;

	table = importer_map(dmabuf, DMA_FROM_DEVICE, &attach);
	if (IS_ERR(table))
		return PTR_ERR(table);
	for_each_sgtable_dma_sg(table, sg, i) {
		phys_addr_t phys = dma_to_phys(dev, sg_dma_address(sg));
		size_t off, n;

		if (!pfn_valid(PHYS_PFN(phys)) ||
		    !pfn_valid(PHYS_PFN(phys + sg_dma_len(sg) - 1))) {
			ret = -EOPNOTSUPP;
			break;
		}
		for (off = 0; off < sg_dma_len(sg); off += n) {
			void *vaddr = kmap_local_pfn(PHYS_PFN(phys + off));

			n = min_t(size_t, sg_dma_len(sg) - off,
				  PAGE_SIZE - offset_in_page(phys + off));
			memset(vaddr + offset_in_page(phys + off), byte, n);
			kunmap_local(vaddr);
		}
		cond_resched();
	}
	if (!ret)
		dma_sync_sgtable_for_device(dev, table, DMA_FROM_DEVICE);
	importer_unmap(attach, table, DMA_FROM_DEVICE);
	return ret;
}

static ssize_t importer_write(struct file *file, const char __user *ubuf,
			      size_t count, loff_t *ppos)
{
	struct dma_buf *dmabuf;
	unsigned int byte;
	char cmd[32];
	int fd, ret;

	if (!importer_pdev || device_iommu_mapped(&importer_pdev->dev) ||
	    get_dma_ops(&importer_pdev->dev) ||
	    (!dev_is_dma_coherent(&importer_pdev->dev) && !IS_ENABLED(CONFIG_ARM64)))
		return -EOPNOTSUPP;
	if (count >= sizeof(cmd))
		return -EINVAL;
	if (copy_from_user(cmd, ubuf, count))
		return -EFAULT;
	cmd[count] = '\0';
	if (sscanf(cmd, "%d %u", &fd, &byte) != 2 || byte > 0xff)
		return -EINVAL;
	dmabuf = dma_buf_get(fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	ret = heapload_dmabuf_buffer(dmabuf) ?
	      importer_write_dmabuf(dmabuf, byte) : -EINVAL;
	dma_buf_put(dmabuf);
	return ret ? ret : count;
}

static const struct file_operations importer_fops = {
	.owner = THIS_MODULE,
	.write = importer_write,
	.llseek = noop_llseek,
};

/*
 * importer_hold: a stand-in for a device that keeps a dma-buf mapped, as
 * a display scanning a frame out or an accelerator reading its weights
 * does. Write the number of a heapload dma-buf fd of the writing process:
 * the platform device of importer_write attaches to it, maps the
 * attachment DMA_TO_DEVICE and keeps the mapping, and a reference to the
 * dma-buf, until "-1" (any negative number) is written. One hold at a
 * time: -EEXIST while one lasts, -ENOENT for "-1" without one. The write
 * returns the attach's or the map's error: -EBUSY while a load fills the
 * buffer (heapload_dmabuf_map()). DMA_TO_DEVICE, so that the unmap copies
 * nothing back over the buffer where the DMA layer bounces. The held
 * dma-buf pins the module (its exporter), so rmmod fails while a hold
 * lasts; the exit releases one all the same.
 */
static DEFINE_MUTEX(importer_hold_lock);
static struct dma_buf_attachment *importer_hold_attach;
static struct sg_table *importer_hold_table;

static int importer_hold_map(struct dma_buf *dmabuf)
{
	struct sg_table *table;

	table = importer_map(dmabuf, DMA_TO_DEVICE, &importer_hold_attach);
	if (IS_ERR(table))
		return PTR_ERR(table);
	importer_hold_table = table;
	return 0;
}

/* Unmap, detach and drop the dma-buf of the hold; under importer_hold_lock. */
static void importer_hold_release(void)
{
	struct dma_buf *dmabuf = importer_hold_attach->dmabuf;

	lockdep_assert_held(&importer_hold_lock);
	importer_unmap(importer_hold_attach, importer_hold_table,
		       DMA_TO_DEVICE);
	dma_buf_put(dmabuf);
	importer_hold_attach = NULL;
	importer_hold_table = NULL;
}

static ssize_t importer_hold_write(struct file *file, const char __user *ubuf,
				   size_t count, loff_t *ppos)
{
	struct dma_buf *dmabuf;
	int fd, ret;

	if (!importer_pdev)
		return -EOPNOTSUPP;
	ret = kstrtoint_from_user(ubuf, count, 10, &fd);
	if (ret)
		return ret;
	mutex_lock(&importer_hold_lock);
	if (fd < 0) {
		ret = importer_hold_attach ? 0 : -ENOENT;
		if (!ret)
			importer_hold_release();
		goto out;
	}
	ret = -EEXIST;
	if (importer_hold_attach)
		goto out;
	dmabuf = dma_buf_get(fd);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto out;
	}
	ret = heapload_dmabuf_buffer(dmabuf) ? importer_hold_map(dmabuf) :
					       -EINVAL;
	if (ret)
		dma_buf_put(dmabuf);
out:
	mutex_unlock(&importer_hold_lock);
	return ret ? ret : count;
}

static const struct file_operations importer_hold_fops = {
	.owner = THIS_MODULE,
	.write = importer_hold_write,
	.llseek = noop_llseek,
};

/*
 * fault_heap_add, a module parameter (debugfs does not exist yet while the
 * module initialises): adding the heap of this name fails with -ENOMEM,
 * as a failing dma_heap_add() would, to test what init does then.
 */
static char *fault_heap_add;
module_param(fault_heap_add, charp, 0444);
MODULE_PARM_DESC(fault_heap_add,
		 "Test builds only: adding the heap of this name fails with ENOMEM");

bool heapload_fault_heap_add(const char *name)
{
	return fault_heap_add && !strcmp(fault_heap_add, name);
}

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
	debugfs_create_u32("fault_alloc_thread", 0600, dir,
			   &heapload_faults.alloc_thread);
	debugfs_create_u64("fault_read_short_after", 0600, dir,
			   &heapload_faults.read_short_after);
	debugfs_create_u64("fault_read_error_after", 0600, dir,
			   &heapload_faults.read_error_after);
	debugfs_create_file("inspect", 0600, dir, NULL, &inspect_fops);
	debugfs_create_bool("race_after_submit", 0600, dir,
			    &heapload_faults.race_after_submit);
	debugfs_create_u64("fault_vmap_after", 0600, dir,
			   &heapload_faults.vmap_after);
	debugfs_create_file("planted_bug", 0200, dir, NULL, &planted_fops);

	importer_pdev = platform_device_register_simple("heapload-test-importer",
							PLATFORM_DEVID_NONE,
							NULL, 0);
	if (IS_ERR(importer_pdev) ||
	    dma_coerce_mask_and_coherent(&importer_pdev->dev,
					 DMA_BIT_MASK(64))) {
		if (!IS_ERR(importer_pdev))
			platform_device_unregister(importer_pdev);
		importer_pdev = NULL;
	}
	debugfs_create_file("importer_write", 0200, dir, NULL, &importer_fops);
	debugfs_create_file("importer_hold", 0200, dir, NULL,
			    &importer_hold_fops);
}

/**
 * heapload_debug_exit() - remove debugfs heapload/, release importer_hold's
 * buffer
 */
void heapload_debug_exit(void)
{
	debugfs_remove(heapload_debugfs);
	mutex_lock(&importer_hold_lock);
	if (importer_hold_attach)
		importer_hold_release();
	mutex_unlock(&importer_hold_lock);
	if (importer_pdev)
		platform_device_unregister(importer_pdev);
	importer_pdev = NULL;
}
