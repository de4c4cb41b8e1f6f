package helpdesk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// CustomerServiceWindow is how long after a customer's last message to a
// number the business may send them free-form messages from that number;
// outside it only templates go.
const CustomerServiceWindow = 24 * time.Hour

// WindowOpen reports whether WhatsApp takes free-form messages to c's
// customer from c's number at now. The window is the number's, not the
// customer's: it counts from their last message to that number, whichever
// of the customer's conversations on it holds that message.
func WindowOpen(ctx context.Context, st ConversationReadStore, c Conversation, now time.Time) (bool, error) {
	last, err := st.LastInboundAt(ctx, c.ChannelID, c.Customer.ID)
	if err != nil {
		return false, err
	}
	return last != nil && now.Sub(*last) <= CustomerServiceWindow, nil
}

// maxTextLength is WhatsApp's limit on a text message body.
const maxTextLength = 4096

// CodeOutsideWindow is the error code of a free-form message to a customer
// whose last message is older than CustomerServiceWindow.
const CodeOutsideWindow = "outside_window"

// CodeConversationClosed refuses replies to a closed conversation.
const CodeConversationClosed = "conversation_closed"

// CodeChannelDisabled refuses messages through a number an admin disabled.
const CodeChannelDisabled = "channel_disabled"

// CodeMediaUnavailable is the error of an inbound message whose file could
// not be downloaded from Meta for good (too large, bad checksum, refused,
// or still failing after the last retry): the message stays, its file
// never comes.
const CodeMediaUnavailable = "media_unavailable"

// Enqueuer puts the durable follow-up work of a change in the change's own
// transaction; package jobs implements it.
type Enqueuer interface {
	// EnqueueSend schedules the delivery of the stored outbound message.
	EnqueueSend(ctx context.Context, tx Store, messageID string) error
	// EnqueueReadReceipt schedules Meta's read receipt for an inbound
	// message.
	EnqueueReadReceipt(ctx context.Context, tx Store, messageID string) error
	// EnqueueMediaDownload schedules the download of an inbound message's
	// file.
	EnqueueMediaDownload(ctx context.Context, tx Store, messageID string) error
}

// TemplateRef names an approved WhatsApp template and its parameters.
type TemplateRef struct {
	Name       string
	Language   string
	Components json.RawMessage // Meta's components array, passed through
}

// OutboundParams is a reply an agent sends: text, a template, or a file
// (Media, already saved under MEDIA_DIR, with Text as its caption).
type OutboundParams struct {
	ConversationID string
	Text           string
	ReplyToID      string
	Template       *TemplateRef
	Media          *Media
}

