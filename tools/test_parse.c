// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Host unit tests of the pure parts of libheapload and the heapload
 * command: size parsing, hex formatting, SHA-256, argument parsing and
 * the statistics, CSV and progress-bar helpers of bench and load, JSON
 * escaping and writing, the direct-I/O fallback, range checks, error
 * messages and exit codes. Prints KTAP and ends with "N passed, N
 * failed"; exits 1 if any test failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "libheapload.h"
#include "util.h"

static bool check(bool cond, const char *what)
{
	if (!cond)
		printf("# check failed: %s\n", what);
	return cond;
}

#define CHECK(cond) ok &= check((cond), #cond)

/* ---- hl_parse_size ---- */

static int size_of(const char *s, uint64_t *v)
{
	*v = 0xdeadbeef;
	return hl_parse_size(s, v);
}

static bool parse_size_plain_decimal(void)
{
	bool ok = true;
	uint64_t v;

	CHECK(size_of("0", &v) == 0 && v == 0);
	CHECK(size_of("4096", &v) == 0 && v == 4096);
	CHECK(size_of("007", &v) == 0 && v == 7);
	CHECK(size_of("18446744073709551615", &v) == 0 && v == UINT64_MAX);
	return ok;
}

struct size_case {
	const char *text;
	uint64_t bytes;
};

static bool sizes_parse_to(const struct size_case *c, size_t n)
{
	bool ok = true;
	uint64_t v;
	size_t i;

	for (i = 0; i < n; i++) {
		if (size_of(c[i].text, &v) != 0 || v != c[i].bytes) {
			printf("# check failed: '%s' is not %llu\n", c[i].text,
			       (unsigned long long)c[i].bytes);
			ok = false;
		}
	}
	return ok;
}

static bool parse_size_binary_suffixes(void)
{
	static const struct size_case c[] = {
		{ "4K", 4096 }, { "4k", 4096 }, { "3M", 3ULL << 20 },
		{ "2m", 2ULL << 20 }, { "5G", 5ULL << 30 }, { "1g", 1ULL << 30 },
		{ "0K", 0 }, { "1T", 1ULL << 40 }, { "2t", 2ULL << 40 },
		{ "4KiB", 4096 }, { "4kiB", 4096 }, { "3MiB", 3ULL << 20 },
		{ "5GiB", 5ULL << 30 }, { "1TiB", 1ULL << 40 },
	};

	return sizes_parse_to(c, sizeof(c) / sizeof(c[0]));
}

static bool parse_size_decimal_suffixes(void)
{
	static const struct size_case c[] = {
		{ "4096B", 4096 }, { "1KB", 1000 }, { "1kB", 1000 },
		{ "3MB", 3000000 }, { "2GB", 2000000000ULL },
		{ "7TB", 7000000000000ULL }, { "0TB", 0 },
	};

	return sizes_parse_to(c, sizeof(c) / sizeof(c[0]));
}

static bool parse_size_rejects_malformed(void)
{
	static const char *const bad[] = {
		"", "K", "-1", "+1", " 1", "1 ", "1x", "1P", "1Kib", "1Kb",
		"1KIB", "1iB", "1i", "1KiBB", "1BK", "B", "KiB",
		"0x10", "1.5M", "1,000", "12K3",
	};
	bool ok = true;
	size_t i;
	uint64_t v;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = size_of(bad[i], &v);

		if (ret != -EINVAL || v != 0xdeadbeef) {
			printf("# '%s' gave %d\n", bad[i], ret);
			ok = false;
		}
	}
	CHECK(hl_parse_size(NULL, &v) == -EINVAL);
	CHECK(hl_parse_size("1", NULL) == -EINVAL);
	return ok;
}

static bool parse_size_rejects_overflow(void)
{
	bool ok = true;
	uint64_t v;

	CHECK(size_of("18446744073709551616", &v) == -ERANGE && v == 0xdeadbeef);
	CHECK(size_of("99999999999999999999999", &v) == -ERANGE);
	CHECK(size_of("17179869184G", &v) == -ERANGE);
	CHECK(size_of("17179869183G", &v) == 0 && v == 17179869183ULL << 30);
	CHECK(size_of("18014398509481984K", &v) == -ERANGE);
	CHECK(size_of("18014398509481983K", &v) == 0 && v == 18014398509481983ULL << 10);
	CHECK(size_of("16777216T", &v) == -ERANGE && v == 0xdeadbeef);
	CHECK(size_of("16777215TiB", &v) == 0 && v == 16777215ULL << 40);
	CHECK(size_of("18446744073709552KB", &v) == -ERANGE);
	CHECK(size_of("18446744073709551KB", &v) == 0 && v == 18446744073709551000ULL);
	CHECK(size_of("18446745TB", &v) == -ERANGE);
	CHECK(size_of("18446744TB", &v) == 0 && v == 18446744000000000000ULL);
	return ok;
}

/* ---- hl_format_hex and hl_sha256 ---- */

