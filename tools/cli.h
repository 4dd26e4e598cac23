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
 * struct hl_args - a parsed command line
 * @cmd:	the subcommand, or HL_CMD_HELP / HL_CMD_VERSION.
 * @file:	FILE argument of load, verify and bench (points into argv).
 * @heap:	--heap, default HEAPLOAD_DEFAULT_HEAP (points into argv or
 *		is a string literal).
 * @mode:	--direct or --buffered (default).
 * @offset:	--offset in bytes, default 0.
 * @length:	--length in bytes, default 0 (to the end of the file).
 * @sha256:	--sha256 was given.
 * @runs:	--runs of bench, default HL_DEFAULT_RUNS.
 */
struct hl_args {
	enum hl_cmd cmd;
	const char *file;
	const char *heap;
	enum hl_mode mode;
	uint64_t offset;
	uint64_t length;
	bool sha256;
	unsigned int runs;
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

#endif /* HEAPLOAD_CLI_H */
