#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest test of the heapload command (busybox sh): default direct I/O and
# its fallbacks, --direct/--buffered, errors naming the file, cmp exit
# codes, --json, several files in one buffer, kernel digests (--sha256,
# --xxh64, verified or not), --numa-node, bench's eviction and parameter
# restore on SIGTERM; alloc, loads --into an existing buffer, --async.
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
echo "1..46"
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
skip() { n=$((n + 1)); echo "ok $n $1 # SKIP $2"; }
# The loader's live counters: buffers, allocated_bytes.
S=/sys/class/misc/heapload
counters() { echo "$(cat $S/buffers) $(cat $S/allocated_bytes)"; }
# NODE LIST: is NODE in a sysfs node list such as "0-1" or "0,2-3"?
in_node_list() {
	for r in $(echo "$2" | tr ',' ' '); do
		[ "$1" -ge "${r%-*}" ] && [ "$1" -le "${r#*-}" ] && return 0
	done
	return 1
}

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

# Three files, one buffer: a segment line each, page-aligned, in order,
# not overlapping, as long as the file; the buffer ends at the last one.
set -- $D/one $D/page_minus_one $D/unaligned
run load "$@" --no-progress
ok=0; i=0; end=0; sum=0
[ $rc = 0 ] && grep -qx "files: 3" /tmp/o && [ "$PAGE" -gt 0 ] &&
	[ "$(grep -c '^segment: ' /tmp/o)" = 3 ] || ok=1
for f; do
	set -- $(sed -n "s|^segment: $i \([0-9]*\) \([0-9]*\) $f\$|\1 \2|p" /tmp/o) x x
	size=$(stat -c %s "$f")
	if [ "$1" = x ] || [ $(($1 % PAGE)) != 0 ] || [ "$1" -lt "$end" ] ||
	   { [ $i = 0 ] && [ "$1" != 0 ]; } || [ "$2" != "$size" ]; then
		echo "# segment $i of $f: offset ${1:-?} length ${2:-?} (size $size, previous end $end)"
		ok=1
	fi
	[ "$1" = x ] || end=$(($1 + $2))
	sum=$((sum + size)); i=$((i + 1))
done
[ $ok = 0 ] && grep -qx "loaded: $sum" /tmp/o &&
	grep -qx "buffer: $(((end + PAGE - 1) / PAGE * PAGE))" /tmp/o
t three_files_page_aligned_segments $?

