// SPDX-License-Identifier: GPL-2.0
/*
 * The work items that read a gathered load's batches read with the
 * caller's credentials: a load of a FUSE file by an unprivileged caller
 * (uid/gid 4321) in 1 MiB batches must make FUSE READ requests that
 * carry the caller's fsuid/fsgid in their in-header, never the worker's
 * root (uid 0).
 *
 * No libfuse: the test is its own minimal FUSE server over /dev/fuse, in
 * a thread, serving one read-only 48 MiB file "data" whose byte i is
 * (i * 7 + 3) & 0xff, and logging the uid/gid of every READ request.
 * The load is done by a child that opens /dev/heapload and the file as
 * root, then drops to uid/gid 4321, loads buffered into heapload,system
 * and checks the buffer byte for byte through an mmap.
 *
 * Skipped without /dev/fuse or FUSE in the kernel.
 */
#define _GNU_SOURCE
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <linux/fuse.h>

#include "hl_knobs.h"

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

#define CRED_ID		4321
#define FILE_NAME	"data"
#define FILE_SIZE	(48 * HL_MIB)
#define FILE_INO	2
#define MNT_DIR		"/tmp/heapload-creds"
#define FUSE_DEV	"/dev/fuse"
#define MAX_WRITE	(128 * 1024)
/* At least FUSE_MIN_READ_BUFFER, room for a request of max_write. */
#define REQ_BUF		(MAX_WRITE + 64 * 1024)
#define MAX_LOG		65536

enum { K_BATCH };

static struct hl_knob knob[] = {
	[K_BATCH] = { "gather_batch_mb", HL_PARAM_DIR "gather_batch_mb" },
};

static struct hl_knobs knobs = { knob, ARRAY_LEN(knob), false };

static inline unsigned char pattern(uint64_t i)
{
	return (unsigned char)((i * 7 + 3) & 0xff);
}

/* ---------------------------------------------------------- FUSE server -- */

struct read_log {
	uint32_t uid, gid, pid, size;
	uint64_t offset;
};

struct server {
	int fd;
	pthread_t thread;
	volatile int stop;
	/* Written by the server thread only; read after the load. */
	struct read_log *log;
	unsigned int reads;	/* READ requests seen */
	unsigned int other;	/* requests answered with ENOSYS */
	uint32_t last_enosys;
	int error;		/* errno that stopped the server, or 0 */
};

static int reply(struct server *s, uint64_t unique, int error,
		 const void *data, size_t len)
{
	struct fuse_out_header oh = {
		.len = (uint32_t)(sizeof(oh) + (error ? 0 : len)),
		.error = error,
		.unique = unique,
	};
	struct iovec iov[2] = {
		{ &oh, sizeof(oh) },
		{ (void *)data, error ? 0 : len },
	};
	ssize_t n = writev(s->fd, iov, error || !len ? 1 : 2);

	/* ENOENT: the request was interrupted and is gone; fine. */
	return n < 0 && errno != ENOENT ? errno : 0;
}

static void fill_attr(struct fuse_attr *a, uint64_t ino)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->blksize = 4096;
	a->nlink = 1;
	if (ino == FUSE_ROOT_ID) {
		a->mode = S_IFDIR | 0755;
		a->nlink = 2;
	} else {
		a->mode = S_IFREG | 0444;
		a->size = FILE_SIZE;
		a->blocks = FILE_SIZE / 512;
	}
}

