package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

type transferRequest struct {
	ToUserID       string `json:"toUserId" description:"hand the conversation to this agent (it becomes open and theirs)"`
	ToDepartmentID string `json:"toDepartmentId" description:"move it to this department's queue (waiting), or with toUserId: the agent's department for it"`
	Reason         string `json:"reason" description:"shown in the history, at most 500 characters"`
}

type closeRequest struct {
	SendSurvey bool `json:"sendSurvey" description:"ask the customer to rate the service"`
}

func (a *API) handleTakeover(w http.ResponseWriter, r *http.Request) error {
	res, err := a.desk.Takeover(r.Context(), actor(r), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toConversationDTO(res.Conversation))
}

func (a *API) handleTransfer(w http.ResponseWriter, r *http.Request) error {
	var req transferRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	res, err := a.desk.Transfer(r.Context(), actor(r), chi.URLParam(r, "id"), helpdesk.TransferParams{
		ToUserID: req.ToUserID, ToDepartmentID: req.ToDepartmentID, Reason: req.Reason,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toConversationDTO(res.Conversation))
}

func (a *API) handleClose(w http.ResponseWriter, r *http.Request) error {
	var req closeRequest
	if err := decodeOptional(r, &req); err != nil {
		return err
	}
	res, err := a.desk.Close(r.Context(), actor(r), chi.URLParam(r, "id"), req.SendSurvey)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toConversationDTO(res.Conversation))
}

func (a *API) handleReopen(w http.ResponseWriter, r *http.Request) error {
	res, err := a.desk.Reopen(r.Context(), actor(r), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toConversationDTO(res.Conversation))
}
