package httpapi

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp/sandbox"
)

// The sandbox routes let a person play a WhatsApp customer from the
// dashboard when no Meta number is configured. With a real number they
// answer 404.

var waIDPattern = regexp.MustCompile(`^[1-9][0-9]{7,14}$`)

type sandboxSendRequest struct {
	WAID string `json:"waId" required:"true" description:"the customer's number, digits only with country code, e.g. 5511987654321"`
	Name string `json:"name" description:"the customer's WhatsApp profile name"`
	Text string `json:"text" required:"true"`
}

type sandboxSentDTO struct {
	WAMessageID string `json:"waMessageId"`
}

type sandboxMessageDTO struct {
	Direction   string         `json:"direction" enum:"from_customer,to_customer" description:"seen from the customer's phone"`
	WAMessageID string         `json:"waMessageId"`
	Type        string         `json:"type"`
	Text        string         `json:"text"`
	Payload     map[string]any `json:"payload,omitempty" description:"the Graph request the business sent"`
	At          time.Time      `json:"at"`
}

func (a *API) sandboxOn() error {
	if a.sandbox == nil {
		return &helpdesk.Error{Code: helpdesk.CodeNotFound, Message: "the WhatsApp sandbox is off: a real number is configured"}
	}
	return nil
}

// handleSandboxSend makes a simulated customer send a text message; it is
// delivered as a signed webhook, exactly like Meta's.
func (a *API) handleSandboxSend(w http.ResponseWriter, r *http.Request) error {
	if err := a.sandboxOn(); err != nil {
		return err
	}
	var req sandboxSendRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if !waIDPattern.MatchString(req.WAID) {
		return helpdesk.ValidationError(map[string]string{"waId": "must be 8 to 15 digits with the country code, e.g. 5511987654321"})
	}
	if len([]rune(req.Text)) > 4096 {
		return helpdesk.ValidationError(map[string]string{"text": "must be at most 4096 characters"})
	}
	name := strings.TrimSpace(req.Name)
	if name == "" {
		name = "Cliente " + req.WAID[len(req.WAID)-4:]
	}
	// The webhook is posted in-process and must not depend on this
	// request's lifetime.
	wamid, err := a.sandbox.SendText(context.WithoutCancel(r.Context()), sandbox.Customer{WAID: req.WAID, Name: name}, req.Text)
	if err != nil {
		a.log.WarnContext(r.Context(), "sandbox webhook not acknowledged yet; it will be retried", "err", err)
	}
	return writeJSON(w, http.StatusAccepted, sandboxSentDTO{WAMessageID: wamid})
}

// handleSandboxMessages shows one simulated customer's phone: what they
// sent and what the business sent them, oldest first.
func (a *API) handleSandboxMessages(w http.ResponseWriter, r *http.Request) error {
	if err := a.sandboxOn(); err != nil {
		return err
	}
	waID := r.URL.Query().Get("waId")
	if !waIDPattern.MatchString(waID) {
		return helpdesk.ValidationError(map[string]string{"waId": "must be 8 to 15 digits with the country code"})
	}
	out := dataList[sandboxMessageDTO]{Data: []sandboxMessageDTO{}}
	for _, m := range a.sandbox.ReceivedFrom(waID) {
		out.Data = append(out.Data, sandboxMessageDTO{Direction: "from_customer", WAMessageID: m.WAMID, Type: m.Type, Text: m.Text, At: m.At.UTC()})
	}
	for _, m := range a.sandbox.SentTo(waID) {
		dto := sandboxMessageDTO{Direction: "to_customer", WAMessageID: m.WAMID, Type: m.Type, Payload: m.Body, At: m.At.UTC()}
		if t, ok := m.Body["text"].(map[string]any); ok {
			dto.Text, _ = t["body"].(string)
		}
		if i, ok := m.Body["interactive"].(map[string]any); ok {
			// The bot's menus: the phone shows the body; the options are in
			// the payload.
			if b, ok := i["body"].(map[string]any); ok {
				dto.Text, _ = b["text"].(string)
			}
		}
		out.Data = append(out.Data, dto)
	}
	slices.SortStableFunc(out.Data, func(x, y sandboxMessageDTO) int { return x.At.Compare(y.At) })
	return writeJSON(w, http.StatusOK, out)
}
