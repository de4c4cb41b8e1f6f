package helpdesk

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The satisfaction survey (CSAT) is sent by the bot when an agent closes a
// conversation. Its answer arrives like any customer message, after the
// conversation closed; ingest recognises it and stores it on the closed
// conversation instead of opening a new one.

// CSATReplyPrefix starts the ids of the survey's list rows: "csat:5".
const CSATReplyPrefix = "csat:"

// CSATWindow is how long after the survey an answer still counts.
const CSATWindow = 24 * time.Hour

// CSATThanks answers a rating.
const CSATThanks = "Obrigado pela sua avaliação! Ela nos ajuda a melhorar nosso atendimento."

// "5", "4 - muito bom", "3: demorou" — a digit alone or before a comment.
var csatTyped = regexp.MustCompile(`^\s*([1-5])\s*(?:[-–:,.!)]\s*(.*?))?\s*$`)

// CSATAnswer reads a survey answer: a tapped row (replyID csat:N) or a
// typed score from 1 to 5 with an optional comment after a separator.
func CSATAnswer(text, replyID string) (score int, comment string, ok bool) {
	if rest, found := strings.CutPrefix(replyID, CSATReplyPrefix); found {
		n, err := strconv.Atoi(rest)
		return n, "", err == nil && n >= 1 && n <= 5
	}
	m := csatTyped.FindStringSubmatch(text)
	if m == nil {
		return 0, "", false
	}
	n, _ := strconv.Atoi(m[1])
	comment = m[2]
	if len([]rune(comment)) > 1000 {
		comment = string([]rune(comment)[:1000])
	}
	return n, comment, true
}

// applyCSAT stores m as the answer to the customer's pending survey, when
// there is one and m answers it; done is false otherwise (m is then an
// ordinary message). A typed digit counts only while the customer has no
// live conversation, where it would be an answer to the agent or the bot.
func (in *Ingester) applyCSAT(ctx context.Context, tx Store, ch Channel, customer Customer, m InboundMessage, at, now time.Time, res *IngestResult) (bool, error) {
	if m.Type == "reaction" {
		return false, nil
	}
	score, comment, ok := CSATAnswer(m.Text, m.ReplyID)
	if !ok {
		return false, nil
	}
	conv, err := tx.PendingCSAT(ctx, ch.ID, customer.ID, now.Add(-CSATWindow))
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !strings.HasPrefix(m.ReplyID, CSATReplyPrefix) {
		live, err := tx.ListConversations(ctx, ConversationFilter{CustomerID: customer.ID, ChannelID: ch.ID,
			Statuses: []ConversationStatus{StatusBot, StatusWaiting, StatusOpen}, Limit: 1})
		if err != nil {
			return false, err
		}
		if len(live) > 0 {
			return false, nil
		}
	}
	msg := Message{
		ID: NewID(), ConversationID: conv.ID, Direction: DirectionInbound, SenderType: SenderCustomer,
		SenderID: customer.ID, Type: m.Type, Text: m.Text, WAMessageID: m.WAMessageID,
		Status: MessageReceived, Raw: m.Raw, CreatedAt: at, SentAt: &at,
	}
	if inserted, err := tx.InsertMessage(ctx, msg); err != nil || !inserted {
		return inserted, err
	}
	// The answer is the customer's latest message to the number: the
	// customer service window runs from it (WindowOpen).
	if err := tx.NoteInboundTime(ctx, conv.ID, at); err != nil {
		return false, err
	}
	recorded, err := tx.RecordCSAT(ctx, conv.ID, score, comment, now)
	if err != nil {
		return false, err
	}
	res.Messages = append(res.Messages, msg)
	if recorded && in.jobs != nil {
		thanks := Message{ID: NewID(), ConversationID: conv.ID, Direction: DirectionOutbound, SenderType: SenderBot,
			Type: "text", Text: CSATThanks, Status: MessageQueued, CreatedAt: now}
		if _, err := tx.InsertMessage(ctx, thanks); err != nil {
			return false, err
		}
		if err := in.jobs.EnqueueSend(ctx, tx, thanks.ID); err != nil {
			return false, err
		}
	}
	return true, nil
}

// mayAnswerCSAT reports whether m reads as a survey score, so ingest looks
// for a pending survey before opening a conversation for it.
func mayAnswerCSAT(m InboundMessage) bool {
	if m.Type == "reaction" {
		return false
	}
	_, _, ok := CSATAnswer(m.Text, m.ReplyID)
	return ok
}
