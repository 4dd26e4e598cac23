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
 * For each file and run, evicts the file from the page cache
 * (posix_fadvise POSIX_FADV_DONTNEED), or with --drop-caches drops the
 * whole page cache, and times every selected method (enum
 * hl_bench_method), then prints a table per file and, with --csv, one CSV
 * row per file and method. Module parameters changed for a method are
 * restored afterwards, also on error, at exit() and on SIGINT, SIGTERM
 * and SIGHUP.
 *
 * Return: %HL_EXIT_OK, or %HL_EXIT_TROUBLE if a method failed, nothing
 * could be measured or --drop-caches could not drop the cache.
 */
int hl_cmd_bench(const struct hl_args *a);

#endif /* HEAPLOAD_BENCH_H */
