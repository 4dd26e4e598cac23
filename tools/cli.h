/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Pure helpers of the heapload command: argument parsing and statistics.
 * Kept apart from heapload.c so that test_parse.c can test them.
 */
#ifndef HEAPLOAD_CLI_H
#define HEAPLOAD_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libheapload.h"

#define HL_DEFAULT_RUNS		5
#define HL_MAX_RUNS		1000
/** HL_MAX_FILES - most FILE arguments bench takes */
#define HL_MAX_FILES		64

enum hl_cmd {
	HL_CMD_NONE = 0,
	HL_CMD_HELP,
	HL_CMD_VERSION,
	HL_CMD_LOAD,
	HL_CMD_VERIFY,
	HL_CMD_INFO,
	HL_CMD_BENCH,
	HL_CMD_ALLOC,
};

/**
 * enum hl_mode - how load and verify read the file
 * @HL_MODE_AUTO:	the default: direct I/O, buffered where it cannot be.
 * @HL_MODE_DIRECT:	--direct: direct I/O or an error.
 * @HL_MODE_BUFFERED:	--buffered: through the page cache.
 */
enum hl_mode {
	HL_MODE_AUTO = 0,
	HL_MODE_DIRECT,
	HL_MODE_BUFFERED,
};

/*
 * Exit status, as cmp(1): 0 success (verify: same bytes), 1 verify found
 * different bytes, 2 trouble (any error, usage errors included).
 */
#define HL_EXIT_OK		0
#define HL_EXIT_MISMATCH	1
#define HL_EXIT_TROUBLE		2

/**
 * hl_exit_code() - exit status of a command's result
 * @result:	0 success, > 0 a mismatch, < 0 an error.
 *
 * Return: %HL_EXIT_OK, %HL_EXIT_MISMATCH or %HL_EXIT_TROUBLE.
 */
int hl_exit_code(int result);

/**
 * enum hl_fallback - why a load in the default mode did not use direct I/O
 * @HL_FB_NONE:		it did (or no fallback applies).
 * @HL_FB_UNALIGNED_OFFSET: --offset is not a multiple of the file's
 *			direct-I/O alignment.
 * @HL_FB_UNALIGNED_LENGTH: the alignment is larger than a page and the
 *			length rounded up to it would not fit the buffer.
 * @HL_FB_NO_O_DIRECT:	the file system refuses O_DIRECT (open(2) failed
 *			with EINVAL, or statx(2) reports no alignment).
 * @HL_FB_KERNEL_EINVAL: the kernel refused the direct load with EINVAL.
 * @HL_FB_UNALIGNED_AT:	--at (the buffer offset of the first FILE of a load
 *			--into) is not a multiple of the file's direct-I/O
 *			alignment.
 */
enum hl_fallback {
	HL_FB_NONE = 0,
	HL_FB_UNALIGNED_OFFSET,
	HL_FB_UNALIGNED_LENGTH,
	HL_FB_NO_O_DIRECT,
	HL_FB_KERNEL_EINVAL,
	HL_FB_UNALIGNED_AT,
};

/**
 * hl_direct_check() - can a range be read with direct I/O?
 * @offset:	first byte of the range.
 * @length:	bytes of the range (resolved: not 0 for "to the end").
 * @dio_align:	the file's direct-I/O offset alignment in bytes (statx(2)
 *		STATX_DIOALIGN, or the caller's fallback); 0: no direct I/O.
 * @page_size:	the page size in bytes.
 *
 * Applies the kernel's rules of %HEAPLOAD_IOC_LOAD: the offset must be a
 * multiple of @dio_align, and with @dio_align larger than a page the
 * length rounded up to it must not exceed the length rounded up to pages.
 * A length that is not a multiple is fine: the kernel reads whole blocks
 * and zeroes the buffer after the range.
 *
 * Return: %HL_FB_NONE, %HL_FB_NO_O_DIRECT, %HL_FB_UNALIGNED_OFFSET or
 * %HL_FB_UNALIGNED_LENGTH.
 */
