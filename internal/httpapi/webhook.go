package httpapi

import (
	"context"
	"crypto/subtle"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/httpapi/middleware"
	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp"
)

// webhookBodyLimit is the largest webhook body accepted; Meta batches up to
// about a thousand updates in one delivery.
const webhookBodyLimit = 5 << 20

// handleWebhookVerify answers Meta's subscription handshake: the challenge
// is echoed when the verify token matches the configured one or a
// channel's.
func (a *API) handleWebhookVerify(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	mode, token, challenge := q.Get("hub.mode"), q.Get("hub.verify_token"), q.Get("hub.challenge")
	if mode != "subscribe" || challenge == "" {
		return helpdesk.Errorf(helpdesk.CodeBadRequest, "expected hub.mode=subscribe with hub.challenge and hub.verify_token")
	}
	if !a.verifyTokenMatches(r, token) {
		return helpdesk.Errorf(helpdesk.CodeForbidden, "verify token does not match WEBHOOK_VERIFY_TOKEN")
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, err := io.WriteString(w, challenge)
	return err
}

func (a *API) verifyTokenMatches(r *http.Request, token string) bool {
	if token == "" {
		return false
	}
	candidates := []string{a.opts.WebhookVerifyToken}
	if channels, err := a.store.ListChannels(r.Context()); err == nil {
		for _, c := range channels {
			if c.Status != helpdesk.ChannelDisabled {
				candidates = append(candidates, c.VerifyToken)
			}
		}
	}
	for _, c := range candidates {
		if c != "" && subtle.ConstantTimeCompare([]byte(c), []byte(token)) == 1 {
			return true
		}
	}
	return false
}

// handleWebhook ingests a signed webhook. It answers 200 only after the
// content is committed, so Meta redelivers anything we could not store;
// redeliveries are recognised and change nothing.
func (a *API) handleWebhook(w http.ResponseWriter, r *http.Request) error {
	// Deliveries come as often as messages and the inbox keeps each body:
	// an Info line apiece would bury every other line and cost the ingest
	// a write each. Failures are still logged: 4xx at Info, 5xx at Error.
	middleware.LogSuccessAtDebug(r.Context())
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if middleware.IsTooLarge(err) {
			return &helpdesk.Error{Code: helpdesk.CodeTooLarge, Message: "webhook body over 5 MiB"}
		}
		return errBadRequest("could not read the body")
	}
	channels, err := a.webhookChannels(r.Context())
	if err != nil {
		return err
	}
	secret, ok := a.signingSecret(channels, body, r.Header.Get("X-Hub-Signature-256"))
	if !ok {
		return &helpdesk.Error{Code: helpdesk.CodeUnauthorized, Message: "missing or invalid X-Hub-Signature-256"}
	}
	if !utf8.Valid(body) {
		return errBadRequest("the body is not UTF-8 JSON")
	}
	n, err := whatsapp.ParseWebhook(body)
	if err != nil {
		return errBadRequest("the body is not a WhatsApp webhook: " + err.Error())
	}
	if id, bound := a.boundToSecret(channels, n, secret); !bound {
		a.log.WarnContext(r.Context(), "webhook signed with another app's secret than its number's; refused", "phone_number_id", id)
		return &helpdesk.Error{Code: helpdesk.CodeUnauthorized, Message: "the signature does not belong to the app of phone_number_id " + id}
	}
	delivery := toDelivery(n, body, a.opts.Now())
	delivery.Signer = helpdesk.SignerFingerprint(secret)
	res, err := a.ingest.Ingest(r.Context(), delivery)
	if err != nil {
		return err
	}
	a.desk.Ingested(r.Context(), delivery, res) // real-time events, after the commit
	for _, id := range res.Unrouted {
		a.log.WarnContext(r.Context(), "webhook for a phone_number_id with no channel; kept in the inbox", "phone_number_id", id)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, err = io.WriteString(w, "EVENT_RECEIVED")
	return err
}

// channelCacheTTL is how long the webhook route trusts its copy of the
// channel list. Changes made through this replica apply at once; another
// replica's within this time.
const channelCacheTTL = 2 * time.Second

// channelCache saves the webhook route a query per delivery.
type channelCache struct {
	mu   sync.Mutex
	list []helpdesk.Channel
	at   time.Time
}

func (c *channelCache) forget() {
	c.mu.Lock()
	c.list = nil
	c.mu.Unlock()
}

func (a *API) webhookChannels(ctx context.Context) ([]helpdesk.Channel, error) {
	c := &a.channels
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.list != nil && time.Since(c.at) < channelCacheTTL {
		return c.list, nil
	}
	list, err := a.store.ListChannels(ctx)
	if err != nil {
		return nil, err
	}
	c.list, c.at = list, time.Now()
	return list, nil
}

// signingSecret finds the secret that signed body: the configured app
// secret or an active channel's own (numbers may belong to different
// apps). A disabled channel's secret signs nothing, so a retired number's
// credentials, or the sandbox's public ones on a server talking to Meta,
// cannot be used to forge webhooks.
func (a *API) signingSecret(channels []helpdesk.Channel, body []byte, header string) (string, bool) {
	if header == "" {
		return "", false
	}
	if a.opts.WebhookAppSecret != "" && whatsapp.VerifySignature(a.opts.WebhookAppSecret, body, header) {
		return a.opts.WebhookAppSecret, true
	}
	for _, c := range channels {
		if c.Status != helpdesk.ChannelDisabled && c.AppSecret != "" && whatsapp.VerifySignature(c.AppSecret, body, header) {
			return c.AppSecret, true
		}
	}
	return "", false
}

// boundToSecret reports whether every connected number the webhook speaks
// for belongs to the app whose secret signed it; otherwise it returns the
// first that does not. Without this, whoever holds one channel's secret
// could write messages into every other channel. Numbers with no channel
// are kept in the inbox as unrouted, whatever signed them.
func (a *API) boundToSecret(channels []helpdesk.Channel, n whatsapp.Notification, secret string) (string, bool) {
	for _, ch := range n.Changes {
		for _, c := range channels {
			if c.PhoneNumberID != ch.PhoneNumberID || c.Status == helpdesk.ChannelDisabled {
				continue
			}
			own := c.AppSecret
			if own == "" {
				own = a.opts.WebhookAppSecret
			}
			if subtle.ConstantTimeCompare([]byte(own), []byte(secret)) != 1 {
				return ch.PhoneNumberID, false
			}
		}
	}
	return "", true
}

// ParseDelivery maps a webhook body, as stored in the inbox, into what the
// ingest applies (helpdesk.DeliveryParser): the same mapping as a live
// webhook's.
func ParseDelivery(body []byte, receivedAt time.Time) (helpdesk.WebhookDelivery, error) {
	n, err := whatsapp.ParseWebhook(body)
	if err != nil {
		return helpdesk.WebhookDelivery{}, err
	}
	return toDelivery(n, body, receivedAt), nil
}

// toDelivery maps the Graph API's webhook into helpdesk terms.
func toDelivery(n whatsapp.Notification, body []byte, now time.Time) helpdesk.WebhookDelivery {
	d := helpdesk.WebhookDelivery{Body: body, ReceivedAt: now}
	for _, ch := range n.Changes {
		if ch.Field != "messages" || ch.PhoneNumberID == "" {
			continue
		}
		names := map[string]string{}
		for _, c := range ch.Contacts {
			names[c.WAID] = c.Name
		}
		b := helpdesk.ChannelBatch{PhoneNumberID: ch.PhoneNumberID}
		for _, m := range ch.Messages {
			b.Messages = append(b.Messages, toInbound(m, names))
		}
		for _, s := range ch.Statuses {
			u := helpdesk.StatusUpdate{WAMessageID: s.ID, Status: s.Status, Timestamp: s.Timestamp, CallbackData: s.BizOpaqueCallbackData}
			if len(s.Errors) > 0 {
				e := s.Errors[0]
				u.ErrorCode = strconv.Itoa(e.Code)
				u.ErrorMessage = firstOf(e.Details, e.Message, e.Title)
			}
			b.Statuses = append(b.Statuses, u)
		}
		d.Batches = append(d.Batches, b)
	}
	return d
}

func toInbound(m whatsapp.Message, names map[string]string) helpdesk.InboundMessage {
	in := helpdesk.InboundMessage{
		WAMessageID: m.ID,
		FromWAIDs:   whatsapp.BrazilianMobileVariants(m.From),
		ProfileName: names[m.From],
		Timestamp:   m.Timestamp,
		Type:        m.Type,
		Text:        m.Text,
		Raw:         m.Raw,
	}
	if m.From == "" {
		in.FromWAIDs = nil
	}
	if !m.Supported() {
		in.Type = helpdesk.MessageTypeUnsupported
	}
	if m.Media != nil {
		in.Media = &helpdesk.Media{ID: m.Media.ID, MimeType: m.Media.MimeType, FileName: m.Media.Filename, SHA256: m.Media.SHA256}
	}
	if m.Context != nil {
		in.ContextWAMessageID = m.Context.ID
	}
	if m.Reaction != nil {
		in.ReactionToWAMessageID = m.Reaction.MessageID
		in.Text = m.Reaction.Emoji
	}
	if m.System != nil && m.System.Type == "user_changed_number" && m.System.NewWAID != "" {
		in.NewWAIDs = whatsapp.BrazilianMobileVariants(m.System.NewWAID)
	}
	switch {
	case m.Reply != nil:
		in.ReplyID = m.Reply.ID
	case m.Button != nil:
		in.ReplyID = m.Button.Payload
	}
	return in
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
