#!/usr/bin/env bash
# Regenerates docs/benchmarks.md, docs/benchmarks.svg and docs/bench/ from one
# benchmark run:
#
#   bash bench/run.sh        # -count 6 (about an hour on 2 CPUs)
#   bash bench/run.sh 1      # -count 1
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-6}"
cmd="go test -run '^\$' -bench . -benchmem -count $count -timeout 180m ./bench/"
mkdir -p docs/bench
echo "+ $cmd" >&2
eval "$cmd" | tee docs/bench/raw.txt
benchstat="$(go env GOPATH)/bin/benchstat"
if [ ! -x "$benchstat" ]; then
  go install golang.org/x/perf/cmd/benchstat@latest
fi
"$benchstat" docs/bench/raw.txt > docs/bench/benchstat.txt
redis="$(redis-server --version | awk '{print $3}')"
notes=()
if [ -f docs/bench/notes.md ]; then notes=(-notes docs/bench/notes.md); fi
go run ./bench/cmd/benchreport -raw docs/bench/raw.txt -benchstat docs/bench/benchstat.txt \
  -md docs/benchmarks.md -chart docs/benchmarks.svg \
  "${notes[@]}" -command "$cmd" -redis "redis-server ${redis#v=}" -date "$(date -u '+%Y-%m-%d %H:%M UTC')"
echo "wrote docs/benchmarks.md, docs/benchmarks.svg, docs/bench/" >&2
