package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"golang.org/x/time/rate"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp"
)

// SendArgs is the job that delivers one stored outbound message.
type SendArgs struct {
	MessageID string `json:"messageId"`
}

// Kind implements river.JobArgs.
func (SendArgs) Kind() string { return "whatsapp_send" }

// InsertOpts: enough attempts to keep trying for a day at the backoff cap.
func (SendArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: sendMaxAttempts}
}

const (
	sendRetryBase   = time.Second
	sendRetryCap    = 5 * time.Minute
	sendGiveUpAfter = 24 * time.Hour
	// 9 doublings reach the cap (about 8.5 min in all); the rest of a day
	// at the cap is about 286 more.
	sendMaxAttempts = 300
)

// SendWorker delivers outbound messages through the Graph API. Each
// failure is classified: transient ones retry with backoff (1 s doubling
// to 5 min, for 24 h), throttling snoozes, permanent ones fail the message
// at once with Meta's code and text.
type SendWorker struct {
	river.WorkerDefaults[SendArgs]
	Store  helpdesk.Store
	Client *whatsapp.Client
	Log    *slog.Logger
	// OnChange, when set, hears about every message whose status the worker
	// changed (sent or failed), after it was stored.
	OnChange func(ctx context.Context, m helpdesk.Message)
	Pace     *ChannelPace
	Now      func() time.Time
	MediaDir string // where outbound files wait to be uploaded
}

// NextRetry doubles the delay from 1 s up to 5 min, with jitter so that a
// recovered Graph API is not hit by every message at once.
func (w *SendWorker) NextRetry(job *river.Job[SendArgs]) time.Time {
	d := sendRetryBase << min(job.Attempt-1, 20)
	if d > sendRetryCap || d <= 0 {
		d = sendRetryCap
	}
	jitter := time.Duration(rand.Int64N(int64(d) / 5))
	return time.Now().Add(d + jitter)
}

// Work sends the message unless it is no longer queued (already sent or
// failed: a retry after a crash must not send it twice), and only once the
// earlier outbound messages of its conversation have left the queue, so
// the customer gets an agent's replies in the order they were written.
func (w *SendWorker) Work(ctx context.Context, job *river.Job[SendArgs]) error {
	t, err := loadTarget(ctx, w.Store, job.Args.MessageID)
	if err != nil {
		return err
	}
	m, conv, ch := t.msg, t.conv, t.ch
	if m.Status != helpdesk.MessageQueued {
		return nil
	}
	if ch.Status == helpdesk.ChannelDisabled {
		return w.fail(ctx, m, helpdesk.CodeChannelDisabled, "the WhatsApp number was disabled before this message could be sent")
	}
	if wait, err := w.awaitEarlierMessages(ctx, m); err != nil || wait > 0 {
		if err != nil {
			return err
		}
		if w.now().Sub(m.CreatedAt) > sendGiveUpAfter {
			return w.fail(ctx, m, "gave_up", "gave up after 24 hours: an earlier message of the conversation was still being sent")
		}
		return river.JobSnooze(wait)
	}
	if wait, err := w.awaitUnansweredAttempt(ctx, m.ID); err != nil || wait > 0 {
		if err != nil {
			return err
		}
		return river.JobSnooze(wait)
	}
	out, err := w.outbound(ctx, m, conv)
	if err != nil {
		return w.fail(ctx, m, "invalid_message", err.Error())
	}
	out.BizOpaqueCallbackData = m.ID
	if m.Media != nil && m.Media.ID == "" {
		// Files go to Meta's media endpoint first; the id is kept so a retry
		// does not upload twice.
		id, err := w.upload(ctx, ch, m)
		if err != nil {
			return w.classify(ctx, job, m, ch, err)
		}
		m.Media.ID = id
		setMediaRef(&out, m)
	}
	if err := w.Pace.Wait(ctx, ch); err != nil {
		return err
	}
	attempt := w.now()
	if err := w.Store.SetSendAttempt(ctx, m.ID, &attempt); err != nil {
		return err
	}
	wamid, err := w.Client.SendMessage(ctx, ch.AccessToken, ch.PhoneNumberID, out)
	if err == nil {
		return w.sent(ctx, m, wamid)
	}
	var apiErr *whatsapp.APIError
	if errors.As(err, &apiErr) || whatsapp.NeverSent(err) {
		// Meta answered with an error, or the request never left (no
		// connection): nothing was sent, so a retry need not wait for a
		// status. Any other network error leaves the attempt open.
		if err := w.Store.SetSendAttempt(context.WithoutCancel(ctx), m.ID, nil); err != nil {
			w.Log.WarnContext(ctx, "clear send attempt", "message_id", m.ID, "err", err)
		}
	}
	return w.classify(ctx, job, m, ch, err)
}

