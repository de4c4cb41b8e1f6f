package jobs_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/jobs"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store/storetest"
	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp"
)

// TestMediaFailureHidesURLsAndPaths: the reason stored as the message's
// error is shown to every agent (the message's error, the 410 answer), so
// it is never the raw error, which can hold the signed download URL's query
// or this server's paths; and open dashboards hear of it.
func TestMediaFailureHidesURLsAndPaths(t *testing.T) {
	db, ctx := storetest.OpenSQLite(t), t.Context()
	graph := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/v26.0/"):
			_, _ = w.Write([]byte(`{"messaging_product":"whatsapp","url":"http://` + r.Host + `/files/x?oe=SIGNATURE-SECRET&token=abc","mime_type":"image/jpeg","file_size":5,"id":"m"}`))
		default: // the connection drops
			hj, _ := w.(http.Hijacker)
			c, _, _ := hj.Hijack()
			c.Close()
		}
	}))
	t.Cleanup(graph.Close)
	notDir := filepath.Join(t.TempDir(), "media")
	if err := os.WriteFile(notDir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	in := helpdesk.NewIngester(db, helpdesk.IngesterOptions{})
	defer in.Close()
	now := helpdesk.Now()
	if _, err := db.UpsertChannel(ctx, helpdesk.Channel{ID: helpdesk.NewID(), Name: "Main", PhoneNumberID: "pn-media",
		AccessToken: "t", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	image := func(wamid string) helpdesk.Message {
		res, err := in.Ingest(ctx, helpdesk.WebhookDelivery{Body: []byte(wamid), ReceivedAt: now, Batches: []helpdesk.ChannelBatch{{
			PhoneNumberID: "pn-media", Messages: []helpdesk.InboundMessage{{WAMessageID: wamid, FromWAIDs: []string{"5511955550001"},
				ProfileName: "Rita", Timestamp: time.Now(), Type: "image",
				Media: &helpdesk.Media{ID: "m" + wamid, MimeType: "image/jpeg"}}}}}})
		if err != nil || len(res.Messages) != 1 {
			t.Fatalf("ingest %s: %v %+v", wamid, err, res)
		}
		return res.Messages[0]
	}
	job := func(m helpdesk.Message) *river.Job[jobs.MediaDownloadArgs] {
		return &river.Job[jobs.MediaDownloadArgs]{JobRow: &rivertype.JobRow{Attempt: 12, MaxAttempts: 12},
			Args: jobs.MediaDownloadArgs{MessageID: m.ID}}
	}
	for name, dir := range map[string]string{"network": t.TempDir(), "disk": notDir} {
		var told []helpdesk.Message
		w := &jobs.MediaWorker{Store: db, Client: &whatsapp.Client{BaseURL: graph.URL, Version: "v26.0"}, Dir: dir,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)), OnChange: func(_ context.Context, m helpdesk.Message) { told = append(told, m) }}
		m := image("wamid." + name)
		_ = w.Work(ctx, job(m))
		got, _ := db.GetMessage(ctx, m.ID)
		if got.ErrorCode != helpdesk.CodeMediaUnavailable || got.ErrorMessage == "" {
			t.Errorf("%s: message error = %q %q, want %s with a reason", name, got.ErrorCode, got.ErrorMessage, helpdesk.CodeMediaUnavailable)
		}
		if strings.Contains(got.ErrorMessage, "SIGNATURE-SECRET") || strings.Contains(got.ErrorMessage, notDir) || strings.Contains(got.ErrorMessage, "127.0.0.1") {
			t.Errorf("%s: the agent-visible error leaks the signed URL or a server path: %q", name, got.ErrorMessage)
		}
		if len(told) != 1 || told[0].ID != m.ID || told[0].ErrorCode != helpdesk.CodeMediaUnavailable {
			t.Errorf("%s: dashboards were told %+v, want the message with its error once", name, told)
		}
	}
}
