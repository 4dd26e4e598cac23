// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Pure helpers of the heapload command: argument parsing and statistics.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "libheapload.h"

/* Which options a subcommand accepts. */
#define OPT_HEAP	(1U << 0)
#define OPT_MODE	(1U << 1)
#define OPT_RANGE	(1U << 2)
#define OPT_SHA256	(1U << 3)
#define OPT_RUNS	(1U << 4)

struct cmd_desc {
	const char *name;
	enum hl_cmd cmd;
	bool takes_file;
	unsigned int opts;
};

static const struct cmd_desc cmds[] = {
	{ "load", HL_CMD_LOAD, true, OPT_HEAP | OPT_MODE | OPT_RANGE | OPT_SHA256 },
	{ "verify", HL_CMD_VERIFY, true, OPT_HEAP | OPT_MODE | OPT_RANGE | OPT_SHA256 },
	{ "info", HL_CMD_INFO, false, 0 },
	{ "bench", HL_CMD_BENCH, true, OPT_HEAP | OPT_RANGE | OPT_RUNS },
};

struct opt_desc {
	const char *name;
	unsigned int mask;
	bool has_value;
};

static const struct opt_desc opts[] = {
	{ "heap", OPT_HEAP, true },
	{ "direct", OPT_MODE, false },
	{ "buffered", OPT_MODE, false },
	{ "offset", OPT_RANGE, true },
	{ "length", OPT_RANGE, true },
	{ "sha256", OPT_SHA256, false },
	{ "runs", OPT_RUNS, true },
};

struct parser {
	int argc;
	char *const *argv;
	int i;
	const struct cmd_desc *cmd;
	struct hl_args *args;
	char *err;
	size_t err_size;
	bool seen_mode;
};

