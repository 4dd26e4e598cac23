#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# heapload QEMU test rig: boot a Debian kernel with a busybox initramfs that
# loads heapload.ko and runs the guest tests (check), the demo (demo) or
# the benchmark (bench).
#
# Usage:
#   tests/qemu/run.sh --kver KVER --mode check|demo|bench|planted [--mem 4G]
#                     [--numa 1|2] [--timeout SEC] [--test-timeout SEC]
#                     [--append ARGS]
#                     [--bench-files "bench-512k bench-8m"] [--bench-runs N]
#                     [--bench-csv FILE] [--verbose] [--keep]
#
# Needs: tests/qemu/setup.sh run once (host tools, kernel image tree), and
# module/heapload.ko built for KVER (make module KERNELRELEASE=KVER).
#
# Environment overrides:
#   HL_CACHE      kernel image tree of KVER ($HL_KERNEL_STORE/KVER, the
#                 store being /var/cache/heapload-rig/kernels, as setup.sh
#                 makes it)
#   HL_MODULE     module to test             (<repo>/module/heapload.ko)
#   HL_GUEST_DIR  guest test programs        (<repo>/tests/build/guest)
#   HL_TOOL       user-space command         (<repo>/tools/heapload)
#   HL_DATA_FREE_MB  free space on the data disk in MiB (256)
#   HL_BENCH_FILES   bench files to measure, names from BENCH_FILES below
#                    (default: all; same as --bench-files)
#   HL_BENCH_RUNS    runs per method and file in bench mode (3)
#   HL_BENCH_METHODS bench methods, comma-separated (default: all; the
#                    names heapload bench --methods takes)
#   HL_BENCH_TRACE   guest kernel functions, comma-separated, to trace
#                    with function_graph during the bench (calls, time)
#   HL_BENCH_THREADS file for the host CPU time of the emulator's threads
#                    per bench method (tests/bench/qemu-threads.sh)
#   HL_EARLY_TIMEOUT seconds a kernel may take to start our init (300,
#                    600 for arm64); a boot that dies or hangs before is
#                    tried once more
#   HL_USERLAND   for an arm64 kernel: a tree laid out like / with arm64's
#                 busybox (bin/busybox) and the shared libraries the guest
#                 programs and the command need (tests/matrix/fetch.sh
#                 --userland bookworm arm64 makes one)
#
# The guest's architecture is the kernel's (CONFIG_ARM64 in its config):
# amd64 boots in qemu-system-x86_64 (q35-less "pc" machine, console ttyS0,
# results port ttyS1); arm64 in qemu-system-aarch64 ("virt" machine,
# -cpu max, console ttyAMA0, results port a PCI 16550, ttyS0), both under
# TCG with 2 vCPUs.  The guest programs must be built for that architecture.
#
# NUMA: the guest has two memory nodes (--numa 2, the default but in bench
# mode), each with one vCPU and half the memory (node 0 the lower half,
# rounded down to 128 MiB), so the tests of NUMA placement run on every
# kernel; --numa 1 boots one node (bench mode's default, so that its numbers
# stay comparable; also for boots that need one zone larger than half the
# memory, e.g. a cma= area of more than half of it). HL_NUMA_NODES sets the
# default.
#
# Check mode prints each KTAP result line as "PROGRAM: ok N name", and as
# its last line "N passed, N failed, N skipped"; exit status 1 if anything
# failed or no guest test program ran.  Demo mode prints the guest's demo
# output and exits 0 only if the guest said "DEMO OK".
#
# Bench mode attaches a second, read-only disk with the random bench files
# (built once, cached in .cache/qemu/bench/), boots with 12G of memory
# unless --mem says otherwise, runs `heapload info` and `heapload bench`,
# prints the guest's output and writes the bench CSV to --bench-csv
# (default .cache/qemu/logs/KVER-bench.csv); exit status 0 only if the
# guest finished, the bench exited 0 and the CSV came back.
#
# Planted mode (a test build on the debug kernel, tests/debug/run.sh) has
# the guest commit heapload's deliberate bugs (debugfs planted_bug) and
# prints the results port; the caller judges the console log. Exit status
# 0 unless QEMU failed or timed out.
#
# Logs of the last run per kernel and mode stay in .cache/qemu/logs/.

set -euo pipefail

RIG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$RIG_DIR/../.." && pwd)
RIG_CACHE=$REPO/.cache/qemu
TOKEN=HEAPLOAD-RIG-DONE

# Distro modules the guest needs; their dependencies are added from
# modules.dep.  crc32c_generic is only a soft dependency of ext4.
GUEST_MODULES=(virtio_pci virtio_blk crc32c_generic crc16 mbcache jbd2 ext4 vgem fuse)
# Modules that newer kernels no longer have: crc32c_generic is gone since
# v6.14 (crc32c became a library, lib/crc, that ext4 uses directly); fuse
# (tests/guest/creds.c) is skipped where the kernel has no FUSE at all.
OPTIONAL_GUEST_MODULES=(crc32c_generic fuse)

