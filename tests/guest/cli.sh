#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest test of the heapload command (busybox sh): default direct I/O and
# its fallbacks, --direct/--buffered, errors naming the file, cmp exit
# codes, --json, bench's eviction and parameter restore on SIGTERM.
H=/opt/heapload/bin/heapload
if [ ! -x "$H" ]; then
	echo "KTAP version 1"
	echo "1..0 # SKIP no heapload command in this guest"
	exit 4
fi
D=/data
P=/sys/module/heapload/parameters
# The kernel's page size (4 KiB on amd64, 16 or 64 KiB on some arm64
# kernels), which buffers are rounded up to.
PAGE=$(sed -n 's/^KernelPageSize: *\([0-9]*\) kB$/\1/p' /proc/self/smaps | head -n 1)
PAGE=$((${PAGE:-0} * 1024))
n=0; fails=0
echo "KTAP version 1"
echo "1..19"
t() {	# NAME COND-EXIT
	n=$((n + 1))
	if [ "$2" = 0 ]; then echo "ok $n $1"; else echo "not ok $n $1"; fails=$((fails + 1)); fi
}
show() { sed 's/^/# /' "$@"; }
run() {	# ARGS...: rc in $rc, stdout in /tmp/o, stderr in /tmp/e
	"$H" "$@" >/tmp/o 2>/tmp/e
	rc=$?
	echo "# \$ heapload $* -> $rc"; show /tmp/o /tmp/e
}
want_sha() { grep " $1\$" $D/sha256 | cut -d' ' -f1; }

run load $D/8m --sha256 --no-progress
grep -qx "mode: direct" /tmp/o && ! grep -q "^fallback" /tmp/o && [ $rc = 0 ] &&
	grep -qx "sha256: $(want_sha 8m)" /tmp/o; t default_is_direct $?

run load $D/8m --offset 100 --length 4096 --no-progress
[ $rc = 0 ] && grep -qx "mode: buffered" /tmp/o &&
	grep -q "^fallback: offset 100 is not a multiple of the direct-I/O alignment" /tmp/o
t unaligned_offset_falls_back $?

run load $D/8m --offset 100 --length $((PAGE + 1)) --json
[ $rc = 0 ] && [ "$(wc -l </tmp/o)" = 1 ] && [ "$PAGE" -gt 0 ] &&
	grep -q '"mode": "buffered", "fallback_reason": "unaligned_offset"' /tmp/o &&
	grep -q "\"loaded_bytes\": $((PAGE + 1)), \"buf_size_bytes\": $((2 * PAGE))" /tmp/o
t json_names_the_fallback $?

run load $D/8m --direct --offset 100
[ $rc = 2 ] && [ ! -s /tmp/o ] &&
	grep -q "^heapload: load: $D/8m: --direct: offset 100 is not a multiple" /tmp/e
t direct_does_not_fall_back $?

run verify $D/unaligned --no-progress
[ $rc = 0 ] && grep -qx "mode: direct" /tmp/o && grep -qx "verify: OK" /tmp/o
t verify_unaligned_size_direct $?

run verify $D/8m --offset 4096 --length 12345 --no-progress
[ $rc = 0 ] && grep -qx "mode: direct" /tmp/o && grep -qx "verify: OK" /tmp/o
t verify_unaligned_length_direct $?

run verify $D/page_minus_one --buffered --json
! grep -q '"dio_align_bytes"' /tmp/o && grep -q '"mode": "buffered", "offset_bytes": 0' /tmp/o &&
	! grep -q fallback /tmp/o && grep -q '"verify": "ok"' /tmp/o && [ $rc = 0 ]
t buffered_forced_json_verify $?

# tmpfs has direct I/O from Linux 6.6 on: before, the default mode falls
# back and --direct is an error; after, both read directly. Either way
# the two must agree and the data must be the file's.
cp $D/8m /tmp/tmpfs-8m
run load /tmp/tmpfs-8m --sha256 --no-progress
tmpfs_mode=$(sed -n 's/^mode: //p' /tmp/o)
[ $rc = 0 ] && grep -qx "sha256: $(want_sha 8m)" /tmp/o &&
	{ { [ "$tmpfs_mode" = buffered ] &&
	    grep -q "^fallback: the file system does not support direct I/O" /tmp/o; } ||
	  { [ "$tmpfs_mode" = direct ] && ! grep -q "^fallback" /tmp/o; }; }
