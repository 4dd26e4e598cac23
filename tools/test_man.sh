#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# heapload(1) agrees with `heapload --help`: every long option and every
# command the help prints is in the page, every long option of the page's
# OPTIONS section is in the help, and the page renders without warnings.
#
#   tools/test_man.sh [HEAPLOAD [PAGE]]
#
# Defaults: ./heapload and ../man/heapload.1 next to this script. Prints
# KTAP and "N passed, N failed, N skipped"; exits 1 if a test failed.

here=$(cd "$(dirname "$0")" && pwd)
tool=${1:-$here/heapload}
page=${2:-$here/../man/heapload.1}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=tests/host/ktap.sh
. "$here/../tests/host/ktap.sh"

# The page as text: font changes and escapes of - removed.
sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e 's/\\%//g' -e 's/\\&//g' \
	"$page" >"$tmp/page" 2>/dev/null
awk '/^\.SH OPTIONS/ { f = 1; next } /^\.SH/ { f = 0 } f' "$tmp/page" \
	>"$tmp/options"
"$tool" --help >"$tmp/help" 2>&1

# Each WORD of stdin must be in FILE as a word; prints the missing ones.
missing() {	# FILE WHAT
	while read -r w; do
		grep -qE -- "(^|[^a-z0-9-])$w([^a-z0-9-]|\$)" "$1" ||
			echo "# $w: not in $2"
	done
}

check() {	# NAME WORDS-FILE FILE WHAT
	if [ ! -s "$2" ]; then
		echo "# nothing to check: $2 is empty"
		ktap_result fail "$1"
		return
	fi
	missing "$3" "$4" <"$2" >"$tmp/missing"
	cat "$tmp/missing"
	if [ -s "$tmp/missing" ]; then ktap_result fail "$1"; else ktap_result ok "$1"; fi
}

ktap_start 5
if [ ! -x "$tool" ] || [ ! -f "$page" ]; then
	for t in help_options_in_page help_commands_in_page \
		 page_options_in_help groff_clean man_clean; do
		ktap_result skip $t "needs $tool and $page"
	done
else
	grep -oE -- '--[a-z0-9][a-z0-9-]*' "$tmp/help" | sort -u >"$tmp/help_opts"
	check help_options_in_page "$tmp/help_opts" "$tmp/page" "the page"
	sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z]*\) .*/\1/p' "$tmp/help" |
		sort -u >"$tmp/help_cmds"
	check help_commands_in_page "$tmp/help_cmds" "$tmp/page" "the page"
	grep -oE -- '--[a-z0-9][a-z0-9-]*' "$tmp/options" | sort -u >"$tmp/page_opts"
	check page_options_in_help "$tmp/page_opts" "$tmp/help" "--help"
	if command -v groff >/dev/null; then
		out=$(groff -man -ww -z "$page" 2>&1)
		[ -n "$out" ] && echo "$out" | sed 's/^/# /'
		if [ -z "$out" ]; then ktap_result ok groff_clean; else ktap_result fail groff_clean; fi
	else
		ktap_result skip groff_clean "groff not installed"
	fi
	if command -v man >/dev/null; then
		out=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
		[ -n "$out" ] && echo "$out" | sed 's/^/# /'
		if [ -z "$out" ]; then ktap_result ok man_clean; else ktap_result fail man_clean; fi
	else
		ktap_result skip man_clean "man not installed"
	fi
fi
ktap_finish
