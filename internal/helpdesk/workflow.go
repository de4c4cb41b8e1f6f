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
	})
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
	return s.act(ctx, actor, id, false, func(tx Store, c Conversation, now time.Time) (ConversationState, ConversationEvent, error) {
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
}

// Close ends a conversation. sendSurvey is recorded on the event; the
// satisfaction survey itself is the bot's to send.
func (s *Service) Close(ctx context.Context, actor Actor, id string, sendSurvey bool) (ActionResult, error) {
	return s.act(ctx, actor, id, false, func(_ Store, c Conversation, now time.Time) (ConversationState, ConversationEvent, error) {
		if c.Status == StatusClosed {
			return ConversationState{}, ConversationEvent{}, errClosed()
		}
		st := stateOf(c)
		st.Status, st.WaitingSince, st.ClosedAt, st.ClosedBy = StatusClosed, nil, &now, actor.User.ID
		return st, ConversationEvent{Type: EventClose, Data: map[string]any{"sendSurvey": sendSurvey}}, nil
	})
}

// Reopen brings a closed conversation back, open and assigned to the
// caller. When the customer has meanwhile started another conversation on
// the same number it answers 409: continue in that one.
func (s *Service) Reopen(ctx context.Context, actor Actor, id string) (ActionResult, error) {
	return s.act(ctx, actor, id, false, func(_ Store, c Conversation, now time.Time) (ConversationState, ConversationEvent, error) {
		if c.Status != StatusClosed {
			return ConversationState{}, ConversationEvent{}, &Error{Code: CodeUnprocessable, Message: "the conversation is not closed"}
		}
		st := stateOf(c)
		st.Status, st.AssigneeID, st.ClosedAt, st.ClosedBy = StatusOpen, actor.User.ID, nil, ""
		return st, ConversationEvent{Type: EventReopen, Data: map[string]any{}}, nil
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
		// Reopening is for the people who could see it before it closed;
		// a closed conversation keeps its assignee and department.
		queued := c
		queued.AssigneeID = ""
		if v := ViewerFor(actor.User); !v.CanSee(c) && !(fromQueue && c.Status != StatusClosed && v.CanSee(queued)) {
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
		if err := tx.SetConversationState(ctx, c.ID, st, now); err != nil {
			return err
		}
		ev.ID, ev.ConversationID, ev.ActorID, ev.CreatedAt = NewID(), c.ID, actor.User.ID, now
		if err := tx.InsertConversationEvent(ctx, ev); err != nil {
			return err
		}
		updated, err := tx.GetConversation(ctx, c.ID)
		if err != nil {
			return err
		}
		res = ActionResult{Conversation: updated, Event: ev, PreviousAssignee: c.AssigneeID}
		return nil
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
	return res, nil
}
