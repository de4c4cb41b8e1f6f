package jobs

import (
	"context"
	"log/slog"

	"github.com/riverqueue/river"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp"
)

// ReadReceiptArgs is the job that tells WhatsApp a customer's message was
// read (the blue ticks).
type ReadReceiptArgs struct {
	MessageID string `json:"messageId"`
}

// Kind implements river.JobArgs.
func (ReadReceiptArgs) Kind() string { return "whatsapp_read_receipt" }

// InsertOpts: a receipt is a courtesy; a few tries are enough.
func (ReadReceiptArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 5} }

// ReadReceiptWorker sends read receipts.
type ReadReceiptWorker struct {
	river.WorkerDefaults[ReadReceiptArgs]
	Store  helpdesk.Store
	Client *whatsapp.Client
	Log    *slog.Logger
}

// Work sends the receipt; permanent refusals are logged and dropped.
func (w *ReadReceiptWorker) Work(ctx context.Context, job *river.Job[ReadReceiptArgs]) error {
	t, err := loadTarget(ctx, w.Store, job.Args.MessageID)
	if err != nil {
		return err
	}
	m, ch := t.msg, t.ch
	err = w.Client.MarkRead(ctx, ch.AccessToken, ch.PhoneNumberID, m.WAMessageID)
	if err == nil {
		return nil
	}
	if c := whatsapp.Classify(err); c == whatsapp.Permanent || c == whatsapp.Unauthorized {
		w.Log.WarnContext(ctx, "read receipt refused", "message_id", m.ID, "err", err)
		return river.JobCancel(err)
	}
	return err
}

// EnqueueReadReceipt schedules a read receipt in tx.
func (e Enqueuer) EnqueueReadReceipt(ctx context.Context, tx helpdesk.Store, messageID string) error {
	return e.Queue.InsertTx(ctx, tx, ReadReceiptArgs{MessageID: messageID}, nil)
}
