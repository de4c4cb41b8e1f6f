package helpdesk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Conversation event types: the steps of a conversation's life that are not
// messages, shown interleaved with them in its history.
const (
	EventTakeover = "takeover" // an agent took the conversation from the bot, the queue or a colleague
	EventTransfer = "transfer" // moved to another agent or department queue
	EventClose    = "close"
	EventReopen   = "reopen"
)

// AuditConversationPrefix and an event type name an agent's action on a
// conversation in the audit log: conversation.takeover, conversation.transfer,
// conversation.close, conversation.reopen.
const AuditConversationPrefix = "conversation."

// CodeAlreadyAssigned answers a takeover that lost to another agent.
const CodeAlreadyAssigned = "already_assigned" // 409

// ConversationEvent is one entry of a conversation's timeline.
type ConversationEvent struct {
	ID             string
	ConversationID string
	Type           string
	ActorID        string
	Data           map[string]any
	CreatedAt      time.Time
}

// ConversationState is what the workflow actions change on a conversation,
// written as a whole.
type ConversationState struct {
	Status       ConversationStatus
	AssigneeID   string // "" for none
	DepartmentID string // "" for none
	WaitingSince *time.Time
	ClosedAt     *time.Time
	ClosedBy     string
}

// Transfer is a row of conversation_transfers.
type Transfer struct {
	ID               string
	ConversationID   string
	FromUserID       string
	ToUserID         string
	FromDepartmentID string
	ToDepartmentID   string
	Reason           string
	TransferredBy    string
	CreatedAt        time.Time
}

// WorkflowStore holds what the takeover, transfer, close and reopen
// actions read and write, inside one transaction.
type WorkflowStore interface {
	// LockConversation reads a conversation and, on PostgreSQL, locks its
	// row until the transaction ends, so concurrent actions on it are
	// decided one after the other (SQLite serialises write transactions).
	LockConversation(ctx context.Context, id string) (Conversation, error)
	// SetConversationState writes st. ErrConflict when it would make a
	// second live conversation of the same customer and channel.
	SetConversationState(ctx context.Context, id string, st ConversationState, now time.Time) error
	InsertTransfer(ctx context.Context, t Transfer) error
	InsertConversationEvent(ctx context.Context, e ConversationEvent) error
	// ListConversationEvents returns a conversation's events, oldest first.
	ListConversationEvents(ctx context.Context, conversationID string) ([]ConversationEvent, error)
}

// ActionResult is what a workflow action changed, for the API answer and
// the real-time events.
type ActionResult struct {
	Conversation     Conversation
	Event            ConversationEvent
	PreviousAssignee string // who had the conversation before, "" if nobody
}

// Takeover gives a conversation in the bot or a queue to the caller. Of any
// number of simultaneous callers exactly one wins; the others get 409
// already_assigned. Supervisors and admins may also take a conversation
// from its assignee (PreviousAssignee tells whom). Taking one's own
// conversation again is a no-op.
func (s *Service) Takeover(ctx context.Context, actor Actor, id string) (ActionResult, error) {
	return s.act(ctx, actor, id, true, func(tx Store, c Conversation, now time.Time) (ConversationState, ConversationEvent, error) {
		return takeover(actor, c)
	})
}

// takeover decides a takeover of c by actor.
func takeover(actor Actor, c Conversation) (ConversationState, ConversationEvent, error) {
	switch {
	case c.Status == StatusClosed:
		return ConversationState{}, ConversationEvent{}, errClosed()
	case c.AssigneeID == actor.User.ID:
		return ConversationState{}, ConversationEvent{}, errNoChange
	case c.AssigneeID != "" && !actor.User.Role.AtLeast(RoleSupervisor):
		return ConversationState{}, ConversationEvent{}, &Error{Code: CodeAlreadyAssigned, Message: "another agent has taken this conversation"}
	}
	st := stateOf(c)
	st.Status, st.AssigneeID, st.WaitingSince = StatusOpen, actor.User.ID, nil
	return st, ConversationEvent{Type: EventTakeover, Data: map[string]any{"from": c.AssigneeID, "fromStatus": string(c.Status)}}, nil
}

