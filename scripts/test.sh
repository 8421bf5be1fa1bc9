#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it: installs what the tests
# need (scripts/deps.sh), starts a throwaway PostgreSQL on loopback for the
# fleet store's contract tests, checks formatting and vet, then runs every
# package's tests, the integration tests with real Prometheus and
# Alertmanager among them.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...

eval "$(bash scripts/postgres.sh start)"
trap 'bash scripts/postgres.sh stop >/dev/null 2>&1 || true' EXIT

go test -count=1 -timeout 20m "$@" ./...
