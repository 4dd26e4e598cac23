// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Pure helpers of the heapload command: argument parsing and statistics.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <inttypes.h>
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
#define OPT_PROGRESS	(1U << 5)
#define OPT_CSV		(1U << 6)
#define OPT_METHODS	(1U << 7)
#define OPT_JSON	(1U << 8)
#define OPT_DROP	(1U << 9)
#define OPT_NUMA	(1U << 10)
#define OPT_INTO	(1U << 11)
#define OPT_ASYNC	(1U << 12)

struct cmd_desc {
	const char *name;
	enum hl_cmd cmd;
	unsigned int max_files;		/* FILE arguments: 0, or 1 to this */
	unsigned int opts;
};

static const struct cmd_desc cmds[] = {
	{ "load", HL_CMD_LOAD, HL_MAX_FILES,
	  OPT_HEAP | OPT_MODE | OPT_RANGE | OPT_SHA256 | OPT_PROGRESS | OPT_JSON |
	  OPT_NUMA | OPT_INTO | OPT_ASYNC },
	{ "verify", HL_CMD_VERIFY, 1,
	  OPT_HEAP | OPT_MODE | OPT_RANGE | OPT_SHA256 | OPT_PROGRESS | OPT_JSON |
	  OPT_NUMA | OPT_INTO },
	{ "info", HL_CMD_INFO, 0, OPT_JSON },
	{ "bench", HL_CMD_BENCH, HL_MAX_FILES,
	  OPT_HEAP | OPT_RANGE | OPT_RUNS | OPT_CSV | OPT_METHODS | OPT_DROP },
	/* SIZE and COMMAND [ARG...]: see parse_alloc_word() */
	{ "alloc", HL_CMD_ALLOC, 0, OPT_HEAP },
};

static const char *const bench_methods[HL_BM_COUNT] = {
	[HL_BM_NORMAL] = "normal",
	[HL_BM_UDMABUF] = "udmabuf",
	[HL_BM_UDMABUF_PRESTART] = "udmabuf-prestart",
	[HL_BM_SYNC] = "heapload-sync",
	[HL_BM_GATHER_DIRECT] = "heapload-gather-direct",
	[HL_BM_GATHER_DIRECT_1T] = "heapload-gather-direct-1t",
	[HL_BM_GATHER_DIRECT_VMAP] = "heapload-gather-direct-vmap",
	[HL_BM_GATHER_SHA256] = "heapload-gather-direct-sha256",
	[HL_BM_GATHER_XXH64] = "heapload-gather-direct-xxh64",
	[HL_BM_GATHER_BUFFERED] = "heapload-gather-buffered",
	[HL_BM_GATHER_BUFFERED_VMAP] = "heapload-gather-buffered-vmap",
	[HL_BM_ALLOC_ONLY] = "alloc-only",
	[HL_BM_ALLOC_ONLY_1T] = "alloc-only-1t",
	[HL_BM_ODIRECT_FLOOR] = "odirect-floor",
};

/* has_value: no value, a value, or an optional one (see hl_parse_args()). */
enum { VAL_NONE, VAL_NEEDED, VAL_OPTIONAL };

struct opt_desc {
	const char *name;
	unsigned int mask;
	int has_value;
};

static const struct opt_desc opts[] = {
	{ "heap", OPT_HEAP, VAL_NEEDED },
	{ "direct", OPT_MODE, VAL_NONE },
	{ "buffered", OPT_MODE, VAL_NONE },
	{ "offset", OPT_RANGE, VAL_NEEDED },
	{ "length", OPT_RANGE, VAL_NEEDED },
	{ "sha256", OPT_SHA256, VAL_OPTIONAL },
	{ "xxh64", OPT_SHA256, VAL_OPTIONAL },
	{ "numa-node", OPT_NUMA, VAL_NEEDED },
	{ "runs", OPT_RUNS, VAL_NEEDED },
	{ "no-progress", OPT_PROGRESS, VAL_NONE },
	{ "csv", OPT_CSV, VAL_NEEDED },
	{ "methods", OPT_METHODS, VAL_NEEDED },
	{ "json", OPT_JSON, VAL_NONE },
	{ "drop-caches", OPT_DROP, VAL_NONE },
	{ "into", OPT_INTO, VAL_NEEDED },
	{ "at", OPT_INTO, VAL_NEEDED },
	{ "async", OPT_ASYNC, VAL_NONE },
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
	bool seen_range;
	bool seen_heap;
	bool seen_at;
	bool seen_size;
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
	int ret = hl_parse_size(val, out);

	if (ret == -ERANGE)
		return fail(p, "--%s: '%s' is too large", name, val);
	if (ret)
		return fail(p, "--%s: '%s' is not a size (digits, optional K, M, G, T, KiB..TiB or KB..TB)",
			    name, val);
	return 0;
}