# The kernel's SHA-256 of several files is that of the files concatenated.
cat $D/one $D/page_minus_one $D/unaligned | sha256sum | cut -d' ' -f1 >/tmp/cat-sha
cat_sha=$(cat /tmp/cat-sha)
run load $D/one $D/page_minus_one $D/unaligned --sha256 --no-progress
echo "# sha256sum of the files concatenated: $cat_sha"
[ $rc = 0 ] && [ ${#cat_sha} = 64 ] && grep -qx "sha256: $cat_sha" /tmp/o &&
	! grep -q "^verified:" /tmp/o
t three_files_sha256_is_the_concatenation $?

# A wrong digest: exit 1, the digest the bytes have, and no buffer left.
before=$(counters)
wrong=$(want_sha 8m)
run load $D/one $D/page_minus_one $D/unaligned --sha256=$wrong --no-progress
after=$(counters)
echo "# buffers allocated_bytes: before $before, after $after"
[ $rc = 1 ] && [ ! -s /tmp/o ] && [ -n "$before" ] && [ "$before" = "$after" ] &&
	grep -q "^heapload: load: .*: sha256 mismatch: the loaded bytes have $cat_sha, expected $wrong; nothing was loaded\$" /tmp/e
t sha256_mismatch_loads_nothing $?
# The digest covers every file: the message names them all.
grep -qF "heapload: load: $D/one, $D/page_minus_one, $D/unaligned: sha256 mismatch:" /tmp/e
t sha256_mismatch_names_every_file $?

if [ -e /dev/dma_heap/heapload,restricted ]; then
	run load $D/8m --heap heapload,restricted --sha256=$(want_sha 8m) --no-progress
	[ $rc = 0 ] && grep -qx "sha256: $(want_sha 8m)" /tmp/o && grep -qx "verified: sha256" /tmp/o
	t restricted_sha256_verified $?
else
	skip restricted_sha256_verified "no restricted heap"
fi

# XXH64 (seed 0) of the 1-byte file "a", as xxhsum -H1 prints it; and the
# kernel checks a digest given to --xxh64=.
printf a >/tmp/a
xxh_a=d24ec4f1a98c6e5b
if command -v xxhsum >/dev/null; then xxh_a=$(xxhsum -H1 /tmp/a | cut -d' ' -f1); fi
run load /tmp/a --xxh64 --no-progress
got=$(sed -n 's/^xxh64: //p' /tmp/o)
[ $rc = 0 ] && echo "$got" | grep -qx '[0-9a-f]\{16\}' && [ "$got" = "$xxh_a" ]
t xxh64_of_a_file $?

run load $D/8m --xxh64 --no-progress
got=$(sed -n 's/^xxh64: //p' /tmp/o)
[ $rc = 0 ] && echo "$got" | grep -qx '[0-9a-f]\{16\}' &&
	run load $D/8m --xxh64=$got --no-progress && grep -qx "verified: xxh64" /tmp/o &&
	{ run load $D/8m --xxh64=$xxh_a --no-progress; [ $rc = 1 ]; } &&
	grep -q "xxh64 mismatch: the loaded bytes have $got, expected $xxh_a; nothing was loaded\$" /tmp/e
t xxh64_verified_and_mismatch $?

# Guests boot with two NUMA nodes (unless booted with one).
nodes=$(cat /sys/devices/system/node/has_memory 2>/dev/null)
if in_node_list 1 "$nodes"; then
	run load $D/8m --numa-node 1 --no-progress
	[ $rc = 0 ] && grep -qx "placed_node: 1" /tmp/o
	t numa_node_placed $?
else
	skip numa_node_placed "node 1 has no memory (nodes with memory: ${nodes:-none})"
fi

if [ -e /dev/dma_heap/heapload,restricted ]; then
	node=0; in_node_list 1 "$nodes" && node=1
	run load $D/8m --numa-node $node --heap heapload,restricted --no-progress
	[ $rc != 0 ] && [ ! -s /tmp/o ] && grep -qi "not supported" /tmp/e
	t numa_node_restricted_unsupported $?
	grep -q "^heapload: load: $D/8m: --numa-node is not supported by heapload,restricted: it takes physically contiguous memory from CMA or its own pool, which it cannot place on a node\$" /tmp/e
	t numa_node_restricted_says_why $?
else
	skip numa_node_restricted_unsupported "no restricted heap"
	skip numa_node_restricted_says_why "no restricted heap"
fi

# alloc: COMMAND gets the buffer on fd 3 and HEAPLOAD_FD=3; its exit
# status is alloc's.
# shellcheck disable=SC2016 # $HEAPLOAD_FD is for the inner shell
run alloc 1M -- sh -c 'echo "fd=$HEAPLOAD_FD"; readlink /proc/self/fd/3'
[ $rc = 0 ] && grep -qx "fd=3" /tmp/o && grep -q "dmabuf" /tmp/o
t alloc_passes_the_buffer_on_fd_3 $?

run alloc 4K -- sh -c 'exit 7'
rc7=$rc
run alloc 4K --heap heapload,system /nonexistent
[ $rc7 = 7 ] && [ $rc = 127 ] && grep -q "^heapload: alloc: /nonexistent: " /tmp/e
t alloc_exits_with_the_command_status $?

# Two loads --into one buffer, each checked byte for byte through mmap,
# and the kernel's digest of the first: the README's shell form.
run alloc 16M -- sh -c "$H load --into 3 --sha256 --no-progress $D/one $D/page_minus_one &&
	$H verify --into 3 --at 8M --no-progress $D/8m && $H verify --into 3 --no-progress $D/unaligned --length 4M"
cat $D/one $D/page_minus_one | sha256sum | cut -d' ' -f1 >/tmp/cat-sha
[ $rc = 0 ] && [ "$(grep -c '^into: 3$' /tmp/o)" = 3 ] &&
	grep -qx "segment: 0 0 1 $D/one" /tmp/o &&
	grep -qx "segment: 1 $PAGE $((PAGE - 1)) $D/page_minus_one" /tmp/o &&
	grep -qx "segment: 0 $((8 << 20)) $((8 << 20)) $D/8m" /tmp/o &&
	grep -qx "sha256: $(cat /tmp/cat-sha)" /tmp/o &&
	[ "$(grep -c '^buffer: 16777216$' /tmp/o)" = 3 ] && [ "$(grep -c '^verify: OK$' /tmp/o)" = 2 ]
t into_fills_an_existing_buffer $?

run alloc 16M -- sh -c "$H load --into 3 --at 8M --no-progress $D/unaligned"
[ $rc = 2 ] && [ ! -s /tmp/o ] &&
	grep -qx "heapload: load: $D/unaligned: the files do not fit in the --into buffer (they end at byte $(((16 << 20) + 12345)), the buffer has 16777216 bytes)" /tmp/e
t into_too_small_is_enospc $?

run load --into 3 $D/one 3>/dev/null
[ $rc = 2 ] && [ ! -s /tmp/o ] &&
	grep -qx "heapload: load: $D/one: the --into descriptor is not a dma-buf of a heapload heap" /tmp/e
t into_not_a_dmabuf_is_exdev $?

# Another exporter's dma-buf, where the kernel has a heap of its own.
other=
for h in /dev/dma_heap/*; do
	[ -e "$h" ] || continue
	"$H" info | grep -qx "  ${h##*/}" && other=${h##*/} && break
done
if [ -n "$other" ]; then
	run alloc 1M --heap "$other" -- "$H" load --into 3 $D/one
	[ $rc = 2 ] && grep -qx "heapload: load: $D/one: the --into descriptor is not a dma-buf of a heapload heap" /tmp/e
	t into_other_exporter_is_exdev $?
else
	skip into_other_exporter_is_exdev "no heap but heapload's"
fi

# A second load into a buffer that a load is filling: EBUSY. The first
# one reads 256 MiB and hashes them; small loads are tried while it runs
# until one meets it. Whichever of the two starts second is refused: when
# a small load wins the start, the big one gets EBUSY, and the tries stop
# when it ends. Exactly one busy message either way.
cat >/tmp/busy.sh <<EOF
$H load --into 3 --sha256 --no-progress $D/256m >/dev/null 2>/tmp/busy-big &
big=\$!
: >/tmp/busy-e
while kill -0 \$big 2>/dev/null; do
	$H load --into 3 --no-progress $D/one >/dev/null 2>/tmp/busy-e ||
		{ grep -q busy /tmp/busy-e && break; }
done
wait \$big
cat /tmp/busy-big /tmp/busy-e | grep busy >&2
EOF
run alloc 256M -- sh /tmp/busy.sh
busy="the --into buffer is busy: a device has it mapped, or another load is filling it"
[ $rc = 0 ] && [ "$(wc -l </tmp/e)" = 1 ] &&
	grep -qx "heapload: load: \($D/one\|$D/256m\): $busy" /tmp/e
t into_busy_is_ebusy $?

run load --into 9 $D/one
[ $rc = 2 ] &&
	grep -qx "heapload: load: $D/one: the --into descriptor is not open, or not open for writing (descriptor 9 is not open)" /tmp/e
t into_closed_fd_is_ebadf $?

bad=$(want_sha 256m)
if [ -e /dev/dma_heap/heapload,restricted ]; then
	good=$(want_sha 8m)
	run alloc 8M --heap heapload,restricted -- sh -c "$H load --into 3 --sha256 $good --no-progress $D/8m;
		$H load --into 3 --sha256 $bad --no-progress $D/8m"
	[ $rc = 1 ] && grep -qx "verified: sha256" /tmp/o && grep -qx "into: 3" /tmp/o &&
		grep -qx "heapload: load: $D/8m: sha256 mismatch: the loaded bytes have $good, expected $bad; the buffer was written all the same" /tmp/e
	t into_restricted_verified_and_refused $?
else
	skip into_restricted_verified_and_refused "no restricted heap"
fi

# --async: progress lines on stderr, then what a synchronous load prints.
# (Not placed_node: an asynchronous load's worker allocates with the
# kernel's default policy, not the caller's.)
keep='^\(file\|heap\|mode\|loaded\|buffer\|batches\|segment\|sha256\):'
run load $D/256m --sha256 --no-progress
grep "$keep" /tmp/o >/tmp/sync
run load $D/256m --sha256 --async
grep "$keep" /tmp/o >/tmp/async
lines=$(grep -c . /tmp/e)
[ $rc = 0 ] && [ -s /tmp/sync ] && cmp -s /tmp/sync /tmp/async &&
	grep -qx "sha256: $(want_sha 256m)" /tmp/async &&
	[ "$lines" -ge 1 ] && ! grep -vq '^progress: [0-9]* of 268435456 bytes ([0-9]*%)$' /tmp/e
t async_prints_progress_then_the_sync_output $?

run load $D/8m --async --json
[ $rc = 0 ] && [ "$(wc -l </tmp/o)" = 1 ] && grep -q '"loaded_bytes": 8388608,' /tmp/o
t async_json_one_line $?

run load $D/256m --async --no-progress
[ $rc = 0 ] && [ ! -s /tmp/e ] && grep -qx "loaded: 268435456" /tmp/o
t async_no_progress_is_quiet $?

before=$(counters)
run load $D/8m --async --no-progress --sha256 "$bad"
after=$(counters)
[ $rc = 1 ] && [ ! -s /tmp/o ] && [ "$before" = "$after" ] &&
	grep -qx "heapload: load: $D/8m: sha256 mismatch: the loaded bytes have $(want_sha 8m), expected $bad; nothing was loaded" /tmp/e
t async_sha256_mismatch_loads_nothing $?

run alloc 16M -- sh -c "$H load --into 3 --at 8M --async --no-progress $D/8m && $H verify --into 3 --at 8M --no-progress $D/8m"
[ $rc = 0 ] && grep -qx "segment: 0 $((8 << 20)) $((8 << 20)) $D/8m" /tmp/o && grep -qx "verify: OK" /tmp/o
t async_into $?

run load $D/8m $D/one --offset 4096
[ $rc = 2 ] && [ ! -s /tmp/o ] && grep -q -- "--offset and --length take one FILE" /tmp/e
t offset_with_two_files_is_usage_error $?

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

# The threads that allocated: alloc_threads 1 is the caller alone; with
# 2 and 2 MiB batches an 8 MiB load may use 2 (a helper may find every
# batch taken: 1 or 2 of 2).
obatch=$(cat $P/gather_batch_mb); othreads=$(cat $P/alloc_threads)
echo 2 >$P/gather_batch_mb && echo 1 >$P/alloc_threads &&
	run load $D/8m --no-progress && [ $rc = 0 ] &&
	grep -qx "alloc_threads: 1 of 1" /tmp/o
t stats_one_allocating_thread $?
echo 2 >$P/alloc_threads && run load $D/8m --json && [ $rc = 0 ] &&
	grep -Eq '"alloc_threads": [12], "alloc_threads_max": 2[,}]' /tmp/o
t json_two_allocating_threads $?
echo "$obatch" >$P/gather_batch_mb; echo "$othreads" >$P/alloc_threads

[ $fails = 0 ] && exit 0
exit 1
