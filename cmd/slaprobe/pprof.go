package main

import (
	"net/http"
	"net/http/pprof"
)

// mountPprof serves Go's profiler under /debug/pprof/ (run --pprof), for
// CPU and allocation profiles of a running daemon:
//
//	go tool pprof http://127.0.0.1:9115/debug/pprof/profile?seconds=60
//	go tool pprof http://127.0.0.1:9115/debug/pprof/allocs?seconds=60
//
// Off by default: a profile costs CPU while it is taken and shows the
// process's internals, so only on a listener you trust.
func mountPprof(mux *http.ServeMux) {
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
}
