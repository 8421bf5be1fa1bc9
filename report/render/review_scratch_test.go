package render

import (
	"os"
	"testing"
	"time"
)

func TestScratchManyServices(t *testing.T) {
	r := monthReport(80)
	v := newView(r, time.UTC)
	for _, tf := range v.Timelines {
		t.Logf("%s aspect %.2f height mm %.0f", tf.Caption, tf.Aspect, 186*tf.Aspect)
	}
	start := time.Now()
	b, err := pdfBytes(r, PDFOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pdf %d bytes in %s", len(b), time.Since(start))
	os.WriteFile("/tmp/rr/many.pdf", b, 0o644)
}
