#!/usr/bin/env bash
# Builds the real third-party servers the integration tests probe, from the Go
# module proxy, into a cache this script owns, and prints where they are:
#
#   Dendrite v0.13.8 (a Matrix homeserver; cgo SQLite):
#     dendrite, generate-keys, generate-config, create-account
#   Centrifugo v6.9.1 (a real-time messaging hub): centrifugo
#
# Usage:
#   bash scripts/realservers.sh install   build what is missing, then print
#                                          SLAPROBE_DENDRITE_BIN=DIR and
#                                          SLAPROBE_CENTRIFUGO_BIN=DIR lines
#                                          for `eval`
#   bash scripts/realservers.sh path      print the same lines without building
#                                          (exit 1 if something is not built yet)
#
# The cache lives in $SLAPROBE_CACHE_DIR (default ${XDG_CACHE_HOME:-~/.cache}/slaprobe),
# one directory per server, version, Go version and platform, so a new Go
# toolchain or a version bump builds afresh and an old cache is never reused
# by mistake. A build goes to a scratch directory and is renamed into place
# only when every binary built, so an interrupted build is never taken for a
# finished one; a lock keeps two test runs from building the same thing at
# once. Nothing here is committed. A cold build of both takes a few minutes on
# 2 cores; a warm cache makes no network call.
set -euo pipefail

DENDRITE_VERSION=v0.13.8
CENTRIFUGO_VERSION=v6.9.1

cache=${SLAPROBE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/slaprobe}
gover=$(go env GOVERSION)
plat=$(go env GOOS)-$(go env GOARCH)
dendrite_dir=$cache/dendrite-$DENDRITE_VERSION-$gover-$plat
# "-v" marks the binary built with its release version stamped in (below).
centrifugo_dir=$cache/centrifugo-$CENTRIFUGO_VERSION-v-$gover-$plat

dendrite_tools=(dendrite generate-keys generate-config create-account)

complete() { # DIR TOOL... : every tool is there and executable
  local dir=$1; shift
  for t in "$@"; do [ -x "$dir/$t" ] || return 1; done
}

# build DIR VERSION-LABEL CGO LDFLAGS PKG... : go install the packages into DIR.
build() {
  local dir=$1 label=$2 cgo=$3 ldflags=$4; shift 4
  mkdir -p "$cache"
  exec 9>"$dir.lock"
  flock 9
  if [ -d "$dir" ]; then # another run built it while we waited
    exec 9>&-
    return 0
  fi
  local tmp
  tmp=$(mktemp -d "$dir.tmp.XXXXXX")
  chmod 755 "$tmp"
  echo "realservers: building $label into $dir (cold build, a few minutes)" >&2
  local t0=$SECONDS
  if ! CGO_ENABLED=$cgo GOBIN="$tmp" GOFLAGS=-trimpath go install -ldflags="$ldflags" "$@" >&2; then
    rm -rf "$tmp"
    echo "realservers: building $label failed; it needs the Go module proxy (GOPROXY=$(go env GOPROXY))" >&2
    exit 1
  fi
  mv "$tmp" "$dir"
  echo "realservers: built $label in $((SECONDS - t0)) s" >&2
  # Older builds of the same server (another version, Go or recipe) are
  # never used again: drop them so the cache stays one build per server.
  local name=${dir##*/}
  name=${name%%-*}
  for old in "$cache/$name"-*; do
    case $old in
    "$dir" | "$dir.lock") ;;
    *.lock) [ -e "${old%.lock}" ] || rm -f "$old" ;;
    *.tmp.*) ;; # a build in progress elsewhere
    *) rm -rf "$old" ;;
    esac
  done
  exec 9>&-
}

print() {
  echo "SLAPROBE_DENDRITE_BIN=$dendrite_dir; export SLAPROBE_DENDRITE_BIN"
  echo "SLAPROBE_CENTRIFUGO_BIN=$centrifugo_dir; export SLAPROBE_CENTRIFUGO_BIN"
}

case "${1:-}" in
install)
  if ! complete "$dendrite_dir" "${dendrite_tools[@]}"; then
    rm -rf "$dendrite_dir"
    command -v gcc >/dev/null 2>&1 || { echo "realservers: Dendrite needs gcc (cgo SQLite): apt-get install gcc" >&2; exit 1; }
    pkgs=()
    for t in "${dendrite_tools[@]}"; do pkgs+=("github.com/matrix-org/dendrite/cmd/$t@$DENDRITE_VERSION"); done
    build "$dendrite_dir" "Dendrite $DENDRITE_VERSION" 1 "" "${pkgs[@]}"
  fi
  if ! complete "$centrifugo_dir" centrifugo; then
    rm -rf "$centrifugo_dir"
    # Release builds stamp the version (a plain go install says 0.0.0 and
    # warns that it is a development build).
    build "$centrifugo_dir" "Centrifugo $CENTRIFUGO_VERSION" 0 \
      "-X github.com/centrifugal/centrifugo/v6/internal/build.Version=${CENTRIFUGO_VERSION#v}" \
      "github.com/centrifugal/centrifugo/v6@$CENTRIFUGO_VERSION"
  fi
  print
  ;;
path)
  complete "$dendrite_dir" "${dendrite_tools[@]}" || { echo "realservers: Dendrite $DENDRITE_VERSION is not built; run: bash scripts/realservers.sh install" >&2; exit 1; }
  complete "$centrifugo_dir" centrifugo || { echo "realservers: Centrifugo $CENTRIFUGO_VERSION is not built; run: bash scripts/realservers.sh install" >&2; exit 1; }
  print
  ;;
*)
  echo "usage: $0 install|path" >&2
  exit 2
  ;;
esac
