// SPDX-License-Identifier: GPL-2.0
/*
 * A device writes into heapload's buffers: what it wrote must be what the
 * buffer holds once it has unmapped them. The debugfs file
 * heapload/importer_write of the test builds plays the device: a platform
 * device of the module attaches to a dma-buf, maps it DMA_FROM_DEVICE,
 * writes one byte value at every mapped segment's DMA address, as a DMA
 * engine would, then unmaps and detaches. Booted with swiotlb=force, the
 * DMA addresses are those of swiotlb's bounce buffers, so the data reaches
 * the buffer only through the CPU sync of the unmap, which a heap that
 * maps with DMA_ATTR_SKIP_CPU_SYNC skips: the write is then lost.
 *
 * For heapload,system and heapload,restricted, buffers of 1 MiB and of
 * 3 MiB and 20 KiB (several chunks on the system heap), and a restricted
 * one of 9 MiB and 20 KiB (up to three chunks of the pool, merged where
 * they are adjacent): zero before, the written byte everywhere after, as
 * the debugfs file inspect's CRC-32 and, for system buffers, a mapping
 * show. The attachment splits the buffer into the device's largest DMA
 * segment (64 KiB for a platform device that sets none), so each buffer
 * is mapped, and bounced, in many segments.
 *
 * All tests are skipped without importer_write (production builds, older
 * modules) or where it answers EOPNOTSUPP (DMA addresses that are not
 * physical addresses, behind an IOMMU). Needs root and debugfs.
 */
#define _GNU_SOURCE

#include "hl_test.h"
#include "hl_inspect.h"
#include "hl_knobs.h"

#define HL_IMPORTER_WRITE	HL_DEBUG_DIR "/importer_write"

/* What the device writes: not zero, which the buffers hold before. */
#define DEVICE_BYTE		0xa5

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

/**
 * struct importer_case - one buffer a device writes into
 * @name:	its KTAP name
 * @heap:	the path of its heap's node
 * @len:	its size
 * @mmap:	check the content through a mapping too (not for
 *		restricted buffers, which refuse it)
 */
struct importer_case {
	const char *name;
	const char *heap;
	uint64_t len;
	bool mmap;
};

static const struct importer_case cases[] = {
	{ "system_1m_device_write_reaches_buffer", HL_HEAP_PATH,
	  HL_MIB, true },
	{ "system_3m_plus_20k_device_write_reaches_buffer", HL_HEAP_PATH,
	  3 * HL_MIB + 20 * 1024, true },
	{ "restricted_1m_device_write_reaches_buffer", HL_RESTRICTED_PATH,
	  HL_MIB, false },
	{ "restricted_3m_plus_20k_device_write_reaches_buffer", HL_RESTRICTED_PATH,
	  3 * HL_MIB + 20 * 1024, false },
	{ "restricted_9m_plus_20k_device_write_reaches_buffer", HL_RESTRICTED_PATH,
	  9 * HL_MIB + 20 * 1024, false },
};

/*
 * The device writes @byte into all of the dma-buf @dfd, through the open
 * importer_write file @ifd: 0 or the errno.
 */
static int importer_write_to(int ifd, int dfd, unsigned int byte)
{
	char cmd[32];
	ssize_t n;

	snprintf(cmd, sizeof(cmd), "%d %u", dfd, byte);
	n = write(ifd, cmd, strlen(cmd));
	if (n < 0)
		return errno;
	return (size_t)n == strlen(cmd) ? 0 : EIO;
}

/* importer_write_to() through a file of its own. */
static int importer_write(int dfd, unsigned int byte)
{
	int ifd = open(HL_IMPORTER_WRITE, O_WRONLY | O_CLOEXEC);
	int e;

	if (ifd < 0)
		return errno;
	e = importer_write_to(ifd, dfd, byte);
	close(ifd);
	return e;
}

/* Is swiotlb=force (or swiotlb=<n>,force) on the kernel command line? */
static bool swiotlb_forced(void)
{
	char line[4096], *tok, *save = NULL;
	bool forced = false;
	FILE *f = fopen("/proc/cmdline", "re");

	if (!f)
		return false;
	if (fgets(line, sizeof(line), f)) {
		for (tok = strtok_r(line, " \n", &save); tok;
		     tok = strtok_r(NULL, " \n", &save))
			if (!strncmp(tok, "swiotlb=", 8) && strstr(tok + 8, "force"))
				forced = true;
	}
	fclose(f);
	return forced;
}

