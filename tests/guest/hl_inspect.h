/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a dma-buf holds, seen without mapping it, shared by restricted.c,
 * restricted_large.c and importer.c: zlib's CRC-32, and the debugfs file
 * heapload/inspect of the test builds of heapload. Write the number of a
 * dma-buf fd of the writing process to it, then read:
 *
 *   heap: <name>
 *   size: <bytes>
 *   restricted: <0|1>
 *   vmap: <0 or the -errno of an in-kernel vmap>
 *   crc32: <8 lower-case hex digits, zlib's crc32() of the whole buffer>
 *   chunks: <entries of the buffer's sg_table>
 *   chunk: 0x<phys> <bytes>      (one line per entry)
 *
 * Lines with other keys are left for later versions.
 */
#ifndef HEAPLOAD_TESTS_HL_INSPECT_H
#define HEAPLOAD_TESTS_HL_INSPECT_H

#include "hl_test.h"
#include "hl_knobs.h"
#include "ktap.h"

#define HL_INSPECT		HL_DEBUG_DIR "/inspect"
/* The inspect text of one buffer is never longer. */
#define HL_INSPECT_MAX		(1 << 20)

/* ---- CRC-32, as zlib's crc32() and the kernel's ~crc32_le(~0, ...) ---- */

#define HL_CRC32_POLY	0xedb88320u

static uint32_t hl_crc32_table[256];

static inline void hl_crc32_init(void)
{
	uint32_t c, n, k;

	for (n = 0; n < 256; n++) {
		for (c = n, k = 0; k < 8; k++)
			c = c & 1 ? HL_CRC32_POLY ^ (c >> 1) : c >> 1;
		hl_crc32_table[n] = c;
	}
}

/* zlib's crc32(@crc, @p, @len): continue @crc (0 to start) over @p. */
static inline uint32_t hl_crc32_update(uint32_t crc, const unsigned char *p,
				       size_t len)
{
	if (!hl_crc32_table[1])
		hl_crc32_init();
	crc = ~crc;
	while (len--)
		crc = hl_crc32_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* @a times @b modulo the CRC polynomial, bit-reflected as the CRC is. */
static inline uint32_t hl_crc32_mulmod(uint32_t a, uint32_t b)
{
	uint32_t m = 1u << 31, p = 0;

	for (;;) {
		if (a & m) {
			p ^= b;
			if (!(a & (m - 1)))
				break;
		}
		m >>= 1;
		b = b & 1 ? (b >> 1) ^ HL_CRC32_POLY : b >> 1;
	}
	return p;
}

/*
 * The CRC-32 of what @crc covers followed by @n zero bytes, without
 * reading them: each zero byte multiplies the register by x^8.
 */
static inline uint32_t hl_crc32_zeros(uint32_t crc, uint64_t n)
{
	uint32_t p = 1u << 31;		/* x^0 */
	uint32_t sq = 1u << 23;		/* x^8, then x^16, x^32, ... */

	for (; n; n >>= 1) {
		if (n & 1)
			p = hl_crc32_mulmod(sq, p);
		sq = hl_crc32_mulmod(sq, sq);
	}
	return ~hl_crc32_mulmod(p, ~crc);
}

/* hl_crc32_update() of @n bytes that all are @byte. */
static inline uint32_t hl_crc32_fill(uint32_t crc, unsigned char byte,
				     uint64_t n)
{
	unsigned char block[4096];
	size_t k;

	memset(block, byte, sizeof(block));
	for (; n; n -= k) {
		k = n < sizeof(block) ? (size_t)n : sizeof(block);
		crc = hl_crc32_update(crc, block, k);
	}
	return crc;
}

/* ---- the inspect file ---- */

/**
 * struct hl_chunk - one sg_table entry of a buffer, as inspect lists it
 * @phys:	its physical address
 * @len:	its bytes
 * @buf:	whose chunk, when the chunks of several buffers are checked
 *		together (0 from hl_inspect())
 */
struct hl_chunk {
	uint64_t phys;
	uint64_t len;
	int buf;
};

/**
 * struct hl_inspect - what inspect said about one dma-buf
 * @heap:	the "heap:" line
 * @size:	the "size:" line
 * @restricted:	the "restricted:" line
 * @vmap:	the "vmap:" line
 * @crc:	the "crc32:" line
 * @chunks:	the "chunks:" line
 * @n:		"chunk:" lines, in @chunk
 * @chunk:	malloc'ed; hl_inspect_free() frees it
 */
struct hl_inspect {
	char heap[HEAPLOAD_HEAP_NAME_MAX];
	uint64_t size;
	int restricted;
	int vmap;
	uint32_t crc;
	unsigned int chunks;
	unsigned int n;
	struct hl_chunk *chunk;
};

static inline void hl_inspect_free(struct hl_inspect *in)
{
	free(in->chunk);
	in->chunk = NULL;
	in->n = 0;
}

/* Write the number of @dfd to the open inspect file @ifd: 0 or the errno. */
static inline int hl_inspect_select(int ifd, int dfd)
{
	char num[16];
	ssize_t n;

	snprintf(num, sizeof(num), "%d", dfd);
	n = write(ifd, num, strlen(num));
	if (n < 0)
		return errno;
	return (size_t)n == strlen(num) ? 0 : EIO;
}

/* All of @ifd from offset 0, NUL-terminated, into a malloc'ed *@text. */
static inline int hl_inspect_text(int ifd, char **text)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap), *more;
	ssize_t n;

	for (;;) {
		if (!buf)
			return ktap_fail("out of memory for %s", HL_INSPECT);
		n = pread(ifd, buf + len, cap - 1 - len, len);
		if (n < 0) {
			free(buf);
			return ktap_fail("reading %s: %s", HL_INSPECT,
					 strerror(errno));
		}
		if (!n)
			break;
		len += n;
		if (len + 1 < cap)
			continue;
		if (cap >= HL_INSPECT_MAX) {
			free(buf);
			return ktap_fail("%s longer than %d bytes", HL_INSPECT,
					 HL_INSPECT_MAX);
		}
		cap *= 2;
		more = realloc(buf, cap);
		if (!more)
			free(buf);
		buf = more;
	}
	buf[len] = '\0';
	*text = buf;
	return KTAP_PASS;
}

