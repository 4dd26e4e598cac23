// SPDX-License-Identifier: GPL-2.0
/*
 * make check-install: a program as a user of the installed library would
 * write it, built in the guest with
 *
 *   gcc loader.c $(pkg-config --cflags --libs libheapload)
 *
 * Usage: loader FILE. Opens /dev/heapload, loads the whole FILE into a
 * buffer of the default heap, maps the dma-buf and compares it with FILE
 * read with pread(). Prints one line; exit status 0 only if every byte
 * matched.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/dma-buf.h>

#include <libheapload.h>

static int fail(const char *what, int err)
{
	fprintf(stderr, "loader: %s: %s\n", what, strerror(err));
	return 1;
}

/* Compare the mapping with the file, a chunk at a time. */
static int compare(int fd, const unsigned char *buf, uint64_t len)
{
	static unsigned char chunk[1 << 16];
	uint64_t off = 0;

	while (off < len) {
		size_t want = len - off < sizeof(chunk) ? len - off : sizeof(chunk);
		ssize_t n = pread(fd, chunk, want, (off_t)off);

		if (n <= 0)
			return fail("pread", n < 0 ? errno : EIO);
		if (memcmp(chunk, buf + off, (size_t)n)) {
			fprintf(stderr, "loader: mismatch in the %zd bytes at %llu\n",
				n, (unsigned long long)off);
			return 1;
		}
		off += (uint64_t)n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct heapload_result res = HEAPLOAD_RESULT_INIT;
	struct stat st;
	void *map;
	int devfd, fd, ret, bad;

	if (argc != 2) {
		fprintf(stderr, "usage: loader FILE\n");
		return 2;
	}
	devfd = heapload_open();
	if (devfd < 0)
		return fail("heapload_open", -devfd);
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st))
		return fail(argv[1], errno);

	ret = heapload_load_file(devfd, fd, NULL, 0, 0, 0, NULL, &res);
	if (ret)
		return fail("heapload_load_file", -ret);
	if (res.loaded != (uint64_t)st.st_size) {
		fprintf(stderr, "loader: loaded %llu of %lld bytes\n",
			(unsigned long long)res.loaded, (long long)st.st_size);
		return 1;
	}

	ret = heapload_dmabuf_map(res.dmabuf_fd, res.loaded, PROT_READ, &map);
	if (ret)
		return fail("heapload_dmabuf_map", -ret);
	ret = heapload_dmabuf_sync(res.dmabuf_fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	if (ret)
		return fail("heapload_dmabuf_sync start", -ret);
	bad = compare(fd, map, res.loaded);
	ret = heapload_dmabuf_sync(res.dmabuf_fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	if (ret)
		return fail("heapload_dmabuf_sync end", -ret);
	heapload_dmabuf_unmap(map, res.loaded);
	close(res.dmabuf_fd);
	close(fd);
	close(devfd);
	if (bad)
		return 1;
	printf("loader: %llu bytes loaded into %s, %llu-byte buffer, content matches\n",
	       (unsigned long long)res.loaded, HEAPLOAD_DEFAULT_HEAP,
	       (unsigned long long)res.buf_size);
	return 0;
}
