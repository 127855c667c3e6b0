#!/usr/bin/env bash
# bench/lambda.sh — the real-time pipeline's function (cmd/rootguard-lambda)
# under aws-lambda-rie, the Lambda Runtime Interface Emulator, against
# dynalite (DynamoDB), goaws (SNS) and awssim (Organizations) on 127.0.0.1.
#
# Measures, and checks against the targets:
#   - cold start: the first invoke of a fresh function process, with an
#     event dropped without any AWS call, so that it is Lambda's init
#     (process start, Go's init, main loading the configuration and
#     building the clients) — target < 100 ms;
#   - warm per-event time of each path, from the emulator's REPORT lines
#     (time inside the function, not the invoke's HTTP round trip), and the
#     same split into the function's own work and the round trips to the
#     local servers (BenchmarkHandle in internal/alert) — target: the
#     function's own work p99 < 5 ms;
#   - the size of the Lambda build, GOOS=linux GOARCH=arm64 with
#     -tags lambda.norpc (plain, and stripped with -ldflags '-s -w') —
#     target < 20 MB.
#
#   bench/lambda.sh [--events N]     # N warm events per path (default 300)
#
# Needs go, node and tools/node_modules (npm ci --prefix tools). Prints a
# Markdown table on stdout, progress on stderr. Exit 0: every target met;
# 4: a target missed; 1: error; 2: usage.
set -euo pipefail

events=300
while [ $# -gt 0 ]; do
	case "$1" in
	--events) events=$2; shift 2 ;;
	*) echo "usage: $0 [--events N]" >&2; exit 2 ;;
	esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$root"
[ -x tools/node_modules/.bin/dynalite ] || { echo "dynalite missing: run npm ci --prefix tools" >&2; exit 1; }

echo "building the arm64 Lambda binary" >&2
GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -o "$work/bootstrap" ./cmd/rootguard-lambda
GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -ldflags '-s -w' -o "$work/bootstrap-stripped" ./cmd/rootguard-lambda
size=$(stat -c %s "$work/bootstrap")
stripped=$(stat -c %s "$work/bootstrap-stripped")

echo "running the function under aws-lambda-rie ($events warm events per path)" >&2
ROOTGUARD_BENCH_LAMBDA=$events go test ./cmd/rootguard-lambda -run '^TestLambdaBench$' -count=1 -v >"$work/rie.out" 2>&1 ||
	{ cat "$work/rie.out" >&2; exit 1; }
echo "splitting the warm time (BenchmarkHandle)" >&2
go test ./internal/alert -run '^$' -bench '^BenchmarkHandle$' -benchtime "${events}x" -count=1 >"$work/split.out" 2>&1 ||
	{ cat "$work/split.out" >&2; exit 1; }

# field FILE PATTERN KEY: the value of KEY=V on the line matching PATTERN.
field() { grep -E "$2" "$1" | head -1 | tr ' ' '\n' | sed -n "s/^$3=//p"; }
# metric PATH UNIT: a BenchmarkHandle metric.
metric() { awk -v p="BenchmarkHandle/$1-" -v u="$2" 'index($1, p) == 1 { for (i = 2; i < NF; i++) if ($(i+1) == u) print $i }' "$work/split.out"; }

cold_p50=$(field "$work/rie.out" '^BENCH cold' p50)
cold_max=$(field "$work/rie.out" '^BENCH cold' max)
cold_n=$(field "$work/rie.out" '^BENCH cold' n)

echo "| path | REPORT Duration p50 (ms) | p99 (ms) | max (ms) | own work p50 (ms) | own work p99 (ms) | round trips p50 (ms) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
worst=0
for p in alerted summarised duplicate dropped; do
	line="^BENCH warm path=$p "
	self99=$(metric "$p" self-p99-ms)
	echo "| $p | $(field "$work/rie.out" "$line" p50) | $(field "$work/rie.out" "$line" p99) | $(field "$work/rie.out" "$line" max) | $(metric "$p" self-p50-ms) | $self99 | $(metric "$p" wire-p50-ms) |"
	worst=$(awk -v a="$worst" -v b="$self99" 'BEGIN { print (b > a) ? b : a }')
done
echo
status=0
check() { # name measured target-text pass(0/1)
	local result=PASS
	[ "$4" = 1 ] || { result=FAIL; status=4; }
	echo "| $1 | $2 | $3 | $result |"
}
echo "| check | measured | target | result |"
echo "| --- | ---: | ---: | --- |"
check "cold start (first invoke of a fresh process, $cold_n runs), p50 / max" "$cold_p50 / $cold_max ms" "< 100 ms" \
	"$(awk -v a="$cold_max" 'BEGIN { print (a < 100) ? 1 : 0 }')"
check "warm: the function's own work, worst path p99" "$worst ms" "< 5 ms" \
	"$(awk -v a="$worst" 'BEGIN { print (a < 5) ? 1 : 0 }')"
check "linux/arm64 binary, -tags lambda.norpc (stripped: $(awk -v s="$stripped" 'BEGIN { printf "%.1f", s/1048576 }') MiB)" \
	"$(awk -v s="$size" 'BEGIN { printf "%.1f MiB", s/1048576 }')" "< 20 MB" "$(awk -v s="$size" 'BEGIN { print (s < 20000000) ? 1 : 0 }')"
exit $status
