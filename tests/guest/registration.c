// SPDX-License-Identifier: GPL-2.0
/*
 * How heapload's heaps are registered on this kernel, and that they
 * coexist with the kernel's own dma-heap framework:
 *
 * - kernels that export dma_heap_add(): through the framework, the heaps
 *   in the kernel's dma_heap class, and the module pinned (unremovable);
 * - others: heapload's own UAPI in its class heapload_dma_heap, never
 *   inside the kernel's class, and never shadowing the kernel's heaps;
 * - a heap called "system" always exists: the kernel's, or heapload's
 *   alias where the kernel has none.
 *
 * And what module init does when a heap cannot be added (test builds'
 * parameter fault_heap_add=NAME): if it is the first heap,
 * heapload,system, the load fails with ENOMEM and leaves nothing behind;
 * if it is heapload,restricted, added once the first heap's node could
 * already be open, the module loads without it. Where the module can be
 * removed, it is unloaded and loaded again from MODULE_FILE with the
 * fault; on the framework path (pinned) a boot with
 * hlrig.fault_heap_add=heapload,restricted checks the same. Last, sysfs readers of /dev/heapload's restricted
 * pool files while the module is unloaded and loaded again: the files
 * appear only once what they show exists.
 *
 * The module is left loaded, without the fault, for the programs that
 * follow.
 */
#include "hl_test.h"
#include "ktap.h"

#include <signal.h>
#include <sys/klog.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define DMA_HEAP_CLASS		"/sys/class/dma_heap"
#define OWN_CLASS		"/sys/class/heapload_dma_heap"
#define REGISTRATION		HL_STATS_DIR "/registration"
#define PARAM_SYSTEM_ALIAS	HL_MODULE_DIR "/parameters/system_alias"
#define PARAM_FAULT		HL_MODULE_DIR "/parameters/fault_heap_add"
#define RESTRICTED_SYSFS	HL_STATS_DIR "/restricted"
#define MODULE_FILE		"/lib/modules/heapload.ko"
#define BOOT_FAULT_ARG		"hlrig.fault_heap_add="
/* What init says when it leaves heapload,restricted out (main.c). */
#define NOT_ADDED_MSG		"heap " HL_RESTRICTED_NAME " not added"

/* Device nodes appear asynchronously after a load (devtmpfs). */
#define NODE_TIMEOUT_MS		5000
/* Unload and load cycles of the sysfs race, and its reader processes. */
#ifndef RACE_CYCLES
#define RACE_CYCLES		20
#endif
#ifndef RACE_READERS
#define RACE_READERS		2
#endif

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

static char registration[128];
/* NAME of hlrig.fault_heap_add=NAME on the kernel command line, or "". */
static char boot_fault[64];

static bool exists(const char *dir, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return !access(path, F_OK);
}

static bool framework_path(void)
{
	return strstr(registration, "dma_heap_add") != NULL;
}

static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return errno;
	if (!fgets(buf, (int)len, f))
		buf[0] = 0;
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static int t_path_reported(const void *arg)
{
	int r, e;

	(void)arg;
	r = hl_precondition_module();
	if (r)
		return r;
	e = read_line(REGISTRATION, registration, sizeof(registration));
	if (e)
		return ktap_fail("%s: %s", REGISTRATION, hl_errname(e));
	ktap_print_msg("registration: %s", registration);
	if (strcmp(registration, "heapload's own dma-heap UAPI") &&
	    strcmp(registration, "dma-heap framework (dma_heap_add)"))
		return ktap_fail("unknown registration path \"%s\"", registration);
	return KTAP_PASS;
}

static int t_heaps_in_their_class(const void *arg)
{
	bool in_kernel = exists(DMA_HEAP_CLASS, HL_HEAP_NAME);
	bool in_own = exists(OWN_CLASS, HL_HEAP_NAME);

	(void)arg;
	if (!exists(HL_HEAP_DIR, HL_HEAP_NAME))
		return ktap_fail("no %s", HL_HEAP_PATH);
	if (framework_path() ? !in_kernel || in_own : in_kernel || !in_own)
		return ktap_fail("%s in %s: %s, in %s: %s (registration: %s)",
				 HL_HEAP_NAME, DMA_HEAP_CLASS,
				 in_kernel ? "yes" : "no", OWN_CLASS,
				 in_own ? "yes" : "no", registration);
	return KTAP_PASS;
}