enum hl_fallback hl_direct_check(uint64_t offset, uint64_t length,
				 uint64_t dio_align, uint64_t page_size);

/**
 * hl_fallback_decide() - the mode to load with, given a reason against
 *			   direct I/O
 * @requested:	the mode asked for (--direct, --buffered or neither).
 * @why:	%HL_FB_NONE, or why direct I/O is not possible.
 * @use:	receives %HL_MODE_DIRECT or %HL_MODE_BUFFERED.
 *
 * Return: 0, or -EINVAL if @requested is %HL_MODE_DIRECT and @why says it
 * cannot be done (then @use is untouched): --direct never falls back.
 */
int hl_fallback_decide(enum hl_mode requested, enum hl_fallback why,
		       enum hl_mode *use);

/** hl_fallback_name() - key of a reason in JSON, e.g. "unaligned_offset" */
const char *hl_fallback_name(enum hl_fallback why);

/**
 * hl_fallback_text() - a reason as a sentence fragment for people
 * @why:	the reason.
 * @offset:	the range's offset, for %HL_FB_UNALIGNED_OFFSET; the buffer
 *		offset, for %HL_FB_UNALIGNED_AT.
 * @dio_align:	the alignment, for the unaligned reasons.
 * @buf:	receives the text, e.g. "offset 100 is not a multiple of the
 *		direct-I/O alignment (512 bytes)".
 * @size:	size of @buf.
 *
 * Return: @buf.
 */
const char *hl_fallback_text(enum hl_fallback why, uint64_t offset,
			     uint64_t dio_align, char *buf, size_t size);

/**
 * hl_check_range() - what the kernel would refuse, checked in user space
 * @is_dir:	the file is a directory.
 * @is_reg:	the file is a regular file.
 * @size:	its size in bytes.
 * @offset:	--offset.
 * @length:	--length; 0 means to the end of the file.
 * @len:	receives the resolved length on success.
 *
 * Return: NULL if the range can be loaded, else the problem ("is a
 * directory", "not a regular file", "offset past end of file",
 * "offset + length overflows", "range past end of file", "empty file,
 * nothing to load", "offset at end of file, nothing to load").
 */
const char *hl_check_range(bool is_dir, bool is_reg, uint64_t size,
			   uint64_t offset, uint64_t length, uint64_t *len);

/**
 * struct hl_load_ctx - what an error message of a load may mention
 * @heap:	the heap name.
 * @direct:	the failed load used direct I/O.
 * @fallback:	%HL_FB_NONE, or why it used buffered I/O instead.
 * @numa:	--numa-node was given.
 * @into:	the load fills an existing buffer (--into).
 */
struct hl_load_ctx {
	const char *heap;
	bool direct;
	enum hl_fallback fallback;
	bool numa;
	bool into;
};

/**
 * hl_load_strerror() - message for an errno of %HEAPLOAD_IOC_LOAD
 * @err:	the positive errno.
 * @ctx:	the request.
 * @buf:	receives the message (no file name, no newline), e.g. "no heap
 *		named 'x' (see 'heapload info')".
 * @size:	size of @buf.
 *
 * Follows the errnos documented in <linux/heapload.h>; others give
 * strerror(@err).
 *
 * Return: @buf.
 */
const char *hl_load_strerror(int err, const struct hl_load_ctx *ctx,
			     char *buf, size_t size);

/**
 * hl_json_escape() - a string as a JSON string literal, quotes included
 * @in:		the bytes, NUL-terminated; NULL gives "null" (no quotes).
 * @out:	receives the literal: '"' and '\' escaped, control
 *		characters as \b \f \n \r \t or \u00XX, DEL as \u007f,
 *		valid UTF-8 as is, each byte of invalid UTF-8 as \ufffd.
 * @size:	size of @out.
 *
 * Return: length of the literal, or -ENOSPC if @out is too small (it then
 * holds "").
 */
