package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp"
)

// templateTTL is how long a channel's template list is served from memory
// before it is synced from Meta again.
const templateTTL = 10 * time.Minute

type templateDTO struct {
	Name       string          `json:"name"`
	Language   string          `json:"language"`
	Category   string          `json:"category"`
	Components json.RawMessage `json:"components"`
}

// templateCache keeps each channel's approved templates for templateTTL.
type templateCache struct {
	mu      sync.Mutex
	entries map[string]templateEntry // by channel id
}

type templateEntry struct {
	list    []templateDTO
	fetched time.Time
}

func (c *templateCache) get(ctx context.Context, client *whatsapp.Client, ch helpdesk.Channel, now time.Time) ([]templateDTO, error) {
	c.mu.Lock()
	e, ok := c.entries[ch.ID]
	c.mu.Unlock()
	if ok && now.Sub(e.fetched) < templateTTL {
		return e.list, nil
	}
	all, err := client.ListTemplates(ctx, ch.AccessToken, ch.BusinessAccountID)
	if err != nil {
		if ok {
			return e.list, nil // stale beats nothing while Meta is unreachable
		}
		return nil, err
	}
	list := []templateDTO{}
	for _, t := range all {
		if t.Status == "APPROVED" {
			list = append(list, templateDTO{Name: t.Name, Language: t.Language, Category: t.Category, Components: t.Components})
		}
	}
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]templateEntry{}
	}
	c.entries[ch.ID] = templateEntry{list: list, fetched: now}
	c.mu.Unlock()
	return list, nil
}

// handleListTemplates lists a channel's approved templates, synced from
// Meta's message_templates endpoint and cached.
func (a *API) handleListTemplates(w http.ResponseWriter, r *http.Request) error {
	id := r.URL.Query().Get("channelId")
	var ch helpdesk.Channel
	var err error
	if id == "" {
		// One number is the common case; the only channel is the default.
		chs, lerr := a.store.ListChannels(r.Context())
		if lerr != nil {
			return lerr
		}
		if len(chs) != 1 {
			return helpdesk.ValidationError(map[string]string{"channelId": "is required when there are several channels"})
		}
		ch = chs[0]
	} else {
		if !helpdesk.ValidID(id) {
			return &helpdesk.Error{Code: helpdesk.CodeNotFound, Message: "channel not found"}
		}
		ch, err = a.store.GetChannel(r.Context(), id)
		if errors.Is(err, helpdesk.ErrNotFound) {
			return &helpdesk.Error{Code: helpdesk.CodeNotFound, Message: "channel not found"}
		}
		if err != nil {
			return err
		}
	}
	if ch.BusinessAccountID == "" {
		return &helpdesk.Error{Code: helpdesk.CodeUnprocessable,
			Message: "the channel has no WhatsApp Business Account id; set WHATSAPP_BUSINESS_ACCOUNT_ID to list its templates"}
	}
	if a.opts.WhatsApp == nil {
		return errors.New("no WhatsApp client configured")
	}
	list, err := a.templates.get(r.Context(), a.opts.WhatsApp, ch, a.opts.Now())
	if err != nil {
		a.log.WarnContext(r.Context(), "template sync failed", "channel_id", ch.ID, "err", err)
		return &helpdesk.Error{Code: "upstream_unavailable", Message: "could not fetch the templates from WhatsApp; try again shortly"}
	}
	return writeJSON(w, http.StatusOK, dataList[templateDTO]{Data: list})
}
