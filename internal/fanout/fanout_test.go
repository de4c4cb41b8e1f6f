package fanout_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/fanout"
	"github.com/supportwhatsapp/supportwhatsapp/internal/fanout/fanouttest"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store/storetest"
)

// collector records what one replica's Run delivers.
type collector struct {
	mu  sync.Mutex
	got []string
}

func (c *collector) deliver(p []byte) {
	c.mu.Lock()
	c.got = append(c.got, string(p))
	c.mu.Unlock()
}

func (c *collector) snapshot() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.got...)
}

// waitFor polls until every collector holds want (in order, after any
// warm-up payloads), or fails after a generous deadline.
func waitFor(t *testing.T, want []string, cs ...*collector) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		done := true
		for _, c := range cs {
			if !hasSuffix(c.snapshot(), want) {
				done = false
			}
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			for i, c := range cs {
				t.Errorf("replica %d got %d payloads, ending %v", i, len(c.snapshot()), tail(c.snapshot(), len(want)))
			}
			t.Fatalf("want every replica to end with %v", tail(want, 5))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func hasSuffix(got, want []string) bool {
	if len(got) < len(want) {
		return false
	}
	got = got[len(got)-len(want):]
	for i := range want {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func tail(s []string, n int) []string {
	if len(s) > n {
		s = s[len(s)-n:]
	}
	out := make([]string, len(s))
	for i, x := range s {
		if len(x) > 40 {
			x = x[:40] + "…"
		}
		out[i] = x
	}
	return out
}

// run starts bus.Run for c until the test ends.
func run(t *testing.T, bus fanout.Bus, c *collector) context.CancelFunc {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bus.Run(ctx, c.deliver) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return cancel
}

// warmUp publishes until every replica delivers, so the test does not race
// the subscriptions being set up.
func warmUp(t *testing.T, bus fanout.Bus, cs ...*collector) {
	t.Helper()
	for i := 0; ; i++ {
		p := fmt.Sprintf("warm-up %d", i)
		if err := bus.Publish(context.Background(), []byte(p)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		ready := true
		for _, c := range cs {
			if len(c.snapshot()) == 0 {
				ready = false
			}
		}
		if ready {
			return
		}
		if i > 200 {
			t.Fatal("the replicas never started delivering")
		}
	}
}

// runPair runs replicas a and b, each into a collector of its own, and
// warms up by publishing on warmer until both deliver.
func runPair(t *testing.T, a, b, warmer fanout.Bus) (ca, cb *collector) {
	t.Helper()
	ca, cb = &collector{}, &collector{}
	run(t, a, ca)
	run(t, b, cb)
	warmUp(t, warmer, ca, cb)
	return ca, cb
}

// payloads are what the tests send: small ones, and one past NOTIFY's
// 8000-byte limit with multi-byte characters.
func payloads() []string {
	return []string{`{"event":"new_message","n":1}`, `{"event":"new_message","n":2,"text":"Não consigo"}`,
		`{"event":"big","text":"` + strings.Repeat("ação ", 4000) + `"}`, `{"event":"new_message","n":4}`}
}

func publishAll(t *testing.T, bus fanout.Bus, ps []string) {
	t.Helper()
	for _, p := range ps {
		if err := bus.Publish(context.Background(), []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLocal(t *testing.T) {
	bus := fanout.NewLocal(16)
	var c collector
	run(t, bus, &c)
	publishAll(t, bus, payloads())
	waitFor(t, payloads(), &c)
}

// Values published on a Local bus reach RunValues as themselves, in order
// with the payloads; Run skips them.
func TestLocalValues(t *testing.T) {
	bus := fanout.NewLocal(16)
	type event struct{ n int }
	sent := &event{n: 1}
	if err := bus.Publish(context.Background(), []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := bus.PublishValue(context.Background(), sent); err != nil {
		t.Fatal(err)
	}
	if err := bus.Publish(context.Background(), []byte("b")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var got []any
	done := make(chan error, 1)
	go func() {
		done <- bus.RunValues(ctx, func(p []byte) {
			got = append(got, string(p))
			if len(got) == 3 {
				cancel()
			}
		}, func(v any) { got = append(got, v) })
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != "a" || got[1] != any(sent) || got[2] != "b" {
		t.Fatalf("RunValues delivered %v, want a, the value itself, b", got)
	}

	if err := bus.PublishValue(context.Background(), sent); err != nil {
		t.Fatal(err)
	}
	var c collector
	run(t, bus, &c)
	publishAll(t, bus, payloads())
	waitFor(t, payloads(), &c)
	if n := len(c.snapshot()); n != len(payloads()) {
		t.Errorf("Run delivered %d payloads, want %d (and no value)", n, len(payloads()))
	}
}

// Two replicas on one PostgreSQL database: what either publishes reaches
// both, in order, large payloads included; a replica whose listening
// connection is killed catches up on what was published meanwhile.
func TestPostgres(t *testing.T) {
	db := storetest.OpenPostgres(t)
	channel := "swa_fanout_test_" + strings.ToLower(rand.Text())
	log := slog.New(slog.DiscardHandler)
	withApp := func(name string) string { return withApp(t, db.PostgresURL(), name) }
	bName := "fanout_b_" + strings.ToLower(rand.Text())
	// Published before either replica started: no one's there to get it.
	before := `{"n":"before the replicas started"}`
	if err := fanout.NewPostgres(db.SQL(), withApp("fanout_old"), channel, log).Publish(context.Background(), []byte(before)); err != nil {
		t.Fatal(err)
	}
	a := fanout.NewPostgres(db.SQL(), withApp("fanout_a"), channel, log)
	b := fanout.NewPostgres(db.SQL(), withApp(bName), channel, log)
	ca, cb := runPair(t, a, b, a)

	publishAll(t, a, payloads()[:2])
	publishAll(t, b, payloads()[2:])
	waitFor(t, payloads(), ca, cb)
	for i, c := range []*collector{ca, cb} {
		if slices.Contains(c.snapshot(), before) {
			t.Errorf("replica %d replayed a payload published before it started", i)
		}
	}

	// Kill B's listening connection; publish while it reconnects.
	killListener(t, db.SQL(), bName)
	missed := []string{`{"n":"while B was away 1"}`, `{"n":"while B was away 2"}`}
	publishAll(t, a, missed)
	waitFor(t, missed, ca, cb)
	for _, p := range cb.snapshot() {
		if strings.Contains(p, "while B was away") && strings.Count(strings.Join(cb.snapshot(), "\n"), p) != 1 {
			t.Errorf("B got %q more than once", p)
		}
	}
}

// Two replicas on one Redis: the same through a capped stream.
func TestRedis(t *testing.T) {
	a, b := fanouttest.RedisPair(t, "swa_fanout_test_")
	ca, cb := runPair(t, a, b, a)
	publishAll(t, a, payloads()[:2])
	publishAll(t, b, payloads()[2:])
	waitFor(t, payloads(), ca, cb)
}

// A bus told to skip its own publications delivers only the other
// replicas' — notified inline, read from their rows, or read back after a
// reconnection — while the others still get everything it publishes.
func TestPostgresSkipOwn(t *testing.T) {
	db := storetest.OpenPostgres(t)
	channel := "swa_fanout_test_" + strings.ToLower(rand.Text())
	log := slog.New(slog.DiscardHandler)
	aName := "fanout_a_" + strings.ToLower(rand.Text())
	a := fanout.NewPostgres(db.SQL(), withApp(t, db.PostgresURL(), aName), channel, log)
	a.SkipOwn()
	b := fanout.NewPostgres(db.SQL(), db.PostgresURL(), channel, log)
	ca, cb := runPair(t, a, b, b)

	ps := payloads() // [2] is past NOTIFY's limit: A's own row is not read back either
	publishAll(t, a, ps[:3])
	publishAll(t, b, ps[3:])
	waitFor(t, ps, cb)
	waitFor(t, ps[3:], ca)

	killListener(t, db.SQL(), aName)
	publishAll(t, a, []string{`{"n":"A's own while away"}`})
	publishAll(t, b, []string{`{"n":"B's while A was away"}`})
	waitFor(t, []string{`{"n":"A's own while away"}`, `{"n":"B's while A was away"}`}, cb)
	waitFor(t, []string{`{"n":"B's while A was away"}`}, ca)
	for _, p := range ca.snapshot() {
		if slices.Contains(ps[:3], p) || strings.Contains(p, "A's own") {
			t.Errorf("A got its own payload %.40q", p)
		}
	}
}

func TestRedisSkipOwn(t *testing.T) {
	a, b := fanouttest.RedisPair(t, "swa_fanout_test_")
	a.SkipOwn()
	ca, cb := runPair(t, a, b, b)
	ps := payloads()
	publishAll(t, a, ps[:3])
	publishAll(t, b, ps[3:])
	waitFor(t, ps, cb)
	waitFor(t, ps[3:], ca)
	for _, p := range ca.snapshot() {
		if slices.Contains(ps[:3], p) {
			t.Errorf("A got its own payload %.40q", p)
		}
	}
}

// withApp is dbURL with application_name set, so that a test can find a
// bus's listening connection (killListener).
func withApp(t *testing.T, dbURL, name string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// killListener ends the one connection named name (withApp): a bus's
// listener, which then reconnects and catches up.
func killListener(t *testing.T, db *sql.DB, name string) {
	t.Helper()
	res, err := db.Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", name)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("terminated %d connections of %s, want 1", n, name)
	}
}