int hl_json_escape(const char *in, char *out, size_t size);

/** HL_JSON_DEPTH - most nested objects and arrays struct hl_json writes */
#define HL_JSON_DEPTH	8

/**
 * struct hl_json - writes one JSON object on one line
 * @f:		where to.
 * @depth:	objects and arrays open.
 * @first:	per level: nothing written in it yet.
 *
 * hl_json_begin() opens the object, the hl_json_*() of a value write
 * "KEY": VALUE (KEY NULL inside an array), hl_json_end() closes it with a
 * newline. Strings go through hl_json_escape().
 */
struct hl_json {
	FILE *f;
	unsigned int depth;
	bool first[HL_JSON_DEPTH];
};

void hl_json_begin(struct hl_json *j, FILE *f);
void hl_json_end(struct hl_json *j);
/** hl_json_open() - start a nested object ('{') or array ('[') */
void hl_json_open(struct hl_json *j, const char *key, char bracket);
/** hl_json_close() - end it ('}' or ']') */
void hl_json_close(struct hl_json *j, char bracket);
void hl_json_str(struct hl_json *j, const char *key, const char *val);
void hl_json_u64(struct hl_json *j, const char *key, uint64_t val);
void hl_json_bool(struct hl_json *j, const char *key, bool val);
void hl_json_null(struct hl_json *j, const char *key);
/** hl_json_num() - a number with @decimals digits; NaN or infinity: null */
void hl_json_num(struct hl_json *j, const char *key, double val, int decimals);

/**
 * enum hl_bench_method - what heapload bench compares, in table order
 * @HL_BM_NORMAL:	dma-heap alloc + mmap + buffered read() into the map.
 * @HL_BM_UDMABUF:	memfd + mmap + O_DIRECT read + UDMABUF_CREATE.
 * @HL_BM_UDMABUF_PRESTART: the same, the read thread started before
 *			UDMABUF_CREATE.
 * @HL_BM_SYNC:		the loader, one batch (allocate all, then read), direct.
 * @HL_BM_GATHER_DIRECT: the loader with the module's defaults, direct,
 *			reading through bvec (batch_mapping=bvec).
 * @HL_BM_GATHER_DIRECT_1T: the same with alloc_threads=1: one allocating
 *			thread, the caller's.
 * @HL_BM_GATHER_DIRECT_VMAP: the same with batch_mapping=vmap: each batch
 *			read through a vmap of its pages.
 * @HL_BM_GATHER_SHA256: the same, the kernel verifying a SHA-256 digest.
 * @HL_BM_GATHER_XXH64: the same, the kernel verifying an XXH64 digest.
 * @HL_BM_GATHER_BUFFERED: the loader with the module's defaults, buffered,
 *			reading through bvec (batch_mapping=bvec).
 * @HL_BM_GATHER_BUFFERED_VMAP: the same with batch_mapping=vmap.
 * @HL_BM_ALLOC_ONLY:	floor: DMA_HEAP_IOCTL_ALLOC of the size alone, on the
 *			loader's heap, the module's parameters as found.
 * @HL_BM_ALLOC_ONLY_1T: the same with alloc_threads=1.
 * @HL_BM_ODIRECT_FLOOR: floor: O_DIRECT read into pre-faulted memory.
 * @HL_BM_COUNT:	number of methods.
 */
enum hl_bench_method {
	HL_BM_NORMAL = 0,
	HL_BM_UDMABUF,
	HL_BM_UDMABUF_PRESTART,
	HL_BM_SYNC,
	HL_BM_GATHER_DIRECT,
	HL_BM_GATHER_DIRECT_1T,
	HL_BM_GATHER_DIRECT_VMAP,
	HL_BM_GATHER_SHA256,
	HL_BM_GATHER_XXH64,
	HL_BM_GATHER_BUFFERED,
	HL_BM_GATHER_BUFFERED_VMAP,
	HL_BM_ALLOC_ONLY,
	HL_BM_ALLOC_ONLY_1T,
	HL_BM_ODIRECT_FLOOR,
	HL_BM_COUNT,
};

