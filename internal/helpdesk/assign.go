package helpdesk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// EventAssigned is an automatic assignment from a department queue.
const EventAssigned = "assigned"

// AgentLoad is an agent of a department with their open conversations.
type AgentLoad struct {
	UserID           string
	Open             int
	MaxConversations int
}

// AssignStore holds what automatic assignment reads, inside one
// transaction with WorkflowStore.
type AssignStore interface {
	// LockQueue serialises the assigners of one department queue across
	// processes (an advisory lock on PostgreSQL; SQLite serialises writers).
	LockQueue(ctx context.Context, departmentID string) error
	// OldestWaiting returns the department's unassigned waiting
	// conversation that has waited longest; ErrNotFound when none.
	OldestWaiting(ctx context.Context, departmentID string) (Conversation, error)
	// AgentLoads returns the active agents of the department with their
	// open conversations.
	AgentLoads(ctx context.Context, departmentID string) ([]AgentLoad, error)
	// QueuePosition is 1 for the conversation that waited longest in its
	// department's queue, 2 for the next, and so on.
	QueuePosition(ctx context.Context, conversationID string) (int, error)
}

// SetOnline tells the service how to know whether a user is connected to
// the dashboard; only online agents are given conversations. Until it is
// called nobody is online and nothing is assigned automatically.
func (s *Service) SetOnline(online func(userID string) bool) { s.online = online }

// AutoAssign hands the department's waiting conversations, oldest first, to
// its online agents with the fewest open conversations, each up to their
// maxConversations, until the queue is empty or nobody has room. It does
// nothing for a department without auto-assignment.
func (s *Service) AutoAssign(ctx context.Context, departmentID string) ([]ActionResult, error) {
	if departmentID == "" || s.online == nil {
		return nil, nil
	}
	dept, err := s.store.GetDepartment(ctx, departmentID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("auto-assign: %w", err)
	}
	if !dept.AutoAssign || !dept.Active {
		return nil, nil
	}
	var out []ActionResult
	err = s.store.InTx(ctx, func(tx Store) error {
		out = nil
		if err := tx.LockQueue(ctx, departmentID); err != nil {
			return err
		}
		loads, err := tx.AgentLoads(ctx, departmentID)
		if err != nil {
			return err
		}
		loads = slices.DeleteFunc(loads, func(a AgentLoad) bool { return !s.online(a.UserID) })
		for {
			loads = slices.DeleteFunc(loads, func(a AgentLoad) bool { return a.Open >= a.MaxConversations })
			if len(loads) == 0 {
				return nil
			}
			c, err := tx.OldestWaiting(ctx, departmentID)
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			slices.SortStableFunc(loads, func(a, b AgentLoad) int { return a.Open - b.Open })
			agent := &loads[0]
			now := s.now()
			st := stateOf(c)
			st.Status, st.AssigneeID, st.WaitingSince = StatusOpen, agent.UserID, nil
			if err := tx.SetConversationState(ctx, c.ID, st, now); err != nil {
				return err
			}
			ev := ConversationEvent{ID: NewID(), ConversationID: c.ID, Type: EventAssigned, CreatedAt: now,
				Data: map[string]any{"toUserId": agent.UserID, "auto": true}}
			if err := tx.InsertConversationEvent(ctx, ev); err != nil {
				return err
			}
			updated, err := tx.GetConversation(ctx, c.ID)
			if err != nil {
				return err
			}
			out = append(out, ActionResult{Conversation: updated, Event: ev})
			agent.Open++
		}
	})
	if err != nil {
		return nil, fmt.Errorf("auto-assign %s: %w", departmentID, err)
	}
	for _, res := range out {
		s.notifier().ConversationChanged(ctx, res)
	}
	return out, nil
}

// AutoAssignAll runs AutoAssign for every active department with
// auto-assignment on.
func (s *Service) AutoAssignAll(ctx context.Context) ([]ActionResult, error) {
	depts, err := s.store.ListDepartments(ctx)
	if err != nil {
		return nil, fmt.Errorf("auto-assign: %w", err)
	}
	var out []ActionResult
	for _, d := range depts {
		if !d.AutoAssign || !d.Active {
			continue
		}
		got, err := s.AutoAssign(ctx, d.ID)
		if err != nil {
			return out, err
		}
		out = append(out, got...)
	}
	return out, nil
}

// RunAutoAssign sweeps every auto-assigning queue each interval until ctx
// ends. The actions assign at once when they can (a transfer to a queue, a
// closed conversation freeing room); the sweep catches what they cannot
// see: new conversations from WhatsApp, an agent coming online.
func (s *Service) RunAutoAssign(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.AutoAssignAll(ctx); err != nil && ctx.Err() == nil {
				log.ErrorContext(ctx, "auto-assign sweep failed", "err", err)
			}
		}
	}
}

// QueueNotice is what a customer is told when their conversation joins a
// queue with nobody free to take it.
const QueueNotice = "Sua conversa foi encaminhada para o setor %s. Você é o %dº da fila; em breve um atendente vai falar com você."

// AssignedNotice is what a customer is told when their conversation joins
// a queue that an online agent with room will take it from at once.
const AssignedNotice = "Sua conversa foi encaminhada para o setor %s. Um atendente já vai falar com você."

// AssignsAtOnce reports, inside tx, whether automatic assignment will give
// the conversation at place pos of departmentID's queue to an online agent
// as soon as it runs: the department assigns automatically and its online
// agents have room for pos more conversations. An agent may still go
// offline before it runs; the customer was then told a little too much.
func (s *Service) AssignsAtOnce(ctx context.Context, tx Store, departmentID string, pos int) (bool, error) {
	if departmentID == "" || s.online == nil {
		return false, nil
	}
	dept, err := tx.GetDepartment(ctx, departmentID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil || !dept.AutoAssign || !dept.Active {
		return false, err
	}
	loads, err := tx.AgentLoads(ctx, departmentID)
	if err != nil {
		return false, err
	}
	room := 0
	for _, a := range loads {
		if s.online(a.UserID) && a.Open < a.MaxConversations {
			room += a.MaxConversations - a.Open
		}
	}
	return room >= pos, nil
}

// tellQueuePosition sends the customer their place in the queue, when the
// customer service window is open (outside it only templates may go).
func (s *Service) tellQueuePosition(ctx context.Context, c Conversation) error {
	if s.jobs == nil || c.Status != StatusWaiting || c.DepartmentID == "" {
		return nil
	}
	now := s.now()
	if open, err := WindowOpen(ctx, s.store, c, now); err != nil || !open {
		return err
	}
	dept, err := s.store.GetDepartment(ctx, c.DepartmentID)
	if err != nil {
		return err
	}
	pos, err := s.store.QueuePosition(ctx, c.ID)
	if err != nil {
		return err
	}
	msg := Message{ID: NewID(), ConversationID: c.ID, Direction: DirectionOutbound, SenderType: SenderSystem,
		Type: "text", Text: fmt.Sprintf(QueueNotice, dept.Name, pos), Status: MessageQueued, CreatedAt: now}
	err = s.store.InTx(ctx, func(tx Store) error {
		if _, err := tx.InsertMessage(ctx, msg); err != nil {
			return err
		}
		return s.jobs.EnqueueSend(ctx, tx, msg.ID)
	})
	if err == nil {
		s.notifier().MessageStored(ctx, c, msg)
	}
	return err
}
