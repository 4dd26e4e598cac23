// SPDX-License-Identifier: GPL-2.0
/*
 * Version 2 of HEAPLOAD_IOC_LOAD (include/uapi/linux/heapload.h):
 *
 * - segments: three files sharded into one heapload,system buffer, direct
 *   and buffered, given out of buffer order; the same file twice;
 *   sub-ranges of one file; bytes checked through an mmap, gaps and tails
 *   zero, buf_size the end of the last segment in whole pages;
 * - the refused segment requests, each with its errno and error_segment,
 *   leaving the module's counters and the process's fds as they were;
 * - HEAPLOAD_LOAD_INTO: a heapload,system buffer from DMA_HEAP_IOCTL_ALLOC
 *   filled at offsets (the rest unchanged), a heapload,restricted one
 *   checked through the debugfs file inspect's CRC-32, the refused targets
 *   (a file, a memfd, another exporter's dma-buf, a read-only dma-buf fd,
 *   one too small, a heap name, a target another load is filling, one a
 *   device keeps mapped); a device's mapping of a target that a load
 *   fills refused, through the debugfs file importer_hold;
 * - HEAPLOAD_LOAD_ASYNC: poll, HEAPLOAD_IOC_LOAD_RESULT (EAGAIN with
 *   progress while running, the fd at the end, then EALREADY), several
 *   loads in flight, a load cancelled by closing its load fd;
 * - digests: SHA-256 and XXH64 against this program's own, verified loads,
 *   EBADMSG with the digest still returned and nothing installed, a
 *   verified load into the restricted heap;
 * - NUMA placement, with two memory nodes (tests/qemu/run.sh boots two):
 *   placed_node and the inspect file's "nodes:" line; refused nodes;
 * - version 0 and version 1 structs still served.
 *
 * Changes gather_batch_mb, max_inflight_batches and io_size_kb (to make
 * a 256 MiB load last) and puts them back after each test. Needs root,
 * debugfs, and the files of $HL_DATA (default /data): one,
 * page_minus_one, 8m, 256m, unaligned, on a filesystem with O_DIRECT.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <sys/syscall.h>

#include "hl_test.h"
#include "hl_inspect.h"
#include "hl_knobs.h"

typedef unsigned long long ull;

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))
#define D		HEAPLOAD_LOAD_DIRECT
#define B		HEAPLOAD_LOAD_BUFFERED
#define MAX_SEGS	8
/* error_segment before the call: the kernel must overwrite it. */
#define SEG_SENTINEL	0x5a5a
/* How long an asynchronous load may take under emulation. */
#define ASYNC_TIMEOUT_MS	300000
#define IDLE_MS		10000
#define NODE_SYS	"/sys/devices/system/node"

static int loader_fd = -1;
static int system_heap_fd = -1;

/* ---- knobs ---- */

enum knob_id { K_BATCH, K_INFLIGHT, K_IO, K_THREADS, K_NR };

static struct hl_knob knob_table[K_NR] = {
	[K_BATCH] = { .name = "gather_batch_mb",
		      .path = HL_PARAM_DIR "gather_batch_mb" },
	[K_INFLIGHT] = { .name = "max_inflight_batches",
			 .path = HL_PARAM_DIR "max_inflight_batches" },
	[K_IO] = { .name = "io_size_kb", .path = HL_PARAM_DIR "io_size_kb" },
	[K_THREADS] = { .name = "alloc_threads",
			.path = HL_PARAM_DIR "alloc_threads" },
};

static struct hl_knobs knobs = { knob_table, K_NR, true };

/* 1 MiB batches, @inflight of them at a time, and knob @id at @v. */
static int knobs_small_batches(unsigned int inflight, enum knob_id id,
			       unsigned int v)
{
	int r = hl_knob_set(&knobs, K_BATCH, 1);

	if (!r)
		r = hl_knob_set(&knobs, K_INFLIGHT, inflight);
	if (!r)
		r = hl_knob_set(&knobs, id, v);
	return r;
}

/* Small batches, one at a time, small reads: a 256 MiB load takes a while. */
static int knobs_slow(void)
{
	return knobs_small_batches(1, K_IO, 64);
}

/* ---- SHA-256 (FIPS 180-4) ---- */

struct sha256 {
	uint32_t h[8];
	uint64_t len;
	unsigned char buf[64];
	size_t n;
};

static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t ror32(uint32_t x, unsigned int n)
{
	return (x >> n) | (x << (32 - n));
}

static void sha256_block(struct sha256 *s, const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, h, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (; i < 64; i++)
		w[i] = w[i - 16] + w[i - 7] +
		       (ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3)) +
		       (ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10));
	a = s->h[0]; b = s->h[1]; c = s->h[2]; d = s->h[3];
	e = s->h[4]; f = s->h[5]; g = s->h[6]; h = s->h[7];
	for (i = 0; i < 64; i++) {
		t1 = h + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) +
		     ((e & f) ^ (~e & g)) + sha256_k[i] + w[i];
		t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) +
		     ((a & b) ^ (a & c) ^ (b & c));
		h = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d;
	s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}

static void sha256_init(struct sha256 *s)
{
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(s->h, iv, sizeof(iv));
	s->len = 0;
	s->n = 0;
}

static void sha256_update(struct sha256 *s, const unsigned char *p, size_t len)
{
	size_t k;

	s->len += len;
	while (len) {
		k = 64 - s->n < len ? 64 - s->n : len;
		memcpy(s->buf + s->n, p, k);
		s->n += k;
		p += k;
		len -= k;
		if (s->n == 64) {
			sha256_block(s, s->buf);
			s->n = 0;
		}
	}
}

static void sha256_final(struct sha256 *s, unsigned char out[32])
{
	uint64_t bits = s->len * 8;
	unsigned char pad = 0x80, zero = 0, lenb[8];
	int i;

	sha256_update(s, &pad, 1);
	while (s->n != 56)
		sha256_update(s, &zero, 1);
	for (i = 0; i < 8; i++)
		lenb[i] = (unsigned char)(bits >> (56 - 8 * i));
	sha256_update(s, lenb, 8);
	for (i = 0; i < 32; i++)
		out[i] = (unsigned char)(s->h[i / 4] >> (24 - 8 * (i % 4)));
}

/* ---- XXH64 (the reference algorithm), seed 0 ---- */

#define XXH_P1	0x9E3779B185EBCA87ULL
#define XXH_P2	0xC2B2AE3D27D4EB4FULL
#define XXH_P3	0x165667B19E3779F9ULL
#define XXH_P4	0x85EBCA77C2B2AE63ULL
#define XXH_P5	0x27D4EB2F165667C5ULL

static inline uint64_t rol64(uint64_t x, unsigned int n)
{
	return (x << n) | (x >> (64 - n));
}

static inline uint64_t le64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static inline uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t xxh64_round(uint64_t acc, uint64_t in)
{
	acc += in * XXH_P2;
	acc = rol64(acc, 31);
	return acc * XXH_P1;
}

static inline uint64_t xxh64_merge(uint64_t acc, uint64_t val)
{
	acc ^= xxh64_round(0, val);
	return acc * XXH_P1 + XXH_P4;
}

static uint64_t xxh64(const unsigned char *p, size_t len, uint64_t seed)
{
	const unsigned char *end = p + len;
	uint64_t h, v1, v2, v3, v4;

	if (len >= 32) {
		v1 = seed + XXH_P1 + XXH_P2;
		v2 = seed + XXH_P2;
		v3 = seed;
		v4 = seed - XXH_P1;
		do {
			v1 = xxh64_round(v1, le64(p));
			v2 = xxh64_round(v2, le64(p + 8));
			v3 = xxh64_round(v3, le64(p + 16));
			v4 = xxh64_round(v4, le64(p + 24));
			p += 32;
		} while (p + 32 <= end);
		h = rol64(v1, 1) + rol64(v2, 7) + rol64(v3, 12) + rol64(v4, 18);
		h = xxh64_merge(h, v1);
		h = xxh64_merge(h, v2);
		h = xxh64_merge(h, v3);
		h = xxh64_merge(h, v4);
	} else {
		h = seed + XXH_P5;
	}
	h += len;
	while (p + 8 <= end) {
		h ^= xxh64_round(0, le64(p));
		h = rol64(h, 27) * XXH_P1 + XXH_P4;
		p += 8;
	}
	if (p + 4 <= end) {
		h ^= (uint64_t)le32(p) * XXH_P1;
		h = rol64(h, 23) * XXH_P2 + XXH_P3;
		p += 4;
	}
	while (p < end) {
		h ^= *p * XXH_P5;
		h = rol64(h, 11) * XXH_P1;
		p++;
	}
	h ^= h >> 33;
	h *= XXH_P2;
	h ^= h >> 29;
	h *= XXH_P3;
	h ^= h >> 32;
	return h;
}

/* The digest field for @alg over @p: SHA-256, or XXH64 big-endian then 0s. */
static void digest_of(uint32_t alg, const unsigned char *p, size_t len,
		      unsigned char out[HEAPLOAD_DIGEST_SIZE])
{
	struct sha256 s;
	uint64_t x;
	int i;

	memset(out, 0, HEAPLOAD_DIGEST_SIZE);
	if (alg == HEAPLOAD_DIGEST_SHA256) {
		sha256_init(&s);
		sha256_update(&s, p, len);
		sha256_final(&s, out);
	} else if (alg == HEAPLOAD_DIGEST_XXH64) {
		x = xxh64(p, len, 0);
		for (i = 0; i < 8; i++)
			out[i] = (unsigned char)(x >> (56 - 8 * i));
	}
}

static void hex(const unsigned char *p, size_t len, char *out)
{
	size_t i;

	for (i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * len] = '\0';
}

/* ---- segments of a load ---- */

/**
 * struct seg_spec - a segment as a test writes it
 * @file:	name under $HL_DATA
 * @off:	file offset
 * @len:	bytes, 0 to the end of the file
 * @buf:	buffer offset
 */
struct seg_spec {
	const char *file;
	uint64_t off;
	uint64_t len;
	uint64_t buf;
};

/**
 * struct plan - the segments of one load, their files opened
 * @n:		segments
 * @seg:	what goes to the kernel, in the test's order
 * @len:	resolved length of each
 * @path:	each one's file
 * @fd:		files to close (one per distinct name, shared by segments
 *		of the same file)
 * @nfd:	entries of @fd
 * @end:	end of the last segment in the buffer
 * @total:	sum of @len
 */
struct plan {
	unsigned int n;
	struct heapload_segment seg[MAX_SEGS];
	uint64_t len[MAX_SEGS];
	char path[MAX_SEGS][256];
	int fd[MAX_SEGS];
	unsigned int nfd;
	uint64_t end;
	uint64_t total;
};

static void plan_close(struct plan *p)
{
	unsigned int i;

	for (i = 0; i < p->nfd; i++)
		if (p->fd[i] >= 0)
			close(p->fd[i]);
	p->nfd = 0;
}

/* Open the files of @n specs (each name once); a ktap result. */
static int plan_open(struct plan *p, const struct seg_spec *s, unsigned int n)
{
	unsigned int i, j;
	struct stat st;
	int fd;

	memset(p, 0, sizeof(*p));
	p->n = n;
	for (i = 0; i < n; i++) {
		hl_data_path(p->path[i], sizeof(p->path[i]), s[i].file);
		fd = -1;
		for (j = 0; j < i; j++)
			if (!strcmp(s[j].file, s[i].file))
				fd = p->seg[j].file_fd;
		if (fd < 0) {
			fd = open(p->path[i], O_RDONLY | O_CLOEXEC);
			if (fd < 0) {
				int e = errno;

				plan_close(p);
				if (e == ENOENT)
					return ktap_skip("test data %s missing",
							 p->path[i]);
				return ktap_fail("open %s: %s", p->path[i],
						 strerror(e));
			}
			p->fd[p->nfd++] = fd;
		}
		if (fstat(fd, &st)) {
			plan_close(p);
			return ktap_fail("stat %s: %s", p->path[i],
					 strerror(errno));
		}
		p->seg[i].file_fd = fd;
		p->seg[i].file_offset = s[i].off;
		p->seg[i].length = s[i].len;
		p->seg[i].buf_offset = s[i].buf;
		p->len[i] = s[i].len ? s[i].len : (uint64_t)st.st_size - s[i].off;
		p->total += p->len[i];
		if (s[i].buf + p->len[i] > p->end)
			p->end = s[i].buf + p->len[i];
	}
	return KTAP_PASS;
}

/* A version 2 request of @p's segments into heapload,system. */
static void req_init(struct heapload_load *l, const struct plan *p,
		     uint32_t flags)
{
	memset(l, 0, sizeof(*l));
	l->size = sizeof(*l);
	l->flags = flags;
	l->fd_flags = O_RDWR | O_CLOEXEC;
	snprintf(l->heap, sizeof(l->heap), "%s", HL_HEAP_NAME);
	l->segments = (uintptr_t)p->seg;
	l->nr_segments = p->n;
	l->segment_size = sizeof(p->seg[0]);
	l->error_segment = SEG_SENTINEL;
	l->dmabuf_fd = -1;
	l->load_fd = -1;
}

/* A request for a load into the dma-buf @target. */
static void req_into(struct heapload_load *l, const struct plan *p,
		     uint32_t flags, int target)
{
	req_init(l, p, flags | HEAPLOAD_LOAD_INTO);
	memset(l->heap, 0, sizeof(l->heap));
	l->fd_flags = 0;
	l->target_fd = target;
}

