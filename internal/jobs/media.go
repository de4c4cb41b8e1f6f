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
		return w.drop(ctx, m, fmt.Errorf("file of %d bytes is over the %d-byte limit for %s", info.FileSize, limit, m.Type))
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

func (w *MediaWorker) retryOrDrop(ctx context.Context, job *river.Job[MediaDownloadArgs], m helpdesk.Message, err error) error {
	switch whatsapp.Classify(err) {
	case whatsapp.Permanent, whatsapp.Unauthorized:
		return w.drop(ctx, m, err)
	}
	// A checksum mismatch is retried (whatsapp.Classify: a fresh download
	// may succeed); the last attempt gives up below.
	if errors.Is(err, whatsapp.ErrMediaTooLarge) {
		return w.drop(ctx, m, err)
	}
	if job.Attempt >= job.MaxAttempts {
		return w.drop(ctx, m, fmt.Errorf("gave up after %d attempts: %w", job.Attempt, err))
	}
	return err
}

// drop gives the file up and says so on the message, so that the dashboard
// shows why instead of waiting for a download that will not come.
func (w *MediaWorker) drop(ctx context.Context, m helpdesk.Message, err error) error {
	w.Log.WarnContext(ctx, "inbound media not downloaded", "message_id", m.ID, "media_id", m.Media.ID, "err", err)
	if serr := w.Store.SetMessageMediaError(ctx, m.ID, err.Error()); serr != nil {
		return serr // retried: the reason must be recorded before the job ends
	}
	return river.JobCancel(err)
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
