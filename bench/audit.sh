#!/usr/bin/env bash
# bench/audit.sh — `rootguard audit` at organization scale against
# `rootguard sandbox` (25 ms added latency per request), in two cases, each
# at 1,000 and 5,000 accounts:
#
#   throttled     sts:AssumeRoot limited to 50 calls per second, 2% of
#                 requests answered with a 5xx error. The floor is what the
#                 limit allows for the sessions the run actually opens
#                 (accounts read through AssumeRoot / limit: suspended,
#                 closing and the management account open none).
#   latency-only  no throttle and no faults. The floor is the same audit run
#                 at an unlimited pace (--assume-root-rate 1000000): what the
#                 workers and the latency allow. The measured run starts at
#                 the default pace and must find the machine's speed itself.
#
# Targets: wall within 1.15 x its floor, throttled AssumeRoot answers under
# 5% of AssumeRoot requests, no account failed, peak memory under 150 MB
# (200 MB at 5,000 accounts).
#
#   bench/audit.sh [--accounts "1000 5000"] [--rate R] [--latency D] [--fault-rate F] [--sequential]
#
# --sequential also audits the throttled organization with a plain
# sequential loop (--workers 1) for comparison.
set -euo pipefail

sizes="1000 5000" rate=50 latency=25ms faults=0.02 sequential=0
while [ $# -gt 0 ]; do
	case "$1" in
	--accounts) sizes=$2; shift 2 ;;
	--rate) rate=$2; shift 2 ;;
	--latency) latency=$2; shift 2 ;;
	--fault-rate) faults=$2; shift 2 ;;
	--sequential) sequential=1; shift ;;
	*) echo "usage: $0 [--accounts \"N ...\"] [--rate R] [--latency D] [--fault-rate F] [--sequential]" >&2; exit 2 ;;
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

# start_sandbox ACCOUNTS SANDBOX-ARGS...
start_sandbox() {
	local n=$1; shift
	rm -f "$work/sim.env"
	"$work/rootguard" sandbox --accounts "$n" --seed 1 --blocking-scp=false \
		--latency "$latency" --report-delay 2s --env-file "$work/sim.env" "$@" >/dev/null 2>"$work/sim.log" &
	sim_pid=$!
	for _ in $(seq 300); do [ -s "$work/sim.env" ] && return 0; sleep 0.1; done
	echo "sandbox did not start:" >&2; cat "$work/sim.log" >&2; exit 1
}

stop_sandbox() {
	kill "$sim_pid"; wait "$sim_pid" 2>/dev/null || true; sim_pid=
}

# op_count KIND OP: the sandbox's count of OP in its "requests:" or
# "throttled:" list, printed when it stops.
op_count() {
	sed -n 's/.*sandbox stopped; requests: \(.*\); throttled: \(.*\)$/\1|\2/p' "$work/sim.log" |
		awk -F'|' -v kind="$1" -v op="$2" '{
			list = (kind == "requests") ? $1 : $2
			n = split(list, kv, " ")
			for (i = 1; i <= n; i++) { split(kv[i], p, "="); if (p[1] == op) { print p[2]; exit } }
			print 0
		}'
}

# run_audit NAME ACCOUNTS "SANDBOX-ARGS" AUDIT-ARGS...: prints
# "wall_s peak_kb exit failed_accounts sessions assume_root_requests assume_root_throttled".
run_audit() {
	local name=$1 n=$2 simargs=$3; shift 3
	# shellcheck disable=SC2086
	start_sandbox "$n" $simargs
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
	local failed sessions
	failed=$(grep -c '"error":' "$work/$name.jsonl" || true)
	sessions=$(grep -c '"method":"assume-root"' "$work/$name.jsonl" || true)
	echo "$(tail -n 1 "$work/$name.time") $(cat "$work/$name.rc") $failed $sessions $(op_count requests sts:AssumeRoot) $(op_count throttled sts:AssumeRoot)"
}

verdict() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo FAIL; fi; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "0.0"; else printf "%.1f", 100 * a / b }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

rows= checks= ok=1 seq_line=
for n in $sizes; do
	memcap=150; [ "$n" -gt 1000 ] && memcap=200

	echo "throttled: $n accounts (AssumeRoot ${rate}/s, latency $latency, fault rate $faults)" >&2
	read -r wall kb rc failed sessions reqs throttled < <(run_audit "throttled-$n" "$n" "--throttle sts:AssumeRoot=$rate --fault-rate $faults")
	floor=$(awk -v s="$sessions" -v r="$rate" 'BEGIN { printf "%.1f", s / r }')
	r=$(ratio "$wall" "$floor") tp=$(pct "$throttled" "$reqs")
	echo "  ${wall}s (floor ${floor}s = $sessions sessions / $rate), exit $rc, $failed failed, AssumeRoot $reqs requests, $throttled throttled" >&2
	rows+="| throttled | $n | $sessions | $wall | $floor (sessions / ${rate}/s) | $r | $reqs | $tp% | $failed | $(mib "$kb") |"$'\n'
	for c in "$r <= 1.15" "$tp < 5" "$failed == 0" "$(mib "$kb") < $memcap"; do
		v=$(verdict "$c"); [ "$v" = PASS ] || ok=0
		checks+="| throttled, $n accounts | ${c} | $v |"$'\n'
	done

	if [ "$sequential" = 1 ] && [ "$n" = "${sizes%% *}" ]; then
		echo "  again with a plain sequential loop (--workers 1)" >&2
		read -r swall _ _ sfailed _ < <(run_audit "sequential-$n" "$n" "--throttle sts:AssumeRoot=$rate --fault-rate $faults" --workers 1)
		seq_line="sequential loop (--workers 1), throttled, $n accounts: ${swall}s, $sfailed failed ($(ratio "$swall" "$wall")x the concurrent run)"
	fi

	echo "latency-only: $n accounts (latency $latency, no throttle, no faults)" >&2
	read -r fwall _ _ ffailed _ < <(run_audit "unlimited-$n" "$n" "" --assume-root-rate 1000000)
	read -r wall kb rc failed sessions reqs throttled < <(run_audit "latency-$n" "$n" "")
	r=$(ratio "$wall" "$fwall") tp=$(pct "$throttled" "$reqs")
	echo "  ${wall}s (floor ${fwall}s at an unlimited pace, $ffailed failed there), exit $rc, $failed failed, AssumeRoot $reqs requests" >&2
	rows+="| latency-only | $n | $sessions | $wall | $fwall (unlimited pace) | $r | $reqs | $tp% | $failed | $(mib "$kb") |"$'\n'
	for c in "$r <= 1.15" "$failed == 0" "$ffailed == 0" "$(mib "$kb") < $memcap"; do
		v=$(verdict "$c"); [ "$v" = PASS ] || ok=0
		checks+="| latency-only, $n accounts | ${c} | $v |"$'\n'
	done
done

echo "| case | accounts | sessions | wall s | floor s | wall / floor | AssumeRoot requests | throttled | accounts failed | peak RSS MiB |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
printf '%s' "$rows"
echo
echo "| run | check | result |"
echo "| --- | --- | --- |"
printf '%s' "$checks"
[ -n "$seq_line" ] && { echo; echo "$seq_line"; }
[ "$ok" = 1 ]
