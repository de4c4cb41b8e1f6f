package jobs

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"github.com/supportwhatsapp/supportwhatsapp/internal/bot"
	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// BotStepArgs is the job that lets the bot answer one customer message.
type BotStepArgs struct {
	ConversationID string `json:"conversationId"`
	MessageID      string `json:"messageId"`
	Text           string `json:"text"`
	ReplyID        string `json:"replyId,omitempty"`
}

// Kind implements river.JobArgs.
func (BotStepArgs) Kind() string { return "bot_step" }

// InsertOpts: a turn is one transaction, so retrying is safe; after a few
// failures the inactivity timer still hands the customer to a person.
func (BotStepArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 8} }

// BotTimeoutArgs is the inactivity timer of a conversation with the bot,
// armed at step Seq.
type BotTimeoutArgs struct {
	ConversationID string `json:"conversationId"`
	Seq            int    `json:"seq"`
}

// Kind implements river.JobArgs.
func (BotTimeoutArgs) Kind() string { return "bot_timeout" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (BotTimeoutArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 8} }

// BotAIArgs is the job that lets the AI answer a conversation at step Seq.
type BotAIArgs struct {
	ConversationID string `json:"conversationId"`
	Seq            int    `json:"seq"`
}

// Kind implements river.JobArgs.
func (BotAIArgs) Kind() string { return "bot_ai" }

// InsertOpts: an AI failure hands over inside the job, so retries only
// cover database trouble.
func (BotAIArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 3} }

// BotAIWorker asks the AI.
type BotAIWorker struct {
	river.WorkerDefaults[BotAIArgs]
	Engine *bot.Engine
}

// Work answers through the AI or hands over.
func (w *BotAIWorker) Work(ctx context.Context, job *river.Job[BotAIArgs]) error {
	err := w.Engine.HandleAI(ctx, job.Args.ConversationID, job.Args.Seq)
	if errors.Is(err, helpdesk.ErrNotFound) {
		return river.JobCancel(err)
	}
	return err
}

// EnqueueBotAI schedules an AI answer in tx (bot.Jobs).
func (e Enqueuer) EnqueueBotAI(ctx context.Context, tx helpdesk.Store, conversationID string, seq int) error {
	return e.Queue.InsertTx(ctx, tx, BotAIArgs{ConversationID: conversationID, Seq: seq}, nil)
}

// BotSummaryArgs is the job that writes the AI's note for the agent.
type BotSummaryArgs struct {
	ConversationID string `json:"conversationId"`
}

// Kind implements river.JobArgs.
func (BotSummaryArgs) Kind() string { return "bot_summary" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (BotSummaryArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 3} }

// BotSummaryWorker writes handoff summaries.
type BotSummaryWorker struct {
	river.WorkerDefaults[BotSummaryArgs]
	Engine *bot.Engine
}

// Work writes the note.
func (w *BotSummaryWorker) Work(ctx context.Context, job *river.Job[BotSummaryArgs]) error {
	return w.Engine.HandleSummary(ctx, job.Args.ConversationID)
}

// EnqueueBotSummary schedules a handoff summary in tx (bot.Jobs).
func (e Enqueuer) EnqueueBotSummary(ctx context.Context, tx helpdesk.Store, conversationID string) error {
	return e.Queue.InsertTx(ctx, tx, BotSummaryArgs{ConversationID: conversationID}, nil)
}

// BotStepWorker runs bot turns.
type BotStepWorker struct {
	river.WorkerDefaults[BotStepArgs]
	Engine *bot.Engine
}

// Work answers the message; a conversation that no longer exists cancels
// the job.
func (w *BotStepWorker) Work(ctx context.Context, job *river.Job[BotStepArgs]) error {
	a := job.Args
	err := w.Engine.HandleStep(ctx, helpdesk.BotStep{ConversationID: a.ConversationID, MessageID: a.MessageID, Text: a.Text, ReplyID: a.ReplyID})
	if errors.Is(err, helpdesk.ErrNotFound) {
		return river.JobCancel(err)
	}
	return err
}

// BotTimeoutWorker fires inactivity timers.
type BotTimeoutWorker struct {
	river.WorkerDefaults[BotTimeoutArgs]
	Engine *bot.Engine
}

// Work hands the conversation to a person unless the customer answered
// since the timer was armed.
func (w *BotTimeoutWorker) Work(ctx context.Context, job *river.Job[BotTimeoutArgs]) error {
	err := w.Engine.HandleTimeout(ctx, job.Args.ConversationID, job.Args.Seq)
	if errors.Is(err, helpdesk.ErrNotFound) {
		return river.JobCancel(err)
	}
	return err
}

// EnqueueBotStep schedules a bot turn in tx (helpdesk.BotEnqueuer).
func (e Enqueuer) EnqueueBotStep(ctx context.Context, tx helpdesk.Store, s helpdesk.BotStep) error {
	return e.Queue.InsertTx(ctx, tx, BotStepArgs{ConversationID: s.ConversationID, MessageID: s.MessageID, Text: s.Text, ReplyID: s.ReplyID}, nil)
}

// EnqueueBotTimeout arms an inactivity timer in tx (bot.Jobs).
func (e Enqueuer) EnqueueBotTimeout(ctx context.Context, tx helpdesk.Store, conversationID string, seq int, at time.Time) error {
	return e.Queue.InsertTx(ctx, tx, BotTimeoutArgs{ConversationID: conversationID, Seq: seq}, &river.InsertOpts{ScheduledAt: at})
}

var (
	_ helpdesk.BotEnqueuer = Enqueuer{}
	_ bot.Jobs             = Enqueuer{}
)
