#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check-install: install heapload like a distribution package into a
# real Debian 12 system and boot it.
#
#   tests/install/run.sh
#
# 1. Builds the Debian packages from a clean copy of the committed tree.
# 2. Copies the cached base system (tests/install/image.sh: debootstrap,
#    systemd, DKMS, Debian 12's kernel and headers) and installs every
#    package built, with apt-get, in a chroot: DKMS must build the module
#    for the tree's kernel. Enables the example udev rule and
#    modules-load.d file the heapload-dkms package ships, adds the group
#    heapload and a user "loader" in it. Then installs the rt kernel
#    flavour: DKMS's kernel hook must build the module for it too.
# 3. Boots the tree (an ext4 disk) in QEMU with systemd, first on the
#    standard kernel, then on the rt kernel; heapload-install-test.service
#    runs guest.sh, which checks that modules-load.d loaded the module,
#    the device nodes' group and mode, the heapload command and a program
#    built with pkg-config (loader.c) as the user loader.
# 4. Purges the packages in the chroot: nothing of heapload may remain.
#
# KTAP on stdout, timings as "# ..." lines, and the closing line
# "N passed, N failed, N skipped"; exit status 1 on any failure. Needs
# root and the network (apt) on a cold run. Logs of the last boots:
# $HL_INSTALL_CACHE/logs/.
#
# Environment:
#   HL_INSTALL_CACHE         base system cache (/var/cache/heapload-rig/install)
#   HL_INSTALL_BOOT_TIMEOUT  seconds per boot (600; a boot takes about 45)
#   HL_INSTALL_KEEP=1        keep the run's tree, disk and logs
#   HL_INSTALL_DEV_FALLBACK=1  development only: when heapload-dkms ships
#                            no example udev rule or modules-load.d file,
#                            use stand-ins from this script (that check
#                            then reports SKIP, never a pass)
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
# shellcheck source=tests/install/common.sh
. "$HERE/common.sh"
# shellcheck source=tests/host/ktap.sh
. "$TOP/tests/host/ktap.sh"

BOOT_TIMEOUT=${HL_INSTALL_BOOT_TIMEOUT:-600}
TOKEN=HEAPLOAD-INSTALL-DONE
EXAMPLES=/usr/share/doc/heapload-dkms/examples
HOST_PKGS=(debootstrap qemu-system-x86 e2fsprogs tesseract-ocr-script-latn)

# What guest.sh reports, in its order, once per boot.
GUEST_TESTS=(kernel_release module_loaded_by_modules_load module_built_by_dkms
	     device_nodes_group_heapload_0660 cli_info_as_loader cli_load_sha256_as_loader
	     c_loader_builds_with_pkg_config c_loader_links_neither_libcrypto_nor_libkmod
	     c_loader_loads_file_as_loader kernel_log_clean)
TESTS=(debian_packages_build base_image_ready packages_install_in_image
       dkms_built_for_image_kernel package_ships_udev_rule_and_modules_load_file
       rt_kernel_install_builds_module std_boot_finished)
for t in "${GUEST_TESTS[@]}"; do TESTS+=("std_$t"); done
TESTS+=(rt_boot_finished)
for t in "${GUEST_TESTS[@]}"; do TESTS+=("rt_$t"); done
TESTS+=(purge_removes_packages purge_dkms_status_empty purge_no_usr_src
	purge_no_module_files purge_no_var_lib_dkms)

declare -A REPORTED
# res NAME ok|fail|skip [REASON]: one result, once per name.
res() {
	REPORTED[$1]=1
	ktap_result "$2" "$1" "${3:-}"
}
# check NAME COMMAND...: one result from a command's status.
check() {
	local name=$1
	shift
	if "$@"; then res "$name" ok; else res "$name" fail; fi
}
# The planned results not reported yet, all as $1 (skip or fail), then
# the closing line.
finish() {
	local t
	for t in "${TESTS[@]}"; do
		[ -n "${REPORTED[$t]:-}" ] && continue
		[ "$1" = skip ] || echo "# $t: not run: $2"
		res "$t" "$1" "$2"
	done
	ktap_finish
	exit
}
# Seconds since $1 (a date +%s).
since() { echo $(($(date +%s) - $1)); }

