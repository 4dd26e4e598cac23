/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SIGKILL in the middle of a load, shared by stress.c, gather.c and
 * restricted.c: fork a child that loads and then holds its buffer, kill it
 * as soon as the load is seen running, and tell the caller what happened;
 * the caller then checks that the module freed everything.
 */
#ifndef HEAPLOAD_TESTS_HL_KILL_H
#define HEAPLOAD_TESTS_HL_KILL_H

#include "hl_test.h"
#include "ktap.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

/* MemFree may differ this much before the load and after the kill. */
#define HL_MEMFREE_SLACK_KB	(32 * 1024)

/**
 * struct hl_kill - what happened to a load killed mid-way
 * @report:	the child's errno for its load: -1 if it reported nothing
 *		(killed before the load ended), 0 if the load had finished
 * @seen:	the load was seen running before the kill
 * @status:	the child's wait status
 * @died_ms:	milliseconds from SIGKILL until the child was reaped
 */
struct hl_kill {
	int report;
	bool seen;
	int status;
	uint64_t died_ms;
};

static inline int hl_drop_caches(void)
{
	sync();
	return hl_write_str("/proc/sys/vm/drop_caches", "3");
}

/* The errno the child reported, or -1 if it reported nothing yet. */
static inline int hl_child_report(int rfd)
{
	struct pollfd p = { .fd = rfd, .events = POLLIN };
	int e;

	if (poll(&p, 1, 0) != 1 || !(p.revents & POLLIN))
		return -1;
	if (read(rfd, &e, sizeof(e)) != sizeof(e))
		return -1;
	return e;
}

/* Reap @pid within @timeout_ms: 0, or ETIMEDOUT. */
static inline int hl_reap(pid_t pid, unsigned int timeout_ms, int *status)
{
	uint64_t end = hl_now_ms() + timeout_ms;

	for (;;) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return 0;
		if (hl_now_ms() >= end)
			return ETIMEDOUT;
		hl_sleep_ms(10);
	}
}

/*
 * Fork @child(wfd, @flags), which must write its load's errno (0 on
 * success) to wfd and then pause(). Poll @running every @poll_us until it
 * says the load runs or the child reported, for up to 60 s; then SIGKILL
 * the child and reap it (up to 60 s). Returns KTAP_PASS with *@k filled,
 * or a ktap_fail() result.
 */
static inline int hl_kill_mid_load(void (*child)(int wfd, uint32_t flags),
				   uint32_t flags, bool (*running)(void),
				   unsigned int poll_us, struct hl_kill *k)
{
	uint64_t end, t_kill;
	int pfd[2];
	pid_t pid;

	k->report = -1;
	k->seen = false;
	if (pipe2(pfd, O_CLOEXEC))
		return ktap_fail("pipe: %s", strerror(errno));
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return ktap_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		close(pfd[0]);
		child(pfd[1], flags);
		_exit(3);
	}
	close(pfd[1]);

	end = hl_now_ms() + 60000;
	while (hl_now_ms() < end) {
		k->seen = running();
		if (k->seen)
			break;
		k->report = hl_child_report(pfd[0]);
		if (k->report >= 0)
			break;
		usleep(poll_us);
	}
	kill(pid, SIGKILL);
	t_kill = hl_now_ms();
	if (hl_reap(pid, 60000, &k->status)) {
		close(pfd[0]);
		return ktap_fail("child still alive 60 s after SIGKILL");
	}
	k->died_ms = hl_now_ms() - t_kill;
	if (k->report < 0)
		k->report = hl_child_report(pfd[0]);
	close(pfd[0]);
	return KTAP_PASS;
}

/*
 * What every killed load must show: the load did not fail by itself, it
 * was seen running (in @watched, what the running() of
 * hl_kill_mid_load() reads) unless it had finished, and the child died
 * of the SIGKILL. Returns a ktap result.
 */
static inline int hl_kill_check(const struct hl_kill *k, const char *watched)
{
	if (k->report > 0)
		return ktap_fail("the load itself failed: %s",
				 hl_errname(k->report));
	if (!k->seen && k->report < 0)
		return ktap_fail("no load seen in %s within 60 s", watched);
	if (!WIFSIGNALED(k->status) || WTERMSIG(k->status) != SIGKILL)
		return ktap_fail("child did not die of SIGKILL (status 0x%x)",
				 k->status);
	return KTAP_PASS;
}

/*
 * Call @attempt(@flags) up to @n times while it returns KTAP_SKIP (the
 * load of @what ended before the kill landed), printing each reason.
 * Returns the first other result, or a skip after @n late kills.
 */
static inline int hl_kill_attempts(int (*attempt)(uint32_t flags),
				   uint32_t flags, unsigned int n,
				   const char *what)
{
	unsigned int i;
	int r;

	for (i = 0; i < n; i++) {
		r = attempt(flags);
		if (r != KTAP_SKIP)
			return r;
		ktap_print_msg("attempt %u: %s", i + 1, ktap_reason);
	}
	return ktap_skip("the %s load finished before SIGKILL in %u attempts: mid-load cleanup untested",
			 what, n);
}

/*
 * Free memory in kB: MemFree plus the per-CPU lists' free pages, which
 * MemFree leaves out (hl_pcp_free_kb()).
 */
static inline int hl_memfree_kb(uint64_t *kb)
{
	if (hl_proc_value("/proc/meminfo", "MemFree", kb))
		return ktap_fail("no MemFree in /proc/meminfo");
	*kb += hl_pcp_free_kb();
	return KTAP_PASS;
}

/* Before the load: caches dropped, hl_memfree_kb() into *@m0. */
static inline int hl_memfree_before(uint64_t *m0)
{
	if (hl_drop_caches())
		ktap_print_msg("cannot drop caches: the MemFree check is rougher");
	return hl_memfree_kb(m0);
}

/* After the kill: hl_memfree_kb() back within the slack of @m0 (kB). */
static inline int hl_memfree_back(uint64_t m0)
{
	uint64_t m1;

	hl_drop_caches();
	if (hl_memfree_kb(&m1))
		return KTAP_FAIL;
	ktap_print_msg("MemFree + per-CPU lists %" PRIu64 " kB before, %"
		       PRIu64 " kB after", m0, m1);
	if (m1 + HL_MEMFREE_SLACK_KB < m0)
		return ktap_fail("free memory is %" PRIu64 " kB lower than before the load",
				 m0 - m1);
	return KTAP_PASS;
}

#endif /* HEAPLOAD_TESTS_HL_KILL_H */