static inline bool hl_is_lower_hex(const char *s, size_t len)
{
	size_t i;

	if (strlen(s) != len)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static inline int hl_inspect_add_chunk(struct hl_inspect *in, uint64_t phys,
				       uint64_t len, unsigned int *cap)
{
	struct hl_chunk *more;

	if (in->n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		more = realloc(in->chunk, *cap * sizeof(*more));
		if (!more)
			return ktap_fail("out of memory for %u chunks", *cap);
		in->chunk = more;
	}
	in->chunk[in->n].phys = phys;
	in->chunk[in->n].len = len;
	in->chunk[in->n].buf = 0;
	in->n++;
	return KTAP_PASS;
}

enum {
	HL_SEEN_HEAP = 1 << 0,
	HL_SEEN_SIZE = 1 << 1,
	HL_SEEN_RESTRICTED = 1 << 2,
	HL_SEEN_VMAP = 1 << 3,
	HL_SEEN_CRC = 1 << 4,
	HL_SEEN_CHUNKS = 1 << 5,
	HL_SEEN_ALL = (1 << 6) - 1,
};

/* Parse the inspect text; lines with other keys are left for later versions. */
static inline int hl_inspect_parse(char *text, struct hl_inspect *in)
{
	unsigned int seen = 0, cap = 0;
	char *line, *save = NULL, hex[16], extra;
	uint64_t phys, len;
	int r;

	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "heap: ", 6)) {
			if (sscanf(line, "heap: %63s", in->heap) != 1)
				goto bad;
			seen |= HL_SEEN_HEAP;
		} else if (!strncmp(line, "size: ", 6)) {
			if (sscanf(line, "size: %" SCNu64 " %c", &in->size,
				   &extra) != 1)
				goto bad;
			seen |= HL_SEEN_SIZE;
		} else if (!strncmp(line, "restricted: ", 12)) {
			if (sscanf(line, "restricted: %d %c", &in->restricted,
				   &extra) != 1)
				goto bad;
			seen |= HL_SEEN_RESTRICTED;
		} else if (!strncmp(line, "vmap: ", 6)) {
			if (sscanf(line, "vmap: %d %c", &in->vmap, &extra) != 1)
				goto bad;
			seen |= HL_SEEN_VMAP;
		} else if (!strncmp(line, "crc32: ", 7)) {
			if (sscanf(line, "crc32: %15s", hex) != 1 ||
			    !hl_is_lower_hex(hex, 8))
				goto bad;
			in->crc = (uint32_t)strtoul(hex, NULL, 16);
			seen |= HL_SEEN_CRC;
		} else if (!strncmp(line, "chunks: ", 8)) {
			if (sscanf(line, "chunks: %u %c", &in->chunks,
				   &extra) != 1)
				goto bad;
			seen |= HL_SEEN_CHUNKS;
		} else if (!strncmp(line, "chunk: ", 7)) {
			if (sscanf(line, "chunk: 0x%" SCNx64 " %" SCNu64 " %c",
				   &phys, &len, &extra) != 2)
				goto bad;
			r = hl_inspect_add_chunk(in, phys, len, &cap);
			if (r)
				return r;
		}
	}
	if (seen != HL_SEEN_ALL)
		return ktap_fail("%s lacks a line of: heap, size, restricted, vmap, crc32, chunks (have 0x%x of 0x%x)",
				 HL_INSPECT, seen, HL_SEEN_ALL);
	if (in->n != in->chunks)
		return ktap_fail("%s says chunks: %u, but lists %u", HL_INSPECT,
				 in->chunks, in->n);
	return KTAP_PASS;
bad:
	return ktap_fail("%s: unreadable line \"%s\"", HL_INSPECT, line);
}

/*
 * Everything the inspect file says about @dfd, into *@in (free it with
 * hl_inspect_free(), also after a failure); a ktap result.
 */
static inline int hl_inspect(int dfd, struct hl_inspect *in)
{
	char *text = NULL;
	int ifd, e, r;

	memset(in, 0, sizeof(*in));
	ifd = open(HL_INSPECT, O_RDWR | O_CLOEXEC);
	if (ifd < 0)
		return ktap_fail("open %s: %s (the test builds of heapload have it)",
				 HL_INSPECT, strerror(errno));
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
	r = hl_inspect_parse(text, in);
	free(text);
	return r;
}

#endif /* HEAPLOAD_TESTS_HL_INSPECT_H */
