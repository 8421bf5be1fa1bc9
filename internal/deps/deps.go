// Package deps pins the project's chosen third-party modules while the
// packages that use them are being written. It is removed once every module
// below is imported by real code.
package deps

import (
	_ "github.com/go-co-op/gocron/v2"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/jmoiron/sqlx"
	_ "github.com/johnfercher/maroto/v2"
	_ "github.com/jonboulle/clockwork"
	_ "github.com/ohler55/ojg/jp"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/schollz/progressbar/v3"
	_ "github.com/wcharczuk/go-chart/v2"
	_ "go.yaml.in/yaml/v3"
	_ "modernc.org/sqlite"
)
