/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * heapload bench: the loader against the classic ways of getting a file
 * into a dma-buf, side by side.
 */
#ifndef HEAPLOAD_BENCH_H
#define HEAPLOAD_BENCH_H

#include "cli.h"

/**
 * hl_cmd_bench() - run "heapload bench"
 * @a:	the parsed command line (files, runs, heap, range, csv, methods).
 *
 * For each file and run, drops the page cache (when root) and times every
 * selected method (enum hl_bench_method), then prints a table per file and,
 * with --csv, one CSV row per file and method. Module parameters changed
 * for a method are restored afterwards, also on error and on SIGINT,
 * SIGTERM and SIGHUP.
 *
 * Return: EXIT_SUCCESS, or EXIT_FAILURE if a method failed or nothing could
 * be measured.
 */
int hl_cmd_bench(const struct hl_args *a);

#endif /* HEAPLOAD_BENCH_H */
