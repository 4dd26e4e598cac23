// SPDX-License-Identifier: GPL-2.0
/*
 * HEAPLOAD_IOC_LOAD on /dev/heapload: loads of the test files, buffered
 * and direct, checked byte for byte through an mmap of the dma-buf;
 * sub-range loads; every documented errno; struct size compatibility;
 * the returned fd's flags; the module reference a live buffer holds;
 * a file whose reads come back short (sysfs); a fanotify listener that
 * denies access; and the module's counters returning to zero.
 *
 * Needs the files of $HL_DATA (default /data): empty, one,
 * page_minus_one, 8m, 256m, unaligned, on a filesystem with O_DIRECT.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/fanotify.h>
#include <sys/syscall.h>

#include "hl_test.h"

static int loader_fd = -1;

enum fd_kind {
	FD_DATA,		/* the data file, O_RDONLY */
	FD_DATA_ODIRECT,	/* the data file, O_RDONLY | O_DIRECT */
	FD_WRONLY,		/* a regular file (memfd) opened O_WRONLY */
	FD_MINUS1,		/* -1 */
	FD_CLOSED,		/* a number that was just closed */
	FD_DIR,			/* the data directory */
	FD_PIPE,		/* the read end of a pipe */
};

enum check {
	CHECK_CONTENT,		/* loaded, buf_size and bytes match the file */
	CHECK_TAIL,		/* loaded, buf_size and a zero tail */
};

struct load_case {
	const char *name;
	const char *file;
	enum fd_kind fd_kind;
	uint32_t flags;
	uint64_t offset;
	uint64_t length;
	/* Adjust the request; @fsize is the size of @file. */
	void (*mutate)(struct heapload_load *l, uint64_t fsize);
	int expect;		/* errno, or 0 for success */
	enum check check;
};

struct fds {
	int fd;			/* what goes into file_fd */
	int close1, close2;	/* what to close afterwards */
};