/* The ranges of @p concatenated in the order of its array, malloc'ed. */
static int plan_concat(const struct plan *p, unsigned char **out)
{
	unsigned char *buf = malloc(p->total ? p->total : 1);
	uint64_t pos = 0;
	unsigned int i;
	ssize_t got;

	if (!buf)
		return ktap_fail("no memory for %llu bytes", (ull)p->total);
	for (i = 0; i < p->n; i++) {
		got = pread(p->seg[i].file_fd, buf + pos, p->len[i],
			    p->seg[i].file_offset);
		if (got != (ssize_t)p->len[i]) {
			free(buf);
			return ktap_fail("short read of %s", p->path[i]);
		}
		pos += p->len[i];
	}
	*out = buf;
	return KTAP_PASS;
}

/* What @p puts into a buffer of @size bytes whose other bytes are @fill. */
static int plan_image(const struct plan *p, uint64_t size, int fill,
		      unsigned char **out)
{
	unsigned char *img = malloc(size);
	unsigned int i;
	ssize_t got;

	if (!img)
		return ktap_fail("no memory for %llu bytes", (ull)size);
	memset(img, fill, size);
	for (i = 0; i < p->n; i++) {
		if (p->seg[i].buf_offset + p->len[i] > size) {
			free(img);
			return ktap_fail("segment %u ends past %llu bytes (test bug)",
					 i, (ull)size);
		}
		got = pread(p->seg[i].file_fd, img + p->seg[i].buf_offset,
			    p->len[i], p->seg[i].file_offset);
		if (got != (ssize_t)p->len[i]) {
			free(img);
			return ktap_fail("short read of %s", p->path[i]);
		}
	}
	*out = img;
	return KTAP_PASS;
}

/* Where @map and @want first differ, as a failure; @what names @map. */
static int compare(const unsigned char *map, const unsigned char *want,
		   uint64_t len, const char *what)
{
	uint64_t i;

	if (!memcmp(map, want, len))
		return KTAP_PASS;
	for (i = 0; map[i] == want[i]; i++)
		;
	return ktap_fail("byte %llu of %s is 0x%02x, expected 0x%02x",
			 (ull)i, what, map[i], want[i]);
}

/*
 * The buffer @dfd of @size bytes holds @p's ranges and @fill elsewhere,
 * read through @map (mapped here if NULL) between SYNC_START and SYNC_END.
 */
static int check_content(int dfd, unsigned char *map, uint64_t size,
			 const struct plan *p, int fill)
{
	unsigned char *img = NULL, *m = map;
	int r, e;

	r = plan_image(p, size, fill, &img);
	if (r)
		return r;
	if (!m) {
		m = mmap(NULL, size, PROT_READ, MAP_SHARED, dfd, 0);
		if (m == MAP_FAILED) {
			free(img);
			return ktap_fail("mmap of the dma-buf: %s",
					 strerror(errno));
		}
	}
	e = hl_sync(dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	if (e)
		r = ktap_fail("SYNC_START: %s", hl_errname(e));
	else
		r = compare(m, img, size, "the buffer");
	e = hl_sync(dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	if (e && !r)
		r = ktap_fail("SYNC_END: %s", hl_errname(e));
	if (!map)
		munmap(m, size);
	free(img);
	return r;
}

/* ---- what a test must leave as it found it ---- */

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

struct baseline {
	uint64_t bytes, bufs;
	int fds;
};

static int baseline_take(struct baseline *b)
{
	int e = hl_stats(&b->bytes, &b->bufs);

	if (e)
		return ktap_fail("reading %s: %s", HL_STATS_DIR, hl_errname(e));
	b->fds = count_fds();
	return KTAP_PASS;
}

/* The counters back to @b, the process's fds as many as then. */
static int baseline_back(const struct baseline *b, const char *when)
{
	uint64_t bytes, bufs;
	int fds;

	if (hl_wait_stats(b->bytes, b->bufs, IDLE_MS, &bytes, &bufs))
		return ktap_fail("%s: allocated_bytes %llu buffers %llu, expected %llu and %llu",
				 when, (ull)bytes, (ull)bufs, (ull)b->bytes,
				 (ull)b->bufs);
	fds = count_fds();
	if (fds != b->fds)
		return ktap_fail("%s: the process has %d fds, had %d", when,
				 fds, b->fds);
	return KTAP_PASS;
}

/* ---- the inspect file's "nodes:" line ---- */

#define MAX_NODES	64

/*
 * The bytes of dma-buf @dfd on each node into @bytes, from inspect's
 * "nodes:" line; *@have is false without one. A ktap result.
 */
static int inspect_nodes(int dfd, uint64_t bytes[MAX_NODES], bool *have,
			 uint64_t *size)
{
	char *text = NULL, *line, *save = NULL, *tok, *save2;
	int ifd, e, r, nid;
	ull n;

	memset(bytes, 0, MAX_NODES * sizeof(bytes[0]));
	*have = false;
	*size = 0;
	ifd = open(HL_INSPECT, O_RDWR | O_CLOEXEC);
	if (ifd < 0)
		return ktap_fail("open %s: %s", HL_INSPECT, strerror(errno));
	e = hl_inspect_select(ifd, dfd);
	if (e) {
		close(ifd);
		return ktap_fail("writing fd %d to %s: %s", dfd, HL_INSPECT,
				 hl_errname(e));
	}
	r = hl_inspect_text(ifd, &text);
	close(ifd);
	if (r)
		return r;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "size:", 5)) {
			if (sscanf(line + 5, "%llu", &n) == 1)
				*size = n;
			continue;
		}
		if (strncmp(line, "nodes:", 6))
			continue;
		*have = true;
		save2 = NULL;
		for (tok = strtok_r(line + 6, " \t", &save2); tok;
		     tok = strtok_r(NULL, " \t", &save2)) {
			if (sscanf(tok, "%d:%llu", &nid, &n) != 2 || nid < 0 ||
			    nid >= MAX_NODES) {
				r = ktap_fail("%s: unreadable \"nodes:\" entry \"%s\"",
					      HL_INSPECT, tok);
				break;
			}
			bytes[nid] += n;
		}
	}
	free(text);
	return r;
}

/* ---- NUMA nodes of the guest ---- */

/* Parse a node list ("0-1,3") of @path into @set; the number of nodes, or -1. */
static int node_list(const char *path, bool set[MAX_NODES])
{
	char buf[256], *tok, *save = NULL;
	int a, b, n = 0;

	memset(set, 0, MAX_NODES * sizeof(set[0]));
	if (hl_read_word(path, buf, sizeof(buf)))
		return -1;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (sscanf(tok, "%d-%d", &a, &b) == 2) {
		} else if (sscanf(tok, "%d", &a) == 1) {
			b = a;
		} else {
			return -1;
		}
		for (; a <= b && a < MAX_NODES; a++)
			if (a >= 0 && !set[a]) {
				set[a] = true;
				n++;
			}
	}
	return n;
}

static bool mem_node[MAX_NODES];
static int mem_nodes = -1;

static int numa_need(int nodes)
{
	if (mem_nodes < 0)
		mem_nodes = node_list(NODE_SYS "/has_memory", mem_node);
	if (mem_nodes < 0)
		return ktap_skip("no %s/has_memory (kernel without NUMA)",
				 NODE_SYS);
	if (mem_nodes < nodes)
		return ktap_skip("the guest has %d memory node%s, the test needs %d",
				 mem_nodes, mem_nodes == 1 ? "" : "s", nodes);
	return KTAP_PASS;
}

/* ---- dma-bufs ---- */

static int alloc_system(uint64_t len, uint32_t fd_flags, int *dfd)
{
	int e = hl_heap_alloc(system_heap_fd, len, fd_flags, 0, dfd);

	if (e)
		return ktap_fail("DMA_HEAP_IOCTL_ALLOC of %llu bytes from %s: %s",
				 (ull)len, HL_HEAP_PATH, hl_errname(e));
	return KTAP_PASS;
}

/* A heapload,system buffer of @len bytes, mapped, every byte @fill. */
static int alloc_filled(uint64_t len, int fill, int *dfd, unsigned char **map)
{
	int r = alloc_system(len, O_RDWR | O_CLOEXEC, dfd), e;

	if (r)
		return r;
	*map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, *dfd, 0);
	if (*map == MAP_FAILED) {
		r = ktap_fail("mmap of a %s buffer: %s", HL_HEAP_NAME,
			      strerror(errno));
		close(*dfd);
		return r;
	}
	e = hl_sync(*dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
	memset(*map, fill, len);
	e = e ? e : hl_sync(*dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
	if (e) {
		munmap(*map, len);
		close(*dfd);
		return ktap_fail("SYNC around filling: %s", hl_errname(e));
	}
	return KTAP_PASS;
}

/* ---- the ioctls ---- */

static int load(struct heapload_load *l)
{
	return hl_ioctl(loader_fd, HEAPLOAD_IOC_LOAD, l);
}

static int load_result(int load_fd, struct heapload_load *out)
{
	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	out->dmabuf_fd = -1;
	return hl_ioctl(load_fd, HEAPLOAD_IOC_LOAD_RESULT, out);
}

/* Wait for EPOLLIN on @load_fd; a ktap result. */
static int wait_load(int load_fd, unsigned int timeout_ms)
{
	struct pollfd p = { .fd = load_fd, .events = POLLIN };
	int n = poll(&p, 1, (int)timeout_ms);

	if (n < 0)
		return ktap_fail("poll of the load fd: %s", strerror(errno));
	if (!n)
		return ktap_fail("the load did not end within %u ms", timeout_ms);
	if (!(p.revents & POLLIN))
		return ktap_fail("poll of the load fd: revents 0x%x", p.revents);
	return KTAP_PASS;
}

/* The new buffer of a finished load: fd, sizes and content of @p. */
static int check_new_buffer(const struct heapload_load *l, const struct plan *p)
{
	off_t end;

	if (l->dmabuf_fd < 0)
		return ktap_fail("no dma-buf fd returned");
	if (l->loaded != p->total)
		return ktap_fail("loaded %llu, expected %llu", (ull)l->loaded,
				 (ull)p->total);
	if (l->buf_size != hl_page_up(p->end))
		return ktap_fail("buf_size %llu, expected %llu (the end of the last segment, %llu, in pages)",
				 (ull)l->buf_size, (ull)hl_page_up(p->end),
				 (ull)p->end);
	end = lseek(l->dmabuf_fd, 0, SEEK_END);
	if (end != (off_t)l->buf_size)
		return ktap_fail("dma-buf is %lld bytes, buf_size %llu",
				 (long long)end, (ull)l->buf_size);
	if (l->error_segment != -1)
		return ktap_fail("error_segment %d after a successful load, expected -1",
				 l->error_segment);
	return check_content(l->dmabuf_fd, NULL, l->buf_size, p, 0);
}

/* ---- segments into new buffers ---- */

struct seg_case {
	uint32_t flags;
	unsigned int n;
	struct seg_spec s[MAX_SEGS];
};

/* Pages are multiples of every direct-I/O alignment the rig has. */
#define P(n)	((n) * 4096ULL)

static int t_segments(const void *arg)
{
	const struct seg_case *c = arg;
	struct heapload_load l;
	struct baseline b;
	struct plan p;
	int r, e;

	r = baseline_take(&b);
	if (r)
		return r;
	r = plan_open(&p, c->s, c->n);
	if (r)
		return r;
	req_init(&l, &p, c->flags);
	e = load(&l);
	if (e) {
		r = ktap_fail("load of %u segments: %s (error_segment %d)",
			      p.n, hl_errname(e), l.error_segment);
	} else {
		r = check_new_buffer(&l, &p);
		if (!r && l.load_fd != -1)
			r = ktap_fail("load_fd %d without HEAPLOAD_LOAD_ASYNC, expected -1",
				      l.load_fd);
		close(l.dmabuf_fd);
	}
	plan_close(&p);
	return r ? r : baseline_back(&b, "after closing the buffer");
}

/*
 * Three files, given last-first: "unaligned" (8 MiB + 12345) at 256 KiB,
 * "one" (1 byte) at 128 KiB, "page_minus_one" (at most 64 KiB - 1) at 0;
 * gaps between them and a partial last page.
 */
#define SHARDS(fl) { fl, 3, { \
	{ "unaligned", 0, 0, P(64) }, \
	{ "one", 0, 0, P(32) }, \
	{ "page_minus_one", 0, 0, 0 } } }
static const struct seg_case shards_direct = SHARDS(D);
static const struct seg_case shards_buffered = SHARDS(B);

/* The same file twice, the second copy first in the buffer. */
#define TWICE(fl) { fl, 2, { \
	{ "unaligned", 0, 0, 9 * HL_MIB }, \
	{ "unaligned", 0, 0, 0 } } }
static const struct seg_case twice_direct = TWICE(D);
static const struct seg_case twice_buffered = TWICE(B);

/* Selected ranges of one file, as tensors of a model would be. */
static const struct seg_case ranges_direct = { D, 4, {
	{ "8m", HL_MIB, 100000, P(64) },
	{ "8m", 0, P(1), 0 },
	{ "8m", 7 * HL_MIB, 0, P(400) },
	{ "8m", 3 * HL_MIB + 512, 513, P(300) } } };
static const struct seg_case ranges_buffered = { B, 4, {
	{ "8m", HL_MIB, 100000, 4097 },
	{ "8m", 12345, 777, 3 },
	{ "8m", 7 * HL_MIB, 0, 200000 },
	{ "8m", 5, 1, 104097 } } };

/* ---- refused requests ---- */

/**
 * struct bad_case - a request the kernel must refuse
 * @flags:	load flags
 * @n:		segments
 * @s:		the segments
 * @mutate:	changes to the request, before the call (may be NULL)
 * @expect:	errno
 * @seg:	expected error_segment
 * @seg_alt:	another acceptable error_segment (overlaps name either), or
 *		@seg again
 */