/* One request of @len bytes in @buf; 0 or the errno of the reply. */
static int handle(struct server *s, const unsigned char *buf, size_t len,
		  unsigned char *out)
{
	const struct fuse_in_header *ih = (const void *)buf;
	const void *arg = buf + sizeof(*ih);

	if (len < sizeof(*ih))
		return EPROTO;
	switch (ih->opcode) {
	case FUSE_INIT: {
		const struct fuse_init_in *in = arg;
		struct fuse_init_out o;

		memset(&o, 0, sizeof(o));
		o.major = FUSE_KERNEL_VERSION;
		o.minor = in->minor < FUSE_KERNEL_MINOR_VERSION ?
			  in->minor : FUSE_KERNEL_MINOR_VERSION;
		o.max_readahead = in->max_readahead;
		o.max_background = 16;
		o.congestion_threshold = 12;
		o.max_write = MAX_WRITE;
		o.time_gran = 1;
		return reply(s, ih->unique, 0, &o, sizeof(o));
	}
	case FUSE_LOOKUP: {
		const char *name = arg;
		struct fuse_entry_out o;

		if (ih->nodeid != FUSE_ROOT_ID || strcmp(name, FILE_NAME))
			return reply(s, ih->unique, -ENOENT, NULL, 0);
		memset(&o, 0, sizeof(o));
		o.nodeid = FILE_INO;
		o.generation = 1;
		o.entry_valid = 3600;
		o.attr_valid = 3600;
		fill_attr(&o.attr, FILE_INO);
		return reply(s, ih->unique, 0, &o, sizeof(o));
	}
	case FUSE_GETATTR: {
		struct fuse_attr_out o;

		memset(&o, 0, sizeof(o));
		o.attr_valid = 3600;
		fill_attr(&o.attr, ih->nodeid);
		return reply(s, ih->unique, 0, &o, sizeof(o));
	}
	case FUSE_OPEN:
	case FUSE_OPENDIR: {
		struct fuse_open_out o;

		memset(&o, 0, sizeof(o));
		o.fh = ih->nodeid;	/* no FOPEN_DIRECT_IO: page cache */
		return reply(s, ih->unique, 0, &o, sizeof(o));
	}
	case FUSE_READ: {
		const struct fuse_read_in *in = arg;
		uint64_t off = in->offset, n = in->size, i;

		if (s->reads < MAX_LOG) {
			s->log[s->reads].uid = ih->uid;
			s->log[s->reads].gid = ih->gid;
			s->log[s->reads].pid = ih->pid;
			s->log[s->reads].size = in->size;
			s->log[s->reads].offset = in->offset;
		}
		__atomic_add_fetch(&s->reads, 1, __ATOMIC_RELEASE);
		if (ih->nodeid != FILE_INO)
			return reply(s, ih->unique, -EISDIR, NULL, 0);
		if (off >= FILE_SIZE)
			n = 0;
		else if (n > FILE_SIZE - off)
			n = FILE_SIZE - off;
		if (n > REQ_BUF)
			n = REQ_BUF;
		for (i = 0; i < n; i++)
			out[i] = pattern(off + i);
		return reply(s, ih->unique, 0, out, n);
	}
	case FUSE_READDIR:
		return reply(s, ih->unique, 0, NULL, 0);	/* empty */
	case FUSE_STATFS: {
		struct fuse_statfs_out o;

		memset(&o, 0, sizeof(o));
		o.st.bsize = 4096;
		o.st.frsize = 4096;
		o.st.namelen = 255;
		return reply(s, ih->unique, 0, &o, sizeof(o));
	}
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR:
	case FUSE_FLUSH:
	case FUSE_ACCESS:
	case FUSE_DESTROY:
		return reply(s, ih->unique, 0, NULL, 0);
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
		return 0;			/* no reply */
	default:
		s->other++;
		s->last_enosys = ih->opcode;
		return reply(s, ih->unique, -ENOSYS, NULL, 0);
	}
}

static void *server_main(void *arg)
{
	struct server *s = arg;
	unsigned char *buf = malloc(REQ_BUF), *out = malloc(REQ_BUF);
	struct pollfd p = { .fd = s->fd, .events = POLLIN };
	ssize_t n;
	int e;

	if (!buf || !out) {
		s->error = ENOMEM;
		goto done;
	}
	while (!s->stop) {
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(s->fd, buf, REQ_BUF);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == ENOENT)
				continue;
			if (errno != ENODEV)	/* ENODEV: unmounted */
				s->error = errno;
			break;
		}
		e = handle(s, buf, (size_t)n, out);
		if (e == ENODEV)
			break;
		if (e && !s->error)
			s->error = e;
	}
done:
	free(buf);
	free(out);
	return NULL;
}

/* -------------------------------------------------------------- the load -- */

/* What the child that loads reports through a pipe. */
struct child_result {
	int result;		/* KTAP_PASS or KTAP_FAIL */
	char why[400];
};

static int child_fail(struct child_result *cr, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int child_fail(struct child_result *cr, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cr->why, sizeof(cr->why), fmt, ap);
	va_end(ap);
	cr->result = KTAP_FAIL;
	return KTAP_FAIL;
}

