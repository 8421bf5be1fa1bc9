package store

import "testing"

// TestPostgresName: the name a TimeoutError gives a PostgreSQL database
// says where it is and as whom, never the password nor the parameters.
func TestPostgresName(t *testing.T) {
	for _, tc := range []struct{ dsn, want string }{
		{"postgres://probe:s3cret@db1.internal:6432/slaprobe?sslmode=require", "postgres://probe@db1.internal:6432/slaprobe"},
		{"postgresql://probe:s3cret@10.0.0.5/slaprobe", "postgres://probe@10.0.0.5:5432/slaprobe"},
		{"host=db1 port=5433 user=report password=s3cret dbname=sla", "postgres://report@db1:5433/sla"},
		{"postgres://probe:s3cret@db1/slaprobe?sslmode=bogus", "postgres"},
		// An '@' left unescaped in the password: pgx takes what follows
		// it for the host, which is no name to print.
		{"postgres://probe:s3@cret@db1/slaprobe", "postgres"},
		{"postgres://probe:s3cret@[::1]:5433/slaprobe", "postgres://probe@[::1]:5433/slaprobe"},
		{"host=/var/run/postgresql user=probe password=s3cret dbname=sla", "postgres://probe@/sla?host=/var/run/postgresql"},
	} {
		if got := postgresName(tc.dsn); got != tc.want {
			t.Errorf("postgresName(%q) = %q, want %q", tc.dsn, got, tc.want)
		}
	}
}