static int t_system_heap_present(const void *arg)
{
	char alias[8] = "";
	bool kernel_system = exists(DMA_HEAP_CLASS, "system");
	bool own_system = exists(OWN_CLASS, "system");
	int e;

	(void)arg;
	e = read_line(PARAM_SYSTEM_ALIAS, alias, sizeof(alias));
	if (e)
		return ktap_fail("%s: %s", PARAM_SYSTEM_ALIAS, hl_errname(e));
	ktap_print_msg("system heap: kernel's %s, heapload's alias %s (system_alias=%s)",
		       kernel_system ? "yes" : "no", own_system ? "yes" : "no", alias);
	if (!exists(HL_HEAP_DIR, "system"))
		return ktap_fail("no %s/system", HL_HEAP_DIR);
	if (framework_path())
		return KTAP_PASS;	/* both would sit in the kernel's class */
	if (kernel_system && own_system)
		return ktap_fail("heapload's alias shadows the kernel's system heap");
	if (own_system != (alias[0] == 'Y'))
		return ktap_fail("system_alias=%s but heapload's alias %s", alias,
				 own_system ? "exists" : "is missing");
	return KTAP_PASS;
}

/* The framework cannot remove heaps, so the module must refuse unloading. */
static int t_framework_pins_module(const void *arg)
{
	uint64_t refcnt = 0, bufs = 0, bytes = 0;
	int e;

	(void)arg;
	if (!framework_path())
		return ktap_skip("own dma-heap UAPI: the module may be unloaded, which this test does not try");
	e = hl_stats(&bytes, &bufs);
	if (e || bufs)
		return ktap_skip("buffers alive (%" PRIu64 "), the check would prove nothing",
				 bufs);
	e = hl_read_u64(HL_MODULE_DIR "/refcnt", &refcnt);
	if (e)
		return ktap_fail("refcnt: %s", hl_errname(e));
	if (!refcnt)
		return ktap_fail("refcnt 0 with heaps in the kernel's framework");
	/* Safe: it must fail; if it did not, the failure is the finding. */
	if (!syscall(SYS_delete_module, "heapload", O_NONBLOCK))
		return ktap_fail("module unloaded while its heaps are registered");
	if (errno != EBUSY && errno != EWOULDBLOCK)
		return ktap_fail("delete_module: %s, expected EBUSY or EWOULDBLOCK",
				 hl_errname(errno));
	return KTAP_PASS;
}

/* --- loading and unloading the module ----------------------------------- */

/* Whether @path exists (@present) or not within @timeout_ms. */
static bool wait_path(const char *path, bool present, unsigned int timeout_ms)
{
	uint64_t end = hl_now_ms() + timeout_ms;

	for (;;) {
		if ((access(path, F_OK) == 0) == present)
			return true;
		if (hl_now_ms() >= end)
			return false;
		hl_sleep_ms(10);
	}
}

/* delete_module("heapload"), retried for 5 s while busy: 0 or the errno. */
static int module_unload(void)
{
	uint64_t end = hl_now_ms() + 5000;
	int e;

	while (syscall(SYS_delete_module, "heapload", O_NONBLOCK)) {
		e = errno;
		if ((e != EAGAIN && e != EBUSY) || hl_now_ms() >= end)
			return e;
		hl_sleep_ms(50);
	}
	return 0;
}

/* finit_module() of MODULE_FILE with @params: 0 or the errno. */
static int module_load(const char *params)
{
	int fd, e = 0;

	fd = open(MODULE_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	if (syscall(SYS_finit_module, fd, params, 0))
		e = errno;
	close(fd);
	return e;
}

/* The module's fault_heap_add into @buf, "" if unset: 0 or the errno. */
static int module_fault(char *buf, size_t len)
{
	int e = read_line(PARAM_FAULT, buf, len);

	if (!e && !strcmp(buf, "(null)"))
		buf[0] = '\0';
	return e;
}

/* What a loaded module shows: none of it may stay once it is gone. */
static const char *const module_paths[] = {
	HL_MODULE_DIR, HL_STATS_DIR, HL_LOADER_PATH, HL_HEAP_PATH,
	HL_RESTRICTED_PATH, OWN_CLASS,
};

/* Nothing of the module is left, @when being what just happened. */
static int check_gone(const char *when)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(module_paths); i++)
		if (!wait_path(module_paths[i], false, 2000))
			return ktap_fail("%s still exists %s", module_paths[i], when);
	/* The kernel's own heap "system" may stay; heapload's alias not. */
	if (exists(HL_HEAP_DIR, "system") && !exists(DMA_HEAP_CLASS, "system"))
		return ktap_fail("%s/system (heapload's alias) still exists %s",
				 HL_HEAP_DIR, when);
	return KTAP_PASS;
}