// sendClaimWait is how long after an unanswered send request the job waits
// for Meta's status webhook, which names the message and so attaches the
// wamid, before sending again. Meta reports "sent" within seconds.
const sendClaimWait = 2 * time.Minute

// awaitUnansweredAttempt returns how long to wait before sending message id
// again when an earlier request may have reached Meta without its answer
// being recorded (the process died, or the network dropped the answer).
func (w *SendWorker) awaitUnansweredAttempt(ctx context.Context, id string) (time.Duration, error) {
	at, err := w.Store.SendAttemptedAt(ctx, id)
	if err != nil || at == nil {
		return 0, err
	}
	if left := sendClaimWait - w.now().Sub(*at); left > 0 {
		return left, nil
	}
	w.Log.WarnContext(ctx, "no status came for an unanswered send; sending again", "message_id", id, "attempted_at", *at)
	return 0, nil
}

func (w *SendWorker) upload(ctx context.Context, ch helpdesk.Channel, m helpdesk.Message) (string, error) {
	root, err := os.OpenRoot(w.MediaDir)
	if err != nil {
		return "", fmt.Errorf("media dir: %w", err)
	}
	defer root.Close()
	f, err := root.Open(m.Media.Path)
	if err != nil {
		return "", fmt.Errorf("%w: the file to send is gone: %v", whatsapp.ErrInvalidRequest, err)
	}
	defer f.Close()
	id, err := w.Client.UploadMedia(ctx, ch.AccessToken, ch.PhoneNumberID, m.Media.FileName, m.Media.MimeType, f)
	if err != nil {
		return "", err
	}
	if err := w.Store.SetMessageMediaID(ctx, m.ID, id); err != nil {
		return "", err
	}
	return id, nil
}

// classify turns a failed Graph call into the job's outcome.
func (w *SendWorker) classify(ctx context.Context, job *river.Job[SendArgs], m helpdesk.Message, ch helpdesk.Channel, err error) error {
	var apiErr *whatsapp.APIError
	code, text := "network_error", err.Error()
	if errors.As(err, &apiErr) {
		code, text = strconv.Itoa(apiErr.Code), firstNonEmpty(apiErr.Details, apiErr.Message, apiErr.Title)
	}
	class := whatsapp.Classify(err)
	if class == whatsapp.Transient && whatsapp.MinRetryDelay(err) > 0 {
		// A transient failure with a wait of its own (131057, account
		// maintenance: a minute; a 5xx with Retry-After) backs off as a
		// throttled one: River's retry delay cannot see the error.
		class = whatsapp.Throttled
	}
	switch class {
	case whatsapp.Unauthorized:
		if err := w.Store.SetChannelStatus(ctx, ch.ID, helpdesk.ChannelUnhealthy, "Meta refused the access token: "+text, w.now()); err != nil {
			w.Log.ErrorContext(ctx, "flag channel unhealthy", "channel_id", ch.ID, "err", err)
		}
		w.Log.ErrorContext(ctx, "WhatsApp access token refused; channel flagged unhealthy", "channel_id", ch.ID, "code", code)
		return w.fail(ctx, m, code, text)
	case whatsapp.Permanent:
		return w.fail(ctx, m, code, text)
	case whatsapp.Throttled:
		if time.Since(job.CreatedAt) > sendGiveUpAfter {
			return w.fail(ctx, m, code, "gave up after 24 hours: "+text)
		}
		// A snooze gives River's attempt back, so job.Attempt does not grow
		// while Meta keeps throttling: the job counts these retries itself.
		n := throttledRetries(job)
		if mdErr := river.MetadataSet(ctx, throttledRetriesKey, n+1); mdErr != nil {
			// Only outside River (a direct call); the count then restarts.
			w.Log.DebugContext(ctx, "count throttled retry", "message_id", m.ID, "err", mdErr)
		}
		d := throttledDelay(n, whatsapp.MinRetryDelay(err))
		if time.Since(job.CreatedAt)+d > sendGiveUpAfter {
			// Meta asks for a wait past the message's 24 hours (a long
			// Retry-After): sent then, it would be a day late and overtake
			// nothing it should, since later messages stop waiting for it.
			return w.fail(ctx, m, code, "gave up: WhatsApp asked to wait past the message's 24 hours: "+text)
		}
		w.Log.InfoContext(ctx, "send throttled; will retry", "message_id", m.ID, "code", code, "retry", n+1, "in", d)
		return river.JobSnooze(d)
	default: // transient
		if time.Since(job.CreatedAt) > sendGiveUpAfter || job.Attempt >= job.MaxAttempts {
			return w.fail(ctx, m, code, "gave up after 24 hours: "+text)
		}
		w.Log.WarnContext(ctx, "send failed; will retry", "message_id", m.ID, "attempt", job.Attempt, "code", code)
		return fmt.Errorf("send %s: %w", m.ID, err)
	}
}

