#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The man pages do not contradict their sources and render cleanly:
#
#   heapload.4 against the module parameters compiled into production
#   builds (module/*.c, as module/Kbuild selects them, without
#   HEAPLOAD_DEBUG code), the sysfs files of Documentation/ABI/, the
#   errnos of HEAPLOAD_IOC_LOAD and of HEAPLOAD_IOC_LOAD_RESULT in
#   include/uapi/linux/heapload.h (each against its own list in ERRORS)
#   and the defaults in README.md's tuning table; libheapload.3 against the
#   functions of tools/libheapload.h, and its example program compiled and
#   linked against tools/libheapload.so; both pages through groff (and
#   man) with all warnings on. heapload.1 is held to `heapload --help`,
#   and rendered, by tools/test_man.sh (make -C tools check, which make
#   check and the package build run).
#
#   tests/host/man-check.sh [TREE]     TREE: the source tree (default: this one)
#
# Needs perl; groff, man and a C compiler where available (skips with a
# reason otherwise). Prints KTAP and "N passed, N failed, N skipped";
# exits non-zero on any failure.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "${1:-$here/../..}" && pwd)
# shellcheck source=tests/host/ktap.sh
. "$here/ktap.sh"

page4=$top/man/heapload.4
page3=$top/man/libheapload.3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

diag() { sed 's/^/# /'; }

# Lines of section .SH/.SS $2 of page $1, up to the next heading of the
# same or a higher level.
section() {
	perl -ne '
		BEGIN { ($want) = @ARGV[1]; splice @ARGV, 1; }
		if (/^\.(SH|SS)\s+"?(.*?)"?\s*$/) {
			my ($lvl, $t) = ($1, $2);
			if ($in) { $in = 0 if $lvl eq "SH" || $lvl eq $inlvl; }
			if (!$in && $t eq $want) { $in = 1; $inlvl = $lvl; next; }
		}
		print if $in;' "$1" "$2"
}

# Roff text as a reader sees it: no font changes, no escapes of - and spaces.
plain() {
	sed -e 's/\\f[BIRP]//g' -e 's/\\f(..//g' -e 's/\\-/-/g' \
	    -e 's/\\ / /g' -e 's/\\%//g' -e 's/\\&//g' -e 's/\\(dq/"/g'
}

# The tags of the .TP items of stdin (the line after each .TP), as words.
tp_tags() {
	awk 'tag { print; tag = 0 } /^\.TP/ { tag = 1 }' | plain |
		sed -e 's/^\.[A-Z]* *//' -e 's/"[^"]*"//g' | tr -s ' ,' '[\n*]' |
		sed '/^$/d'
}