// TransferParams says where a conversation goes: to an agent (it is then
// open and theirs), to a department queue (waiting, unassigned), or to an
// agent within a department.
type TransferParams struct {
	ToUserID       string
	ToDepartmentID string
	Reason         string
}

// Transfer moves a conversation to another agent or department queue and
// records it in conversation_transfers. Only someone who may act on the
// conversation can: its assignee, a supervisor or an admin, or, while it is
// unassigned, an agent who sees it.
func (s *Service) Transfer(ctx context.Context, actor Actor, id string, p TransferParams) (ActionResult, error) {
	p.Reason = strings.TrimSpace(p.Reason)
	fields := map[string]string{}
	if p.ToUserID == "" && p.ToDepartmentID == "" {
		fields["toUserId"] = "toUserId or toDepartmentId is required"
	}
	if len(p.Reason) > 500 {
		fields["reason"] = "must be at most 500 characters"
	}
	var target User
	if p.ToUserID != "" {
		u, err := s.GetUser(ctx, p.ToUserID)
		switch {
		case err != nil && ErrorCode(err) == CodeNotFound:
			fields["toUserId"] = "is not a user"
		case err != nil:
			return ActionResult{}, err
		case !u.Active:
			fields["toUserId"] = "is deactivated"
		}
		target = u
	}
	if p.ToDepartmentID != "" {
		d, err := s.GetDepartment(ctx, p.ToDepartmentID)
		switch {
		case err != nil && ErrorCode(err) == CodeNotFound:
			fields["toDepartmentId"] = "is not a department"
		case err != nil:
			return ActionResult{}, err
		case !d.Active:
			fields["toDepartmentId"] = "is deactivated"
		}
	}
	if len(fields) > 0 {
		return ActionResult{}, ValidationError(fields)
	}
	res, err := s.act(ctx, actor, id, false, func(tx Store, c Conversation, now time.Time) (ConversationState, ConversationEvent, error) {
		if c.Status == StatusClosed {
			return ConversationState{}, ConversationEvent{}, errClosed()
		}
		st := stateOf(c)
		if p.ToDepartmentID != "" {
			st.DepartmentID = p.ToDepartmentID
		}
		if p.ToUserID != "" {
			if target.ID == c.AssigneeID && st.DepartmentID == c.DepartmentID {
				return ConversationState{}, ConversationEvent{}, &Error{Code: CodeUnprocessable, Message: "the conversation is already with this agent"}
			}
			st.Status, st.AssigneeID, st.WaitingSince = StatusOpen, target.ID, nil
		} else {
			st.Status, st.AssigneeID, st.WaitingSince = StatusWaiting, "", &now
		}
		if err := tx.InsertTransfer(ctx, Transfer{
			ID: NewID(), ConversationID: c.ID, FromUserID: c.AssigneeID, ToUserID: st.AssigneeID,
			FromDepartmentID: c.DepartmentID, ToDepartmentID: st.DepartmentID, Reason: p.Reason,
			TransferredBy: actor.User.ID, CreatedAt: now,
		}); err != nil {
			return ConversationState{}, ConversationEvent{}, err
		}
		return st, ConversationEvent{Type: EventTransfer, Data: map[string]any{
			"fromUserId": c.AssigneeID, "toUserId": st.AssigneeID,
			"fromDepartmentId": c.DepartmentID, "toDepartmentId": st.DepartmentID, "reason": p.Reason,
		}}, nil
	})
	if err != nil {
		return ActionResult{}, err
	}
	if res.Conversation.Status == StatusWaiting {
		res.Conversation = s.afterQueued(ctx, res.Conversation)
	}
	if res.PreviousAssignee != "" && res.PreviousAssignee != res.Conversation.AssigneeID {
		s.capacityFreed(ctx, res.Event.Data["fromDepartmentId"].(string))
	}
	return res, nil
}