/*
 * Allocate @len bytes from the heap node @path, map the buffer and check
 * that it reads zero and takes writes; a ktap result.
 */
static int alloc_zeroed(const char *path, uint64_t len)
{
	int heap_fd, buf_fd, e, r = KTAP_PASS;
	unsigned char *p;
	size_t nz;

	heap_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (heap_fd < 0)
		return ktap_fail("open %s: %s", path, hl_errname(errno));
	e = hl_heap_alloc(heap_fd, len, O_RDWR | O_CLOEXEC, 0, &buf_fd);
	close(heap_fd);
	if (e)
		return ktap_fail("DMA_HEAP_IOCTL_ALLOC of %" PRIu64 " bytes from %s: %s",
				 len, path, hl_errname(e));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, buf_fd, 0);
	if (p == MAP_FAILED) {
		r = ktap_fail("mmap of a buffer of %s: %s", path,
			      hl_errname(errno));
		goto out;
	}
	nz = hl_first_nonzero(p, len);
	if (nz != len)
		r = ktap_fail("byte %zu of a new buffer of %s is 0x%02x", nz,
			      path, p[nz]);
	else
		memset(p, 0x5a, len);
	munmap(p, len);
out:
	close(buf_fd);
	return r;
}

/*
 * The module is back after a normal load (@when): its nodes, the restricted
 * pool's sysfs files, heapload's alias "system" if system_alias says so,
 * and a working heapload,system.
 */
static int check_back(const char *when)
{
	static const char *const paths[] = {
		HL_LOADER_PATH, HL_HEAP_PATH, HL_RESTRICTED_PATH,
		RESTRICTED_SYSFS "/backing",
	};
	char alias[8] = "";
	size_t i;

	for (i = 0; i < ARRAY_SIZE(paths); i++)
		if (!wait_path(paths[i], true, NODE_TIMEOUT_MS))
			return ktap_fail("no %s %s", paths[i], when);
	if (!read_line(PARAM_SYSTEM_ALIAS, alias, sizeof(alias)) &&
	    alias[0] == 'Y' && !wait_path(HL_HEAP_DIR "/system", true,
					  NODE_TIMEOUT_MS))
		return ktap_fail("system_alias=Y but no %s/system %s",
				 HL_HEAP_DIR, when);
	return alloc_zeroed(HL_HEAP_PATH, HL_MIB);
}

/*
 * Leave the module loaded without a fault, @when being what came before:
 * unload it if it was loaded with one, load it, check it is back; a ktap
 * result.
 */
static int reload_normal(const char *when)
{
	char fault[64] = "";
	int e;

	if (hl_module_loaded() && !module_fault(fault, sizeof(fault)) &&
	    fault[0]) {
		e = module_unload();
		if (e)
			return ktap_fail("unloading the module loaded with fault_heap_add=%s %s: %s",
					 fault, when, hl_errname(e));
	}
	if (!hl_module_loaded()) {
		e = module_load("");
		if (e)
			return ktap_fail("loading %s again %s: %s", MODULE_FILE,
					 when, hl_errname(e));
	}
	return check_back(when);
}

/*
 * Whether a test may unload and load the module: heapload's own UAPI, the
 * module file there, nothing holding the module, and for the fault tests
 * (@fault) the fault_heap_add parameter; KTAP_PASS or a ktap_skip().
 */
