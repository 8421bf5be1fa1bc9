package config

import (
	"strings"
	"testing"
)

// TestSQLiteDSNIsAPath: check refuses a SQLite storage.dsn that the store
// refuses at start (a URI, query or fragment, :memory:) and a PostgreSQL
// URL under the sqlite driver, which run took for a file path in a
// directory "postgres:"; a plain path, relative or absolute, is fine. A
// PostgreSQL dsn is a URL or keyword=value pairs, as pgx reads them.
func TestSQLiteDSNIsAPath(t *testing.T) {
	const svc = "services: [{name: s}]\n"
	tests := []struct {
		storage string
		want    string // "" for accepted
	}{
		{`{dsn: results.db}`, ""},
		{`{dsn: /var/lib/slaprobe/results.db, driver: sqlite}`, ""},
		{`{dsn: "data/my results.db"}`, ""},
		{`{dsn: "file:x.db?mode=ro"}`, `storage.dsn: "file:x.db?mode=ro": a SQLite dsn is a plain file path`},
		{`{dsn: "x.db?_pragma=foo"}`, `a SQLite dsn is a plain file path`},
		{`{dsn: "a#b.db"}`, `a SQLite dsn is a plain file path`},
		{`{dsn: ":memory:"}`, `a SQLite dsn is a plain file path`},
		{`{driver: sqlite, dsn: "postgres://probe@db.example/slaprobe"}`, `is a PostgreSQL URL: set driver: postgres`},
		{`{dsn: "postgresql://probe@db.example/slaprobe"}`, `is a PostgreSQL URL: set driver: postgres`},
		{`{driver: postgres, dsn: "postgres://probe@db.example/slaprobe?sslmode=require"}`, ""},
		{`{driver: postgres, dsn: "host=db.example dbname=slaprobe user=probe"}`, ""},
		{`{driver: postgres, dsn: "postgres://probe:${env:PGPASSWORD}@db.example/slaprobe"}`, ""},
		{`{driver: postgres, dsn: results.db}`, `"results.db": want a postgres:// URL`},
	}
	for _, tc := range tests {
		t.Run(tc.storage, func(t *testing.T) {
			env := func(string) (string, bool) { return "pw-secret", true }
			_, err := Parse("c.yaml", []byte("storage: "+tc.storage+"\n"+svc), Options{LookupEnv: env})
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			case tc.want != "" && !strings.HasPrefix(err.Error(), "c.yaml:1: storage.dsn: "):
				t.Errorf("err = %v, want it on line 1, key storage.dsn", err)
			}
		})
	}
}
