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
 */
#include "hl_test.h"
#include "ktap.h"

#include <sys/syscall.h>

#define DMA_HEAP_CLASS		"/sys/class/dma_heap"
#define OWN_CLASS		"/sys/class/heapload_dma_heap"
#define REGISTRATION		HL_STATS_DIR "/registration"
#define PARAM_SYSTEM_ALIAS	HL_MODULE_DIR "/parameters/system_alias"

static char registration[128];

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

static int t_path_reported(void)
{
	int e = read_line(REGISTRATION, registration, sizeof(registration));

	if (e)
		return ktap_fail("%s: %s", REGISTRATION, hl_errname(e));
	ktap_print_msg("registration: %s", registration);
	if (strcmp(registration, "heapload's own dma-heap UAPI") &&
	    strcmp(registration, "dma-heap framework (dma_heap_add)"))
		return ktap_fail("unknown registration path \"%s\"", registration);
	return KTAP_PASS;
}

static int t_heaps_in_their_class(void)
{
	bool in_kernel = exists(DMA_HEAP_CLASS, HL_HEAP_NAME);
	bool in_own = exists(OWN_CLASS, HL_HEAP_NAME);

	if (!exists(HL_HEAP_DIR, HL_HEAP_NAME))
		return ktap_fail("no %s", HL_HEAP_PATH);
	if (framework_path() ? !in_kernel || in_own : in_kernel || !in_own)
		return ktap_fail("%s in %s: %s, in %s: %s (registration: %s)",
				 HL_HEAP_NAME, DMA_HEAP_CLASS,
				 in_kernel ? "yes" : "no", OWN_CLASS,
				 in_own ? "yes" : "no", registration);
	return KTAP_PASS;
}

static int t_system_heap_present(void)
{
	char alias[8] = "";
	bool kernel_system = exists(DMA_HEAP_CLASS, "system");
	bool own_system = exists(OWN_CLASS, "system");
	int e;

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
static int t_framework_pins_module(void)
{
	uint64_t refcnt = 0, bufs = 0, bytes = 0;
	int e;

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

int main(void)
{
	ktap_print_header();
	ktap_set_plan(4);
	if (!hl_module_loaded()) {
		ktap_report("registration_path_reported", ktap_skip("heapload module not loaded"));
		ktap_report("heaps_in_their_class", ktap_skip("heapload module not loaded"));
		ktap_report("system_heap_present", ktap_skip("heapload module not loaded"));
		ktap_report("framework_path_pins_module", ktap_skip("heapload module not loaded"));
		ktap_finished();
	}
	ktap_report("registration_path_reported", t_path_reported());
	ktap_report("heaps_in_their_class", t_heaps_in_their_class());
	ktap_report("system_heap_present", t_system_heap_present());
	ktap_report("framework_path_pins_module", t_framework_pins_module());
	ktap_finished();
}
