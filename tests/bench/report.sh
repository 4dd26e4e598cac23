#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Report on a `heapload bench` CSV: the targets for the 1 GiB and 3 GiB
# files, those of allocating on several threads, and a chart.
#
#   tests/bench/report.sh CSV [PNG [SUBTITLE]]
#
# Targets, for heapload-gather-direct (medians): at most 1.15 x the floor
# (max of alloc-only and odirect-floor), at most 0.5 x the best udmabuf
# method (n/a without udmabuf), at most 0.3 x normal, and page-cache
# growth under 1% of the file size.
#
# Targets of allocating on several threads (the module parameter
# alloc_threads), against the -1t methods, which bench runs with
# alloc_threads=1 in the same run: heapload-gather-direct at most 0.65 x
# alloc-only-1t for the 1 GiB and 3 GiB files, alloc-only at most 0.65 x
# alloc-only-1t for the 1 GiB file, and heapload-gather-direct no slower
# than heapload-gather-direct-1t (at most 1.05 x it + 2 ms) for the 8 MiB
# and 512 KiB files. n/a with a module without alloc_threads.
#
# Each target is printed MET, MISSED or n/a with its numbers; they do not
# change the exit status.
#
# Batch mapping, no targets: for each file with a -vmap method, the
# medians of heapload-gather-direct-vmap against heapload-gather-direct
# and of heapload-gather-buffered-vmap against heapload-gather-buffered
# (batch_mapping=vmap against bvec) as ratios, or n/a with the reason.
#
# The chart (PNG, default: CSV with .png) needs gnuplot: grouped bars of
# the median time per method for each file size, log scale, with each
# file's floor drawn as a dashed line across its group. Exit status 1 only
# if the CSV cannot be read or gnuplot fails.
set -euo pipefail

csv=${1:?usage: $0 CSV [PNG [SUBTITLE]]}
png=${2:-${csv%.csv}.png}
subtitle=${3:-}
[ -s "$csv" ] || { echo "report: $csv: missing or empty" >&2; exit 1; }

# awk: a file size in bytes as "512 KiB", "8 MiB", "1 GiB".
awk_size='
	function size(b) {
		if (b >= 1073741824) return sprintf("%g GiB", b / 1073741824)
		if (b >= 1048576) return sprintf("%g MiB", b / 1048576)
		return sprintf("%g KiB", b / 1024)
	}'