// afterQueued runs when a conversation has joined a queue: an online agent
// with room gets it at once, or else the customer is told their place. It
// returns the conversation as it then is. Failures are logged: the action
// that queued it has succeeded and stays so.
func (s *Service) afterQueued(ctx context.Context, c Conversation) Conversation {
	assigned, err := s.AutoAssign(ctx, c.DepartmentID)
	if err != nil {
		s.log.ErrorContext(ctx, "auto-assign after queueing failed", "conversation_id", c.ID, "err", err)
	}
	for _, a := range assigned {
		if a.Conversation.ID == c.ID {
			return a.Conversation
		}
	}
	if err := s.tellQueuePosition(ctx, c); err != nil {
		s.log.ErrorContext(ctx, "could not tell the customer their place in the queue", "conversation_id", c.ID, "err", err)
	}
	return c
}

// capacityFreed runs when an agent has one conversation fewer: the queue it
// came from may now be served.
func (s *Service) capacityFreed(ctx context.Context, departmentID string) {
	if _, err := s.AutoAssign(ctx, departmentID); err != nil {
		s.log.ErrorContext(ctx, "auto-assign after freeing capacity failed", "department_id", departmentID, "err", err)
	}
}

// Close ends a conversation. sendSurvey is recorded on the event; the
// satisfaction survey itself is the bot's to send.
func (s *Service) Close(ctx context.Context, actor Actor, id string, sendSurvey bool) (ActionResult, error) {
	res, err := s.act(ctx, actor, id, false, func(_ Store, c Conversation, now time.Time) (ConversationState, ConversationEvent, error) {
		if c.Status == StatusClosed {
			return ConversationState{}, ConversationEvent{}, errClosed()
		}
		st := stateOf(c)
		st.Status, st.WaitingSince, st.ClosedAt, st.ClosedBy = StatusClosed, nil, &now, actor.User.ID
		return st, ConversationEvent{Type: EventClose, Data: map[string]any{"sendSurvey": sendSurvey}}, nil
	})
	if err == nil && res.PreviousAssignee != "" {
		s.capacityFreed(ctx, res.Conversation.DepartmentID)
	}
	return res, err
}

// Reopen brings a closed conversation back, open and assigned to the
// caller. When the customer has meanwhile started another conversation on
// the same number it answers 409: continue in that one.
func (s *Service) Reopen(ctx context.Context, actor Actor, id string) (ActionResult, error) {
	return s.act(ctx, actor, id, false, func(tx Store, c Conversation, now time.Time) (ConversationState, ConversationEvent, error) {
		if c.Status != StatusClosed {
			return ConversationState{}, ConversationEvent{}, &Error{Code: CodeUnprocessable, Message: "the conversation is not closed"}
		}
		st := stateOf(c)
		st.Status, st.AssigneeID, st.ClosedAt, st.ClosedBy = StatusOpen, actor.User.ID, nil, ""
		data := map[string]any{}
		if c.CSATScore != nil {
			// The rating judged the service up to that close; it stays in
			// the timeline, and the next close is surveyed (and counted in
			// the stats of whoever closes it) afresh.
			data["previousCsatScore"], data["previousCsatComment"] = *c.CSATScore, c.CSATComment
		}
		if err := tx.ResetCSAT(ctx, c.ID); err != nil {
			return ConversationState{}, ConversationEvent{}, err
		}
		return st, ConversationEvent{Type: EventReopen, Data: data}, nil
	})
}

// errNoChange makes act answer the conversation as it is, writing nothing.
var errNoChange = errors.New("no change")

func errClosed() *Error {
	return &Error{Code: CodeConversationClosed, Message: "the conversation is closed; reopen it first"}
}

func stateOf(c Conversation) ConversationState {
	return ConversationState{Status: c.Status, AssigneeID: c.AssigneeID, DepartmentID: c.DepartmentID,
		WaitingSince: c.WaitingSince, ClosedAt: c.ClosedAt}
}

