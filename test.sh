#!/usr/bin/env bash
# test.sh runs the whole suite, over every module of the workspace, on a
# fresh Debian or Ubuntu machine that has Go: it installs redis-server and
# chromium when they are missing (saying so), checks formatting and vet,
# runs every test with the race detector, and fails if the run left the
# working tree changed.
#
#	./test.sh
set -euo pipefail
cd "$(dirname "$0")"

# Every module of go.work, as ./dir/... patterns.
mapfile -t pkgs < <(go list -m -f '{{.Dir}}' | sed "s|^$PWD|.|; s|\$|/...|")

if ! command -v redis-server >/dev/null 2>&1; then
  echo "test.sh: redis-server is not on the PATH: installing it (apt-get install -y redis-server)"
  sudo=
  if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -y
  $sudo apt-get install -y --no-install-recommends redis-server
  # The packaged service is not needed: the tests start their own servers.
fi

if ! command -v chromium >/dev/null 2>&1; then
  # debugpage's browser test renders the page in headless Chromium (and
  # fails without it).
  echo "test.sh: chromium is not on the PATH: installing it (apt-get install -y --no-install-recommends chromium)"
  sudo=
  if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -y
  $sudo apt-get install -y --no-install-recommends chromium
fi

before=$(git status --porcelain 2>/dev/null || true)

unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "test.sh: gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet "${pkgs[@]}"
go test -race -count=1 -timeout 30m "${pkgs[@]}"

# Whatever a go command may record (go.work.sum gains the checksums of the
# whole module graph the first time a command loads all of it) is recorded
# already: load it all, then check that the run changed nothing.
go list -m all >/dev/null
after=$(git status --porcelain 2>/dev/null || true)
if [ "$before" != "$after" ]; then
  echo "test.sh: the run changed the working tree:"
  diff <(echo "$before") <(echo "$after") || true
  git diff --stat
  exit 1
fi
echo "test.sh: ok"
