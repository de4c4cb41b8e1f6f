package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"os"
	"path/filepath"
	"strings"

	"github.com/riverqueue/river"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp"
)

// MediaDownloadArgs is the job that fetches an inbound message's file from
// Meta into MEDIA_DIR. Webhook media ids live 7 days, so it runs at once
// and retries for a while; the message itself is stored regardless.
type MediaDownloadArgs struct {
	MessageID string `json:"messageId"`
}

// Kind implements river.JobArgs.
func (MediaDownloadArgs) Kind() string { return "whatsapp_media_download" }

// InsertOpts: River's default backoff (n⁴ seconds after the n-th failure)
// over 12 attempts spans about 11 hours.
func (MediaDownloadArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 12} }

// mediaLimits are WhatsApp's size limits per message type (contract §7).
var mediaLimits = map[string]int64{
	"image":    5 << 20,
	"audio":    16 << 20,
	"video":    16 << 20,
	"sticker":  500 << 10,
	"document": 100 << 20,
}

// MediaWorker downloads inbound media.
type MediaWorker struct {
	river.WorkerDefaults[MediaDownloadArgs]
	Store  helpdesk.Store
	Client *whatsapp.Client
	Dir    string // MEDIA_DIR
	Log    *slog.Logger
	// OnChange, when set, hears about each message whose file was given up
	// (its error set), so open dashboards show why without polling.
	OnChange func(ctx context.Context, m helpdesk.Message)
}

// Work downloads the file, checks its size and sha256, writes it under
// Dir (atomically: a partial file is never visible) and records its path.
func (w *MediaWorker) Work(ctx context.Context, job *river.Job[MediaDownloadArgs]) error {
	t, err := loadTarget(ctx, w.Store, job.Args.MessageID)
	if err != nil {
		return err
	}
	m, ch := t.msg, t.ch
	if m.Media == nil || m.Media.ID == "" || m.Media.Path != "" || m.ErrorCode == helpdesk.CodeMediaUnavailable {
		return nil // nothing to fetch, fetched already, or given up
	}
	limit, ok := mediaLimits[m.Type]
	if !ok {
		limit = whatsapp.MaxMediaSize
	}
	// The URL expires after five minutes, so it is asked for on every try.
	info, err := w.Client.GetMedia(ctx, ch.AccessToken, m.Media.ID)
	if err != nil {
		return w.retryOrDrop(ctx, job, m, err)
	}
	if info.FileSize > limit {
		return w.drop(ctx, m, fmt.Errorf("file of %d bytes is over the %d-byte limit for %s: %w", info.FileSize, limit, m.Type, whatsapp.ErrMediaTooLarge))
	}
	want := m.Media.SHA256
	if info.SHA256 != "" {
		want = info.SHA256
	}
	mimeType := firstNonEmpty(info.MimeType, m.Media.MimeType)
	rel, size, err := w.download(ctx, m, mimeType, func(dst io.Writer) (int64, error) {
		return w.Client.DownloadMediaTo(ctx, ch.AccessToken, info.URL, limit, want, dst)
	})
	if err != nil {
		return w.retryOrDrop(ctx, job, m, err)
	}
	if err := w.Store.SetMessageMedia(ctx, m.ID, rel, mimeType, size); err != nil {
		_ = os.Remove(filepath.Join(w.Dir, rel))
		return err
	}
	return nil
}

// retryOrDrop gives the file up when it can never come (too large, or
// refused by Meta for good) or on the last attempt; anything else, a
// refused token included (an admin may fix it), is retried.
func (w *MediaWorker) retryOrDrop(ctx context.Context, job *river.Job[MediaDownloadArgs], m helpdesk.Message, err error) error {
	if errors.Is(err, whatsapp.ErrMediaTooLarge) || whatsapp.Classify(err) == whatsapp.Permanent || job.Attempt >= job.MaxAttempts {
		return w.drop(ctx, m, err)
	}
	return err
}

