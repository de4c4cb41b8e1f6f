package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// ChannelPace lets each number send its burst at once, refuses the next
// message until the rate allows it (here: a wait longer than the caller's
// deadline is refused at once instead of sleeping), keeps numbers apart and
// follows a changed limit.
func TestChannelPace(t *testing.T) {
	var p ChannelPace
	a := helpdesk.Channel{ID: "a", MessagesPerSecond: 1}
	b := helpdesk.Channel{ID: "b", MessagesPerSecond: 1}
	short := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		t.Cleanup(cancel)
		return ctx
	}
	if err := p.Wait(short(), a); err != nil {
		t.Fatalf("first message of a: %v", err)
	}
	if err := p.Wait(short(), a); err == nil {
		t.Fatal("second message of a within the second was let through at 1 msg/s")
	}
	if err := p.Wait(short(), b); err != nil {
		t.Fatalf("b is paced with a: %v", err)
	}
	a.MessagesPerSecond = 80
	for i := range 2 {
		if err := p.Wait(short(), a); err != nil {
			t.Fatalf("after raising a to 80/s, message %d: %v", i, err)
		}
	}
	var nilPace *ChannelPace
	if err := nilPace.Wait(short(), a); err != nil {
		t.Fatalf("no pace configured: %v", err)
	}
}
