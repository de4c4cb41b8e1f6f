package jobs

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp"
)

// TestThrottledDelay: throttled sends back off from 1 s, doubling, to the
// 5-minute cap, with jitter that only shortens; what Meta asked for is a
// floor, even past the cap.
func TestThrottledDelay(t *testing.T) {
	for _, tc := range []struct {
		n     int
		floor time.Duration
		want  time.Duration // the delay before jitter
	}{
		{0, 0, time.Second},
		{1, 0, 2 * time.Second},
		{2, 0, 4 * time.Second},
		{5, 0, 32 * time.Second},
		{8, 0, 256 * time.Second},
		{9, 0, 5 * time.Minute},
		{300, 0, 5 * time.Minute},
		{1 << 40, 0, 5 * time.Minute},
		{-1, 0, time.Second}, // a count that cannot be: the first delay
		{-1 << 40, 0, time.Second},
	} {
		for range 200 {
			got := throttledDelay(tc.n, tc.floor)
			if got > tc.want || got < tc.want-tc.want/5 {
				t.Fatalf("throttledDelay(%d, 0) = %v, want %v less up to a fifth of jitter", tc.n, got, tc.want)
			}
		}
	}
	// Jitter: messages throttled together do not all come back together.
	seen := map[time.Duration]bool{}
	for range 50 {
		seen[throttledDelay(3, 0)] = true
	}
	if len(seen) < 10 {
		t.Errorf("50 delays after the same throttle took %d values, want them spread", len(seen))
	}

	pair := whatsapp.MinRetryDelay(&whatsapp.APIError{HTTPStatus: 400, Code: 131056})
	for _, tc := range []struct {
		name  string
		n     int
		floor time.Duration
		min   time.Duration
		max   time.Duration
	}{
		{"131056 pair limit, first retry", 0, pair, 6 * time.Second, 6 * time.Second},
		{"131056 pair limit, later retry", 4, pair, 12800 * time.Millisecond, 16 * time.Second},
		{"Retry-After under the backoff", 3, 2 * time.Second, 6400 * time.Millisecond, 8 * time.Second},
		{"Retry-After past the cap", 20, time.Hour, time.Hour, time.Hour},
		{"negative floor", 0, -time.Hour, 800 * time.Millisecond, time.Second},
	} {
		for range 50 {
			if got := throttledDelay(tc.n, tc.floor); got < tc.min || got > tc.max {
				t.Fatalf("%s: throttledDelay(%d, %v) = %v, want %v to %v", tc.name, tc.n, tc.floor, got, tc.min, tc.max)
			}
		}
	}
}

// TestThrottledRetriesCount reads the count the job keeps in its metadata;
// anything else there counts as no throttled retry yet.
func TestThrottledRetriesCount(t *testing.T) {
	for md, want := range map[string]int{
		``:                                       0,
		`{}`:                                     0,
		`{"snoozes": 7}`:                         0,
		`{"throttled_retries": 3, "snoozes": 9}`: 3,
		`{"throttled_retries": "3"}`:             0,
		`{"throttled_retries": -4}`:              0,
		`{"throttled_retries": 2.5}`:             0,
		`{"throttled_retries": null}`:            0,
		`[1, 2]`:                                 0,
		`not json`:                               0,
	} {
		job := &river.Job[SendArgs]{JobRow: &rivertype.JobRow{Metadata: []byte(md)}}
		if got := throttledRetries(job); got != want {
			t.Errorf("throttledRetries(%s) = %d, want %d", md, got, want)
		}
	}
	if got := throttledRetries(&river.Job[SendArgs]{}); got != 0 {
		t.Errorf("throttledRetries(no row) = %d, want 0", got)
	}
}

// TestClassifyThrottledSnoozesWithBackoff: the snooze of a throttled send
// grows with the job's count of throttled retries, not with River's attempt
// (which a snooze gives back, so it stays at 1).
func TestClassifyThrottledSnoozesWithBackoff(t *testing.T) {
	w := &SendWorker{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	job := func(metadata string) *river.Job[SendArgs] {
		return &river.Job[SendArgs]{JobRow: &rivertype.JobRow{Attempt: 1, MaxAttempts: sendMaxAttempts,
			CreatedAt: time.Now().Add(-time.Hour), Metadata: []byte(metadata)}}
	}
	snooze := func(j *river.Job[SendArgs], err error) time.Duration {
		t.Helper()
		var s *river.JobSnoozeError
		if got := w.classify(context.Background(), j, helpdesk.Message{ID: "m1"}, helpdesk.Channel{ID: "c1"}, err); !errors.As(got, &s) {
			t.Fatalf("classify(%v) = %v, want a snooze", err, got)
		}
		return s.Duration
	}
	rate := &whatsapp.APIError{HTTPStatus: 400, Code: 130429, Message: "(#130429) Rate limit hit"}
	if d := snooze(job(``), rate); d > time.Second {
		t.Errorf("first throttled retry in %v, want about 1 s", d)
	}
	if d := snooze(job(`{"throttled_retries": 4, "snoozes": 4}`), rate); d < 12*time.Second || d > 16*time.Second {
		t.Errorf("fifth throttled retry in %v, want about 16 s", d)
	}
	if d := snooze(job(`{"throttled_retries": 40}`), rate); d < 4*time.Minute || d > 5*time.Minute {
		t.Errorf("throttled retry after a long limit in %v, want about 5 min", d)
	}
	spam := &whatsapp.APIError{HTTPStatus: 400, Code: 131048, Message: "(#131048) Spam rate limit hit"}
	if d := snooze(job(`{"throttled_retries": 12}`), spam); d < 4*time.Minute {
		t.Errorf("131048 after 12 retries in %v, want about 5 min", d)
	}
	pair := &whatsapp.APIError{HTTPStatus: 400, Code: 131056, Message: "(#131056) Pair rate limit hit"}
	if d := snooze(job(``), pair); d != 6*time.Second {
		t.Errorf("131056 retried in %v, want Meta's 6 s", d)
	}
	maintenance := &whatsapp.APIError{HTTPStatus: 500, Code: 131057, Message: "(#131057) Business account is in maintenance mode"}
	if d := snooze(job(``), maintenance); d != time.Minute {
		t.Errorf("131057 retried in %v, want Meta's minute", d)
	}
	retryAfter := &whatsapp.APIError{HTTPStatus: 429, RetryAfter: 20 * time.Minute}
	if d := snooze(job(``), retryAfter); d != 20*time.Minute {
		t.Errorf("429 with Retry-After 20 min retried in %v, want 20 min", d)
	}
}