// throttledRetriesKey is the job metadata entry counting a send's
// throttled retries.
const throttledRetriesKey = "throttled_retries"

// throttledRetries reads how many times the job was already throttled; a
// missing or unreadable count is 0.
func throttledRetries(job *river.Job[SendArgs]) int {
	if job.JobRow == nil || len(job.Metadata) == 0 {
		return 0
	}
	var md struct {
		N int `json:"throttled_retries"`
	}
	if err := json.Unmarshal(job.Metadata, &md); err != nil || md.N < 0 {
		return 0
	}
	return md.N
}

// throttledDelay is the wait after the send's (n+1)-th throttled attempt:
// 1 s doubled n times up to 5 min, so a limit that lasts costs Meta a few
// hundred requests a day rather than one every 2 s. Jitter takes off up to a
// fifth, so that messages stopped by the same limit do not all come back at
// once, and the cap stays a cap. floor (whatsapp.MinRetryDelay: Retry-After,
// 6 s for the 131056 pair limit) is what Meta asked for and wins over both.
func throttledDelay(n int, floor time.Duration) time.Duration {
	d := sendRetryBase << min(max(n, 0), 20)
	if d > sendRetryCap || d <= 0 {
		d = sendRetryCap
	}
	d -= time.Duration(rand.Int64N(int64(d)/5 + 1))
	return max(d, floor)
}

func (w *SendWorker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return helpdesk.Now()
}

// sent records Meta's acceptance. Meta has the message now, so neither a
// cancelled job context nor a brief database error may lose that: the
// bookkeeping runs on a context of its own and is tried a few times. If it
// still fails, the job ends without sending again; Meta's status webhook
// names the message (biz_opaque_callback_data) and attaches the wamid.
func (w *SendWorker) sent(ctx context.Context, m helpdesk.Message, wamid string) error {
	bg := context.WithoutCancel(ctx)
	var ok bool
	var err error
	for try := range 4 {
		if try > 0 {
			time.Sleep(time.Duration(try) * 200 * time.Millisecond)
		}
		if ok, err = w.Store.MarkMessageSent(bg, m.ID, wamid, w.now()); err == nil {
			break
		}
	}
	if err != nil {
		w.Log.ErrorContext(ctx, "message sent but its wamid could not be stored; waiting for Meta's status to attach it",
			"message_id", m.ID, "wamid", wamid, "err", err)
		return river.JobCancel(err)
	}
	if ok {
		w.changed(bg, m.ID)
	}
	return nil
}

func (w *SendWorker) fail(ctx context.Context, m helpdesk.Message, code, text string) error {
	ok, err := w.Store.MarkMessageFailed(ctx, m.ID, code, text)
	if err != nil {
		return err // retried: the message stays queued until it is marked
	}
	if ok {
		w.changed(ctx, m.ID)
	}
	return river.JobCancel(fmt.Errorf("message %s failed: %s %s", m.ID, code, text))
}

