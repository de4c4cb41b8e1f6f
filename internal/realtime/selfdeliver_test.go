package realtime_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/realtime"
)

// answerLostBus is a cross-replica bus that skips its own payloads
// (SkipOwn) but whose every Publish loses its answer after the payload
// went out: it cannot know the payload is its own, and hands it back
// (before Publish returns, so the copy comes first).
type answerLostBus struct{ running chan func([]byte) }

func (b answerLostBus) SkipOwn() {}

func (b answerLostBus) Publish(ctx context.Context, p []byte) error {
	select {
	case deliver := <-b.running:
		deliver(slices.Clone(p))
		b.running <- deliver
	case <-ctx.Done():
		return ctx.Err()
	}
	return errors.New("connection reset after the commit")
}

func (b answerLostBus) Run(ctx context.Context, deliver func([]byte)) error {
	b.running <- deliver
	<-ctx.Done()
	return nil
}

// A replica delivers its own events itself, also when publishing them
// seemed to fail; when the bus hands such a payload back anyway (the
// publication did go out: its answer was lost, or the bus no longer
// remembers it as its own), a socket here still gets each event once.
func TestOwnEventOnceWhenPublishAnswerLost(t *testing.T) {
	f := newFixture(t, realtime.Options{Bus: answerLostBus{running: make(chan func([]byte), 1)}})
	u, tok := f.user("Once")
	c := f.dial(tok)
	conv := helpdesk.Conversation{ID: helpdesk.NewID(), AssigneeID: u.ID}
	for i := range 2 {
		f.hub.MessageStored(context.Background(), conv, helpdesk.Message{ID: helpdesk.NewID(), ConversationID: conv.ID, Text: fmt.Sprint("m", i)})
		for {
			fr := read(t, c)
			if fr.Event != "new_message" {
				continue // presence
			}
			// m0's second copy, if any, came before m1 was published.
			if msg, _ := fr.Data["message"].(map[string]any); msg["Text"] != fmt.Sprint("m", i) {
				t.Fatalf("new_message %v, want m%d: each once", msg["Text"], i)
			}
			break
		}
	}
}
