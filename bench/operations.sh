#!/usr/bin/env bash
# bench/operations.sh — `rootguard root delete-credentials` at organization
# scale against `rootguard sandbox`: 1,000 accounts, 25 ms added latency,
# sts:AssumeRoot limited to 50 calls per second, 2% of requests answered
# with a 5xx error.
#
# 1. plan --all (an IAMAuditRootUserCredentials session per member account)
# 2. apply the plan --yes (an IAMDeleteRootUserCredentials session per
#    account with credentials: snapshot, deletions, verification, journal)
# 3. plan --all again: no account may have anything left to delete
# 4. on a fresh sandbox: apply, interrupted with SIGINT after a few
#    seconds, then the same plan file applied again (which resumes the
#    run): every planned step done exactly once.
# The floor of each stage is what the AssumeRoot limit allows (sessions /
# limit); the target is at most 1.3 times that, no account failed, peak
# memory under 150 MB.
#
#   bench/operations.sh [--accounts N] [--rate R] [--latency D] [--fault-rate F] [--interrupt-after S] [--no-interrupt]
set -euo pipefail

accounts=1000 rate=50 latency=25ms faults=0.02 interrupt_after=5 interrupt=1
while [ $# -gt 0 ]; do
	case "$1" in
	--accounts) accounts=$2; shift 2 ;;
	--rate) rate=$2; shift 2 ;;
	--latency) latency=$2; shift 2 ;;
	--fault-rate) faults=$2; shift 2 ;;
	--interrupt-after) interrupt_after=$2; shift 2 ;;
	--no-interrupt) interrupt=0; shift ;;
	*) echo "usage: $0 [--accounts N] [--rate R] [--latency D] [--fault-rate F] [--interrupt-after S] [--no-interrupt]" >&2; exit 2 ;;
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
command -v /usr/bin/time >/dev/null || { echo "bench/operations.sh needs GNU time (Debian package: time)" >&2; exit 1; }
command -v jq >/dev/null || { echo "bench/operations.sh needs jq" >&2; exit 1; }

echo "building rootguard" >&2
(cd "$root" && go build -o "$work/rootguard" ./cmd/rootguard)

start_sandbox() {
	rm -f "$work/sim.env"
	"$work/rootguard" sandbox --accounts "$accounts" --seed 1 --blocking-scp=false \
		--latency "$latency" --throttle "sts:AssumeRoot=$rate" --fault-rate "$faults" \
		--env-file "$work/sim.env" >/dev/null 2>"$work/sim.log" &
	sim_pid=$!
	for _ in $(seq 100); do [ -s "$work/sim.env" ] && return 0; sleep 0.1; done
	echo "sandbox did not start:" >&2; cat "$work/sim.log" >&2; exit 1
}

stop_sandbox() {
	kill "$sim_pid"; wait "$sim_pid" 2>/dev/null || true; sim_pid=
}

# rg NAME ARGS...: runs rootguard against the sandbox with a journal in
# $work/NAME.db; writes NAME.out, NAME.err, NAME.time ("wall peak_kb"), NAME.rc.
rg() {
	local name=$1; shift
	(
		set +e
		# shellcheck disable=SC1091
		. "$work/sim.env"
		export XDG_STATE_HOME="$work/state"
		/usr/bin/time -f '%e %M' -o "$work/$name.time" "$work/rootguard" "$@" --db "$work/journal.db" \
			>"$work/$name.out" 2>"$work/$name.err"
		echo $? >"$work/$name.rc"
	)
}

wall() { cut -d' ' -f1 "$work/$1.time" | tail -n 1; }
mib() { awk '{ k = $2 } END { printf "%.0f", k / 1024 }' "$work/$1.time"; }
ratio() { awk -v w="$1" -v f="$2" 'BEGIN { printf "%.2f", w / f }'; }
verdict() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo FAIL; fi; }

echo "delete-credentials across $accounts accounts (AssumeRoot ${rate}/s, latency $latency, fault rate $faults)" >&2
start_sandbox
rg plan root delete-credentials plan --all --out "$work/plan.json" -o json
read_accounts=$(jq '[.accounts[] | select(.action != "skip")] | length' "$work/plan.json")
to_delete=$(jq '[.accounts[] | select(.action == "delete-credentials")] | length' "$work/plan.json")
steps=$(jq '[.accounts[].steps // [] | length] | add' "$work/plan.json")
unread=$(jq '[.accounts[] | select(.action == "error")] | length' "$work/plan.json")
plan_floor=$(awk -v a="$read_accounts" -v r="$rate" 'BEGIN { printf "%.1f", a / r }')
echo "plan: $(wall plan)s (floor ${plan_floor}s), exit $(cat "$work/plan.rc"); $read_accounts accounts read, $to_delete to change, $steps steps, $unread unreadable" >&2

rg apply root delete-credentials apply "$work/plan.json" --yes -o json
apply_floor=$(awk -v a="$to_delete" -v r="$rate" 'BEGIN { printf "%.1f", a / r }')
done_accounts=$(jq -s '[.[] | select(.status == "done")] | length' "$work/apply.out")
failed=$(jq -s '[.[] | select(.status == "failed" or .status == "interrupted")] | length' "$work/apply.out")
run=$(jq -rs '.[0].runId' "$work/apply.out")
echo "apply: $(wall apply)s (floor ${apply_floor}s), exit $(cat "$work/apply.rc"); $done_accounts done, $failed failed; run $run" >&2

