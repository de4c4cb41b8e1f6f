// Package fanouttest gives tests real fan-out buses.
package fanouttest

import (
	"context"
	"crypto/rand"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/supportwhatsapp/supportwhatsapp/internal/fanout"
)

// RedisPair returns two replicas' buses on one fresh stream (named after
// prefix) of the Redis at TEST_REDIS_URL, deleted when the test ends. The
// cleanup is registered here, so whatever the test registers later (the
// buses' users) stops first. Without TEST_REDIS_URL the test is skipped,
// or fails under CI=true.
func RedisPair(t testing.TB, prefix string) (a, b *fanout.Redis) {
	t.Helper()
	u := os.Getenv("TEST_REDIS_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TEST_REDIS_URL is not set (CI=true: the Redis tests must run)")
		}
		t.Skip("TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0); skipping the Redis tests")
	}
	stream := prefix + strings.ToLower(rand.Text())
	log := slog.New(slog.DiscardHandler)
	a, err := fanout.NewRedis(u, stream, log)
	if err != nil {
		t.Fatal(err)
	}
	b, err = fanout.NewRedis(u, stream, log)
	if err != nil {
		_ = a.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = a.Delete(context.Background())
		_ = a.Close()
		_ = b.Close()
	})
	if err := a.Ping(context.Background()); err != nil {
		t.Fatalf("Redis at TEST_REDIS_URL: %v", err)
	}
	return a, b
}