static int parse_runs(struct parser *p, const char *val)
{
	uint64_t runs;
	size_t len = strlen(val);

	if (!len || strspn(val, "0123456789") != len ||
	    hl_parse_size(val, &runs) || runs < 1 || runs > HL_MAX_RUNS)
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

/* The field of an option without a value, or NULL. */
static bool *flag_of(struct hl_args *a, const char *name)
{
	if (!strcmp(name, "no-progress"))
		return &a->no_progress;
	if (!strcmp(name, "json"))
		return &a->json;
	if (!strcmp(name, "drop-caches"))
		return &a->drop_caches;
	if (!strcmp(name, "async"))
		return &a->async;
	return NULL;
}

/* --sha256 or --xxh64, with the expected digest as @val or without (NULL). */
static int parse_digest(struct parser *p, const char *name, const char *val)
{
	struct hl_args *a = p->args;
	uint32_t alg = !strcmp(name, "sha256") ? HEAPLOAD_DIGEST_SHA256 :
						 HEAPLOAD_DIGEST_XXH64;

	if (a->digest_alg && a->digest_alg != alg)
		return fail(p, "--sha256 and --xxh64 are exclusive: the kernel computes one digest per load");
	if (a->digest_alg && (a->verify_digest || val))
		return fail(p, "--%s given twice", name);
	if (val && heapload_digest_parse(alg, val, a->expected_digest))
		return fail(p, "--%s: '%s' is not a digest: %d hex digits", name, val,
			    2 * heapload_digest_size(alg));
	a->digest_alg = alg;
	a->sha256 = alg == HEAPLOAD_DIGEST_SHA256;
	a->verify_digest = val != NULL;
	return 0;
}

/* A small decimal number (a NUMA node, a file descriptor), or -1. */
static int parse_small_number(const char *val)
{
	size_t len = strlen(val);
	uint64_t v;

	if (!len || len > 9 || strspn(val, "0123456789") != len ||
	    hl_parse_size(val, &v))
		return -1;
	return (int)v;
}

static int parse_numa_node(struct parser *p, const char *val)
{
	p->args->numa_node = parse_small_number(val);
	if (p->args->numa_node < 0)
		return fail(p, "--numa-node: '%s' is not a node number", val);
	return 0;
}

static int parse_into(struct parser *p, const char *val)
{
	p->args->into_fd = parse_small_number(val);
	if (p->args->into_fd < 0)
		return fail(p, "--into: '%s' is not a file descriptor number", val);
	return 0;
}

static int apply_opt(struct parser *p, const struct opt_desc *o, const char *val)
{
	struct hl_args *a = p->args;
	bool *flag;

	if (!strcmp(o->name, "heap")) {
		p->seen_heap = true;
		return parse_heap(p, val);
	}
	if (!strcmp(o->name, "into"))
		return parse_into(p, val);
	if (!strcmp(o->name, "at")) {
		p->seen_at = true;
		return parse_size_opt(p, o->name, val, &a->at);
	}
	if (o->mask == OPT_RANGE)
		p->seen_range = true;
	if (!strcmp(o->name, "offset"))
		return parse_size_opt(p, o->name, val, &a->offset);
	if (!strcmp(o->name, "length"))
		return parse_size_opt(p, o->name, val, &a->length);
	if (o->mask == OPT_SHA256)
		return parse_digest(p, o->name, val);
	if (!strcmp(o->name, "numa-node"))
		return parse_numa_node(p, val);
	if (!strcmp(o->name, "runs"))
		return parse_runs(p, val);
	flag = flag_of(a, o->name);
	if (flag) {
		*flag = true;
		return 0;
	}
	if (!strcmp(o->name, "csv")) {
		if (!*val)
			return fail(p, "--csv: empty file name");
		a->csv = val;
		return 0;
	}
	if (!strcmp(o->name, "methods")) {
		char names[512] = "";
		unsigned int m;

		if (!hl_parse_methods(val, &a->methods))
			return 0;
		for (m = 0; m < HL_BM_COUNT; m++)
			snprintf(names + strlen(names), sizeof(names) - strlen(names),
				 "%s%s", m ? ", " : "", bench_methods[m]);
		return fail(p, "--methods: '%s' is not a comma-separated list of: %s",
			    val, names);
	}
	/* --direct or --buffered */
	if (p->seen_mode)
		return fail(p, "--direct and --buffered are exclusive, give one");
	p->seen_mode = true;
	a->mode = !strcmp(o->name, "direct") ? HL_MODE_DIRECT : HL_MODE_BUFFERED;
	return 0;
}

/* Is @arg, the word after --sha256 or --xxh64, a digest of that algorithm? */
static bool digest_like(const char *name, const char *arg)
{
	uint8_t d[HEAPLOAD_DIGEST_SIZE];

	return !heapload_digest_parse(!strcmp(name, "sha256") ? HEAPLOAD_DIGEST_SHA256 :
				      HEAPLOAD_DIGEST_XXH64, arg, d);
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
	if (o->has_value == VAL_NEEDED) {
		if (eq)
			val = eq + 1;
		else if (p->i + 1 < p->argc)
			val = p->argv[++p->i];
		else
			return fail(p, "--%s needs a value", o->name);
	} else if (o->has_value == VAL_OPTIONAL) {
		if (eq)
			val = eq + 1;
		else if (p->i + 1 < p->argc && digest_like(o->name, p->argv[p->i + 1]))
			val = p->argv[++p->i];
	} else if (eq) {
		return fail(p, "--%s takes no value", o->name);
	}
	return apply_opt(p, o, val);
}

static int parse_positional(struct parser *p, const char *arg)
{
	struct hl_args *a = p->args;

	if (!p->cmd->max_files)
		return fail(p, "%s: unexpected argument '%s'", p->cmd->name, arg);
	if (a->nfiles >= p->cmd->max_files) {
		if (p->cmd->max_files == 1)
			return fail(p, "%s: only one FILE, got '%s' and '%s'",
				    p->cmd->name, a->file, arg);
		return fail(p, "%s: at most %u FILEs", p->cmd->name,
			    p->cmd->max_files);
	}
	if (!*arg)
		return fail(p, "%s: empty FILE", p->cmd->name);
	if (!a->nfiles)
		a->file = arg;
	a->files[a->nfiles++] = arg;
	return 0;
}

/*
 * A word of alloc that is not an option: SIZE, then the first word of
 * COMMAND. Returns 1 when COMMAND starts here (parsing ends), else 0 or
 * the error.
 */
static int parse_alloc_word(struct parser *p, const char *arg)
{
	struct hl_args *a = p->args;
	int ret;

	if (p->seen_size) {
		a->command = &p->argv[p->i];
		return 1;
	}
	p->seen_size = true;
	ret = hl_parse_size(arg, &a->alloc_size);
	if (ret == -ERANGE)
		return fail(p, "alloc: SIZE '%s' is too large", arg);
	if (ret)
		return fail(p, "alloc: SIZE '%s' is not a size (digits, optional K, M, G, T, KiB..TiB or KB..TB)",
			    arg);
	if (!a->alloc_size)
		return fail(p, "alloc: SIZE must not be 0");
	return 0;
}

/* What the options of one command say together. */
static int check_cmd_args(struct parser *p)
{
	const struct hl_args *a = p->args;

	if (a->cmd == HL_CMD_ALLOC && !p->seen_size)
		return fail(p, "alloc: missing SIZE");
	if (a->cmd == HL_CMD_ALLOC && !a->command)
		return fail(p, "alloc: missing COMMAND");
	if (p->cmd->max_files && !a->nfiles)
		return fail(p, "%s: missing FILE", p->cmd->name);
	if (a->cmd == HL_CMD_LOAD && a->nfiles > 1 && p->seen_range)
		return fail(p, "%s: --offset and --length take one FILE", p->cmd->name);
	if (p->seen_at && a->into_fd < 0)
		return fail(p, "%s: --at goes with --into", p->cmd->name);
	if (a->into_fd >= 0 && p->seen_heap)
		return fail(p, "%s: --into fills an existing buffer of its own heap: no --heap",
			    p->cmd->name);
	if (a->into_fd >= 0 && a->numa_node >= 0)
		return fail(p, "%s: --into fills an existing buffer, whose pages are already placed: no --numa-node",
			    p->cmd->name);
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
		else if (p->args->cmd == HL_CMD_ALLOC)
			ret = parse_alloc_word(p, arg);
		else
			ret = parse_positional(p, arg);
		if (ret < 0)
			return ret;
		if (ret)
			break;
	}
	return check_cmd_args(p);
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
	args->mode = HL_MODE_AUTO;
	args->runs = HL_DEFAULT_RUNS;
	args->methods = HL_BM_ALL;
	args->numa_node = -1;
	args->into_fd = -1;
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

const char *hl_bench_method_name(unsigned int method)
{
	return method < HL_BM_COUNT ? bench_methods[method] : "?";
}

int hl_parse_methods(const char *list, unsigned int *mask)
{
	unsigned int m, out = 0;
	const char *p = list, *end;
	size_t len;

	if (!list || !*list || !mask)
		return -EINVAL;
	for (;;) {
		end = strchr(p, ',');
		len = end ? (size_t)(end - p) : strlen(p);
		for (m = 0; m < HL_BM_COUNT; m++)
			if (strlen(bench_methods[m]) == len &&
			    !strncmp(bench_methods[m], p, len))
				break;
		if (m == HL_BM_COUNT)
			return -EINVAL;
		out |= 1U << m;
		if (!end)
			break;
		p = end + 1;
	}
	*mask = out;
	return 0;
}

void hl_summarize(double *v, size_t n, struct hl_summary *s)
{
	if (!n) {
		s->median = s->min = s->max = NAN;
		return;
	}
	s->median = hl_median(v, n);	/* sorts */
	s->min = v[0];
	s->max = v[n - 1];
}

double hl_ratio(double num, double den)
{
	if (isnan(num) || isnan(den) || !(den > 0.0))
		return NAN;
	return num / den;
}

int hl_csv_field(const char *in, char *out, size_t size)
{
	size_t i, o = 0, need;
	bool quote;

	if (!size)
		return -ENOSPC;
	if (!in)
		in = "";
	quote = strpbrk(in, ",\"\r\n") != NULL;
	need = strlen(in) + 1 + (quote ? 2 : 0);
	for (i = 0; in[i]; i++)
		need += in[i] == '"';
	if (need > size) {
		out[0] = '\0';
		return -ENOSPC;
	}
	if (quote)
		out[o++] = '"';
	for (i = 0; in[i]; i++) {
		if (in[i] == '"')
			out[o++] = '"';
		out[o++] = in[i];
	}
	if (quote)
		out[o++] = '"';
	out[o] = '\0';
	return 0;
}

int hl_csv_num(double v, int decimals, char *out, size_t size)
{
	int n;

	if (!size)
		return -ENOSPC;
	if (decimals < 0)
		decimals = 0;
	if (decimals > 9)
		decimals = 9;
	if (isnan(v) || isinf(v)) {
		out[0] = '\0';
		return 0;
	}
	/* No "-0.0" for a tiny negative value. */
	if (fabs(v) < 0.5 * pow(10.0, -decimals))
		v = 0.0;
	n = snprintf(out, size, "%.*f", decimals, v);
	if (n < 0 || (size_t)n >= size) {
		out[0] = '\0';
		return -ENOSPC;
	}
	return 0;
}

int hl_meminfo_kb(const char *text, const char *key, uint64_t *kb)
{
	size_t klen = strlen(key);
	const char *line = text;

	while (line && *line) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			const char *p = line + klen + 1;
			char *end;
			unsigned long long v;

			while (*p == ' ' || *p == '\t')
				p++;
			if (*p < '0' || *p > '9')
				return -ENOENT;
			errno = 0;
			v = strtoull(p, &end, 10);
			if (errno)
				return -ENOENT;
			*kb = v;
			return 0;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -ENOENT;
}

unsigned int hl_batch_mb_for(uint64_t bytes)
{
	uint64_t mb = bytes / (1ULL << 20) + !!(bytes % (1ULL << 20));

	if (mb < 1)
		return 1;
	if (mb > 65536)
		return 65536;
	return (unsigned int)mb;
}

int hl_format_progress(char *buf, size_t size, uint64_t done, uint64_t total,
		       double secs, unsigned int width)
{
	double rate = secs > 0.0 ? (double)done / 1e6 / secs : 0.0;
	size_t o = 0;
	unsigned int i, fill;
	int n;

	if (!size)
		return 0;
	buf[0] = '\0';
	if (total && done > total)
		done = total;
	if (total && width) {
		fill = (unsigned int)((double)done / (double)total * width);
		if (o + width + 3 < size) {
			buf[o++] = '[';
			for (i = 0; i < width; i++)
				buf[o++] = i < fill ? '#' : '.';
			buf[o++] = ']';
			buf[o++] = ' ';
			buf[o] = '\0';
		}
	}
	if (total)
		n = snprintf(buf + o, size - o, "%3u%%  %.1f/%.1f MB  %.1f MB/s",
			     (unsigned int)((double)done * 100.0 / (double)total),
			     (double)done / 1e6, (double)total / 1e6, rate);
	else
		n = snprintf(buf + o, size - o, "%.1f MB  %.1f MB/s",
			     (double)done / 1e6, rate);
	if (n < 0)
		return (int)o;
	o += (size_t)n;
	return o >= size ? (int)(size - 1) : (int)o;
}

/* Power of 1024 (binary) of a size prefix letter, either case; -1 if none. */
static int prefix_power(char c)
{
	switch (c) {
	case 'K': case 'k':
		return 1;
	case 'M': case 'm':
		return 2;
	case 'G': case 'g':
		return 3;
	case 'T': case 't':
		return 4;
	default:
		return -1;
	}
}

/*
 * The multiplier of a size suffix: "" or "B" is 1; K, M, G, T alone or
 * followed by "iB" are powers of 1024, followed by "B" powers of 1000.
 * Returns 0 for anything else.
 */
static uint64_t suffix_multiplier(const char *s)
{
	uint64_t base = 1024, mult = 1;
	int power, i;

	if (!strcmp(s, "") || !strcmp(s, "B"))
		return 1;
	power = prefix_power(s[0]);
	if (power < 0)
		return 0;
	if (!strcmp(s + 1, "B"))
		base = 1000;
	else if (strcmp(s + 1, "") && strcmp(s + 1, "iB"))
		return 0;
	for (i = 0; i < power; i++)
		mult *= base;
	return mult;
}

int hl_parse_size(const char *str, uint64_t *out)
{
	uint64_t val = 0, mult;
	const char *p;

	if (!str || !out || *str < '0' || *str > '9')
		return -EINVAL;
	for (p = str; *p >= '0' && *p <= '9'; p++) {
		unsigned int digit = (unsigned int)(*p - '0');

		if (val > (UINT64_MAX - digit) / 10)
			return -ERANGE;
		val = val * 10 + digit;
	}
	mult = suffix_multiplier(p);
	if (!mult)
		return -EINVAL;
	if (val > UINT64_MAX / mult)
		return -ERANGE;
	*out = val * mult;
	return 0;
}

int hl_format_hex(const unsigned char *in, size_t len, char *out,
			size_t out_size)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	if (!out || (!in && len))
		return -EINVAL;
	if (len > (SIZE_MAX - 1) / 2 || out_size < 2 * len + 1)
		return -ENOSPC;
	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
	return 0;
}

