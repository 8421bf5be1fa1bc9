package render

import (
	"bytes"
	"html"
	"strings"
	"testing"

	"github.com/slaprobe/slaprobe/report"
)

// TestFleetCausesShowTheirEnds: a counted window's causes come from several
// locations and overlap (seoul-a refused until 21:50 while busan-b timed out
// from 21:48 on); the tables print each with its end, so that one
// beginning is not read as the end of the one before. A window whose cause
// changed one after another prints as before: from each change on.
func TestFleetCausesShowTheirEnds(t *testing.T) {
	r := fixture()
	w := &r.Services[0].Windows[0]
	w.Causes = []report.Cause{
		{Step: "receive", Error: "message 42 not delivered within 10s", From: at("2021-05-05 21:47:00"), To: ptr(at("2021-05-05 21:50:00"))},
		{Step: "receive", Error: "receive: i/o timeout", From: at("2021-05-05 21:48:00"), To: ptr(at("2021-05-06 00:08:00"))},
		{Step: "send", Error: "send: HTTP 503", From: at("2021-05-05 23:10:00")},
	}
	r.Windows = []report.Window{*w}
	want := "from 05-05 21:47:00 to 05-05 21:50:00: receive: message 42 not delivered within 10s; " +
		"from 05-05 21:48:00 to 05-06 00:08:00: receive: i/o timeout; from 05-05 23:10:00: send: HTTP 503"
	for name, f := range map[string]func(*bytes.Buffer, *report.Report) error{
		"markdown": func(b *bytes.Buffer, r *report.Report) error { return Markdown(b, r) },
		"html":     func(b *bytes.Buffer, r *report.Report) error { return HTML(b, r) },
	} {
		var b bytes.Buffer
		if err := f(&b, r); err != nil {
			t.Fatal(err)
		}
		if out := html.UnescapeString(b.String()); !strings.Contains(out, want) {
			t.Errorf("%s lacks %q", name, want)
		}
	}
	// One after another: the fixture's own window.
	seq := "from 05-05 21:47:00: receive: message 42 not delivered within 10s; from 05-05 23:10:00: send: HTTP 503"
	if got := fmtCauses(fixture().Services[0].Windows[0], kst); got != seq {
		t.Errorf("sequential causes: %q, want %q", got, seq)
	}
}
