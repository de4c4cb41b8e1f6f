package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

type inboxEntryDTO struct {
	ID             string    `json:"id"`
	Status         string    `json:"status" enum:"processed,unrouted,partial"`
	Note           string    `json:"note" description:"what the last replay did"`
	BodySHA256     string    `json:"bodySha256" description:"tells redeliveries of one body apart from other bodies"`
	ReceivedAt     time.Time `json:"receivedAt"`
	PhoneNumberIDs []string  `json:"phoneNumberIds" description:"the business numbers the body speaks for"`
}

type inboxEntryDetailDTO struct {
	ID             string          `json:"id"`
	Status         string          `json:"status" enum:"processed,unrouted,partial"`
	Note           string          `json:"note"`
	BodySHA256     string          `json:"bodySha256"`
	ReceivedAt     time.Time       `json:"receivedAt"`
	PhoneNumberIDs []string        `json:"phoneNumberIds"`
	Body           json.RawMessage `json:"body" description:"the body as signed: a JSON value, or a string when it is not JSON"`
}

type replayRequest struct {
	Status        *string `json:"status" enum:"processed,unrouted,partial" description:"default unrouted"`
	PhoneNumberID *string `json:"phoneNumberId" description:"only bodies for this number"`
}

type replayDTO struct {
	ID              string   `json:"id"`
	PreviousStatus  string   `json:"previousStatus" enum:"processed,unrouted,partial"`
	Status          string   `json:"status" enum:"processed,unrouted,partial"`
	MessagesStored  int      `json:"messagesStored" description:"messages new to the helpdesk"`
	Duplicates      int      `json:"duplicates" description:"messages and statuses received before"`
	StatusesApplied int      `json:"statusesApplied"`
	Unrouted        []string `json:"unrouted" description:"numbers that still have no active channel, or whose channel's app did not sign the body"`
	Unbound         []string `json:"unbound" description:"numbers whose channel's app did not sign the body (left unrouted)"`
}

type replayAllDTO struct {
	Entries        int `json:"entries"`
	Processed      int `json:"processed"`
	Partial        int `json:"partial"`
	Unrouted       int `json:"unrouted"`
	Skipped        int `json:"skipped" description:"entries whose body no longer parses as a webhook"`
	MessagesStored int `json:"messagesStored"`
	Duplicates     int `json:"duplicates"`
}

// inboxCursor is the JSON inside an inbox list cursor.
type inboxCursor struct {
	At time.Time `json:"t"`
	ID string    `json:"id"`
}

func toInboxEntryDTO(it helpdesk.InboxItem) inboxEntryDTO {
	return inboxEntryDTO{ID: it.ID, Status: it.Status, Note: it.Note, BodySHA256: it.BodySHA256, ReceivedAt: it.ReceivedAt.UTC(),
		PhoneNumberIDs: it.PhoneNumberIDs}
}

func (a *API) handleListInbox(w http.ResponseWriter, r *http.Request) error {
	limit, err := listLimit(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	query := helpdesk.InboxQuery{Status: q.Get("status"), PhoneNumberID: q.Get("phoneNumberId"), Limit: limit + 1}
	if c := q.Get("cursor"); c != "" {
		var cur inboxCursor
		raw, ok := decodeCursor(c)
		if !ok || json.Unmarshal([]byte(raw), &cur) != nil || !helpdesk.ValidID(cur.ID) || cur.At.IsZero() {
			return cursorError()
		}
		query.After = &helpdesk.InboxCursor{ReceivedAt: cur.At, ID: cur.ID}
	}
	items, err := a.inbox.List(r.Context(), actor(r), query)
	if err != nil {
		return err
	}
	out := page[inboxEntryDTO]{Data: make([]inboxEntryDTO, 0, len(items))}
	items, out.NextCursor = trimPage(items, limit, func(last helpdesk.InboxItem) string {
		b, _ := json.Marshal(inboxCursor{At: last.ReceivedAt, ID: last.ID})
		return string(b)
	})
	for _, it := range items {
		out.Data = append(out.Data, toInboxEntryDTO(it))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) handleGetInboxEntry(w http.ResponseWriter, r *http.Request) error {
	it, err := a.inbox.Get(r.Context(), actor(r), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	body := json.RawMessage(it.Body)
	if !json.Valid(it.Body) {
		body, _ = json.Marshal(string(it.Body))
	}
	return writeJSON(w, http.StatusOK, inboxEntryDetailDTO{ID: it.ID, Status: it.Status, Note: it.Note, BodySHA256: it.BodySHA256,
		ReceivedAt: it.ReceivedAt.UTC(), PhoneNumberIDs: it.PhoneNumberIDs, Body: body})
}

func (a *API) handleReplayInboxEntry(w http.ResponseWriter, r *http.Request) error {
	res, err := a.inbox.Replay(r.Context(), actor(r), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	a.logUnrouted(r, res.Unrouted)
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return writeJSON(w, http.StatusOK, replayDTO{ID: res.EntryID, PreviousStatus: res.PreviousStatus, Status: res.Status,
		MessagesStored: res.MessagesStored, Duplicates: res.Duplicates, StatusesApplied: res.StatusesApplied,
		Unrouted: nonNil(res.Unrouted), Unbound: nonNil(res.Unbound)})
}

func (a *API) handleReplayInbox(w http.ResponseWriter, r *http.Request) error {
	var req replayRequest
	if err := decodeOptional(r, &req); err != nil {
		return err
	}
	var status, number string
	if req.Status != nil {
		status = *req.Status
		if status == "" {
			return helpdesk.ValidationError(map[string]string{"status": "must be processed, unrouted or partial"})
		}
	}
	if req.PhoneNumberID != nil {
		number = *req.PhoneNumberID
		if number == "" {
			return helpdesk.ValidationError(map[string]string{"phoneNumberId": "must be a numeric Phone number ID"})
		}
	}
	res, err := a.inbox.ReplayAll(r.Context(), actor(r), status, number)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, replayAllDTO{Entries: res.Entries, Processed: res.Processed, Partial: res.Partial,
		Unrouted: res.Unrouted, Skipped: res.Skipped, MessagesStored: res.MessagesStored, Duplicates: res.Duplicates})
}

func (a *API) logUnrouted(r *http.Request, ids []string) {
	for _, id := range ids {
		a.log.WarnContext(r.Context(), "replayed webhook for a phone_number_id with no active channel; kept in the inbox", "phone_number_id", id)
	}
}