rg journal root journal "$run" -o json
journal_rows=$(wc -l <"$work/journal.out")
without_id=$(jq -s '[.[] | select(.result == "ok" and (.requestId // "") == "")] | length' "$work/journal.out")
retried=$(jq -s '[.[] | select(.attempts > 1)] | length' "$work/journal.out")

rg replan root delete-credentials plan --all -o json
left=$(jq -s '[.[] | select(.action == "delete-credentials" or .action == "refuse")] | length' "$work/replan.out")
echo "re-plan: $left accounts with root credentials left" >&2
stop_sandbox

resume_line="| interrupted after ${interrupt_after} s, then resumed | - | - | - | - |"
resume_checks=""
if [ "$interrupt" = 1 ]; then
	echo "again on a fresh sandbox, interrupted after ${interrupt_after}s, then resumed" >&2
	rm -f "$work/journal.db"*
	start_sandbox
	rg plan2 root delete-credentials plan --all --out "$work/plan2.json" -o json
	(
		# shellcheck disable=SC1091
		. "$work/sim.env"
		export XDG_STATE_HOME="$work/state"
		set +e
		start=$(date +%s.%N)
		"$work/rootguard" root delete-credentials apply "$work/plan2.json" --yes -o json --db "$work/journal.db" \
			>"$work/first.out" 2>"$work/first.err" &
		pid=$!
		sleep "$interrupt_after"
		kill -INT "$pid"
		wait "$pid"; echo $? >"$work/first.rc"
		/usr/bin/time -f '%e %M' -o "$work/second.time" "$work/rootguard" root delete-credentials apply "$work/plan2.json" --yes -o json \
			--db "$work/journal.db" >"$work/second.out" 2>"$work/second.err"
		echo $? >"$work/second.rc"
		end=$(date +%s.%N)
		awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f\n", e - s }' >"$work/resume.total"
	)
	first_done=$(jq -s '[.[] | select(.status == "done")] | length' "$work/first.out")
	first_interrupted=$(jq -s '[.[] | select(.status == "interrupted")] | length' "$work/first.out")
	run2=$(jq -rs '.[0].runId' "$work/first.out")
	rg journal2 root journal "$run2" -o json
	# A step done twice would show two "ok" rows for one account and step.
	twice=$(jq -s '[.[] | select(.result == "ok" and .step != "assume-root" and .account != "") | .account + " " + .step] | group_by(.) | map(select(length > 1)) | length' "$work/journal2.out")
	planned_ok=$(jq -s '[.[] | select((.result == "ok" or .result == "already") and (.step | test("^(Delete|Deactivate)")))] | length' "$work/journal2.out")
	steps2=$(jq '[.accounts[].steps // [] | length] | add' "$work/plan2.json")
	second_failed=$(jq -s '[.[] | select(.status == "failed" or .status == "interrupted")] | length' "$work/second.out")
	resumed=$(grep -c "resuming it" "$work/second.err" || true)
	stop_sandbox
	echo "interrupted run: exit $(cat "$work/first.rc"), $first_done done, $first_interrupted interrupted; resumed ($resumed): exit $(cat "$work/second.rc"), $second_failed failed; steps done $planned_ok of $steps2, $twice done twice" >&2
	resume_line="| interrupted after ${interrupt_after} s ($first_done accounts done), then the plan re-applied (resumed) | $(cat "$work/resume.total") | - | $(mib second) | $second_failed |"
	resume_checks="| resume: planned steps done once each | $planned_ok of $steps2, $twice twice | all, 0 twice | $(verdict "$planned_ok == $steps2 && $twice == 0 && $resumed == 1") |"
fi

plan_ratio=$(ratio "$(wall plan)" "$plan_floor")
apply_ratio=$(ratio "$(wall apply)" "$apply_floor")
peak=$(awk -v a="$(mib plan)" -v b="$(mib apply)" 'BEGIN { print (a > b ? a : b) }')

cat <<TABLE
| stage | wall s | AssumeRoot floor s | peak RSS MiB | accounts failed |
| --- | ---: | ---: | ---: | ---: |
| plan --all ($read_accounts accounts read, $to_delete to change, $steps steps) | $(wall plan) | $plan_floor | $(mib plan) | $unread |
| apply --yes ($journal_rows journal rows, $retried steps retried) | $(wall apply) | $apply_floor | $(mib apply) | $failed |
$resume_line

| check | measured | target | result |
| --- | ---: | ---: | --- |
| plan wall / floor | $plan_ratio | <= 1.3 | $(verdict "$plan_ratio <= 1.3") |
| apply wall / floor | $apply_ratio | <= 1.3 | $(verdict "$apply_ratio <= 1.3") |
| accounts failed (plan + apply) | $((unread + failed)) | 0 | $(verdict "$unread + $failed == 0") |
| accounts with root credentials left (re-plan) | $left | 0 | $(verdict "$left == 0") |
| journal rows done without a request id | $without_id | 0 | $(verdict "$without_id == 0") |
| peak RSS | $peak MiB | < 150 MiB | $(verdict "$peak < 150") |
$resume_checks
TABLE
[ "$(verdict "$plan_ratio <= 1.3")" = PASS ] && [ "$(verdict "$apply_ratio <= 1.3")" = PASS ] &&
	[ "$((unread + failed + left + without_id))" = 0 ] && [ "$(verdict "$peak < 150")" = PASS ]