ktap_start ${#TESTS[@]}
[ "$(id -u)" = 0 ] || finish skip "needs root (debootstrap, chroot, apt-get)"
T0=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
"$TOP/tests/install-deps.sh" >&2 ||
	finish skip "the build dependencies cannot be installed (tests/install-deps.sh)"
host_install "${HOST_PKGS[@]}" ||
	finish skip "cannot install ${HOST_PKGS[*]} on the host"

mkdir -p "$INSTALL_CACHE/logs"
# What a killed run left behind (a tree and a disk: gigabytes).
find "$INSTALL_CACHE" -maxdepth 1 -name 'run.*' -mmin +1440 -exec rm -rf {} +
WORK=$(mktemp -d "$INSTALL_CACHE/run.XXXXXX")
ROOT=$WORK/root
cleanup() {
	if [ -n "${QEMU_PID:-}" ]; then kill "$QEMU_PID" 2>/dev/null; fi
	if [ "${HL_INSTALL_KEEP:-0}" = 1 ]; then mlog "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ----------------------------------------------------------- packages --
# From the committed tree, like tests/host/deb-build.sh; the unit tests
# are that script's business, not this one's (nocheck).
t=$(date +%s)
mkdir -p "$WORK/src" "$WORK/debs"
if [ -d "$TOP/.git" ]; then
	git -C "$TOP" archive HEAD | tar -x -C "$WORK/src"
else
	cp -r "$TOP"/. "$WORK/src"
fi
if (cd "$WORK/src" && DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b) \
		>"$WORK/build.log" 2>&1 && compgen -G "$WORK/*.deb" >/dev/null; then
	mv "$WORK"/*.deb "$WORK/debs/"
	for deb in "$WORK"/debs/*.deb; do echo "# built $(basename "$deb")"; done
	res debian_packages_build ok
else
	tail -n 30 "$WORK/build.log" | sed 's/^/# /'
	res debian_packages_build fail
	finish fail "no packages"
fi
mapfile -t PKG_NAMES < <(for d in "$WORK"/debs/*.deb; do dpkg-deb -f "$d" Package; done)
DEV=0
compgen -G "$WORK/debs/libheapload-dev_*.deb" >/dev/null && DEV=1
echo "# package build: $(since "$t")s"

# -------------------------------------------------------- base system --
t=$(date +%s)
if BASE=$("$HERE/image.sh" 2>"$WORK/image.log" | tail -n 1) && [ -f "$BASE/.complete" ]; then
	grep -q 'base image present' "$WORK/image.log" &&
		how="cached base image" || how="cold base image build"
	echo "# $how: $(since "$t")s"
	res base_image_ready ok
else
	tail -n 30 "$WORK/image.log" | sed 's/^/# /'
	# No debootstrap on the host is a machine that cannot run this.
	command -v debootstrap >/dev/null ||
		finish skip "debootstrap is missing and apt cannot install it"
	res base_image_ready fail
	finish fail "no base image"
fi
# A copy per run: the cache stays as image.sh made it.
t=$(date +%s)
cp -a "$BASE" "$ROOT"
STD_KVER=$(basename "$(compgen -G "$ROOT/boot/vmlinuz-*" | head -n 1)")
STD_KVER=${STD_KVER#vmlinuz-}
echo "# copy of the base image: $(since "$t")s; its kernel: $STD_KVER"

# -------------------------------------------------------- installation --
# Run in the tree, output to a log; the log's tail as diagnostics on failure.
in_tree() {
	local log=$WORK/$1
	shift
	in_root "$ROOT" -- "$@" >"$log" 2>&1 && return 0
	tail -n 25 "$log" | sed 's/^/# /'
	return 1
}
# apt-get install in the tree, from the cached lists and packages; once
# more with fresh lists if the archive has moved on since (a dependency
# of ours that the base system lacks may then be gone from it).
apt_in_tree() {
	local log=$1
	shift
	in_root "$ROOT" -- sh -c "cd /tmp && apt-get -q install -y $*" >"$WORK/$log" 2>&1 &&
		return 0
	echo "# apt-get install failed, again with fresh lists"
	in_tree "$log" sh -c "apt-get -q update && cd /tmp && apt-get -q install -y $*"
}
# The module DKMS installed for kernel $1, and dkms status saying so.
dkms_installed_for() {
	local status ko
	status=$(in_root "$ROOT" -- dkms status heapload 2>&1)
	sed 's/^/# dkms status: /' <<<"$status"
	ko=$(compgen -G "$ROOT/lib/modules/$1/updates/dkms/heapload.ko*" | head -n 1)
	echo "# module for $1: ${ko#"$ROOT"}"
	grep -q "^heapload/.*, $1, .*: installed" <<<"$status" && [ -n "$ko" ]
}

t=$(date +%s)
mkdir -p "$ROOT/tmp/heapload-debs"
cp "$WORK"/debs/*.deb "$ROOT/tmp/heapload-debs/"
check packages_install_in_image apt_in_tree install.log './heapload-debs/*.deb'
rm -rf "$ROOT/tmp/heapload-debs"
check dkms_built_for_image_kernel dkms_installed_for "$STD_KVER"
echo "# package installation with the DKMS build: $(since "$t")s"

# The example files, installed as README.md tells users to.
if [ -f "$ROOT$EXAMPLES/60-heapload.rules" ] && [ -f "$ROOT$EXAMPLES/heapload.conf" ]; then
	cp "$ROOT$EXAMPLES/60-heapload.rules" "$ROOT/etc/udev/rules.d/"
	cp "$ROOT$EXAMPLES/heapload.conf" "$ROOT/etc/modules-load.d/"
	res package_ships_udev_rule_and_modules_load_file ok
elif [ "${HL_INSTALL_DEV_FALLBACK:-0}" = 1 ]; then
	# DEVELOPMENT STAND-INS, never used in CI: what the package should ship.
	cat >"$ROOT/etc/udev/rules.d/60-heapload.rules" <<-'EOF'
	# check-install fallback (HL_INSTALL_DEV_FALLBACK=1), not the package's
	KERNEL=="heapload", SUBSYSTEM=="misc", GROUP="heapload", MODE="0660"
	SUBSYSTEM=="dma_heap", KERNEL=="heapload,*", GROUP="heapload", MODE="0660"
	SUBSYSTEM=="heapload_dma_heap", GROUP="heapload", MODE="0660"
	EOF
	printf '# check-install fallback, not the package'"'"'s\nheapload\n' \
		>"$ROOT/etc/modules-load.d/heapload.conf"
	res package_ships_udev_rule_and_modules_load_file skip \
		"HL_INSTALL_DEV_FALLBACK=1: not in $EXAMPLES, used stand-ins"
else
	echo "# heapload-dkms ships no $EXAMPLES/60-heapload.rules or heapload.conf"
	res package_ships_udev_rule_and_modules_load_file fail
fi

# The group the rule names and a user in it; the test service and files.
in_tree users.log sh -c 'groupadd --system heapload &&
	useradd --create-home --shell /bin/bash --groups heapload loader' ||
	echo "# cannot add the group heapload or the user loader"
install -D -m 0755 "$HERE/guest.sh" "$ROOT/usr/local/libexec/heapload-install-test/guest.sh"
install -D -m 0644 "$HERE/loader.c" "$ROOT/usr/local/src/heapload-install-test/loader.c"
install -D -m 0644 "$HERE/heapload-install-test.service" \
	"$ROOT/etc/systemd/system/heapload-install-test.service"
in_tree enable.log systemctl enable heapload-install-test.service ||
	echo "# cannot enable heapload-install-test.service"
install -D -m 0644 "$(latin_model)" "$ROOT/srv/Latin.traineddata" ||
	echo "# no Latin.traineddata on the host"

# A second kernel of another ABI: DKMS's kernel hook builds for it.
t=$(date +%s)
before=$(compgen -G "$ROOT/boot/vmlinuz-*" | sort)
RT_KVER=
if apt_in_tree rt.log linux-image-rt-amd64 linux-headers-rt-amd64; then
	RT_KVER=$(comm -13 <(echo "$before") <(compgen -G "$ROOT/boot/vmlinuz-*" | sort) | head -n 1)
	RT_KVER=${RT_KVER##*/vmlinuz-}
fi
echo "# rt kernel: ${RT_KVER:-none}"
if [ -n "$RT_KVER" ]; then
	check rt_kernel_install_builds_module dkms_installed_for "$RT_KVER"
else
	res rt_kernel_install_builds_module fail
fi
in_tree clean.log apt-get clean
echo "# rt kernel installation with the DKMS build: $(since "$t")s"

# ----------------------------------------------------------------- boot --
t=$(date +%s)
used_kb=$(du -sk "$ROOT" | cut -f1)
# Room for ext4's metadata and what the guest writes (journal, /tmp).
if ! mkfs.ext4 -q -F -L hlroot -E lazy_itable_init=0,lazy_journal_init=0 \
		-d "$ROOT" "$WORK/disk.img" "$((used_kb + used_kb / 5 + 524288))k" \
		>"$WORK/mkfs.log" 2>&1; then
	sed 's/^/# /' "$WORK/mkfs.log"
	finish fail "no disk image"
fi
echo "# disk image: $((used_kb / 1024)) MiB in $(since "$t")s"

# boot NAME KVER: boot the disk on kernel KVER of the tree and report the
# guest's results, each named NAME_<test>.
boot() {
	local name=$1 kver=$2 con=$INSTALL_CACHE/logs/$1.console.log
	local out=$INSTALL_CACHE/logs/$1.results.log rc=0 line test
	: >"$con"
	: >"$out"
	t=$(date +%s)
	# ttyS0: console, ttyS1: the results; both into files.
	timeout -k 10 "$BOOT_TIMEOUT" qemu-system-x86_64 \
		-accel tcg,thread=multi -cpu max -smp 2 -m 4G \
		-nographic -nodefaults -no-reboot \
		-kernel "$ROOT/boot/vmlinuz-$kver" -initrd "$ROOT/boot/initrd.img-$kver" \
		-append "root=/dev/vda rw console=ttyS0 panic=-1 hlinstall.kver=$kver hlinstall.dev=$DEV" \
		-drive file="$WORK/disk.img",if=virtio,format=raw,cache=unsafe \
		-chardev file,id=con,path="$con" -serial chardev:con \
		-chardev file,id=res,path="$out" -serial chardev:res \
		</dev/null >"$WORK/qemu.log" 2>&1 &
	QEMU_PID=$!
	wait "$QEMU_PID" || rc=$?
	QEMU_PID=
	echo "# boot on $kver: $(since "$t")s (qemu exit $rc)"
	tr -d '\r' <"$out" | grep '^# ' | sed "s/^# /# $name: /"
	if tr -d '\r' <"$out" | grep -qx "$TOKEN"; then
		res "${name}_boot_finished" ok
	else
		echo "# no $TOKEN from the guest; console tail ($con):"
		tr -d '\r' <"$con" | tail -n 30 | sed 's/^/#   /'
		res "${name}_boot_finished" fail
	fi
	for test in "${GUEST_TESTS[@]}"; do
		line=$(tr -d '\r' <"$out" | grep -E -m 1 "^(ok|not ok|skip) $test( |\$)")
		case $line in
		"ok $test") res "${name}_$test" ok ;;
		"skip $test "*) res "${name}_$test" skip "${line#"skip $test "}" ;;
		"not ok $test") res "${name}_$test" fail ;;
		*) echo "# ${name}_$test: no result from the guest"
		   res "${name}_$test" fail ;;
		esac
	done
}
# One guest at a time, and the logs are per name.
exec {lockfd}>"$INSTALL_CACHE/logs/.boot.lock"
flock "$lockfd"
boot std "$STD_KVER"
# The same disk again, as a reboot into the other kernel.
if [ -n "$RT_KVER" ]; then boot rt "$RT_KVER"; fi