# The columns before the note (the last, which may be quoted) never hold
# a comma, so plain splitting on commas is enough for them; the note is
# the rest of the line.
targets() {
	awk -F, "$awk_size"'
	NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
	{
		f = $c["file"]; m = $c["method"]
		if (!(f in bytes)) { order[++n] = f }
		bytes[f] = $c["bytes"]
		ok[f, m] = ($c["status"] == "ok" && $c["median_s"] != "")
		med[f, m] = $c["median_s"] + 0
		cache[f, m] = $c["cache_mib"]
		stat[f, m] = $c["status"]
		note[f, m] = note_of($0, c["note"])
		if ($c["floor_s"] != "") floor[f] = $c["floor_s"] + 0
	}
	# Field k of line and all after it, unquoted: the note.
	function note_of(line, k,    i) {
		for (i = 1; i < k; i++)
			line = substr(line, index(line, ",") + 1)
		if (line ~ /^".*"$/) {
			line = substr(line, 2, length(line) - 2)
			gsub(/""/, "\"", line)
		}
		return line
	}
	function verdict(good) { return good ? "MET" : "MISSED" }
	function name(f,    s) { s = f; sub(/.*\//, "", s); return s }
	END {
		g = "heapload-gather-direct"
		print ""
		print "targets (median of heapload-gather-direct):"
		shown = 0
		for (i = 1; i <= n; i++) {
			f = order[i]; b = bytes[f]
			if (b != 1073741824 && b != 3221225472) continue
			shown++
			printf "  %s (%d GiB):\n", name(f), b / 1073741824
			if (!ok[f, g]) {
				printf "    n/a: %s did not run (%s)\n", g, stat[f, g] == "" ? "not measured" : stat[f, g]
				continue
			}
			t = med[f, g]
			if (f in floor) {
				lim = 1.15 * floor[f]
				printf "    %-26s %8.3f s <= 1.15 x %.3f s = %8.3f s  %-6s (%.2f x floor)\n", \
					"<= 1.15 x floor:", t, floor[f], lim, verdict(t <= lim), t / floor[f]
			} else
				printf "    %-26s n/a (no floor measured)\n", "<= 1.15 x floor:"
			best = -1
			if (ok[f, "udmabuf"]) best = med[f, "udmabuf"]
			if (ok[f, "udmabuf-prestart"] && (best < 0 || med[f, "udmabuf-prestart"] < best))
				best = med[f, "udmabuf-prestart"]
			if (best > 0) {
				lim = 0.5 * best
				printf "    %-26s %8.3f s <= 0.5 x %.3f s = %8.3f s  %-6s (%.2f x udmabuf)\n", \
					"<= 0.5 x best udmabuf:", t, best, lim, verdict(t <= lim), t / best
			} else
				printf "    %-26s n/a (no udmabuf result: %s)\n", "<= 0.5 x best udmabuf:", \
					stat[f, "udmabuf"] == "" ? "not measured" : stat[f, "udmabuf"]
			if (ok[f, "normal"]) {
				lim = 0.3 * med[f, "normal"]
				printf "    %-26s %8.3f s <= 0.3 x %.3f s = %8.3f s  %-6s (%.2f x normal)\n", \
					"<= 0.3 x normal:", t, med[f, "normal"], lim, verdict(t <= lim), \
					t / med[f, "normal"]
			} else
				printf "    %-26s n/a (normal: %s)\n", "<= 0.3 x normal:", stat[f, "normal"]
			if (cache[f, g] != "") {
				lim = b / 1048576 / 100
				printf "    %-26s %8.1f MiB < 1%% of %d MiB = %.1f MiB  %-6s\n", \
					"page cache < 1% of file:", cache[f, g], b / 1048576, lim, \
					verdict(cache[f, g] + 0 < lim)
			} else
				printf "    %-26s n/a (not measured)\n", "page cache < 1% of file:"
		}
		if (!shown)
			print "  n/a: no 1 GiB or 3 GiB file in this run"

		print ""
		print "targets of allocating on several threads (medians; -1t: alloc_threads=1):"
		shown = 0
		for (i = 1; i <= n; i++) {
			f = order[i]; b = bytes[f]
			if (b == 1073741824 || b == 3221225472) {
				printf "  %s (%d GiB):\n", name(f), b / 1073741824
				against(f, g, 0.65, "alloc-only-1t", 0)
				if (b == 1073741824)
					against(f, "alloc-only", 0.65, "alloc-only-1t", 0)
			} else if (b == 8388608 || b == 524288) {
				printf "  %s (%s):\n", name(f), b == 8388608 ? "8 MiB" : "512 KiB"
				against(f, g, 1.05, g "-1t", 0.002)
			} else
				continue
			shown++
		}
		if (!shown)
			print "  n/a: no 512 KiB, 8 MiB, 1 GiB or 3 GiB file in this run"

		print ""
		print "batch mapping (medians, vmap vs bvec):"
		shown = 0
		for (i = 1; i <= n; i++) {
			f = order[i]
			if (stat[f, g "-vmap"] == "" && stat[f, "heapload-gather-buffered-vmap"] == "")
				continue
			printf "  %s (%s):\n", name(f), size(bytes[f])
			vs(f, g "-vmap", g)
			vs(f, "heapload-gather-buffered-vmap", "heapload-gather-buffered")
			shown++
		}
		if (!shown)
			print "  n/a: no heapload-gather-*-vmap method in this run"
	}
	# One line: median of method m of file f / median of base, or n/a with
	# the status and note of the one that has no result.
	function vs(f, m, base,    label, what) {
		label = sprintf("%s / %s:", short(m), short(base))
		what = !ok[f, m] ? m : !ok[f, base] ? base : ""
		if (what != "") {
			printf "    %-40s n/a (%s: %s%s)\n", label, short(what), \
				stat[f, what] == "" ? "not measured" : stat[f, what], \
				note[f, what] == "" ? "" : ": " note[f, what]
			return
		}
		if (med[f, base] <= 0) {
			printf "    %-40s n/a (%s: median 0 s)\n", label, short(base)
			return
		}
		printf "    %-40s %8.4f s / %8.4f s = %.2f x\n", label, med[f, m], \
			med[f, base], med[f, m] / med[f, base]
	}
	# One line: median of method m of file f <= k x median of base (+ add
	# seconds; with add, in milliseconds). Labels drop the "heapload-" of
	# the method names.
	function against(f, m, k, base, add,    t, lim, label, what, x, extra, s, u) {
		extra = add ? sprintf(" + %g ms", add * 1000) : ""
		label = sprintf("%s <= %.2f x %s%s:", short(m), k, short(base), extra)
		what = !ok[f, m] ? m : !ok[f, base] ? base : ""
		if (what != "") {
			printf "    %-40s n/a (%s: %s)\n", label, what, \
				stat[f, what] == "" ? "not measured" : stat[f, what]
			return
		}
		t = med[f, m]; lim = k * med[f, base] + add
		x = (med[f, base] > 0) ? t / med[f, base] : 0
		s = add ? 1000 : 1; u = add ? "ms" : "s"
		printf "    %-40s %8.3f %s <= %.2f x %.3f %s%s = %8.3f %s  %-6s (%.2f x %s)\n", \
			label, t * s, u, k, med[f, base] * s, u, extra, lim * s, u, \
			verdict(t <= lim), x, short(base)
	}
	function short(m) {
		sub(/^heapload-/, "", m)
		return m
	}' "$csv"
}

# One line per file, smallest first: label, a median per method that has
# any result ("?" where missing), the floor. First line: the header.
pivot() {
	awk -F, "$awk_size"'
	NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
	{
		f = $c["file"]; m = $c["method"]
		if (!(f in bytes)) { files[++nf] = f; bytes[f] = $c["bytes"] + 0 }
		if (!(m in seen)) { seen[m] = 1; methods[++nm] = m }
		if ($c["status"] == "ok" && $c["median_s"] != "") {
			v[f, m] = $c["median_s"]; used[m] = 1
		}
		if ($c["floor_s"] != "") floor[f] = $c["floor_s"]
	}
	END {
		for (i = 1; i <= nf; i++)	# sort by size
			for (j = i + 1; j <= nf; j++)
				if (bytes[files[j]] < bytes[files[i]]) {
					t = files[i]; files[i] = files[j]; files[j] = t
				}
		printf "size"
		for (k = 1; k <= nm; k++) if (used[methods[k]]) printf " \"%s\"", methods[k]
		print " floor"
		for (i = 1; i <= nf; i++) {
			f = files[i]
			printf "\"%s\"", size(bytes[f])
			for (k = 1; k <= nm; k++) {
				m = methods[k]
				if (!used[m]) continue
				printf " %s", ((f, m) in v) ? v[f, m] : "?"
			}
			print " " ((f in floor) ? floor[f] : "?")
		}
	}' "$csv"
}

chart() {
	local data ncols
	if ! command -v gnuplot >/dev/null; then
		echo "report: gnuplot missing (apt-get install gnuplot-nox): no chart" >&2
		return 0
	fi
	data=$(mktemp)
	trap 'rm -f "$data"' RETURN
	pivot >"$data"
	ncols=$(head -n 1 "$data" | wc -w)
	if [ "$ncols" -lt 3 ]; then
		echo "report: no successful method in $csv: no chart" >&2
		return 0
	fi
	gnuplot <<EOF
set terminal pngcairo size 1400,750 font "sans,11"
set output "$png"
set title "heapload bench: median time per method and file size (lower is better)\n{/*0.8 $subtitle}" enhanced
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.9 border rgb "black"
set boxwidth 0.95
set logscale y 10
set format y "%g"
set ylabel "seconds (log scale)"
set xlabel "file size"
set grid ytics mytics
set key outside right top vertical Left reverse noenhanced
set datafile missing "?"
set key autotitle columnheader
set offsets 0.5, 0.5, 0, 0
plot for [i=2:$((ncols - 1))] "$data" using i:xtic(1), \
     "$data" using (\$0 - 0.46):$ncols:(0.92):(0) with vectors nohead lw 3 dt 2 \
	lc rgb "black" title "floor = max(alloc-only, odirect-floor)"
EOF
	echo "chart: $png"
}

targets
echo "csv: $csv"
chart