static int removable_precheck(bool fault)
{
	char loaded_fault[64] = "";
	uint64_t refcnt = 0;

	if (framework_path() &&
	    !module_fault(loaded_fault, sizeof(loaded_fault)) &&
	    loaded_fault[0])
		return ktap_skip("module loaded with fault_heap_add=%s on the dma-heap framework path: it is pinned; init_fault_at_boot checks that load",
				 loaded_fault);
	if (framework_path())
		return ktap_skip("dma-heap framework (dma_heap_add): the module is pinned, it cannot be unloaded and loaded again");
	if (!hl_module_loaded())
		return ktap_skip("heapload module not loaded: an earlier test could not load it again");
	if (access(MODULE_FILE, R_OK))
		return ktap_skip("no %s to load again", MODULE_FILE);
	if (fault && access(PARAM_FAULT, F_OK))
		return ktap_skip("the module has no fault_heap_add parameter (not a test build)");
	if (!hl_read_u64(HL_MODULE_DIR "/refcnt", &refcnt) && refcnt)
		return ktap_skip("module in use (refcnt %" PRIu64 "), it cannot be unloaded",
				 refcnt);
	return KTAP_PASS;
}

/* --- init fails to add a heap ------------------------------------------- */

/* NAME of hlrig.fault_heap_add=NAME of /proc/cmdline into boot_fault. */
static void read_boot_fault(void)
{
	char cmdline[4096], *arg, *save = NULL;

	if (read_line("/proc/cmdline", cmdline, sizeof(cmdline)))
		return;
	for (arg = strtok_r(cmdline, " ", &save); arg;
	     arg = strtok_r(NULL, " ", &save))
		if (!strncmp(arg, BOOT_FAULT_ARG, strlen(BOOT_FAULT_ARG)))
			snprintf(boot_fault, sizeof(boot_fault), "%s",
				 arg + strlen(BOOT_FAULT_ARG));
}

/* Whether the kernel log holds @needle: 1, 0, or a negative errno. */
static int kernel_log_has(const char *needle)
{
	char *log;
	int len, n, r;

	len = klogctl(10, NULL, 0);	/* SYSLOG_ACTION_SIZE_BUFFER */
	if (len <= 0)
		return len ? -errno : -ENODATA;
	log = malloc(len + 1);
	if (!log)
		return -ENOMEM;
	n = klogctl(3, log, len);	/* SYSLOG_ACTION_READ_ALL */
	if (n < 0) {
		r = -errno;
	} else {
		log[n] = '\0';
		r = strstr(log, needle) != NULL;
	}
	free(log);
	return r;
}

/*
 * HEAPLOAD_IOC_LOAD of the test file "8m" (direct I/O, as the restricted
 * heap requires) into @heap: KTAP_PASS with the ioctl's errno in *@err,
 * or a ktap failure if the load could not be tried.
 */
static int load_into(const char *heap, int *err)
{
	struct heapload_load l;
	char path[256];
	int loader_fd, file_fd;

	hl_data_path(path, sizeof(path), "8m");
	file_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (file_fd < 0)
		return ktap_fail("open %s: %s", path, hl_errname(errno));
	loader_fd = open(HL_LOADER_PATH, O_RDWR | O_CLOEXEC);
	if (loader_fd < 0) {
		close(file_fd);
		return ktap_fail("open %s: %s", HL_LOADER_PATH,
				 hl_errname(errno));
	}
	hl_load_init(&l, file_fd, HEAPLOAD_LOAD_DIRECT, 0, 0);
	snprintf(l.heap, sizeof(l.heap), "%s", heap);
	*err = hl_ioctl(loader_fd, HEAPLOAD_IOC_LOAD, &l);
	if (!*err)
		close((int)l.dmabuf_fd);
	close(loader_fd);
	close(file_fd);
	return KTAP_PASS;
}

/*
 * Loaded with fault_heap_add=heapload,restricted, the module is there
 * without that heap: nothing may fail once the first heap is added, as
 * its node could already be open. heapload,system there and working, the
 * restricted heap absent (no node, a load into it ENODEV, "no heap of
 * that name"), and init said why.
 */