/* The child: open as root, drop to CRED_ID, load, verify. */
static void child_load(const char *path, struct child_result *cr)
{
	struct heapload_load l;
	unsigned char *map;
	int loader, fd, e;
	uint64_t i;

	cr->result = KTAP_PASS;
	loader = open(HL_LOADER_PATH, O_RDWR | O_CLOEXEC);
	if (loader < 0) {
		child_fail(cr, "open %s: %s", HL_LOADER_PATH, strerror(errno));
		return;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		child_fail(cr, "open %s: %s", path, strerror(errno));
		return;
	}
	if (setgroups(0, NULL) || setresgid(CRED_ID, CRED_ID, CRED_ID) ||
	    setresuid(CRED_ID, CRED_ID, CRED_ID)) {
		child_fail(cr, "dropping to uid/gid %d: %s", CRED_ID,
			   strerror(errno));
		return;
	}
	hl_load_init(&l, fd, HEAPLOAD_LOAD_BUFFERED, 0, 0);
	e = hl_ioctl(loader, HEAPLOAD_IOC_LOAD, &l);
	if (e) {
		child_fail(cr, "load of %s as uid %d: %s", path, CRED_ID,
			   hl_errname(e));
		return;
	}
	if (l.loaded != FILE_SIZE || l.buf_size != FILE_SIZE) {
		child_fail(cr, "loaded %llu buf_size %llu, expected %llu",
			   (unsigned long long)l.loaded,
			   (unsigned long long)l.buf_size,
			   (unsigned long long)FILE_SIZE);
		return;
	}
	map = mmap(NULL, l.buf_size, PROT_READ, MAP_SHARED, l.dmabuf_fd, 0);
	if (map == MAP_FAILED) {
		child_fail(cr, "mmap of dma-buf: %s", strerror(errno));
		return;
	}
	e = hl_sync(l.dmabuf_fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	if (e) {
		child_fail(cr, "SYNC_START: %s", hl_errname(e));
		return;
	}
	for (i = 0; i < FILE_SIZE; i++) {
		if (map[i] != pattern(i)) {
			child_fail(cr, "byte %" PRIu64 " of buffer is 0x%02x, file has 0x%02x",
				   i, map[i], pattern(i));
			break;
		}
	}
	e = hl_sync(l.dmabuf_fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	if (e && cr->result == KTAP_PASS)
		child_fail(cr, "SYNC_END: %s", hl_errname(e));
	munmap(map, l.buf_size);
	close(l.dmabuf_fd);
	close(fd);
	close(loader);
}

/* What the load test found, for the test that judges the READ requests. */
static struct {
	int result;		/* of the load test; KTAP_SKIP: not run */
	char why[sizeof(ktap_reason)];
	unsigned int reads, logged;
	struct read_log *log;
} seen = { .result = KTAP_SKIP };

/* Run the child, wait for it; a ktap result. */
static int run_child(const char *path)
{
	struct child_result cr = { KTAP_FAIL, "child sent nothing" };
	int pfd[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		return ktap_fail("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return ktap_fail("fork: %s", strerror(errno));
	}
	if (!pid) {
		close(pfd[0]);
		child_load(path, &cr);
		n = write(pfd[1], &cr, sizeof(cr));
		_exit(n == (ssize_t)sizeof(cr) ? 0 : 1);
	}
	close(pfd[1]);
	n = read(pfd[0], &cr, sizeof(cr));
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(cr))
		return ktap_fail("the loading child died (status 0x%x)", status);
	if (cr.result != KTAP_PASS)
		return ktap_fail("%s", cr.why);
	return KTAP_PASS;
}

static int t_load(const void *arg)
{
	struct server s = { .fd = -1 };
	char opts[128], path[256];
	bool mounted = false, thread = false;
	struct stat st;
	int r;

	(void)arg;
	r = hl_precondition_module();
	if (r)
		return r;
	if (access(HL_LOADER_PATH, R_OK | W_OK))
		return ktap_fail("module loaded but %s: %s", HL_LOADER_PATH,
				 strerror(errno));
	s.log = calloc(MAX_LOG, sizeof(*s.log));
	if (!s.log)
		return ktap_fail("out of memory");
	s.fd = open(FUSE_DEV, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (s.fd < 0) {
		r = errno == ENOENT || errno == ENODEV || errno == ENXIO ?
		    ktap_skip("no FUSE: open %s: %s", FUSE_DEV, strerror(errno)) :
		    ktap_fail("open %s: %s", FUSE_DEV, strerror(errno));
		goto out;
	}
	if (mkdir(MNT_DIR, 0755) && errno != EEXIST) {
		r = ktap_fail("mkdir %s: %s", MNT_DIR, strerror(errno));
		goto out;
	}
	snprintf(opts, sizeof(opts),
		 "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other", s.fd);
	if (mount("heapload-creds", MNT_DIR, "fuse", MS_NODEV | MS_NOSUID,
		  opts)) {
		r = errno == ENODEV ?
		    ktap_skip("no FUSE in the kernel: mount: %s", strerror(errno)) :
		    ktap_fail("mount fuse on %s: %s", MNT_DIR, strerror(errno));
		goto out;
	}
	mounted = true;
	if (pthread_create(&s.thread, NULL, server_main, &s)) {
		r = ktap_fail("pthread_create failed");
		goto out;
	}
	thread = true;

	snprintf(path, sizeof(path), "%s/%s", MNT_DIR, FILE_NAME);
	if (stat(path, &st)) {
		r = ktap_fail("stat %s: %s", path, strerror(errno));
		goto out;
	}
	if ((uint64_t)st.st_size != FILE_SIZE) {
		r = ktap_fail("%s is %lld bytes, expected %llu", path,
			      (long long)st.st_size,
			      (unsigned long long)FILE_SIZE);
		goto out;
	}
	/* Many 1 MiB batches: every one read by a work item. */
	r = hl_knob_set(&knobs, K_BATCH, 1);
	if (r)
		goto out;

	r = run_child(path);
	seen.reads = __atomic_load_n(&s.reads, __ATOMIC_ACQUIRE);
	if (s.error && r == KTAP_PASS)
		r = ktap_fail("FUSE server: %s", hl_errname(s.error));
	if (s.other)
		ktap_print_msg("FUSE server answered %u requests ENOSYS (last opcode %u)",
			       s.other, s.last_enosys);
out:
	if (mounted && umount2(MNT_DIR, MNT_DETACH) && r == KTAP_PASS)
		r = ktap_fail("umount %s: %s", MNT_DIR, strerror(errno));
	if (thread) {
		s.stop = 1;
		pthread_join(s.thread, NULL);
	}
	if (s.fd >= 0)
		close(s.fd);
	rmdir(MNT_DIR);
	seen.result = r;
	snprintf(seen.why, sizeof(seen.why), "%s", ktap_reason);
	seen.logged = seen.reads < MAX_LOG ? seen.reads : MAX_LOG;
	seen.log = s.log;
	return r;
}

/* Every READ request of the load carried the caller's fsuid/fsgid. */
static int t_read_creds(const void *arg)
{
	unsigned int i, workers = 0;
	const struct read_log *bad = NULL;
	uint32_t pid0;

	(void)arg;
	if (seen.result == KTAP_SKIP)
		return ktap_skip("%s", seen.why[0] ? seen.why : "no load");
	if (!seen.log || seen.reads < 2)
		return ktap_fail("%u FUSE READ requests, expected at least 2 "
				 "(the load: %s)", seen.reads,
				 seen.result == KTAP_PASS ? "ok" : seen.why);
	pid0 = seen.log[0].pid;
	for (i = 0; i < seen.logged; i++) {
		if (seen.log[i].pid != pid0)
			workers = 1;
		if (!bad && (seen.log[i].uid != CRED_ID ||
			     seen.log[i].gid != CRED_ID))
			bad = &seen.log[i];
	}
	if (bad) {
		unsigned int nbad = 0;

		for (i = 0; i < seen.logged; i++)
			nbad += seen.log[i].uid != CRED_ID ||
				seen.log[i].gid != CRED_ID;
		return ktap_fail("%u of %u READ requests not uid/gid %d: first at offset %"
				 PRIu64 " (%u bytes) had uid %u gid %u pid %u",
				 nbad, seen.reads, CRED_ID, bad->offset,
				 bad->size, bad->uid, bad->gid, bad->pid);
	}
	ktap_print_msg("%u READ requests, all uid %d gid %d (%s)", seen.reads,
		       CRED_ID, CRED_ID,
		       workers ? "from several threads" : "from one thread");
	return KTAP_PASS;
}

static int t_restored(const void *arg)
{
	(void)arg;
	return hl_knobs_restored(&knobs);
}

static int t_no_leak(const void *arg)
{
	(void)arg;
	return hl_check_no_leak("after the FUSE load");
}

static const struct hl_test tests[] = {
	{ "creds_fuse_load_buffered_batches_verified", t_load, NULL },
	{ "creds_fuse_reads_carry_caller_uid_gid", t_read_creds, NULL },
	{ "creds_params_restored", t_restored, NULL },
	{ "creds_no_leak", t_no_leak, NULL },
};

int main(void)
{
	ktap_print_header();
	ktap_set_plan(ARRAY_LEN(tests));
	hl_knobs_save(&knobs);
	hl_knobs_run(&knobs, tests[0].name, tests[0].fn, tests[0].arg);
	hl_run_table(tests + 1, ARRAY_LEN(tests) - 1);
	free(seen.log);
	ktap_finished();
}
