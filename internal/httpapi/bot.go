package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/supportwhatsapp/supportwhatsapp/internal/bot"
	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

type botConfigDTO struct {
	Values map[string]json.RawMessage `json:"values" description:"every setting by key: enabled, flow, ai_enabled, ai_system_prompt, ai_knowledge_base, business_hours, out_of_hours_message, csat_enabled, inactivity_timeout (seconds)"`
	// FlowVersion is the version new conversations start on (0 before any
	// flow is saved).
	FlowVersion int `json:"flowVersion"`
}

type botConfigRequest struct {
	Value json.RawMessage `json:"value" required:"true" description:"the new value, of the key's type (wrong type → 400)"`
}

type botFlowDTO struct {
	Version   int             `json:"version"`
	Flow      json.RawMessage `json:"flow"`
	CreatedBy *string         `json:"createdBy"`
	CreatedAt time.Time       `json:"createdAt"`
}

func toBotConfigDTO(s bot.Settings) botConfigDTO {
	return botConfigDTO{Values: s.Values, FlowVersion: s.FlowVersion}
}

func (a *API) botOn() error {
	if a.opts.Bot == nil {
		return &helpdesk.Error{Code: helpdesk.CodeNotFound, Message: "the bot is not configured in this process"}
	}
	return nil
}

func (a *API) handleBotConfig(w http.ResponseWriter, r *http.Request) error {
	if err := a.botOn(); err != nil {
		return err
	}
	s, err := a.opts.Bot.Settings(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toBotConfigDTO(s))
}

func (a *API) handlePutBotConfig(w http.ResponseWriter, r *http.Request) error {
	if err := a.botOn(); err != nil {
		return err
	}
	var req botConfigRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	s, err := a.opts.Bot.Put(r.Context(), actor(r), chi.URLParam(r, "key"), req.Value)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toBotConfigDTO(s))
}

func (a *API) handleBotFlows(w http.ResponseWriter, r *http.Request) error {
	if err := a.botOn(); err != nil {
		return err
	}
	fs, err := a.opts.Bot.Flows(r.Context())
	if err != nil {
		return err
	}
	out := dataList[botFlowDTO]{Data: []botFlowDTO{}}
	for _, f := range fs {
		out.Data = append(out.Data, botFlowDTO{Version: f.Version, Flow: f.Definition, CreatedBy: optional(f.CreatedBy), CreatedAt: f.CreatedAt.UTC()})
	}
	return writeJSON(w, http.StatusOK, out)
}

// handleHandBackToBot returns a conversation to the bot, which asks its
// current question again.
func (a *API) handleHandBackToBot(w http.ResponseWriter, r *http.Request) error {
	if err := a.botOn(); err != nil {
		return err
	}
	res, err := a.desk.HandBackToBot(r.Context(), actor(r), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	if a.opts.BotEngine != nil {
		if err := a.opts.BotEngine.Resume(r.Context(), res.Conversation.ID); err != nil {
			// The conversation is the bot's again; its next message or the
			// inactivity timer moves it on.
			a.log.ErrorContext(r.Context(), "bot could not resume", "conversation_id", res.Conversation.ID, "err", err)
		}
	}
	return writeJSON(w, http.StatusOK, toConversationDTO(res.Conversation))
}
