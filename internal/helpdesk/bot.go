package helpdesk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// The bot (package bot) talks to customers while a conversation is in
// StatusBot. What it needs from the helpdesk is here: its rows, the job
// that runs it, and the way out of the bot into a department queue.

// EventBotHandoff is the bot handing a conversation to a queue; its data
// holds the reason, the department, the path the customer took and the
// answers they gave, for the agent who takes over.
const EventBotHandoff = "bot_handoff"

// EventBotSummary is the AI's note for the agent on a conversation the bot
// handed over (data: summary).
const EventBotSummary = "bot_summary"

// EventBotResume is an agent handing a conversation back to the bot.
const EventBotResume = "bot_resume"

// BotConfigEnabled is the bot_configurations key that switches the bot on;
// its stored value is the JSON text true or false.
const BotConfigEnabled = "enabled"

// BotFlow is one saved version of the bot's flow.
type BotFlow struct {
	Version    int
	Definition json.RawMessage
	CreatedBy  string // "" for the default flow of a fresh install
	CreatedAt  time.Time
}

// BotSession is where one conversation is in its flow.
type BotSession struct {
	ConversationID string
	FlowVersion    int
	Node           string
	Variables      map[string]string
	Path           []string
	Mode           string
	InvalidCount   int
	// Seq counts the steps; an inactivity timer carries the Seq it was armed
	// at and does nothing when the session moved on since.
	Seq int
	// LastMessageID is the customer message last answered; ids are
	// time-ordered, so a job for an older message is recognised as late.
	LastMessageID  string
	LastActivityAt time.Time
	EndedAt        *time.Time
	EndedReason    string
	CreatedAt      time.Time
}

// BotStore persists the bot's configuration, flow versions and sessions.
type BotStore interface {
	// BotConfigValues returns the stored bot_configurations values (JSON
	// text) by key.
	BotConfigValues(ctx context.Context) (map[string]string, error)
	// BotConfigValue returns one stored value (JSON text); "" when the key
	// was never saved.
	BotConfigValue(ctx context.Context, key string) (string, error)
	// PutBotConfigValue stores a value (JSON text) under key.
	PutBotConfigValue(ctx context.Context, key, value, userID string, now time.Time) error
	// InsertBotFlow stores a version; ErrConflict when it exists already.
	InsertBotFlow(ctx context.Context, f BotFlow) error
	GetBotFlow(ctx context.Context, version int) (BotFlow, error)
	// LatestBotFlow returns the newest version; ErrNotFound when none.
	LatestBotFlow(ctx context.Context) (BotFlow, error)
	// ListBotFlows returns up to limit versions, newest first.
	ListBotFlows(ctx context.Context, limit int) ([]BotFlow, error)
	// GetBotSession returns the conversation's session; ErrNotFound when
	// the bot never talked in it.
	GetBotSession(ctx context.Context, conversationID string) (BotSession, error)
	// SaveBotSession creates or replaces the conversation's session.
	SaveBotSession(ctx context.Context, s BotSession) error

	// ResetCSAT forgets a conversation's survey (request and answer): it
	// was reopened, and its next close is surveyed afresh.
	ResetCSAT(ctx context.Context, conversationID string) error
	// MarkCSATRequested records that the survey was sent for a conversation.
	MarkCSATRequested(ctx context.Context, conversationID string, now time.Time) error
	// PendingCSAT returns the customer's latest closed conversation on the
	// channel whose survey, sent at or after since, is unanswered;
	// ErrNotFound when there is none.
	PendingCSAT(ctx context.Context, channelID, customerID string, since time.Time) (Conversation, error)
	// RecordCSAT stores the answer; false when the survey was answered
	// already.
	RecordCSAT(ctx context.Context, conversationID string, score int, comment string, now time.Time) (bool, error)
}

// BotStep is one inbound message for the bot to answer.
type BotStep struct {
	ConversationID string
	MessageID      string
	Text           string
	ReplyID        string // the tapped button or list row, "" for typed text
}

// BotEnqueuer schedules the bot's work in the transaction that stored the
// customer's message; jobs.Enqueuer implements it. An Enqueuer without it
// leaves bot conversations unanswered (they still time out to a queue).
type BotEnqueuer interface {
	EnqueueBotStep(ctx context.Context, tx Store, step BotStep) error
}

// BotEnabled reads the on/off switch of the bot. Every ingest batch asks,
// so it reads that one row, not the flow and knowledge base beside it.
func BotEnabled(ctx context.Context, st Store) (bool, error) {
	v, err := st.BotConfigValue(ctx, BotConfigEnabled)
	return botSwitchOn(v), err
}

