// Command slaprobe is a synthetic availability prober and SLA reporter.
//
// This file and its siblings only parse flags and wire the libraries
// together; every behaviour lives in config, probe, store, state, report,
// alert, daemon and platform.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	_ "time/tzdata" // IANA zones (Asia/Seoul) on hosts without zoneinfo
	"unicode"

	"github.com/slaprobe/slaprobe/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit statuses (DESIGN "Command line").
const (
	exitOK      = 0
	exitFailure = 1 // a check or run found a failure
	exitUsage   = 2 // bad usage or bad input
)

// usageError marks an error as bad usage or bad input (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// failure marks a run that worked but found a failure (exit 1); its message
// has already been printed.
var errFailure = errors.New("failure found")

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"run", "the daemon: scheduled probing, store, /metrics, alerts", cmdRun},
		{"check", "validate a config and the timelines it names", cmdCheck},
		{"once", "run every flow once now and print each step", cmdOnce},
		{"windows", "downtime windows in a range, from the store", cmdWindows},
		{"report", "the SLA report (pdf, html, json, csv, md)", cmdReport},
		{"rules", "Prometheus recording and alerting rules for the configured SLOs", cmdRules},
		{"demo", "replay incident timelines against the built-in platform and write a report", cmdDemo},
		{"platform", "the demo platform alone, with fault injection", cmdPlatform},
		{"version", "print the version (also slaprobe --version)", cmdVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first SIGINT or SIGTERM asks for a clean stop; once it has, the
	// default handling is back, so a second one ends the process at once
	// even if something is stuck (in start-up, say). `run`'s drain takes a
	// second one itself, to hurry (see hurryOnSecondSignal).
	go func() { <-ctx.Done(); stop() }()
	code := runMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		topUsage(stderr)
		return exitUsage
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		topUsage(stdout) // asked for: the output, as a subcommand's --help
		return exitOK
	}
	name := args[0]
	if name == "--version" || name == "-version" {
		// The flag most tools answer (in the --long form of DESIGN's
		// command line; -version as Go's flags take every flag): as the
		// command. -v is not: a short flag, and verbose as often.
		name = "version"
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		var ue usageError
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return exitOK
		case errors.Is(err, errFailure):
			return exitFailure
		case errors.As(err, &ue):
			// Problems in a config or timeline are FILE:LINE: message
			// lines (DESIGN), each as it is, the first like the others
			// (unless something wrapped them with words of its own).
			var ce config.Errors
			if errors.As(err, &ce) && ce.Error() == err.Error() {
				fmt.Fprintln(stderr, ce.Error())
			} else {
				fmt.Fprintf(stderr, "slaprobe %s: %v\n", c.name, err)
			}
			return exitUsage
		case ctx.Err() != nil:
			// A signal cut it short (in start-up, say: a store that does
			// not answer): say so, not only what the cancelled call said.
			fmt.Fprintf(stderr, "slaprobe %s: stopped (%v): %v\n", c.name, context.Cause(ctx), err)
			return exitFailure
		default:
			fmt.Fprintf(stderr, "slaprobe %s: %v\n", c.name, err)
			return exitFailure
		}
	}
	fmt.Fprintf(stderr, "slaprobe: unknown command %q\n\n", args[0])
	topUsage(stderr)
	return exitUsage
}

func topUsage(w io.Writer) {
	fmt.Fprintln(w, "slaprobe: synthetic availability prober and SLA reporter")
	fmt.Fprintln(w, "\nUsage: slaprobe COMMAND [flags]   (slaprobe COMMAND --help for its flags)")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nExit status: 0 ok, 1 a check or run found a failure, 2 bad usage or bad input.")
}

// newFlags returns a flag set that reports errors instead of exiting and
// prints its usage with a one-line synopsis: synopsis (which says what is
// required and what goes together) followed by every other flag the set
// defines, so that a flag added later cannot be left out of it. The usage
// goes to stdout when --help (-h) asked for it and to stderr with a flag
// error (parse sends it: see flagOutput).
func newFlags(name, synopsis string, stdout, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(&flagOutput{stdout: stdout, stderr: stderr})
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s\n\nFlags:\n", synopsisLine(fs, synopsis))
		printDefaults(fs)
	}
	return fs
}

// printDefaults is fs.PrintDefaults with each flag in its --long form, as
// the synopsis and the docs write it ("  --config string", not "  -config").
func printDefaults(fs *flag.FlagSet) {
	out := fs.Output()
	var b bytes.Buffer
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(out)
	for line := range strings.Lines(b.String()) {
		if rest, ok := strings.CutPrefix(line, "  -"); ok {
			line = "  --" + rest
		}
		_, _ = io.WriteString(out, line)
	}
}

// flagOutput is a flag set's output: what the flag package writes while
// parse parses (the usage, and an error before it) is held, then sent to
// stdout when it was help asked for (flag.ErrHelp) and to stderr when not.
type flagOutput struct {
	stdout, stderr io.Writer
	parsing        bool
	held           bytes.Buffer
}

func (o *flagOutput) Write(p []byte) (int, error) {
	if o.parsing {
		return o.held.Write(p)
	}
	return o.stderr.Write(p)
}

// done ends the parse: the held text goes to stdout for help, else stderr.
// The flag package's own line of the error err (before the usage) is left
// out: the command's caller prints it after the usage, once, as
// "slaprobe NAME: ...", where it was on both sides of the usage.
func (o *flagOutput) done(help bool, err error) {
	o.parsing = false
	w := o.stderr
	if help {
		w = o.stdout
	}
	held := o.held.Bytes()
	if err != nil && !help {
		held = bytes.TrimPrefix(held, []byte(err.Error()+"\n"))
	}
	_, _ = w.Write(held)
	o.held.Reset()
}

// synopsisLine is "slaprobe NAME SYNOPSIS" with "[--flag VALUE]" (or
// "[--flag]" for a boolean) added for each flag of fs that synopsis does
// not name, in the order PrintDefaults lists them.
func synopsisLine(fs *flag.FlagSet, synopsis string) string {
	line := strings.TrimSpace("slaprobe " + fs.Name() + " " + synopsis)
	fs.VisitAll(func(f *flag.Flag) {
		if named(synopsis, f.Name) {
			return
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			line += " [--" + f.Name + "]"
			return
		}
		line += " [--" + f.Name + " " + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_")) + "]"
	})
	return line
}

// named reports whether synopsis mentions --flag (not as the prefix of a
// longer flag's name).
func named(synopsis, name string) bool {
	for rest := synopsis; ; {
		i := strings.Index(rest, "--"+name)
		if i < 0 {
			return false
		}
		rest = rest[i+2+len(name):]
		if rest == "" || !(rest[0] == '-' || rest[0] == '_' || unicode.IsLetter(rune(rest[0])) || unicode.IsDigit(rune(rest[0]))) {
			return true
		}
	}
}

// parse parses args; a flag error is a usage error, --help is not an error.
func parse(fs *flag.FlagSet, args []string) error {
	out, _ := fs.Output().(*flagOutput)
	if out != nil {
		out.parsing = true
	}
	err := fs.Parse(args)
	if out != nil {
		out.done(errors.Is(err, flag.ErrHelp), err)
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint([]string(*m)) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func cmdVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", "", stdout, stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "slaprobe %s\n", version)
	return nil
}