static int restricted_left_out(void)
{
	int r, e, found;

	if (!wait_path(HL_LOADER_PATH, true, NODE_TIMEOUT_MS))
		return ktap_fail("no %s", HL_LOADER_PATH);
	if (!wait_path(HL_HEAP_PATH, true, NODE_TIMEOUT_MS))
		return ktap_fail("no %s", HL_HEAP_PATH);
	r = alloc_zeroed(HL_HEAP_PATH, HL_MIB);
	if (r)
		return r;
	if (exists(HL_HEAP_DIR, HL_RESTRICTED_NAME) ||
	    exists(DMA_HEAP_CLASS, HL_RESTRICTED_NAME))
		return ktap_fail("%s exists though adding it failed",
				 HL_RESTRICTED_NAME);
	/* The loader itself works: a load into heapload,system. */
	r = load_into(HL_HEAP_NAME, &e);
	if (r)
		return r;
	if (e)
		return ktap_fail("load into %s: %s", HL_HEAP_NAME,
				 hl_errname(e));
	r = load_into(HL_RESTRICTED_NAME, &e);
	if (r)
		return r;
	if (e != ENODEV)
		return ktap_fail("load into %s: %s, expected ENODEV (no heap of that name)",
				 HL_RESTRICTED_NAME, hl_errname(e));
	found = kernel_log_has(NOT_ADDED_MSG);
	if (found < 0)
		return ktap_fail("reading the kernel log: %s",
				 hl_errname(-found));
	if (!found)
		return ktap_fail("no \"%s\" in the kernel log", NOT_ADDED_MSG);
	ktap_print_msg("%s works, %s absent (load into it: ENODEV), kernel log: \"%s\"",
		       HL_HEAP_NAME, HL_RESTRICTED_NAME, NOT_ADDED_MSG);
	return hl_check_no_leak("after the loads");
}

/*
 * What the rig's insmod with fault_heap_add=boot_fault did. Where the
 * first heap failed, the load must have failed leaving nothing behind
 * (the module is then loaded normally for the tests that follow); with
 * the restricted heap failing, the module stays without it.
 */
static int t_fault_at_boot(void)
{
	char fault[64] = "", when[128];
	int r, e;

	if (!boot_fault[0])
		return ktap_skip("not booted with " BOOT_FAULT_ARG "NAME");
	if (!hl_module_loaded()) {
		snprintf(when, sizeof(when),
			 "after the rig's failed insmod fault_heap_add=%s",
			 boot_fault);
		r = check_gone(when);
		/* Loaded normally either way, for the tests that follow. */
		e = module_load("");
		read_line(REGISTRATION, registration, sizeof(registration));
		if (r) {
			ktap_print_msg("then loading %s normally: %s",
				       MODULE_FILE, hl_errname(e));
			return r;
		}
		if (e)
			return ktap_fail("loading %s normally after the failed insmod: %s",
					 MODULE_FILE, hl_errname(e));
		if (strcmp(boot_fault, HL_HEAP_NAME))
			return ktap_fail("insmod with fault_heap_add=%s failed; it should load without that heap",
					 boot_fault);
		ktap_print_msg("insmod with fault_heap_add=%s failed and left nothing, as expected (%s); loaded normally again",
			       boot_fault, registration);
		return check_back("after the normal load");
	}
	read_line(REGISTRATION, registration, sizeof(registration));
	e = module_fault(fault, sizeof(fault));
	if (e == ENOENT)
		return ktap_skip("the module has no fault_heap_add parameter (not a test build): no fault was injected");
	if (e)
		return ktap_fail("%s: %s", PARAM_FAULT, hl_errname(e));
	if (strcmp(fault, boot_fault))
		return ktap_fail("fault_heap_add reads \"%s\", booted with " BOOT_FAULT_ARG "%s",
				 fault, boot_fault);
	if (strcmp(fault, HL_RESTRICTED_NAME))
		return ktap_fail("module loaded though adding %s, its first heap, failed",
				 fault);
	return restricted_left_out();
}

/*
 * insmod with fault_heap_add=@arg (a heap name): for heapload,system, the
 * first heap, it fails with ENOMEM and leaves nothing behind; for
 * heapload,restricted it loads without that heap. A normal insmod
 * afterwards brings all back.
 */