/** HL_BM_ALL - bit mask of every bench method */
#define HL_BM_ALL	((1U << HL_BM_COUNT) - 1)

/* Method masks are 1U << method in an unsigned int (struct hl_args). */
_Static_assert(HL_BM_COUNT < sizeof(unsigned int) * 8,
	       "bench methods do not fit a mask of unsigned int");

/**
 * struct hl_args - a parsed command line
 * @cmd:	the subcommand, or HL_CMD_HELP / HL_CMD_VERSION.
 * @file:	the first FILE argument (points into argv).
 * @files:	all FILE arguments, in order (load and bench take up to
 *		HL_MAX_FILES, verify exactly one).
 * @nfiles:	number of @files.
 * @heap:	--heap, default HEAPLOAD_DEFAULT_HEAP (points into argv or
 *		is a string literal).
 * @mode:	--direct, --buffered, or %HL_MODE_AUTO (default).
 * @offset:	--offset in bytes, default 0.
 * @length:	--length in bytes, default 0 (to the end of the file).
 * @sha256:	--sha256 was given (with or without a value).
 * @digest_alg:	%HEAPLOAD_DIGEST_SHA256 with --sha256, %HEAPLOAD_DIGEST_XXH64
 *		with --xxh64, else %HEAPLOAD_DIGEST_NONE.
 * @verify_digest: a value was given to --sha256 or --xxh64: the kernel
 *		checks it (%HEAPLOAD_LOAD_VERIFY).
 * @expected_digest: that value, zero-padded (heapload_digest_parse()).
 * @numa_node:	--numa-node of load and verify, or -1.
 * @runs:	--runs of bench, default HL_DEFAULT_RUNS.
 * @no_progress: --no-progress of load and verify.
 * @csv:	--csv FILE of bench ("-" is stdout), or NULL.
 * @methods:	--methods of bench as a mask of 1 << enum hl_bench_method;
 *		default HL_BM_ALL.
 * @json:	--json of load, verify and info.
 * @drop_caches: --drop-caches of bench: drop the whole page cache before
 *		each run instead of evicting only the measured file.
 * @into_fd:	--into FD of load: the inherited heapload dma-buf to fill,
 *		or -1 for a new buffer.
 * @at:		--at of load --into: the buffer offset of the first FILE.
 * @async:	--async of load: start the load, poll it, print progress.
 * @alloc_size:	SIZE of alloc, in bytes.
 * @command:	COMMAND [ARG...] of alloc, NULL-terminated (points into
 *		argv).
 */
struct hl_args {
	enum hl_cmd cmd;
	const char *file;
	const char *files[HL_MAX_FILES];
	unsigned int nfiles;
	const char *heap;
	enum hl_mode mode;
	uint64_t offset;
	uint64_t length;
	bool sha256;
	uint32_t digest_alg;
	bool verify_digest;
	uint8_t expected_digest[HEAPLOAD_DIGEST_SIZE];
	int numa_node;
	unsigned int runs;
	bool no_progress;
	const char *csv;
	unsigned int methods;
	bool json;
	bool drop_caches;
	int into_fd;
	uint64_t at;
	bool async;
	uint64_t alloc_size;
	char *const *command;
};

/**
 * hl_parse_args() - parse the heapload command line
 * @argc:	as given to main().
 * @argv:	as given to main(); argv[0] is skipped. Not modified.
 * @args:	receives the result.
 * @err:	receives a one-line message (no program name, no newline)
 *		when parsing fails.
 * @err_size:	size of @err.
 *
 * Options may appear before or after FILE, as "--opt VALUE" or
 * "--opt=VALUE"; "--" ends the options. The value of --sha256 and --xxh64
 * is optional: "--sha256=HEX", or "--sha256 HEX" when the next argument
 * is a digest of that algorithm (64, resp. 16, hex digits); otherwise the
 * next argument is not theirs. --offset and --length take one FILE.
 * alloc takes SIZE, then COMMAND [ARG...]: the first argument after SIZE
 * that is not an option, or everything after "--", ends the parsing.
 *
 * Return: 0, or -EINVAL with @err set (a usage error).
 */