// drop gives the file up and says why on the message, so that the
// dashboard shows it instead of waiting for a download that will not come.
// The reason shown to agents is one of a few fixed sentences: the error
// itself can hold the signed download URL or paths of this server, so it
// goes to the log only.
func (w *MediaWorker) drop(ctx context.Context, m helpdesk.Message, err error) error {
	w.Log.WarnContext(ctx, "inbound media not downloaded", "message_id", m.ID, "media_id", m.Media.ID, "err", err)
	if serr := w.Store.SetMessageMediaError(ctx, m.ID, mediaFailure(err)); serr != nil {
		return serr // retried: the reason must be recorded before the job ends
	}
	w.changed(ctx, m.ID)
	return river.JobCancel(err)
}

// mediaFailure is what agents are told of a download given up.
func mediaFailure(err error) string {
	var apiErr *whatsapp.APIError
	switch {
	case errors.Is(err, whatsapp.ErrMediaTooLarge):
		return "the file is larger than WhatsApp allows for its type"
	case errors.As(err, &apiErr) && whatsapp.Classify(err) == whatsapp.Permanent:
		return fmt.Sprintf("WhatsApp refused the download (code %d); the file may have expired", apiErr.Code)
	case whatsapp.Classify(err) == whatsapp.Permanent:
		return "WhatsApp's answer about the file could not be used"
	case errors.Is(err, whatsapp.ErrChecksumMismatch):
		return "every download of the file was corrupted (its checksum did not match)"
	default:
		return "the download kept failing for about 11 hours (WhatsApp unreachable, its token refused, or the disk full); see the server log"
	}
}

func (w *MediaWorker) changed(ctx context.Context, id string) {
	if w.OnChange == nil {
		return
	}
	if m, err := w.Store.GetMessage(ctx, id); err == nil {
		w.OnChange(ctx, m)
	}
}

// download streams fetch's output into Dir/YYYY/MM/<message id><ext> and
// returns the path relative to Dir and the size. The bytes go to a
// temporary file that is renamed into place only once complete and
// checked, so a partial or corrupt file is never visible, and memory stays
// flat whatever the file's size.
func (w *MediaWorker) download(ctx context.Context, m helpdesk.Message, mimeType string, fetch func(io.Writer) (int64, error)) (string, int64, error) {
	ext := ""
	if exts, _ := mime.ExtensionsByType(strings.TrimSpace(strings.Split(mimeType, ";")[0])); len(exts) > 0 {
		ext = exts[0]
	}
	rel := filepath.Join(m.CreatedAt.Format("2006"), m.CreatedAt.Format("01"), m.ID+ext)
	full := filepath.Join(w.Dir, rel)
	if err := os.MkdirAll(filepath.Dir(full), 0o750); err != nil {
		return "", 0, fmt.Errorf("media dir: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(full), m.ID+".tmp-*")
	if err != nil {
		return "", 0, fmt.Errorf("write media: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	size, err := fetch(tmp)
	if err != nil {
		return "", 0, err
	}
	// Synced before the rename and the database row that points at it, so a
	// power cut cannot leave a recorded path to an empty file.
	if err := tmp.Sync(); err != nil {
		return "", 0, fmt.Errorf("write media: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", 0, fmt.Errorf("write media: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o640); err != nil {
		return "", 0, fmt.Errorf("write media: %w", err)
	}
	if err := os.Rename(tmp.Name(), full); err != nil {
		return "", 0, fmt.Errorf("write media: %w", err)
	}
	committed = true
	w.Log.DebugContext(ctx, "inbound media stored", "message_id", m.ID, "bytes", size)
	return rel, size, nil
}

// EnqueueMediaDownload schedules the download of an inbound message's file.
func (e Enqueuer) EnqueueMediaDownload(ctx context.Context, tx helpdesk.Store, messageID string) error {
	return e.Queue.InsertTx(ctx, tx, MediaDownloadArgs{MessageID: messageID}, nil)
}
