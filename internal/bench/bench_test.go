package bench_test

import (
	"io"
	"strings"
	"testing"
	"time"

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

// A lane count the server would not take is refused, not run as the
// default under a misleading label.
func TestIngestRefusesBadLanes(t *testing.T) {
	_, err := bench.Ingest(t.Context(), bench.Options{Concurrency: 8, Customers: 20, Messages: 200, Lanes: -3, Out: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "INGEST_LANES=-3") {
		t.Fatalf("Ingest with -3 lanes = %v, want the configuration's INGEST_LANES error", err)
	}
}

// A short fan-out run: every acknowledged webhook reaches every agent's
// socket, and the memory figures are measured.
func TestFanoutSmallRun(t *testing.T) {
	r, err := bench.Fanout(t.Context(), bench.FanoutOptions{Agents: 5, Rate: 50, Duration: time.Second, Customers: 5, IdleConns: 50, Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if r.Acked != r.Posted || r.Missing != 0 || r.Deliveries != 5*r.Acked || r.FromAckP50 > r.FromAckP99 || r.BytesPerPair <= 0 {
		t.Errorf("result = %+v", r)
	}
}