static int t_init_fault(const void *arg)
{
	const char *heap = arg;
	char params[96], when[128];
	int r, r2, e;

	r = removable_precheck(true);
	if (r)
		return r;
	e = module_unload();
	if (e)
		return ktap_fail("delete_module: %s", hl_errname(e));
	r = check_gone("after rmmod");
	if (r)
		goto reload;
	snprintf(params, sizeof(params), "fault_heap_add=%s", heap);
	e = module_load(params);
	if (!strcmp(heap, HL_RESTRICTED_NAME)) {
		r = e ? ktap_fail("insmod %s %s: %s, expected it to load without that heap",
				  MODULE_FILE, params, hl_errname(e)) :
			restricted_left_out();
		goto reload;
	}
	if (e != ENOMEM) {
		r = ktap_fail("insmod %s %s: %s, expected ENOMEM", MODULE_FILE,
			      params, hl_errname(e));
		goto reload;
	}
	snprintf(when, sizeof(when), "after the failed insmod %s", params);
	r = check_gone(when);
reload:
	r2 = reload_normal("after the fault test");
	return r ? r : r2;
}

/* --- sysfs readers while the module is unloaded and loaded again ------- */

static const char *const restricted_files[] = {
	"backing", "protection", "size_bytes", "claimed_bytes", "used_bytes",
	"free_bytes", "largest_free_bytes", "min_chunk_bytes",
	"restricted_bytes",
};

#define N_RESTRICTED_FILES	ARRAY_SIZE(restricted_files)

/**
 * struct race_shared - what the readers and the parent share
 * @stop:	set by the parent: the readers exit
 * @r:		per reader: @reads files read with a valid value, @absent
 *		open()s that found no file (module not loaded), @removed
 *		files removed between open() and read(), @bad the first
 *		wrong result
 */
struct race_shared {
	int stop;
	struct {
		uint64_t reads;
		uint64_t absent;
		uint64_t removed;
		char bad[256];
	} r[RACE_READERS];
};

/* Whether @val is what restricted pool file @name may show. */
static bool restricted_value_ok(const char *name, const char *val)
{
	size_t digits = strspn(val, "0123456789");

	if (!strcmp(name, "backing"))
		return !strcmp(val, "buddy\n") || !strcmp(val, "cma\n");
	if (!strcmp(name, "protection"))
		return val[0] && val[0] != '\n' && strchr(val, '\n');
	return digits && !strcmp(val + digits, "\n");
}

/* A reader process: every restricted pool file, over and over. */
static int race_reader(struct race_shared *sh, int id)
{
	char paths[N_RESTRICTED_FILES][128], buf[128];
	ssize_t n;
	size_t i;
	int fd, e;

	for (i = 0; i < N_RESTRICTED_FILES; i++)
		snprintf(paths[i], sizeof(paths[i]), "%s/%s", RESTRICTED_SYSFS,
			 restricted_files[i]);
	while (!__atomic_load_n(&sh->stop, __ATOMIC_RELAXED)) {
		for (i = 0; i < N_RESTRICTED_FILES; i++) {
			fd = open(paths[i], O_RDONLY | O_CLOEXEC);
			if (fd < 0) {
				e = errno;
				if (e == ENOENT || e == ENODEV) {
					sh->r[id].absent++;
					continue;
				}
				snprintf(sh->r[id].bad, sizeof(sh->r[id].bad),
					 "open %s: %s", restricted_files[i],
					 hl_errname(e));
				return 1;
			}
			n = read(fd, buf, sizeof(buf) - 1);
			e = errno;
			close(fd);
			if (n < 0 && e == ENODEV) {
				sh->r[id].removed++;
				continue;
			}
			if (n < 0) {
				snprintf(sh->r[id].bad, sizeof(sh->r[id].bad),
					 "read %s: %s", restricted_files[i],
					 hl_errname(e));
				return 1;
			}
			buf[n] = '\0';
			if (!restricted_value_ok(restricted_files[i], buf)) {
				buf[strcspn(buf, "\n")] = '\0';
				snprintf(sh->r[id].bad, sizeof(sh->r[id].bad),
					 "%s read \"%s\"", restricted_files[i],
					 buf);
				return 1;
			}
			sh->r[id].reads++;
		}
	}
	return 0;
}

/*
 * RACE_READERS processes read every file of RESTRICTED_SYSFS in a loop
 * while the module is unloaded and loaded RACE_CYCLES times: every cycle
 * succeeds, and every read finds the file absent, removed, or showing a
 * valid value; a file shown before the pool is initialised
 * would oops the kernel (panic_on_warn, oops=panic in the rig).
 */