int hl_parse_args(int argc, char *const argv[], struct hl_args *args,
		  char *err, size_t err_size);

/**
 * hl_layout_segments() - where each file of a load lands in the buffer
 * @lens:	bytes of each file's range; none 0.
 * @aligns:	alignment of each file's start in the buffer: a power of two
 *		(the page size, or with direct I/O the larger of the page
 *		size and the file's direct-I/O alignment).
 * @n:		number of files.
 * @offs:	receives each file's buffer offset: the first at 0, each
 *		next one at the end of the previous one (its length rounded
 *		up to its alignment) rounded up to its own alignment.
 * @end:	receives the end of the last range.
 *
 * Return: 0, -EINVAL for a length of 0 or an alignment that is not a
 * power of two, -EOVERFLOW if an offset passes 2^63 - 1 (the largest
 * file and buffer offset).
 */
int hl_layout_segments(const uint64_t *lens, const uint64_t *aligns,
		       unsigned int n, uint64_t *offs, uint64_t *end);

/**
 * hl_layout_segments_at() - hl_layout_segments() from buffer offset @start
 * @start:	the buffer offset of the first file, taken as it is (a load
 *		into an existing buffer, --at); the next ones follow as in
 *		hl_layout_segments(), which is this with @start 0.
 * @lens:	as for hl_layout_segments().
 * @aligns:	as for hl_layout_segments().
 * @n:		as for hl_layout_segments().
 * @offs:	as for hl_layout_segments().
 * @end:	as for hl_layout_segments().
 *
 * Return: as hl_layout_segments(); -EOVERFLOW also for a @start past
 * 2^63 - 1.
 */
int hl_layout_segments_at(uint64_t start, const uint64_t *lens,
			  const uint64_t *aligns, unsigned int n, uint64_t *offs,
			  uint64_t *end);

/** hl_cmd_name() - name of a subcommand as typed, or "heapload" */
const char *hl_cmd_name(enum hl_cmd cmd);

/**
 * hl_median() - median of @n values
 * @v:	the values; sorted in place.
 * @n:	how many; 0 yields 0.
 *
 * Return: the middle value, or the mean of the two middle ones for even @n.
 */
double hl_median(double *v, size_t n);

/**
 * hl_rate_mbs() - throughput in MB/s (10^6 bytes per second)
 * @bytes:	bytes transferred.
 * @ns:		time taken in nanoseconds; 0 counts as 1.
 */
double hl_rate_mbs(uint64_t bytes, uint64_t ns);

/** hl_bench_method_name() - name of a bench method as in --methods, or "?" */
const char *hl_bench_method_name(unsigned int method);

/**
 * hl_parse_methods() - parse a --methods list
 * @list:	comma-separated method names (see hl_bench_method_name()).
 * @mask:	receives 1 << method for each name; untouched on failure.
 *
 * Return: 0, or -EINVAL for an empty list, an empty or unknown name.
 */
int hl_parse_methods(const char *list, unsigned int *mask);

/**
 * struct hl_summary - median, minimum and maximum of a sample
 * @median:	the middle value (mean of the two middle ones for an even
 *		count); NAN for an empty sample.
 * @min:	the smallest value; NAN for an empty sample.
 * @max:	the largest value; NAN for an empty sample.
 */
struct hl_summary {
	double median;
	double min;
	double max;
};

/**
 * hl_summarize() - median, min and max of @n values
 * @v:	the values; sorted in place. May be NULL if @n is 0.
 * @n:	how many.
 * @s:	receives the result.
 */
void hl_summarize(double *v, size_t n, struct hl_summary *s);