# --- module parameters of production builds
# Sources: what module/Kbuild links into heapload.ko unless HEAPLOAD_DEBUG.
# Parameters: the first argument of module_param*(), also where a macro
# wraps module_param*() (then the argument of the macro's invocations).
module_params() {
	perl -e '
		my $top = shift;
		open my $kb, "<", "$top/module/Kbuild" or die "module/Kbuild: $!";
		my $kbuild = do { local $/; <$kb> };
		$kbuild =~ s/\\\n/ /g;
		my @src;
		for (split /\n/, $kbuild) {
			next unless /^heapload-(.*?)\s*[:+]?=\s*(.*)$/;
			my ($cond, $objs) = ($1, $2);
			next if $cond =~ /DEBUG/;
			push @src, map { s/\.o$/.c/r } grep { /\.o$/ } split " ", $objs;
		}
		my %seen;
		for my $f (@src) {
			open my $fh, "<", "$top/module/$f" or die "module/$f: $!";
			my $c = do { local $/; <$fh> };
			$c =~ s{/\*.*?\*/}{ }gs;
			$c =~ s{//[^\n]*}{}g;
			$c =~ s/\\\n/ /g;
			# Drop what only HEAPLOAD_DEBUG (or DEBUG) builds compile.
			my (@stack, @out);
			for my $l (split /\n/, $c) {
				if ($l =~ /^\s*#\s*if(n?def)?\s+(.*)/) {
					my ($kind, $e) = ($1 // "", $2);
					my $dbg = $e =~ /\b(HEAPLOAD_)?DEBUG\b/ && $e !~ /[|&]/;
					my $neg = $kind eq "ndef" || $e =~ /^!/;
					push @stack, $dbg ? ($neg ? "prod" : "debug") : "other";
					next;
				}
				if ($l =~ /^\s*#\s*else\b/ && @stack) {
					$stack[-1] = { debug => "prod", prod => "debug" }->{$stack[-1]} // "other";
					next;
				}
				if ($l =~ /^\s*#\s*endif\b/) { pop @stack; next; }
				next if grep { $_ eq "debug" } @stack;
				push @out, $l;
			}
			my (%macro, @params);
			for my $l (@out) {
				if ($l =~ /^\s*#\s*define\s+(\w+)\(([^)]*)\)(.*)/) {
					my ($m, $args, $body) = ($1, $2, $3);
					my @a = map { s/^\s+|\s+$//gr } split /,/, $args;
					while ($body =~ /\bmodule_param\w*\s*\(\s*(\w+)/g) {
						my $p = $1;
						my ($i) = grep { $a[$_] eq $p } 0 .. $#a;
						defined $i ? ($macro{$m} = $i) : push @params, $p;
					}
					next;
				}
				push @params, $1 while $l =~ /\bmodule_param\w*\s*\(\s*(\w+)/g;
			}
			for my $m (keys %macro) {
				for my $l (@out) {
					next if $l =~ /^\s*#/;
					while ($l =~ /\b\Q$m\E\s*\(([^()]*)/g) {
						my @a = map { s/^\s+|\s+$//gr } split /,/, $1;
						push @params, $a[$macro{$m}] if defined $a[$macro{$m}];
					}
				}
			}
			$seen{$_}++ for @params;
		}
		print "$_\n" for sort keys %seen;' "$top"
}

# The parameters heapload.4 documents: the tags of its parameter list.
page_params() {
	section "$page4" "Module parameters" | tp_tags | grep -E '^[a-z][a-z0-9_]*$' | sort -u
}

check_params_documented() {
	local missing
	module_params >"$tmp/code_params" 2>"$tmp/err" || { diag <"$tmp/err"; return 1; }
	if [ ! -s "$tmp/code_params" ]; then
		echo "no module parameter found in module/*.c" | diag
		return 1
	fi
	page_params >"$tmp/page_params"
	missing=$(comm -23 "$tmp/code_params" "$tmp/page_params")
	[ -z "$missing" ] && return 0
	echo "$missing" | sed 's/^/not in heapload.4 Module parameters: /' | diag
	return 1
}

check_params_exist() {
	local extra
	[ -s "$tmp/code_params" ] || module_params >"$tmp/code_params" 2>/dev/null
	page_params >"$tmp/page_params"
	if [ ! -s "$tmp/page_params" ]; then
		echo "heapload.4 has no Module parameters list" | diag
		return 1
	fi
	extra=$(comm -13 "$tmp/code_params" "$tmp/page_params")
	[ -z "$extra" ] && return 0
	echo "$extra" | sed 's/^/documented but not a production module parameter: /' | diag
	return 1
}

# --- sysfs files of Documentation/ABI
check_sysfs_documented() {
	local path bad=0
	plain <"$page4" >"$tmp/page4.txt"
	while read -r path; do
		grep -qF -- "$path" "$tmp/page4.txt" && continue
		echo "not in heapload.4: $path" | diag
		bad=1
	done < <(sed -n 's/^What:[[:space:]]*//p' "$top"/Documentation/ABI/*/* |
		 grep -v '^/sys/kernel/debug/' | sort -u)
	return $bad
}

# --- errnos of HEAPLOAD_IOC_LOAD and HEAPLOAD_IOC_LOAD_RESULT
# The errnos of the Return: list of IOCTL's kernel-doc in the header.
header_errnos() {	# IOCTL
	perl -ne '
		BEGIN { $want = shift @ARGV; }
		$in = 1 if /^\s*\*\s*\Q$want\E\s+-/;
		next unless $in;
		$ret = 1 if /Return:/;
		last if m{\*/};
		print "$1\n" while $ret && /%?\b(E[A-Z0-9]{2,})\b/g;' \
		"$1" "$top/include/uapi/linux/heapload.h" | sort -u
}

# The lines of the ERRORS list of IOCTL (stdin: the ERRORS section). Each
# list starts with a paragraph naming its ioctl ("HEAPLOAD_IOC_LOAD fails
# with:"): at the section's start or after .PP, the first ioctl name
# before the list's first .TP says whose list follows.
errors_of() {	# IOCTL
	perl -ne '
		BEGIN { $want = shift @ARGV; $intro = 1; }
		if (/^\.(PP|LP|P)\b/) { $intro = 1; next; }
		$intro = 0 if /^\.TP/;
		if ($intro && /\b(HEAPLOAD_IOC_\w+|DMA_HEAP_IOCTL_\w+)\b/) {
			$cur = $1;
			$intro = 0;
			next;
		}
		print if defined $cur && $cur eq $want;' "$1"
}

check_errnos_documented() {	# IOCTL
	local ioctl=$1 missing
	header_errnos "$ioctl" >"$tmp/h_errnos"
	if [ ! -s "$tmp/h_errnos" ]; then
		echo "no errno found in the $ioctl kernel-doc" | diag
		return 1
	fi
	section "$page4" ERRORS | errors_of "$ioctl" | tp_tags |
		grep -E '^E[A-Z0-9]+$' | sort -u >"$tmp/p_errnos"
	if [ ! -s "$tmp/p_errnos" ]; then
		echo "heapload.4 ERRORS has no list for $ioctl (\"$ioctl fails with:\")" | diag
		return 1
	fi
	missing=$(comm -23 "$tmp/h_errnos" "$tmp/p_errnos")
	[ -z "$missing" ] && return 0
	echo "$missing" | sed "s/^/not in heapload.4 ERRORS of $ioctl: /" | diag
	return 1
}

# --- functions of libheapload.h
check_functions_documented() {
	local bad=0 missing extra
	perl -ne 'print "$1\n" if /^(?!\s*[#*\/])[A-Za-z_][\w\s*]*?\b(heapload_\w+)\s*\(/' \
		"$top/tools/libheapload.h" | sort -u >"$tmp/h_funcs"
	if [ ! -s "$tmp/h_funcs" ]; then
		echo "no function found in tools/libheapload.h" | diag
		return 1
	fi
	section "$page3" SYNOPSIS | plain | grep -oE '\bheapload_[a-z0-9_]+ *\(' |
		sed 's/ *($//' | sort -u >"$tmp/syn_funcs"
	plain <"$page3" | grep -oE '\bheapload_[a-z0-9_]+ *\(' |
		sed 's/ *($//' | sort -u >"$tmp/all_funcs"
	missing=$(comm -23 "$tmp/h_funcs" "$tmp/syn_funcs")
	extra=$(sort -u "$tmp/syn_funcs" "$tmp/all_funcs" | comm -13 "$tmp/h_funcs" -)
	if [ -n "$missing" ]; then
		echo "$missing" | sed 's/^/not in libheapload.3 SYNOPSIS: /' | diag
		bad=1
	fi
	if [ -n "$extra" ]; then
		echo "$extra" | sed 's/^/in libheapload.3 but not declared in libheapload.h: /' | diag
		bad=1
	fi
	return $bad
}

# --- defaults: README's tuning table against heapload.4
# "Default: X." in a parameter's item; X up to the first . ; or (,
# lower case, Y/1/on/yes and N/0/off/no folded.
norm_default() {
	sed -e 's/`//g' -e 's/[.;(].*//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' |
		tr '[:upper:]' '[:lower:]' | sed -E -e 's/^(y|yes|1|on|true)$/on/' -e 's/^(n|no|0|off|false)$/off/'
}

readme_defaults() {
	perl -ne '
		$in = 1 if /^## Tuning/;
		$in = 0 if /^## / && !/^## Tuning/;
		next unless $in && /^\|/;
		my @c = map { s/^\s+|\s+$//gr } split /\|/, $_, -1;
		shift @c;
		if (!defined $col) {
			($col) = grep { $c[$_] =~ /^default$/i } 0 .. $#c;
			next;
		}
		next if $c[0] =~ /^-+$/ || !defined $c[$col];
		print "$1\t$c[$col]\n" if $c[0] =~ /^`?(\w+)`?$/ && $c[$col] ne "";' \
		"$top/README.md"
}

page_default() {	# PARAM
	section "$page4" "Module parameters" | plain | awk -v p="$1" '
		/^\.TP/ { tag = 1; inp = 0; next }
		tag { tag = 0; n = split($0, w, /[ ,]+/); for (i = 1; i <= n; i++) if (w[i] == p) inp = 1; next }
		inp && /^Default:/ { sub(/^Default:[[:space:]]*/, ""); print; exit }'
}

check_readme_defaults() {
	local param readme page bad=0 n=0
	while IFS=$'\t' read -r param readme; do
		n=$((n + 1))
		page=$(page_default "$param")
		if [ -z "$page" ]; then
			echo "README gives $param a default ($readme), heapload.4 none" | diag
			bad=1
		elif [ "$(norm_default <<<"$readme")" != "$(norm_default <<<"$page")" ]; then
			echo "default of $param: README \"$readme\", heapload.4 \"$page\"" | diag
			bad=1
		fi
	done < <(readme_defaults)
	if [ "$n" -eq 0 ]; then
		echo "README.md has no tuning table with a default column" | diag
		return 1
	fi
	return $bad
}

# --- rendering
render() {	# PAGE
	local out
	if ! command -v groff >/dev/null; then
		skip_reason="groff not installed (apt-get install groff-base man-db)"
		return 0
	fi
	# -t: pages may hold tables; every warning is a failure.
	out=$(groff -t -man -ww -z "$1" 2>&1) || { echo "$out" | head -n 20 | diag; return 1; }
	if [ -n "$out" ]; then
		echo "$out" | head -n 20 | diag
		return 1
	fi
	if command -v man >/dev/null; then
		out=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -E UTF-8 -l "$1" 2>&1 >/dev/null)
		if [ -n "$out" ]; then
			echo "$out" | head -n 20 | diag
			return 1
		fi
	fi
	return 0
}

# --- libheapload.3's example: compiled and linked against the library
check_example() {
	local cc=${CC:-cc}
	if ! command -v "$cc" >/dev/null; then
		skip_reason="no C compiler ($cc)"
		return 0
	fi
	if [ ! -e "$top/tools/libheapload.so" ]; then
		skip_reason="tools/libheapload.so not built (make -C tools)"
		return 0
	fi
	awk '/^\.SS Program source/ { f = 1; next } f && /^\.EE/ { exit }
	     f && !/^\.(EX|\\")/ { print }' "$page3" |
		sed -e 's/\\-/-/g' -e 's/\\e/\\/g' -e "s/\\\\(aq/'/g" >"$tmp/example.c"
	if ! grep -q 'main(' "$tmp/example.c"; then
		echo "libheapload.3 has no program under \"Program source\"" | diag
		return 1
	fi
	if ! "$cc" -Wall -Wextra -Werror -I "$top/tools" -I "$top/include/uapi" \
		-o "$tmp/example" "$tmp/example.c" -L "$top/tools" -lheapload \
		>"$tmp/cc.log" 2>&1; then
		diag <"$tmp/cc.log"
		return 1
	fi
	return 0
}

# One result per check. A check returns non-zero on failure, or sets
# skip_reason and returns 0 when it cannot run here.
skip_reason=
run() {	# NAME CHECK [ARGS...]
	local name=$1
	shift
	skip_reason=
	if ! "$@"; then
		ktap_result fail "$name"
	elif [ -n "$skip_reason" ]; then
		ktap_result skip "$name" "$skip_reason"
	else
		ktap_result ok "$name"
	fi
}

if ! command -v perl >/dev/null; then
	ktap_start 1
	ktap_result skip man_check "perl not installed"
	ktap_finish
	exit
fi

ktap_start 10
run module_params_in_heapload_4 check_params_documented
run heapload_4_params_exist check_params_exist
run abi_sysfs_files_in_heapload_4 check_sysfs_documented
run load_errnos_in_heapload_4_errors check_errnos_documented HEAPLOAD_IOC_LOAD
run load_result_errnos_in_heapload_4_errors check_errnos_documented HEAPLOAD_IOC_LOAD_RESULT
run libheapload_functions_in_libheapload_3 check_functions_documented
run readme_defaults_agree_with_heapload_4 check_readme_defaults
run libheapload_3_example_compiles_and_links check_example
for p in "$page4" "$page3"; do
	name=renders_without_warnings_$(basename "$p" | tr '.' '_')
	if [ -f "$p" ]; then
		run "$name" render "$p"
	else
		ktap_result skip "$name" "$(basename "$p") does not exist"
	fi
done
ktap_finish