# Random test files on the data disk: name and size in bytes; the page
# size is the guest kernel's (set below, before the disk is made).
data_files() {
	DATA_FILES=(
	"empty 0"
	"one 1"
	"page_minus_one $((PAGE_SIZE - 1))"
	"8m $((8 << 20))"
	"256m $((256 << 20))"
	"unaligned $(((8 << 20) + 12345))"
	)
}

# Random files of the bench disk (bench mode only): name and size in bytes.
BENCH_FILES=(
	"bench-512k $((512 << 10))"
	"bench-8m $((8 << 20))"
	"bench-1g $((1 << 30))"
	"bench-3g $((3 << 30))"
)

log() { echo "run: $*" >&2; }
die() { echo "run: error: $*" >&2; exit 2; }

usage() {
	sed -n '8,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
	exit 2
}

# ---------------------------------------------------------------- options --
KVER='' MODE='' MEM='' TIMEOUT='' TEST_TIMEOUT=0 APPEND_EXTRA='' KEEP=0 VERBOSE=0
NUMA_NODES=${HL_NUMA_NODES:-}
BENCH_SEL=${HL_BENCH_FILES:-} BENCH_RUNS=${HL_BENCH_RUNS:-3} BENCH_CSV=''
while [ $# -gt 0 ]; do
	case "$1" in
	--kver) KVER=${2:?}; shift 2 ;;
	--mode) MODE=${2:?}; shift 2 ;;
	--mem) MEM=${2:?}; shift 2 ;;
	--numa) NUMA_NODES=${2:?}; shift 2 ;;
	--bench-files) BENCH_SEL=${2:?}; shift 2 ;;
	--bench-runs) BENCH_RUNS=${2:?}; shift 2 ;;
	--bench-csv) BENCH_CSV=${2:?}; shift 2 ;;
	--timeout) TIMEOUT=${2:?}; TIMEOUT_SET=1; shift 2 ;;
	--test-timeout) TEST_TIMEOUT=${2:?}; shift 2 ;;
	--append) APPEND_EXTRA=${2:?}; shift 2 ;;
	--keep) KEEP=1; shift ;;
	--verbose|-v) VERBOSE=1; shift ;;
	-h|--help) usage ;;
	*) echo "run: unknown argument: $1" >&2; usage ;;
	esac
done
[ -n "$KVER" ] || usage
case "$MODE" in
check) TIMEOUT=${TIMEOUT:-1500} ;;
demo) TIMEOUT=${TIMEOUT:-600} ;;
bench) TIMEOUT=${TIMEOUT:-7200} ;;
planted) TIMEOUT=${TIMEOUT:-900} ;;
*) usage ;;
esac
if [ "$MODE" = bench ]; then
	MEM=${MEM:-12G}
	# Names, checked against BENCH_FILES; comma or space separated.
	declare -A BENCH_SIZE
	for entry in "${BENCH_FILES[@]}"; do
		read -r name size <<<"$entry"
		BENCH_SIZE[$name]=$size
	done
	if [ -z "$BENCH_SEL" ]; then
		BENCH_SEL=$(for entry in "${BENCH_FILES[@]}"; do echo "${entry%% *}"; done)
	fi
	BENCH_NAMES=()
	for name in ${BENCH_SEL//,/ }; do
		[ -n "${BENCH_SIZE[$name]:-}" ] ||
			die "unknown bench file '$name' (known: ${!BENCH_SIZE[*]})"
		BENCH_NAMES+=("$name")
	done
	[ ${#BENCH_NAMES[@]} -gt 0 ] || die "no bench files selected"
	case "$BENCH_RUNS" in
	''|*[!0-9]*|0) die "bench runs must be a positive number: '$BENCH_RUNS'" ;;
	esac
fi
MEM=${MEM:-4G}
if [ -z "$NUMA_NODES" ]; then
	if [ "$MODE" = bench ]; then NUMA_NODES=1; else NUMA_NODES=2; fi
fi
case "$NUMA_NODES" in
1|2) ;;
*) die "--numa takes 1 or 2 (nodes, one vCPU each at most): '$NUMA_NODES'" ;;
esac
# The memory in MiB, as QEMU reads -m: a number of MiB, or with M, G or T.
case "$MEM" in
*[0-9][Mm]) MEM_MIB=${MEM%?} ;;
*[0-9][Gg]) MEM_MIB=$((${MEM%?} * 1024)) ;;
*[0-9][Tt]) MEM_MIB=$((${MEM%?} * 1024 * 1024)) ;;
*[0-9]) MEM_MIB=$MEM ;;
*) die "--mem: a size in MiB, or with M, G or T: '$MEM'" ;;
esac
case "$MEM_MIB" in
''|*[!0-9]*) die "--mem: a whole number of MiB, GiB or TiB: '$MEM'" ;;
esac

