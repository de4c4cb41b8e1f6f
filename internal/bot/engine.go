package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// Jobs is the durable work the engine schedules inside its transactions;
// jobs.Enqueuer implements it.
type Jobs interface {
	// EnqueueSend schedules the delivery of a stored outbound message.
	EnqueueSend(ctx context.Context, tx helpdesk.Store, messageID string) error
	// EnqueueBotTimeout arms the inactivity timer of a conversation at the
	// step seq: at that time, unless the session moved on, a person takes
	// over.
	EnqueueBotTimeout(ctx context.Context, tx helpdesk.Store, conversationID string, seq int, at time.Time) error
	// EnqueueBotAI schedules the AI's answer to the conversation at step
	// seq (a newer message makes it stale: the newer one is answered).
	EnqueueBotAI(ctx context.Context, tx helpdesk.Store, conversationID string, seq int) error
	// EnqueueBotSummary schedules the AI's note for the agent on a
	// conversation the bot handed over.
	EnqueueBotSummary(ctx context.Context, tx helpdesk.Store, conversationID string) error
}

// Engine runs the bot for conversations in status bot: it is called by the
// bot's jobs with a customer's message or an expired timer, and never
// inside a webhook request.
type Engine struct {
	Store helpdesk.Store
	Desk  *helpdesk.Service
	Jobs  Jobs
	// AI answers free text when ai_enabled is on; nil when no
	// OpenAI-compatible API is configured (the setting then does nothing).
	AI  *AI
	Now func() time.Time
	Log *slog.Logger
}

// TextAIFailed is said when the AI cannot answer (an error or a timeout).
const TextAIFailed = "Desculpe, não consegui responder agora. Vou transferir você para um de nossos atendentes."

// aiHistory is how many of the latest messages the AI sees.
const aiHistory = 20

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return helpdesk.Now()
}

func (e *Engine) log() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.New(slog.DiscardHandler)
}

// HandleStep answers one customer message. A conversation no longer with
// the bot (an agent took it) is left alone. Each call is one transaction:
// a retried job either finds nothing done or everything done.
func (e *Engine) HandleStep(ctx context.Context, step helpdesk.BotStep) error {
	cfg, err := e.config(ctx)
	if err != nil {
		return err
	}
	in := Input{Text: step.Text, ReplyID: step.ReplyID}
	return e.run(ctx, step.ConversationID, func(tx helpdesk.Store, sess *helpdesk.BotSession, f Flow, o Options) (Outcome, error) {
		if step.MessageID != "" && step.MessageID <= sess.LastMessageID {
			return Outcome{}, errStale // a newer message was answered already
		}
		sess.LastMessageID = step.MessageID
		switch {
		case !cfg.Enabled:
			// Switched off while this conversation was with it: a person
			// takes over, without a word from the bot.
			return Outcome{State: stateOf(*sess), Action: Action{Kind: ActQueue, Department: f.HumanDepartment, Reason: ReasonBotOff}}, nil
		case sess.Seq == 0:
			return Start(f, o), nil
		}
		return Step(f, stateOf(*sess), in, o), nil
	}, cfg)
}

// HandleTimeout hands the conversation to a person when the session is
// still at step seq (the customer never answered).
func (e *Engine) HandleTimeout(ctx context.Context, conversationID string, seq int) error {
	cfg, err := e.config(ctx)
	if err != nil {
		return err
	}
	return e.run(ctx, conversationID, func(tx helpdesk.Store, sess *helpdesk.BotSession, f Flow, o Options) (Outcome, error) {
		if sess.Seq != seq || sess.EndedAt != nil {
			return Outcome{}, errStale
		}
		return Timeout(f, stateOf(*sess)), nil
	}, cfg)
}