struct bad_case {
	uint32_t flags;
	unsigned int n;
	struct seg_spec s[MAX_SEGS];
	void (*mutate)(struct heapload_load *l, struct plan *p, int spare_fd);
	int expect;
	int seg;
	int seg_alt;
};

static void m_segment_size_16(struct heapload_load *l, struct plan *p, int fd)
{
	(void)p; (void)fd;
	l->segment_size = 16;
}

static void m_seg1_flags(struct heapload_load *l, struct plan *p, int fd)
{
	(void)l; (void)fd;
	p->seg[1].flags = 1;
}

static void m_file_fd(struct heapload_load *l, struct plan *p, int fd)
{
	(void)p;
	l->file_fd = fd;
}

static void m_offset(struct heapload_load *l, struct plan *p, int fd)
{
	(void)p; (void)fd;
	l->offset = 4096;
}

static void m_length(struct heapload_load *l, struct plan *p, int fd)
{
	(void)p; (void)fd;
	l->length = 4096;
}

static void m_seg2_closed(struct heapload_load *l, struct plan *p, int fd)
{
	(void)l;
	/* @fd was closed by the caller: a free number. */
	p->seg[2].file_fd = fd;
}

static void m_segments_no_count(struct heapload_load *l, struct plan *p, int fd)
{
	(void)p; (void)fd;
	l->nr_segments = 0;
	l->segment_size = 0;
}

static void m_async_progress(struct heapload_load *l, struct plan *p, int fd)
{
	static uint64_t progress;

	(void)p; (void)fd;
	l->flags |= HEAPLOAD_LOAD_ASYNC;
	l->progress_addr = (uintptr_t)&progress;
}

static void m_verify_no_alg(struct heapload_load *l, struct plan *p, int fd)
{
	(void)p; (void)fd;
	l->flags |= HEAPLOAD_LOAD_VERIFY;
	l->expected_digest[0] = 1;
}

static void m_unknown_alg(struct heapload_load *l, struct plan *p, int fd)
{
	(void)p; (void)fd;
	l->digest_alg = 3;
}

static void m_expected_no_verify(struct heapload_load *l, struct plan *p, int fd)
{
	(void)p; (void)fd;
	l->digest_alg = HEAPLOAD_DIGEST_SHA256;
	l->expected_digest[5] = 1;
}

static void m_xxh64_tail(struct heapload_load *l, struct plan *p, int fd)
{
	(void)p; (void)fd;
	l->digest_alg = HEAPLOAD_DIGEST_XXH64;
	l->flags |= HEAPLOAD_LOAD_VERIFY;
	l->expected_digest[8] = 1;
}

static void m_target_no_into(struct heapload_load *l, struct plan *p, int fd)
{
	(void)p;
	l->target_fd = fd;
}

static void m_node_no_flag(struct heapload_load *l, struct plan *p, int fd)
{
	(void)p; (void)fd;
	l->numa_node = 1;
}

#define SEG(f, o, n, b)	{ f, o, n, b }
#define THREE_8M	3, { SEG("8m", 0, P(1), 0), SEG("8m", P(1), P(1), P(2)), \
			     SEG("one", 0, 0, P(4)) }

static const struct bad_case bad_overlap = { B, 2, {
	SEG("8m", 0, P(2), 0), SEG("8m", P(4), P(1), P(1)) },
	NULL, EINVAL, 0, 1 };
static const struct bad_case bad_segment_size = { B, THREE_8M,
	m_segment_size_16, EINVAL, -1, -1 };
static const struct bad_case bad_seg_flags = { B, THREE_8M,
	m_seg1_flags, EINVAL, 1, 1 };
static const struct bad_case bad_file_fd = { B, THREE_8M,
	m_file_fd, EINVAL, -1, -1 };
static const struct bad_case bad_offset = { B, THREE_8M,
	m_offset, EINVAL, -1, -1 };
static const struct bad_case bad_length = { B, THREE_8M,
	m_length, EINVAL, -1, -1 };
static const struct bad_case bad_misaligned_buf = { D, 3, {
	SEG("8m", 0, P(1), 0), SEG("8m", 0, P(1), P(2) + 100),
	SEG("one", 0, 0, P(4)) },
	NULL, EINVAL, 1, 1 };
static const struct bad_case bad_closed_fd = { B, THREE_8M,
	m_seg2_closed, EBADF, 2, 2 };
static const struct bad_case bad_file_short = { B, 3, {
	SEG("8m", 0, P(1), 0), SEG("one", 0, P(1), P(2)),
	SEG("8m", 0, P(1), P(4)) },
	NULL, EINVAL, 1, 1 };
static const struct bad_case bad_file_short_direct = { D, 3, {
	SEG("8m", 0, P(1), 0), SEG("8m", 0, P(1), P(2)),
	SEG("one", 0, 512, P(4)) },
	NULL, EINVAL, 2, 2 };
static const struct bad_case bad_no_count = { B, THREE_8M,
	m_segments_no_count, EINVAL, -1, -1 };
static const struct bad_case bad_async_progress = { B, THREE_8M,
	m_async_progress, EINVAL, -1, -1 };
static const struct bad_case bad_verify_no_alg = { B, THREE_8M,
	m_verify_no_alg, EINVAL, -1, -1 };
static const struct bad_case bad_unknown_alg = { B, THREE_8M,
	m_unknown_alg, EINVAL, -1, -1 };
static const struct bad_case bad_expected_no_verify = { B, THREE_8M,
	m_expected_no_verify, EINVAL, -1, -1 };
static const struct bad_case bad_xxh64_tail = { B, THREE_8M,
	m_xxh64_tail, EINVAL, -1, -1 };
static const struct bad_case bad_target_no_into = { B, THREE_8M,
	m_target_no_into, EINVAL, -1, -1 };
static const struct bad_case bad_node_no_flag = { B, THREE_8M,
	m_node_no_flag, EINVAL, -1, -1 };

/*
 * One refused request: its errno, its error_segment, and nothing left
 * behind (counters, fds).
 */
static int t_bad(const void *arg)
{
	const struct bad_case *c = arg;
	struct heapload_load l;
	struct baseline b;
	struct plan p;
	int r, e, spare;

	r = plan_open(&p, c->s, c->n);
	if (r)
		return r;
	/* An open fd, or a just closed one, for the mutations. */
	spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (spare < 0) {
		plan_close(&p);
		return ktap_fail("open /dev/null: %s", strerror(errno));
	}
	if (c->mutate == m_seg2_closed) {
		close(spare);
	}
	r = baseline_take(&b);
	if (r)
		goto out;
	req_init(&l, &p, c->flags);
	if (c->mutate)
		c->mutate(&l, &p, spare);
	e = load(&l);
	if (!e) {
		if (l.dmabuf_fd >= 0)
			close(l.dmabuf_fd);
		if (l.load_fd >= 0)
			close(l.load_fd);
	}
	if (e != c->expect) {
		r = ktap_fail("load: %s, expected %s (error_segment %d)",
			      hl_errname(e), hl_errname(c->expect),
			      l.error_segment);
		goto out;
	}
	if (l.error_segment != c->seg && l.error_segment != c->seg_alt) {
		if (c->seg != c->seg_alt)
			r = ktap_fail("%s with error_segment %d, expected %d or %d",
				      hl_errname(e), l.error_segment, c->seg,
				      c->seg_alt);
		else
			r = ktap_fail("%s with error_segment %d%s, expected %d",
				      hl_errname(e), l.error_segment,
				      l.error_segment == SEG_SENTINEL ?
				      " (not written back)" : "", c->seg);
		goto out;
	}
	r = baseline_back(&b, "after the refused load");
out:
	if (c->mutate != m_seg2_closed)
		close(spare);
	plan_close(&p);
	return r;
}

/* More than HEAPLOAD_MAX_SEGMENTS segments, each of them valid: E2BIG. */
static int t_too_many(const void *arg)
{
	const uint32_t n = HEAPLOAD_MAX_SEGMENTS + 1;
	struct heapload_segment *seg;
	struct heapload_load l;
	static const struct seg_spec one = { "8m", 0, 0, 0 };
	struct baseline b;
	struct plan p;
	uint32_t i;
	int r, e;

	(void)arg;
	r = plan_open(&p, &one, 1);
	if (r)
		return r;
	seg = calloc(n, sizeof(*seg));
	if (!seg) {
		plan_close(&p);
		return ktap_fail("no memory for %u segments", n);
	}
	for (i = 0; i < n; i++) {
		seg[i].file_fd = p.seg[0].file_fd;
		seg[i].length = 512;
		seg[i].buf_offset = (uint64_t)i * 512;
	}
	r = baseline_take(&b);
	if (!r) {
		req_init(&l, &p, B);
		l.segments = (uintptr_t)seg;
		l.nr_segments = n;
		e = load(&l);
		if (!e)
			close(l.dmabuf_fd);
		if (e != E2BIG)
			r = ktap_fail("%u segments: %s, expected E2BIG", n,
				      hl_errname(e));
		else if (l.error_segment != -1)
			r = ktap_fail("E2BIG for %u segments with error_segment %d%s, expected -1",
				      n, l.error_segment,
				      l.error_segment == SEG_SENTINEL ?
				      " (not written back)" : "");
		else
			r = baseline_back(&b, "after the refused load");
	}
	/* Exactly the most: accepted. */
	if (!r) {
		req_init(&l, &p, B);
		l.segments = (uintptr_t)seg;
		l.nr_segments = n - 1;
		e = load(&l);
		if (e)
			r = ktap_fail("%u segments (HEAPLOAD_MAX_SEGMENTS): %s",
				      n - 1, hl_errname(e));
		else if (l.loaded != (uint64_t)(n - 1) * 512)
			r = ktap_fail("%u segments of 512 bytes: loaded %llu",
				      n - 1, (ull)l.loaded);
		if (!e)
			close(l.dmabuf_fd);
	}
	free(seg);
	plan_close(&p);
	return r;
}

/*
 * A caller's larger segment struct: zero unknown bytes are accepted,
 * non-zero ones are E2BIG naming that segment.
 */
static int t_segment_size_larger(const void *arg)
{
	struct big_seg {
		struct heapload_segment s;
		uint64_t extra;
	} seg[2];
	static const struct seg_spec specs[] = {
		{ "8m", 0, P(1), 0 }, { "one", 0, 0, P(2) },
	};
	struct heapload_load l;
	struct baseline b;
	struct plan p;
	int r, e, i;

	(void)arg;
	r = plan_open(&p, specs, 2);
	if (r)
		return r;
	for (i = 0; i < 2; i++) {
		seg[i].s = p.seg[i];
		seg[i].extra = 0;
	}
	req_init(&l, &p, B);
	l.segments = (uintptr_t)seg;
	l.segment_size = sizeof(seg[0]);
	e = load(&l);
	if (e) {
		r = ktap_fail("%zu-byte segments with zero tails: %s",
			      sizeof(seg[0]), hl_errname(e));
		goto out;
	}
	r = check_new_buffer(&l, &p);
	close(l.dmabuf_fd);
	if (r)
		goto out;
	r = baseline_take(&b);
	if (r)
		goto out;
	seg[1].extra = 1ULL << 60;
	req_init(&l, &p, B);
	l.segments = (uintptr_t)seg;
	l.segment_size = sizeof(seg[0]);
	e = load(&l);
	if (!e)
		close(l.dmabuf_fd);
	if (e != E2BIG)
		r = ktap_fail("segment 1 with a non-zero unknown byte: %s, expected E2BIG",
			      hl_errname(e));
	else if (l.error_segment != 1)
		r = ktap_fail("E2BIG with error_segment %d, expected 1",
			      l.error_segment);
	else
		r = baseline_back(&b, "after the refused load");
out:
	plan_close(&p);
	return r;
}

/* ---- loads into existing buffers ---- */

#define FILL	0x5c

struct into_case {
	uint32_t flags;
	unsigned int n;
	struct seg_spec s[MAX_SEGS];
};

/* Whole blocks only: the bytes around the segments keep FILL either way. */
#define INTO_SEGS(fl) { fl, 3, { \
	{ "8m", 2 * HL_MIB, HL_MIB, 5 * HL_MIB }, \
	{ "unaligned", 8 * HL_MIB, P(3), P(1) }, \
	{ "page_minus_one", 0, 2048, 9 * HL_MIB + 1024 } } }
static const struct into_case into_direct = INTO_SEGS(D);
static const struct into_case into_buffered = INTO_SEGS(B);
#define INTO_SIZE	(12 * HL_MIB)

static int t_into_system(const void *arg)
{
	const struct into_case *c = arg;
	struct heapload_load l;
	unsigned char *map;
	struct baseline b;
	struct plan p;
	int r, e, dfd;

	r = plan_open(&p, c->s, c->n);
	if (r)
		return r;
	r = alloc_filled(INTO_SIZE, FILL, &dfd, &map);
	if (r)
		goto out_plan;
	r = baseline_take(&b);
	if (r)
		goto out;
	req_into(&l, &p, c->flags, dfd);
	e = load(&l);
	if (e) {
		r = ktap_fail("load into a %s buffer: %s (error_segment %d)",
			      HL_HEAP_NAME, hl_errname(e), l.error_segment);
		goto out;
	}
	if (l.dmabuf_fd != -1)
		r = ktap_fail("dmabuf_fd %d after a load into a buffer, expected -1",
			      l.dmabuf_fd);
	else if (l.loaded != p.total)
		r = ktap_fail("loaded %llu, expected %llu", (ull)l.loaded,
			      (ull)p.total);
	else if (l.buf_size != INTO_SIZE)
		r = ktap_fail("buf_size %llu, the target has %llu",
			      (ull)l.buf_size, (ull)INTO_SIZE);
	else if (l.error_segment != -1)
		r = ktap_fail("error_segment %d after success", l.error_segment);
	/* Through the mapping made before the load. */
	if (!r)
		r = check_content(dfd, map, INTO_SIZE, &p, FILL);
	/* Nothing allocated, nothing left. */
	if (!r)
		r = baseline_back(&b, "after the load into the buffer");
out:
	munmap(map, INTO_SIZE);
	close(dfd);
out_plan:
	plan_close(&p);
	return r;
}