TREE=${HL_CACHE:-${HL_KERNEL_STORE:-/var/cache/heapload-rig/kernels}/$KVER}
MODULE=${HL_MODULE:-$REPO/module/heapload.ko}
GUEST_DIR=${HL_GUEST_DIR:-$REPO/tests/build/guest}
TOOL=${HL_TOOL:-$REPO/tools/heapload}
# The demo's consumer: tesseract on the model in a dma-buf.
OCR=$REPO/tools/examples/ocr
# The line the demo renders and expects tesseract to read back.
DEMO_TEXT="Gallia est omnis divisa in partes tres"
EARLY_TIMEOUT=${HL_EARLY_TIMEOUT:-300}
KDIR=$TREE/lib/modules/$KVER
VMLINUZ=$TREE/boot/vmlinuz-$KVER
USERLAND=${HL_USERLAND:-}

# ------------------------------------------------------------ preflight --
[ -f "$VMLINUZ" ] || die "no $VMLINUZ: run HL_KVER=$KVER tests/qemu/setup.sh"
if grep -qx 'CONFIG_ARM64=y' "$TREE/boot/config-$KVER" 2>/dev/null; then
	ARCH=arm64 QEMU=qemu-system-aarch64 LIBDIR=lib/aarch64-linux-gnu
	EARLY_TIMEOUT=${HL_EARLY_TIMEOUT:-600}
	[ "$MODE" != check ] || [ -n "${TIMEOUT_SET:-}" ] || TIMEOUT=3600
	[ -n "$USERLAND" ] && [ -x "$USERLAND/bin/busybox" ] ||
		die "an arm64 guest needs HL_USERLAND (tests/matrix/fetch.sh --userland bookworm arm64)"
else
	ARCH=amd64 QEMU=qemu-system-x86_64 LIBDIR=
fi
# The kernel's page size, for the page-sized test files.
if grep -qx 'CONFIG_ARM64_64K_PAGES=y' "$TREE/boot/config-$KVER" 2>/dev/null; then
	PAGE_SIZE=65536
elif grep -qx 'CONFIG_ARM64_16K_PAGES=y' "$TREE/boot/config-$KVER" 2>/dev/null; then
	PAGE_SIZE=16384
else
	PAGE_SIZE=4096
fi
data_files
for cmd in "$QEMU" busybox cpio gzip mkfs.ext4 depmod modinfo \
	   timeout sha256sum ldd readelf; do
	command -v "$cmd" >/dev/null || die "$cmd missing: run tests/qemu/setup.sh"
done
[ -f "$KDIR/modules.dep" ] || depmod -b "$TREE" "$KVER" ||
	die "cannot make modules.dep in $KDIR"
[ -f "$MODULE" ] ||
	die "no $MODULE: build it with 'make module KERNELRELEASE=$KVER'"
vermagic=$(modinfo -F vermagic "$MODULE" | cut -d' ' -f1)
[ "$vermagic" = "$KVER" ] ||
	die "$MODULE is built for '$vermagic', not $KVER"
BUSYBOX=$(command -v busybox)
if ldd "$BUSYBOX" >/dev/null 2>&1; then
	die "$BUSYBOX is dynamically linked: install busybox-static"
fi
# The guest's own busybox; its applets are the host's (the same package).
GUEST_BUSYBOX=$BUSYBOX
[ "$ARCH" = amd64 ] || GUEST_BUSYBOX=$USERLAND/bin/busybox

