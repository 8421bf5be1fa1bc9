#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it: installs what the tests
# need (scripts/deps.sh; Dendrite and Centrifugo built from the Go module
# proxy into a cache by scripts/realservers.sh), starts a throwaway PostgreSQL on loopback for the
# fleet store's contract tests, checks formatting and vet, then runs every
# package's tests, the integration tests with real Prometheus and
# Alertmanager among them; daemon, probe, store, alert and platform under -race.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh
# The real Matrix homeserver and messaging hub test/integration probes; a
# cold build takes a few minutes, a warm cache none. Fails loudly if it
# cannot build them.
realservers=$(bash scripts/realservers.sh install) # an assignment, so set -e sees a failure
eval "$realservers"

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...

eval "$(bash scripts/postgres.sh start)"
trap 'bash scripts/postgres.sh stop >/dev/null 2>&1 || true' EXIT

# The packages with concurrency (the daemon's scheduler and reload, the
# runner's shared transports and traces, the store's writer, the notifier,
# the platform's push streams)
# run under the race detector; the others without it, so that nothing runs
# twice. -race needs cgo (gcc and libc6-dev come from scripts/deps.sh).
race=(daemon probe store alert platform)
mod=$(go list -m)
skip=()
for p in "${race[@]}"; do skip+=(-e "$mod/$p"); done
others=$(go list ./... | grep -v -x -F "${skip[@]}")
CGO_ENABLED=1 go test -race -count=1 -timeout 20m "$@" "${race[@]/#/./}"
go test -count=1 -timeout 20m "$@" $others
