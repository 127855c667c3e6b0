#!/usr/bin/env bash
# bench/audit.sh — `rootguard audit` at organization scale against
# `rootguard sandbox`: 1,000 accounts, 25 ms added latency, sts:AssumeRoot
# limited to 50 calls per second, 2% of requests answered with a 5xx error.
# The floor is what the AssumeRoot limit allows (accounts / limit); the
# target is at most 1.3 times that, with no account failed and peak memory
# under 150 MB. The same scenario is then audited with a plain sequential
# loop (--workers 1) for comparison.
#
#   bench/audit.sh [--accounts N] [--rate R] [--latency D] [--fault-rate F] [--no-sequential]
set -euo pipefail

accounts=1000 rate=50 latency=25ms faults=0.02 sequential=1
while [ $# -gt 0 ]; do
	case "$1" in
	--accounts) accounts=$2; shift 2 ;;
	--rate) rate=$2; shift 2 ;;
	--latency) latency=$2; shift 2 ;;
	--fault-rate) faults=$2; shift 2 ;;
	--no-sequential) sequential=0; shift ;;
	*) echo "usage: $0 [--accounts N] [--rate R] [--latency D] [--fault-rate F] [--no-sequential]" >&2; exit 2 ;;
	esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
sim_pid=
cleanup() {
	[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
command -v /usr/bin/time >/dev/null || { echo "bench/audit.sh needs GNU time (Debian package: time)" >&2; exit 1; }

echo "building rootguard" >&2
(cd "$root" && go build -o "$work/rootguard" ./cmd/rootguard)

start_sandbox() {
	rm -f "$work/sim.env"
	"$work/rootguard" sandbox --accounts "$accounts" --seed 1 --blocking-scp=false \
		--latency "$latency" --throttle "sts:AssumeRoot=$rate" --fault-rate "$faults" \
		--report-delay 2s --env-file "$work/sim.env" >/dev/null 2>"$work/sim.log" &
	sim_pid=$!
	for _ in $(seq 100); do [ -s "$work/sim.env" ] && return 0; sleep 0.1; done
	echo "sandbox did not start:" >&2; cat "$work/sim.log" >&2; exit 1
}

stop_sandbox() {
	kill "$sim_pid"; wait "$sim_pid" 2>/dev/null || true; sim_pid=
}

# run_audit NAME ARGS...: prints "wall_s peak_kb exit failed_accounts".
run_audit() {
	local name=$1; shift
	start_sandbox
	(
		set +e
		# shellcheck disable=SC1091
		. "$work/sim.env"
		export XDG_STATE_HOME="$work/state"
		/usr/bin/time -f '%e %M' -o "$work/$name.time" "$work/rootguard" audit --no-history -o json "$@" \
			>"$work/$name.jsonl" 2>"$work/$name.err"
		echo $? >"$work/$name.rc"
	)
	stop_sandbox
	local failed
	failed=$(grep -c '"error":' "$work/$name.jsonl" || true)
	echo "$(tail -n 1 "$work/$name.time") $(cat "$work/$name.rc") $failed"
}

floor=$(awk -v a="$accounts" -v r="$rate" 'BEGIN { printf "%.1f", a / r }')
echo "auditing $accounts accounts (AssumeRoot ${rate}/s, latency $latency, fault rate $faults); floor ${floor}s" >&2
read -r wall kb rc failed < <(run_audit concurrent)
echo "concurrent: ${wall}s, ${kb} KB, exit $rc, $failed accounts failed" >&2

seq_wall=- seq_kb=- seq_failed=-
if [ "$sequential" = 1 ]; then
	echo "auditing again with a plain sequential loop (--workers 1)" >&2
	read -r seq_wall seq_kb _ seq_failed < <(run_audit sequential --workers 1)
	echo "sequential: ${seq_wall}s, $seq_failed accounts failed" >&2
fi

ratio=$(awk -v w="$wall" -v f="$floor" 'BEGIN { printf "%.2f", w / f }')
mb=$(awk -v k="$kb" 'BEGIN { printf "%.0f", k / 1024 }')
verdict() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo FAIL; fi; }

cat <<TABLE
| run | wall s | peak RSS MiB | accounts failed |
| --- | ---: | ---: | ---: |
| rootguard audit (64 workers, adaptive AssumeRoot pace) | $wall | $mb | $failed |
| rootguard audit --workers 1 (sequential loop) | $seq_wall | $(awk -v k="$seq_kb" 'BEGIN { if (k == "-") print "-"; else printf "%.0f", k / 1024 }') | $seq_failed |

| check | measured | target | result |
| --- | ---: | ---: | --- |
| wall / AssumeRoot floor (${floor} s) | $ratio | <= 1.3 | $(verdict "$ratio <= 1.3") |
| accounts failed | $failed | 0 | $(verdict "$failed == 0") |
| peak RSS | $mb MiB | < 150 MiB | $(verdict "$mb < 150") |
TABLE
if [ "$seq_wall" != - ]; then
	echo
	echo "sequential / concurrent: $(awk -v s="$seq_wall" -v c="$wall" 'BEGIN { printf "%.1f", s / c }')x"
fi
[ "$(verdict "$ratio <= 1.3")" = PASS ] && [ "$failed" = 0 ] && [ "$(verdict "$mb < 150")" = PASS ]
