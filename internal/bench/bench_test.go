package bench_test

import (
	"io"
	"testing"

	"github.com/supportwhatsapp/supportwhatsapp/internal/bench"
)

// A short run: every acknowledged webhook is a stored message, and the
// report has both rows.
func TestIngestSmallRun(t *testing.T) {
	results, err := bench.Ingest(t.Context(), bench.Options{Concurrency: 8, Customers: 20, Messages: 200, Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 {
		t.Fatalf("results = %+v", results)
	}
	for _, r := range results {
		if r.Failures != 0 || r.Stored != 200 || r.P99 <= 0 || r.P50 > r.P99 {
			t.Errorf("%s: %+v", r.Name, r)
		}
	}
}