/* The CRC-32 @p's ranges give a zeroed buffer of @size bytes. */
static int plan_crc(const struct plan *p, uint64_t size, uint32_t *crc)
{
	unsigned char *img;
	int r = plan_image(p, size, 0, &img);

	if (r)
		return r;
	*crc = hl_crc32_update(0, img, size);
	free(img);
	return KTAP_PASS;
}

static int t_into_restricted(const void *arg)
{
	static const struct seg_spec specs[] = {
		{ "8m", HL_MIB, HL_MIB, 2 * HL_MIB },
		{ "unaligned", 0, P(2), P(3) },
	};
	struct hl_inspect in = { .chunk = NULL };
	struct heapload_load l;
	uint64_t len = 4 * HL_MIB;
	struct plan p;
	uint32_t crc;
	int r, e, hfd, dfd = -1;

	(void)arg;
	hfd = open(HL_RESTRICTED_PATH, O_RDWR | O_CLOEXEC);
	if (hfd < 0)
		return ktap_fail("open %s: %s", HL_RESTRICTED_PATH,
				 strerror(errno));
	r = plan_open(&p, specs, ARRAY_LEN(specs));
	if (r)
		goto out;
	e = hl_heap_alloc(hfd, len, O_RDWR | O_CLOEXEC, 0, &dfd);
	if (e) {
		r = ktap_fail("DMA_HEAP_IOCTL_ALLOC of 4 MiB from %s: %s",
			      HL_RESTRICTED_PATH, hl_errname(e));
		goto out;
	}
	/* The restricted heap always reads directly: flags 0. */
	req_into(&l, &p, 0, dfd);
	e = load(&l);
	if (e) {
		r = ktap_fail("load into a %s buffer: %s (error_segment %d)",
			      HL_RESTRICTED_NAME, hl_errname(e), l.error_segment);
		goto out;
	}
	if (l.loaded != p.total || l.dmabuf_fd != -1) {
		r = ktap_fail("loaded %llu dmabuf_fd %d, expected %llu and -1",
			      (ull)l.loaded, l.dmabuf_fd, (ull)p.total);
		goto out;
	}
	r = plan_crc(&p, len, &crc);
	if (r)
		goto out;
	r = hl_inspect(dfd, &in);
	if (!r && strcmp(in.heap, HL_RESTRICTED_NAME))
		r = ktap_fail("inspect says heap %s", in.heap);
	else if (!r && in.restricted != 1)
		r = ktap_fail("inspect says restricted: %d after the load, expected 1",
			      in.restricted);
	else if (!r && in.crc != crc)
		r = ktap_fail("inspect says crc32 %08x, the segments in a zeroed buffer give %08x",
			      in.crc, crc);
out:
	hl_inspect_free(&in);
	if (dfd >= 0)
		close(dfd);
	plan_close(&p);
	close(hfd);
	return r;
}

enum target_kind {
	TGT_FILE,		/* a regular file */
	TGT_MEMFD,		/* a memfd */
	TGT_FOREIGN,		/* another exporter's dma-buf */
	TGT_RDONLY,		/* a heapload dma-buf fd opened O_RDONLY */
	TGT_SMALL,		/* a heapload buffer smaller than the segment */
	TGT_HEAP_NAME,		/* a fine target, but a heap name too */
	TGT_CLOSED,		/* a closed fd */
};

struct target_case {
	enum target_kind kind;
	int expect;
	int seg;
};

/* ---- other exporters' dma-bufs ---- */

struct hl_drm_mode_create_dumb {
	__u32 height;
	__u32 width;
	__u32 bpp;
	__u32 flags;
	__u32 handle;
	__u32 pitch;
	__u64 size;
};

#define HL_DRM_IOCTL_PRIME_HANDLE_TO_FD	_IOWR(HL_DRM_IOCTL_BASE, 0x2d, struct hl_drm_prime_handle)
#define HL_DRM_IOCTL_MODE_CREATE_DUMB	_IOWR(HL_DRM_IOCTL_BASE, 0xB2, struct hl_drm_mode_create_dumb)

struct hl_udmabuf_create {
	__u32 memfd;
	__u32 flags;
	__u64 offset;
	__u64 size;
};

#define HL_UDMABUF_CREATE	_IOW('u', 0x42, struct hl_udmabuf_create)

/* A dma-buf of vgem (a dumb buffer of 1 MiB), or -1 with *@why. */
static int foreign_vgem(char *why, size_t wlen)
{
	struct hl_drm_mode_create_dumb cd = { .height = 256, .width = 1024,
					      .bpp = 32 };
	struct hl_drm_prime_handle ph;
	int vfd = hl_open_vgem(), e;

	if (vfd < 0) {
		snprintf(why, wlen, "no vgem card");
		return -1;
	}
	e = hl_ioctl(vfd, HL_DRM_IOCTL_MODE_CREATE_DUMB, &cd);
	if (e) {
		snprintf(why, wlen, "vgem dumb buffer: %s", hl_errname(e));
		close(vfd);
		return -1;
	}
	memset(&ph, 0, sizeof(ph));
	ph.handle = cd.handle;
	ph.flags = O_RDWR | O_CLOEXEC;
	e = hl_ioctl(vfd, HL_DRM_IOCTL_PRIME_HANDLE_TO_FD, &ph);
	hl_vgem_close(vfd, cd.handle);
	close(vfd);
	if (e) {
		snprintf(why, wlen, "vgem export: %s", hl_errname(e));
		return -1;
	}
	return ph.fd;
}

/* A dma-buf of udmabuf over a 1 MiB memfd, or -1 with *@why. */
static int foreign_udmabuf(char *why, size_t wlen)
{
	struct hl_udmabuf_create c;
	int ufd, mfd, dfd;

	ufd = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	if (ufd < 0) {
		snprintf(why, wlen, "no /dev/udmabuf");
		return -1;
	}
	mfd = memfd_create("loadv2-udmabuf", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	if (mfd < 0 || ftruncate(mfd, HL_MIB) ||
	    fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK)) {
		snprintf(why, wlen, "memfd for udmabuf: %s", strerror(errno));
		if (mfd >= 0)
			close(mfd);
		close(ufd);
		return -1;
	}
	memset(&c, 0, sizeof(c));
	c.memfd = mfd;
	c.flags = 0x01;		/* UDMABUF_FLAGS_CLOEXEC */
	c.size = HL_MIB;
	dfd = ioctl(ufd, HL_UDMABUF_CREATE, &c);
	if (dfd < 0)
		snprintf(why, wlen, "UDMABUF_CREATE: %s", strerror(errno));
	close(mfd);
	close(ufd);
	return dfd;
}

/* A buffer of the kernel's own heap "system" (not heapload's alias), or -1. */
static int foreign_system_heap(char *why, size_t wlen)
{
	char alias[8] = "";
	int hfd, dfd = -1, e;

	if (!hl_read_word(HL_PARAM_DIR "system_alias", alias, sizeof(alias)) &&
	    alias[0] == 'Y') {
		snprintf(why, wlen, "%s/system is heapload's alias", HL_HEAP_DIR);
		return -1;
	}
	hfd = open(HL_HEAP_DIR "/system", O_RDWR | O_CLOEXEC);
	if (hfd < 0) {
		snprintf(why, wlen, "no %s/system", HL_HEAP_DIR);
		return -1;
	}
	e = hl_heap_alloc(hfd, HL_MIB, O_RDWR | O_CLOEXEC, 0, &dfd);
	if (e) {
		snprintf(why, wlen, "%s/system: %s", HL_HEAP_DIR, hl_errname(e));
		dfd = -1;
	}
	close(hfd);
	return dfd;
}

static int t_into_foreign(const void *arg)
{
	static int (*const makers[])(char *, size_t) = {
		foreign_udmabuf, foreign_system_heap, foreign_vgem,
	};
	static const char *const names[] = { "udmabuf", "system heap", "vgem" };
	static const struct seg_spec spec = { "8m", 0, P(1), 0 };
	char why[3][128], all[512];
	struct heapload_load l;
	struct baseline b;
	unsigned int i, tried = 0;
	struct plan p;
	int r, e, dfd;

	(void)arg;
	r = plan_open(&p, &spec, 1);
	if (r)
		return r;
	for (i = 0; i < ARRAY_LEN(makers) && !r; i++) {
		/* Before the dma-buf is made: its fd is closed before the check. */
		r = baseline_take(&b);
		if (r)
			break;
		dfd = makers[i](why[i], sizeof(why[i]));
		if (dfd < 0)
			continue;
		tried++;
		req_into(&l, &p, B, dfd);
		e = load(&l);
		close(dfd);
		if (e != EXDEV)
			r = ktap_fail("load into a dma-buf of %s: %s, expected EXDEV",
				      names[i], hl_errname(e));
		else if (l.error_segment != -1)
			r = ktap_fail("EXDEV with error_segment %d, expected -1",
				      l.error_segment);
		else
			r = baseline_back(&b, "after the refused load");
		if (!r)
			ktap_print_msg("a dma-buf of %s refused with EXDEV",
				       names[i]);
	}
	plan_close(&p);
	if (r || tried)
		return r;
	snprintf(all, sizeof(all), "no dma-buf of another exporter: %s; %s; %s",
		 why[0], why[1], why[2]);
	return ktap_skip("%s", all);
}

static int t_into_target(const void *arg)
{
	const struct target_case *c = arg;
	/* Two pages of the kernel's size, whatever it is: more than TGT_SMALL. */
	const struct seg_spec spec = { "8m", 0, 2 * HL_PAGE, 0 };
	struct heapload_load l;
	struct baseline b;
	struct plan p;
	int r, e, tfd = -1;
	char path[512];

	r = plan_open(&p, &spec, 1);
	if (r)
		return r;
	switch (c->kind) {
	case TGT_FILE:
		hl_data_path(path, sizeof(path), "8m");
		tfd = open(path, O_RDWR | O_CLOEXEC);
		if (tfd < 0)
			r = ktap_fail("open %s read-write: %s", path,
				      strerror(errno));
		break;
	case TGT_MEMFD:
		tfd = memfd_create("loadv2-target", MFD_CLOEXEC);
		if (tfd < 0 || ftruncate(tfd, HL_MIB))
			r = ktap_fail("memfd: %s", strerror(errno));
		break;
	case TGT_RDONLY:
		r = alloc_system(HL_MIB, O_RDONLY | O_CLOEXEC, &tfd);
		break;
	case TGT_SMALL:
		r = alloc_system(HL_PAGE, O_RDWR | O_CLOEXEC, &tfd);
		break;
	case TGT_HEAP_NAME:
		r = alloc_system(HL_MIB, O_RDWR | O_CLOEXEC, &tfd);
		break;
	case TGT_CLOSED:
		tfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		close(tfd);
		break;
	default:
		r = ktap_fail("bad target kind (test bug)");
	}
	if (r)
		goto out;
	r = baseline_take(&b);
	if (r)
		goto out;
	req_into(&l, &p, B, tfd);
	if (c->kind == TGT_HEAP_NAME)
		snprintf(l.heap, sizeof(l.heap), "%s", HL_HEAP_NAME);
	e = load(&l);
	if (e != c->expect)
		r = ktap_fail("load: %s, expected %s (error_segment %d)",
			      hl_errname(e), hl_errname(c->expect),
			      l.error_segment);
	else if (l.error_segment != c->seg)
		r = ktap_fail("%s with error_segment %d%s, expected %d",
			      hl_errname(e), l.error_segment,
			      l.error_segment == SEG_SENTINEL ?
			      " (not written back)" : "", c->seg);
	else
		r = baseline_back(&b, "after the refused load");
out:
	if (tfd >= 0 && c->kind != TGT_CLOSED)
		close(tfd);
	plan_close(&p);
	return r;
}

static const struct target_case tgt_file = { TGT_FILE, EXDEV, -1 };
static const struct target_case tgt_memfd = { TGT_MEMFD, EXDEV, -1 };
static const struct target_case tgt_rdonly = { TGT_RDONLY, EBADF, -1 };
static const struct target_case tgt_small = { TGT_SMALL, ENOSPC, 0 };
static const struct target_case tgt_heap_name = { TGT_HEAP_NAME, EINVAL, -1 };
static const struct target_case tgt_closed = { TGT_CLOSED, EBADF, -1 };

/* ---- asynchronous loads ---- */

/* Start an asynchronous load of @l; a ktap result. */
static int load_async(struct heapload_load *l)
{
	int e;

	l->flags |= HEAPLOAD_LOAD_ASYNC;
	e = load(l);
	if (e)
		return ktap_fail("asynchronous load: %s (error_segment %d)",
				 hl_errname(e), l->error_segment);
	if (l->load_fd < 0)
		return ktap_fail("asynchronous load: no load fd (%d)",
				 l->load_fd);
	if (l->dmabuf_fd != -1) {
		close(l->load_fd);
		return ktap_fail("asynchronous load returned dmabuf_fd %d at once, expected -1",
				 l->dmabuf_fd);
	}
	return KTAP_PASS;
}

/*
 * Wait for the end of the load of @load_fd, then RESULT; the result in
 * *@out. A ktap result.
 */
