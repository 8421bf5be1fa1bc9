package publish

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

var monthDir = regexp.MustCompile(`^\d{4}-\d{2}$`)

// readVersionInfo reads a version's summary and what changed from its
// archive directory (vrel in root; vdir is its name in messages).
func readVersionInfo(root *os.Root, vdir, vrel string) (Summary, string, error) {
	var s Summary
	data, err := root.ReadFile(filepath.Join(vrel, figuresFile))
	if err != nil {
		return s, "", fmt.Errorf("publish: %s: %w", filepath.Join(vdir, figuresFile), err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, "", fmt.Errorf("publish: %s: %w", filepath.Join(vdir, figuresFile), err)
	}
	ch, err := root.ReadFile(filepath.Join(vrel, "CHANGES.txt"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return s, "", err
	}
	return s, strings.TrimSpace(string(ch)), nil
}

// Month is one archived month: the latest version's files at DIR/MONTH/.
type Month struct {
	Month   string
	Version int      // the latest version (the highest vN directory)
	Files   []string // report.* in DIR/MONTH/, sorted
}

// List lists the archive in dir, newest month first; a missing directory is
// an empty archive.
func List(dir string) ([]Month, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Month
	for _, e := range ents {
		if !e.IsDir() || !monthDir.MatchString(e.Name()) {
			continue
		}
		m := Month{Month: e.Name()}
		sub, err := os.ReadDir(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		for _, f := range sub {
			name := f.Name()
			switch {
			case f.IsDir() && strings.HasPrefix(name, "v"):
				if n, err := strconv.Atoi(name[1:]); err == nil && n > m.Version {
					m.Version = n
				}
			case !f.IsDir() && strings.HasPrefix(name, "report."):
				m.Files = append(m.Files, name)
			}
		}
		if len(m.Files) > 0 {
			sort.Strings(m.Files)
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Month > out[j].Month })
	return out, nil
}
