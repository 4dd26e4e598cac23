// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Host unit tests of the pure parts of libheapload and the heapload
 * command: size parsing, hex formatting, SHA-256, argument parsing and
 * the median. Prints KTAP and ends with "N passed, N failed"; exits 1 if
 * any test failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "libheapload.h"

static bool check(bool cond, const char *what)
{
	if (!cond)
		printf("# check failed: %s\n", what);
	return cond;
}

#define CHECK(cond) ok &= check((cond), #cond)

/* ---- heapload_parse_size ---- */

static int size_of(const char *s, uint64_t *v)
{
	*v = 0xdeadbeef;
	return heapload_parse_size(s, v);
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

static bool parse_size_binary_suffixes(void)
{
	bool ok = true;
	uint64_t v;

	CHECK(size_of("4K", &v) == 0 && v == 4096);
	CHECK(size_of("4k", &v) == 0 && v == 4096);
	CHECK(size_of("3M", &v) == 0 && v == 3ULL << 20);
	CHECK(size_of("2m", &v) == 0 && v == 2ULL << 20);
	CHECK(size_of("5G", &v) == 0 && v == 5ULL << 30);
	CHECK(size_of("1g", &v) == 0 && v == 1ULL << 30);
	CHECK(size_of("0K", &v) == 0 && v == 0);
	return ok;
}

static bool parse_size_rejects_malformed(void)
{
	static const char *const bad[] = {
		"", "K", "-1", "+1", " 1", "1 ", "1x", "1KB", "1KiB", "1T",
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
	CHECK(heapload_parse_size(NULL, &v) == -EINVAL);
	CHECK(heapload_parse_size("1", NULL) == -EINVAL);
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
	return ok;
}

/* ---- heapload_format_hex and heapload_sha256 ---- */

static bool format_hex_lowercase_pairs(void)
{
	static const unsigned char in[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	bool ok = true;
	char out[13];

	CHECK(heapload_format_hex(in, sizeof(in), out, sizeof(out)) == 0);
	CHECK(!strcmp(out, "00017f80abff"));
	CHECK(heapload_format_hex(NULL, 0, out, 1) == 0 && out[0] == '\0');
	return ok;
}

static bool format_hex_rejects_short_buffer(void)
{
	static const unsigned char in[] = { 0x12, 0x34 };
	bool ok = true;
	char out[5] = "xxxx";

	CHECK(heapload_format_hex(in, sizeof(in), out, 4) == -ENOSPC);
	CHECK(!strcmp(out, "xxxx"));
	CHECK(heapload_format_hex(in, sizeof(in), NULL, 5) == -EINVAL);
	CHECK(heapload_format_hex(NULL, 1, out, 5) == -EINVAL);
	return ok;
}

static bool sha256_matches_fips_vectors(void)
{
	unsigned char d[HEAPLOAD_SHA256_LEN];
	char hex[2 * HEAPLOAD_SHA256_LEN + 1];
	bool ok = true;

	CHECK(heapload_sha256("abc", 3, d) == 0);
	heapload_format_hex(d, sizeof(d), hex, sizeof(hex));
	CHECK(!strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	CHECK(heapload_sha256(NULL, 0, d) == 0);
	heapload_format_hex(d, sizeof(d), hex, sizeof(hex));
	CHECK(!strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
	CHECK(heapload_sha256(NULL, 1, d) == -EINVAL);
	return ok;
}

/* ---- hl_parse_args ---- */

#define ARGV(...) ((char *const[]){ "heapload", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof(ARGV(__VA_ARGS__)) / sizeof(char *)) - 1)
#define PARSE(a, ...) hl_parse_args(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (a), err, sizeof(err))

static char err[256];

static bool args_load_defaults(void)
{
	struct hl_args a;
	bool ok = true;

	CHECK(PARSE(&a, "load", "f.bin") == 0);
	CHECK(a.cmd == HL_CMD_LOAD);
	CHECK(!strcmp(a.file, "f.bin"));
	CHECK(!strcmp(a.heap, HEAPLOAD_DEFAULT_HEAP));
	CHECK(a.mode == HL_MODE_BUFFERED);
	CHECK(a.offset == 0 && a.length == 0 && !a.sha256);
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
	CHECK(PARSE(&a, "load", "a", "b") == -EINVAL && strstr(err, "only one FILE"));
	CHECK(PARSE(&a, "load", "a", "--bogus") == -EINVAL && strstr(err, "--bogus"));
	CHECK(PARSE(&a, "load", "a", "-x") == -EINVAL);
	CHECK(PARSE(&a, "load", "a", "--offset") == -EINVAL && strstr(err, "needs a value"));
	CHECK(PARSE(&a, "load", "a", "--offset", "1Q") == -EINVAL && strstr(err, "--offset"));
	CHECK(PARSE(&a, "load", "a", "--length=99999999999999999999") == -EINVAL &&
	      strstr(err, "too large"));
	CHECK(PARSE(&a, "load", "a", "--sha256=yes") == -EINVAL && strstr(err, "no value"));
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

#define TEST(fn) { #fn, fn }

static const struct {
	const char *name;
	bool (*fn)(void);
} tests[] = {
	TEST(parse_size_plain_decimal),
	TEST(parse_size_binary_suffixes),
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
