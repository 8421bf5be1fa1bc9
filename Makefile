# slaprobe: the two commands a new machine needs are `make demo` and `make test`.
GO      ?= go
BIN     := bin/slaprobe
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: build test demo bench bench-scale fuzz agreefuzz sessionfuzz lint clean install uninstall

# Static (CGO_ENABLED=0), like the container image's binary (packaging/Dockerfile):
# nothing in slaprobe needs cgo (SQLite is pure Go), and a cgo binary maps
# libc.so and ld.so and runs its threads on C stacks and malloc arenas: at
# 1,000 flows 2-3 MiB more RSS (1.0 MiB file, 1-2 MiB anonymous).
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/slaprobe

# Everything CI must pass: installs Prometheus, Alertmanager, PostgreSQL,
# poppler-utils, systemd (systemd-analyze), Chromium, gcc and libc6-dev
# (scripts/deps.sh) from Debian's packages when missing, and builds Dendrite and
# Centrifugo from the Go module proxy into ~/.cache/slaprobe (scripts/realservers.sh).
test:
	bash scripts/test.sh

# Replays the bundled 2022-10-15 Kakao data-centre fire against the built-in
# demo platform in virtual time and writes out/demo/report.pdf (and .html,
# .json, windows.json, windows.csv, results.db).
demo: build
	$(BIN) demo --out out/demo

# The figures the issues set goals for. The monthly-report benchmark builds a
# 100-flow x 30-day store (~13 M step results, ~1 GB) under $$TMPDIR once and
# reuses it.
#
# The store and report benchmarks also run against a throwaway PostgreSQL
# (scripts/postgres.sh, fsync off as in `make test`), started here and
# stopped at the end. Their year-sized SQLite databases (10 M runs, a year of
# events, a simulated year of 100 flows: the first run takes about half an
# hour) are kept under $$TMPDIR; the PostgreSQL schemas are rebuilt each time.
BENCH_PG := SLAPROBE_PG_DIR=$${TMPDIR:-/tmp}/slaprobe-pg-bench
bench: build
	$(GO) test -run '^$$' -bench Parse50kFlows -benchmem -benchtime 3x ./config
	$(GO) test -run '^$$' -bench 'Step|RawRequest|WebSocketReceive' -benchmem -count 5 ./probe
	$(GO) test -run '^$$' -bench Roundtrip -benchmem -benchtime 2000x ./platform
	$(GO) test -run '^$$' -bench PDF -benchmem -benchtime 5x ./report/render
	$(GO) test -run '^$$' -bench StatusPage -benchmem -benchtime 20x ./daemon/statuspage
	$(GO) test -run '^$$' -bench StatusRefresh -benchmem -benchtime 3x ./daemon/statuspage
	$(GO) test -run '^$$' -bench Check -benchmem -count 5 ./daemon
	$(GO) test -run '^$$' -bench Scrape -benchmem -count 5 ./daemon
	$(GO) test -run '^$$' -bench SchedulerRun -benchmem -benchtime 3000x -count 3 ./daemon
	@set -e; trap '$(BENCH_PG) sh scripts/postgres.sh stop >/dev/null 2>&1' EXIT; \
	eval "$$($(BENCH_PG) sh scripts/postgres.sh start)"; \
	$(GO) test -run '^$$' -bench '^BenchmarkIngest$$' -benchmem -benchtime 60x -count 3 ./store; \
	$(GO) test -run '^$$' -bench IngestSteady -benchmem -benchtime 60000x -count 3 ./store; \
	$(GO) test -run '^$$' -bench MonthlyReport -benchmem -benchtime 3x -timeout 60m ./report; \
	$(GO) test -run '^$$' -bench 'Prune|WindowsDay|YearSize' -benchtime 20x -timeout 120m ./store; \
	$(GO) test -run '^$$' -bench Migrate -benchtime 1x -timeout 60m ./store
	$(GO) test -run '^$$' -bench ReplayHour -benchtime 1x -timeout 30m ./daemon
	@echo "demo over the whole of October 2022 (all services, 60 s interval):"
	@/usr/bin/env time -f '%e s wall, %M KiB peak RSS' $(BIN) demo --out out/bench-demo >/dev/null

