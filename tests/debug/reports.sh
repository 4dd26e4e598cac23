# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Sourced by tests/debug/run.sh: what counts as a checker's report on the
# console of the debug kernel, and which options the kernel was built with.

# The first lines of the reports of KASAN and KFENCE ("BUG: KASAN:",
# "BUG: KFENCE:"), lockdep, DEBUG_OBJECTS and DMA-API debugging (all of
# them through WARN: "WARNING:"), UBSAN ("UBSAN:"), kmemleak, the
# hung-task and soft-lockup detectors, and any BUG, WARNING, oops or
# panic. Not their start-up lines ("DMA-API: debugging enabled", "kmemleak:
# Kernel memory leak detector initialized").
REPORT_PATTERN='BUG:|WARNING:|UBSAN:|suspected memory leak|unreferenced object|INFO: task .* blocked|soft lockup|rcu: INFO: .*detected stall|Oops|Kernel panic|general protection fault|suspicious RCU usage'

# Print the report lines of console log $1 with some context; true if any.
reports_in() {
	tr -d '\r' <"$1" | grep -E -B2 -A25 "$REPORT_PATTERN"
}

# The checker options of kernel config $1, as NAME=VALUE lines.
debug_options() {
	grep -E '^CONFIG_(KASAN|KASAN_GENERIC|KASAN_INLINE|KASAN_VMALLOC|KFENCE|UBSAN|UBSAN_BOUNDS|UBSAN_SHIFT|PROVE_LOCKING|PROVE_RCU|DEBUG_ATOMIC_SLEEP|DEBUG_KMEMLEAK|DEBUG_OBJECTS[A-Z_]*|DEBUG_LIST|DEBUG_SG|DEBUG_VM|DMA_API_DEBUG[A-Z_]*|FAULT_INJECTION[A-Z_]*|FAILSLAB|FAIL_PAGE_ALLOC)=' "$1"
}
