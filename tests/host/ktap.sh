# SPDX-License-Identifier: GPL-2.0
#
# KTAP output for the host test scripts, sourced by them.
#   ktap_start PLAN         print the header and the plan
#   ktap_result ok|fail|skip NAME [REASON]
#   ktap_finish             print the closing line; returns 1 on failure

ktap_n=0 ktap_failed=0 ktap_skipped=0

ktap_start() {
	echo "TAP version 13"
	echo "1..$1"
}

ktap_result() {
	ktap_n=$((ktap_n + 1))
	case $1 in
	ok)	echo "ok $ktap_n $2" ;;
	skip)	ktap_skipped=$((ktap_skipped + 1)); echo "ok $ktap_n $2 # SKIP $3" ;;
	*)	ktap_failed=$((ktap_failed + 1)); echo "not ok $ktap_n $2" ;;
	esac
}

ktap_finish() {
	echo "$((ktap_n - ktap_failed - ktap_skipped)) passed, $ktap_failed failed, $ktap_skipped skipped"
	[ "$ktap_failed" -eq 0 ]
}
