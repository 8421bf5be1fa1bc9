// Package examples bundles the example configuration and incident
// timelines, so that the demo and the tests run without files on disk.
//
// demo.yaml probes every service of the built-in demo platform; the
// timelines under incidents/ are the Kakao outages of 2021-05-05 and
// 2022-10-15 (which demo.yaml names) and outages of other providers in other
// time zones: Fastly 2021-06-08, Cloudflare 2022-06-21 (partial error
// rates), Roblox 2021-10-28 (73 hours, America/Los_Angeles) and CrowdStrike
// 2024-07-19 (no declared end). Paths inside demo.yaml are relative to the
// root of [Files].
package examples

import (
	"embed"
	"io/fs"
)

// files is read-only: an embed.FS cannot be changed at run time.
//
//go:embed demo.yaml webhook-secret incidents/*.yaml
var files embed.FS

// DemoPath is the name of the demo config inside [Files].
const DemoPath = "demo.yaml"

// Files returns the bundled files: demo.yaml and incidents/*.yaml.
func Files() fs.FS { return files }

// DemoConfig returns the demo config's YAML.
func DemoConfig() []byte {
	b, err := files.ReadFile(DemoPath)
	if err != nil {
		panic("examples: demo.yaml not embedded: " + err.Error()) // impossible: checked at build time
	}
	return b
}

// ReadFile reads a bundled file by its slash-separated path (a leading
// "./" is allowed). It fits config.Options.ReadFile, so the demo config
// loads with config.Parse(examples.DemoPath, examples.DemoConfig(),
// config.Options{ReadFile: examples.ReadFile}).
func ReadFile(name string) ([]byte, error) {
	if len(name) > 2 && name[:2] == "./" {
		name = name[2:]
	}
	return fs.ReadFile(files, name)
}