int hl_exit_code(int result)
{
	if (result < 0)
		return HL_EXIT_TROUBLE;
	return result ? HL_EXIT_MISMATCH : HL_EXIT_OK;
}

static uint64_t round_up(uint64_t v, uint64_t to)
{
	return (v + to - 1) / to * to;
}

int hl_layout_segments(const uint64_t *lens, const uint64_t *aligns,
		       unsigned int n, uint64_t *offs, uint64_t *end)
{
	return hl_layout_segments_at(0, lens, aligns, n, offs, end);
}

int hl_layout_segments_at(uint64_t start, const uint64_t *lens,
			  const uint64_t *aligns, unsigned int n, uint64_t *offs,
			  uint64_t *end)
{
	const uint64_t max = (uint64_t)INT64_MAX;
	uint64_t at = start;
	unsigned int i;

	if (start > max)
		return -EOVERFLOW;
	for (i = 0; i < n; i++) {
		uint64_t align = aligns[i];

		if (!lens[i] || !align || (align & (align - 1)))
			return -EINVAL;
		if (at > max - (align - 1))
			return -EOVERFLOW;
		offs[i] = i ? round_up(at, align) : at;
		if (lens[i] > max - (align - 1) || offs[i] > max - round_up(lens[i], align))
			return -EOVERFLOW;
		at = offs[i] + round_up(lens[i], align);
	}
	*end = n ? offs[n - 1] + lens[n - 1] : 0;
	return 0;
}

