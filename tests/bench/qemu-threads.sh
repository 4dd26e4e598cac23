#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Where the host's CPU time goes while the guest benches: the emulator's
# threads (its vCPUs, its disk I/O workers, its main loop) per bench
# method, from the host's own per-thread counters.
#
#   qemu-threads.sh PID CONSOLE OUT
#
# PID is the emulator, or the process (timeout) whose child it is,
# started with -name ...,debug-threads=on so that its threads carry
# names; CONSOLE the guest's console file, on which `heapload bench`
# prints a line as each run starts and one as it ends:
#
#   bench: /bench/bench-1g run 2/5 alloc-only-1t: start
#   bench: /bench/bench-1g run 2/5 alloc-only-1t: 1.604 s
#
# Every 0.1 s the script reads utime + stime of each emulator thread
# (/proc/PID/task/*/stat, in clock ticks) and the new console lines; the
# host CPU time between a run's two lines is that run's (to within a
# sample at either end). Written to OUT, one row per file and method:
#
#   file method runs guest_s window_s vcpu_s io_s main_s other_s
#
# guest_s is the sum of the guest's measured run times, window_s the
# host's wall time between the runs' lines, the others host CPU seconds
# by thread kind: the vCPUs, the disk I/O workers, the main loop (which
# also completes the disk's requests), the rest. Runs until PID exits.
# Only bash builtins in the loop (and one sleep), so that it takes little
# from the host it measures.
set -uo pipefail

pid=${1:?pid}
console=${2:?console}
out=${3:?out}
hz=$(getconf CLK_TCK)

declare -A last	# tid -> ticks at the previous sample
declare -A kind	# tid -> vcpu | io | main | other
declare -A acc	# kind -> ticks since the last run ended
declare -A tot	# "file method kind" -> ticks
declare -A runs guest window
order=()
pending=''
t_prev=$EPOCHREALTIME

classify() {
	local comm
	read -r comm 2>/dev/null <"/proc/$pid/task/$1/comm" || { kind[$1]=other; return; }
	case $comm in
	CPU\ */*) kind[$1]=vcpu ;;
	worker) kind[$1]=io ;;
	qemu-system-*) kind[$1]=main ;;
	*) kind[$1]=other ;;
	esac
}

sample() {
	local d line rest f tid ticks
	for d in /proc/"$pid"/task/*; do
		tid=${d##*/}
		read -r line 2>/dev/null <"$d/stat" || continue
		rest=${line##*) }
		read -r -a f <<<"$rest"
		ticks=$((f[11] + f[12]))
		[ -n "${kind[$tid]:-}" ] || classify "$tid"
		acc[${kind[$tid]}]=$((${acc[${kind[$tid]}]:-0} + ticks - ${last[$tid]:-0}))
		last[$tid]=$ticks
	done
}

# A run starts: what the threads did before it is nobody's.
run_started() {
	local k

	for k in vcpu io main other; do
		acc[$k]=0
	done
	t_prev=$EPOCHREALTIME
}

# A run ended: the CPU time since it started goes to its file and method.
run_ended() {
	local file=$1 method=$2 secs=$3 key k now
	key="$file $method"
	[ -n "${runs[$key]:-}" ] || order+=("$key")
	runs[$key]=$((${runs[$key]:-0} + 1))
	guest[$key]=$(awk -v a="${guest[$key]:-0}" -v b="$secs" 'BEGIN { print a + b }')
	now=$EPOCHREALTIME
	window[$key]=$(awk -v a="${window[$key]:-0}" -v t0="$t_prev" -v t1="$now" \
		'BEGIN { print a + t1 - t0 }')
	t_prev=$now
	for k in vcpu io main other; do
		tot[$key $k]=$((${tot[$key $k]:-0} + ${acc[$k]:-0}))
		acc[$k]=0
	done
}

# The emulator itself, if PID is its parent.
for _ in $(seq 50); do
	kids=
	# No newline after the list: read fails at its end, yet fills kids.
	read -r kids 2>/dev/null <"/proc/$pid/task/$pid/children"
	[ -z "$kids" ] || { pid=${kids%% *}; break; }
	case $(<"/proc/$pid/comm") in qemu-system-*) break ;; esac
	sleep 0.1
done

exec {con}<"$console" || exit 1
re_start='^bench: ([^ ]+) run [0-9]+/[0-9]+ ([a-z0-9-]+): start$'
re_end='^bench: ([^ ]+) run [0-9]+/[0-9]+ ([a-z0-9-]+): ([0-9.]+) s$'
while [ -d "/proc/$pid" ]; do
	sample
	while IFS= read -r -u "$con" line || { pending+=$line; false; }; do
		line=${pending}${line%$'\r'}
		pending=''
		if [[ $line =~ $re_start ]]; then
			run_started
		elif [[ $line =~ $re_end ]]; then
			run_ended "${BASH_REMATCH[1]##*/}" "${BASH_REMATCH[2]}" \
				"${BASH_REMATCH[3]}"
		fi
	done
	sleep 0.1
done

{
	echo "file method runs guest_s window_s vcpu_s io_s main_s other_s"
	for key in "${order[@]}"; do
		printf '%s %s %s %s' "$key" "${runs[$key]}" "${guest[$key]}" "${window[$key]}"
		for k in vcpu io main other; do
			awk -v t="${tot[$key $k]:-0}" -v hz="$hz" 'BEGIN { printf " %.2f", t / hz }'
		done
		echo
	done
} >"$out"