static int t_sysfs_race(const void *arg)
{
	pid_t pids[RACE_READERS];
	uint64_t reads = 0, absent = 0, removed = 0, end;
	struct race_shared *sh;
	unsigned int cycle = 0;
	int i, n = 0, r, r2, e, status;

	(void)arg;
	r = removable_precheck(false);
	if (r)
		return r;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return ktap_fail("mmap: %s", hl_errname(errno));
	memset(sh, 0, sizeof(*sh));
	for (n = 0; n < RACE_READERS; n++) {
		pids[n] = fork();
		if (pids[n] < 0) {
			r = ktap_fail("fork: %s", hl_errname(errno));
			goto stop;
		}
		if (!pids[n])
			_exit(race_reader(sh, n));
	}
	/* The readers have started: each read the files once. */
	end = hl_now_ms() + 10000;
	for (i = 0; i < RACE_READERS; i++)
		while (!__atomic_load_n(&sh->r[i].reads, __ATOMIC_RELAXED) &&
		       hl_now_ms() < end)
			hl_sleep_ms(5);
	for (cycle = 0; cycle < RACE_CYCLES; cycle++) {
		e = module_unload();
		if (e) {
			r = ktap_fail("cycle %u: delete_module: %s", cycle,
				      hl_errname(e));
			break;
		}
		e = module_load("");
		if (e) {
			r = ktap_fail("cycle %u: insmod %s: %s", cycle,
				      MODULE_FILE, hl_errname(e));
			break;
		}
	}
stop:
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < n; i++) {
		end = hl_now_ms() + 10000;
		while (waitpid(pids[i], &status, WNOHANG) != pids[i]) {
			if (hl_now_ms() < end) {
				hl_sleep_ms(10);
				continue;
			}
			kill(pids[i], SIGKILL);
			waitpid(pids[i], &status, 0);
			if (!r)
				r = ktap_fail("reader %d did not stop within 10 s",
					      i);
			break;
		}
		reads += sh->r[i].reads;
		absent += sh->r[i].absent;
		removed += sh->r[i].removed;
		if (r)
			continue;
		if (WIFSIGNALED(status))
			r = ktap_fail("reader %d killed by SIG%s", i,
				      sigabbrev_np(WTERMSIG(status)));
		else if (WEXITSTATUS(status))
			r = ktap_fail("reader %d: %s", i, sh->r[i].bad[0] ?
				      sh->r[i].bad : "exit status not 0");
	}
	ktap_print_msg("%u of %u unload/load cycles, %d readers: %" PRIu64 " reads, %" PRIu64 " absent, %" PRIu64 " removed under the reader",
		       cycle, RACE_CYCLES, n, reads, absent, removed);
	if (!r && !reads)
		r = ktap_fail("the readers read no file: the test proved nothing");
	munmap(sh, sizeof(*sh));
	r2 = reload_normal("after the unload/load cycles");
	return r ? r : r2;
}

static const struct hl_test tests[] = {
	{ "registration_path_reported", t_path_reported, NULL },
	{ "heaps_in_their_class", t_heaps_in_their_class, NULL },
	{ "system_heap_present", t_system_heap_present, NULL },
	{ "framework_path_pins_module", t_framework_pins_module, NULL },
	{ "init_fault_restricted_heap_left_out", t_init_fault,
	  HL_RESTRICTED_NAME },
	{ "init_fault_system_heap_load_fails_cleanly", t_init_fault,
	  HL_HEAP_NAME },
	{ "restricted_sysfs_reads_during_reloads", t_sysfs_race, NULL },
};

#define N_TESTS	ARRAY_SIZE(tests)

int main(void)
{
	int e;

	ktap_print_header();
	ktap_set_plan(1 + N_TESTS);
	read_boot_fault();
	ktap_report("init_fault_at_boot", t_fault_at_boot());
	hl_run_table(tests, N_TESTS);
	/* The programs that follow need the module. */
	if (!hl_module_loaded() && !access(MODULE_FILE, R_OK)) {
		e = module_load("");
		ktap_print_msg("module was not loaded; loading it again: %s",
			       hl_errname(e));
	}
	ktap_finished();
}
