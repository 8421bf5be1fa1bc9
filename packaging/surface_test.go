package packaging

// The deployment files against the binary they deploy (review-surface):
// the systemd unit's and the image's command lines are accepted by the
// CLI, and the daemon they start writes only where the unit and the image
// let it write (StateDirectory, the /data volume); the scrape config
// scrapes where the daemon listens.

import (
	"bufio"
	"context"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"go.yaml.in/yaml/v3"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/store"
	"github.com/slaprobe/slaprobe/store/storetest"
)

// unitKeys reads the [Service] settings of the unit file (last one wins,
// as systemd does for these keys).
func unitKeys(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("slaprobe.service")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			out[k] = v
		}
	}
	return out
}

// image is what the Dockerfile's final stage runs.
type image struct {
	argv    []string // ENTRYPOINT + CMD
	workdir string
	volumes []string
	expose  []string
}

func dockerImage(t *testing.T) image {
	t.Helper()
	f, err := os.Open("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		t.Fatal(err)
	}
	var im image
	var entry, cmd []string
	for _, c := range stages[len(stages)-1].Commands {
		switch c := c.(type) {
		case *instructions.EntrypointCommand:
			if c.PrependShell {
				t.Fatalf("ENTRYPOINT in shell form: signals would go to the shell")
			}
			entry = c.CmdLine
		case *instructions.CmdCommand:
			if c.PrependShell {
				t.Fatalf("CMD in shell form")
			}
			cmd = c.CmdLine
		case *instructions.WorkdirCommand:
			im.workdir = c.Path
		case *instructions.VolumeCommand:
			im.volumes = append(im.volumes, c.Volumes...)
		case *instructions.ExposeCommand:
			im.expose = append(im.expose, c.Ports...)
		}
	}
	im.argv = append(entry, cmd...)
	return im
}

