// Package packaging holds the deployment files (systemd unit, Dockerfile,
// Prometheus scrape config); its tests check them with the tools users
// check them with.
package packaging

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// lookTool finds a command the test needs, or fails saying how to get it.
func lookTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is needed for this test and is not on PATH: scripts/deps.sh installs it (apt-get install -y %s)", name, pkg)
	}
	return p
}

// TestMakeInstallAndSystemdVerify installs with `make install PREFIX=...
// DESTDIR=...` and runs `systemd-analyze verify` on the installed unit, whose
// ExecStart must point at the installed binary.
func TestMakeInstallAndSystemdVerify(t *testing.T) {
	analyze := lookTool(t, "systemd-analyze", "systemd")
	lookTool(t, "make", "make")
	root := t.TempDir()
	prefix := "/opt/slaprobe-test"
	cmd := exec.Command("make", "-C", "..", "install", "PREFIX="+prefix, "DESTDIR="+root)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	bin := filepath.Join(root, prefix, "bin/slaprobe")
	unit := filepath.Join(root, prefix, "lib/systemd/system/slaprobe.service")
	for _, f := range []string{bin, unit, filepath.Join(root, prefix, "share/doc/slaprobe/prometheus.yml")} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("make install did not write %s: %v", f, err)
		}
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "slaprobe ") {
		t.Errorf("installed binary: %v %s", err, out)
	}
	text, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(text), "ExecStart="+prefix+"/bin/slaprobe run ") {
		t.Errorf("installed unit does not start %s/bin/slaprobe:\n%s", prefix, text)
	}
	for _, want := range []string{"DynamicUser=yes", "StateDirectory=slaprobe", "ProtectSystem=strict", "NoNewPrivileges=yes", "ExecReload=/bin/kill -HUP $MAINPID"} {
		if !strings.Contains(string(text), "\n"+want+"\n") {
			t.Errorf("unit lacks %q", want)
		}
	}

	// systemd-analyze checks that ExecStart is executable: point it at the
	// staged binary (the path it will have once DESTDIR is the root).
	staged := strings.ReplaceAll(string(text), prefix+"/bin/slaprobe", bin)
	check := filepath.Join(t.TempDir(), "slaprobe.service")
	if err := os.WriteFile(check, []byte(staged), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	v := exec.Command(analyze, "verify", check)
	v.Stderr, v.Stdout = &stderr, &stderr
	err = v.Run()
	// Lines about units of the host that this unit does not name are noise
	// of a container without systemd as PID 1; anything about ours is not.
	var ours []string
	for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if strings.Contains(l, "slaprobe") {
			ours = append(ours, l)
		}
	}
	if err != nil || len(ours) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, stderr.String())
	}
	t.Logf("systemd-analyze verify %s: ok", check)
}

// TestInstalledExampleChecks installs with `make install` and checks the
// example config where it was installed, with the installed binary: the
// files it names (timelines, the webhook secret) are relative to it, so
// they must be installed beside it, or the example a user copies to
// /etc/slaprobe is refused at start.
func TestInstalledExampleChecks(t *testing.T) {
	lookTool(t, "make", "make")
	root := t.TempDir()
	prefix := "/opt/slaprobe-test"
	if out, err := exec.Command("make", "-C", "..", "install", "PREFIX="+prefix, "DESTDIR="+root).CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	bin := filepath.Join(root, prefix, "bin/slaprobe")
	example := filepath.Join(root, prefix, "share/doc/slaprobe/slaprobe.example.yaml")
	if out, err := exec.Command(bin, "check", "--config", example).CombinedOutput(); err != nil {
		t.Fatalf("slaprobe check --config %s (as installed): %v\n%s", example, err, out)
	}
	// What the unit's comment tells the operator to copy to /etc/slaprobe.
	unit, err := os.ReadFile("slaprobe.service")
	if err != nil {
		t.Fatal(err)
	}
	etc := filepath.Join(t.TempDir(), "etc")
	var copied int
	for _, line := range strings.Split(string(unit), "\n") {
		cmd, ok := strings.CutPrefix(line, "#   sudo install ")
		if !ok || !strings.Contains(cmd, "/etc/slaprobe") {
			continue
		}
		cmd, _, _ = strings.Cut(cmd, "#")
		cmd = strings.ReplaceAll(cmd, "/etc/slaprobe", etc)
		sh := exec.Command("sh", "-c", "install "+cmd)
		sh.Dir = ".."
		if out, err := sh.CombinedOutput(); err != nil {
			t.Fatalf("install %s: %v\n%s", cmd, err, out)
		}
		copied++
	}
	if copied == 0 {
		t.Fatal("the unit's comment names no `sudo install ... /etc/slaprobe` line")
	}
	if out, err := exec.Command(bin, "check", "--config", filepath.Join(etc, "slaprobe.yaml")).CombinedOutput(); err != nil {
		t.Fatalf("slaprobe check of the config the unit's comment installs: %v\n%s", err, out)
	}
}

