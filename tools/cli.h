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
};

enum hl_mode {
	HL_MODE_BUFFERED = 0,	/* the default */
	HL_MODE_DIRECT,
};

/**
 * enum hl_bench_method - what heapload bench compares, in table order
 * @HL_BM_NORMAL:	dma-heap alloc + mmap + buffered read() into the map.
 * @HL_BM_UDMABUF:	memfd + mmap + O_DIRECT read + UDMABUF_CREATE.
 * @HL_BM_UDMABUF_PRESTART: the same, the read thread started before
 *			UDMABUF_CREATE.
 * @HL_BM_SYNC:		the loader, one batch (allocate all, then read), direct.
 * @HL_BM_GATHER_DIRECT: the loader with the module's defaults, direct.
 * @HL_BM_GATHER_BUFFERED: the loader with the module's defaults, buffered.
 * @HL_BM_ALLOC_ONLY:	floor: DMA_HEAP_IOCTL_ALLOC of the size alone.
 * @HL_BM_ODIRECT_FLOOR: floor: O_DIRECT read into pre-faulted memory.
 * @HL_BM_COUNT:	number of methods.
 */
enum hl_bench_method {
	HL_BM_NORMAL = 0,
	HL_BM_UDMABUF,
	HL_BM_UDMABUF_PRESTART,
	HL_BM_SYNC,
	HL_BM_GATHER_DIRECT,
	HL_BM_GATHER_BUFFERED,
	HL_BM_ALLOC_ONLY,
	HL_BM_ODIRECT_FLOOR,
	HL_BM_COUNT,
};

/** HL_BM_ALL - bit mask of every bench method */
#define HL_BM_ALL	((1U << HL_BM_COUNT) - 1)

/**
 * struct hl_args - a parsed command line
 * @cmd:	the subcommand, or HL_CMD_HELP / HL_CMD_VERSION.
 * @file:	FILE argument of load and verify, the first FILE of bench
 *		(points into argv).
 * @files:	all FILE arguments, in order (bench takes up to
 *		HL_MAX_FILES, load and verify exactly one).
 * @nfiles:	number of @files.
 * @heap:	--heap, default HEAPLOAD_DEFAULT_HEAP (points into argv or
 *		is a string literal).
 * @mode:	--direct or --buffered (default).
 * @offset:	--offset in bytes, default 0.
 * @length:	--length in bytes, default 0 (to the end of the file).
 * @sha256:	--sha256 was given.
 * @runs:	--runs of bench, default HL_DEFAULT_RUNS.
 * @no_progress: --no-progress of load and verify.
 * @csv:	--csv FILE of bench ("-" is stdout), or NULL.
 * @methods:	--methods of bench as a mask of 1 << enum hl_bench_method;
 *		default HL_BM_ALL.
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
	unsigned int runs;
	bool no_progress;
	const char *csv;
	unsigned int methods;
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
 * "--opt=VALUE"; "--" ends the options.
 *
 * Return: 0, or -EINVAL with @err set (a usage error).
 */
int hl_parse_args(int argc, char *const argv[], struct hl_args *args,
		  char *err, size_t err_size);

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