// lastMonth fills a SQLite store at path with two days of results of the
// month before now (UTC) for flow-000 of service-00 (steps login, send).
func lastMonth(t *testing.T, path string) {
	t.Helper()
	now := time.Now().UTC()
	start := time.Date(now.Year(), now.Month()-1, 3, 0, 0, 0, 0, time.UTC)
	ctx := context.Background()
	s, err := store.OpenSQLite(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := storetest.Generate(ctx, s, storetest.Gen{Flows: 1, Steps: 2, Days: 2, Interval: 10 * time.Minute, Start: start,
		Location: "pack-a", FailEvery: -1}); err != nil {
		t.Fatal(err)
	}
}

// testConfig is a config a packager would ship: relative paths and the
// defaults, a reports: block with its default archive. Its own listener
// is a free loopback port (the command lines' listen values are checked
// separately).
const testConfig = `location: pack-a
timezone: UTC
listen: 127.0.0.1:0
reports: {formats: [json, md]}
services:
  - name: service-00
    objective: 0.99
    flows:
      - name: flow-000
        interval: 1m
        steps:
          - {name: login, function: login, request: {url: "http://127.0.0.1:1/"}}
          - {name: send, function: send, request: {url: "http://127.0.0.1:1/"}}
`

// runAsDeployed runs argv (the binary first) in root: every absolute path
// argument is taken under root, the working directory is workdir (under
// root), and the daemon runs until last month's report is made. It returns
// the files it created outside writable (under root), and whether the
// report was made inside it.
func runAsDeployed(t *testing.T, bin, root string, argv []string, workdir, writable string) (outside []string, made bool) {
	t.Helper()
	before := map[string]bool{}
	filepath.WalkDir(root, func(p string, _ fs.DirEntry, _ error) error { before[p] = true; return nil }) //nolint:errcheck
	args := []string{}
	for i, a := range argv[1:] {
		switch {
		case strings.HasPrefix(a, "/"):
			a = filepath.Join(root, a)
		case i > 0 && argv[i] == "--listen":
			a = "127.0.0.1:0"
		}
		args = append(args, a)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = filepath.Join(root, workdir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "report made") || strings.Contains(sc.Text(), "level=ERROR") {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may have exited
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
	}
	err = cmd.Wait()
	t.Logf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, log.String())
	filepath.WalkDir(root, func(p string, d fs.DirEntry, _ error) error { //nolint:errcheck
		if before[p] || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(filepath.Join(root, writable), p)
		if strings.HasPrefix(rel, "..") {
			outside = append(outside, strings.TrimPrefix(p, root))
		}
		if strings.Contains(rel, "report.json") && !strings.HasPrefix(rel, "..") {
			made = true
		}
		return nil
	})
	return outside, made
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "slaprobe")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/slaprobe").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// TestDeployedDaemonWritesOnlyItsState runs the unit's ExecStart (in its
// WorkingDirectory) and the image's ENTRYPOINT+CMD (in its WORKDIR), with a
// config that keeps the defaults: everything the daemon writes (database,
// alert state, quarantine, the monthly report archive) lands in the unit's
// StateDirectory or the image's volume, which are the only places
// ProtectSystem=strict and a read-only config mount let it write.
func TestDeployedDaemonWritesOnlyItsState(t *testing.T) {
	bin := buildBinary(t)
	u := unitKeys(t)
	state := "/var/lib/" + u["StateDirectory"]
	confDir := "/etc/" + u["ConfigurationDirectory"]
	if u["WorkingDirectory"] != state {
		t.Errorf("WorkingDirectory=%s, want the StateDirectory %s", u["WorkingDirectory"], state)
	}
	im := dockerImage(t)
	if len(im.volumes) != 1 || im.workdir != im.volumes[0] {
		t.Errorf("image: WORKDIR %s, VOLUME %v: want the one volume as the working directory", im.workdir, im.volumes)
	}
	for _, tc := range []struct {
		name     string
		argv     []string
		conf     string // the config file's directory
		workdir  string
		writable string
	}{
		{"systemd", strings.Fields(u["ExecStart"]), confDir, u["WorkingDirectory"], state},
		{"docker", im.argv, "/etc/slaprobe", im.workdir, im.volumes[0]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			var cfgPath, dbPath string
			for i, a := range tc.argv {
				switch {
				case i > 0 && tc.argv[i-1] == "--config":
					cfgPath = a
				case i > 0 && tc.argv[i-1] == "--db":
					dbPath = a
				}
			}
			if cfgPath == "" || filepath.Dir(cfgPath) != tc.conf {
				t.Fatalf("%v: --config %q, want a file in %s", tc.argv, cfgPath, tc.conf)
			}
			if dbPath == "" || !strings.HasPrefix(dbPath, tc.writable+"/") {
				t.Fatalf("%v: --db %q, want a file in %s", tc.argv, dbPath, tc.writable)
			}
			for _, d := range []string{tc.conf, tc.writable, tc.workdir} {
				if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(root, cfgPath), []byte(testConfig), 0o644); err != nil {
				t.Fatal(err)
			}
			lastMonth(t, filepath.Join(root, dbPath))
			outside, made := runAsDeployed(t, bin, root, tc.argv, tc.workdir, tc.writable)
			if len(outside) > 0 {
				t.Errorf("the daemon wrote outside %s, where it cannot write when deployed: %v", tc.writable, outside)
			}
			if !made {
				t.Errorf("no report of last month in %s", tc.writable)
			}
		})
	}
}

// TestScrapeConfigMatchesTheListener: prometheus.yml scrapes the address
// the daemon listens on as the unit starts it (the config's default
// listen, unless ExecStart overrides it), and the image exposes the port
// its command listens on.
func TestScrapeConfigMatchesTheListener(t *testing.T) {
	data, err := os.ReadFile("prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	var prom struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			MetricsPath   string `yaml:"metrics_path"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(data, &prom); err != nil {
		t.Fatal(err)
	}
	listen := config.DefaultListen
	exec := strings.Fields(unitKeys(t)["ExecStart"])
	for i, a := range exec {
		if i > 0 && exec[i-1] == "--listen" {
			listen = a
		}
	}
	var targets []string
	for _, sc := range prom.ScrapeConfigs {
		if sc.MetricsPath != "" && sc.MetricsPath != "/metrics" {
			t.Errorf("job %s scrapes %s, the daemon serves /metrics", sc.JobName, sc.MetricsPath)
		}
		for _, st := range sc.StaticConfigs {
			targets = append(targets, st.Targets...)
		}
	}
	if len(targets) != 1 || targets[0] != listen {
		t.Errorf("prometheus.yml scrapes %v, the unit's daemon listens on %s", targets, listen)
	}
	im := dockerImage(t)
	for i, a := range im.argv {
		if i > 0 && im.argv[i-1] == "--listen" {
			_, port, err := net.SplitHostPort(a)
			if err != nil || len(im.expose) != 1 || strings.TrimSuffix(im.expose[0], "/tcp") != port {
				t.Errorf("image listens on %s and exposes %v", a, im.expose)
			}
		}
	}
}