// act runs one workflow action in a transaction: lock the conversation,
// check the caller may act on it (what they cannot see is not found), let
// decide compute the new state and event, write both. With fromQueue, a
// conversation the caller would see were it unassigned also reaches
// decide: an agent who lost a takeover race is told "already assigned",
// not "not found".
func (s *Service) act(ctx context.Context, actor Actor, id string, fromQueue bool,
	decide func(tx Store, c Conversation, now time.Time) (ConversationState, ConversationEvent, error)) (ActionResult, error) {
	notFound := &Error{Code: CodeNotFound, Message: "conversation not found"}
	if !ValidID(id) {
		return ActionResult{}, notFound
	}
	var res ActionResult
	err := s.store.InTx(ctx, func(tx Store) error {
		c, err := tx.LockConversation(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return notFound
		}
		if err != nil {
			return err
		}
		if !mayAct(actor, c, fromQueue) {
			return notFound
		}
		now := s.now()
		st, ev, err := decide(tx, c, now)
		if errors.Is(err, errNoChange) {
			res = ActionResult{Conversation: c, PreviousAssignee: c.AssigneeID}
			return nil
		}
		if err != nil {
			return err
		}
		res, err = applyAction(ctx, tx, actor, c, st, ev, now)
		return err
	})
	var apiErr *Error
	switch {
	case errors.As(err, &apiErr):
		return ActionResult{}, apiErr
	case errors.Is(err, ErrConflict):
		return ActionResult{}, &Error{Code: CodeConflict, Message: "the customer already has another open conversation on this number; continue there"}
	case err != nil:
		return ActionResult{}, fmt.Errorf("conversation action: %w", err)
	}
	if res.Event.ID != "" {
		s.notifier().ConversationChanged(ctx, res)
	}
	return res, nil
}

// mayAct reports whether actor may act on c as it is now: it sees c, or,
// with fromQueue, c is live and would be theirs to see unassigned (a
// takeover from a colleague, or a queue they serve). Reopening is for the
// people who could see it before it closed; a closed conversation keeps
// its assignee and department.
func mayAct(actor Actor, c Conversation, fromQueue bool) bool {
	queued := c
	queued.AssigneeID = ""
	v := ViewerFor(actor.User)
	return v.CanSee(c) || fromQueue && c.Status != StatusClosed && v.CanSee(queued)
}

// applyAction writes a decided action on c inside tx: its new state and
// its timeline event.
func applyAction(ctx context.Context, tx Store, actor Actor, c Conversation, st ConversationState, ev ConversationEvent, now time.Time) (ActionResult, error) {
	if err := tx.SetConversationState(ctx, c.ID, st, now); err != nil {
		return ActionResult{}, err
	}
	ev.ID, ev.ConversationID, ev.ActorID, ev.CreatedAt = NewID(), c.ID, actor.User.ID, now
	if err := tx.InsertConversationEvent(ctx, ev); err != nil {
		return ActionResult{}, err
	}
	// The audit log lists people's actions across conversations (who
	// transferred what, and when); the event above is the conversation's
	// own timeline.
	if err := tx.InsertAuditLog(ctx, AuditLog{ID: NewID(), ActorID: actor.User.ID, Action: AuditConversationPrefix + ev.Type,
		EntityType: "conversation", EntityID: c.ID, IP: actor.IP, Details: ev.Data, CreatedAt: now}); err != nil {
		return ActionResult{}, err
	}
	updated, err := tx.GetConversation(ctx, c.ID)
	if err != nil {
		return ActionResult{}, err
	}
	return ActionResult{Conversation: updated, Event: ev, PreviousAssignee: c.AssigneeID}, nil
}

// ConversationCounts is one group of live conversations for the stats.
type ConversationCounts struct {
	Status       ConversationStatus
	DepartmentID string
	Count        int
}

// StatsStore reads what the live dashboard's figures are computed from.
type StatsStore interface {
	// CountLiveConversations counts the non-closed conversations by status
	// and department.
	CountLiveConversations(ctx context.Context) ([]ConversationCounts, error)
	// WaitingSince returns when each waiting conversation joined its queue.
	WaitingSince(ctx context.Context) ([]time.Time, error)
	// ClosedSince returns (created, closed) of the conversations closed at
	// or after since.
	ClosedSince(ctx context.Context, since time.Time) ([][2]time.Time, error)
}