static int finish_async(int load_fd, struct heapload_load *out)
{
	int r = wait_load(load_fd, ASYNC_TIMEOUT_MS), e;

	if (r)
		return r;
	e = load_result(load_fd, out);
	if (e)
		return ktap_fail("HEAPLOAD_IOC_LOAD_RESULT after EPOLLIN: %s (error_segment %d)",
				 hl_errname(e), out->error_segment);
	return KTAP_PASS;
}

/* Load @l, from this thread or @async'ly; @l holds the result. */
static int load_sync_or_async(struct heapload_load *l, bool async)
{
	struct heapload_load res;
	int r, e;

	if (!async) {
		e = load(l);
		return e ? ktap_fail("load: %s", hl_errname(e)) : KTAP_PASS;
	}
	r = load_async(l);
	if (r)
		return r;
	r = finish_async(l->load_fd, &res);
	close(l->load_fd);
	if (!r)
		*l = res;
	return r;
}

static int t_async_poll(const void *arg)
{
	static const struct seg_spec specs[] = {
		{ "unaligned", 0, 0, 0 }, { "8m", 0, 0, 9 * HL_MIB },
	};
	struct heapload_load l, res, again;
	struct baseline b;
	struct plan p;
	int r, e, fl;

	(void)arg;
	r = baseline_take(&b);
	if (r)
		return r;
	r = plan_open(&p, specs, ARRAY_LEN(specs));
	if (r)
		return r;
	req_init(&l, &p, D);
	r = load_async(&l);
	if (r)
		goto out;
	fl = fcntl(l.load_fd, F_GETFD);
	if (fl < 0 || !(fl & FD_CLOEXEC)) {
		r = ktap_fail("the load fd lacks FD_CLOEXEC");
		goto close_load;
	}
	r = finish_async(l.load_fd, &res);
	if (r)
		goto close_load;
	r = check_new_buffer(&res, &p);
	e = load_result(l.load_fd, &again);
	if (!e)
		close(again.dmabuf_fd);
	if (!r && e != EALREADY)
		r = ktap_fail("a second HEAPLOAD_IOC_LOAD_RESULT: %s, expected EALREADY",
			      hl_errname(e));
	if (res.dmabuf_fd >= 0)
		close(res.dmabuf_fd);
close_load:
	close(l.load_fd);
out:
	plan_close(&p);
	return r ? r : baseline_back(&b, "after closing the load fd and the buffer");
}

/*
 * A 256 MiB load in 1 MiB batches, one at a time: RESULT before its end
 * is EAGAIN with the bytes read so far in @loaded, never going back;
 * EPOLLIN only at the end. *@fast is set if it ended before the first
 * RESULT.
 */
static int async_progress_once(bool *fast)
{
	static const struct seg_spec spec = { "256m", 0, 0, 0 };
	struct heapload_load l, res;
	uint64_t last = 0, polls = 0, seen_mid = 0;
	struct pollfd pfd;
	struct plan p;
	int r, e;

	*fast = false;
	r = plan_open(&p, &spec, 1);
	if (r)
		return r;
	req_init(&l, &p, D);
	r = load_async(&l);
	if (r)
		goto out;
	for (;;) {
		e = load_result(l.load_fd, &res);
		if (e != EAGAIN)
			break;
		polls++;
		if (res.loaded < last) {
			r = ktap_fail("loaded went back from %llu to %llu",
				      (ull)last, (ull)res.loaded);
			break;
		}
		if (res.loaded > p.total) {
			r = ktap_fail("loaded %llu of a %llu-byte load",
				      (ull)res.loaded, (ull)p.total);
			break;
		}
		if (res.loaded > 0 && res.loaded < p.total)
			seen_mid++;
		last = res.loaded;
		if (res.dmabuf_fd >= 0 && res.dmabuf_fd != l.dmabuf_fd) {
			r = ktap_fail("EAGAIN with a dmabuf_fd %d", res.dmabuf_fd);
			break;
		}
		pfd.fd = l.load_fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, 50) == 1 && (pfd.revents & POLLIN)) {
			/* Ended: the next RESULT must say so. */
			e = load_result(l.load_fd, &res);
			if (e == EAGAIN) {
				r = ktap_fail("EPOLLIN but RESULT still EAGAIN");
				break;
			}
			break;
		}
	}
	if (!r && polls == 0 && !e) {
		*fast = true;
		ktap_print_msg("the 256 MiB load ended before the first RESULT");
	}
	if (!r && e)
		r = ktap_fail("RESULT at the end: %s", hl_errname(e));
	if (!r) {
		ktap_print_msg("%llu RESULTs said EAGAIN, %llu with progress between 0 and the end",
			       (ull)polls, (ull)seen_mid);
		if (res.loaded != p.total)
			r = ktap_fail("loaded %llu at the end, expected %llu",
				      (ull)res.loaded, (ull)p.total);
		else if (res.dmabuf_fd < 0)
			r = ktap_fail("no dma-buf fd at the end");
		else if (lseek(res.dmabuf_fd, 0, SEEK_END) != (off_t)p.total)
			r = ktap_fail("the dma-buf is not %llu bytes",
				      (ull)p.total);
	}
	if (!r && !e)
		close(res.dmabuf_fd);
	else if (!e && res.dmabuf_fd >= 0)
		close(res.dmabuf_fd);
	close(l.load_fd);
out:
	plan_close(&p);
	return r;
}

static int t_async_progress(const void *arg)
{
	struct baseline b;
	bool fast;
	int r, i;

	(void)arg;
	r = baseline_take(&b);
	if (!r)
		r = knobs_slow();
	for (i = 0; !r && i < 2; i++) {
		r = async_progress_once(&fast);
		if (!fast)
			break;
	}
	if (!r && fast)
		r = ktap_skip("a 256 MiB load in 1 MiB batches ended before the first RESULT, twice: nothing to see running");
	if (r)
		return r;
	return baseline_back(&b, "after the load and its buffer were closed");
}