mkdir -p "$RIG_CACHE/logs"
WORK=$(mktemp -d "$RIG_CACHE/work.XXXXXX")
cleanup() {
	# Never leave a guest running behind us.
	if [ -n "${QEMU_PID:-}" ]; then kill "$QEMU_PID" 2>/dev/null || true; fi
	if [ "$KEEP" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

T_START=$(date +%s.%N)
elapsed() { echo "$(date +%s.%N) $T_START" | awk '{ printf "%.1f", $1 - $2 }'; }

# ------------------------------------------------------------ initramfs --
STAGE=$WORK/initramfs

# Copy a file to the same absolute path inside the initramfs.
stage_file() {
	mkdir -p "$STAGE$(dirname "$1")"
	cp -L "$1" "$STAGE$1"
}

# A foreign program's dynamic loader and shared libraries, from the
# USERLAND tree, found by their names in each ELF's DT_NEEDED (ldd cannot
# run it); libraries go to LIBDIR, where the guest's loader looks.
stage_foreign_libs() {
	local interp lib src
	interp=$(readelf -l "$1" 2>/dev/null |
		 sed -n 's/.*Requesting program interpreter: \(.*\)]$/\1/p' || true)
	# (None for a library, a static program or a script.)
	if [ -n "$interp" ] && [ ! -e "$STAGE$interp" ]; then
		mkdir -p "$STAGE$(dirname "$interp")"
		cp -L "$USERLAND$interp" "$STAGE$interp" ||
			die "$1: no $interp in $USERLAND"
	fi
	for lib in $(readelf -d "$1" 2>/dev/null |
		     sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p' || true); do
		[ ! -e "$STAGE/$LIBDIR/$lib" ] || continue
		src=
		for d in "$USERLAND/$LIBDIR" "$USERLAND/usr/$LIBDIR"; do
			[ -e "$d/$lib" ] && { src=$d/$lib; break; }
		done
		[ -n "$src" ] || die "$1: $lib not found in $USERLAND"
		mkdir -p "$STAGE/$LIBDIR"
		cp -L "$src" "$STAGE/$LIBDIR/$lib"
		stage_foreign_libs "$STAGE/$LIBDIR/$lib"
	done
}

# Copy the shared libraries and the dynamic loader $1 needs.  ldd prints
# "libx.so => /path (addr)" and "/lib64/ld-linux-x86-64.so.2 (addr)";
# static programs and scripts make it fail, which is fine.
stage_libs() {
	local out lib
	if [ "$ARCH" != amd64 ]; then
		stage_foreign_libs "$1"
		return
	fi
	out=$(ldd "$1" 2>/dev/null) || return 0
	if grep -q 'not found' <<<"$out"; then
		die "$1: $(grep 'not found' <<<"$out" | tr -s ' \t' ' ')"
	fi
	for lib in $(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' \
		     <<<"$out"); do
		[ -e "$STAGE$lib" ] || stage_file "$lib"
	done
}

# Find a module by name in modules.dep; prints its path relative to KDIR.
find_module() {
	awk -F: -v n="$1" '{
		f = $1; sub(/.*\//, "", f); sub(/\.ko(\.xz|\.zst|\.gz)?$/, "", f)
		gsub(/-/, "_", f)
		if (f == n) { print $1; exit }
	}' "$KDIR/modules.dep"
}

# Depth-first walk over modules.dep: dependencies come out before users.
declare -A MOD_DEPS MOD_SEEN
ORDER=()
load_modules_dep() {
	local line
	while IFS= read -r line; do
		MOD_DEPS[${line%%:*}]=${line#*:}
	done <"$KDIR/modules.dep"
}
visit_module() {
	local m=$1 d
	[ -z "${MOD_SEEN[$m]:-}" ] || return 0
	MOD_SEEN[$m]=1
	for d in ${MOD_DEPS[$m]}; do visit_module "$d"; done
	ORDER+=("$m")
}

# Copy a (possibly compressed) module, decompressed: busybox insmod wants .ko.
stage_module() {
	local src=$KDIR/$1 dst=$STAGE/lib/modules/$KVER/${1%.ko*}.ko
	mkdir -p "$(dirname "$dst")"
	case "$1" in
	*.ko.xz) xz -dc "$src" >"$dst" ;;
	*.ko.zst) zstd -qdc "$src" >"$dst" ;;
	*.ko.gz) gzip -dc "$src" >"$dst" ;;
	*) cp "$src" "$dst" ;;
	esac
}

build_initramfs() {
	local name m rel f link
	mkdir -p "$STAGE"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,data,etc}
	mkdir -p "$STAGE"/opt/heapload/{bin,tests} "$STAGE/lib/modules/$KVER"

	cp "$GUEST_BUSYBOX" "$STAGE/bin/busybox"
	for link in $("$BUSYBOX" --list-full); do
		[ -e "$STAGE/$link" ] || ln -s /bin/busybox "$STAGE/$link"
	done
	install -m 0755 "$RIG_DIR/init" "$STAGE/init"
	# The kernel opens /dev/console for init before devtmpfs is mounted.
	if [ "$(id -u)" = 0 ]; then mknod -m 0600 "$STAGE/dev/console" c 5 1; fi

	# Distro modules, in load order.
	load_modules_dep
	for name in "${GUEST_MODULES[@]}"; do
		rel=$(find_module "$name")
		if [ -z "$rel" ]; then
			if ! grep -q "/$name\.ko" "$KDIR/modules.builtin"; then
				case " ${OPTIONAL_GUEST_MODULES[*]} " in
				*" $name "*) log "no module $name in $KVER, skipped" ;;
				*) die "module $name not found for $KVER" ;;
				esac
			fi
			continue	# built in, or optional and absent
		fi
		visit_module "$rel"
	done
	: >"$STAGE/lib/modules/$KVER/load-order"
	for m in "${ORDER[@]}"; do
		stage_module "$m"
		echo "${m%.ko*}.ko" >>"$STAGE/lib/modules/$KVER/load-order"
	done
	# A modules.dep of its own lets the kernel's request_module() reach
	# busybox modprobe for whatever we packed.
	cp "$KDIR"/modules.builtin* "$STAGE/lib/modules/$KVER/" 2>/dev/null || true
	depmod -b "$STAGE" "$KVER" 2>/dev/null || log "depmod in initramfs failed"
	cp "$MODULE" "$STAGE/lib/modules/heapload.ko"

	# Guest test programs and the user-space command, with their libraries.
	if [ -d "$GUEST_DIR" ]; then
		for f in "$GUEST_DIR"/*; do
			[ -f "$f" ] && [ -x "$f" ] || continue
			cp "$f" "$STAGE/opt/heapload/tests/"
			stage_libs "$f"
		done
	else
		log "no guest test dir $GUEST_DIR"
	fi
	if [ -x "$TOOL" ]; then
		cp "$TOOL" "$STAGE/opt/heapload/bin/heapload"
		stage_libs "$TOOL"
	elif [ "$MODE" = demo ] || [ "$MODE" = bench ]; then
		die "$MODE needs $TOOL"
	fi
	if [ "$MODE" = demo ]; then
		[ -x "$OCR" ] || die "demo needs $OCR (make -C tools/examples)"
		cp "$OCR" "$STAGE/opt/heapload/bin/ocr"
		stage_libs "$OCR"
	fi

	(cd "$STAGE" && find . -print0 | LC_ALL=C sort -z |
	 cpio --null -o -H newc --owner=0:0 --quiet) | gzip -1 >"$WORK/initramfs.cpio.gz"
}

# ------------------------------------------------------------ data disk --
DATA_CACHE=$RIG_CACHE/data

# Path of the demo model (Debian's tesseract-ocr-script-latn).
latin_model() {
	dpkg -L tesseract-ocr-script-latn 2>/dev/null |
		grep '/Latin\.traineddata$' | head -n1
}

# Random files are made once and reused; the image is rebuilt per run so
# that what a previous guest wrote never leaks into the next run.
build_data_image() {
	local entry name size dir=$WORK/data files=$DATA_CACHE/files model used_kb
	local sums=$DATA_CACHE/sha256-$PAGE_SIZE tmp
	mkdir -p "$files" "$dir"
	for entry in "${DATA_FILES[@]}"; do
		read -r name size <<<"$entry"
		# Cached by name and size (page_minus_one differs between
		# kernels); made under a name of its own, so that rigs running
		# side by side never see half a file.
		if [ ! -f "$files/$name-$size" ]; then
			log "making random test file $name ($size bytes)"
			tmp=$(mktemp "$files/.$name.XXXXXX")
			head -c "$size" /dev/urandom >"$tmp"
			mv "$tmp" "$files/$name-$size"
		fi
		# Hard links: the image builder only reads them.
		ln "$files/$name-$size" "$dir/$name" 2>/dev/null ||
			cp "$files/$name-$size" "$dir/$name"
	done
	if [ ! -f "$sums" ] || [ "$(find "$files" -newer "$sums" -name '*-*' | head -n1)" ]; then
		tmp=$(mktemp "$sums.XXXXXX")
		(cd "$dir" && sha256sum -- *) >"$tmp"
		mv "$tmp" "$sums"
	fi
	cp "$sums" "$dir/sha256"
	if [ "$MODE" = demo ]; then
		model=$(latin_model)
		[ -n "$model" ] && [ -f "$model" ] ||
			die "no Latin.traineddata: run tests/qemu/setup.sh"
		ln "$model" "$dir/Latin.traineddata" 2>/dev/null ||
			cp "$model" "$dir/Latin.traineddata"
		(cd "$dir" && sha256sum Latin.traineddata) >>"$dir/sha256"
		# A line of text rendered now, for tesseract to read.
		printf '%s\n' "$DEMO_TEXT" >"$dir/line.txt"
		pango-view --no-display --font="DejaVu Sans 28" --dpi=150 \
			--margin=30 --text="$DEMO_TEXT" -o "$dir/line.png" >&2 ||
			die "pango-view could not render the demo's text line"
	fi
	used_kb=$(du -sLk "$dir" | cut -f1)
	# Room for ext4 metadata plus free space for tests that write files.
	size_kb=$((used_kb + used_kb / 10 + 65536 + ${HL_DATA_FREE_MB:-256} * 1024))
	# Initialise inode tables and journal now, not in the guest, so no
	# ext4lazyinit thread disturbs the tests.
	mkfs.ext4 -q -F -L hldata -E lazy_itable_init=0,lazy_journal_init=0 \
		-d "$dir" "$WORK/data.img" "${size_kb}k" >&2
	rm -rf "$dir"
}

# ------------------------------------------------------------ bench disk --
BENCH_CACHE=$RIG_CACHE/bench

# Make the missing random bench files, then an ext4 image holding the
# selected ones.  Both are kept: the guest mounts the image read-only and
# qemu attaches it read-only, so it never changes.  A new selection gets an
# image of its own (named after it).
build_bench_image() {
	local name size files=$BENCH_CACHE/files dir img used_kb
	mkdir -p "$files"
	for name in "${BENCH_NAMES[@]}"; do
		size=${BENCH_SIZE[$name]}
		if [ ! -f "$files/$name" ] ||
		   [ "$(stat -c %s "$files/$name")" != "$size" ]; then
			log "making random bench file $name ($size bytes)"
			head -c "$size" /dev/urandom >"$files/$name.tmp"
			mv "$files/$name.tmp" "$files/$name"
		fi
	done
	img=$BENCH_CACHE/$(IFS=_; echo "${BENCH_NAMES[*]}").img
	BENCH_IMG=$img
	for name in "${BENCH_NAMES[@]}"; do
		if [ ! -f "$img" ] || [ "$files/$name" -nt "$img" ]; then
			rm -f "$img"
		fi
	done
	[ -f "$img" ] && return 0
	log "making bench disk $(basename "$img")"
	dir=$WORK/bench
	mkdir -p "$dir"
	for name in "${BENCH_NAMES[@]}"; do
		ln "$files/$name" "$dir/$name" 2>/dev/null || cp "$files/$name" "$dir/"
	done
	used_kb=$(du -sLk "$dir" | cut -f1)
	mkfs.ext4 -q -F -L hlbench -E lazy_itable_init=0,lazy_journal_init=0 \
		-d "$dir" "$img.tmp" "$((used_kb + used_kb / 20 + 65536))k" >&2
	mv "$img.tmp" "$img"
	rm -rf "$dir"
}

# --------------------------------------------------------------- parser --
# Reads the results port; prints result lines, the closing summary last.
# Exit status 0 = all passed or skipped, 1 = failures or nothing ran.
parse_results() {
	awk -v token="$TOKEN" '
	function start(name) {
		prog = name; planned = 0; results = 0; fails = 0; plan0 = 0; open = 1
	}
	function finish(code,    missing) {
		if (!open) return
		open = 0
		if (prog != "rig_setup" && prog != "kernel_log") programs++
		missing = planned - results
		if (missing > 0) {
			printf "%s: not ok - %d of %d planned results missing\n", \
				prog, missing, planned
			failed += missing; fails += missing
		}
		if (results == 0 && planned == 0 && code == 4 && !plan0) {
			printf "%s: ok - all skipped (exit 4) # SKIP\n", prog
			skipped++
		} else if (code != 0 && code != 4 && fails == 0) {
			printf "%s: not ok - exit code %s\n", prog, code
			failed++
		} else if (results == 0 && planned == 0 && code == 0 && !plan0) {
			printf "%s: not ok - no KTAP results\n", prog
			failed++
		}
	}
	{ sub(/\r+$/, "") }
	$0 == token { done = 1; next }
	/^# heapload-test: [^ ]+ start$/ { finish("none"); start($3); next }
	/^# heapload-test: [^ ]+ exit=/ {
		code = $4; sub(/^exit=/, "", code)
		if (!open || prog != $3) start($3)
		finish(code); next
	}
	/^1\.\.[0-9]+/ {
		n = substr($1, 4) + 0; planned += n
		if (n == 0) { plan0 = 1; printf "%s: %s\n", prog, $0; skipped++ }
		next
	}
	/^(not )?ok [0-9]+/ {
		if (!open) start("unknown")
		results++
		printf "%s: %s\n", prog, $0
		if (toupper($0) ~ /#[ \t]*SKIP/) skipped++
		else if ($0 ~ /^not ok/) { failed++; fails++ }
		else passed++
		fflush()
		next
	}
	END {
		finish("none")
		if (!done) {
			print "rig: not ok - guest did not finish (no " token ")"
			failed++
		}
		if (programs == 0) {
			print "rig: not ok - no guest test programs ran"
			failed++
		}
		printf "%d passed, %d failed, %d skipped\n", passed, failed, skipped
		exit failed > 0
	}'
}

# ----------------------------------------------------------------- boot --
log "kernel $KVER, mode $MODE, module $MODULE"
build_initramfs
build_data_image
if [ "$MODE" = bench ]; then
	build_bench_image
fi
T_BUILT=$(elapsed)
log "initramfs and data disk ready after ${T_BUILT}s"

LOGS=$RIG_CACHE/logs/$KVER-$MODE
# One boot per kernel and mode at a time: the logs are named after them.
exec {lockfd}>"$LOGS.lock"
flock "$lockfd"
CONSOLE=$LOGS.console.log
RESULTS=$LOGS.results.log
: >"$CONSOLE"
: >"$RESULTS"

# The machine: console on the first serial port, results on a second one.
if [ "$ARCH" = arm64 ]; then
	# pauth-impdef: pointer authentication with QEMU's own cheap hash,
	# not the architected QARMA that costs much time under TCG.
	MACHINE=(qemu-system-aarch64 -machine virt -cpu max,pauth-impdef=on)
	CONSOLE_DEV=ttyAMA0 RESULTS_DEV=ttyS0
	RESULTS_PORT=(-device pci-serial,chardev=res)
	DISK_IF=none
else
	MACHINE=(qemu-system-x86_64 -cpu max)
	CONSOLE_DEV=ttyS0 RESULTS_DEV=ttyS1
	RESULTS_PORT=(-serial chardev:res)
	DISK_IF=virtio
fi
# Disks in the order the guest finds them (vda: data, vdb: bench).
DISKS=()
add_disk() {
	local n=${#DISKS[@]}
	if [ "$DISK_IF" = virtio ]; then
		DISKS+=(-drive "file=$1,if=virtio,format=raw,$2")
	else
		DISKS+=(-drive "file=$1,if=none,id=disk$n,format=raw,$2"
			-device "virtio-blk-pci,drive=disk$n")
	fi
}
add_disk "$WORK/data.img" cache=none
[ "$MODE" != bench ] || add_disk "$BENCH_IMG" cache=none,readonly=on
# Memory and NUMA topology: one node, or two with one vCPU and half the
# memory each (node 0 rounded down to 128 MiB, the rest on node 1). The
# two vCPUs are then two sockets: as cores of one socket they would share
# a last-level cache across nodes, which x86 kernels warn about (and
# panic_on_warn turns that into a panic at boot).
MEMORY=(-smp 2 -m "${MEM_MIB}M")
if [ "$NUMA_NODES" = 2 ]; then
	MEMORY=(-smp 2,sockets=2,cores=1,threads=1 -m "${MEM_MIB}M")
	node0=$((MEM_MIB / 2))
	[ "$node0" -lt 256 ] || node0=$((node0 / 128 * 128))
	node1=$((MEM_MIB - node0))
	[ "$node0" -gt 0 ] && [ "$node1" -gt 0 ] ||
		die "--mem $MEM is too small for two NUMA nodes"
	MEMORY+=(-object "memory-backend-ram,id=hlmem0,size=${node0}M"
		 -numa "node,nodeid=0,cpus=0,memdev=hlmem0"
		 -object "memory-backend-ram,id=hlmem1,size=${node1}M"
		 -numa "node,nodeid=1,cpus=1,memdev=hlmem1")
	log "two NUMA nodes: ${node0} MiB and ${node1} MiB, one vCPU each"
fi

APPEND="console=$CONSOLE_DEV panic=-1 panic_on_warn=1 oops=panic quiet"
APPEND+=" hlrig.mode=$MODE hlrig.results=$RESULTS_DEV"
[ "$TEST_TIMEOUT" = 0 ] || APPEND+=" hlrig.test_timeout=$TEST_TIMEOUT"
if [ "$MODE" = bench ]; then
	APPEND+=" hlrig.bench_runs=$BENCH_RUNS"
	APPEND+=" hlrig.bench_files=$(IFS=,; echo "${BENCH_NAMES[*]}")"
	case "${HL_BENCH_METHODS:-}" in
	*[!a-z0-9,-]*) die "HL_BENCH_METHODS: method names and commas only: '$HL_BENCH_METHODS'" ;;
	?*) APPEND+=" hlrig.bench_methods=$HL_BENCH_METHODS" ;;
	esac
	case "${HL_BENCH_TRACE:-}" in
	*[!A-Za-z0-9_,]*) die "HL_BENCH_TRACE: kernel function names and commas only: '$HL_BENCH_TRACE'" ;;
	?*) APPEND+=" hlrig.bench_trace=$HL_BENCH_TRACE" ;;
	esac
fi
[ -z "$APPEND_EXTRA" ] || APPEND+=" $APPEND_EXTRA"

# A kernel that dies before our init has written a byte to the results
# port never ran heapload: that is the emulator or the kernel, not us
# (seen once: an int3 oops in the scheduler's own initcall under TCG).
# Such a boot is tried once more; its console is kept beside the logs.
# Any boot that reached init is judged as it is.
for attempt in 1 2; do
	# Console and results port into files the host reads.
	# -nodefaults: no NIC (and no option ROM), no VGA, no monitor on stdio.
	timeout -k 10 "$TIMEOUT" "${MACHINE[@]}" \
		-accel tcg,thread=multi "${MEMORY[@]}" \
		-name heapload,debug-threads=on \
		-nographic -nodefaults -no-reboot \
		-kernel "$VMLINUZ" -initrd "$WORK/initramfs.cpio.gz" \
		-append "$APPEND" \
		"${DISKS[@]}" \
		-chardev file,id=con,path="$CONSOLE" -serial chardev:con \
		-chardev file,id=res,path="$RESULTS" "${RESULTS_PORT[@]}" \
		</dev/null >"$WORK/qemu.out" 2>&1 &
	QEMU_PID=$!
	# A kernel that has not started our init after EARLY_TIMEOUT seconds
	# hangs in its own boot (seen once: sid's kernel spinning silently
	# for 13 minutes): stop it, so that it is booted once more below.
	# The watcher must neither hold the boot lock nor outlive the boot:
	# it closes the lock's fd, and its sleep ends when it is killed.
	rm -f "$WORK/early-timeout"
	( exec {lockfd}>&-
	  trap 'kill "$nap" 2>/dev/null; exit 0' TERM
	  sleep "$EARLY_TIMEOUT" &
	  nap=$!
	  wait "$nap"
	  if [ ! -s "$RESULTS" ] && kill -0 "$QEMU_PID" 2>/dev/null; then
		  : >"$WORK/early-timeout"
		  kill "$QEMU_PID"
	  fi ) &
	EARLY_WATCH=$!

	if [ "$VERBOSE" = 1 ]; then
		tail -n +1 -F --pid="$QEMU_PID" -s 0.2 "$CONSOLE" 2>/dev/null |
			sed 's/^/console: /' >&2 &
	fi

	# HL_BENCH_THREADS: where the host CPU time of the emulator's
	# threads goes, per bench method (tests/bench/qemu-threads.sh).
	if [ "$MODE" = bench ] && [ -n "${HL_BENCH_THREADS:-}" ]; then
		( exec {lockfd}>&-
		  exec "$REPO/tests/bench/qemu-threads.sh" "$QEMU_PID" \
			"$CONSOLE" "$HL_BENCH_THREADS" ) &
		PROFILER=$!
	fi

	rc=0
	if [ "$MODE" = bench ] && [ "$VERBOSE" = 0 ]; then
		# The per-run lines the guest prints on its console, as they come.
		tail -n +1 -F --pid="$QEMU_PID" -s 0.5 "$CONSOLE" 2>/dev/null |
			sed -un 's/\r$//; /^bench: .*: start$/d; /^bench: /p' >&2 &
	fi
	if [ "$MODE" = check ]; then
		tail -n +1 -F --pid="$QEMU_PID" -s 0.2 "$RESULTS" 2>/dev/null |
			parse_results >"$WORK/parsed" &
		PARSER=$!
		# Show result lines live, keep the summary for the very end.
		tail -n +1 -F --pid="$PARSER" -s 0.2 "$WORK/parsed" 2>/dev/null |
			grep -Ev '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' || true
		wait "$PARSER" || rc=$?
	fi
	qrc=0
	wait "$QEMU_PID" || qrc=$?
	QEMU_PID=
	[ -z "${PROFILER:-}" ] || wait "$PROFILER" || log "the thread profile failed"
	PROFILER=
	kill "$EARLY_WATCH" 2>/dev/null || true
	wait "$EARLY_WATCH" 2>/dev/null || true
	T_TOTAL=$(elapsed)
	if [ -e "$WORK/early-timeout" ]; then
		log "no output from init after ${EARLY_TIMEOUT}s: the kernel hung in its boot"
	fi
	if [ "$attempt" = 1 ] && [ ! -s "$RESULTS" ] &&
	   { [ -e "$WORK/early-timeout" ] ||
	     { [ "$qrc" != 124 ] && [ "$qrc" != 137 ] &&
	       grep -q 'Kernel panic' "$CONSOLE"; }; }; then
		cp "$CONSOLE" "$LOGS.console.died-before-init.log"
		log "kernel died before init ran: $(tr -d '\r' <"$CONSOLE" |
			grep -m1 -oE '(Oops|BUG|Kernel panic).*' || echo 'no output')"
		log "the not-ok lines above are that boot's; booting once more" \
			"(its console: ${LOGS#"$REPO"/}.console.died-before-init.log)"
		: >"$CONSOLE"
		: >"$RESULTS"
		rc=0
		continue
	fi
	break
done

if [ -e "$WORK/early-timeout" ]; then
	log "the kernel hung before init in both boots"
	rc=1
elif [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	log "guest timed out after ${TIMEOUT}s"
	rc=1
elif [ "$qrc" != 0 ]; then
	log "qemu exited with $qrc: $(tail -n 5 "$WORK/qemu.out")"
	rc=1
fi

if [ "$MODE" = demo ]; then
	tr -d '\r' <"$RESULTS"
	if grep -qx 'DEMO OK' <(tr -d '\r' <"$RESULTS") &&
	   grep -qx "$TOKEN" <(tr -d '\r' <"$RESULTS"); then
		[ "$qrc" = 0 ] || rc=1
	else
		rc=1
	fi
fi

if [ "$MODE" = planted ]; then
	tr -d '\r' <"$RESULTS"
fi

if [ "$MODE" = bench ]; then
	BENCH_CSV=${BENCH_CSV:-$RIG_CACHE/logs/$KVER-bench.csv}
	# Everything but the CSV block and the token, then the CSV on its own.
	tr -d '\r' <"$RESULTS" |
		sed '/^# heapload-bench-csv begin$/,/^# heapload-bench-csv end$/d' |
		grep -vx -e "$TOKEN" -e '# guest uptime at tests: .*' || true
	tr -d '\r' <"$RESULTS" |
		sed -n '/^# heapload-bench-csv begin$/,/^# heapload-bench-csv end$/p' |
		sed '1d;$d' >"$WORK/bench.csv"
	if ! grep -qx '# heapload-bench-csv end' <(tr -d '\r' <"$RESULTS"); then
		log "no CSV came back from the guest"
		rc=1
	elif [ "$(wc -l <"$WORK/bench.csv")" -lt 2 ]; then
		log "the guest's CSV is empty"
		rc=1
	else
		mkdir -p "$(dirname "$BENCH_CSV")"
		cp "$WORK/bench.csv" "$BENCH_CSV"
		log "bench CSV: $BENCH_CSV"
	fi
	grep -qx '# heapload bench: exit=0' <(tr -d '\r' <"$RESULTS") || rc=1
	grep -qx "$TOKEN" <(tr -d '\r' <"$RESULTS") || rc=1
fi

up=$(tr -d '\r' <"$RESULTS" | sed -n 's/^# guest uptime at tests: //p' | head -n1)
log "boot to tests ${up:-?}s (guest clock), total ${T_TOTAL}s (build ${T_BUILT}s)"
log "logs: ${CONSOLE#"$REPO"/} ${RESULTS#"$REPO"/}"
if [ "$rc" != 0 ]; then
	echo "---- console tail ($CONSOLE) ----" >&2
	tail -n 40 "$CONSOLE" >&2
	echo "----" >&2
fi
if [ "$MODE" = check ]; then
	# The summary line is the last line on stdout.
	summary=$(tail -n 1 "$WORK/parsed")
	[ -n "$summary" ] || summary="0 passed, 1 failed, 0 skipped"
	echo "$summary"
fi
exit "$rc"
