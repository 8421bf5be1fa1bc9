package config

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// This file decodes the storage: section.

var (
	storageKeys = []string{"driver", "dsn", "retention", "minute_retention", "hour_retention"}
)

func (p *parser) storage(n *yaml.Node, key string) {
	s := &p.cfg.Storage
	var dsnNode *yaml.Node
	p.object(n, key, storageKeys, func(e entry, key string) {
		switch e.name {
		case "driver":
			if v, ok := p.enum(e.v, key, "driver", "sqlite", "postgres"); ok {
				s.Driver = v
			}
		case "dsn":
			dsnNode = e.v
			if v, ok := p.str(e.v, key); ok {
				s.DSN = v
				p.template(e.v, key, v, nil)
			}
		case "retention":
			if v, ok := p.atLeast(e.v, key, MinRetention); ok {
				s.Retention = v
			}
		case "minute_retention":
			if v, ok := p.atLeast(e.v, key, MinRetention); ok {
				s.MinuteRetention = v
			}
		case "hour_retention":
			if v, ok := p.atLeast(e.v, key, MinRetention); ok {
				s.HourRetention = v
			}
		}
	})
	if s.Driver == "postgres" && s.DSN == "" {
		p.errf(orNode(dsnNode, p.resolve(n)), key+".dsn", "is required with driver postgres")
	}
	if s.Driver == "postgres" && s.DSN != "" && !strings.Contains(s.DSN, "${") &&
		!strings.HasPrefix(s.DSN, "postgres://") && !strings.HasPrefix(s.DSN, "postgresql://") && !strings.Contains(s.DSN, "=") {
		p.errf(dsnNode, key+".dsn", "%q: want a postgres:// URL (or keyword=value pairs: host=... dbname=...)", s.DSN)
	}
	if s.Driver != "postgres" && dsnNode != nil {
		if problem := sqliteDSNProblem(s.DSN); problem != "" {
			p.errf(dsnNode, key+".dsn", "%q: %s", s.DSN, problem)
		}
	}
}

// sqliteDSNProblem says why a SQLite dsn would be refused when the store
// opens it ("" when it would not): it is a plain file path, not a URI with
// parameters (the store sets its own), nor a PostgreSQL URL under the
// sqlite driver. A dsn with a reference is checked when it is resolved.
func sqliteDSNProblem(dsn string) string {
	switch {
	case dsn == "" || strings.Contains(dsn, "${"):
		return ""
	case strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://"):
		return "is a PostgreSQL URL: set driver: postgres"
	case dsn == ":memory:" || strings.HasPrefix(dsn, "file:") || strings.ContainsAny(dsn, "?#"):
		return `a SQLite dsn is a plain file path (no "?", "#", ":memory:" or file: URI; slaprobe sets the connection's parameters)`
	}
	return ""
}