/* Every byte of the mapped dma-buf @dfd of @len bytes is @byte. */
static int check_mapped(int dfd, uint64_t len, unsigned char byte)
{
	unsigned char *p;
	uint64_t i;
	int e, r = KTAP_PASS;

	p = mmap(NULL, len, PROT_READ, MAP_SHARED, dfd, 0);
	if (p == MAP_FAILED)
		return ktap_fail("mmap of the system buffer: %s", strerror(errno));
	e = hl_sync(dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	if (e) {
		munmap(p, len);
		return ktap_fail("DMA_BUF_IOCTL_SYNC start: %s", hl_errname(e));
	}
	for (i = 0; i < len; i++) {
		if (p[i] != byte) {
			r = ktap_fail("through the mapping, byte %" PRIu64 " of %" PRIu64
				      " reads 0x%02x, the device wrote 0x%02x",
				      i, len, p[i], byte);
			break;
		}
	}
	e = hl_sync(dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	munmap(p, len);
	if (!r && e)
		r = ktap_fail("DMA_BUF_IOCTL_SYNC end: %s", hl_errname(e));
	return r;
}

/* Inspect @dfd: @len bytes of heap @heap, content of CRC-32 @crc. */
static int check_inspect(int dfd, const char *heap, uint64_t len,
			 uint32_t crc, const char *when, unsigned int *nchunks)
{
	struct hl_inspect in;
	uint64_t sum = 0;
	unsigned int i;
	int r = hl_inspect(dfd, &in);

	if (!r && strcmp(in.heap, heap))
		r = ktap_fail("inspect says heap %s, expected %s", in.heap, heap);
	if (!r && in.size != len)
		r = ktap_fail("inspect says size %" PRIu64 ", expected %" PRIu64,
			      in.size, len);
	for (i = 0; !r && i < in.n; i++)
		sum += in.chunk[i].len;
	if (!r && sum != len)
		r = ktap_fail("inspect's %u chunks add up to %" PRIu64
			      " bytes, expected %" PRIu64, in.n, sum, len);
	if (!r && in.crc != crc)
		r = ktap_fail("%s: inspect says crc32 %08x, expected %08x%s", when,
			      in.crc, crc, in.crc == hl_crc32_zeros(0, len) ?
			      " (the buffer is still all zero)" : "");
	if (nchunks)
		*nchunks = in.n;
	hl_inspect_free(&in);
	return r;
}

static int t_case(const void *arg)
{
	const struct importer_case *c = arg;
	const char *heap = strrchr(c->heap, '/') + 1;
	/* The buffer is the request rounded up to the page size. */
	uint64_t len = hl_page_up(c->len);
	uint32_t zero = hl_crc32_zeros(0, len);
	uint32_t want = hl_crc32_fill(0, DEVICE_BYTE, len);
	unsigned int nchunks = 0;
	uint64_t t0;
	int hfd, dfd, e, r;

	hfd = open(c->heap, O_RDWR | O_CLOEXEC);
	if (hfd < 0)
		return ktap_fail("open %s: %s", c->heap, strerror(errno));
	e = hl_heap_alloc(hfd, c->len, O_RDWR | O_CLOEXEC, 0, &dfd);
	close(hfd);
	if (e)
		return ktap_fail("alloc of %" PRIu64 " bytes from %s: %s", c->len,
				 heap, hl_errname(e));
	r = check_inspect(dfd, heap, len, zero, "before the device's write",
			  NULL);
	if (!r) {
		t0 = hl_now_ms();
		e = importer_write(dfd, DEVICE_BYTE);
		if (e == EOPNOTSUPP)
			r = ktap_skip("importer_write: EOPNOTSUPP (DMA addresses are not physical here)");
		else if (e)
			r = ktap_fail("importer_write of 0x%02x: %s", DEVICE_BYTE,
				      hl_errname(e));
		else
			ktap_print_msg("%s: %" PRIu64 " bytes written by the device in %"
				       PRIu64 " ms", heap, len, hl_now_ms() - t0);
	}
	if (!r)
		r = check_inspect(dfd, heap, len, want,
				  "after the device's write", &nchunks);
	if (!r)
		ktap_print_msg("%s: %" PRIu64 " bytes, %u chunk(s), crc32 %08x: 0x%02x everywhere",
			       heap, len, nchunks, want, DEVICE_BYTE);
	if (!r && c->mmap)
		r = check_mapped(dfd, len, DEVICE_BYTE);
	close(dfd);
	return r;
}

/* The fd of a non-dma-buf: EINVAL; a closed fd: EBADF. */
static int t_bad_fds(const void *arg)
{
	int ifd, nfd, e;

	(void)arg;
	/* Opened first, so that it cannot take the number of the closed fd. */
	ifd = open(HL_IMPORTER_WRITE, O_WRONLY | O_CLOEXEC);
	if (ifd < 0)
		return ktap_fail("open %s: %s", HL_IMPORTER_WRITE, strerror(errno));
	nfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (nfd < 0) {
		e = errno;
		close(ifd);
		return ktap_fail("open /dev/null: %s", strerror(e));
	}
	e = importer_write_to(ifd, nfd, DEVICE_BYTE);
	close(nfd);
	if (e != EINVAL) {
		close(ifd);
		return ktap_fail("the fd of /dev/null: %s, expected EINVAL",
				 hl_errname(e));
	}
	e = importer_write_to(ifd, nfd, DEVICE_BYTE);
	close(ifd);
	if (e != EBADF)
		return ktap_fail("closed fd %d: %s, expected EBADF", nfd,
				 hl_errname(e));
	return KTAP_PASS;
}

static int t_no_leak(const void *arg)
{
	(void)arg;
	return hl_check_no_leak("after the tests");
}

/*
 * The first test: the module, both heaps, inspect and importer_write are
 * there, and the device can write into a one-page system buffer (else every
 * test is skipped: EOPNOTSUPP where DMA addresses are not physical).
 */
static int t_present(void)
{
	const char *need[] = { HL_HEAP_PATH, HL_RESTRICTED_PATH, HL_INSPECT };
	int hfd, dfd, e, r;
	size_t i;

	r = hl_precondition_module();
	if (r)
		return r;
	if (!hl_debugfs_mounted()) {
		hl_precondition_skip("debugfs is not mounted at /sys/kernel/debug");
		return ktap_skip("%s", hl_precondition_why);
	}
	if (access(HL_IMPORTER_WRITE, W_OK)) {
		hl_precondition_skip("no %s (%s): a production build, or a module before it",
				     HL_IMPORTER_WRITE, hl_errname(errno));
		return ktap_skip("%s", hl_precondition_why);
	}
	for (i = 0; i < ARRAY_LEN(need); i++) {
		if (access(need[i], F_OK)) {
			e = errno;
			hl_precondition_skip("no %s", need[i]);
			return ktap_fail("the test build with %s lacks %s: %s",
					 HL_IMPORTER_WRITE, need[i], strerror(e));
		}
	}
	hfd = open(HL_HEAP_PATH, O_RDWR | O_CLOEXEC);
	if (hfd < 0) {
		e = errno;
		hl_precondition_skip("%s unusable", HL_HEAP_PATH);
		return ktap_fail("open %s: %s", HL_HEAP_PATH, strerror(e));
	}
	e = hl_heap_alloc(hfd, HL_PAGE, O_RDWR | O_CLOEXEC, 0, &dfd);
	close(hfd);
	if (e) {
		hl_precondition_skip("no one-page system buffer");
		return ktap_fail("alloc of a page from %s: %s", HL_HEAP_NAME,
				 hl_errname(e));
	}
	e = importer_write(dfd, DEVICE_BYTE);
	close(dfd);
	if (e == EOPNOTSUPP) {
		hl_precondition_skip("importer_write: EOPNOTSUPP (DMA addresses are not physical addresses here)");
		return ktap_skip("%s", hl_precondition_why);
	}
	if (e) {
		hl_precondition_skip("importer_write failed");
		return ktap_fail("importer_write into a one-page system buffer: %s",
				 hl_errname(e));
	}
	return KTAP_PASS;
}

int main(void)
{
	uint64_t t0 = hl_now_ms();
	size_t i;

	ktap_print_header();
	ktap_set_plan(1 + ARRAY_LEN(cases) + 2);
	ktap_print_msg("swiotlb=force: %s", swiotlb_forced() ?
		       "yes, the device writes into swiotlb bounce buffers" :
		       "no, the device writes into the buffers' own pages");
	ktap_report("importer_write_present", t_present());
	for (i = 0; i < ARRAY_LEN(cases); i++)
		hl_run(cases[i].name, t_case, &cases[i]);
	hl_run("importer_write_bad_fds_einval_ebadf", t_bad_fds, NULL);
	hl_run("no_leak_after_tests", t_no_leak, NULL);
	ktap_print_msg("all tests took %" PRIu64 " ms", hl_now_ms() - t0);
	ktap_finished();
}