enum hl_fallback hl_direct_check(uint64_t offset, uint64_t length,
				 uint64_t dio_align, uint64_t page_size)
{
	if (!dio_align)
		return HL_FB_NO_O_DIRECT;
	if (offset % dio_align)
		return HL_FB_UNALIGNED_OFFSET;
	if (page_size && dio_align > page_size && length &&
	    length <= UINT64_MAX - dio_align &&
	    round_up(length, dio_align) > round_up(length, page_size))
		return HL_FB_UNALIGNED_LENGTH;
	return HL_FB_NONE;
}

int hl_fallback_decide(enum hl_mode requested, enum hl_fallback why,
		       enum hl_mode *use)
{
	switch (requested) {
	case HL_MODE_BUFFERED:
		*use = HL_MODE_BUFFERED;
		return 0;
	case HL_MODE_DIRECT:
		if (why != HL_FB_NONE)
			return -EINVAL;
		*use = HL_MODE_DIRECT;
		return 0;
	default:
		*use = why == HL_FB_NONE ? HL_MODE_DIRECT : HL_MODE_BUFFERED;
		return 0;
	}
}

const char *hl_fallback_name(enum hl_fallback why)
{
	switch (why) {
	case HL_FB_NONE:
		return "none";
	case HL_FB_UNALIGNED_OFFSET:
		return "unaligned_offset";
	case HL_FB_UNALIGNED_LENGTH:
		return "unaligned_length";
	case HL_FB_NO_O_DIRECT:
		return "no_o_direct";
	case HL_FB_KERNEL_EINVAL:
		return "kernel_refused_direct";
	case HL_FB_UNALIGNED_AT:
		return "unaligned_buffer_offset";
	}
	return "unknown";
}

