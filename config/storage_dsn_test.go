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
		{`{dsn: "a#b.db"}`, ""}, // "#" is a character of the name: SQLite reads a path that is not a file: URI as written
		{`{dsn: ":memory:"}`, `a SQLite dsn is a plain file path`},
		{`{driver: sqlite, dsn: "postgres://probe@db.example/slaprobe"}`, `is a PostgreSQL URL: set driver: postgres`},
		{`{dsn: "postgresql://probe@db.example/slaprobe"}`, `is a PostgreSQL URL: set driver: postgres`},
		{`{driver: postgres, dsn: "postgres://probe@db.example/slaprobe?sslmode=require"}`, ""},
		{`{driver: postgres, dsn: "host=db.example dbname=slaprobe user=probe"}`, ""},
		{`{driver: postgres, dsn: "postgres://probe:${env:PGPASSWORD}@db.example/slaprobe"}`, ""},
		{`{driver: postgres, dsn: results.db}`, `"results.db": want a postgres:// URL`},
		// What pgx refuses at start (run exits 2), said by check, quoting
		// no password.
		{`{driver: postgres, dsn: "postgres://probe:hunter2@[::1/slaprobe"}`, `storage.dsn: not a valid URL: missing ']' in host`},
		{`{driver: postgres, dsn: "postgres://probe:hunter2@db.example/slaprobe?sslmode=requir"}`, `storage.dsn: sslmode "requir": want one of disable, allow, prefer, require, verify-ca, verify-full`},
		{`{driver: postgres, dsn: "host=db.example user=probe password=hunter2 sslmode=bogus"}`, `sslmode "bogus": want one of`},
		{`{driver: postgres, dsn: "postgres://probe:${env:PGPASSWORD}@db.example/slaprobe?sslmode=Require"}`, `sslmode "Require"`},
		{`{driver: postgres, dsn: "host=db.example sslmode=verify-full sslrootcert=/nonexistent/ca.pem"}`, ""}, // a file check does not read
		{`{driver: postgres, dsn: "postgres://probe@db.example/slaprobe?sslmode="}`, ""},                       // pgx's default
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
			case err != nil && strings.Contains(err.Error(), "hunter2"):
				t.Errorf("err = %v quotes the password", err)
			}
		})
	}
}

// TestPostgresDSNKeepsSecretsWhole: a postgres:// storage.dsn whose secret,
// filled in raw, does not parse as a URL or is cut across its parts is
// refused by check, without quoting the secret: pgx then failed at start
// with its own "cannot parse `postgres://probe:xxxxx@ss/w:xxxxxx@db...`",
// whose redaction, fooled by the '@' and '/' of the password, printed
// pieces of it ("ss/w", "x#y%z") that no redactor of the whole value hides;
// or it connected to the host "ss" and named "w:rd@db/x" as the database.
func TestPostgresDSNKeepsSecretsWhole(t *testing.T) {
	tests := []struct {
		dsn, secret string
		bad         bool
	}{
		{"postgres://probe:${env:PW}@db.example/slaprobe", "pg-secret", false},
		{"postgres://probe:${env:PW}@db.example/slaprobe", "p%40ss%2Fw%3Ard", false}, // percent-encoded in the variable
		{"postgres://probe:${env:PW}@db.example/slaprobe", "a%2Bb%24c", false},
		{"postgres://probe@db.example/slaprobe?password=${env:PW}", "pg-secret", false},
		{"postgres://probe@db.example/slaprobe?sslmode=require&password=${env:PW}", "p%26w%3Dx", false},
		{"postgres://probe@db.example/slaprobe?password=${env:PW}&sslmode=require", "pw&sslmode=disable", true}, // the '&' ends the value: pgx takes sslmode=disable from the secret
		{"postgres://probe@db.example/slaprobe?password=${env:PW}", "pw&x=secret", true},
		{"${env:PW}", "postgres://probe:pg-secret@db.example/slaprobe", false}, // the whole URL is the secret
		{"host=db.example user=probe password=${env:PW}", "p@ss/w:rd?x#y%z", false},
		{"host=db.example user=probe password='${env:PW}' sslmode=require", "two words", false},
		{"host=db.example user=probe password=${env:PW} dbname=x", "two words", true},
		{"host=db.example user=probe password='${env:PW}' dbname=x", "it's", true},
		{"host=db.example user=probe password=${env:PW}", "a dbname=other", true},
		{"postgres://probe:${env:PW}@db.example/slaprobe", "p@ss/w:rd?x#y%z", true},
		{"postgres://probe:${env:PW}@db.example/slaprobe", "p@ss/w:rd", true},
		{"postgres://probe:${env:PW}@db.example/slaprobe", "pw%zzsecret", true},
		// Split as pgx splits a URL, by libpq's rules (not net/url's): a
		// '#' or '?' in the password is in it, whole; a Unix socket's
		// directory as the host and a list of IPv6 hosts are fine.
		{"postgresql://probe:${env:PW}@db.example/slaprobe", "a#bsecret", false},
		{"postgres://probe:${env:PW}@db.example/slaprobe", "a?bsecret", false},
		{"postgres://probe:${env:PW}@%2Fvar%2Frun%2Fpostgresql/slaprobe", "pg-secret", false},
		{"postgres://probe:${env:PW}@[::1]:5432,[::2]:5433/slaprobe", "pg-secret", false},
		{"postgres://probe:${env:PW}@db.example/slaprobe", "100%secret", true},
	}
	for _, tc := range tests {
		t.Run(tc.dsn+" "+tc.secret, func(t *testing.T) {
			env := func(string) (string, bool) { return tc.secret, true }
			src := "storage: {driver: postgres, dsn: \"" + tc.dsn + "\"}\nservices: [{name: s}]\n"
			for _, opts := range []Options{{LookupEnv: env}, {LookupEnv: env, SecretsOptional: true}} {
				_, err := Parse("c.yaml", []byte(src), opts)
				switch {
				case !tc.bad && err != nil:
					t.Errorf("refused: %v", err)
				case tc.bad && (err == nil || !strings.Contains(err.Error(), "c.yaml:1: storage.dsn: ")):
					t.Errorf("err = %v, want one on storage.dsn", err)
				case tc.bad && (strings.Contains(err.Error(), tc.secret) || strings.Contains(err.Error(), "ss/w") || strings.Contains(err.Error(), "zzsecret")):
					t.Errorf("err = %v quotes the secret", err)
				}
			}
		})
	}
}