// Stats are the live dashboard's figures.
type Stats struct {
	ByStatus     map[ConversationStatus]int
	ByDepartment map[string]map[ConversationStatus]int // "" is no department
	Waiting      int
	OldestWait   time.Duration // of the conversations waiting now
	AverageWait  time.Duration
	ClosedToday  int
	// AverageHandleTime is the mean time from opening to closing of the
	// conversations closed today (TMA, tempo médio de atendimento).
	AverageHandleTime time.Duration
}

// Stats computes the live figures; today starts at midnight of loc.
func (s *Service) Stats(ctx context.Context, loc *time.Location) (Stats, error) {
	now := s.now()
	out := Stats{ByStatus: map[ConversationStatus]int{StatusBot: 0, StatusWaiting: 0, StatusOpen: 0, StatusClosed: 0},
		ByDepartment: map[string]map[ConversationStatus]int{}}
	counts, err := s.store.CountLiveConversations(ctx)
	if err != nil {
		return Stats{}, fmt.Errorf("stats: %w", err)
	}
	for _, c := range counts {
		out.ByStatus[c.Status] += c.Count
		if out.ByDepartment[c.DepartmentID] == nil {
			out.ByDepartment[c.DepartmentID] = map[ConversationStatus]int{}
		}
		out.ByDepartment[c.DepartmentID][c.Status] += c.Count
	}
	waits, err := s.store.WaitingSince(ctx)
	if err != nil {
		return Stats{}, fmt.Errorf("stats: %w", err)
	}
	var total time.Duration
	for _, since := range waits {
		d := max(now.Sub(since), 0)
		total += d
		out.OldestWait = max(out.OldestWait, d)
	}
	if out.Waiting = len(waits); out.Waiting > 0 {
		out.AverageWait = total / time.Duration(out.Waiting)
	}
	local := now.In(loc)
	midnight := StartOfDay(local.Year(), local.Month(), local.Day(), loc)
	closed, err := s.store.ClosedSince(ctx, midnight)
	if err != nil {
		return Stats{}, fmt.Errorf("stats: %w", err)
	}
	total = 0
	for _, c := range closed {
		total += max(c[1].Sub(c[0]), 0)
	}
	if out.ClosedToday = len(closed); out.ClosedToday > 0 {
		out.AverageHandleTime = total / time.Duration(out.ClosedToday)
		out.ByStatus[StatusClosed] = out.ClosedToday
	}
	return out, nil
}

// HistoryLimit is how many of the latest messages a history holds.
const HistoryLimit = 1000

// History is a conversation's timeline: its latest messages and all its
// events, plus the customer's other conversations the caller may see.
type History struct {
	Conversation Conversation
	Messages     []Message // oldest first
	Truncated    bool      // older messages exist beyond HistoryLimit
	Events       []ConversationEvent
	Others       []Conversation // newest first
}

// History returns what the caller may see of a conversation's timeline.
func (s *Service) History(ctx context.Context, u User, id string) (History, error) {
	c, err := s.VisibleConversation(ctx, u, id)
	if err != nil {
		return History{}, err
	}
	msgs, err := s.store.ListMessages(ctx, MessageFilter{ConversationID: c.ID, Limit: HistoryLimit + 1, NoPageCap: true})
	if err != nil {
		return History{}, fmt.Errorf("history: %w", err)
	}
	h := History{Conversation: c}
	if len(msgs) > HistoryLimit {
		msgs, h.Truncated = msgs[:HistoryLimit], true
	}
	for i := len(msgs) - 1; i >= 0; i-- { // the store returns newest first
		h.Messages = append(h.Messages, msgs[i])
	}
	if h.Events, err = s.store.ListConversationEvents(ctx, c.ID); err != nil {
		return History{}, fmt.Errorf("history: %w", err)
	}
	others, err := s.store.ListConversations(ctx, ConversationFilter{CustomerID: c.Customer.ID, Viewer: ViewerFor(u), Limit: 50})
	if err != nil {
		return History{}, fmt.Errorf("history: %w", err)
	}
	for _, o := range others {
		if o.ID != c.ID {
			h.Others = append(h.Others, o)
		}
	}
	return h, nil
}