static int get_fd(const struct load_case *c, char *path, size_t plen,
		  uint64_t *fsize, struct fds *f)
{
	int pfd[2], oflags = O_RDONLY;
	struct stat st;

	f->fd = f->close1 = f->close2 = -1;
	*fsize = 0;
	hl_data_path(path, plen, c->file ? c->file : "");
	if (c->file) {
		if (stat(path, &st))
			return ktap_skip("test data %s missing: %s", path,
					 strerror(errno));
		*fsize = st.st_size;
	}
	switch (c->fd_kind) {
	case FD_DATA_ODIRECT:
		oflags |= O_DIRECT;
		/* fall through */
	case FD_DATA:
		f->fd = f->close1 = open(path, oflags | O_CLOEXEC);
		if (f->fd < 0 && c->fd_kind == FD_DATA_ODIRECT && errno == EINVAL)
			return ktap_skip("%s: filesystem without O_DIRECT", path);
		if (f->fd < 0)
			return ktap_fail("open %s: %s", path, strerror(errno));
		return KTAP_PASS;
	case FD_MINUS1:
		return KTAP_PASS;
	case FD_CLOSED:
		f->fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (f->fd < 0)
			return ktap_fail("open /dev/null: %s", strerror(errno));
		close(f->fd);
		return KTAP_PASS;
	case FD_DIR:
		f->fd = f->close1 = open(hl_data_dir(),
					 O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (f->fd < 0)
			return ktap_skip("test data dir %s: %s", hl_data_dir(),
					 strerror(errno));
		return KTAP_PASS;
	case FD_WRONLY:
		/* Reopen a memfd write-only: a regular file, no disk writes. */
		f->close2 = memfd_create("heapload-test", MFD_CLOEXEC);
		if (f->close2 < 0 || write(f->close2, "x", 1) != 1)
			return ktap_fail("memfd: %s", strerror(errno));
		snprintf(path, plen, "/proc/self/fd/%d", f->close2);
		f->fd = f->close1 = open(path, O_WRONLY | O_CLOEXEC);
		if (f->fd < 0)
			return ktap_fail("open %s write-only: %s", path,
					 strerror(errno));
		return KTAP_PASS;
	case FD_PIPE:
		if (pipe2(pfd, O_CLOEXEC))
			return ktap_fail("pipe: %s", strerror(errno));
		f->fd = f->close1 = pfd[0];
		f->close2 = pfd[1];
		return KTAP_PASS;
	}
	return ktap_fail("bad fd kind (test bug)");
}

static void put_fds(struct fds *f)
{
	if (f->close1 >= 0)
		close(f->close1);
	if (f->close2 >= 0)
		close(f->close2);
}

/*
 * Check the sizes of a finished load of @path at @offset expecting
 * @want bytes, then its content or its tail through an mmap.
 */
static int check_buffer(const struct heapload_load *l, const char *path,
			uint64_t offset, uint64_t want, enum check check)
{
	const size_t chunk = HL_MIB;
	unsigned char *map = MAP_FAILED, *buf = NULL;
	int r = KTAP_PASS, ffd = -1, e;
	uint64_t pos, n;
	int64_t end;
	ssize_t got;
	size_t nz;

	if (l->loaded != want)
		return ktap_fail("loaded %llu, expected %" PRIu64,
				 (unsigned long long)l->loaded, want);
	if (l->buf_size != hl_page_up(want))
		return ktap_fail("buf_size %llu, expected %" PRIu64,
				 (unsigned long long)l->buf_size,
				 hl_page_up(want));
	end = lseek(l->dmabuf_fd, 0, SEEK_END);
	if (end != (int64_t)l->buf_size)
		return ktap_fail("dma-buf is %" PRId64 " bytes, buf_size %llu",
				 end, (unsigned long long)l->buf_size);

	map = mmap(NULL, l->buf_size, PROT_READ, MAP_SHARED, l->dmabuf_fd, 0);
	if (map == MAP_FAILED)
		return ktap_fail("mmap of dma-buf: %s", strerror(errno));
	e = hl_sync(l->dmabuf_fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	if (e) {
		r = ktap_fail("SYNC_START: %s", hl_errname(e));
		goto out;
	}
	if (check == CHECK_TAIL) {
		nz = hl_first_nonzero(map + want, l->buf_size - want);
		if (nz != l->buf_size - want)
			r = ktap_fail("tail byte %" PRIu64 " is 0x%02x, not 0",
				      want + nz, map[want + nz]);
		goto sync_end;
	}
	ffd = open(path, O_RDONLY | O_CLOEXEC);
	buf = malloc(chunk);
	if (ffd < 0 || !buf) {
		r = ktap_fail("open %s for comparison: %s", path,
			      strerror(errno));
		goto sync_end;
	}
	for (pos = 0; pos < want; pos += n) {
		n = want - pos < chunk ? want - pos : chunk;
		got = pread(ffd, buf, n, offset + pos);
		if (got != (ssize_t)n) {
			r = ktap_fail("short read of %s at %" PRIu64, path,
				      offset + pos);
			break;
		}
		if (memcmp(buf, map + pos, n)) {
			for (nz = 0; buf[nz] == map[pos + nz]; nz++)
				;
			r = ktap_fail("byte %" PRIu64 " of buffer is 0x%02x, file has 0x%02x",
				      pos + nz, map[pos + nz], buf[nz]);
			break;
		}
	}
sync_end:
	e = hl_sync(l->dmabuf_fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	if (e && r == KTAP_PASS)
		r = ktap_fail("SYNC_END: %s", hl_errname(e));
out:
	free(buf);
	if (ffd >= 0)
		close(ffd);
	munmap(map, l->buf_size);
	return r;
}

static int run_case(const void *arg)
{
	const struct load_case *c = arg;
	struct heapload_load l;
	uint64_t fsize, want;
	char path[512];
	struct fds f;
	int r, e;

	r = get_fd(c, path, sizeof(path), &fsize, &f);
	if (r)
		goto out;
	hl_load_init(&l, f.fd, c->flags, c->offset, c->length);
	if (c->mutate)
		c->mutate(&l, fsize);
	if (c->expect == 0 && c->check == CHECK_TAIL)
		hl_dirty_free_memory(16 * HL_MIB);
	e = hl_ioctl(loader_fd, HEAPLOAD_IOC_LOAD, &l);
	if (e != c->expect) {
		r = ktap_fail("HEAPLOAD_IOC_LOAD: %s, expected %s",
			      hl_errname(e), hl_errname(c->expect));
		if (!e)
			close(l.dmabuf_fd);
		goto out;
	}
	if (e)
		goto out;
	want = l.length ? l.length : fsize - l.offset;
	r = check_buffer(&l, path, l.offset, want, c->check);
	close(l.dmabuf_fd);
out:
	put_fds(&f);
	return r;
}

static void m_offset_at_eof(struct heapload_load *l, uint64_t fsize)
{
	l->offset = fsize;
	l->length = 0;
}

static void m_offset_past_eof(struct heapload_load *l, uint64_t fsize)
{
	l->offset = fsize + HL_PAGE;
	l->length = 0;
}

static void m_range_past_eof(struct heapload_load *l, uint64_t fsize)
{
	l->offset = HL_PAGE;
	l->length = fsize;
}

static void m_range_overflow(struct heapload_load *l, uint64_t fsize)
{
	(void)fsize;
	l->offset = HL_PAGE;
	l->length = ~0ULL - 100;
}

static void m_both_flags(struct heapload_load *l, uint64_t fsize)
{
	(void)fsize;
	l->flags = HEAPLOAD_LOAD_DIRECT | HEAPLOAD_LOAD_BUFFERED;
}

static void m_unknown_flag(struct heapload_load *l, uint64_t fsize)
{
	(void)fsize;
	l->flags = HEAPLOAD_LOAD_BUFFERED | (HEAPLOAD_LOAD_VALID_FLAGS + 1);
}

static void m_bad_fd_flags(struct heapload_load *l, uint64_t fsize)
{
	(void)fsize;
	l->fd_flags = O_RDWR | O_NONBLOCK;
}

static void m_pad(struct heapload_load *l, uint64_t fsize)
{
	(void)fsize;
	l->__pad = 1;
}

static void m_reserved(struct heapload_load *l, uint64_t fsize)
{
	(void)fsize;
	l->reserved[0] = 1;
}

static void m_unknown_heap(struct heapload_load *l, uint64_t fsize)
{
	(void)fsize;
	snprintf(l->heap, sizeof(l->heap), "heapload,no-such-heap");
}

static void m_heap_unterminated(struct heapload_load *l, uint64_t fsize)
{
	(void)fsize;
	memset(l->heap, 'a', sizeof(l->heap));
}

static void m_size_mismatch(struct heapload_load *l, uint64_t fsize)
{
	(void)fsize;
	l->size = sizeof(*l) + 8;
}

#define B	HEAPLOAD_LOAD_BUFFERED
#define D	HEAPLOAD_LOAD_DIRECT

/* name, data file, kind of fd, flags, then any other field by name. */
#define CASE(n, f, k, fl, ...) \
	{ .name = n, .file = f, .fd_kind = k, .flags = fl, __VA_ARGS__ }
#define RANGE(o, l)	.offset = (o), .length = (l)
#define TAIL		.check = CHECK_TAIL
#define FAILS(e)	.expect = (e)

static const struct load_case cases[] = {
	/* Whole files, both paths. */
	CASE("load_one_buffered", "one", FD_DATA, B),
	CASE("load_one_direct", "one", FD_DATA, D),
	CASE("load_page_minus_one_buffered", "page_minus_one", FD_DATA, B),
	CASE("load_page_minus_one_direct", "page_minus_one", FD_DATA, D),
	CASE("load_8m_buffered", "8m", FD_DATA, B),
	CASE("load_8m_direct", "8m", FD_DATA, D),
	CASE("load_256m_buffered", "256m", FD_DATA, B),
	CASE("load_256m_direct", "256m", FD_DATA, D),
	CASE("load_unaligned_buffered", "unaligned", FD_DATA, B),
	CASE("load_unaligned_direct", "unaligned", FD_DATA, D),
	CASE("load_one_buffered_tail_zeroed", "one", FD_DATA, B, TAIL),
	CASE("load_one_direct_tail_zeroed", "one", FD_DATA, D, TAIL),
	CASE("load_page_minus_one_buffered_tail_zeroed", "page_minus_one",
	     FD_DATA, B, TAIL),
	CASE("load_page_minus_one_direct_tail_zeroed", "page_minus_one",
	     FD_DATA, D, TAIL),
	CASE("load_unaligned_buffered_tail_zeroed", "unaligned", FD_DATA, B,
	     TAIL),
	CASE("load_unaligned_direct_tail_zeroed", "unaligned", FD_DATA, D,
	     TAIL),
	CASE("load_empty_buffered_enodata", "empty", FD_DATA, B,
	     FAILS(ENODATA)),
	CASE("load_empty_direct_enodata", "empty", FD_DATA, D, FAILS(ENODATA)),

	/* Sub-ranges. */
	CASE("load_range_8m_buffered", "8m", FD_DATA, B, RANGE(4096, 10000)),
	CASE("load_range_8m_direct", "8m", FD_DATA, D, RANGE(4096, 10000)),
	CASE("load_range_8m_buffered_tail_zeroed", "8m", FD_DATA, B,
	     RANGE(4096, 10000), TAIL),
	CASE("load_range_8m_direct_tail_zeroed", "8m", FD_DATA, D,
	     RANGE(4096, 10000), TAIL),
	CASE("load_range_odd_offset_buffered", "8m", FD_DATA, B,
	     RANGE(12345, 5000)),
	CASE("load_length_zero_reads_to_eof_buffered", "unaligned", FD_DATA, B,
	     RANGE(8192, 0)),
	CASE("load_length_zero_reads_to_eof_direct", "unaligned", FD_DATA, D,
	     RANGE(8192, 0)),
	CASE("load_offset_at_eof_enodata", "unaligned", FD_DATA, B,
	     .mutate = m_offset_at_eof, FAILS(ENODATA)),

	/*
	 * Direct I/O follows the file's own alignment (STATX_DIOALIGN): the
	 * rig's ext4 on a disk of 512-byte blocks takes 512-byte offsets.
	 */
	CASE("load_direct_offset_512_block_aligned", "8m", FD_DATA, D,
	     RANGE(512, 1048676)),
	CASE("load_direct_offset_1536_unaligned_end_tail_zeroed", "unaligned",
	     FD_DATA, D, RANGE(1536, 8000), TAIL),

	/* Choice of path: flags 0 follows O_DIRECT of the fd. */
	CASE("load_odirect_fd_flags0_direct", "8m", FD_DATA_ODIRECT, 0),
	CASE("load_odirect_fd_flags0_rejects_unaligned_offset", "8m",
	     FD_DATA_ODIRECT, 0, RANGE(100, 4096), FAILS(EINVAL)),
	CASE("load_buffered_flag_overrides_odirect_fd", "8m", FD_DATA_ODIRECT,
	     B, RANGE(12345, 5000)),

	/* Bad inputs, one errno each. */
	CASE("load_rejects_fd_minus1_ebadf", NULL, FD_MINUS1, B, FAILS(EBADF)),
	CASE("load_rejects_closed_fd_ebadf", NULL, FD_CLOSED, B, FAILS(EBADF)),
	CASE("load_rejects_writeonly_fd_ebadf", NULL, FD_WRONLY, B, FAILS(EBADF)),
	CASE("load_rejects_directory_eisdir", NULL, FD_DIR, B, FAILS(EISDIR)),
	CASE("load_rejects_pipe_einval", NULL, FD_PIPE, B, FAILS(EINVAL)),
	CASE("load_rejects_offset_past_eof_einval", "8m", FD_DATA, B,
	     .mutate = m_offset_past_eof, FAILS(EINVAL)),
	CASE("load_rejects_range_past_eof_einval", "8m", FD_DATA, B,
	     .mutate = m_range_past_eof, FAILS(EINVAL)),
	CASE("load_rejects_range_overflow_eoverflow", "8m", FD_DATA, B,
	     .mutate = m_range_overflow, FAILS(EOVERFLOW)),
	/* The rig's disk has 512-byte blocks: 100 is not a block boundary. */
	CASE("load_rejects_direct_unaligned_offset_einval", "8m", FD_DATA, D,
	     RANGE(100, 4096), FAILS(EINVAL)),
	CASE("load_rejects_both_mode_flags_einval", "one", FD_DATA, 0,
	     .mutate = m_both_flags, FAILS(EINVAL)),
	CASE("load_rejects_unknown_flag_einval", "one", FD_DATA, 0,
	     .mutate = m_unknown_flag, FAILS(EINVAL)),
	CASE("load_rejects_bad_fd_flags_einval", "one", FD_DATA, B,
	     .mutate = m_bad_fd_flags, FAILS(EINVAL)),
	CASE("load_rejects_pad_einval", "one", FD_DATA, B,
	     .mutate = m_pad, FAILS(EINVAL)),
	CASE("load_rejects_reserved_einval", "one", FD_DATA, B,
	     .mutate = m_reserved, FAILS(EINVAL)),
	CASE("load_rejects_unknown_heap_enodev", "one", FD_DATA, B,
	     .mutate = m_unknown_heap, FAILS(ENODEV)),
	CASE("load_rejects_unterminated_heap_einval", "one", FD_DATA, B,
	     .mutate = m_heap_unterminated, FAILS(EINVAL)),
	CASE("load_rejects_size_mismatch_einval", "one", FD_DATA, B,
	     .mutate = m_size_mismatch, FAILS(EINVAL)),
};

#undef B
#undef D

static int open_data(const char *name, int oflags, char *path, size_t plen,
		     int *fd)
{
	hl_data_path(path, plen, name);
	*fd = open(path, oflags | O_CLOEXEC);
	if (*fd >= 0)
		return KTAP_PASS;
	if (errno == ENOENT)
		return ktap_skip("test data %s missing", path);
	return ktap_fail("open %s: %s", path, strerror(errno));
}

/* Load the whole of $HL_DATA/@name buffered into @l; 0 or a ktap result. */
static int load_file(const char *name, uint32_t fd_flags,
		     struct heapload_load *l)
{
	char path[512];
	int fd, e, r = open_data(name, O_RDONLY, path, sizeof(path), &fd);

	if (r)
		return r;
	hl_load_init(l, fd, HEAPLOAD_LOAD_BUFFERED, 0, 0);
	l->fd_flags = fd_flags;
	e = hl_ioctl(loader_fd, HEAPLOAD_IOC_LOAD, l);
	close(fd);
	if (e)
		return ktap_fail("load of %s: %s", path, hl_errname(e));
	return KTAP_PASS;
}

static int t_efault(const void *arg)
{
	int e;

	(void)arg;
	e = hl_ioctl(loader_fd, HEAPLOAD_IOC_LOAD, (void *)8);
	if (e != EFAULT)
		return ktap_fail("argument at address 8: %s, expected EFAULT",
				 hl_errname(e));
	return KTAP_PASS;
}

/* A later version of the struct: the first one plus one more field. */
struct heapload_load_next {
	struct heapload_load v0;
	__u64 extra;
};

#define LOAD_NEXT	_IOWR(HEAPLOAD_IOC_MAGIC, 0x00, struct heapload_load_next)

/* An impossible earlier version: the first one minus reserved[]. */
struct heapload_load_prev {
	unsigned char bytes[offsetof(struct heapload_load, reserved)];
};

#define LOAD_PREV	_IOWR(HEAPLOAD_IOC_MAGIC, 0x00, struct heapload_load_prev)

static int load_next(uint64_t extra, struct heapload_load_next *n, int *e)
{
	char path[512];
	int fd, r = open_data("one", O_RDONLY, path, sizeof(path), &fd);

	if (r)
		return r;
	memset(n, 0, sizeof(*n));
	hl_load_init(&n->v0, fd, HEAPLOAD_LOAD_BUFFERED, 0, 0);
	n->v0.size = sizeof(*n);
	n->extra = extra;
	*e = hl_ioctl(loader_fd, LOAD_NEXT, n);
	close(fd);
	return KTAP_PASS;
}

static int t_newer_nonzero_e2big(const void *arg)
{
	struct heapload_load_next n;
	int e, r;

	(void)arg;
	/* Only the last byte of the unknown part is set. */
	r = load_next(1ULL << 56, &n, &e);
	if (r)
		return r;
	if (!e)
		close(n.v0.dmabuf_fd);
	if (e != E2BIG)
		return ktap_fail("%zu-byte struct with a non-zero unknown byte: %s, expected E2BIG",
				 sizeof(n), hl_errname(e));
	return KTAP_PASS;
}

static int t_newer_zero_works(const void *arg)
{
	struct heapload_load_next n;
	int e, r;

	(void)arg;
	r = load_next(0, &n, &e);
	if (r)
		return r;
	if (e)
		return ktap_fail("%zu-byte struct with zero unknown bytes: %s",
				 sizeof(n), hl_errname(e));
	if (n.v0.loaded != 1 || n.v0.buf_size != HL_PAGE)
		r = ktap_fail("loaded %llu buf_size %llu, expected 1 and %llu",
			      (unsigned long long)n.v0.loaded,
			      (unsigned long long)n.v0.buf_size,
			      (unsigned long long)HL_PAGE);
	else if (lseek(n.v0.dmabuf_fd, 0, SEEK_END) != (off_t)HL_PAGE)
		r = ktap_fail("returned fd %d is not a one-page dma-buf",
			      n.v0.dmabuf_fd);
	else if (n.extra)
		r = ktap_fail("unknown field came back as 0x%llx",
			      (unsigned long long)n.extra);
	close(n.v0.dmabuf_fd);
	return r;
}

static int t_older_einval(const void *arg)
{
	struct heapload_load_prev p;
	struct heapload_load l;
	char path[512];
	int fd, e, r = open_data("one", O_RDONLY, path, sizeof(path), &fd);

	(void)arg;
	if (r)
		return r;
	hl_load_init(&l, fd, HEAPLOAD_LOAD_BUFFERED, 0, 0);
	l.size = sizeof(p);
	memcpy(&p, &l, sizeof(p));
	e = hl_ioctl(loader_fd, LOAD_PREV, &p);
	close(fd);
	if (!e) {
		memcpy(&l, &p, sizeof(p));
		close(l.dmabuf_fd);
	}
	if (e != EINVAL)
		return ktap_fail("%zu-byte struct: %s, expected EINVAL",
				 sizeof(p), hl_errname(e));
	return KTAP_PASS;
}

static int t_unknown_ioctl(const void *arg)
{
	static const struct {
		unsigned long req;
		const char *what;
	} reqs[] = {
		{ _IOWR(HEAPLOAD_IOC_MAGIC, 0x01, struct heapload_load),
		  "number 1 of our type" },
		{ _IOWR('H', 0x00, struct heapload_load),
		  "number 0 of dma-heap's type 'H'" },
		{ _IO(HEAPLOAD_IOC_MAGIC, 0x7f), "_IO number 0x7f of our type" },
	};
	struct heapload_load l;
	char path[512];
	size_t i;
	int fd, e, r = open_data("one", O_RDONLY, path, sizeof(path), &fd);

	(void)arg;
	if (r)
		return r;
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		hl_load_init(&l, fd, HEAPLOAD_LOAD_BUFFERED, 0, 0);
		e = hl_ioctl(loader_fd, reqs[i].req, &l);
		if (!e && l.dmabuf_fd > 0)
			close(l.dmabuf_fd);
		if (e != ENOTTY) {
			r = ktap_fail("ioctl %s (0x%lx): %s, expected ENOTTY",
				      reqs[i].what, reqs[i].req, hl_errname(e));
			break;
		}
	}
	close(fd);
	return r;
}

/* Load "one" with @fd_flags and probe the dma-buf as hl_probe_dmabuf() does. */
static int load_probe(uint32_t fd_flags, int cmd, int *fl, int *mmap_err)
{
	struct heapload_load l;
	int r = load_file("one", fd_flags, &l);

	if (r)
		return r;
	hl_probe_dmabuf(l.dmabuf_fd, cmd, fl, mmap_err);
	return KTAP_PASS;
}

static int t_cloexec(const void *arg)
{
	int fl, r;

	(void)arg;
	r = load_probe(O_RDWR | O_CLOEXEC, F_GETFD, &fl, NULL);
	if (r)
		return r;
	if (fl < 0 || !(fl & FD_CLOEXEC))
		return ktap_fail("fd_flags O_CLOEXEC: FD_CLOEXEC not set");
	r = load_probe(O_RDWR, F_GETFD, &fl, NULL);
	if (r)
		return r;
	if (fl < 0 || (fl & FD_CLOEXEC))
		return ktap_fail("fd_flags without O_CLOEXEC: FD_CLOEXEC set");
	return KTAP_PASS;
}

static int t_accmode(const void *arg)
{
	int fl, r, e;

	(void)arg;
	r = load_probe(O_RDONLY | O_CLOEXEC, F_GETFL, &fl, &e);
	if (r)
		return r;
	if (fl < 0 || (fl & O_ACCMODE) != O_RDONLY)
		return ktap_fail("fd_flags O_RDONLY gave access mode %d",
				 fl & O_ACCMODE);
	if (!e)
		return ktap_fail("O_RDONLY buffer could be mapped writable");
	if (e != EACCES)
		return ktap_fail("writable mmap of O_RDONLY buffer: %s, expected EACCES",
				 hl_errname(e));
	r = load_probe(O_RDWR | O_CLOEXEC, F_GETFL, &fl, &e);
	if (r)
		return r;
	if (fl < 0 || (fl & O_ACCMODE) != O_RDWR)
		return ktap_fail("fd_flags O_RDWR gave access mode %d",
				 fl & O_ACCMODE);
	if (e)
		return ktap_fail("writable mmap of O_RDWR buffer: %s",
				 hl_errname(e));
	return KTAP_PASS;
}

/* Evict the file, load it with @flags, count the pages cached after. */
static int cached_after_load(uint32_t flags, long *before, long *after,
			     long *total)
{
	struct heapload_load l;
	struct stat st;
	char path[512];
	int fd, e, r = open_data("8m", O_RDONLY, path, sizeof(path), &fd);

	if (r)
		return r;
	fstat(fd, &st);
	*total = (st.st_size + HL_PAGE - 1) / HL_PAGE;
	fdatasync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	*before = hl_resident_pages(fd, st.st_size);
	if (*before < 0) {
		close(fd);
		return ktap_skip("mincore on %s: %s", path, strerror(errno));
	}
	if (*before > 0) {
		close(fd);
		return ktap_skip("could not evict %s from the page cache (%ld pages stay)",
				 path, *before);
	}
	hl_load_init(&l, fd, flags, 0, 0);
	e = hl_ioctl(loader_fd, HEAPLOAD_IOC_LOAD, &l);
	if (e) {
		close(fd);
		return ktap_fail("load: %s", hl_errname(e));
	}
	close(l.dmabuf_fd);
	*after = hl_resident_pages(fd, st.st_size);
	close(fd);
	return KTAP_PASS;
}

static int t_direct_bypasses_cache(const void *arg)
{
	long before, after, total;
	int r;

	(void)arg;
	r = cached_after_load(HEAPLOAD_LOAD_DIRECT, &before, &after, &total);
	if (r)
		return r;
	if (after != 0)
		return ktap_fail("%ld of %ld pages entered the page cache",
				 after, total);
	return KTAP_PASS;
}

static int t_buffered_uses_cache(const void *arg)
{
	long before, after, total;
	int r;

	(void)arg;
	r = cached_after_load(HEAPLOAD_LOAD_BUFFERED, &before, &after, &total);
	if (r)
		return r;
	if (after != total)
		return ktap_fail("only %ld of %ld pages in the page cache",
				 after, total);
	return KTAP_PASS;
}

static int t_stats_live_buffer(const void *arg)
{
	uint64_t b0, n0, b1, n1, b2, n2;
	struct heapload_load l;
	int e, r;

	(void)arg;
	e = hl_stats(&b0, &n0);
	if (e)
		return ktap_fail("reading %s: %s", HL_STATS_DIR, hl_errname(e));
	r = load_file("8m", O_RDWR | O_CLOEXEC, &l);
	if (r)
		return r;
	e = hl_stats(&b1, &n1);
	close(l.dmabuf_fd);
	if (e)
		return ktap_fail("reading %s: %s", HL_STATS_DIR, hl_errname(e));
	if (b1 != b0 + l.buf_size || n1 != n0 + 1)
		return ktap_fail("with an 8 MiB buffer live: allocated_bytes %" PRIu64
				 " buffers %" PRIu64 ", expected %" PRIu64 " and %" PRIu64,
				 b1, n1, b0 + (uint64_t)l.buf_size, n0 + 1);
	e = hl_wait_stats(b0, n0, 5000, &b2, &n2);
	if (e)
		return ktap_fail("after close: allocated_bytes %" PRIu64 " buffers %" PRIu64
				 ", expected %" PRIu64 " and %" PRIu64 " (%s)",
				 b2, n2, b0, n0, hl_errname(e));
	return KTAP_PASS;
}

static int read_refcnt(uint64_t *v)
{
	return hl_read_u64(HL_MODULE_DIR "/refcnt", v);
}

/*
 * The only reference left is the buffer's: /dev/heapload is closed
 * first. delete_module() is called only when refcnt says the module is
 * pinned, so a module that forgot its reference is reported, not
 * unloaded under the tests that follow.
 */
static int t_buffer_pins_module(const void *arg)
{
	uint64_t r1, r2;
	struct heapload_load l;
	uint64_t end;
	int r, e;

	(void)arg;
	r = load_file("one", O_RDWR | O_CLOEXEC, &l);
	if (r)
		return r;
	close(loader_fd);
	loader_fd = -1;
	e = read_refcnt(&r1);
	if (e) {
		r = ktap_fail("reading refcnt: %s", hl_errname(e));
		goto out;
	}
	if (r1 == 0) {
		r = ktap_fail("refcnt is 0 with a buffer live; not calling delete_module");
		goto out;
	}
	if (!syscall(SYS_delete_module, "heapload", O_NONBLOCK)) {
		r = ktap_fail("delete_module succeeded with a buffer live: module is gone");
		goto out;
	}
	e = errno;
	if (e == EPERM) {
		r = ktap_skip("delete_module needs CAP_SYS_MODULE");
		goto out;
	}
	if (e != EWOULDBLOCK && e != EBUSY) {
		r = ktap_fail("delete_module: %s, expected EWOULDBLOCK or EBUSY",
			      hl_errname(e));
		goto out;
	}
	close(l.dmabuf_fd);
	l.dmabuf_fd = -1;
	end = hl_now_ms() + 2000;
	do {
		e = read_refcnt(&r2);
		if (!e && r2 < r1)
			break;
		hl_sleep_ms(20);
	} while (hl_now_ms() < end);
	if (e || r2 >= r1)
		r = ktap_fail("refcnt %" PRIu64 " with the buffer, %" PRIu64
			      " after closing it: reference not dropped", r1, r2);
out:
	if (l.dmabuf_fd >= 0)
		close(l.dmabuf_fd);
	loader_fd = open(HL_LOADER_PATH, O_RDWR | O_CLOEXEC);
	if (loader_fd < 0 && r == KTAP_PASS)
		r = ktap_fail("reopening %s: %s", HL_LOADER_PATH,
			      strerror(errno));
	return r;
}

/* All of @path into a new buffer *@buf, however short its reads come. */
static int slurp(const char *path, unsigned char **buf, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	unsigned char *p = malloc(cap), *q;
	int fd = open(path, O_RDONLY | O_CLOEXEC), e = 0;
	ssize_t got = 1;

	while (fd >= 0 && p && got > 0) {
		if (n == cap) {
			q = realloc(p, cap *= 2);
			if (!q)
				break;
			p = q;
		}
		got = read(fd, p + n, cap - n);
		if (got > 0)
			n += got;
		else if (got < 0)
			e = errno;
	}
	if (fd < 0 || !p || got > 0)
		e = fd < 0 ? errno : ENOMEM;
	if (fd >= 0)
		close(fd);
	if (e) {
		free(p);
		return e;
	}
	*buf = p;
	*len = n;
	return 0;
}

/*
 * A file whose reads come back short on purpose: sysfs gives at most a
 * page per read of a binary attribute such as an ACPI table. A buffered
 * load must read it on from where each read ended, byte for byte.
 */
/*
 * Binary sysfs files larger than a page, whose reads kernfs cuts at a page:
 * the ACPI DSDT on amd64 (and arm64 with ACPI), the flattened device tree
 * on a machine booted with one (arm64 "virt").
 */
static const char *const short_read_files[] = {
	"/sys/firmware/acpi/tables/DSDT",
	"/sys/firmware/fdt",
	NULL,
};

static int t_short_reads(const void *arg)
{
	const char *const *paths = arg, *path = paths[0];
	unsigned char *want = NULL, *map;
	struct heapload_load l;
	size_t len, i;
	int fd = -1, e, r;

	for (; *paths && fd < 0; paths++) {
		path = *paths;
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return ktap_skip("no binary sysfs file to read (%s, ...): %s",
				 short_read_files[0], strerror(errno));
	e = slurp(path, &want, &len);
	if (e) {
		close(fd);
		return ktap_fail("read %s: %s", path, hl_errname(e));
	}
	if (len <= (size_t)sysconf(_SC_PAGESIZE)) {
		r = ktap_skip("%s has %zu bytes: its reads cannot come back short",
			      path, len);
		goto out;
	}
	hl_load_init(&l, fd, HEAPLOAD_LOAD_BUFFERED, 0, 0);
	e = hl_ioctl(loader_fd, HEAPLOAD_IOC_LOAD, &l);
	if (e) {
		r = ktap_fail("buffered load of %s (%zu bytes): %s", path, len,
			      hl_errname(e));
		goto out;
	}
	r = KTAP_PASS;
	map = mmap(NULL, l.buf_size, PROT_READ, MAP_SHARED, l.dmabuf_fd, 0);
	if (l.loaded != len) {
		r = ktap_fail("loaded %llu of %zu bytes",
			      (unsigned long long)l.loaded, len);
	} else if (map == MAP_FAILED) {
		r = ktap_fail("mmap of dma-buf: %s", strerror(errno));
	} else if (memcmp(map, want, len)) {
		for (i = 0; map[i] == want[i]; i++)
			;
		r = ktap_fail("byte %zu of buffer is 0x%02x, %s has 0x%02x",
			      i, map[i], path, want[i]);
	}
	if (map != MAP_FAILED)
		munmap(map, l.buf_size);
	close(l.dmabuf_fd);
out:
	free(want);
	close(fd);
	return r;
}

/*
 * Answers every fanotify permission event of @fan with FAN_DENY. @events
 * counts the denials and is raised before the answer is written: the
 * answer wakes the denied reader, which may look at @events at once.
 */
struct denier {
	int fan;
	volatile int stop;
	int events;
	pthread_t thread;
};

static void *denier_main(void *arg)
{
	struct denier *d = arg;
	char buf[4096] __attribute__((aligned(8)));
	struct fanotify_event_metadata *m;
	struct fanotify_response resp;
	struct pollfd pfd = { .fd = d->fan, .events = POLLIN };
	ssize_t n;

	while (!d->stop) {
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = read(d->fan, buf, sizeof(buf));
		for (m = (void *)buf; n > 0 && FAN_EVENT_OK(m, n);
		     m = FAN_EVENT_NEXT(m, n)) {
			if (m->fd < 0)
				continue;
			resp.fd = m->fd;
			resp.response = FAN_DENY;
			__atomic_add_fetch(&d->events, 1, __ATOMIC_SEQ_CST);
			if (write(d->fan, &resp, sizeof(resp)) != sizeof(resp))
				__atomic_sub_fetch(&d->events, 1,
						   __ATOMIC_SEQ_CST);
			close(m->fd);
		}
	}
	return NULL;
}

struct fanotify_case {
	uint32_t flags;
	bool batches;	/* 1 MiB gather batches: reads from the work items */
};

#define BATCH_PARAM	HL_MODULE_DIR "/parameters/gather_batch_mb"

/*
 * A fanotify listener that denies read access to a file makes read(2)
 * fail with EPERM; a load of it, direct or buffered, in one batch (read
 * by the caller's thread) or in many (read by work items), must fail the
 * same way: heapload's reads go through the VFS checks like any other.
 */
static int t_fanotify_denied(const void *arg)
{
	const struct fanotify_case *fc = arg;
	struct denier d = { .fan = -1 };
	char path[512], c, batch[32] = "";
	struct heapload_load l;
	int fd = -1, r, e;
	ssize_t got;

	if (fc->batches) {
		e = hl_read_word(BATCH_PARAM, batch, sizeof(batch));
		if (!e)
			e = hl_write_str(BATCH_PARAM, "1");
		if (e)
			return ktap_fail("gather_batch_mb=1: %s", hl_errname(e));
	}

	hl_data_path(path, sizeof(path), "8m");
	d.fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY);
	if (d.fan < 0) {
		r = ktap_skip("fanotify_init(FAN_CLASS_CONTENT): %s",
			      strerror(errno));
		goto out;
	}
	if (fanotify_mark(d.fan, FAN_MARK_ADD, FAN_ACCESS_PERM, AT_FDCWD, path)) {
		r = ktap_skip("fanotify_mark(FAN_ACCESS_PERM) on %s: %s "
			      "(no CONFIG_FANOTIFY_ACCESS_PERMISSIONS?)",
			      path, strerror(errno));
		goto out;
	}
	/*
	 * Opened after the mark: newer kernels decide at open time whether
	 * a file can see permission events at all (FMODE_NONOTIFY_PERM).
	 */
	r = open_data("8m", O_RDONLY, path, sizeof(path), &fd);
	if (r)
		goto out;
	if (pthread_create(&d.thread, NULL, denier_main, &d)) {
		r = ktap_fail("pthread_create failed");
		goto out;
	}
	got = pread(fd, &c, 1, 0);
	if (got >= 0 || errno != EPERM) {
		r = ktap_fail("read(2) of %s was not denied: %s", path,
			      got >= 0 ? "it read" : strerror(errno));
	} else {
		int before = __atomic_load_n(&d.events, __ATOMIC_SEQ_CST);

		hl_load_init(&l, fd, fc->flags, 0, 0);
		e = hl_ioctl(loader_fd, HEAPLOAD_IOC_LOAD, &l);
		if (!e)
			close(l.dmabuf_fd);
		if (e != EPERM)
			r = ktap_fail("load of %s under a denying listener: %s, "
				      "expected EPERM", path, hl_errname(e));
		else if (__atomic_load_n(&d.events, __ATOMIC_SEQ_CST) == before)
			r = ktap_fail("EPERM, but the listener denied nothing");
	}
	d.stop = 1;
	pthread_join(d.thread, NULL);
out:
	if (d.fan >= 0)
		close(d.fan);
	if (fd >= 0)
		close(fd);
	if (batch[0] && hl_write_str(BATCH_PARAM, batch) && r == KTAP_PASS)
		r = ktap_fail("gather_batch_mb not restored to %s", batch);
	return r;
}

static const struct fanotify_case fan_direct = { HEAPLOAD_LOAD_DIRECT, false };
static const struct fanotify_case fan_buffered = { HEAPLOAD_LOAD_BUFFERED, false };
static const struct fanotify_case fan_direct_batches = { HEAPLOAD_LOAD_DIRECT, true };
static const struct fanotify_case fan_buffered_batches = { HEAPLOAD_LOAD_BUFFERED, true };

static int t_no_leak(const void *arg)
{
	(void)arg;
	return hl_check_no_leak("after every fd was closed");
}

static const struct hl_test extra_tests[] = {
	{ "load_rejects_bad_pointer_efault", t_efault, NULL },
	{ "load_newer_struct_nonzero_tail_e2big", t_newer_nonzero_e2big, NULL },
	{ "load_newer_struct_zero_tail_works", t_newer_zero_works, NULL },
	{ "load_older_struct_einval", t_older_einval, NULL },
	{ "load_unknown_ioctl_enotty", t_unknown_ioctl, NULL },
	{ "load_dmabuf_fd_honours_cloexec", t_cloexec, NULL },
	{ "load_dmabuf_fd_honours_accmode", t_accmode, NULL },
	{ "load_direct_bypasses_page_cache", t_direct_bypasses_cache, NULL },
	{ "load_buffered_uses_page_cache", t_buffered_uses_cache, NULL },
	{ "stats_count_live_buffer", t_stats_live_buffer, NULL },
	{ "load_buffer_pins_module", t_buffer_pins_module, NULL },
	{ "load_buffered_short_reads_sysfs_verified", t_short_reads,
	  short_read_files },
	{ "load_direct_denied_by_fanotify_eperm", t_fanotify_denied,
	  &fan_direct },
	{ "load_buffered_denied_by_fanotify_eperm", t_fanotify_denied,
	  &fan_buffered },
	{ "load_direct_batches_denied_by_fanotify_eperm", t_fanotify_denied,
	  &fan_direct_batches },
	{ "load_buffered_batches_denied_by_fanotify_eperm", t_fanotify_denied,
	  &fan_buffered_batches },
	/* Last: everything above must have released its buffers. */
	{ "no_leak_after_close", t_no_leak, NULL },
};

#define N_CASES		(sizeof(cases) / sizeof(cases[0]))
#define N_EXTRA		(sizeof(extra_tests) / sizeof(extra_tests[0]))

static int t_loader_present(void)
{
	int e, r;

	loader_fd = open(HL_LOADER_PATH, O_RDWR | O_CLOEXEC);
	if (loader_fd >= 0)
		return KTAP_PASS;
	e = errno;
	r = hl_precondition_module();
	if (r)
		return r;
	hl_precondition_skip("%s unusable", HL_LOADER_PATH);
	return ktap_fail("module loaded but open %s: %s", HL_LOADER_PATH,
			 strerror(e));
}

int main(void)
{
	size_t i;

	ktap_print_header();
	ktap_set_plan(1 + N_CASES + N_EXTRA);
	ktap_print_msg("test data in %s", hl_data_dir());
	ktap_report("loader_device_present", t_loader_present());
	for (i = 0; i < N_CASES; i++)
		hl_run(cases[i].name, run_case, &cases[i]);
	hl_run_table(extra_tests, N_EXTRA);
	if (loader_fd >= 0)
		close(loader_fd);
	ktap_finished();
}