const char *hl_fallback_text(enum hl_fallback why, uint64_t offset,
			     uint64_t dio_align, char *buf, size_t size)
{
	switch (why) {
	case HL_FB_UNALIGNED_OFFSET:
		snprintf(buf, size, "offset %" PRIu64 " is not a multiple of the direct-I/O alignment (%" PRIu64 " bytes)",
			 offset, dio_align);
		break;
	case HL_FB_UNALIGNED_LENGTH:
		snprintf(buf, size, "the direct-I/O alignment (%" PRIu64 " bytes) is larger than a page and the length rounded up to it does not fit the buffer",
			 dio_align);
		break;
	case HL_FB_NO_O_DIRECT:
		snprintf(buf, size, "the file system does not support direct I/O (O_DIRECT)");
		break;
	case HL_FB_KERNEL_EINVAL:
		snprintf(buf, size, "the kernel refused the direct load (EINVAL)");
		break;
	case HL_FB_UNALIGNED_AT:
		snprintf(buf, size, "--at %" PRIu64 " is not a multiple of the direct-I/O alignment (%" PRIu64 " bytes)",
			 offset, dio_align);
		break;
	default:
		snprintf(buf, size, "none");
		break;
	}
	return buf;
}

const char *hl_check_range(bool is_dir, bool is_reg, uint64_t size,
			   uint64_t offset, uint64_t length, uint64_t *len)
{
	if (is_dir)
		return "is a directory";
	if (!is_reg)
		return "not a regular file";
	if (length && (length > UINT64_MAX - offset ||
		       offset + length > (uint64_t)INT64_MAX))
		return "offset + length overflows";
	if (offset > size)
		return "offset past end of file";
	if (offset + length > size)
		return "range past end of file";
	if (!size)
		return "empty file, nothing to load";
	if (!length && offset == size)
		return "offset at end of file, nothing to load";
	*len = length ? length : size - offset;
	return NULL;
}