// TestSystemdVerifyCatchesMistakes makes sure the check above can fail: a
// misspelt directive and a missing binary are reported.
func TestSystemdVerifyCatchesMistakes(t *testing.T) {
	analyze := lookTool(t, "systemd-analyze", "systemd")
	text, err := os.ReadFile("slaprobe.service")
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(text), "ProtectSystem=strict", "ProtectSystem=stric", 1)
	p := filepath.Join(t.TempDir(), "slaprobe.service")
	if err := os.WriteFile(p, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command(analyze, "verify", p).CombinedOutput()
	if !strings.Contains(string(out), "protect system") || !strings.Contains(string(out), "/usr/local/bin/slaprobe") {
		t.Fatalf("systemd-analyze verify did not report the bad value and the missing binary:\n%s", out)
	}
}

// TestDockerfile parses packaging/Dockerfile with BuildKit's own parser (no
// Docker engine runs here, so the image is not built) and checks what the
// image promises: multi-stage, a static (CGO_ENABLED=0) binary, CA
// certificates and tzdata, a non-root user and a /data volume.
func TestDockerfile(t *testing.T) {
	f, err := os.Open("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("parser warning: %s", w.Short)
	}
	var lints []string
	lint := linter.New(&linter.Config{Warn: func(rule, _, _, msg string, _ []parser.Range) { lints = append(lints, rule+": "+msg) }})
	stages, _, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatalf("instructions: %v", err)
	}
	for _, l := range lints {
		t.Errorf("lint: %s", l)
	}
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a multi-stage build", len(stages))
	}
	var names []string
	for _, s := range stages {
		names = append(names, s.Name)
	}
	final := stages[len(stages)-1]
	var (
		static, user, volume bool
		copied               []string
	)
	for _, s := range stages {
		for _, c := range s.Commands {
			if r, ok := c.(*instructions.RunCommand); ok && strings.Contains(strings.Join(r.CmdLine, " "), "CGO_ENABLED=0 go build") {
				static = true
			}
		}
	}
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.CopyCommand:
			if c.From != "" && !slices.Contains(names, c.From) {
				t.Errorf("COPY --from=%s: no such stage (have %v)", c.From, names)
			}
			copied = append(copied, c.SourcePaths...)
		case *instructions.UserCommand:
			u := strings.SplitN(c.User, ":", 2)[0]
			user = u != "" && u != "0" && u != "root"
		case *instructions.VolumeCommand:
			volume = slices.Contains(c.Volumes, "/data")
		}
	}
	if !static {
		t.Error("no stage builds with CGO_ENABLED=0 (a static binary)")
	}
	if !user {
		t.Error("the final stage does not switch to a non-root USER")
	}
	if !volume {
		t.Error("the final stage has no VOLUME /data")
	}
	for _, want := range []string{"/etc/ssl/certs/ca-certificates.crt", "/usr/share/zoneinfo", "/out/slaprobe"} {
		if !slices.Contains(copied, want) {
			t.Errorf("the final stage does not copy %s (copies %v)", want, copied)
		}
	}
}

// TestDockerStopTimeout: the image's docker run example gives a stop the
// time the systemd unit does (TimeoutStopSec): docker stop, docker
// restart and compose SIGKILL after 10 s by default, in the middle of the
// drain (30 s grace) and before the store's 30 s flush at shutdown writes
// the spool, so a restart while the database refused writes lost every run
// it held, which the spool is there to keep.
func TestDockerStopTimeout(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	want, err := strconv.Atoi(unitKeys(t)["TimeoutStopSec"])
	if err != nil {
		t.Fatalf("the unit's TimeoutStopSec: %v", err)
	}
	m := regexp.MustCompile(`#\s+docker run [^\n]*--stop-timeout[ =](\d+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("the Dockerfile's docker run example sets no --stop-timeout (docker's default is 10 s; the unit gives %d s)", want)
	}
	if got, _ := strconv.Atoi(string(m[1])); got < want {
		t.Errorf("docker run --stop-timeout %d, want at least the unit's TimeoutStopSec %d", got, want)
	}
}

// TestPrometheusConfig checks the scrape config example with promtool,
// beside the rules `slaprobe rules` writes for the example config.
func TestPrometheusConfig(t *testing.T) {
	promtool := lookTool(t, "promtool", "prometheus")
	dir := t.TempDir()
	bin := filepath.Join(dir, "slaprobe")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/slaprobe").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	rules, err := exec.Command(bin, "rules", "--config", "../examples/demo.yaml").Output()
	if err != nil {
		t.Fatalf("slaprobe rules: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "slaprobe-rules.yml"), rules, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile("prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "check", "config", filepath.Join(dir, "prometheus.yml")).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "SUCCESS") {
		t.Fatalf("promtool check config said:\n%s", out)
	}
}