# What a check costs in the real binary (issue #11), one row per run: first
# the raw floor (one keep-alive net/http client, status + JSON check, nothing
# stored) and `slaprobe run` side by side at the same time over the same
# window (-together), 1,000 flows every 10 s (SIDE=0
# skips it); then `slaprobe run` at each of FLOWS flows every INTERVAL: CPU-s
# per 1,000 checks (getrusage of the process, not wall time), peak RSS,
# schedule lag p99, dropped results, stored runs, /metrics scrape time,
# SIGHUP reload time, and (-broken) the time and peak RSS of reloads of the
# config with a YAML syntax error in its middle flow, refused. Then 10,000 hourly flows stopped after 30 s (shutdown
# time) and 1,000 flows that each hold a WebSocket (peak RSS). Loopback
# only; the demo platform (`slaprobe platform`) is the target.
FLOWS    ?= 1000 10000 50000
INTERVAL ?= 60s
SIDE     ?= 1
bench-scale:
	@if [ "$(SIDE)" = 1 ]; then $(GO) run ./test/scale -flows 1000 -interval 10s -raw -together; fi
	$(GO) run ./test/scale -flows '$(FLOWS)' -interval $(INTERVAL) -broken
	SLAPROBE_SCALE=1 $(GO) test -count=1 -run '^TestShutdownScale$$' -timeout 15m -v ./daemon
	@# A process of its own: its peak RSS (VmHWM) must not be the 10,000-flow test's.
	SLAPROBE_SCALE=1 $(GO) test -count=1 -run '^TestScaleWebSocket$$' -timeout 15m -v ./daemon

FUZZTIME ?= 5s
# Go minimises each new interesting input for up to 60 s by default, time
# taken from FUZZTIME in which nothing new is tried (FuzzSplitMatchesWhole
# for 40 s: 199 inputs, nearly all its seeds; with 5 s, 3,500-5,500 a second
# once the seeds have run).
FUZZMINIMIZE ?= 5s
fuzz:
	@set -e; for pkg in ./config ./probe ./store ./platform ./daemon ./daemon/statuspage ./internal/redact ./report/publish; do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $$pkg; \
	  done; \
	done

# Installs the binary, the systemd unit (ExecStart pointing at the installed
# binary) and the example config (with the timelines and the webhook secret
# it names, beside it) and Prometheus scrape config under PREFIX
# (default /usr/local); DESTDIR stages a package root.
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  := $(DESTDIR)$(PREFIX)/bin
UNITDIR := $(DESTDIR)$(PREFIX)/lib/systemd/system
DOCDIR  := $(DESTDIR)$(PREFIX)/share/doc/slaprobe
install: build
	install -d $(BINDIR) $(UNITDIR) $(DOCDIR)
	install -m 0755 $(BIN) $(BINDIR)/slaprobe
	sed 's|/usr/local/bin/slaprobe|$(PREFIX)/bin/slaprobe|' packaging/slaprobe.service > $(UNITDIR)/slaprobe.service
	chmod 0644 $(UNITDIR)/slaprobe.service
	install -m 0644 examples/demo.yaml $(DOCDIR)/slaprobe.example.yaml
	install -d $(DOCDIR)/incidents
	install -m 0644 examples/incidents/*.yaml $(DOCDIR)/incidents/
	install -m 0644 examples/webhook-secret $(DOCDIR)/webhook-secret
	install -m 0644 packaging/prometheus.yml $(DOCDIR)/prometheus.yml

uninstall:
	rm -f $(BINDIR)/slaprobe $(UNITDIR)/slaprobe.service
	rm -rf $(DOCDIR)

# The randomized agreement check (daemon/agreefuzz_test.go) over SEEDS seeds
# from FIRST; about 1.5 s of wall time a seed. SEED=S replays one. STREAK=N
# draws down_after and up_after from 3 to N (about 9 s a seed at 20).
SEEDS ?= 200
FIRST ?= 1
agreefuzz:
	SLAPROBE_AGREEFUZZ_SEEDS=$(SEEDS) SLAPROBE_AGREEFUZZ_FIRST=$(FIRST) SLAPROBE_AGREEFUZZ_SEED=$(SEED) SLAPROBE_AGREEFUZZ_STREAK=$(STREAK) \
	  $(GO) test ./daemon -run '^TestAgreementFuzz$$' -count=1 -timeout 3h

# The agreement check for a flow with a session (daemon/sessionagree_test.go)
# over SESSIONSEEDS seeds from FIRST, with teardown steps and per function
# figures (checkFunctionFigures); about 11 s of wall time a seed.
SESSIONSEEDS ?= 20
sessionfuzz:
	SLAPROBE_AGREEFUZZ_SEEDS=$(SESSIONSEEDS) SLAPROBE_AGREEFUZZ_FIRST=$(FIRST) SLAPROBE_AGREEFUZZ_SEED=$(SEED) \
	  $(GO) test ./daemon -run '^TestSessionAgreementFuzz$$' -count=1 -timeout 3h

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...

clean:
	rm -rf bin out
