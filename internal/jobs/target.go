package jobs

import (
	"context"
	"errors"

	"github.com/riverqueue/river"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// target is what a WhatsApp job acts on: a message, its conversation and
// the channel (number) it goes through.
type target struct {
	msg  helpdesk.Message
	conv helpdesk.Conversation
	ch   helpdesk.Channel
}

// loadTarget reads a job's message with its conversation and channel. A
// message that no longer exists cancels the job (nothing to retry); other
// errors are returned for River to retry.
func loadTarget(ctx context.Context, store helpdesk.Store, messageID string) (target, error) {
	m, err := store.GetMessage(ctx, messageID)
	if errors.Is(err, helpdesk.ErrNotFound) {
		return target{}, river.JobCancel(err)
	}
	if err != nil {
		return target{}, err
	}
	conv, err := store.GetConversation(ctx, m.ConversationID)
	if err != nil {
		return target{}, err
	}
	ch, err := store.GetChannel(ctx, conv.ChannelID)
	if err != nil {
		return target{}, err
	}
	return target{msg: m, conv: conv, ch: ch}, nil
}