const char *hl_load_strerror(int err, const struct hl_load_ctx *ctx,
			     char *buf, size_t size)
{
	const char *heap = ctx && ctx->heap ? ctx->heap : HEAPLOAD_DEFAULT_HEAP;
	const char *msg = NULL;

	switch (err) {
	case EINVAL:
		if (ctx && ctx->fallback != HL_FB_NONE)
			msg = "the heap refused a buffered load (the restricted heap takes only direct I/O), and direct I/O was not possible";
		else if (ctx && ctx->direct)
			msg = "direct I/O refused: the file system does not support it or the offset is not a multiple of its alignment (try --buffered)";
		else
			msg = "invalid request: not a regular file, range outside the file, or a mode the heap refuses";
		break;
	case EPERM:
	case EACCES:
		msg = "reading the file was denied (security module or fanotify listener)";
		break;
	case E2BIG:
		msg = "the module does not know this request (module older than this tool?)";
		break;
	case ENODEV:
		snprintf(buf, size, "no heap named '%s' (see 'heapload info')", heap);
		return buf;
	case EBADF:
		msg = ctx && ctx->into ?
		      "the --into descriptor is not open, or not open for writing" :
		      "the file is not open for reading";
		break;
	case EXDEV:
		msg = "the --into descriptor is not a dma-buf of a heapload heap";
		break;
	case EBUSY:
		msg = "the --into buffer is busy: a device has it mapped, or another load is filling it";
		break;
	case ENOSPC:
		msg = "the files do not fit in the --into buffer";
		break;
	case EOPNOTSUPP:
		if (ctx && ctx->numa && strstr(heap, "restricted"))
			snprintf(buf, size, "--numa-node is not supported by %s: it takes physically contiguous memory from CMA or its own pool, which it cannot place on a node",
				 heap);
		else if (ctx && ctx->numa)
			snprintf(buf, size, "--numa-node is not supported by %s: it cannot place its memory on a node",
				 heap);
		else
			snprintf(buf, size, "not supported: the kernel lacks the digest (CONFIG_CRYPTO_LIB_SHA256, CONFIG_XXHASH)");
		return buf;
	case EISDIR:
		msg = "is a directory";
		break;
	case EOVERFLOW:
		msg = "offset + length overflows the largest file offset";
		break;
	case ENODATA:
		msg = "nothing to load: the range is empty, or the file shrank during the load";
		break;
	case ENOMEM:
		msg = "out of memory: the buffer exceeds the module's max_alloc_mb, the free memory or the memory cgroup's limit";
		break;
	case EINTR:
		msg = "interrupted by a fatal signal";
		break;
	case EMFILE:
		msg = "no free file descriptor for the dma-buf";
		break;
	case ENOTTY:
		msg = HEAPLOAD_DEV_PATH " does not know this load ioctl (module too old?)";
		break;
	case EFAULT:
		msg = "bad address passed to the kernel";
		break;
	case EIO:
		msg = "read error (I/O error)";
		break;
	}
	if (msg)
		snprintf(buf, size, "%s", msg);
	else
		snprintf(buf, size, "%s", strerror(err));
	return buf;
}