// botSwitchOn reads the value stored under BotConfigEnabled.
func botSwitchOn(v string) bool { return v == "true" }

// QueueFromBot moves a conversation the bot was talking in to a department
// queue (waiting, unassigned) inside tx and records why on its timeline.
// departmentID "" keeps its department. It returns the conversation as it
// is afterwards; a conversation no longer with the bot (an agent took it)
// is returned unchanged with moved false. Call AssignQueued after commit.
func (s *Service) QueueFromBot(ctx context.Context, tx Store, conversationID, departmentID string, data map[string]any) (Conversation, bool, error) {
	c, err := tx.LockConversation(ctx, conversationID)
	if err != nil {
		return Conversation{}, false, fmt.Errorf("queue from bot: %w", err)
	}
	if c.Status != StatusBot {
		return c, false, nil
	}
	now := s.now()
	st := stateOf(c)
	if departmentID != "" {
		st.DepartmentID = departmentID
	}
	st.Status, st.AssigneeID, st.WaitingSince = StatusWaiting, "", &now
	if err := tx.SetConversationState(ctx, c.ID, st, now); err != nil {
		return Conversation{}, false, fmt.Errorf("queue from bot: %w", err)
	}
	if data == nil {
		data = map[string]any{}
	}
	data["departmentId"] = st.DepartmentID
	ev := ConversationEvent{ID: NewID(), ConversationID: c.ID, Type: EventBotHandoff, Data: data, CreatedAt: now}
	if err := tx.InsertConversationEvent(ctx, ev); err != nil {
		return Conversation{}, false, fmt.Errorf("queue from bot: %w", err)
	}
	updated, err := tx.GetConversation(ctx, c.ID)
	if err != nil {
		return Conversation{}, false, fmt.Errorf("queue from bot: %w", err)
	}
	return updated, true, nil
}

// AssignQueued runs automatic assignment after the bot queued a
// conversation (the bot told the customer their place itself). Failures
// are logged: the conversation waits in its queue either way.
func (s *Service) AssignQueued(ctx context.Context, c Conversation) {
	if _, err := s.AutoAssign(ctx, c.DepartmentID); err != nil {
		s.log.ErrorContext(ctx, "auto-assign after the bot queued failed", "conversation_id", c.ID, "err", err)
	}
}

// HandBackToBot returns a conversation to the bot, which resumes where it
// was. Who may: its assignee, a supervisor or an admin, or an agent who
// sees it while it waits. Errors: not_found, conversation_closed,
// unprocessable (already with the bot, never with it, or the bot is off).
func (s *Service) HandBackToBot(ctx context.Context, actor Actor, id string) (ActionResult, error) {
	on, err := BotEnabled(ctx, s.store)
	if err != nil {
		return ActionResult{}, fmt.Errorf("hand back to bot: %w", err)
	}
	if !on {
		if _, err := s.VisibleConversation(ctx, actor.User, id); err != nil {
			return ActionResult{}, err
		}
		return ActionResult{}, &Error{Code: CodeUnprocessable, Message: "the bot is switched off"}
	}
	res, err := s.act(ctx, actor, id, false, func(tx Store, c Conversation, now time.Time) (ConversationState, ConversationEvent, error) {
		switch {
		case c.Status == StatusClosed:
			return ConversationState{}, ConversationEvent{}, errClosed()
		case c.Status == StatusBot:
			return ConversationState{}, ConversationEvent{}, &Error{Code: CodeUnprocessable, Message: "the bot already has this conversation"}
		case c.AssigneeID != "" && c.AssigneeID != actor.User.ID && !actor.User.Role.AtLeast(RoleSupervisor):
			return ConversationState{}, ConversationEvent{}, errForbidden()
		}
		if _, err := tx.GetBotSession(ctx, c.ID); errors.Is(err, ErrNotFound) {
			return ConversationState{}, ConversationEvent{}, &Error{Code: CodeUnprocessable, Message: "the bot never talked in this conversation"}
		} else if err != nil {
			return ConversationState{}, ConversationEvent{}, err
		}
		st := stateOf(c)
		st.Status, st.AssigneeID, st.WaitingSince = StatusBot, "", nil
		return st, ConversationEvent{Type: EventBotResume, Data: map[string]any{"fromUserId": c.AssigneeID, "fromStatus": string(c.Status)}}, nil
	})
	if err == nil && res.PreviousAssignee != "" {
		s.capacityFreed(ctx, res.Conversation.DepartmentID)
	}
	return res, err
}
