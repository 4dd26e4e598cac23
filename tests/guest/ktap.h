/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal KTAP/TAP 13 reporting for the heapload guest tests, in the
 * style of the kernel's kselftest.h.
 *
 * Output:
 *   TAP version 13
 *   1..N
 *   ok 1 name
 *   not ok 2 name
 *   ok 3 name # SKIP reason
 *   # diagnostics
 *
 * Exit status of ktap_finished(): 0 if every test passed (or passed and
 * skipped), 1 if any test failed or the plan was not met, 4 if every
 * test was skipped.
 *
 * A test function usually returns ktap_fail("fmt", ...),
 * ktap_skip("fmt", ...) or KTAP_PASS, and the caller hands the result
 * to ktap_report(name, result), which prints the stored reason.
 */
#ifndef HEAPLOAD_TESTS_KTAP_H
#define HEAPLOAD_TESTS_KTAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KTAP_PASS	0
#define KTAP_FAIL	1
#define KTAP_SKIP	4

struct ktap_counts {
	unsigned int plan;
	unsigned int run;
	unsigned int pass;
	unsigned int fail;
	unsigned int skip;
};

static struct ktap_counts ktap_cnt;
static char ktap_reason[512];

/* Every line is flushed at once: the tests fork and may be killed. */
static inline void ktap_vline(const char *prefix, const char *fmt, va_list ap)
{
	char buf[1024];
	char *line, *save = NULL;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	/* One "# " per line, so multi-line messages stay diagnostics. */
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		printf("%s%s\n", prefix, line);
	fflush(stdout);
}

static inline void ktap_print_header(void)
{
	printf("TAP version 13\n");
	fflush(stdout);
}

static inline void ktap_set_plan(unsigned int plan)
{
	ktap_cnt.plan = plan;
	printf("1..%u\n", plan);
	fflush(stdout);
}

static inline void __attribute__((format(printf, 1, 2)))
ktap_print_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ktap_vline("# ", fmt, ap);
	va_end(ap);
}

static inline void ktap_test_result_pass(const char *name)
{
	ktap_cnt.run++;
	ktap_cnt.pass++;
	printf("ok %u %s\n", ktap_cnt.run, name);
	fflush(stdout);
}

/* @reason is printed as a diagnostic just before the result line. */
static inline void ktap_test_result_fail(const char *name, const char *reason)
{
	ktap_cnt.run++;
	ktap_cnt.fail++;
	if (reason && *reason)
		ktap_print_msg("%s: %s", name, reason);
	printf("not ok %u %s\n", ktap_cnt.run, name);
	fflush(stdout);
}

static inline void ktap_test_result_skip(const char *name, const char *reason)
{
	char one_line[512];
	size_t i;

	snprintf(one_line, sizeof(one_line), "%s",
		 reason && *reason ? reason : "no reason given (test bug)");
	for (i = 0; one_line[i]; i++)
		if (one_line[i] == '\n' || one_line[i] == '#')
			one_line[i] = ' ';
	ktap_cnt.run++;
	ktap_cnt.skip++;
	printf("ok %u %s # SKIP %s\n", ktap_cnt.run, name, one_line);
	fflush(stdout);
}

/* Store a reason for the next ktap_report() and return @result. */
static inline int __attribute__((format(printf, 2, 3)))
ktap_why(int result, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ktap_reason, sizeof(ktap_reason), fmt, ap);
	va_end(ap);
	return result;
}

#define ktap_fail(...)	ktap_why(KTAP_FAIL, __VA_ARGS__)
#define ktap_skip(...)	ktap_why(KTAP_SKIP, __VA_ARGS__)

/* Print the result line of @name for @result and clear the stored reason. */
static inline void ktap_report(const char *name, int result)
{
	switch (result) {
	case KTAP_PASS:
		ktap_test_result_pass(name);
		break;
	case KTAP_SKIP:
		ktap_test_result_skip(name, ktap_reason);
		break;
	default:
		ktap_test_result_fail(name, ktap_reason);
		break;
	}
	ktap_reason[0] = '\0';
}

static inline void __attribute__((noreturn)) ktap_finished(void)
{
	ktap_print_msg("Totals: pass:%u fail:%u skip:%u of %u planned",
		       ktap_cnt.pass, ktap_cnt.fail, ktap_cnt.skip,
		       ktap_cnt.plan);
	if (ktap_cnt.run != ktap_cnt.plan) {
		ktap_print_msg("planned %u tests but ran %u",
			       ktap_cnt.plan, ktap_cnt.run);
		exit(KTAP_FAIL);
	}
	if (ktap_cnt.fail)
		exit(KTAP_FAIL);
	if (ktap_cnt.plan && ktap_cnt.skip == ktap_cnt.plan)
		exit(KTAP_SKIP);
	exit(KTAP_PASS);
}

#endif /* HEAPLOAD_TESTS_KTAP_H */