// OutboundMediaType returns the WhatsApp message type for a file of this
// MIME type and size, or a message saying why WhatsApp would refuse it
// (contract §7: types and limits).
func OutboundMediaType(mimeType string, size int64) (string, string) {
	const mb = 1 << 20
	kinds := []struct {
		kind  string
		max   int64
		mimes []string
	}{
		{"image", 5 * mb, []string{"image/jpeg", "image/png"}},
		{"sticker", 500 << 10, []string{"image/webp"}},
		{"audio", 16 * mb, []string{"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}},
		{"video", 16 * mb, []string{"video/mp4", "video/3gpp"}},
		{"document", 100 * mb, []string{"text/plain", "application/pdf", "application/msword",
			"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/vnd.ms-excel",
			"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/vnd.ms-powerpoint",
			"application/vnd.openxmlformats-officedocument.presentationml.presentation"}},
	}
	base := strings.TrimSpace(strings.Split(mimeType, ";")[0])
	for _, k := range kinds {
		for _, m := range k.mimes {
			if base != m {
				continue
			}
			if size > k.max {
				if k.max < mb {
					return "", fmt.Sprintf("%s files may have at most %d KB", k.kind, k.max>>10)
				}
				return "", fmt.Sprintf("%s files may have at most %d MB", k.kind, k.max/mb)
			}
			return k.kind, ""
		}
	}
	return "", "WhatsApp does not accept files of type " + base
}

// OutboundStore holds what sending writes.
type OutboundStore interface {
	// NoteOutboundMessage records an outgoing message as the conversation's
	// latest activity and clears its unread count (the agent has read it).
	NoteOutboundMessage(ctx context.Context, conversationID, preview string, at, now time.Time) error
	// MarkMessageSent stores Meta's wamid on a queued message and moves it to
	// sent; false when the message was no longer queued.
	MarkMessageSent(ctx context.Context, id, wamid string, at time.Time) (bool, error)
	// MarkMessageFailed fails a queued message with Meta's reason; false
	// when the message was no longer queued.
	MarkMessageFailed(ctx context.Context, id, code, message string) (bool, error)
	// SendAttemptedAt returns when a send request for the message last left
	// for Meta without its answer being recorded (nil: none pending).
	SendAttemptedAt(ctx context.Context, id string) (*time.Time, error)
	// SetSendAttempt marks a send request as in flight (at set) or answered.
	SetSendAttempt(ctx context.Context, id string, at *time.Time) error
	// QueuedOutboundBefore returns an outbound message of id's conversation
	// that is still queued and comes before id (created_at, then id); ""
	// when there is none or id is unknown. Messages created before since
	// are not considered.
	QueuedOutboundBefore(ctx context.Context, id string, since time.Time) (string, error)
	// ClaimWAMID attaches wamid to an outbound message that has none, when
	// no other message holds it; it reports whether it did.
	ClaimWAMID(ctx context.Context, id, wamid string) (bool, error)
	// MarkInboundRead marks the conversation's inbound messages created up
	// to upTo as read and recounts its unread messages.
	MarkInboundRead(ctx context.Context, conversationID string, upTo, now time.Time) (int, error)
	// SetMessageMedia records where a message's downloaded file is, relative
	// to MEDIA_DIR.
	SetMessageMedia(ctx context.Context, id, path, mimeType string, size int64) error
	// SetMessageMediaID records the id Meta gave an uploaded file.
	SetMessageMediaID(ctx context.Context, id, mediaID string) error
	// SetMessageMediaError records why a message's file will never be
	// downloaded, as its error with CodeMediaUnavailable; a message whose
	// file is stored already is left as it is.
	SetMessageMediaError(ctx context.Context, id, reason string) error
	// SetChannelStatus records a channel's health.
	SetChannelStatus(ctx context.Context, id string, status ChannelStatus, reason string, now time.Time) error
}

// refuseReply says why actor may not reply in c (nil: they may): it is
// closed, or assigned to someone else and actor is no supervisor.
func refuseReply(actor Actor, c Conversation) error {
	if c.AssigneeID != "" && c.AssigneeID != actor.User.ID && !actor.User.Role.AtLeast(RoleSupervisor) {
		return &Error{Code: CodeForbidden, Message: "this conversation is assigned to another agent"}
	}
	if c.Status == StatusClosed {
		return &Error{Code: CodeConversationClosed, Message: "the conversation is closed; reopen it to reply"}
	}
	return nil
}

// SendMessage stores an agent's reply as queued and, in the same
// transaction, schedules its delivery. Errors: not_found (no such
// conversation, or one the actor may not see), forbidden (assigned to
// someone else), conversation_closed, outside_window, validation_failed.
func (s *Service) SendMessage(ctx context.Context, actor Actor, p OutboundParams) (Message, error) {
	if s.jobs == nil {
		return Message{}, errors.New("send message: no job queue configured")
	}
	conv, err := s.VisibleConversation(ctx, actor.User, p.ConversationID)
	if err != nil {
		return Message{}, err
	}
	if err := refuseReply(actor, conv); err != nil {
		return Message{}, err
	}
	if ch, err := s.store.GetChannel(ctx, conv.ChannelID); err != nil {
		return Message{}, err
	} else if ch.Status == ChannelDisabled {
		return Message{}, &Error{Code: CodeChannelDisabled, Message: "this conversation's WhatsApp number is disabled; an admin can enable it again under channels"}
	}
	now := s.now()
	msg := Message{
		ID: NewID(), ConversationID: conv.ID, Direction: DirectionOutbound, SenderType: SenderAgent,
		SenderID: actor.User.ID, Status: MessageQueued, CreatedAt: now,
	}
	fields := map[string]string{}
	switch {
	case p.Media != nil:
		kind, problem := OutboundMediaType(p.Media.MimeType, p.Media.Size)
		if problem != "" {
			fields["file"] = problem
		}
		caption := strings.TrimSpace(p.Text)
		if utf8.RuneCountInString(caption) > 1024 {
			fields["caption"] = "must be at most 1024 characters"
		}
		msg.Type, msg.Text, msg.Media = kind, caption, p.Media
	case p.Template != nil:
		if strings.TrimSpace(p.Template.Name) == "" {
			fields["template.name"] = "is required"
		}
		if strings.TrimSpace(p.Template.Language) == "" {
			fields["template.language"] = "is required"
		}
		// Absent or null: a template without parameters, sent without the
		// field. Anything else must be Meta's array, or the send would fail
		// later, where the agent no longer sees why.
		components := bytes.TrimSpace(p.Template.Components)
		if string(components) == "null" {
			components = nil
		}
		var list []json.RawMessage
		if components != nil && json.Unmarshal(components, &list) != nil {
			fields["template.components"] = "must be a JSON array"
		}
		if p.Text != "" {
			fields["text"] = "send either text or a template"
		}
		msg.Type = "template"
		msg.Text = p.Template.Name
		tpl := map[string]any{"name": p.Template.Name, "language": p.Template.Language}
		if components != nil {
			tpl["components"] = json.RawMessage(components)
		}
		raw, _ := json.Marshal(tpl)
		msg.Raw = raw
	default:
		text := strings.TrimSpace(p.Text)
		switch {
		case text == "":
			fields["text"] = "is required"
		case utf8.RuneCountInString(text) > maxTextLength:
			fields["text"] = fmt.Sprintf("must be at most %d characters", maxTextLength)
		}
		msg.Type, msg.Text = "text", text
	}
	if p.ReplyToID != "" {
		ref, err := s.store.GetMessage(ctx, p.ReplyToID)
		if err != nil || ref.ConversationID != conv.ID || !ValidID(p.ReplyToID) {
			fields["replyToId"] = "is not a message of this conversation"
		}
		msg.ReplyToID = p.ReplyToID
	}
	if len(fields) > 0 {
		return Message{}, ValidationError(fields)
	}
	if msg.Type != "template" {
		open, err := WindowOpen(ctx, s.store, conv, now)
		if err != nil {
			return Message{}, err
		}
		if !open {
			return Message{}, &Error{Code: CodeOutsideWindow,
				Message: "the customer's last message is older than 24 hours; WhatsApp only accepts an approved template now"}
		}
	}
	var took ActionResult
	err = s.store.InTx(ctx, func(tx Store) error {
		// The checks made above, again on the locked row: a supervisor may
		// have moved, assigned or closed it meanwhile.
		c, err := tx.LockConversation(ctx, conv.ID)
		if errors.Is(err, ErrNotFound) {
			return &Error{Code: CodeNotFound, Message: "conversation not found"}
		}
		if err != nil {
			return err
		}
		if !mayAct(actor, c, true) {
			return &Error{Code: CodeNotFound, Message: "conversation not found"}
		}
		if err := refuseReply(actor, c); err != nil {
			return err
		}
		// A person answering a conversation the bot or a queue holds takes
		// it over, as POST …/takeover would: otherwise the bot goes on
		// answering the customer's reply to the agent, and the queue may
		// hand the conversation to someone else.
		if c.Status == StatusBot || c.Status == StatusWaiting {
			st, ev, err := takeover(actor, c)
			switch {
			case errors.Is(err, errNoChange):
			case err != nil:
				return err
			default:
				ev.Data["onReply"] = true
				if took, err = applyAction(ctx, tx, actor, c, st, ev, now); err != nil {
					return err
				}
			}
		}
		if _, err := tx.InsertMessage(ctx, msg); err != nil {
			return err
		}
		if err := tx.NoteOutboundMessage(ctx, conv.ID, Preview(msg), now, now); err != nil {
			return err
		}
		// Whoever replies has read what came before, and the customer sees
		// so: the receipt of the newest message covers the earlier ones.
		if n, err := tx.MarkInboundRead(ctx, conv.ID, now, now); err != nil {
			return err
		} else if n > 0 {
			newest, err := tx.NewestInboundMessageID(ctx, conv.ID, now)
			if err != nil {
				return err
			}
			if newest != "" {
				if err := s.jobs.EnqueueReadReceipt(ctx, tx, newest); err != nil {
					return err
				}
			}
		}
		return s.jobs.EnqueueSend(ctx, tx, msg.ID)
	})
	if err != nil {
		return Message{}, fmt.Errorf("send message: %w", err)
	}
	if took.Event.ID != "" {
		s.notifier().ConversationChanged(ctx, took)
	}
	if c, err := s.store.GetConversation(ctx, conv.ID); err == nil {
		conv = c // with this message as its last
	}
	s.notifier().MessageStored(ctx, conv, msg)
	return msg, nil
}

// VisibleConversation returns the conversation when u may see it, and a
// not_found error otherwise (the same answer as for one that does not
// exist, so ids cannot be probed).
func (s *Service) VisibleConversation(ctx context.Context, u User, id string) (Conversation, error) {
	notFound := &Error{Code: CodeNotFound, Message: "conversation not found"}
	if !ValidID(id) {
		return Conversation{}, notFound
	}
	c, err := s.store.GetConversation(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Conversation{}, notFound
	}
	if err != nil {
		return Conversation{}, err
	}
	if !ViewerFor(u).CanSee(c) {
		return Conversation{}, notFound
	}
	return c, nil
}

// SetEnqueuer connects the job queue; until then SendMessage fails.
func (s *Service) SetEnqueuer(e Enqueuer) { s.jobs = e }

// MarkRead marks an inbound message, and every earlier one of its
// conversation, as read, and schedules WhatsApp's read receipt (the blue
// ticks) for it. Errors: not_found (no such message, or one the actor may
// not see), unprocessable (an outbound message).
func (s *Service) MarkRead(ctx context.Context, actor Actor, messageID string) (Message, error) {
	notFound := &Error{Code: CodeNotFound, Message: "message not found"}
	if !ValidID(messageID) {
		return Message{}, notFound
	}
	m, err := s.store.GetMessage(ctx, messageID)
	if errors.Is(err, ErrNotFound) {
		return Message{}, notFound
	}
	if err != nil {
		return Message{}, err
	}
	if _, err := s.VisibleConversation(ctx, actor.User, m.ConversationID); err != nil {
		return Message{}, notFound
	}
	if m.Direction != DirectionInbound {
		return Message{}, &Error{Code: CodeUnprocessable, Message: "only messages from the customer can be marked read"}
	}
	now := s.now()
	err = s.store.InTx(ctx, func(tx Store) error {
		n, err := tx.MarkInboundRead(ctx, m.ConversationID, m.CreatedAt, now)
		if err != nil || n == 0 || m.ReadAt != nil || m.WAMessageID == "" || s.jobs == nil {
			return err
		}
		return s.jobs.EnqueueReadReceipt(ctx, tx, m.ID)
	})
	if err != nil {
		return Message{}, fmt.Errorf("mark read: %w", err)
	}
	return s.store.GetMessage(ctx, messageID)
}
