package httpapi

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

type transferRequest struct {
	ToUserID       string `json:"toUserId" description:"hand the conversation to this agent (it becomes open and theirs)"`
	ToDepartmentID string `json:"toDepartmentId" description:"move it to this department's queue (waiting), or with toUserId: the agent's department for it"`
	Reason         string `json:"reason" description:"shown in the history, at most 500 characters"`
}

type closeRequest struct {
	SendSurvey *bool `json:"sendSurvey" description:"ask the customer to rate the service (default true; sent only when the bot's csat_enabled is on)"`
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
	survey := req.SendSurvey == nil || *req.SendSurvey
	res, err := a.desk.Close(r.Context(), actor(r), chi.URLParam(r, "id"), survey)
	if err != nil {
		return err
	}
	conv := res.Conversation
	if survey && a.opts.BotEngine != nil {
		sent, err := a.opts.BotEngine.RequestSurvey(r.Context(), conv.ID)
		if err != nil {
			// The conversation is closed either way; only the question is lost.
			a.log.ErrorContext(r.Context(), "satisfaction survey not sent", "conversation_id", conv.ID, "err", err)
		}
		if sent {
			if c, err := a.store.GetConversation(r.Context(), conv.ID); err == nil {
				conv = c
			}
		}
	}
	return writeJSON(w, http.StatusOK, toConversationDTO(conv))
}

func (a *API) handleReopen(w http.ResponseWriter, r *http.Request) error {
	res, err := a.desk.Reopen(r.Context(), actor(r), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toConversationDTO(res.Conversation))
}

type eventDTO struct {
	ID        string         `json:"id"`
	Type      string         `json:"type" enum:"takeover,transfer,close,reopen,assigned,bot_handoff,bot_summary,bot_resume"`
	ActorID   *string        `json:"actorId"`
	Data      map[string]any `json:"data"`
	CreatedAt time.Time      `json:"createdAt"`
}

type timelineItemDTO struct {
	Kind    string      `json:"kind" enum:"message,event"`
	At      time.Time   `json:"at"`
	Message *messageDTO `json:"message,omitempty"`
	Event   *eventDTO   `json:"event,omitempty"`
}

type historyDTO struct {
	Conversation conversationDTO   `json:"conversation"`
	Items        []timelineItemDTO `json:"items" description:"messages and events, oldest first"`
	Truncated    bool              `json:"truncated" description:"older messages exist; page them with GET /messages"`
	Others       []conversationDTO `json:"otherConversations" description:"the customer's other conversations you may see, newest first"`
}

func (a *API) handleHistory(w http.ResponseWriter, r *http.Request) error {
	h, err := a.desk.History(r.Context(), currentUser(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	out := historyDTO{Conversation: toConversationDTO(h.Conversation), Truncated: h.Truncated,
		Items: make([]timelineItemDTO, 0, len(h.Messages)+len(h.Events)), Others: make([]conversationDTO, 0, len(h.Others))}
	for _, m := range h.Messages {
		dto := toMessageDTO(m)
		out.Items = append(out.Items, timelineItemDTO{Kind: "message", At: m.CreatedAt, Message: &dto})
	}
	for _, e := range h.Events {
		out.Items = append(out.Items, timelineItemDTO{Kind: "event", At: e.CreatedAt,
			Event: &eventDTO{ID: e.ID, Type: e.Type, ActorID: optional(e.ActorID), Data: e.Data, CreatedAt: e.CreatedAt}})
	}
	// Stable, so a message and the event it caused at the same instant keep
	// the message first.
	slices.SortStableFunc(out.Items, func(x, y timelineItemDTO) int { return x.At.Compare(y.At) })
	for _, o := range h.Others {
		out.Others = append(out.Others, toConversationDTO(o))
	}
	return writeJSON(w, http.StatusOK, out)
}

type departmentStatsDTO struct {
	DepartmentID *string `json:"departmentId" description:"null: conversations of no department"`
	Bot          int     `json:"bot"`
	Waiting      int     `json:"waiting"`
	Open         int     `json:"open"`
}

type statsDTO struct {
	ByStatus struct {
		Bot         int `json:"bot"`
		Waiting     int `json:"waiting"`
		Open        int `json:"open"`
		ClosedToday int `json:"closedToday"`
	} `json:"byStatus"`
	ByDepartment []departmentStatsDTO `json:"byDepartment"`
	Waiting      struct {
		Count          int   `json:"count"`
		OldestSeconds  int64 `json:"oldestSeconds"`
		AverageSeconds int64 `json:"averageSeconds"`
	} `json:"waiting"`
	AverageHandleSeconds int64          `json:"averageHandleSeconds" description:"mean open-to-close time of today's closed conversations"`
	Period               periodStatsDTO `json:"period" description:"figures of the period from/to (default: today in tz)"`
}

func (a *API) handleStats(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	from, to, loc, err := a.desk.StatsPeriod(q.Get("from"), q.Get("to"), q.Get("tz"))
	if err != nil {
		return err
	}
	period, err := a.desk.PeriodStats(r.Context(), from, to, loc)
	if err != nil {
		return err
	}
	st, err := a.desk.Stats(r.Context(), loc)
	if err != nil {
		return err
	}
	var out statsDTO
	out.ByStatus.Bot, out.ByStatus.Waiting = st.ByStatus[helpdesk.StatusBot], st.ByStatus[helpdesk.StatusWaiting]
	out.ByStatus.Open, out.ByStatus.ClosedToday = st.ByStatus[helpdesk.StatusOpen], st.ClosedToday
	out.ByDepartment = make([]departmentStatsDTO, 0, len(st.ByDepartment))
	for dept, counts := range st.ByDepartment {
		out.ByDepartment = append(out.ByDepartment, departmentStatsDTO{DepartmentID: optional(dept),
			Bot: counts[helpdesk.StatusBot], Waiting: counts[helpdesk.StatusWaiting], Open: counts[helpdesk.StatusOpen]})
	}
	slices.SortFunc(out.ByDepartment, func(x, y departmentStatsDTO) int {
		return strings.Compare(deref(x.DepartmentID), deref(y.DepartmentID))
	})
	out.Waiting.Count = st.Waiting
	out.Waiting.OldestSeconds, out.Waiting.AverageSeconds = int64(st.OldestWait.Seconds()), int64(st.AverageWait.Seconds())
	out.AverageHandleSeconds = int64(st.AverageHandleTime.Seconds())
	out.Period = toPeriodStatsDTO(period)
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, out)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