func (w *SendWorker) changed(ctx context.Context, id string) {
	if w.OnChange == nil {
		return
	}
	if m, err := w.Store.GetMessage(ctx, id); err == nil {
		w.OnChange(ctx, m)
	}
}

// outbound builds the Graph request for a stored message.
func (w *SendWorker) outbound(ctx context.Context, m helpdesk.Message, conv helpdesk.Conversation) (whatsapp.OutboundMessage, error) {
	out := whatsapp.OutboundMessage{To: "+" + conv.Customer.WAID, Type: m.Type}
	if m.ReplyToID != "" {
		if ref, err := w.Store.GetMessage(ctx, m.ReplyToID); err == nil && ref.WAMessageID != "" {
			out.ReplyTo = ref.WAMessageID
		}
	}
	switch m.Type {
	case "text":
		out.Text = &whatsapp.Text{Body: m.Text}
	case "image", "audio", "video", "document", "sticker":
		if m.Media == nil {
			return out, fmt.Errorf("%s message without a file", m.Type)
		}
		setMediaRef(&out, m)
	case "interactive":
		// The bot's buttons and lists, stored exactly as the Cloud API wants
		// them (the bot validated WhatsApp's limits).
		if len(m.Raw) == 0 {
			return out, fmt.Errorf("interactive message without its content")
		}
		out.Interactive = m.Raw
	case "template":
		var t struct {
			Name       string          `json:"name"`
			Language   string          `json:"language"`
			Components json.RawMessage `json:"components"`
		}
		if err := json.Unmarshal(m.Raw, &t); err != nil {
			return out, fmt.Errorf("stored template is unreadable: %w", err)
		}
		if string(t.Components) == "null" {
			t.Components = nil // stored by earlier versions for a template without parameters
		}
		out.Template = &whatsapp.Template{Name: t.Name, Language: t.Language, Components: t.Components}
	default:
		return out, fmt.Errorf("messages of type %q cannot be sent yet", m.Type)
	}
	return out, nil
}

// setMediaRef points out at m's uploaded file, with the caption and file
// name where WhatsApp takes them.
func setMediaRef(out *whatsapp.OutboundMessage, m helpdesk.Message) {
	ref := &whatsapp.MediaRef{ID: m.Media.ID}
	switch m.Type {
	case "image", "video":
		ref.Caption = m.Text
	case "document":
		ref.Caption, ref.Filename = m.Text, m.Media.FileName
	}
	out.Image, out.Audio, out.Video, out.Document, out.Sticker = nil, nil, nil, nil, nil
	switch m.Type {
	case "image":
		out.Image = ref
	case "audio":
		out.Audio = ref
	case "video":
		out.Video = ref
	case "document":
		out.Document = ref
	case "sticker":
		out.Sticker = ref
	}
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// ChannelPace keeps each channel under its messages-per-second limit.
type ChannelPace struct {
	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

// Wait blocks until ch may send one more message.
func (p *ChannelPace) Wait(ctx context.Context, ch helpdesk.Channel) error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	if p.limiters == nil {
		p.limiters = map[string]*rate.Limiter{}
	}
	l, ok := p.limiters[ch.ID]
	perSecond := rate.Limit(max(ch.MessagesPerSecond, 1))
	if !ok {
		l = rate.NewLimiter(perSecond, max(ch.MessagesPerSecond, 1))
		p.limiters[ch.ID] = l
	} else if l.Limit() != perSecond {
		l.SetLimit(perSecond)
		l.SetBurst(max(ch.MessagesPerSecond, 1))
	}
	p.mu.Unlock()
	return l.Wait(ctx)
}

// Enqueuer adapts a Queue to helpdesk.Enqueuer.
type Enqueuer struct{ Queue *Queue }

// EnqueueSend schedules delivery of an outbound message in tx.
func (e Enqueuer) EnqueueSend(ctx context.Context, tx helpdesk.Store, messageID string) error {
	return e.Queue.InsertTx(ctx, tx, SendArgs{MessageID: messageID}, nil)
}
