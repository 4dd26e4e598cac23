/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Module parameters and debugfs knobs that a guest test changes and puts
 * back, shared by gather.c and restricted.c. Each program keeps its own
 * table: an enum of indexes into an array of struct hl_knob, described
 * by a struct hl_knobs. hl_knobs_save() reads every value once at the
 * start; a test changes what it needs with hl_knob_set() or
 * hl_knob_write(); hl_knobs_run() puts back what the test changed, failed
 * or not; hl_knobs_restored() is the last test, checking that every knob
 * reads as at the start.
 */
#ifndef HEAPLOAD_TESTS_HL_KNOBS_H
#define HEAPLOAD_TESTS_HL_KNOBS_H

#include "hl_test.h"
#include "ktap.h"

#define HL_PARAM_DIR	HL_MODULE_DIR "/parameters/"
#define HL_DEBUG_DIR	"/sys/kernel/debug/heapload"

/**
 * struct hl_knob - one module parameter or debugfs knob
 * @name:	its name, for messages
 * @path:	its file
 * @orig:	its value when the program started
 * @present:	@path was there and read at the start
 * @changed:	written since the last restore
 */
struct hl_knob {
	const char *name;
	const char *path;
	char orig[32];
	bool present;
	bool changed;
};

/**
 * struct hl_knobs - the knobs of one program
 * @knob:	its table, indexed by the program's enum
 * @n:		how many knobs @knob holds
 * @required:	the module under test has every knob of the table: a
 *		missing one fails hl_knob_set() instead of skipping the test
 */
struct hl_knobs {
	struct hl_knob *knob;
	unsigned int n;
	bool required;
};

/* debugfs is mounted at /sys/kernel/debug. */
static inline bool hl_debugfs_mounted(void)
{
	char line[512], dir[256], type[64];
	FILE *f = fopen("/proc/mounts", "re");
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*s %255s %63s", dir, type) == 2 &&
			!strcmp(dir, "/sys/kernel/debug") &&
			!strcmp(type, "debugfs");
	fclose(f);
	return found;
}

/* Read the value of every knob of @ks; those that read nothing are absent. */
static inline void hl_knobs_save(struct hl_knobs *ks)
{
	struct hl_knob *k;

	for (k = ks->knob; k < ks->knob + ks->n; k++)
		k->present = !hl_read_word(k->path, k->orig, sizeof(k->orig)) &&
			     k->orig[0];
}

/* Write @str to knob @id of @ks; returns 0 or the errno. */
static inline int hl_knob_write(struct hl_knobs *ks, unsigned int id,
				const char *str)
{
	struct hl_knob *k = &ks->knob[id];

	if (!k->present)
		return ENOENT;
	k->changed = true;
	return hl_write_str(k->path, str);
}

/*
 * Set knob @id of @ks to @val; returns a ktap result. A knob missing
 * since the start skips the test, or fails it if @ks->required.
 */
static inline int hl_knob_set(struct hl_knobs *ks, unsigned int id,
			      uint64_t val)
{
	const struct hl_knob *k = &ks->knob[id];
	char buf[32];
	int e;

	if (!k->present)
		return ktap_why(ks->required ? KTAP_FAIL : KTAP_SKIP, "no %s",
				k->path);
	snprintf(buf, sizeof(buf), "%" PRIu64, val);
	e = hl_knob_write(ks, id, buf);
	if (e == EACCES || e == EPERM)
		return ktap_skip("writing %s needs root", k->name);
	if (e)
		return ktap_fail("writing %s=%s: %s", k->name, buf,
				 hl_errname(e));
	return KTAP_PASS;
}

/* The value of knob @id of @ks into *@val; returns a ktap result. */
static inline int hl_knob_get(struct hl_knobs *ks, unsigned int id,
			      uint64_t *val)
{
	const struct hl_knob *k = &ks->knob[id];
	int e = hl_read_u64(k->path, val);

	if (e)
		return ktap_fail("reading %s: %s", k->path, hl_errname(e));
	return KTAP_PASS;
}

/* Put knob @id of @ks back to its value at the start now; 0 or the errno. */
static inline int hl_knob_reset(struct hl_knobs *ks, unsigned int id)
{
	struct hl_knob *k = &ks->knob[id];
	int e;

	if (!k->changed)
		return 0;
	e = hl_write_str(k->path, k->orig);
	if (!e)
		k->changed = false;
	return e;
}

/*
 * Put every changed knob of @ks back to its value at the start. Only
 * open, write and close: also called from a signal handler. Returns 0 or
 * the errno of the first failure, whose knob goes to *@bad.
 */
static inline int hl_knobs_restore(struct hl_knobs *ks,
				   const struct hl_knob **bad)
{
	unsigned int id;
	int e, first = 0;

	for (id = 0; id < ks->n; id++) {
		e = hl_knob_reset(ks, id);
		if (e && !first) {
			first = e;
			if (bad)
				*bad = &ks->knob[id];
		}
	}
	return first;
}

/*
 * Report test @name: @fn(@arg), then every knob of @ks put back, which
 * fails the test if it does not work. Unless the first test forbids
 * running it (hl_precondition_report()).
 */
static inline void hl_knobs_run(struct hl_knobs *ks, const char *name,
				int (*fn)(const void *arg), const void *arg)
{
	const struct hl_knob *bad = NULL;
	int r, e;

	if (hl_precondition_report(name))
		return;
	r = fn(arg);
	e = hl_knobs_restore(ks, &bad);
	if (e && r == KTAP_FAIL)
		ktap_print_msg("%s: also restoring %s to %s: %s", name,
			       bad->name, bad->orig, hl_errname(e));
	else if (e)
		r = ktap_fail("restoring %s to %s: %s", bad->name, bad->orig,
			      hl_errname(e));
	ktap_report(name, r);
}

/* hl_knobs_run() every test of table @t of @n entries. */
static inline void hl_knobs_run_table(struct hl_knobs *ks,
				      const struct hl_test *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		hl_knobs_run(ks, t[i].name, t[i].fn, t[i].arg);
}

/* The last test: every knob of @ks present at the start reads as it did. */
static inline int hl_knobs_restored(struct hl_knobs *ks)
{
	const struct hl_knob *k;
	char buf[32];
	int e;

	for (k = ks->knob; k < ks->knob + ks->n; k++) {
		if (!k->present)
			continue;
		e = hl_read_word(k->path, buf, sizeof(buf));
		if (e)
			return ktap_fail("reading %s: %s", k->path, hl_errname(e));
		if (strcmp(buf, k->orig))
			return ktap_fail("%s reads \"%s\", was \"%s\" before the tests",
					 k->name, buf, k->orig);
	}
	return KTAP_PASS;
}

#endif /* HEAPLOAD_TESTS_HL_KNOBS_H */
