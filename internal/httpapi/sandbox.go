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
	Text string `json:"text" description:"what the customer types; required unless replyId taps a button or list row"`
	// Tapping the bot's menus from the phone page.
	ReplyTo string `json:"replyTo,omitempty" description:"with replyId: the waMessageId of the business's interactive message"`
	ReplyID string `json:"replyId,omitempty" description:"the id of the reply button or list row the customer taps"`
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
	switch {
	case req.ReplyID == "" && strings.TrimSpace(req.Text) == "":
		return helpdesk.ValidationError(map[string]string{"text": "is required"})
	case len([]rune(req.Text)) > 4096:
		return helpdesk.ValidationError(map[string]string{"text": "must be at most 4096 characters"})
	}
	name := strings.TrimSpace(req.Name)
	if name == "" {
		name = "Cliente " + req.WAID[len(req.WAID)-4:]
	}
	customer := sandbox.Customer{WAID: req.WAID, Name: name}
	// The webhook is posted in-process and must not depend on this
	// request's lifetime.
	ctx := context.WithoutCancel(r.Context())
	var wamid string
	var err error
	if req.ReplyID != "" {
		kind, title, ok := a.sandboxChoice(req.WAID, req.ReplyTo, req.ReplyID)
		if !ok {
			return helpdesk.ValidationError(map[string]string{"replyId": "is not a button or row of the interactive message replyTo sent to this customer"})
		}
		if kind == "button" {
			wamid, err = a.sandbox.TapButton(ctx, customer, req.ReplyTo, req.ReplyID, title)
		} else {
			wamid, err = a.sandbox.ChooseListItem(ctx, customer, req.ReplyTo, req.ReplyID, title, "")
		}
	} else {
		wamid, err = a.sandbox.SendText(ctx, customer, req.Text)
	}
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

// sandboxChoice finds the button or list row id of the interactive message
// wamid sent to waID, and returns the message's kind and the option title.
func (a *API) sandboxChoice(waID, wamid, id string) (kind, title string, ok bool) {
	for _, m := range a.sandbox.SentTo(waID) {
		if m.WAMID != wamid {
			continue
		}
		i, _ := m.Body["interactive"].(map[string]any)
		action, _ := i["action"].(map[string]any)
		var items []map[string]any
		if bs, _ := action["buttons"].([]any); bs != nil {
			for _, b := range bs {
				if bm, _ := b.(map[string]any); bm != nil {
					if r, _ := bm["reply"].(map[string]any); r != nil {
						items = append(items, r)
					}
				}
			}
		}
		if ss, _ := action["sections"].([]any); ss != nil {
			for _, sec := range ss {
				sm, _ := sec.(map[string]any)
				rows, _ := sm["rows"].([]any)
				for _, row := range rows {
					if rm, _ := row.(map[string]any); rm != nil {
						items = append(items, rm)
					}
				}
			}
		}
		for _, it := range items {
			if it["id"] == id {
				t, _ := it["title"].(string)
				k, _ := i["type"].(string)
				return k, t, true
			}
		}
	}
	return "", "", false
}