// HandleAI lets the AI answer the conversation at step seq: the call runs
// outside any transaction, with the system prompt, the knowledge base and
// the latest messages. An error, a timeout or the model's handoff puts the
// conversation in a human queue with a polite word to the customer.
func (e *Engine) HandleAI(ctx context.Context, conversationID string, seq int) error {
	cfg, err := e.config(ctx)
	if err != nil {
		return err
	}
	sess, err := e.Store.GetBotSession(ctx, conversationID)
	if err != nil {
		return err
	}
	conv, err := e.Store.GetConversation(ctx, conversationID)
	if err != nil {
		return err
	}
	if conv.Status != helpdesk.StatusBot || sess.Seq != seq || sess.EndedAt != nil {
		return nil // a newer message, or a person, took over
	}
	var ans AIAnswer
	var aiErr error
	if !cfg.AIEnabled || e.AI == nil {
		aiErr = errors.New("the AI was switched off")
	} else {
		history, err := e.history(ctx, conversationID)
		if err != nil {
			return err
		}
		ans, aiErr = e.AI.Answer(ctx, SystemMessage(cfg.AISystemPrompt, cfg.AIKnowledgeBase), history)
	}
	if aiErr != nil {
		e.log().WarnContext(ctx, "AI answer failed; handing over", "conversation_id", conversationID, "err", aiErr)
	}
	return e.run(ctx, conversationID, func(tx helpdesk.Store, s *helpdesk.BotSession, f Flow, o Options) (Outcome, error) {
		if s.Seq != seq || s.EndedAt != nil {
			return Outcome{}, errStale
		}
		st := stateOf(*s).clone()
		switch {
		case aiErr != nil:
			return toHuman(st, nil, ReasonAIFailed, f, TextAIFailed), nil
		case ans.Handoff:
			return toHuman(st, nil, ReasonAIHandoff, f, TextToHuman), nil
		}
		return Outcome{Replies: []Reply{{Text: ans.Text}}, State: st}, nil
	}, cfg)
}

// HandleSummary writes the AI's note for the agent on the conversation's
// timeline. A failed AI call leaves no note (the path and answers are
// there anyway) and is not retried.
func (e *Engine) HandleSummary(ctx context.Context, conversationID string) error {
	if e.AI == nil {
		return nil
	}
	history, err := e.history(ctx, conversationID)
	if err != nil {
		return err
	}
	summary, err := e.AI.Summarize(ctx, history)
	if err != nil {
		e.log().WarnContext(ctx, "AI summary failed", "conversation_id", conversationID, "err", err)
		return nil
	}
	return e.Store.InsertConversationEvent(ctx, helpdesk.ConversationEvent{ID: helpdesk.NewID(), ConversationID: conversationID,
		Type: helpdesk.EventBotSummary, Data: map[string]any{"summary": summary}, CreatedAt: e.now()})
}

// history is the conversation's latest messages as chat turns, oldest
// first: the customer's as user, the business's as assistant.
func (e *Engine) history(ctx context.Context, conversationID string) ([]ChatMessage, error) {
	msgs, err := e.Store.ListMessages(ctx, helpdesk.MessageFilter{ConversationID: conversationID, Limit: aiHistory})
	if err != nil {
		return nil, err
	}
	// In the order they were stored (ids are time-ordered): a customer's
	// message carries Meta's timestamp, whole seconds, so by creation time
	// it may sort before the bot's menu it answers.
	slices.SortFunc(msgs, func(a, b helpdesk.Message) int { return strings.Compare(a.ID, b.ID) })
	var out []ChatMessage
	for _, m := range msgs {
		if strings.TrimSpace(m.Text) == "" || m.Type == "reaction" {
			continue
		}
		role := "assistant"
		if m.Direction == helpdesk.DirectionInbound {
			role = "user"
		}
		out = append(out, ChatMessage{Role: role, Content: m.Text})
	}
	return out, nil
}

// Resume picks a conversation up again where the bot left it (an agent
// handed it back): the current menu or question is asked again.
func (e *Engine) Resume(ctx context.Context, conversationID string) error {
	cfg, err := e.config(ctx)
	if err != nil {
		return err
	}
	return e.run(ctx, conversationID, func(tx helpdesk.Store, sess *helpdesk.BotSession, f Flow, o Options) (Outcome, error) {
		if sess.Seq == 0 {
			return Start(f, o), nil
		}
		return Resume(f, stateOf(*sess), o), nil
	}, cfg)
}

// errStale ends a run that has nothing to do.
var errStale = errors.New("stale")

func (e *Engine) config(ctx context.Context) (Config, error) {
	vals, err := e.Store.BotConfigValues(ctx)
	if err != nil {
		return Config{}, fmt.Errorf("bot config: %w", err)
	}
	return ParseConfig(vals), nil
}