__attribute__((format(printf, 2, 3)))
static int fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	if (p->err_size) {
		va_start(ap, fmt);
		vsnprintf(p->err, p->err_size, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

const char *hl_cmd_name(enum hl_cmd cmd)
{
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (cmds[i].cmd == cmd)
			return cmds[i].name;
	return "heapload";
}

static int parse_size_opt(struct parser *p, const char *name, const char *val,
			  uint64_t *out)
{
	int ret = heapload_parse_size(val, out);

	if (ret == -ERANGE)
		return fail(p, "--%s: '%s' is too large", name, val);
	if (ret)
		return fail(p, "--%s: '%s' is not a size (digits, optional K, M or G)",
			    name, val);
	return 0;
}

static int parse_runs(struct parser *p, const char *val)
{
	uint64_t runs;
	size_t len = strlen(val);

	if (!len || strspn(val, "0123456789") != len ||
	    heapload_parse_size(val, &runs) || runs < 1 || runs > HL_MAX_RUNS)
		return fail(p, "--runs: '%s' is not a number from 1 to %d",
			    val, HL_MAX_RUNS);
	p->args->runs = (unsigned int)runs;
	return 0;
}

static int parse_heap(struct parser *p, const char *val)
{
	if (!*val)
		return fail(p, "--heap: empty heap name");
	if (strlen(val) >= HEAPLOAD_HEAP_NAME_MAX)
		return fail(p, "--heap: name longer than %d bytes",
			    HEAPLOAD_HEAP_NAME_MAX - 1);
	if (strchr(val, '/'))
		return fail(p, "--heap: '%s' is a name under %s, not a path",
			    val, HEAPLOAD_HEAP_DIR);
	p->args->heap = val;
	return 0;
}

static int apply_opt(struct parser *p, const struct opt_desc *o, const char *val)
{
	struct hl_args *a = p->args;

	if (!strcmp(o->name, "heap"))
		return parse_heap(p, val);
	if (!strcmp(o->name, "offset"))
		return parse_size_opt(p, o->name, val, &a->offset);
	if (!strcmp(o->name, "length"))
		return parse_size_opt(p, o->name, val, &a->length);
	if (!strcmp(o->name, "runs"))
		return parse_runs(p, val);
	if (!strcmp(o->name, "sha256")) {
		a->sha256 = true;
		return 0;
	}
	/* --direct or --buffered */
	if (p->seen_mode)
		return fail(p, "--direct and --buffered are exclusive, give one");
	p->seen_mode = true;
	a->mode = !strcmp(o->name, "direct") ? HL_MODE_DIRECT : HL_MODE_BUFFERED;
	return 0;
}

/* Handle argv[p->i], which starts with "--" and is not "--" itself. */
static int parse_long_opt(struct parser *p)
{
	const char *arg = p->argv[p->i] + 2;
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	const struct opt_desc *o = NULL;
	const char *val = NULL;
	size_t i;

	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (strlen(opts[i].name) == len && !strncmp(opts[i].name, arg, len))
			o = &opts[i];
	if (!o || !(o->mask & p->cmd->opts))
		return fail(p, "%s: unknown option '--%.*s'", p->cmd->name,
			    (int)len, arg);
	if (o->has_value) {
		if (eq)
			val = eq + 1;
		else if (p->i + 1 < p->argc)
			val = p->argv[++p->i];
		else
			return fail(p, "--%s needs a value", o->name);
	} else if (eq) {
		return fail(p, "--%s takes no value", o->name);
	}
	return apply_opt(p, o, val);
}

static int parse_positional(struct parser *p, const char *arg)
{
	if (!p->cmd->takes_file)
		return fail(p, "%s: unexpected argument '%s'", p->cmd->name, arg);
	if (p->args->file)
		return fail(p, "%s: only one FILE, got '%s' and '%s'",
			    p->cmd->name, p->args->file, arg);
	if (!*arg)
		return fail(p, "%s: empty FILE", p->cmd->name);
	p->args->file = arg;
	return 0;
}

static bool is_help(const char *arg)
{
	return !strcmp(arg, "-h") || !strcmp(arg, "--help") || !strcmp(arg, "help");
}

static int parse_cmd_args(struct parser *p)
{
	bool opts_done = false;
	int ret;

	for (p->i = 2; p->i < p->argc; p->i++) {
		const char *arg = p->argv[p->i];

		if (!opts_done && (!strcmp(arg, "-h") || !strcmp(arg, "--help"))) {
			p->args->cmd = HL_CMD_HELP;
			return 0;
		}
		if (!opts_done && !strcmp(arg, "--"))
			opts_done = true;
		else if (!opts_done && !strncmp(arg, "--", 2))
			ret = parse_long_opt(p);
		else if (!opts_done && arg[0] == '-' && arg[1])
			ret = fail(p, "%s: unknown option '%s'", p->cmd->name, arg);
		else
			ret = parse_positional(p, arg);
		if (ret)
			return ret;
	}
	if (p->cmd->takes_file && !p->args->file)
		return fail(p, "%s: missing FILE", p->cmd->name);
	return 0;
}

int hl_parse_args(int argc, char *const argv[], struct hl_args *args,
		  char *err, size_t err_size)
{
	struct parser p = {
		.argc = argc, .argv = argv, .args = args,
		.err = err, .err_size = err_size,
	};
	const char *name;
	size_t i;

	memset(args, 0, sizeof(*args));
	args->heap = HEAPLOAD_DEFAULT_HEAP;
	args->mode = HL_MODE_BUFFERED;
	args->runs = HL_DEFAULT_RUNS;
	if (err_size)
		err[0] = '\0';

	if (argc < 2)
		return fail(&p, "missing command (try --help)");
	name = argv[1];
	if (is_help(name)) {
		args->cmd = HL_CMD_HELP;
		return 0;
	}
	if (!strcmp(name, "-V") || !strcmp(name, "--version")) {
		args->cmd = HL_CMD_VERSION;
		return 0;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(name, cmds[i].name))
			p.cmd = &cmds[i];
	if (!p.cmd)
		return fail(&p, "unknown command '%s' (try --help)", name);
	args->cmd = p.cmd->cmd;
	return parse_cmd_args(&p);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double hl_median(double *v, size_t n)
{
	if (!n)
		return 0.0;
	qsort(v, n, sizeof(*v), cmp_double);
	if (n % 2)
		return v[n / 2];
	return (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

double hl_rate_mbs(uint64_t bytes, uint64_t ns)
{
	if (!ns)
		ns = 1;
	/* bytes / (ns / 1e9) / 1e6 */
	return (double)bytes * 1e3 / (double)ns;
}
