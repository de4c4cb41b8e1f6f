package jobs_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/jobs"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store/storetest"
	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp"
)

// TestMediaDownloadGivesUpVisibly: a file Meta refuses for good, and one
// that still fails on the job's last attempt, leave their message with the
// media_unavailable error (the media route then answers 410 instead of
// "still downloading" forever); a failure with attempts left (a 500, a
// checksum mismatch) is retried and leaves the message as it was.
func TestMediaDownloadGivesUpVisibly(t *testing.T) {
	for name, open := range map[string]func(testing.TB) *store.DB{"sqlite": storetest.OpenSQLite, "postgres": storetest.OpenPostgres} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db, ctx := open(t), t.Context()
			graph := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/v26.0/badsum": // the bytes served do not hash to the sha256 Meta gives
					fmt.Fprintf(w, `{"messaging_product":"whatsapp","url":%q,"mime_type":"image/jpeg","sha256":"%064d","file_size":5,"id":"badsum"}`,
						"http://"+r.Host+"/files/badsum", 0)
				case "/files/badsum":
					fmt.Fprint(w, "bytes")
				case "/v26.0/expiredtoken":
					w.WriteHeader(http.StatusUnauthorized)
					fmt.Fprint(w, `{"error":{"message":"Error validating access token: Session has expired","type":"OAuthException","code":190,"fbtrace_id":"C"}}`)
				case "/v26.0/gone":
					w.WriteHeader(http.StatusBadRequest)
					fmt.Fprint(w, `{"error":{"message":"Unsupported get request","type":"GraphMethodException","code":100,"fbtrace_id":"A"}}`)
				default: // Meta having a bad day
					w.WriteHeader(http.StatusInternalServerError)
					fmt.Fprint(w, `{"error":{"message":"An unknown error has occurred.","type":"OAuthException","code":1,"fbtrace_id":"B"}}`)
				}
			}))
			t.Cleanup(graph.Close)
			w := &jobs.MediaWorker{Store: db, Client: &whatsapp.Client{BaseURL: graph.URL, Version: "v26.0"}, Dir: t.TempDir(),
				Log: slog.New(slog.NewTextHandler(io.Discard, nil))}

			in := helpdesk.NewIngester(db, helpdesk.IngesterOptions{})
			defer in.Close()
			now := helpdesk.Now()
			if _, err := db.UpsertChannel(ctx, helpdesk.Channel{ID: helpdesk.NewID(), Name: "Main", PhoneNumberID: "pn-media",
				AccessToken: "t", CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			image := func(wamid, mediaID string) helpdesk.Message {
				res, err := in.Ingest(ctx, helpdesk.WebhookDelivery{Body: []byte(wamid), ReceivedAt: now, Batches: []helpdesk.ChannelBatch{{
					PhoneNumberID: "pn-media", Messages: []helpdesk.InboundMessage{{WAMessageID: wamid, FromWAIDs: []string{"5511955550001"},
						ProfileName: "Rita", Timestamp: time.Now(), Type: "image",
						Media: &helpdesk.Media{ID: mediaID, MimeType: "image/jpeg"}}}}}})
				if err != nil || len(res.Messages) != 1 {
					t.Fatalf("ingest %s: %v %+v", wamid, err, res)
				}
				return res.Messages[0]
			}
			job := func(m helpdesk.Message, attempt int) *river.Job[jobs.MediaDownloadArgs] {
				return &river.Job[jobs.MediaDownloadArgs]{JobRow: &rivertype.JobRow{Attempt: attempt, MaxAttempts: 12},
					Args: jobs.MediaDownloadArgs{MessageID: m.ID}}
			}
			errorOf := func(m helpdesk.Message) (string, string) {
				got, err := db.GetMessage(ctx, m.ID)
				if err != nil {
					t.Fatal(err)
				}
				return got.ErrorCode, got.ErrorMessage
			}
			var cancel *river.JobCancelError

			gone := image("wamid.gone", "gone")
			if err := w.Work(ctx, job(gone, 1)); !errors.As(err, &cancel) {
				t.Errorf("a file Meta refuses: Work = %v, want the job cancelled", err)
			}
			if code, msg := errorOf(gone); code != helpdesk.CodeMediaUnavailable || msg == "" {
				t.Errorf("a file Meta refuses: message error = %q %q, want %s with a reason", code, msg, helpdesk.CodeMediaUnavailable)
			}

			// A download whose bytes do not match may succeed next time.
			badsum := image("wamid.badsum", "badsum")
			if err := w.Work(ctx, job(badsum, 1)); err == nil || errors.As(err, &cancel) {
				t.Errorf("a checksum mismatch with attempts left: Work = %v, want an error River retries", err)
			}
			if code, _ := errorOf(badsum); code != "" {
				t.Errorf("a checksum mismatch with attempts left: message error = %q, want none yet", code)
			}

			// A refused token may be fixed by an admin: retried, not given up.
			token := image("wamid.token", "expiredtoken")
			if err := w.Work(ctx, job(token, 2)); err == nil || errors.As(err, &cancel) {
				t.Errorf("a refused token with attempts left: Work = %v, want an error River retries", err)
			}
			if code, _ := errorOf(token); code != "" {
				t.Errorf("a refused token with attempts left: message error = %q, want none yet", code)
			}

			flaky := image("wamid.flaky", "flaky")
			if err := w.Work(ctx, job(flaky, 3)); err == nil || errors.As(err, &cancel) {
				t.Errorf("a 500 with attempts left: Work = %v, want an error River retries", err)
			}
			if code, _ := errorOf(flaky); code != "" {
				t.Errorf("a 500 with attempts left: message error = %q, want none yet", code)
			}
			if err := w.Work(ctx, job(flaky, 12)); !errors.As(err, &cancel) {
				t.Errorf("a 500 on the last attempt: Work = %v, want the job cancelled", err)
			}
			if code, msg := errorOf(flaky); code != helpdesk.CodeMediaUnavailable || msg == "" {
				t.Errorf("a 500 on the last attempt: message error = %q %q, want %s", code, msg, helpdesk.CodeMediaUnavailable)
			}
		})
	}
}