t tmpfs_load_direct_or_explained_fallback $?

run load /tmp/tmpfs-8m --direct --no-progress
if [ "$tmpfs_mode" = direct ]; then
	[ $rc = 0 ] && grep -qx "mode: direct" /tmp/o
else
	[ $rc = 2 ] && grep -q "^heapload: load: /tmp/tmpfs-8m: --direct: the file system does not support direct I/O" /tmp/e
fi
t tmpfs_direct_agrees_with_default $?
rm -f /tmp/tmpfs-8m

run load $D/empty
[ $rc = 2 ] && grep -qx "heapload: load: $D/empty: empty file, nothing to load" /tmp/e
t empty_file $?

run load $D
[ $rc = 2 ] && grep -qx "heapload: load: $D: is a directory" /tmp/e
t directory $?

run load $D/8m --offset 9MiB
[ $rc = 2 ] && grep -qx "heapload: load: $D/8m: offset past end of file" /tmp/e
t offset_past_eof $?

run load $D/8m --offset 1M --length 8M
[ $rc = 2 ] && grep -qx "heapload: load: $D/8m: range past end of file" /tmp/e
t range_past_eof $?

run load $D/8m --heap nosuch
[ $rc = 2 ] && grep -qx "heapload: load: $D/8m: no heap named 'nosuch' (see 'heapload info')" /tmp/e
t unknown_heap_named $?

run load $D/8m --bogus
[ $rc = 2 ] && grep -q "unknown option '--bogus'" /tmp/e
t usage_error_is_2 $?

run info --json
[ $rc = 0 ] && [ "$(wc -l </tmp/o)" = 1 ] && grep -q '^{"module": "live", "version": "' /tmp/o &&
	grep -q '"parameters": {.*"gather_batch_mb": [0-9]' /tmp/o &&
	grep -q '"heaps": \[.*{"name": "heapload,system", "heapload": true}' /tmp/o
t info_json $?

if [ -e /dev/dma_heap/heapload,restricted ]; then
	run load $D/8m --heap heapload,restricted --offset 100 --length 4096
	[ $rc = 2 ] && grep -q "^heapload: load: $D/8m: the heap refused a buffered load .*: offset 100 is not a multiple" /tmp/e
	t restricted_heap_fallback_explained $?
else
	n=$((n + 1)); echo "ok $n restricted_heap_fallback_explained # SKIP no restricted heap"
fi

run bench --runs 1 --methods heapload-gather-buffered,normal --csv - $D/8m
[ $rc = 0 ] && grep -q "^cache: measured file evicted (posix_fadvise DONTNEED) before each run" /tmp/o &&
	grep -q "^$D/8m,8388608,heapload-gather-buffered,ok,.*,yes,yes," /tmp/o
t bench_evicts_the_file $?

# SIGTERM while heapload-sync has gather_batch_mb raised: set back, then die of it.
orig=$(cat $P/gather_batch_mb)
"$H" bench --runs 200 --methods heapload-sync $D/256m >/tmp/o 2>/tmp/e &
pid=$!
i=0
while [ "$(cat $P/gather_batch_mb)" = "$orig" ] && [ $i -lt 600 ]; do
	sleep 0.05; i=$((i + 1))
done
raised=$(cat $P/gather_batch_mb)
kill -TERM $pid
wait $pid
rc=$?
now=$(cat $P/gather_batch_mb)
echo "# gather_batch_mb: $orig, during bench $raised, after SIGTERM $now; bench exit $rc"
[ "$raised" != "$orig" ] && [ "$now" = "$orig" ] && [ $rc = 143 ]
t bench_restores_params_on_sigterm $?

[ $fails = 0 ] && exit 0
exit 1
