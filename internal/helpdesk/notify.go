package helpdesk

import (
	"context"
	"errors"
	"slices"
	"time"
)

// EventCreated marks the ActionResult a Notifier hears for a conversation
// a customer's message just opened; an empty Event.Type is a plain change
// (a new message, its unread count).
const EventCreated = "created"

// Notifier hears about changes after they are committed, so the people
// watching learn of them (the real-time hub implements it; domain code does
// not know about sockets). Calls come from request and job goroutines and
// must not block for long; failures are the notifier's to log. A Notifier
// may keep what it is given past the call (the hub encodes it later, if at
// all): callers do not change what a Conversation or Message points to
// (times, media) once it is told.
type Notifier interface {
	// MessageStored: m is a new message of conversation c (the customer's,
	// an agent's or the system's).
	MessageStored(ctx context.Context, c Conversation, m Message)
	// MessageStatusChanged: m (as stored now) was sent, delivered, read or
	// failed.
	MessageStatusChanged(ctx context.Context, m Message)
	// ConversationChanged: a conversation was opened, acted on (takeover,
	// transfer, close, reopen, automatic assignment) or otherwise changed.
	ConversationChanged(ctx context.Context, res ActionResult)
}

type nopNotifier struct{}

func (nopNotifier) MessageStored(context.Context, Conversation, Message) {}
func (nopNotifier) MessageStatusChanged(context.Context, Message)        {}
func (nopNotifier) ConversationChanged(context.Context, ActionResult)    {}

// SetNotifier connects the real-time hub; until then changes are told to
// nobody.
func (s *Service) SetNotifier(n Notifier) {
	if n == nil {
		n = nopNotifier{}
	}
	s.notify = n
}

// notifier returns the configured Notifier, never nil.
func (s *Service) notifier() Notifier {
	if s.notify == nil {
		return nopNotifier{}
	}
	return s.notify
}

// notifyTimeout bounds the look-ups Ingested makes after a commit.
const notifyTimeout = 30 * time.Second

// Ingested tells the Notifier what a committed webhook delivery changed:
// each conversation it touched (opened or given a message), its messages,
// and the messages whose status it carried, as they are stored now (a
// status that did not move them forward still reports the current one).
// It runs after the commit and before the webhook is answered, on a
// context of its own: Meta hanging up must not silence the dashboards.
func (s *Service) Ingested(ctx context.Context, d WebhookDelivery, res IngestResult) {
	if res.Duplicate {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), notifyTimeout)
	defer cancel()
	n := s.notifier()
	// Slices, not maps: a delivery touches a few conversations (Meta sends
	// most messages one per webhook), and the maps cost more than the scans.
	var told []Conversation
	for _, m := range res.Messages {
		i := slices.IndexFunc(told, func(c Conversation) bool { return c.ID == m.ConversationID })
		if i < 0 {
			var c Conversation
			if j := slices.IndexFunc(res.Conversations, func(c Conversation) bool { return c.ID == m.ConversationID }); j >= 0 {
				c = res.Conversations[j]
			} else {
				var err error
				if c, err = s.store.GetConversation(ctx, m.ConversationID); err != nil {
					s.log.WarnContext(ctx, "notify: conversation of a new message", "conversation_id", m.ConversationID, "err", err)
					continue
				}
			}
			told = append(told, c)
			i = len(told) - 1
			ev := ConversationEvent{ConversationID: c.ID}
			if slices.ContainsFunc(res.NewConversations, func(o Conversation) bool { return o.ID == c.ID }) {
				ev.Type = EventCreated
			}
			n.ConversationChanged(ctx, ActionResult{Conversation: c, Event: ev})
		}
		n.MessageStored(ctx, told[i], m)
	}
	for _, b := range d.Batches {
		for _, st := range b.Statuses {
			if st.WAMessageID == "" {
				continue
			}
			id, err := s.store.MessageIDByWAMID(ctx, st.WAMessageID)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			var m Message
			if err == nil {
				m, err = s.store.GetMessage(ctx, id)
			}
			if err != nil {
				s.log.WarnContext(ctx, "notify: message of a status", "wamid", st.WAMessageID, "err", err)
				continue
			}
			n.MessageStatusChanged(ctx, m)
		}
	}
}

// BotActed tells the Notifier what a committed bot turn changed: the
// replies it queued and, when queued is true, the conversation's move from
// the bot to a department queue (whose agents now see it).
func (s *Service) BotActed(ctx context.Context, conversationID string, msgs []Message, queued bool) {
	if len(msgs) == 0 && !queued {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), notifyTimeout)
	defer cancel()
	c, err := s.store.GetConversation(ctx, conversationID)
	if err != nil {
		s.log.WarnContext(ctx, "notify: conversation of a bot turn", "conversation_id", conversationID, "err", err)
		return
	}
	n := s.notifier()
	if queued {
		n.ConversationChanged(ctx, ActionResult{Conversation: c, Event: ConversationEvent{ConversationID: c.ID, Type: EventBotHandoff}})
	}
	for _, m := range msgs {
		n.MessageStored(ctx, c, m)
	}
}