/* Length of the valid UTF-8 sequence at @s, or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	uint32_t cp;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)	/* also stops at the NUL */
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

int hl_json_escape(const char *in, char *out, size_t size)
{
	const unsigned char *s = (const unsigned char *)in;
	char esc[8];
	size_t o = 0, n, k;

	if (!size)
		return -ENOSPC;
	if (!in) {
		if (size < 5)
			goto nospc;
		memcpy(out, "null", 5);
		return 4;
	}
	if (o + 1 >= size)
		goto nospc;
	out[o++] = '"';
	while (*s) {
		const char *piece = esc;

		n = 1;
		switch (*s) {
		case '"': piece = "\\\""; break;
		case '\\': piece = "\\\\"; break;
		case '\b': piece = "\\b"; break;
		case '\f': piece = "\\f"; break;
		case '\n': piece = "\\n"; break;
		case '\r': piece = "\\r"; break;
		case '\t': piece = "\\t"; break;
		default:
			if (*s < 0x20 || *s == 0x7f) {
				snprintf(esc, sizeof(esc), "\\u%04x", *s);
			} else if (*s < 0x80) {
				esc[0] = (char)*s;
				esc[1] = '\0';
			} else {
				n = utf8_len(s);
				if (!n) {
					n = 1;
					piece = "\\ufffd";
				} else {
					memcpy(esc, s, n);
					esc[n] = '\0';
				}
			}
		}
		k = strlen(piece);
		if (o + k + 2 > size)	/* the piece, the closing quote, NUL */
			goto nospc;
		memcpy(out + o, piece, k);
		o += k;
		s += n;
	}
	out[o++] = '"';
	out[o] = '\0';
	return (int)o;
nospc:
	out[0] = '\0';
	return -ENOSPC;
}