// run is one bot turn in one transaction: lock the conversation, load (or
// start) its session and flow version, let decide compute the outcome,
// then store the replies with their send jobs, the new state, and either
// a fresh inactivity timer or the move to a queue (the customer is told
// their place in it). Automatic assignment follows the commit.
func (e *Engine) run(ctx context.Context, conversationID string, decide func(tx helpdesk.Store, sess *helpdesk.BotSession, f Flow, o Options) (Outcome, error), cfg Config) error {
	var queued *helpdesk.Conversation
	var sent []helpdesk.Message
	err := e.Store.InTx(ctx, func(tx helpdesk.Store) error {
		queued, sent = nil, nil
		conv, err := tx.LockConversation(ctx, conversationID)
		if err != nil {
			return err
		}
		if conv.Status != helpdesk.StatusBot {
			return nil
		}
		now := e.now()
		sess, fv, err := e.session(ctx, tx, conv.ID, now)
		if err != nil {
			return err
		}
		f, err := ParseFlow(fv.Definition)
		if err != nil {
			// A stored version no longer parses: a person takes over.
			e.log().ErrorContext(ctx, "bot flow version unreadable", "version", fv.Version, "err", err)
			f = Flow{}
		}
		depts, err := tx.ListDepartments(ctx)
		if err != nil {
			return err
		}
		o := Options{AIEnabled: cfg.AIEnabled && e.AI != nil, DepartmentName: func(ref string) string { return findDepartment(depts, ref).Name }}
		out, err := decide(tx, &sess, f, o)
		if errors.Is(err, errStale) {
			return nil
		}
		if err != nil {
			return err
		}
		if out.Action.Kind == ActAI && !o.AIEnabled {
			// AI switched off meanwhile: free text is an unusable answer.
			out = Step(f, out.State, Input{ReplyID: "-"}, Options{DepartmentName: o.DepartmentName})
		}
		replies := out.Replies
		st := out.State
		sess.Node, sess.Variables, sess.Path, sess.Mode, sess.InvalidCount = st.Node, st.Vars, st.Path, st.Mode, st.Invalid
		sess.Seq++
		sess.LastActivityAt, sess.EndedAt, sess.EndedReason = now, nil, ""
		if out.Action.Kind == ActQueue {
			sess.EndedAt, sess.EndedReason = &now, out.Action.Reason
			asked := findDepartment(depts, out.Action.Department)
			dept := asked
			if !dept.Active {
				// A department switched off after the flow was written takes
				// no one; its customers go to the conversation's own
				// department, if active, or to the general human queue.
				if dept = findDepartment(depts, conv.DepartmentID); !dept.Active {
					dept = helpdesk.Department{}
				}
				if n := len(replies); n > 0 && asked.ID != "" && asked.ID != dept.ID && replies[n-1].Text == fmt.Sprintf(TextToDepartment, asked.Name) {
					replies[n-1].Text = TextToHuman
					e.log().InfoContext(ctx, "bot flow routes to a switched-off department; sent to the human queue instead",
						"department", asked.Name, "conversation_id", conv.ID)
				}
			}
			c, moved, err := e.Desk.QueueFromBot(ctx, tx, conv.ID, dept.ID, map[string]any{
				"reason": out.Action.Reason, "path": sess.Path, "variables": sess.Variables, "flowVersion": sess.FlowVersion,
			})
			if err != nil {
				return err
			}
			if moved {
				queued = &c
				if c.DepartmentID != "" {
					pos, err := tx.QueuePosition(ctx, c.ID)
					if err != nil {
						return err
					}
					// The customer's place in the queue goes in the bot's own
					// message, replacing its plain "transferring you": two
					// messages from separate jobs could overtake each other.
					if n := len(replies); n > 0 && replies[n-1].Text == fmt.Sprintf(TextToDepartment, dept.Name) {
						replies = replies[:n-1]
					}
					notice := fmt.Sprintf(helpdesk.QueueNotice, dept.Name, pos)
					if atOnce, err := e.Desk.AssignsAtOnce(ctx, tx, c.DepartmentID, pos); err != nil {
						return err
					} else if atOnce {
						notice = fmt.Sprintf(helpdesk.AssignedNotice, dept.Name) // not "1st in line" for a moment
					}
					replies = append(replies, Reply{Text: notice})
				}
				if cfg.AIEnabled && e.AI != nil {
					if err := e.Jobs.EnqueueBotSummary(ctx, tx, conv.ID); err != nil {
						return err
					}
				}
			}
			if !cfg.BusinessHours.Open(dept.ID, dept.Name, now) {
				replies = append(replies, Reply{Text: cfg.OutOfHoursMessage})
			}
		}
		for _, r := range Merge(replies) {
			msg, err := e.send(ctx, tx, conv.ID, r, now)
			if err != nil {
				return err
			}
			sent = append(sent, msg)
		}
		if err := tx.SaveBotSession(ctx, sess); err != nil {
			return err
		}
		switch out.Action.Kind {
		case ActQueue:
			return nil
		case ActAI:
			if err := e.Jobs.EnqueueBotAI(ctx, tx, conv.ID, sess.Seq); err != nil {
				return err
			}
		}
		if cfg.InactivityTimeout > 0 {
			return e.Jobs.EnqueueBotTimeout(ctx, tx, conv.ID, sess.Seq, now.Add(cfg.InactivityTimeout))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("bot turn %s: %w", conversationID, err)
	}
	e.Desk.BotActed(ctx, conversationID, sent, queued != nil)
	if queued != nil {
		e.Desk.AssignQueued(ctx, *queued)
	}
	return nil
}

// session loads the conversation's session with its flow version, or
// starts one (Seq 0) on the newest version.
func (e *Engine) session(ctx context.Context, tx helpdesk.Store, conversationID string, now time.Time) (helpdesk.BotSession, helpdesk.BotFlow, error) {
	sess, err := tx.GetBotSession(ctx, conversationID)
	if err == nil {
		fv, err := tx.GetBotFlow(ctx, sess.FlowVersion)
		return sess, fv, err
	}
	if !errors.Is(err, helpdesk.ErrNotFound) {
		return helpdesk.BotSession{}, helpdesk.BotFlow{}, err
	}
	fv, err := tx.LatestBotFlow(ctx)
	if errors.Is(err, helpdesk.ErrNotFound) {
		// No flow saved yet (EnsureDefaultFlow did not run): the default.
		fv = helpdesk.BotFlow{Version: 1, Definition: mustJSON(DefaultFlow()), CreatedAt: now}
		err = tx.InsertBotFlow(ctx, fv)
	}
	if err != nil {
		return helpdesk.BotSession{}, helpdesk.BotFlow{}, err
	}
	return helpdesk.BotSession{ConversationID: conversationID, FlowVersion: fv.Version, CreatedAt: now, LastActivityAt: now}, fv, nil
}

// send stores one reply as a queued bot message and schedules its delivery
// in the same transaction.
func (e *Engine) send(ctx context.Context, tx helpdesk.Store, conversationID string, r Reply, now time.Time) (helpdesk.Message, error) {
	msg := helpdesk.Message{ID: helpdesk.NewID(), ConversationID: conversationID, Direction: helpdesk.DirectionOutbound,
		SenderType: helpdesk.SenderBot, Type: "text", Text: r.Text, Status: helpdesk.MessageQueued, CreatedAt: now}
	if r.Interactive != nil {
		msg.Type, msg.Raw = "interactive", r.Interactive
	}
	if _, err := tx.InsertMessage(ctx, msg); err != nil {
		return msg, err
	}
	if err := tx.NoteOutboundMessage(ctx, conversationID, helpdesk.Preview(msg), now, now); err != nil {
		return msg, err
	}
	return msg, e.Jobs.EnqueueSend(ctx, tx, msg.ID)
}

func stateOf(s helpdesk.BotSession) State {
	return State{Node: s.Node, Vars: s.Variables, Invalid: s.InvalidCount, Path: s.Path, Mode: s.Mode}
}

// findDepartment resolves a flow's department reference: an id, or a name
// in any case and with or without accents. The zero Department when none.
func findDepartment(depts []helpdesk.Department, ref string) helpdesk.Department {
	if ref == "" {
		return helpdesk.Department{}
	}
	for _, d := range depts {
		if d.ID == ref {
			return d
		}
	}
	for _, d := range depts {
		if helpdesk.Fold(d.Name) == helpdesk.Fold(ref) {
			return d
		}
	}
	return helpdesk.Department{}
}

// Merge joins a turn's replies into as few messages as possible (the send
// jobs keep a conversation's messages in order, but each message costs a
// round trip to Meta and a notification on the customer's phone): texts
// are joined, and texts before an interactive message become the start of
// its body when they fit.
func Merge(replies []Reply) []Reply {
	var out []Reply
	var pending []string
	flush := func() {
		if len(pending) > 0 {
			out = append(out, Reply{Text: strings.Join(pending, "\n\n")})
			pending = nil
		}
	}
	for _, r := range replies {
		if strings.TrimSpace(r.Text) == "" && r.Interactive == nil {
			continue
		}
		if r.Interactive == nil {
			pending = append(pending, r.Text)
			continue
		}
		if len(pending) > 0 {
			body := strings.Join(append(pending, r.Text), "\n\n")
			if merged, ok := withBody(r, body); ok {
				out, pending = append(out, merged), nil
				continue
			}
		}
		flush()
		out = append(out, r)
	}
	flush()
	return out
}

// withBody returns r with its interactive body replaced, when the new body
// fits WhatsApp's limit.
func withBody(r Reply, body string) (Reply, bool) {
	if utf8.RuneCountInString(body) > MaxInteractiveBody {
		return r, false
	}
	var obj map[string]any
	if json.Unmarshal(r.Interactive, &obj) != nil {
		return r, false
	}
	obj["body"] = map[string]any{"text": body}
	return interactive(body, obj), true
}

// Resume asks the current node's question again (after an agent handed
// the conversation back).
func Resume(f Flow, st State, o Options) Outcome {
	st = st.clone()
	if st.Mode == ModeAI {
		return Outcome{Replies: []Reply{{Text: TextAskAI}}, State: st}
	}
	n, ok := f.Node(st.Node)
	if !ok || (n.Type != NodeMenu && n.Type != NodeInput) {
		return Start(f, o)
	}
	return settle(f, st, n, nil, o)
}

// TextSurvey asks for the rating when a conversation is closed.
const TextSurvey = "Seu atendimento foi encerrado. Como você avalia o atendimento que recebeu? " +
	"Toque em uma nota ou responda com um número de 1 a 5."

// SurveyReply is the satisfaction survey: a list of the scores 5 to 1.
func SurveyReply() Reply {
	labels := []string{"Péssimo", "Ruim", "Regular", "Bom", "Excelente"}
	rows := make([]map[string]any, 0, 5)
	for score := 5; score >= 1; score-- {
		rows = append(rows, map[string]any{"id": fmt.Sprintf("%s%d", helpdesk.CSATReplyPrefix, score),
			"title": fmt.Sprintf("%d - %s", score, labels[score-1])})
	}
	return interactive(TextSurvey, map[string]any{"type": "list", "body": map[string]any{"text": TextSurvey},
		"action": map[string]any{"button": "Avaliar", "sections": []any{map[string]any{"title": "Sua nota", "rows": rows}}}})
}

// RequestSurvey sends the satisfaction survey of a closed conversation,
// when csat_enabled is on and WhatsApp's customer service window is open;
// sent reports whether it went.
func (e *Engine) RequestSurvey(ctx context.Context, conversationID string) (sent bool, err error) {
	cfg, err := e.config(ctx)
	if err != nil || !cfg.CSATEnabled {
		return false, err
	}
	err = e.Store.InTx(ctx, func(tx helpdesk.Store) error {
		conv, err := tx.LockConversation(ctx, conversationID)
		if err != nil {
			return err
		}
		now := e.now()
		if conv.Status != helpdesk.StatusClosed || conv.CSATRequestedAt != nil {
			return nil
		}
		if open, err := helpdesk.WindowOpen(ctx, tx, conv, now); err != nil || !open {
			return err
		}
		if _, err := e.send(ctx, tx, conv.ID, SurveyReply(), now); err != nil {
			return err
		}
		sent = true
		return tx.MarkCSATRequested(ctx, conv.ID, now)
	})
	if err != nil {
		return false, fmt.Errorf("csat survey %s: %w", conversationID, err)
	}
	return sent, nil
}