/**
 * hl_ratio() - @num / @den for tables
 * @num:	numerator, e.g. a method's median time.
 * @den:	denominator, e.g. the median time of the reference method.
 *
 * Return: the quotient, or NAN if either is NAN or @den is not positive.
 */
double hl_ratio(double num, double den);

/**
 * hl_csv_field() - one CSV field (RFC 4180)
 * @in:		the text; NULL is an empty field.
 * @out:	receives the field, quoted with doubled quotes if @in holds a
 *		comma, quote, CR or LF, else @in as is.
 * @size:	size of @out.
 *
 * Return: 0, or -ENOSPC if @out is too small (it then holds "").
 */
int hl_csv_field(const char *in, char *out, size_t size);

/**
 * hl_csv_num() - a number as a CSV field
 * @v:		the value; NAN or an infinity gives an empty field.
 * @decimals:	digits after the point (0 to 9).
 * @out:	receives the text, "%.*f"; a value that rounds to zero is
 *		written without a minus sign.
 * @size:	size of @out.
 *
 * Return: 0, or -ENOSPC if @out is too small (it then holds "").
 */
int hl_csv_num(double v, int decimals, char *out, size_t size);

/**
 * hl_meminfo_kb() - one value of /proc/meminfo
 * @text:	the file's contents, NUL-terminated.
 * @key:	the name before the colon, e.g. "Cached".
 * @kb:		receives the value in KiB; untouched on failure.
 *
 * Return: 0, or -ENOENT if no line starts with "@key:" followed by a number.
 */
int hl_meminfo_kb(const char *text, const char *key, uint64_t *kb);

/**
 * hl_batch_mb_for() - gather_batch_mb that loads @bytes in one batch
 * @bytes:	size of the load.
 *
 * Return: @bytes in MiB rounded up, at least 1 and at most 65536 (the
 * parameter's range).
 */
unsigned int hl_batch_mb_for(uint64_t bytes);

/**
 * hl_format_progress() - one line of the load progress bar
 * @buf:	receives the line (no newline, no control characters).
 * @size:	size of @buf.
 * @done:	bytes loaded so far.
 * @total:	bytes to load; 0 if not known (then no bar and no percent).
 * @secs:	seconds since the load started.
 * @width:	characters of the bar between its brackets (0: no bar).
 *
 * Formats "[#####.....]  42%  430.0/1024.0 MB  215.3 MB/s" (MB are 10^6
 * bytes; @done above @total counts as @total).
 *
 * Return: length of the line, truncated to @size - 1.
 */
int hl_format_progress(char *buf, size_t size, uint64_t done, uint64_t total,
		       double secs, unsigned int width);

/**
 * hl_parse_size() - parse a byte count with an optional suffix
 * @str:	decimal digits, optionally followed by a suffix: B (bytes);
 *		K, M, G, T alone or with "iB" (KiB = 1024, MiB, GiB, TiB);
 *		KB, MB, GB, TB (1000-based). The letter may be lower case
 *		("4k" is 4096, "1kB" is 1000); "B" and "iB" may not. No
 *		sign, spaces or other text.
 * @out:	receives the value in bytes; untouched on failure.
 *
 * Return: 0, -EINVAL if @str or @out is NULL or @str is malformed,
 * -ERANGE if the value does not fit in 64 bits.
 */
int hl_parse_size(const char *str, uint64_t *out);

/**
 * hl_format_hex() - lower-case hex of a byte string
 * @in:		the bytes; may be NULL if @len is 0.
 * @len:	number of bytes.
 * @out:	receives 2 * @len hex digits and a NUL.
 * @out_size:	size of @out in bytes; at least 2 * @len + 1.
 *
 * Return: 0, -EINVAL if @out is NULL or @in is NULL with @len > 0,
 * -ENOSPC if @out_size is too small (then @out is untouched).
 */
int hl_format_hex(const unsigned char *in, size_t len, char *out,
			size_t out_size);

#endif /* HEAPLOAD_CLI_H */