# ---------------------------------------------------------------- purge --
t=$(date +%s)
# Purged means dpkg knows nothing of them any more (not even configs).
purged() {
	local left
	in_tree purge.log apt-get -q purge -y "${PKG_NAMES[@]}" || return 1
	# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
	left=$(in_root "$ROOT" -- dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' \
		"${PKG_NAMES[@]}" 2>/dev/null | grep -Ev '^(un|pn) ')
	[ -z "$left" ] || { echo "# still known to dpkg: $left"; return 1; }
}
check purge_removes_packages purged
status=$(in_root "$ROOT" -- dkms status heapload 2>&1)
[ -z "$status" ] || echo "# dkms status: $status"
check purge_dkms_status_empty test -z "$status"
left=$(compgen -G "$ROOT/usr/src/heapload-*")
[ -z "$left" ] || echo "# left: ${left//$ROOT/}"
check purge_no_usr_src test -z "$left"
left=$(find "$ROOT/lib/modules" -name 'heapload.ko*')
[ -z "$left" ] || echo "# left: ${left//$ROOT/}"
check purge_no_module_files test -z "$left"
check purge_no_var_lib_dkms test ! -e "$ROOT/var/lib/dkms/heapload"
echo "# purge: $(since "$t")s; total: $(since "$T0")s"
finish fail "not reached"
