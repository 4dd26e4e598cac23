#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check-install, in the guest: run by heapload-install-test.service
# once the system has booted (modules-load.d and udev done), as root; the
# non-root checks run as the user "loader". Writes one line per check to
# the results port /dev/ttyS1, which the host (tests/install/run.sh)
# matches by name:
#   ok NAME | not ok NAME | skip NAME REASON | # diagnostics
# then the token HEAPLOAD-INSTALL-DONE, and powers the machine off.
#
# Kernel command line (set by the host): hlinstall.kver=KVER, the kernel
# this boot must run; hlinstall.dev=1 if libheapload-dev is installed.
set -uo pipefail

FILE=/srv/Latin.traineddata
SRC=/usr/local/src/heapload-install-test/loader.c
USER_NAME=loader
TOKEN=HEAPLOAD-INSTALL-DONE

stty -F /dev/ttyS1 raw -echo 2>/dev/null
exec 3>/dev/ttyS1

want_kver='' dev=0
read -ra args </proc/cmdline
for arg in "${args[@]}"; do
	case $arg in
	hlinstall.kver=*) want_kver=${arg#*=} ;;
	hlinstall.dev=*) dev=${arg#*=} ;;
	esac
done

diag() { sed 's/^/# /' >&3; }
result() {
	case $1 in
	ok) echo "ok $2" >&3 ;;
	skip) echo "skip $2 $3" >&3 ;;
	*) echo "not ok $2" >&3 ;;
	esac
}
# check NAME COMMAND...: one result from a command's status; its output
# goes to the results port as diagnostics.
check() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	[ -z "$out" ] || diag <<<"$out"
	if [ $rc = 0 ]; then result ok "$name"; else result fail "$name"; fi
}
as_loader() { runuser -u "$USER_NAME" -- "$@"; }

kernel_release() {
	echo "uname -r: $(uname -r), expected: $want_kver"
	[ -n "$want_kver" ] && [ "$(uname -r)" = "$want_kver" ]
}

# Loaded by systemd-modules-load from /etc/modules-load.d, not by hand:
# the unit succeeded and its log names the module.
loaded_by_modules_load() {
	local st
	st=$(systemctl show -P Result systemd-modules-load.service)
	echo "systemd-modules-load: result $st"
	# Early messages reach the journal through the kernel log, without
	# a unit: match the program instead.
	journalctl -b -o cat SYSLOG_IDENTIFIER=systemd-modules-load
	[ "$st" = success ] && [ -d /sys/module/heapload ] &&
		journalctl -b -o cat SYSLOG_IDENTIFIER=systemd-modules-load |
		grep -q "Inserted module 'heapload'"
}

# The module is the one DKMS built for this kernel.
module_from_dkms() {
	local path
	path=$(modinfo -n heapload)
	echo "module: $path"
	[[ $path == /lib/modules/$(uname -r)/updates/dkms/heapload.ko* ]]
}

# /dev/heapload and every /dev/dma_heap/heapload,* belong to group
# heapload with mode 0660, as the example udev rule says.
device_nodes() {
	local n nodes=(/dev/heapload "/dev/dma_heap/heapload,"*) bad=0
	for n in "${nodes[@]}"; do
		if [ ! -c "$n" ]; then
			echo "no device $n"
			bad=1
			continue
		fi
		echo "$(stat -c '%A %G' "$n") $n"
		[ "$(stat -c '%A %G' "$n")" = "crw-rw---- heapload" ] || bad=1
	done
	[ ${#nodes[@]} -ge 2 ] && [ $bad = 0 ]
}

# The status command works for a member of the group; its head (module,
# version, where it was installed from) as diagnostics, all on failure.
cli_info() {
	local out rc
	out=$(as_loader heapload info 2>&1)
	rc=$?
	if [ $rc = 0 ]; then head -n 4 <<<"$out"; else echo "$out"; fi
	return $rc
}

# The command's default mode, whatever it is (the output names it),
# must print the file's SHA-256.
cli_load() {
	local out want got
	want=$(sha256sum "$FILE" | cut -d' ' -f1)
	out=$(as_loader heapload load "$FILE" --sha256 2>&1)
	echo "$out"
	got=$(sed -n 's/^sha256: \([0-9a-f]\{64\}\)$/\1/p' <<<"$out")
	echo "sha256sum: $want"
	[ "$(id -u "$USER_NAME")" != 0 ] && [ "$got" = "$want" ]
}

c_loader_build() {
	rm -rf /tmp/hl-loader
	mkdir -p /tmp/hl-loader
	echo "pkg-config --cflags --libs libheapload: $(pkg-config --cflags --libs libheapload)"
	pkg-config --exists libheapload || return 1
	# shellcheck disable=SC2046 # pkg-config's output is words
	gcc -Wall -O2 -o /tmp/hl-loader/loader "$SRC" \
		$(pkg-config --cflags --libs libheapload)
}

# An installed program needs libheapload and libc, never OpenSSL or
# libkmod (those are the command's).
c_loader_links() {
	local out
	out=$(ldd /tmp/hl-loader/loader) || return 1
	echo "$out"
	grep -q 'libheapload\.so\.0 => /' <<<"$out" &&
		! grep -Eq 'libcrypto|libssl|libkmod' <<<"$out"
}

# Warnings, oopses and bugs in this boot's kernel log, and heapload's
# errors; an unsigned out-of-tree module tainting the kernel is expected.
kernel_log_clean() {
	local bad
	bad=$(dmesg | grep -E 'WARNING:|BUG:|Oops|Call Trace|heapload.*(error|fail)' |
	      grep -v 'heapload: module verification failed: signature')
	[ -z "$bad" ] || { echo "$bad"; return 1; }
}

echo "# $(uname -r), up $(cut -d' ' -f1 /proc/uptime)s, $(systemctl is-system-running)" >&3
check kernel_release kernel_release
check module_loaded_by_modules_load loaded_by_modules_load
check module_built_by_dkms module_from_dkms
check device_nodes_group_heapload_0660 device_nodes
check cli_info_as_loader cli_info
check cli_load_sha256_as_loader cli_load
if [ "$dev" = 1 ]; then
	check c_loader_builds_with_pkg_config c_loader_build
	check c_loader_links_neither_libcrypto_nor_libkmod c_loader_links
	check c_loader_loads_file_as_loader as_loader /tmp/hl-loader/loader "$FILE"
else
	for t in c_loader_builds_with_pkg_config c_loader_links_neither_libcrypto_nor_libkmod \
		 c_loader_loads_file_as_loader; do
		result skip "$t" "no libheapload-dev package was built"
	done
fi
check kernel_log_clean kernel_log_clean

echo "$TOKEN" >&3
exec 3>&-
systemctl --no-block poweroff