static bool format_hex_lowercase_pairs(void)
{
	static const unsigned char in[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	bool ok = true;
	char out[13];

	CHECK(hl_format_hex(in, sizeof(in), out, sizeof(out)) == 0);
	CHECK(!strcmp(out, "00017f80abff"));
	CHECK(hl_format_hex(NULL, 0, out, 1) == 0 && out[0] == '\0');
	return ok;
}

static bool format_hex_rejects_short_buffer(void)
{
	static const unsigned char in[] = { 0x12, 0x34 };
	bool ok = true;
	char out[5] = "xxxx";

	CHECK(hl_format_hex(in, sizeof(in), out, 4) == -ENOSPC);
	CHECK(!strcmp(out, "xxxx"));
	CHECK(hl_format_hex(in, sizeof(in), NULL, 5) == -EINVAL);
	CHECK(hl_format_hex(NULL, 1, out, 5) == -EINVAL);
	return ok;
}

static bool sha256_matches_fips_vectors(void)
{
	unsigned char d[HL_SHA256_LEN];
	char hex[2 * HL_SHA256_LEN + 1];
	bool ok = true;

	CHECK(hl_sha256("abc", 3, d) == 0);
	hl_format_hex(d, sizeof(d), hex, sizeof(hex));
	CHECK(!strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	CHECK(hl_sha256(NULL, 0, d) == 0);
	hl_format_hex(d, sizeof(d), hex, sizeof(hex));
	CHECK(!strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
	CHECK(hl_sha256(NULL, 1, d) == -EINVAL);
	return ok;
}

/* ---- hl_parse_args ---- */

#define ARGV(...) ((char *const[]){ "heapload", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof(ARGV(__VA_ARGS__)) / sizeof(char *)) - 1)
#define PARSE(a, ...) hl_parse_args(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (a), err, sizeof(err))

static char err[512];

static bool args_load_defaults(void)
{
	struct hl_args a;
	bool ok = true;

	CHECK(PARSE(&a, "load", "f.bin") == 0);
	CHECK(a.cmd == HL_CMD_LOAD);
	CHECK(!strcmp(a.file, "f.bin"));
	CHECK(!strcmp(a.heap, HEAPLOAD_DEFAULT_HEAP));
	CHECK(a.mode == HL_MODE_AUTO);
	CHECK(a.offset == 0 && a.length == 0 && !a.sha256 && !a.json);
	CHECK(a.runs == HL_DEFAULT_RUNS);
	return ok;
}

static bool args_load_all_options(void)
{
	struct hl_args a;
	bool ok = true;

	CHECK(PARSE(&a, "load", "--direct", "--heap", "heapload,cma", "f.bin",
		    "--offset=4K", "--length", "2M", "--sha256") == 0);
	CHECK(a.mode == HL_MODE_DIRECT);
	CHECK(!strcmp(a.heap, "heapload,cma"));
	CHECK(!strcmp(a.file, "f.bin"));
	CHECK(a.offset == 4096 && a.length == 2ULL << 20 && a.sha256);
	CHECK(PARSE(&a, "verify", "--buffered", "--heap=x", "g") == 0);
	CHECK(a.cmd == HL_CMD_VERIFY && a.mode == HL_MODE_BUFFERED);
	CHECK(!strcmp(a.heap, "x") && !strcmp(a.file, "g"));
	return ok;
}

static bool args_double_dash_ends_options(void)
{
	struct hl_args a;
	bool ok = true;

	CHECK(PARSE(&a, "load", "--direct", "--", "--sha256") == 0);
	CHECK(!strcmp(a.file, "--sha256") && !a.sha256 && a.mode == HL_MODE_DIRECT);
	CHECK(PARSE(&a, "load", "-") == 0 && !strcmp(a.file, "-"));
	return ok;
}

static bool args_rejects_direct_with_buffered(void)
{
	struct hl_args a;
	bool ok = true;

	CHECK(PARSE(&a, "load", "f", "--direct", "--buffered") == -EINVAL);
	CHECK(strstr(err, "exclusive") != NULL);
	CHECK(PARSE(&a, "load", "f", "--direct", "--direct") == -EINVAL);
	return ok;
}

static bool args_rejects_bad_input(void)
{
	struct hl_args a;
	bool ok = true;

	CHECK(PARSE(&a, "load") == -EINVAL && strstr(err, "missing FILE"));
	CHECK(PARSE(&a, "verify", "a", "b") == -EINVAL && strstr(err, "only one FILE"));
	CHECK(PARSE(&a, "load", "a", "--bogus") == -EINVAL && strstr(err, "--bogus"));
	CHECK(PARSE(&a, "load", "a", "-x") == -EINVAL);
	CHECK(PARSE(&a, "load", "a", "--offset") == -EINVAL && strstr(err, "needs a value"));
	CHECK(PARSE(&a, "load", "a", "--offset", "1Q") == -EINVAL && strstr(err, "--offset"));
	CHECK(PARSE(&a, "load", "a", "--length=99999999999999999999") == -EINVAL &&
	      strstr(err, "too large"));
	CHECK(PARSE(&a, "load", "a", "--sha256=yes") == -EINVAL && strstr(err, "not a digest"));
	CHECK(PARSE(&a, "load", "a", "--json=yes") == -EINVAL && strstr(err, "no value"));
	CHECK(PARSE(&a, "load", "a", "--runs", "3") == -EINVAL);
	CHECK(PARSE(&a, "bench", "a", "--direct") == -EINVAL);
	CHECK(PARSE(&a, "frobnicate") == -EINVAL && strstr(err, "unknown command"));
	CHECK(hl_parse_args(1, ARGV(NULL), &a, err, sizeof(err)) == -EINVAL);
	return ok;
}

static bool args_heap_name_checked(void)
{
	char name[HEAPLOAD_HEAP_NAME_MAX + 1];
	struct hl_args a;
	bool ok = true;

	memset(name, 'h', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	CHECK(PARSE(&a, "load", "f", "--heap", name) == -EINVAL);
	name[HEAPLOAD_HEAP_NAME_MAX - 1] = '\0';	/* 63 bytes fit */
	CHECK(PARSE(&a, "load", "f", "--heap", name) == 0);
	CHECK(PARSE(&a, "load", "f", "--heap=") == -EINVAL);
	CHECK(PARSE(&a, "load", "f", "--heap", "/dev/dma_heap/system") == -EINVAL);
	return ok;
}

static bool args_info_takes_nothing(void)
{
	struct hl_args a;
	bool ok = true;

	CHECK(PARSE(&a, "info") == 0 && a.cmd == HL_CMD_INFO && !a.file);
	CHECK(PARSE(&a, "info", "extra") == -EINVAL);
	CHECK(PARSE(&a, "info", "--heap", "x") == -EINVAL);
	return ok;
}

static bool args_bench_runs(void)
{
	struct hl_args a;
	bool ok = true;

	CHECK(PARSE(&a, "bench", "f", "--runs", "9") == 0 && a.runs == 9);
	CHECK(PARSE(&a, "bench", "f", "--runs=1000") == 0 && a.runs == 1000);
	CHECK(PARSE(&a, "bench", "f", "--runs", "0") == -EINVAL);
	CHECK(PARSE(&a, "bench", "f", "--runs", "1001") == -EINVAL);
	CHECK(PARSE(&a, "bench", "f", "--runs", "1K") == -EINVAL);
	CHECK(PARSE(&a, "bench", "f", "--heap", "h", "--offset", "8K") == 0 &&
	      a.offset == 8192 && !strcmp(a.heap, "h"));
	return ok;
}

static bool args_help_and_version(void)
{
	struct hl_args a;
	bool ok = true;

	CHECK(PARSE(&a, "--help") == 0 && a.cmd == HL_CMD_HELP);
	CHECK(PARSE(&a, "-h") == 0 && a.cmd == HL_CMD_HELP);
	CHECK(PARSE(&a, "help") == 0 && a.cmd == HL_CMD_HELP);
	CHECK(PARSE(&a, "load", "--help") == 0 && a.cmd == HL_CMD_HELP);
	CHECK(PARSE(&a, "--version") == 0 && a.cmd == HL_CMD_VERSION);
	CHECK(PARSE(&a, "-V") == 0 && a.cmd == HL_CMD_VERSION);
	return ok;
}

/* ---- hl_median, hl_rate_mbs ---- */

static bool median_odd_even_and_unsorted(void)
{
	double odd[] = { 5.0, 1.0, 3.0 };
	double even[] = { 4.0, 1.0, 3.0, 2.0 };
	double one[] = { 7.5 };
	bool ok = true;

	CHECK(hl_median(odd, 3) == 3.0);
	CHECK(hl_median(even, 4) == 2.5);
	CHECK(hl_median(one, 1) == 7.5);
	CHECK(hl_median(NULL, 0) == 0.0);
	return ok;
}

static bool rate_is_decimal_megabytes(void)
{
	bool ok = true;

	CHECK(hl_rate_mbs(1000000, 1000000000) == 1.0);
	CHECK(hl_rate_mbs(500000000, 250000000) == 2000.0);
	CHECK(hl_rate_mbs(1000, 0) > 0.0);
	return ok;
}

/* ---- load and bench options ---- */

static bool args_load_no_progress(void)
{
	struct hl_args a;
	bool ok = true;

	CHECK(PARSE(&a, "load", "f") == 0 && !a.no_progress);
	CHECK(PARSE(&a, "load", "f", "--no-progress") == 0 && a.no_progress);
	CHECK(PARSE(&a, "verify", "--no-progress", "f") == 0 && a.no_progress);
	CHECK(PARSE(&a, "load", "f", "--no-progress=1") == -EINVAL);
	CHECK(PARSE(&a, "bench", "f", "--no-progress") == -EINVAL);
	CHECK(PARSE(&a, "load", "f", "--csv", "x") == -EINVAL);
	CHECK(PARSE(&a, "load", "f") == 0 && a.nfiles == 1 && a.files[0] == a.file);
	return ok;
}

static bool args_bench_files_csv_methods(void)
{
	struct hl_args a;
	unsigned int m;
	bool ok = true;

	CHECK(PARSE(&a, "bench", "a", "--runs", "3", "--csv", "out.csv", "b", "c") == 0);
	CHECK(a.nfiles == 3 && !strcmp(a.files[0], "a") && !strcmp(a.files[1], "b") &&
	      !strcmp(a.files[2], "c") && !strcmp(a.file, "a"));
	CHECK(!strcmp(a.csv, "out.csv") && a.runs == 3 && a.methods == HL_BM_ALL);
	CHECK(PARSE(&a, "bench", "a", "--csv=-") == 0 && !strcmp(a.csv, "-"));
	CHECK(PARSE(&a, "bench", "a", "--csv=") == -EINVAL);
	CHECK(PARSE(&a, "bench") == -EINVAL && strstr(err, "missing FILE"));
	CHECK(PARSE(&a, "bench", "a", "--methods", "normal,odirect-floor") == 0 &&
	      a.methods == ((1U << HL_BM_NORMAL) | (1U << HL_BM_ODIRECT_FLOOR)));
	CHECK(PARSE(&a, "bench", "a", "--methods=heapload-gather-direct") == 0 &&
	      a.methods == 1U << HL_BM_GATHER_DIRECT);
	CHECK(PARSE(&a, "bench", "a", "--methods",
		    "heapload-gather-direct-1t,alloc-only,alloc-only-1t") == 0 &&
	      a.methods == ((1U << HL_BM_GATHER_DIRECT_1T) | (1U << HL_BM_ALLOC_ONLY) |
			    (1U << HL_BM_ALLOC_ONLY_1T)));
	CHECK(PARSE(&a, "bench", "a", "--methods",
		    "heapload-gather-direct-vmap,heapload-gather-buffered-vmap") == 0 &&
	      a.methods == ((1U << HL_BM_GATHER_DIRECT_VMAP) |
			    (1U << HL_BM_GATHER_BUFFERED_VMAP)));
	CHECK(PARSE(&a, "bench", "a", "--methods", "normal,") == -EINVAL);
	CHECK(PARSE(&a, "bench", "a", "--methods", "fast") == -EINVAL &&
	      strstr(err, "--methods"));
	/* The error names every method, the last one too. */
	for (m = 0; m < HL_BM_COUNT; m++)
		CHECK(strstr(err, hl_bench_method_name(m)) != NULL);
	CHECK(strstr(err, ", odirect-floor") != NULL);
	return ok;
}

static bool args_bench_file_limit(void)
{
	char *argv[HL_MAX_FILES + 4];
	struct hl_args a;
	bool ok = true;
	int i;

	argv[0] = "heapload";
	argv[1] = "bench";
	for (i = 0; i < HL_MAX_FILES + 1; i++)
		argv[2 + i] = "f";
	argv[HL_MAX_FILES + 3] = NULL;
	CHECK(hl_parse_args(HL_MAX_FILES + 2, argv, &a, err, sizeof(err)) == 0 &&
	      a.nfiles == HL_MAX_FILES);
	CHECK(hl_parse_args(HL_MAX_FILES + 3, argv, &a, err, sizeof(err)) == -EINVAL &&
	      strstr(err, "at most"));
	return ok;
}

static bool methods_names_round_trip(void)
{
	unsigned int m, mask;
	bool ok = true;

	for (m = 0; m < HL_BM_COUNT; m++) {
		CHECK(hl_parse_methods(hl_bench_method_name(m), &mask) == 0 &&
		      mask == 1U << m);
	}
	CHECK(!strcmp(hl_bench_method_name(HL_BM_COUNT), "?"));
	mask = 7;
	CHECK(hl_parse_methods("", &mask) == -EINVAL && mask == 7);
	CHECK(hl_parse_methods(",normal", &mask) == -EINVAL);
	CHECK(hl_parse_methods("normal,normal", &mask) == 0 && mask == 1U << HL_BM_NORMAL);
	CHECK(hl_parse_methods("udmabuf", &mask) == 0 && mask == 1U << HL_BM_UDMABUF);
	/* A name is whole: neither a prefix nor a longer name matches another. */
	CHECK(hl_parse_methods("alloc-only-1t", &mask) == 0 && mask == 1U << HL_BM_ALLOC_ONLY_1T);
	CHECK(hl_parse_methods("heapload-gather-direct-1t", &mask) == 0 &&
	      mask == 1U << HL_BM_GATHER_DIRECT_1T);
	mask = 7;
	CHECK(hl_parse_methods("alloc-only-2t", &mask) == -EINVAL && mask == 7);
	CHECK(hl_parse_methods("alloc-only-1", &mask) == -EINVAL && mask == 7);
	CHECK(hl_parse_methods("heapload-gather-direct-1t-sha256", &mask) == -EINVAL);
	CHECK(hl_parse_methods("heapload-gather-direct-vmap", &mask) == 0 &&
	      mask == 1U << HL_BM_GATHER_DIRECT_VMAP);
	CHECK(hl_parse_methods("heapload-gather-buffered-vmap", &mask) == 0 &&
	      mask == 1U << HL_BM_GATHER_BUFFERED_VMAP);
	mask = 7;
	CHECK(hl_parse_methods("heapload-gather-vmap", &mask) == -EINVAL && mask == 7);
	CHECK(hl_parse_methods("heapload-gather-direct-vma", &mask) == -EINVAL && mask == 7);
	return ok;
}

/* ---- bench statistics and output ---- */

static bool summarize_median_min_max(void)
{
	double v[] = { 3.0, 9.0, 1.0, 4.0 };
	double one[] = { 2.5 };
	struct hl_summary s;
	bool ok = true;

	hl_summarize(v, 4, &s);
	CHECK(s.median == 3.5 && s.min == 1.0 && s.max == 9.0);
	hl_summarize(v, 3, &s);		/* now sorted: 1 3 4 */
	CHECK(s.median == 3.0 && s.min == 1.0 && s.max == 4.0);
	hl_summarize(one, 1, &s);
	CHECK(s.median == 2.5 && s.min == 2.5 && s.max == 2.5);
	hl_summarize(NULL, 0, &s);
	CHECK(isnan(s.median) && isnan(s.min) && isnan(s.max));
	return ok;
}

static bool ratio_handles_missing(void)
{
	bool ok = true;

	CHECK(hl_ratio(3.0, 2.0) == 1.5);
	CHECK(hl_ratio(0.0, 2.0) == 0.0);
	CHECK(isnan(hl_ratio(1.0, 0.0)));
	CHECK(isnan(hl_ratio(1.0, -1.0)));
	CHECK(isnan(hl_ratio(NAN, 1.0)));
	CHECK(isnan(hl_ratio(1.0, NAN)));
	return ok;
}

static bool csv_field_quotes_when_needed(void)
{
	char out[32];
	bool ok = true;

	CHECK(hl_csv_field("plain", out, sizeof(out)) == 0 && !strcmp(out, "plain"));
	CHECK(hl_csv_field(NULL, out, sizeof(out)) == 0 && !strcmp(out, ""));
	CHECK(hl_csv_field("a,b", out, sizeof(out)) == 0 && !strcmp(out, "\"a,b\""));
	CHECK(hl_csv_field("say \"hi\"", out, sizeof(out)) == 0 &&
	      !strcmp(out, "\"say \"\"hi\"\"\""));
	CHECK(hl_csv_field("x\ny", out, sizeof(out)) == 0 && !strcmp(out, "\"x\ny\""));
	CHECK(hl_csv_field("12345", out, 6) == 0 && !strcmp(out, "12345"));
	CHECK(hl_csv_field("123456", out, 6) == -ENOSPC && !strcmp(out, ""));
	CHECK(hl_csv_field("a,bc", out, 6) == -ENOSPC);	/* "a,bc" needs 7 */
	CHECK(hl_csv_field("a,b", out, 6) == 0 && !strcmp(out, "\"a,b\""));
	return ok;
}

static bool csv_num_formats_and_blanks(void)
{
	char out[32];
	bool ok = true;

	CHECK(hl_csv_num(1.23456, 3, out, sizeof(out)) == 0 && !strcmp(out, "1.235"));
	CHECK(hl_csv_num(-0.5, 1, out, sizeof(out)) == 0 && !strcmp(out, "-0.5"));
	CHECK(hl_csv_num(42.0, 0, out, sizeof(out)) == 0 && !strcmp(out, "42"));
	CHECK(hl_csv_num(NAN, 3, out, sizeof(out)) == 0 && !strcmp(out, ""));
	CHECK(hl_csv_num(INFINITY, 3, out, sizeof(out)) == 0 && !strcmp(out, ""));
	CHECK(hl_csv_num(123456.0, 2, out, 6) == -ENOSPC && !strcmp(out, ""));
	CHECK(hl_csv_num(-0.04, 1, out, sizeof(out)) == 0 && !strcmp(out, "0.0"));
	CHECK(hl_csv_num(-0.06, 1, out, sizeof(out)) == 0 && !strcmp(out, "-0.1"));
	return ok;
}

static bool meminfo_values(void)
{
	static const char text[] =
		"MemTotal:       12000000 kB\n"
		"SwapCached:            0 kB\n"
		"Cached:           524288 kB\n"
		"Shmem:              1024 kB\n"
		"ShmemHugePages:        7 kB\n";
	uint64_t kb = 99;
	bool ok = true;

	CHECK(hl_meminfo_kb(text, "Cached", &kb) == 0 && kb == 524288);
	CHECK(hl_meminfo_kb(text, "Shmem", &kb) == 0 && kb == 1024);
	CHECK(hl_meminfo_kb(text, "MemTotal", &kb) == 0 && kb == 12000000);
	kb = 99;
	CHECK(hl_meminfo_kb(text, "Buffers", &kb) == -ENOENT && kb == 99);
	CHECK(hl_meminfo_kb(text, "Cache", &kb) == -ENOENT && kb == 99);
	CHECK(hl_meminfo_kb("Cached: x kB\n", "Cached", &kb) == -ENOENT);
	return ok;
}

static bool batch_mb_covers_the_file(void)
{
	bool ok = true;

	CHECK(hl_batch_mb_for(0) == 1);
	CHECK(hl_batch_mb_for(4096) == 1);
	CHECK(hl_batch_mb_for(1ULL << 20) == 1);
	CHECK(hl_batch_mb_for((1ULL << 20) + 1) == 2);
	CHECK(hl_batch_mb_for(3ULL << 30) == 3072);
	CHECK(hl_batch_mb_for(1ULL << 40) == 65536);
	return ok;
}

static bool progress_line_format(void)
{
	char buf[128];
	bool ok = true;
	int n;

	n = hl_format_progress(buf, sizeof(buf), 500000000, 1000000000, 2.0, 10);
	CHECK(!strcmp(buf, "[#####.....]  50%  500.0/1000.0 MB  250.0 MB/s"));
	CHECK(n == (int)strlen(buf));
	hl_format_progress(buf, sizeof(buf), 2000, 1000, 1.0, 4);
	CHECK(!strcmp(buf, "[####] 100%  0.0/0.0 MB  0.0 MB/s"));
	hl_format_progress(buf, sizeof(buf), 3000000, 0, 0.0, 10);
	CHECK(!strcmp(buf, "3.0 MB  0.0 MB/s"));
	hl_format_progress(buf, sizeof(buf), 0, 1000000, 1.0, 0);
	CHECK(!strcmp(buf, "  0%  0.0/1.0 MB  0.0 MB/s"));
	n = hl_format_progress(buf, 8, 500000000, 1000000000, 2.0, 0);
	CHECK(n == 7 && strlen(buf) == 7);
	return ok;
}


/* ---- new flags, exit codes, fallback, range checks, messages, JSON ---- */

static bool args_json_and_drop_caches(void)
{
	struct hl_args a;
	bool ok = true;

	CHECK(PARSE(&a, "load", "f", "--json") == 0 && a.json);
	CHECK(PARSE(&a, "verify", "--json", "f") == 0 && a.json);
	CHECK(PARSE(&a, "info", "--json") == 0 && a.json && a.cmd == HL_CMD_INFO);
	CHECK(PARSE(&a, "info", "--json=1") == -EINVAL);
	CHECK(PARSE(&a, "bench", "f", "--json") == -EINVAL);
	CHECK(PARSE(&a, "bench", "f") == 0 && !a.drop_caches);
	CHECK(PARSE(&a, "bench", "f", "--drop-caches") == 0 && a.drop_caches);
	CHECK(PARSE(&a, "load", "f", "--drop-caches") == -EINVAL);
	CHECK(PARSE(&a, "load", "f", "--buffered") == 0 && a.mode == HL_MODE_BUFFERED);
	CHECK(PARSE(&a, "load", "f", "--direct") == 0 && a.mode == HL_MODE_DIRECT);
	CHECK(PARSE(&a, "load", "f", "--offset", "1GiB", "--length=2MB") == 0 &&
	      a.offset == 1ULL << 30 && a.length == 2000000);
	return ok;
}

static bool exit_codes_like_cmp(void)
{
	bool ok = true;

	CHECK(hl_exit_code(0) == 0 && HL_EXIT_OK == 0);
	CHECK(hl_exit_code(1) == 1 && HL_EXIT_MISMATCH == 1);
	CHECK(hl_exit_code(-1) == 2 && hl_exit_code(-EIO) == 2 && HL_EXIT_TROUBLE == 2);
	return ok;
}

static bool direct_check_follows_kernel_rules(void)
{
	bool ok = true;

	CHECK(hl_direct_check(0, 4096, 512, 4096) == HL_FB_NONE);
	CHECK(hl_direct_check(512, 1, 512, 4096) == HL_FB_NONE);
	CHECK(hl_direct_check(1024, 12345, 512, 4096) == HL_FB_NONE);
	CHECK(hl_direct_check(100, 4096, 512, 4096) == HL_FB_UNALIGNED_OFFSET);
	CHECK(hl_direct_check(4096, 4096, 4096, 4096) == HL_FB_NONE);
	CHECK(hl_direct_check(512, 4096, 4096, 4096) == HL_FB_UNALIGNED_OFFSET);
	CHECK(hl_direct_check(0, 100, 0, 4096) == HL_FB_NO_O_DIRECT);
	/* 16 KiB blocks, 4 KiB pages: the last block must fit the buffer. */
	CHECK(hl_direct_check(0, 16384, 16384, 4096) == HL_FB_NONE);
	CHECK(hl_direct_check(0, 4096, 16384, 4096) == HL_FB_UNALIGNED_LENGTH);
	CHECK(hl_direct_check(0, 4096, 16384, 16384) == HL_FB_NONE);
	CHECK(hl_direct_check(0, 4096, 4096, 65536) == HL_FB_NONE);
	return ok;
}

static bool fallback_decision(void)
{
	enum hl_mode use = HL_MODE_AUTO;
	bool ok = true;

	CHECK(hl_fallback_decide(HL_MODE_AUTO, HL_FB_NONE, &use) == 0 &&
	      use == HL_MODE_DIRECT);
	CHECK(hl_fallback_decide(HL_MODE_AUTO, HL_FB_UNALIGNED_OFFSET, &use) == 0 &&
	      use == HL_MODE_BUFFERED);
	CHECK(hl_fallback_decide(HL_MODE_AUTO, HL_FB_NO_O_DIRECT, &use) == 0 &&
	      use == HL_MODE_BUFFERED);
	CHECK(hl_fallback_decide(HL_MODE_AUTO, HL_FB_KERNEL_EINVAL, &use) == 0 &&
	      use == HL_MODE_BUFFERED);
	use = HL_MODE_AUTO;
	CHECK(hl_fallback_decide(HL_MODE_DIRECT, HL_FB_NO_O_DIRECT, &use) == -EINVAL &&
	      use == HL_MODE_AUTO);
	CHECK(hl_fallback_decide(HL_MODE_DIRECT, HL_FB_NONE, &use) == 0 &&
	      use == HL_MODE_DIRECT);
	CHECK(hl_fallback_decide(HL_MODE_BUFFERED, HL_FB_NONE, &use) == 0 &&
	      use == HL_MODE_BUFFERED);
	return ok;
}

static bool fallback_names_and_texts(void)
{
	char buf[256];
	bool ok = true;

	CHECK(!strcmp(hl_fallback_name(HL_FB_UNALIGNED_OFFSET), "unaligned_offset"));
	CHECK(!strcmp(hl_fallback_name(HL_FB_UNALIGNED_LENGTH), "unaligned_length"));
	CHECK(!strcmp(hl_fallback_name(HL_FB_NO_O_DIRECT), "no_o_direct"));
	CHECK(!strcmp(hl_fallback_name(HL_FB_KERNEL_EINVAL), "kernel_refused_direct"));
	CHECK(!strcmp(hl_fallback_text(HL_FB_UNALIGNED_OFFSET, 100, 512, buf, sizeof(buf)),
		      "offset 100 is not a multiple of the direct-I/O alignment (512 bytes)"));
	CHECK(strstr(hl_fallback_text(HL_FB_NO_O_DIRECT, 0, 0, buf, sizeof(buf)),
		     "O_DIRECT") != NULL);
	return ok;
}

static bool range_checked_in_user_space(void)
{
	uint64_t len = 7;
	bool ok = true;

	CHECK(hl_check_range(false, true, 100, 0, 0, &len) == NULL && len == 100);
	CHECK(hl_check_range(false, true, 100, 10, 0, &len) == NULL && len == 90);
	CHECK(hl_check_range(false, true, 100, 10, 90, &len) == NULL && len == 90);
	len = 7;
	CHECK(!strcmp(hl_check_range(true, false, 4096, 0, 0, &len), "is a directory"));
	CHECK(!strcmp(hl_check_range(false, false, 0, 0, 0, &len), "not a regular file"));
	CHECK(!strcmp(hl_check_range(false, true, 100, 101, 0, &len),
		      "offset past end of file"));
	CHECK(!strcmp(hl_check_range(false, true, 100, UINT64_MAX, 0, &len),
		      "offset past end of file"));
	CHECK(!strcmp(hl_check_range(false, true, 100, 10, 91, &len),
		      "range past end of file"));
	CHECK(!strcmp(hl_check_range(false, true, 100, 10, UINT64_MAX, &len),
		      "offset + length overflows"));
	CHECK(!strcmp(hl_check_range(false, true, 100, 1, INT64_MAX, &len),
		      "offset + length overflows"));
	CHECK(strstr(hl_check_range(false, true, 0, 0, 0, &len), "empty file") != NULL);
	CHECK(strstr(hl_check_range(false, true, 100, 100, 0, &len), "nothing to load") != NULL);
	CHECK(len == 7);
	return ok;
}

static bool load_errnos_mapped(void)
{
	struct hl_load_ctx direct = { .heap = "heapload,cma", .direct = true };
	struct hl_load_ctx buffered = { .heap = "x" };
	struct hl_load_ctx fell = { .heap = "heapload,restricted",
				    .fallback = HL_FB_UNALIGNED_OFFSET };
	char buf[256];
	bool ok = true;

	CHECK(!strcmp(hl_load_strerror(ENODEV, &direct, buf, sizeof(buf)),
		      "no heap named 'heapload,cma' (see 'heapload info')"));
	CHECK(strstr(hl_load_strerror(EINVAL, &direct, buf, sizeof(buf)), "direct I/O") != NULL);
	CHECK(strstr(hl_load_strerror(EINVAL, &buffered, buf, sizeof(buf)), "direct") == NULL);
	CHECK(strstr(hl_load_strerror(EINVAL, &fell, buf, sizeof(buf)), "buffered") != NULL);
	CHECK(strstr(hl_load_strerror(ENOMEM, &direct, buf, sizeof(buf)), "max_alloc_mb") != NULL);
	CHECK(strstr(hl_load_strerror(ENODATA, &direct, buf, sizeof(buf)), "nothing to load") != NULL);
	CHECK(strstr(hl_load_strerror(EOVERFLOW, &direct, buf, sizeof(buf)), "overflows") != NULL);
	CHECK(strstr(hl_load_strerror(EACCES, &direct, buf, sizeof(buf)), "denied") != NULL);
	CHECK(strstr(hl_load_strerror(EPERM, &direct, buf, sizeof(buf)), "denied") != NULL);
	CHECK(strstr(hl_load_strerror(E2BIG, &direct, buf, sizeof(buf)), "module") != NULL);
	CHECK(strstr(hl_load_strerror(ENOTTY, &direct, buf, sizeof(buf)), "/dev/heapload") != NULL);
	CHECK(!strcmp(hl_load_strerror(EISDIR, &direct, buf, sizeof(buf)), "is a directory"));
	CHECK(strstr(hl_load_strerror(ENOSPC, &direct, buf, sizeof(buf)), "do not fit") != NULL);
	CHECK(!strcmp(hl_load_strerror(ENOLINK, &direct, buf, sizeof(buf)), strerror(ENOLINK)));
	CHECK(!strcmp(hl_load_strerror(ENODEV, NULL, buf, 12), "no heap nam"));
	return ok;
}

static bool json_escape_strings(void)
{
	char out[64];
	bool ok = true;

	CHECK(hl_json_escape("plain", out, sizeof(out)) == 7 && !strcmp(out, "\"plain\""));
	CHECK(hl_json_escape("", out, sizeof(out)) == 2 && !strcmp(out, "\"\""));
	CHECK(hl_json_escape(NULL, out, sizeof(out)) == 4 && !strcmp(out, "null"));
	CHECK(hl_json_escape("a\"b\\c", out, sizeof(out)) > 0 &&
	      !strcmp(out, "\"a\\\"b\\\\c\""));
	CHECK(hl_json_escape("\b\f\n\r\t", out, sizeof(out)) > 0 &&
	      !strcmp(out, "\"\\b\\f\\n\\r\\t\""));
	CHECK(hl_json_escape("\x01\x1f\x7f", out, sizeof(out)) > 0 &&
	      !strcmp(out, "\"\\u0001\\u001f\\u007f\""));
	CHECK(hl_json_escape("/x/y", out, sizeof(out)) > 0 && !strcmp(out, "\"/x/y\""));
	/* valid UTF-8 as is, invalid bytes as U+FFFD */
	CHECK(hl_json_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", out, sizeof(out)) > 0 &&
	      !strcmp(out, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""));
	CHECK(hl_json_escape("a\xff" "b", out, sizeof(out)) > 0 &&
	      !strcmp(out, "\"a\\ufffdb\""));
	CHECK(hl_json_escape("\xc3", out, sizeof(out)) > 0 && !strcmp(out, "\"\\ufffd\""));
	CHECK(hl_json_escape("\xc0\xaf", out, sizeof(out)) > 0 &&	/* overlong */
	      !strcmp(out, "\"\\ufffd\\ufffd\""));
	CHECK(hl_json_escape("\xed\xa0\x80", out, sizeof(out)) > 0 &&	/* surrogate */
	      !strcmp(out, "\"\\ufffd\\ufffd\\ufffd\""));
	return ok;
}

static bool json_escape_short_buffer(void)
{
	char out[8];
	bool ok = true;

	CHECK(hl_json_escape("abcde", out, 8) == 7 && !strcmp(out, "\"abcde\""));
	CHECK(hl_json_escape("abcdef", out, 8) == -ENOSPC && !strcmp(out, ""));
	CHECK(hl_json_escape("\n\n\n", out, 8) == -ENOSPC && !strcmp(out, ""));
	CHECK(hl_json_escape("x", out, 0) == -ENOSPC);
	CHECK(hl_json_escape(NULL, out, 4) == -ENOSPC);
	return ok;
}

static bool json_writer_object(void)
{
	struct hl_json j;
	char *text = NULL;
	size_t len = 0;
	bool ok = true;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return false;
	hl_json_begin(&j, f);
	hl_json_str(&j, "file", "a \"b\".bin");
	hl_json_u64(&j, "loaded_bytes", 18446744073709551615ULL);
	hl_json_num(&j, "throughput_mib_per_s", 12.345, 1);
	hl_json_num(&j, "alloc_ns", NAN, 0);
	hl_json_bool(&j, "ok", true);
	hl_json_null(&j, "sha256");
	hl_json_open(&j, "heaps", '[');
	hl_json_open(&j, NULL, '{');
	hl_json_str(&j, "name", "heapload,system");
	hl_json_close(&j, '}');
	hl_json_str(&j, NULL, "x");
	hl_json_close(&j, ']');
	hl_json_open(&j, "parameters", '{');
	hl_json_end(&j);
	fclose(f);
	CHECK(text && !strcmp(text,
		"{\"file\": \"a \\\"b\\\".bin\", \"loaded_bytes\": 18446744073709551615, "
		"\"throughput_mib_per_s\": 12.3, \"alloc_ns\": null, \"ok\": true, "
		"\"sha256\": null, \"heaps\": [{\"name\": \"heapload,system\"}, \"x\"], "
		"\"parameters\": {}}\n"));
	if (!ok && text)
		printf("# got: %s", text);
	free(text);
	return ok;
}

/* ---- libheapload: digests in hex, waiting for a load fd ---- */

static bool digest_sizes_and_names(void)
{
	bool ok = true;

	CHECK(heapload_digest_size(HEAPLOAD_DIGEST_NONE) == 0);
	CHECK(heapload_digest_size(HEAPLOAD_DIGEST_SHA256) == 32);
	CHECK(heapload_digest_size(HEAPLOAD_DIGEST_XXH64) == 8);
	CHECK(heapload_digest_size(3) == -EINVAL);
	CHECK(!strcmp(heapload_digest_name(HEAPLOAD_DIGEST_NONE), "none"));
	CHECK(!strcmp(heapload_digest_name(HEAPLOAD_DIGEST_SHA256), "sha256"));
	CHECK(!strcmp(heapload_digest_name(HEAPLOAD_DIGEST_XXH64), "xxh64"));
	CHECK(heapload_digest_name(3) == NULL);
	return ok;
}

static bool digest_hex_round_trip(void)
{
	/* SHA-256 of "abc" (FIPS 180-4), XXH64 of "" with seed 0. */
	static const char sha[] =
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	static const char upper[] =
		"BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD";
	uint8_t d[HEAPLOAD_DIGEST_SIZE];
	char out[65];
	bool ok = true;
	int i;

	CHECK(heapload_digest_parse(HEAPLOAD_DIGEST_SHA256, sha, d) == 0);
	CHECK(d[0] == 0xba && d[1] == 0x78 && d[31] == 0xad);
	CHECK(heapload_digest_format(HEAPLOAD_DIGEST_SHA256, d, out, sizeof(out)) == 64);
	CHECK(!strcmp(out, sha));
	CHECK(heapload_digest_parse(HEAPLOAD_DIGEST_SHA256, upper, d) == 0 && d[0] == 0xba);
	memset(d, 0x77, sizeof(d));
	CHECK(heapload_digest_parse(HEAPLOAD_DIGEST_XXH64, "ef46db3751d8e999", d) == 0);
	/* Most significant byte first, the rest of the field zero. */
	CHECK(d[0] == 0xef && d[7] == 0x99);
	for (i = 8; i < HEAPLOAD_DIGEST_SIZE; i++)
		CHECK(d[i] == 0);
	CHECK(heapload_digest_format(HEAPLOAD_DIGEST_XXH64, d, out, 17) == 16);
	CHECK(!strcmp(out, "ef46db3751d8e999"));
	return ok;
}

static bool digest_hex_rejects_bad_input(void)
{
	static const char *const bad[] = {
		"", "ef46db3751d8e99", "ef46db3751d8e9990", "ef46db3751d8e99g",
		" ef46db3751d8e99", "0xef46db3751d8e9", "ef46db3751d8e99\n",
	};
	uint8_t d[HEAPLOAD_DIGEST_SIZE];
	char out[65];
	bool ok = true;
	size_t i;

	memset(d, 0x77, sizeof(d));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (heapload_digest_parse(HEAPLOAD_DIGEST_XXH64, bad[i], d) != -EINVAL) {
			printf("# '%s' was taken\n", bad[i]);
			ok = false;
		}
	}
	CHECK(d[0] == 0x77 && d[31] == 0x77);
	CHECK(heapload_digest_parse(HEAPLOAD_DIGEST_NONE, "", d) == -EINVAL);
	CHECK(heapload_digest_parse(HEAPLOAD_DIGEST_SHA256, "ef46db3751d8e999", d) == -EINVAL);
	CHECK(heapload_digest_parse(HEAPLOAD_DIGEST_XXH64, NULL, d) == -EINVAL);
	CHECK(heapload_digest_parse(HEAPLOAD_DIGEST_XXH64, "ef46db3751d8e999", NULL) == -EINVAL);
	strcpy(out, "x");
	CHECK(heapload_digest_format(HEAPLOAD_DIGEST_SHA256, d, out, 64) == -ENOSPC &&
	      !strcmp(out, "x"));
	CHECK(heapload_digest_format(HEAPLOAD_DIGEST_NONE, d, out, sizeof(out)) == -EINVAL);
	CHECK(heapload_digest_format(9, d, out, sizeof(out)) == -EINVAL);
	CHECK(heapload_digest_format(HEAPLOAD_DIGEST_XXH64, NULL, out, sizeof(out)) == -EINVAL);
	return ok;
}

/* A pipe stands in for a load fd: readable is "ended". */
static bool load_wait_polls_for_the_end(void)
{
	bool ok = true;
	int p[2];

	if (pipe(p)) {
		printf("# pipe: %s\n", strerror(errno));
		return false;
	}
	CHECK(heapload_load_wait(p[0], 0) == -ETIMEDOUT);
	CHECK(heapload_load_wait(p[0], 20) == -ETIMEDOUT);
	CHECK(write(p[1], "x", 1) == 1);
	CHECK(heapload_load_wait(p[0], -1) == 0);
	CHECK(heapload_load_wait(p[0], 0) == 0);
	close(p[0]);
	close(p[1]);
	CHECK(heapload_load_wait(p[0], 0) == -EBADF);
	return ok;
}

/* ---- version 2 options of load ---- */

#define SHA_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static bool args_load_several_files(void)
{
	struct hl_args a;
	bool ok = true;

	CHECK(PARSE(&a, "load", "a", "b", "--json", "c") == 0);
	CHECK(a.nfiles == 3 && !strcmp(a.files[0], "a") && !strcmp(a.files[1], "b") &&
	      !strcmp(a.files[2], "c") && !strcmp(a.file, "a") && a.json);
	CHECK(PARSE(&a, "load", "a", "b", "--offset", "4K") == -EINVAL &&
	      strstr(err, "--offset and --length take one FILE"));
	CHECK(PARSE(&a, "load", "--length=1", "a", "b") == -EINVAL);
	CHECK(PARSE(&a, "load", "a", "--length=1") == 0 && a.length == 1);
	CHECK(PARSE(&a, "verify", "a", "b") == -EINVAL);
	return ok;
}

static bool args_digest_print_or_verify(void)
{
	struct hl_args a;
	bool ok = true;

	/* No value: print the kernel's digest. */
	CHECK(PARSE(&a, "load", "f", "--sha256") == 0 && a.sha256 &&
	      a.digest_alg == HEAPLOAD_DIGEST_SHA256 && !a.verify_digest);
	CHECK(PARSE(&a, "load", "--sha256", "f") == 0 && !strcmp(a.file, "f") &&
	      !a.verify_digest && a.nfiles == 1);
	CHECK(PARSE(&a, "load", "f") == 0 && a.digest_alg == HEAPLOAD_DIGEST_NONE && !a.sha256);
	/* A value, attached or as the next word when it is a digest: verify. */
	CHECK(PARSE(&a, "load", "f", "--sha256=" SHA_ABC) == 0 && a.verify_digest &&
	      a.expected_digest[0] == 0xba && a.expected_digest[31] == 0xad);
	CHECK(PARSE(&a, "load", "--sha256", SHA_ABC, "f") == 0 && a.verify_digest &&
	      a.nfiles == 1 && !strcmp(a.file, "f") && a.expected_digest[1] == 0x78);
	CHECK(PARSE(&a, "verify", "f", "--xxh64", "EF46DB3751D8E999") == 0 &&
	      a.digest_alg == HEAPLOAD_DIGEST_XXH64 && a.verify_digest && !a.sha256 &&
	      a.expected_digest[0] == 0xef && a.expected_digest[8] == 0);
	/* A 16-digit word is a FILE for --sha256, not its value. */
	CHECK(PARSE(&a, "load", "--sha256", "ef46db3751d8e999") == 0 &&
	      !a.verify_digest && !strcmp(a.file, "ef46db3751d8e999"));
	CHECK(PARSE(&a, "load", "f", "--xxh64=" SHA_ABC) == -EINVAL &&
	      strstr(err, "16 hex digits"));
	CHECK(PARSE(&a, "load", "f", "--sha256", "--xxh64") == -EINVAL &&
	      strstr(err, "exclusive"));
	CHECK(PARSE(&a, "load", "f", "--sha256=" SHA_ABC, "--sha256") == -EINVAL);
	CHECK(PARSE(&a, "bench", "f", "--sha256") == -EINVAL);
	return ok;
}

static bool args_numa_node(void)
{
	struct hl_args a;
	bool ok = true;

	CHECK(PARSE(&a, "load", "f") == 0 && a.numa_node == -1);
	CHECK(PARSE(&a, "load", "f", "--numa-node", "1") == 0 && a.numa_node == 1);
	CHECK(PARSE(&a, "verify", "f", "--numa-node=0") == 0 && a.numa_node == 0);
	CHECK(PARSE(&a, "load", "f", "--numa-node", "-1") == -EINVAL &&
	      strstr(err, "--numa-node"));
	CHECK(PARSE(&a, "load", "f", "--numa-node", "1K") == -EINVAL);
	CHECK(PARSE(&a, "load", "f", "--numa-node", "9999999999") == -EINVAL);
	CHECK(PARSE(&a, "load", "f", "--numa-node=") == -EINVAL);
	CHECK(PARSE(&a, "bench", "f", "--numa-node", "1") == -EINVAL);
	return ok;
}

static bool load_errnos_of_v2_options(void)
{
	struct hl_load_ctx into = { .heap = "heapload,system", .direct = true, .into = true };
	struct hl_load_ctx numa_r = { .heap = "heapload,restricted", .direct = true, .numa = true };
	struct hl_load_ctx numa_s = { .heap = "heapload,other", .numa = true };
	struct hl_load_ctx plain = { .heap = "heapload,system" };
	char buf[256];
	bool ok = true;

	CHECK(strstr(hl_load_strerror(EXDEV, &into, buf, sizeof(buf)), "not a dma-buf of a heapload heap") != NULL);
	CHECK(strstr(hl_load_strerror(EBUSY, &into, buf, sizeof(buf)), "a device has it mapped") != NULL);
	CHECK(strstr(hl_load_strerror(EBADF, &into, buf, sizeof(buf)), "--into descriptor") != NULL);
	CHECK(strstr(hl_load_strerror(EBADF, &plain, buf, sizeof(buf)), "--into") == NULL);
	CHECK(strstr(hl_load_strerror(EOPNOTSUPP, &numa_r, buf, sizeof(buf)), "contiguous memory from CMA or its own pool") != NULL);
	CHECK(strstr(buf, "not supported") != NULL);
	CHECK(strstr(hl_load_strerror(EOPNOTSUPP, &numa_s, buf, sizeof(buf)), "heapload,other") != NULL);
	CHECK(strstr(buf, "CMA") == NULL);
	CHECK(strstr(hl_load_strerror(EOPNOTSUPP, &plain, buf, sizeof(buf)), "digest") != NULL);
	return ok;
}

static bool args_into_at_async(void)
{
	struct hl_args a;
	bool ok = true;

	CHECK(PARSE(&a, "load", "f") == 0 && a.into_fd == -1 && a.at == 0 && !a.async);
	CHECK(PARSE(&a, "load", "--into", "3", "--at", "32M", "f", "g") == 0);
	CHECK(a.into_fd == 3 && a.at == 32ULL << 20 && a.nfiles == 2);
	CHECK(PARSE(&a, "load", "--into=0", "f", "--async") == 0 && a.into_fd == 0 && a.async);
	CHECK(PARSE(&a, "load", "--into", "x", "f") == -EINVAL && strstr(err, "descriptor"));
	CHECK(PARSE(&a, "load", "--into", "-1", "f") == -EINVAL);
	CHECK(PARSE(&a, "load", "--at", "4K", "f") == -EINVAL && strstr(err, "--at goes with --into"));
	CHECK(PARSE(&a, "load", "--into", "3", "--heap", "h", "f") == -EINVAL && strstr(err, "no --heap"));
	CHECK(PARSE(&a, "load", "--into", "3", "--numa-node", "1", "f") == -EINVAL);
	CHECK(PARSE(&a, "verify", "--into", "3", "--at", "8M", "f") == 0 && a.at == 8 << 20);
	CHECK(PARSE(&a, "verify", "--async", "f") == -EINVAL);
	return ok;
}

static bool args_alloc_size_and_command(void)
{
	struct hl_args a;
	bool ok = true;

	CHECK(PARSE(&a, "alloc", "64M", "--", "sh", "-c", "x") == 0);
	CHECK(a.cmd == HL_CMD_ALLOC && a.alloc_size == 64ULL << 20 &&
	      !strcmp(a.heap, HEAPLOAD_DEFAULT_HEAP));
	CHECK(!strcmp(a.command[0], "sh") && !strcmp(a.command[1], "-c") &&
	      !strcmp(a.command[2], "x") && !a.command[3]);
	/* The command's own options are its own, with or without "--". */
	CHECK(PARSE(&a, "alloc", "--heap", "heapload,restricted", "4K", "ls", "--heap", "-h") == 0);
	CHECK(!strcmp(a.heap, "heapload,restricted") && a.alloc_size == 4096);
	CHECK(!strcmp(a.command[0], "ls") && !strcmp(a.command[1], "--heap") &&
	      !strcmp(a.command[2], "-h") && !a.command[3]);
	CHECK(PARSE(&a, "alloc", "4K", "--heap=h", "--", "--weird") == 0 &&
	      !strcmp(a.heap, "h") && !strcmp(a.command[0], "--weird"));
	CHECK(PARSE(&a, "alloc", "4K") == -EINVAL && strstr(err, "missing COMMAND"));
	CHECK(PARSE(&a, "alloc", "--heap", "h") == -EINVAL && strstr(err, "missing SIZE"));
	CHECK(PARSE(&a, "alloc", "0", "true") == -EINVAL && strstr(err, "not be 0"));
	CHECK(PARSE(&a, "alloc", "4X", "true") == -EINVAL && strstr(err, "not a size"));
	CHECK(PARSE(&a, "alloc", "4K", "--json", "true") == -EINVAL);
	return ok;
}

static bool layout_from_a_buffer_offset(void)
{
	const uint64_t lens[] = { 5000, 1 }, al[] = { 4096, 4096 };
	uint64_t offs[2], end = 0;
	bool ok = true;

	CHECK(hl_layout_segments_at(32 << 20, lens, al, 2, offs, &end) == 0);
	CHECK(offs[0] == 32 << 20 && offs[1] == (32 << 20) + 8192 &&
	      end == (32 << 20) + 8193);
	/*
	 * The first file lands at the offset as given and takes its length
	 * rounded up to its alignment (a direct read's last block); the next
	 * one starts aligned after that.
	 */
	CHECK(hl_layout_segments_at(100, lens, al, 2, offs, &end) == 0);
	CHECK(offs[0] == 100 && offs[1] == 12288);
	CHECK(hl_layout_segments_at((uint64_t)INT64_MAX + 1, lens, al, 1, offs, &end) ==
	      -EOVERFLOW);
	CHECK(!strcmp(hl_fallback_name(HL_FB_UNALIGNED_AT), "unaligned_buffer_offset"));
	return ok;
}

static bool layout_each_file_at_next_aligned_offset(void)
{
	uint64_t offs[3], end = 0;
	bool ok = true;

	{
		const uint64_t lens[] = { 5000, 4096, 1 }, al[] = { 4096, 4096, 4096 };

		CHECK(hl_layout_segments(lens, al, 3, offs, &end) == 0);
		CHECK(offs[0] == 0 && offs[1] == 8192 && offs[2] == 12288 && end == 12289);
	}
	{
		/* A file with a larger direct-I/O alignment starts on it... */
		const uint64_t lens[] = { 100, 100, 100 }, al[] = { 4096, 16384, 4096 };

		CHECK(hl_layout_segments(lens, al, 3, offs, &end) == 0);
		CHECK(offs[0] == 0 && offs[1] == 16384 && offs[2] == 32768 && end == 32868);
	}
	{
		/* ... and occupies its length rounded up to it. */
		const uint64_t lens[] = { 5000, 10 }, al[] = { 16384, 4096 };

		CHECK(hl_layout_segments(lens, al, 2, offs, &end) == 0);
		CHECK(offs[1] == 16384 && end == 16394);
	}
	{
		const uint64_t lens[] = { 1, 0 }, al[] = { 4096, 4096 };
		const uint64_t bad_al[] = { 4096, 3000 };
		const uint64_t big[] = { (uint64_t)INT64_MAX - 4095, 1 };

		CHECK(hl_layout_segments(lens, al, 2, offs, &end) == -EINVAL);
		CHECK(hl_layout_segments(big, bad_al, 2, offs, &end) == -EINVAL);
		CHECK(hl_layout_segments(big, al, 2, offs, &end) == -EOVERFLOW);
		CHECK(hl_layout_segments(big, al, 1, offs, &end) == 0 &&
		      end == (uint64_t)INT64_MAX - 4095);
	}
	return ok;
}

#define TEST(fn) { #fn, fn }

static const struct {
	const char *name;
	bool (*fn)(void);
} tests[] = {
	TEST(parse_size_plain_decimal),
	TEST(parse_size_binary_suffixes),
	TEST(parse_size_decimal_suffixes),
	TEST(parse_size_rejects_malformed),
	TEST(parse_size_rejects_overflow),
	TEST(format_hex_lowercase_pairs),
	TEST(format_hex_rejects_short_buffer),
	TEST(sha256_matches_fips_vectors),
	TEST(args_load_defaults),
	TEST(args_load_all_options),
	TEST(args_double_dash_ends_options),
	TEST(args_rejects_direct_with_buffered),
	TEST(args_rejects_bad_input),
	TEST(args_heap_name_checked),
	TEST(args_info_takes_nothing),
	TEST(args_bench_runs),
	TEST(args_help_and_version),
	TEST(median_odd_even_and_unsorted),
	TEST(rate_is_decimal_megabytes),
	TEST(args_load_no_progress),
	TEST(args_bench_files_csv_methods),
	TEST(args_bench_file_limit),
	TEST(methods_names_round_trip),
	TEST(summarize_median_min_max),
	TEST(ratio_handles_missing),
	TEST(csv_field_quotes_when_needed),
	TEST(csv_num_formats_and_blanks),
	TEST(meminfo_values),
	TEST(batch_mb_covers_the_file),
	TEST(progress_line_format),
	TEST(args_json_and_drop_caches),
	TEST(exit_codes_like_cmp),
	TEST(direct_check_follows_kernel_rules),
	TEST(fallback_decision),
	TEST(fallback_names_and_texts),
	TEST(range_checked_in_user_space),
	TEST(load_errnos_mapped),
	TEST(json_escape_strings),
	TEST(json_escape_short_buffer),
	TEST(json_writer_object),
	TEST(digest_sizes_and_names),
	TEST(digest_hex_round_trip),
	TEST(digest_hex_rejects_bad_input),
	TEST(load_wait_polls_for_the_end),
	TEST(args_load_several_files),
	TEST(args_digest_print_or_verify),
	TEST(args_numa_node),
	TEST(layout_each_file_at_next_aligned_offset),
	TEST(load_errnos_of_v2_options),
	TEST(args_into_at_async),
	TEST(args_alloc_size_and_command),
	TEST(layout_from_a_buffer_offset),
};

int main(void)
{
	size_t i, n = sizeof(tests) / sizeof(tests[0]);
	unsigned int passed = 0, failed = 0;

	printf("KTAP version 1\n1..%zu\n", n);
	for (i = 0; i < n; i++) {
		bool ok = tests[i].fn();

		printf("%s %zu %s\n", ok ? "ok" : "not ok", i + 1, tests[i].name);
		if (ok)
			passed++;
		else
			failed++;
	}
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