// TestPostgresDSNReadAsPgxReadsIt: check reads a postgres:// storage.dsn by
// libpq's URI rules, as pgx does, not net/url's: it accepts what pgx
// accepts (a Unix socket's directory percent-encoded in the host, a
// password holding '#' or '?', a list of hosts, the last sslmode of
// several) and, refusing what pgx refuses, quotes no part of a password.
func TestPostgresDSNReadAsPgxReadsIt(t *testing.T) {
	tests := []struct {
		dsn  string
		want string // "" for accepted
	}{
		{`postgres://probe@%2Fvar%2Frun%2Fpostgresql/slaprobe`, ""},
		{`postgres:///slaprobe?host=/var/run/postgresql`, ""},
		{`postgres://probe:hun#ter2@db.example/slaprobe`, ""},
		{`postgres://probe:hun?ter2@db.example/slaprobe`, ""},
		{`postgresql://probe@[::1]:5432,[::2]:5433/slaprobe?sslmode=require`, ""},
		{`postgres://probe@db1:5432,db2:5432/slaprobe`, ""},
		{`postgres://probe@db.example/slaprobe?sslmode=bogus&sslmode=require`, ""}, // the last wins, in pgx as in libpq
		{`postgres://probe@db.example/slaprobe?sslmode=bogus&ssl=true`, ""},        // ssl=true after it: require
		{`postgres://probe@db.example/slaprobe?sslmode=verify%2Dfull`, ""},
		{`host=db.example sslmode=bogus sslmode=require`, ""},
		{`host=db.example sslmode=''`, ""},
		{`postgres://probe:hunter2@db.example/slaprobe?sslmode=require&sslmode=requir`, `sslmode "requir"`},
		{`postgres://probe:hunter2@[::1/slaprobe`, `not a valid URL: missing ']' in host`},
		{`postgres://probe:hunter2@[]:5432/slaprobe`, `not a valid URL`},
		// A password holding '/' (a base64 one) makes what follows the
		// user its port: pgx refuses it; check too, quoting none of it.
		{`postgres://probe:hunter2/x@db.example/slaprobe`, `not a valid URL: a port that is not a number`},
	}
	for _, tc := range tests {
		t.Run(tc.dsn, func(t *testing.T) {
			src := "storage: {driver: postgres, dsn: \"" + tc.dsn + "\"}\nservices: [{name: s}]\n"
			_, err := Parse("c.yaml", []byte(src), Options{})
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			case err != nil && strings.Contains(err.Error(), "hunter2"[:4]):
				t.Errorf("err = %v quotes the password", err)
			}
		})
	}
}