/* Three loads in flight in one process, collected in the order they end. */
static int t_async_several(const void *arg)
{
	static const struct seg_spec specs[3][2] = {
		{ { "8m", 0, 0, 0 } },
		{ { "unaligned", 0, 0, P(1) }, { "one", 0, 0, 0 } },
		{ { "256m", 0, 0, 0 } },
	};
	static const unsigned int nsegs[3] = { 1, 2, 1 };
	struct heapload_load l[3], res;
	struct pollfd pfd[3];
	struct baseline b;
	struct plan p[3];
	unsigned int i, left = 3, opened = 0;
	uint64_t deadline;
	int r, e;

	(void)arg;
	r = baseline_take(&b);
	if (r)
		return r;
	for (i = 0; i < 3; i++)
		l[i].load_fd = -1;
	for (i = 0; i < 3; i++) {
		r = plan_open(&p[i], specs[i], nsegs[i]);
		if (r)
			goto out;
		opened++;
	}
	for (i = 0; i < 3; i++) {
		req_init(&l[i], &p[i], i == 1 ? B : D);
		r = load_async(&l[i]);
		if (r) {
			l[i].load_fd = -1;
			goto out;
		}
	}
	deadline = hl_now_ms() + ASYNC_TIMEOUT_MS;
	while (left && !r) {
		for (i = 0; i < 3; i++) {
			pfd[i].fd = l[i].load_fd;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		e = poll(pfd, 3, 1000);
		if (e < 0) {
			r = ktap_fail("poll: %s", strerror(errno));
			break;
		}
		if (hl_now_ms() > deadline) {
			r = ktap_fail("%u loads had not ended after %u ms", left,
				      ASYNC_TIMEOUT_MS);
			break;
		}
		for (i = 0; i < 3 && !r; i++) {
			if (l[i].load_fd < 0 || !(pfd[i].revents & POLLIN))
				continue;
			e = load_result(l[i].load_fd, &res);
			if (e) {
				r = ktap_fail("RESULT of load %u: %s", i,
					      hl_errname(e));
				break;
			}
			/* The 256 MiB one: sizes and the first and last pages. */
			if (i == 2) {
				if (res.loaded != p[i].total ||
				    res.buf_size != hl_page_up(p[i].total))
					r = ktap_fail("load 2: loaded %llu buf_size %llu",
						      (ull)res.loaded,
						      (ull)res.buf_size);
			} else {
				r = check_new_buffer(&res, &p[i]);
			}
			if (r) {
				char why[sizeof(ktap_reason)];

				snprintf(why, sizeof(why), "%s", ktap_reason);
				r = ktap_fail("load %u: %s", i, why);
			}
			close(res.dmabuf_fd);
			close(l[i].load_fd);
			l[i].load_fd = -1;
			left--;
		}
	}
out:
	for (i = 0; i < 3; i++)
		if (l[i].load_fd >= 0)
			close(l[i].load_fd);
	for (i = 0; i < opened; i++)
		plan_close(&p[i]);
	return r ? r : baseline_back(&b, "after the loads and their buffers were closed");
}

/*
 * Closing the load fd of a running load cancels it: everything it
 * allocated is freed by the time close() returns (or shortly after).
 */
static int t_async_cancel(const void *arg)
{
	static const struct seg_spec spec = { "256m", 0, 0, 0 };
	struct heapload_load l, res;
	struct baseline b;
	struct plan p;
	int r, e, i;
	bool running = false;

	(void)arg;
	r = knobs_slow();
	if (r)
		return r;
	r = plan_open(&p, &spec, 1);
	if (r)
		return r;
	for (i = 0; i < 2 && !r && !running; i++) {
		r = baseline_take(&b);
		if (r)
			break;
		req_init(&l, &p, D);
		r = load_async(&l);
		if (r)
			break;
		hl_sleep_ms(200);
		e = load_result(l.load_fd, &res);
		running = e == EAGAIN;
		if (!e && res.dmabuf_fd >= 0)
			close(res.dmabuf_fd);
		if (running)
			ktap_print_msg("closing the load fd at %llu of %llu bytes",
				       (ull)res.loaded, (ull)p.total);
		close(l.load_fd);
		r = baseline_back(&b, "after closing the load fd");
	}
	plan_close(&p);
	if (!r && !running)
		return ktap_skip("the 256 MiB load ended within 200 ms, twice: nothing to cancel");
	return r;
}

#define BIG_LEN		(256 * HL_MIB)

/*
 * For a load that lasts: slow knobs, the 256 MiB file in @pb, a target of
 * its size mapped at *@map and every byte FILL. A ktap result.
 */
static int big_target_open(struct plan *pb, int *dfd, unsigned char **map)
{
	static const struct seg_spec big = { "256m", 0, 0, 0 };
	int r = knobs_slow();

	if (!r)
		r = plan_open(pb, &big, 1);
	if (r)
		return r;
	r = alloc_filled(BIG_LEN, FILL, dfd, map);
	if (r)
		plan_close(pb);
	return r;
}

/*
 * A load into a target while an asynchronous one fills it: EBUSY. A CPU
 * mapping of the target made before stays valid during and after the
 * load, a new one can be made during it; once the first load has ended
 * (its RESULT said so) the target takes loads again, its load fd still
 * open.
 */
static int t_into_busy(const void *arg)
{
	static const struct seg_spec small = { "8m", 0, P(1), 0 };
	uint64_t len = BIG_LEN;
	struct heapload_load l, l2, res;
	struct plan pb, ps;
	unsigned char *map, *map2;
	volatile unsigned char c;
	int r, e, e2, dfd, attempt;
	bool busy_seen = false;

	(void)arg;
	r = plan_open(&ps, &small, 1);
	if (r)
		return r;
	r = big_target_open(&pb, &dfd, &map);
	if (r) {
		plan_close(&ps);
		return r;
	}
	for (attempt = 1; attempt <= 2 && !busy_seen && !r; attempt++) {
		req_into(&l, &pb, D, dfd);
		r = load_async(&l);
		if (r)
			break;
		/* While it runs: a second load into the target. */
		req_into(&l2, &ps, B, dfd);
		e2 = load(&l2);
		e = load_result(l.load_fd, &res);
		if (e2 == 0 && e != EAGAIN) {
			/* Too late: start again on a refilled target. */
			ktap_print_msg("attempt %d: the asynchronous load had ended before the second load (RESULT %s)",
				       attempt, hl_errname(e));
			close(l.load_fd);
			memset(map, FILL, len);
			continue;
		}
		if (e2 != EBUSY) {
			r = ktap_fail("a load into a target that an asynchronous load fills: %s, expected EBUSY",
				      hl_errname(e2));
			close(l.load_fd);
			break;
		}
		busy_seen = true;
		/* The mapping made before, and a new one, during the load. */
		e = hl_sync(dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
		c = map[len - 1];
		(void)c;
		e = e ? e : hl_sync(dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
		if (e)
			r = ktap_fail("SYNC during the load: %s", hl_errname(e));
		map2 = mmap(NULL, len, PROT_READ, MAP_SHARED, dfd, 0);
		if (map2 == MAP_FAILED && !r)
			r = ktap_fail("mmap of the target during the load: %s",
				      strerror(errno));
		else if (map2 != MAP_FAILED)
			munmap(map2, len);
		if (!r)
			r = wait_load(l.load_fd, ASYNC_TIMEOUT_MS);
		if (!r) {
			e = load_result(l.load_fd, &res);
			if (e)
				r = ktap_fail("RESULT of the load into the target: %s",
					      hl_errname(e));
			else if (res.dmabuf_fd != -1)
				r = ktap_fail("RESULT of a load into a target gave dmabuf_fd %d, expected -1",
					      res.dmabuf_fd);
			else if (res.loaded != pb.total)
				r = ktap_fail("loaded %llu, expected %llu",
					      (ull)res.loaded, (ull)pb.total);
		}
		/* Through the mapping made before the load. */
		if (!r)
			r = check_content(dfd, map, len, &pb, FILL);
		/* Ended: the target takes another load, its load fd still open. */
		if (!r) {
			req_into(&l2, &ps, B, dfd);
			e = load(&l2);
			if (e)
				r = ktap_fail("a load into the target after the asynchronous one ended (its load fd still open): %s",
					      hl_errname(e));
		}
		close(l.load_fd);
	}
	if (!r && !busy_seen)
		r = ktap_skip("the 256 MiB load into the target ended before a second load could be tried, twice");
	munmap(map, len);
	close(dfd);
	plan_close(&ps);
	plan_close(&pb);
	return r;
}

/* ---- a device that keeps a target mapped ---- */

#define HL_IMPORTER_HOLD	HL_DEBUG_DIR "/importer_hold"

/* The test device maps the dma-buf @dfd and keeps it mapped: 0 or the errno. */
static int hold_map(int dfd)
{
	char cmd[16];

	snprintf(cmd, sizeof(cmd), "%d", dfd);
	return hl_write_str(HL_IMPORTER_HOLD, cmd);
}

/* The test device unmaps and lets go of what it holds: 0 or the errno. */
static int hold_release(void)
{
	return hl_write_str(HL_IMPORTER_HOLD, "-1");
}

/* hold_release() as a ktap result. */
static int hold_release_checked(void)
{
	int e = hold_release();

	return e ? ktap_fail("%s -1: %s", HL_IMPORTER_HOLD, hl_errname(e)) :
		   KTAP_PASS;
}

/* KTAP_PASS where importer_hold exists, else a skip. */
static int hold_need(void)
{
	if (access(HL_IMPORTER_HOLD, W_OK))
		return ktap_skip("no %s (%s): a production build, or a module before it",
				 HL_IMPORTER_HOLD, hl_errname(errno));
	return KTAP_PASS;
}

/* hold_map()'s error @e as a ktap result: a skip for EOPNOTSUPP. */
static int hold_failed(int e, const char *when)
{
	if (e == EOPNOTSUPP)
		return ktap_skip("%s: EOPNOTSUPP (the module has no test device)",
				 HL_IMPORTER_HOLD);
	return ktap_fail("%s %s: %s", HL_IMPORTER_HOLD, when, hl_errname(e));
}

/*
 * A load into a target that a device keeps mapped: EBUSY, the target
 * unchanged, nothing allocated; once the device has unmapped it, the same
 * load fills it.
 */
static int t_into_held(const void *arg)
{
	const struct into_case *c = &into_direct;
	const struct plan none = { 0 };
	struct heapload_load l;
	unsigned char *map;
	struct baseline b;
	struct plan p;
	int r, e, dfd;
	bool held = false;

	(void)arg;
	r = hold_need();
	if (r)
		return r;
	r = plan_open(&p, c->s, c->n);
	if (r)
		return r;
	r = alloc_filled(INTO_SIZE, FILL, &dfd, &map);
	if (r)
		goto out_plan;
	r = baseline_take(&b);
	if (r)
		goto out;
	e = hold_map(dfd);
	if (e) {
		r = hold_failed(e, "of an idle target");
		goto out;
	}
	held = true;
	req_into(&l, &p, c->flags, dfd);
	e = load(&l);
	if (e != EBUSY) {
		r = ktap_fail("a load into a target a device holds mapped: %s, expected EBUSY",
			      hl_errname(e));
		goto out;
	}
	if (l.error_segment != -1) {
		r = ktap_fail("EBUSY with error_segment %d, expected -1",
			      l.error_segment);
		goto out;
	}
	r = check_content(dfd, map, INTO_SIZE, &none, FILL);
	if (!r)
		r = baseline_back(&b, "after the refused load");
	if (r)
		goto out;

	/* The device lets go: the same load now fills the target. */
	held = false;
	r = hold_release_checked();
	if (r)
		goto out;
	req_into(&l, &p, c->flags, dfd);
	e = load(&l);
	if (e)
		r = ktap_fail("the load once the device had unmapped the target: %s (error_segment %d)",
			      hl_errname(e), l.error_segment);
	else if (l.loaded != p.total)
		r = ktap_fail("loaded %llu, expected %llu", (ull)l.loaded,
			      (ull)p.total);
	if (!r)
		r = check_content(dfd, map, INTO_SIZE, &p, FILL);
	if (!r)
		r = baseline_back(&b, "after the load into the released target");
out:
	if (held)
		hold_release();
	munmap(map, INTO_SIZE);
	close(dfd);
out_plan:
	plan_close(&p);
	return r;
}

/*
 * A device mapping of a target while an asynchronous load fills it: EBUSY,
 * the device would see it half written. Once the load has ended, the
 * device maps it, and the target holds the file.
 */
static int t_map_during_load(const void *arg)
{
	uint64_t len = BIG_LEN;
	struct heapload_load l, res;
	unsigned char *map;
	struct baseline b;
	struct plan pb;
	int r, e, eh, dfd, attempt;
	bool busy_seen = false;

	(void)arg;
	r = hold_need();
	if (r)
		return r;
	r = big_target_open(&pb, &dfd, &map);
	if (r)
		return r;
	r = baseline_take(&b);
	if (r)
		goto out;
	/* Idle, the target is the device's to map. */
	eh = hold_map(dfd);
	if (eh) {
		r = hold_failed(eh, "of an idle target");
		goto out;
	}
	r = hold_release_checked();
	if (r)
		goto out;
	for (attempt = 1; attempt <= 2 && !busy_seen && !r; attempt++) {
		req_into(&l, &pb, D, dfd);
		r = load_async(&l);
		if (r)
			break;
		/* While it runs: the device maps the target. */
		eh = hold_map(dfd);
		e = load_result(l.load_fd, &res);
		if (eh == 0 && e != EAGAIN) {
			/* Too late: start again. */
			ktap_print_msg("attempt %d: the asynchronous load had ended before the device mapped the target (RESULT %s)",
				       attempt, hl_errname(e));
			hold_release();
			close(l.load_fd);
			continue;
		}
		if (eh != EBUSY) {
			r = ktap_fail("a device mapping of a target that an asynchronous load fills: %s, expected EBUSY",
				      hl_errname(eh));
			if (!eh)
				hold_release();
			close(l.load_fd);
			break;
		}
		busy_seen = true;
		if (e == EAGAIN)
			r = finish_async(l.load_fd, &res);
		else if (e)
			r = ktap_fail("RESULT of the load into the target: %s",
				      hl_errname(e));
		if (!r && res.loaded != pb.total)
			r = ktap_fail("loaded %llu, expected %llu",
				      (ull)res.loaded, (ull)pb.total);
		/* Ended: the device maps the target, its load fd still open. */
		if (!r) {
			eh = hold_map(dfd);
			if (eh)
				r = ktap_fail("a device mapping of the target after the load ended: %s",
					      hl_errname(eh));
			else
				r = hold_release_checked();
		}
		close(l.load_fd);
		if (!r)
			r = check_content(dfd, map, len, &pb, FILL);
	}
	if (!r && !busy_seen)
		r = ktap_skip("the 256 MiB load into the target ended before the device could map it, twice");
	if (!r)
		r = baseline_back(&b, "after the load and the device's mapping");
out:
	munmap(map, len);
	close(dfd);
	plan_close(&pb);
	return r;
}

static int t_result_not_load_fd(const void *arg)
{
	struct heapload_load res;
	int e;

	(void)arg;
	e = load_result(loader_fd, &res);
	if (e != ENOTTY)
		return ktap_fail("HEAPLOAD_IOC_LOAD_RESULT on %s: %s, expected ENOTTY",
				 HL_LOADER_PATH, hl_errname(e));
	return KTAP_PASS;
}

/* ---- digests ---- */

static int t_digest_vectors(const void *arg)
{
	static const struct {
		const char *in;
		uint64_t xxh;
	} xv[] = {
		{ "", 0xef46db3751d8e999ULL },
		{ "a", 0xd24ec4f1a98c6e5bULL },
		{ "abc", 0x44bc2cf5ad770999ULL },
	};
	static const struct {
		const char *in;
		const char *sha;
	} sv[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	};
	unsigned char d[HEAPLOAD_DIGEST_SIZE];
	char h[2 * HEAPLOAD_DIGEST_SIZE + 1];
	uint64_t x;
	size_t i;

	(void)arg;
	for (i = 0; i < ARRAY_LEN(xv); i++) {
		x = xxh64((const unsigned char *)xv[i].in, strlen(xv[i].in), 0);
		if (x != xv[i].xxh)
			return ktap_fail("XXH64(\"%s\") = %016llx, expected %016llx",
					 xv[i].in, (ull)x, (ull)xv[i].xxh);
	}
	digest_of(HEAPLOAD_DIGEST_XXH64, (const unsigned char *)"a", 1, d);
	hex(d, HEAPLOAD_DIGEST_SIZE, h);
	if (strcmp(h, "d24ec4f1a98c6e5b000000000000000000000000000000000000000000000000"))
		return ktap_fail("XXH64 digest field of \"a\" is %s", h);
	for (i = 0; i < ARRAY_LEN(sv); i++) {
		digest_of(HEAPLOAD_DIGEST_SHA256, (const unsigned char *)sv[i].in,
			  strlen(sv[i].in), d);
		hex(d, 32, h);
		if (strcmp(h, sv[i].sha))
			return ktap_fail("SHA-256(\"%s\") = %s, expected %s",
					 sv[i].in, h, sv[i].sha);
	}
	return KTAP_PASS;
}

struct digest_case {
	uint32_t alg;
	uint32_t flags;
	bool restricted;
};

/* Segments out of buffer order: the digest follows the array's order. */
static const struct seg_spec digest_specs[] = {
	{ "unaligned", 0, 0, P(64) },
	{ "8m", HL_MIB, 3 * HL_MIB + 5, 16 * HL_MIB },
	{ "page_minus_one", 0, 0, 0 },
};

/*
 * The digest of a load equals this program's digest of the ranges in the
 * array's order; the same load verified with it succeeds.
 */
static int t_digest(const void *arg)
{
	const struct digest_case *c = arg;
	unsigned char want[HEAPLOAD_DIGEST_SIZE], *cat = NULL;
	char hw[2 * HEAPLOAD_DIGEST_SIZE + 1], hg[2 * HEAPLOAD_DIGEST_SIZE + 1];
	struct hl_inspect in = { .chunk = NULL };
	struct heapload_load l;
	struct baseline b;
	struct plan p;
	uint32_t crc;
	int r, e, pass;

	r = baseline_take(&b);
	if (r)
		return r;
	r = plan_open(&p, digest_specs, ARRAY_LEN(digest_specs));
	if (r)
		return r;
	r = plan_concat(&p, &cat);
	if (r)
		goto out;
	digest_of(c->alg, cat, p.total, want);
	hex(want, HEAPLOAD_DIGEST_SIZE, hw);
	for (pass = 0; pass < 2 && !r; pass++) {
		req_init(&l, &p, c->flags);
		if (c->restricted)
			snprintf(l.heap, sizeof(l.heap), "%s", HL_RESTRICTED_NAME);
		l.digest_alg = c->alg;
		if (pass) {
			l.flags |= HEAPLOAD_LOAD_VERIFY;
			memcpy(l.expected_digest, want, sizeof(want));
		}
		e = load(&l);
		if (e == EOPNOTSUPP && !pass) {
			r = ktap_skip("digest %u: EOPNOTSUPP (a kernel without it)",
				      c->alg);
			break;
		}
		if (e) {
			r = ktap_fail("%s load with digest %u: %s",
				      pass ? "verified" : "plain", c->alg,
				      hl_errname(e));
			break;
		}
		hex(l.digest, HEAPLOAD_DIGEST_SIZE, hg);
		if (memcmp(l.digest, want, sizeof(want)))
			r = ktap_fail("digest %s, expected %s", hg, hw);
		else if (c->restricted)
			r = l.loaded == p.total && l.buf_size == hl_page_up(p.end) ?
			    KTAP_PASS :
			    ktap_fail("loaded %llu buf_size %llu", (ull)l.loaded,
				      (ull)l.buf_size);
		else
			r = check_new_buffer(&l, &p);
		/* The restricted buffer: its CRC-32 as a second witness. */
		if (!r && c->restricted) {
			r = plan_crc(&p, l.buf_size, &crc);
			if (!r)
				r = hl_inspect(l.dmabuf_fd, &in);
			if (!r && in.crc != crc)
				r = ktap_fail("inspect says crc32 %08x, expected %08x",
					      in.crc, crc);
			hl_inspect_free(&in);
		}
		close(l.dmabuf_fd);
	}
	if (!r)
		ktap_print_msg("digest %s", hw);
out:
	free(cat);
	plan_close(&p);
	return r ? r : baseline_back(&b, "after closing the buffers");
}

/*
 * A wrong expected digest: EBADMSG, the computed digest returned anyway,
 * no fd installed, nothing left behind.
 */
static int t_digest_wrong(const void *arg)
{
	const struct digest_case *c = arg;
	unsigned char want[HEAPLOAD_DIGEST_SIZE], *cat = NULL;
	char hw[2 * HEAPLOAD_DIGEST_SIZE + 1], hg[2 * HEAPLOAD_DIGEST_SIZE + 1];
	struct heapload_load l;
	struct baseline b;
	struct plan p;
	int r, e;

	r = plan_open(&p, digest_specs, ARRAY_LEN(digest_specs));
	if (r)
		return r;
	r = plan_concat(&p, &cat);
	if (r)
		goto out;
	digest_of(c->alg, cat, p.total, want);
	hex(want, HEAPLOAD_DIGEST_SIZE, hw);
	r = baseline_take(&b);
	if (r)
		goto out;
	req_init(&l, &p, c->flags);
	if (c->restricted)
		snprintf(l.heap, sizeof(l.heap), "%s", HL_RESTRICTED_NAME);
	l.digest_alg = c->alg;
	l.flags |= HEAPLOAD_LOAD_VERIFY;
	memcpy(l.expected_digest, want, sizeof(want));
	l.expected_digest[3] ^= 0x40;
	e = load(&l);
	if (!e && l.dmabuf_fd >= 0)
		close(l.dmabuf_fd);
	hex(l.digest, HEAPLOAD_DIGEST_SIZE, hg);
	if (e == EOPNOTSUPP)
		r = ktap_skip("digest %u: EOPNOTSUPP (a kernel without it)",
			      c->alg);
	else if (e != EBADMSG)
		r = ktap_fail("a wrong expected digest: %s, expected EBADMSG",
			      hl_errname(e));
	else if (memcmp(l.digest, want, sizeof(want)))
		r = ktap_fail("EBADMSG with digest %s, the loaded bytes have %s",
			      hg, hw);
	else if (l.dmabuf_fd != -1)
		r = ktap_fail("EBADMSG with dmabuf_fd %d, expected -1",
			      l.dmabuf_fd);
	else if (l.error_segment != -1)
		r = ktap_fail("EBADMSG with error_segment %d, expected -1",
			      l.error_segment);
	else
		r = baseline_back(&b, "after the refused load");
out:
	free(cat);
	plan_close(&p);
	return r;
}

static const struct digest_case dg_sha_direct = { HEAPLOAD_DIGEST_SHA256, D, false };
static const struct digest_case dg_sha_buffered = { HEAPLOAD_DIGEST_SHA256, B, false };
static const struct digest_case dg_xxh_direct = { HEAPLOAD_DIGEST_XXH64, D, false };
static const struct digest_case dg_xxh_buffered = { HEAPLOAD_DIGEST_XXH64, B, false };
static const struct digest_case dg_sha_restricted = { HEAPLOAD_DIGEST_SHA256, 0, true };
static const struct digest_case dg_xxh_restricted = { HEAPLOAD_DIGEST_XXH64, 0, true };

/* An asynchronous verified load: the digest comes with RESULT. */
static int t_digest_async(const void *arg)
{
	unsigned char want[HEAPLOAD_DIGEST_SIZE], *cat = NULL;
	struct heapload_load l, res;
	struct baseline b;
	struct plan p;
	int r, e;

	(void)arg;
	r = baseline_take(&b);
	if (r)
		return r;
	r = plan_open(&p, digest_specs, ARRAY_LEN(digest_specs));
	if (r)
		return r;
	r = plan_concat(&p, &cat);
	if (r)
		goto out;
	digest_of(HEAPLOAD_DIGEST_SHA256, cat, p.total, want);
	/* A wrong digest first: RESULT says EBADMSG, with the digest. */
	req_init(&l, &p, D);
	l.digest_alg = HEAPLOAD_DIGEST_SHA256;
	l.flags |= HEAPLOAD_LOAD_VERIFY;
	memcpy(l.expected_digest, want, sizeof(want));
	l.expected_digest[0] ^= 1;
	r = load_async(&l);
	if (r)
		goto out;
	r = wait_load(l.load_fd, ASYNC_TIMEOUT_MS);
	if (!r) {
		e = load_result(l.load_fd, &res);
		if (!e)
			close(res.dmabuf_fd);
		if (e != EBADMSG)
			r = ktap_fail("RESULT of a load with a wrong digest: %s, expected EBADMSG",
				      hl_errname(e));
		else if (memcmp(res.digest, want, sizeof(want)))
			r = ktap_fail("RESULT's EBADMSG without the computed digest");
	}
	close(l.load_fd);
	if (r)
		goto out;
	req_init(&l, &p, D);
	l.digest_alg = HEAPLOAD_DIGEST_SHA256;
	l.flags |= HEAPLOAD_LOAD_VERIFY;
	memcpy(l.expected_digest, want, sizeof(want));
	r = load_async(&l);
	if (r)
		goto out;
	r = finish_async(l.load_fd, &res);
	if (!r) {
		if (memcmp(res.digest, want, sizeof(want)))
			r = ktap_fail("RESULT's digest differs");
		else
			r = check_new_buffer(&res, &p);
		close(res.dmabuf_fd);
	}
	close(l.load_fd);
out:
	free(cat);
	plan_close(&p);
	return r ? r : baseline_back(&b, "after closing everything");
}

/* ---- NUMA ---- */

/*
 * A load of 8m on node @nid: placed_node and inspect's nodes line, and
 * alloc_threads_max when @threads is not 0.
 */
static int numa_load_on(int nid, bool async, unsigned int threads)
{
	static const struct seg_spec spec = { "8m", 0, 0, 0 };
	uint64_t bytes[MAX_NODES], size, other = 0;
	struct heapload_load l;
	struct plan p;
	bool have;
	int r, i;

	r = plan_open(&p, &spec, 1);
	if (r)
		return r;
	req_init(&l, &p, D);
	l.flags |= HEAPLOAD_LOAD_NUMA_NODE;
	l.numa_node = nid;
	r = load_sync_or_async(&l, async);
	if (r)
		goto out;
	r = check_new_buffer(&l, &p);
	if (!r && l.placed_node != nid)
		r = ktap_fail("placed_node %d, asked for node %d", l.placed_node,
			      nid);
	if (!r && threads && l.alloc_threads_max != threads)
		r = ktap_fail("%s load on node %d: alloc_threads_max %u, expected %u",
			      async ? "async" : "sync", nid, l.alloc_threads_max,
			      threads);
	if (!r)
		r = inspect_nodes(l.dmabuf_fd, bytes, &have, &size);
	if (!r && !have)
		ktap_print_msg("%s has no \"nodes:\" line: placement checked by placed_node only",
			       HL_INSPECT);
	if (!r && have) {
		for (i = 0; i < MAX_NODES; i++)
			if (i != nid)
				other += bytes[i];
		if (other || bytes[nid] != l.buf_size)
			r = ktap_fail("inspect says %llu bytes on node %d and %llu elsewhere, of %llu",
				      (ull)bytes[nid], nid, (ull)other,
				      (ull)l.buf_size);
	}
	close(l.dmabuf_fd);
out:
	plan_close(&p);
	return r;
}

/* 8 batches of 1 MiB on up to 2 threads: a load of 8m is parallel. */
static int knobs_parallel(void)
{
	return knobs_small_batches(4, K_THREADS, 2);
}

/*
 * Loads on node @nid, synchronous and/or asynchronous; with @threads,
 * allocated on that many threads (every page on the node, the helpers'
 * included).
 */
struct numa_case {
	int nid;
	bool sync, async;
	unsigned int threads;
};

static const struct numa_case node0 = { 0, true, false, 0 },
	node1 = { 1, true, false, 0 }, node1_async = { 1, false, true, 0 },
	node1_parallel = { 1, true, true, 2 };

static int t_numa_node(const void *arg)
{
	const struct numa_case *c = arg;
	struct baseline b;
	int r = numa_need(2);

	if (r)
		return r;
	if (!mem_node[c->nid])
		return ktap_skip("node %d has no memory", c->nid);
	if (c->threads)
		r = knobs_parallel();
	if (!r)
		r = baseline_take(&b);
	if (!r && c->sync)
		r = numa_load_on(c->nid, false, c->threads);
	if (!r && c->async)
		r = numa_load_on(c->nid, true, c->threads);
	return r ? r : baseline_back(&b, "after closing the buffer");
}

#ifndef MPOL_DEFAULT
#define MPOL_DEFAULT	0
#endif
#ifndef MPOL_PREFERRED
#define MPOL_PREFERRED	1
#endif

/* The caller's memory policy: MPOL_PREFERRED for @node, or none (-1). */
static int mempolicy_set(int node)
{
	unsigned long mask = node < 0 ? 0 : 1UL << node;

	if (syscall(SYS_set_mempolicy, node < 0 ? MPOL_DEFAULT : MPOL_PREFERRED,
		    node < 0 ? NULL : &mask, node < 0 ? 0 : 8 * sizeof(mask)))
		return ktap_fail("set_mempolicy for node %d: %s", node,
				 strerror(errno));
	return KTAP_PASS;
}

/* A load of 8m, sync or async: its alloc_threads_max into *@threads. */
static int load_8m_threads(bool async, unsigned int *threads)
{
	static const struct seg_spec spec = { "8m", 0, 0, 0 };
	struct heapload_load l;
	struct plan p;
	int r;

	r = plan_open(&p, &spec, 1);
	if (r)
		return r;
	req_init(&l, &p, D);
	r = load_sync_or_async(&l, async);
	if (r)
		goto out;
	r = check_new_buffer(&l, &p);
	*threads = l.alloc_threads_max;
	close(l.dmabuf_fd);
out:
	plan_close(&p);
	return r;
}

/*
 * A caller with a memory policy of its own allocates on its thread
 * alone, helpers would escape the policy: for an asynchronous load too,
 * whose worker thread has no policy (nor the caller's CPUs), so the
 * threads are chosen when the load is submitted. Without the policy the
 * same loads use 2 threads.
 */
static int t_mempolicy_one_thread(const void *arg)
{
	unsigned int threads, want;
	struct baseline b;
	int r = numa_need(1), node = 0, pol, async;

	(void)arg;
	if (r)
		return r;
	while (node < MAX_NODES - 1 && !mem_node[node])
		node++;
	r = knobs_parallel();
	if (!r)
		r = baseline_take(&b);
	for (pol = 0; !r && pol < 2; pol++) {
		want = pol ? 1 : 2;
		r = mempolicy_set(pol ? node : -1);
		for (async = 0; !r && async < 2; async++) {
			r = load_8m_threads(async, &threads);
			if (!r && threads != want)
				r = ktap_fail("%s load, %s node %d: alloc_threads_max %u, expected %u",
					      async ? "async" : "sync",
					      pol ? "MPOL_PREFERRED" : "no policy, on",
					      node, threads, want);
		}
	}
	if (mempolicy_set(-1) && !r)
		r = KTAP_FAIL;
	return r ? r : baseline_back(&b, "after closing the buffers");
}

/*
 * alloc_threads=0 takes the CPUs the caller may run on in its node: a
 * caller bound to one CPU allocates alone, for an asynchronous load too,
 * whose worker may run on every CPU. Skipped where the caller's node has
 * one CPU (tests/qemu/run.sh's two nodes): both counts are 1 there.
 */
static int t_affinity_one_thread(const void *arg)
{
	unsigned int threads, control;
	cpu_set_t all, one;
	struct baseline b;
	int r, cpu, async;

	(void)arg;
	if (sched_getaffinity(0, sizeof(all), &all))
		return ktap_fail("sched_getaffinity: %s", strerror(errno));
	r = knobs_small_batches(4, K_THREADS, 0);
	if (!r)
		r = baseline_take(&b);
	if (!r)
		r = load_8m_threads(false, &control);
	if (r)
		return r;
	if (control < 2)
		return ktap_skip("alloc_threads=0 gives %u thread here: one CPU in the caller's node",
				 control);
	cpu = sched_getcpu();
	CPU_ZERO(&one);
	CPU_SET(cpu < 0 ? 0 : cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		return ktap_fail("sched_setaffinity to CPU %d: %s", cpu,
				 strerror(errno));
	for (async = 0; !r && async < 2; async++) {
		r = load_8m_threads(async, &threads);
		if (!r && threads != 1)
			r = ktap_fail("%s load bound to CPU %d: alloc_threads_max %u, expected 1 (%u unbound)",
				      async ? "async" : "sync", cpu, threads,
				      control);
	}
	if (sched_setaffinity(0, sizeof(all), &all) && !r)
		r = ktap_fail("sched_setaffinity back: %s", strerror(errno));
	return r ? r : baseline_back(&b, "after closing the buffers");
}

/* Nodes that do not exist, or have no memory: EINVAL. */
static int t_numa_bad_node(const void *arg)
{
	static const struct seg_spec spec = { "8m", 0, P(1), 0 };
	bool possible[MAX_NODES];
	int nodes[4], n = 0, i, e, r;
	struct heapload_load l;
	struct baseline b;
	struct plan p;

	(void)arg;
	nodes[n++] = 1000;
	nodes[n++] = -1;
	if (numa_need(1) == KTAP_PASS &&
	    node_list(NODE_SYS "/possible", possible) > 0) {
		for (i = 0; i < MAX_NODES; i++)
			if (possible[i] && !mem_node[i]) {
				nodes[n++] = i;
				ktap_print_msg("node %d is possible but has no memory",
					       i);
				break;
			}
	}
	r = plan_open(&p, &spec, 1);
	if (r)
		return r;
	for (i = 0; i < n && !r; i++) {
		r = baseline_take(&b);
		if (r)
			break;
		req_init(&l, &p, D);
		l.flags |= HEAPLOAD_LOAD_NUMA_NODE;
		l.numa_node = nodes[i];
		e = load(&l);
		if (!e)
			close(l.dmabuf_fd);
		if (e != EINVAL)
			r = ktap_fail("node %d: %s, expected EINVAL", nodes[i],
				      hl_errname(e));
		else
			r = baseline_back(&b, "after the refused load");
	}
	plan_close(&p);
	return r;
}

static int t_numa_restricted(const void *arg)
{
	static const struct seg_spec spec = { "8m", 0, P(1), 0 };
	struct heapload_load l;
	struct baseline b;
	struct plan p;
	int r, e;

	(void)arg;
	r = plan_open(&p, &spec, 1);
	if (r)
		return r;
	r = baseline_take(&b);
	if (!r) {
		req_init(&l, &p, 0);
		snprintf(l.heap, sizeof(l.heap), "%s", HL_RESTRICTED_NAME);
		l.flags |= HEAPLOAD_LOAD_NUMA_NODE;
		l.numa_node = 0;
		e = load(&l);
		if (!e)
			close(l.dmabuf_fd);
		if (e != EOPNOTSUPP)
			r = ktap_fail("%s on node 0: %s, expected EOPNOTSUPP",
				      HL_RESTRICTED_NAME, hl_errname(e));
		else
			r = baseline_back(&b, "after the refused load");
	}
	plan_close(&p);
	return r;
}

/* Without the flag: placed_node is a node with memory, or -1. */
static int t_numa_default(const void *arg)
{
	static const struct seg_spec spec = { "8m", 0, 0, 0 };
	uint64_t bytes[MAX_NODES], size;
	struct heapload_load l;
	struct plan p;
	bool have;
	int r, e, i, on = 0, only = -1;

	(void)arg;
	r = numa_need(1);
	if (r)
		return r;
	r = plan_open(&p, &spec, 1);
	if (r)
		return r;
	req_init(&l, &p, D);
	e = load(&l);
	if (e) {
		r = ktap_fail("load: %s", hl_errname(e));
		goto out;
	}
	if (l.placed_node != -1 &&
	    (l.placed_node < 0 || l.placed_node >= MAX_NODES ||
	     !mem_node[l.placed_node]))
		r = ktap_fail("placed_node %d: not a node with memory, nor -1",
			      l.placed_node);
	if (!r)
		r = inspect_nodes(l.dmabuf_fd, bytes, &have, &size);
	if (!r && have) {
		for (i = 0; i < MAX_NODES; i++)
			if (bytes[i]) {
				on++;
				only = i;
			}
		if (on == 1 && l.placed_node != only)
			r = ktap_fail("all pages on node %d, placed_node %d",
				      only, l.placed_node);
		else if (on > 1 && l.placed_node != -1)
			r = ktap_fail("pages on %d nodes, placed_node %d, expected -1",
				      on, l.placed_node);
	}
	if (!r)
		ktap_print_msg("placed_node %d", l.placed_node);
	close(l.dmabuf_fd);
out:
	plan_close(&p);
	return r;
}

/* ---- older structs ---- */

/*
 * A request of version @size (128 or 168 bytes) through @req, in a 272-byte
 * struct whose bytes past @size must stay as they were.
 */
static int old_struct(uint32_t size, unsigned long req)
{
	static const struct seg_spec spec = { "unaligned", 0, 0, 0 };
	struct heapload_load l;
	unsigned char *tail;
	struct plan p;
	size_t i;
	int r, e;

	r = plan_open(&p, &spec, 1);
	if (r)
		return r;
	hl_load_init(&l, p.seg[0].file_fd, D, 0, 0);
	l.size = size;
	tail = (unsigned char *)&l + size;
	memset(tail, 0xee, sizeof(l) - size);
	e = hl_ioctl(loader_fd, req, &l);
	if (e) {
		r = ktap_fail("%u-byte request: %s", size, hl_errname(e));
		goto out;
	}
	for (i = 0; i < sizeof(l) - size; i++)
		if (tail[i] != 0xee) {
			r = ktap_fail("byte %zu, past the caller's %u, was written",
				      size + i, size);
			break;
		}
	if (!r) {
		/* error_segment is past a version 0/1 struct: check by hand. */
		r = l.loaded == p.total && l.buf_size == hl_page_up(p.total) ?
		    check_content(l.dmabuf_fd, NULL, l.buf_size, &p, 0) :
		    ktap_fail("loaded %llu buf_size %llu, expected %llu and %llu",
			      (ull)l.loaded, (ull)l.buf_size, (ull)p.total,
			      (ull)hl_page_up(p.total));
	}
	close(l.dmabuf_fd);
out:
	plan_close(&p);
	return r;
}

static int t_ver1(const void *arg)
{
	(void)arg;
	return old_struct(HEAPLOAD_LOAD_SIZE_VER1, HEAPLOAD_IOC_LOAD_VER1);
}

static int t_ver0(const void *arg)
{
	(void)arg;
	return old_struct(HEAPLOAD_LOAD_SIZE_VER0, HEAPLOAD_IOC_LOAD_VER0);
}

/* RESULT with a version 1 struct: EINVAL. */
static int t_result_ver1(const void *arg)
{
	static const struct seg_spec spec = { "8m", 0, 0, 0 };
	struct heapload_load l, res;
	struct plan p;
	int r, e;

	(void)arg;
	r = plan_open(&p, &spec, 1);
	if (r)
		return r;
	req_init(&l, &p, D);
	r = load_async(&l);
	if (!r) {
		memset(&res, 0, sizeof(res));
		res.size = HEAPLOAD_LOAD_SIZE_VER1;
		e = hl_ioctl(l.load_fd,
			     _IOC(_IOC_READ | _IOC_WRITE, HEAPLOAD_IOC_MAGIC, 0x01,
				  HEAPLOAD_LOAD_SIZE_VER1), &res);
		if (e != EINVAL)
			r = ktap_fail("RESULT with a %u-byte struct: %s, expected EINVAL",
				      HEAPLOAD_LOAD_SIZE_VER1, hl_errname(e));
		close(l.load_fd);
	}
	plan_close(&p);
	return r;
}

/* ---- the program ---- */

static int t_knobs_restored(const void *arg)
{
	(void)arg;
	return hl_knobs_restored(&knobs);
}

static int t_no_leak(const void *arg)
{
	(void)arg;
	return hl_check_no_leak("after every test");
}

static const struct hl_test tests[] = {
	{ "segments_three_files_out_of_order_direct", t_segments, &shards_direct },
	{ "segments_three_files_out_of_order_buffered", t_segments, &shards_buffered },
	{ "segments_same_file_twice_direct", t_segments, &twice_direct },
	{ "segments_same_file_twice_buffered", t_segments, &twice_buffered },
	{ "segments_ranges_of_one_file_direct", t_segments, &ranges_direct },
	{ "segments_ranges_of_one_file_buffered", t_segments, &ranges_buffered },
	{ "segments_larger_segment_struct", t_segment_size_larger, NULL },
	{ "segments_overlap_einval", t_bad, &bad_overlap },
	{ "segments_too_many_e2big", t_too_many, NULL },
	{ "segments_segment_size_small_einval", t_bad, &bad_segment_size },
	{ "segments_nonzero_flags_einval", t_bad, &bad_seg_flags },
	{ "segments_with_file_fd_einval", t_bad, &bad_file_fd },
	{ "segments_with_offset_einval", t_bad, &bad_offset },
	{ "segments_with_length_einval", t_bad, &bad_length },
	{ "segments_pointer_without_count_einval", t_bad, &bad_no_count },
	{ "segments_direct_misaligned_buf_offset_einval", t_bad, &bad_misaligned_buf },
	{ "segments_closed_fd_in_segment_2_ebadf", t_bad, &bad_closed_fd },
	{ "segments_file_shorter_than_segment_einval", t_bad, &bad_file_short },
	{ "segments_file_shorter_than_segment_direct_einval", t_bad, &bad_file_short_direct },
	{ "request_async_with_progress_einval", t_bad, &bad_async_progress },
	{ "request_verify_without_digest_einval", t_bad, &bad_verify_no_alg },
	{ "request_unknown_digest_einval", t_bad, &bad_unknown_alg },
	{ "request_expected_digest_without_verify_einval", t_bad, &bad_expected_no_verify },
	{ "request_xxh64_expected_past_8_bytes_einval", t_bad, &bad_xxh64_tail },
	{ "request_target_without_into_einval", t_bad, &bad_target_no_into },
	{ "request_numa_node_without_flag_einval", t_bad, &bad_node_no_flag },
	{ "into_system_buffer_direct", t_into_system, &into_direct },
	{ "into_system_buffer_buffered", t_into_system, &into_buffered },
	{ "into_restricted_buffer_crc", t_into_restricted, NULL },
	{ "into_regular_file_exdev", t_into_target, &tgt_file },
	{ "into_memfd_exdev", t_into_target, &tgt_memfd },
	{ "into_other_exporter_exdev", t_into_foreign, NULL },
	{ "into_read_only_dmabuf_fd_ebadf", t_into_target, &tgt_rdonly },
	{ "into_closed_fd_ebadf", t_into_target, &tgt_closed },
	{ "into_buffer_too_small_enospc", t_into_target, &tgt_small },
	{ "into_with_heap_name_einval", t_into_target, &tgt_heap_name },
	{ "into_target_of_running_async_load_ebusy", t_into_busy, NULL },
	{ "into_target_a_device_holds_mapped_ebusy", t_into_held, NULL },
	{ "device_map_of_target_during_async_load_ebusy", t_map_during_load, NULL },
	{ "async_poll_then_result_then_ealready", t_async_poll, NULL },
	{ "async_result_while_running_eagain_progress", t_async_progress, NULL },
	{ "async_three_loads_in_flight", t_async_several, NULL },
	{ "async_close_load_fd_cancels_no_leak", t_async_cancel, NULL },
	{ "async_result_on_loader_fd_enotty", t_result_not_load_fd, NULL },
	{ "async_result_ver1_struct_einval", t_result_ver1, NULL },
	{ "digest_userspace_known_vectors", t_digest_vectors, NULL },
	{ "digest_sha256_direct_computed_verified", t_digest, &dg_sha_direct },
	{ "digest_sha256_buffered_computed_verified", t_digest, &dg_sha_buffered },
	{ "digest_xxh64_direct_computed_verified", t_digest, &dg_xxh_direct },
	{ "digest_xxh64_buffered_computed_verified", t_digest, &dg_xxh_buffered },
	{ "digest_sha256_wrong_ebadmsg", t_digest_wrong, &dg_sha_direct },
	{ "digest_xxh64_wrong_ebadmsg", t_digest_wrong, &dg_xxh_buffered },
	{ "digest_sha256_restricted_verified", t_digest, &dg_sha_restricted },
	{ "digest_xxh64_restricted_verified", t_digest, &dg_xxh_restricted },
	{ "digest_sha256_restricted_wrong_ebadmsg", t_digest_wrong, &dg_sha_restricted },
	{ "digest_async_verified_and_wrong", t_digest_async, NULL },
	{ "numa_node_1_placed", t_numa_node, &node1 },
	{ "numa_node_0_placed", t_numa_node, &node0 },
	{ "numa_node_1_async_placed", t_numa_node, &node1_async },
	{ "numa_node_1_two_threads_placed_sync_and_async", t_numa_node,
	  &node1_parallel },
	{ "mempolicy_caller_one_thread_sync_and_async", t_mempolicy_one_thread, NULL },
	{ "caller_on_one_cpu_one_thread_sync_and_async", t_affinity_one_thread, NULL },
	{ "numa_missing_or_memoryless_node_einval", t_numa_bad_node, NULL },
	{ "numa_restricted_eopnotsupp", t_numa_restricted, NULL },
	{ "numa_default_placed_node_valid", t_numa_default, NULL },
	{ "compat_ver1_struct_168_bytes", t_ver1, NULL },
	{ "compat_ver0_struct_128_bytes", t_ver0, NULL },
};

/* Last: what every test above must have left behind. */
static const struct hl_test final_tests[] = {
	{ "params_restored", t_knobs_restored, NULL },
	{ "no_leak_after_tests", t_no_leak, NULL },
};

static int t_present(void)
{
	const char *what = HL_LOADER_PATH;
	int r, e;

	r = hl_precondition_module();
	if (r)
		return r;
	loader_fd = open(HL_LOADER_PATH, O_RDWR | O_CLOEXEC);
	if (loader_fd >= 0) {
		what = HL_HEAP_PATH;
		system_heap_fd = open(HL_HEAP_PATH, O_RDWR | O_CLOEXEC);
	}
	if (loader_fd < 0 || system_heap_fd < 0) {
		e = errno;
		hl_precondition_skip("%s unusable", what);
		return ktap_fail("module loaded but open %s: %s", what,
				 strerror(e));
	}
	if (!hl_debugfs_mounted())
		ktap_print_msg("debugfs not mounted: the inspect-based checks will fail");
	return KTAP_PASS;
}

static void on_fatal_signal(int sig)
{
	hl_knobs_restore(&knobs, NULL);
	signal(sig, SIG_DFL);
	raise(sig);
}

int main(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGALRM };
	char nodes[128] = "?";
	uint64_t t0 = hl_now_ms();
	size_t i;

	ktap_print_header();
	ktap_set_plan(1 + ARRAY_LEN(tests) + ARRAY_LEN(final_tests));
	ktap_print_msg("test data in %s", hl_data_dir());
	hl_read_word(NODE_SYS "/has_memory", nodes, sizeof(nodes));
	ktap_print_msg("NUMA nodes with memory: %s", nodes);
	hl_knobs_save(&knobs);
	for (i = 0; i < ARRAY_LEN(sigs); i++)
		signal(sigs[i], on_fatal_signal);
	ktap_report("loader_and_heap_present", t_present());
	hl_knobs_run_table(&knobs, tests, ARRAY_LEN(tests));
	hl_knobs_run_table(&knobs, final_tests, ARRAY_LEN(final_tests));
	if (system_heap_fd >= 0)
		close(system_heap_fd);
	if (loader_fd >= 0)
		close(loader_fd);
	ktap_print_msg("all tests took %llu ms", (ull)(hl_now_ms() - t0));
	ktap_finished();
}