static void json_put_str(FILE *f, const char *s)
{
	size_t need = s ? strlen(s) * 6 + 3 : 5;
	char small[256], *buf = need <= sizeof(small) ? small : malloc(need);

	if (buf && hl_json_escape(s, buf, need) >= 0)
		fputs(buf, f);
	else
		fputs("null", f);
	if (buf != small)
		free(buf);
}

/* The separator and "KEY": of the next value. */
static void json_key(struct hl_json *j, const char *key)
{
	if (!j->first[j->depth])
		fputs(", ", j->f);
	j->first[j->depth] = false;
	if (key) {
		json_put_str(j->f, key);
		fputs(": ", j->f);
	}
}

void hl_json_begin(struct hl_json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->first[0] = true;
	fputc('{', f);
}

void hl_json_end(struct hl_json *j)
{
	while (j->depth)
		hl_json_close(j, '}');
	fputs("}\n", j->f);
	fflush(j->f);
}

void hl_json_open(struct hl_json *j, const char *key, char bracket)
{
	json_key(j, key);
	fputc(bracket, j->f);
	if (j->depth + 1 < HL_JSON_DEPTH)
		j->depth++;
	j->first[j->depth] = true;
}

void hl_json_close(struct hl_json *j, char bracket)
{
	fputc(bracket, j->f);
	if (j->depth)
		j->depth--;
}

void hl_json_str(struct hl_json *j, const char *key, const char *val)
{
	json_key(j, key);
	json_put_str(j->f, val);
}

void hl_json_u64(struct hl_json *j, const char *key, uint64_t val)
{
	json_key(j, key);
	fprintf(j->f, "%" PRIu64, val);
}

void hl_json_bool(struct hl_json *j, const char *key, bool val)
{
	json_key(j, key);
	fputs(val ? "true" : "false", j->f);
}

void hl_json_null(struct hl_json *j, const char *key)
{
	json_key(j, key);
	fputs("null", j->f);
}

void hl_json_num(struct hl_json *j, const char *key, double val, int decimals)
{
	char text[64];

	json_key(j, key);
	if (hl_csv_num(val, decimals, text, sizeof(text)) || !text[0])
		fputs("null", j->f);
	else
		fputs(text, j->f);
}
