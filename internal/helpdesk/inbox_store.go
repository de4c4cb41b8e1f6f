package helpdesk

import (
	"context"
	"slices"
	"time"
)

// InboxEntry is a webhook body as received, kept for audit and replay.
type InboxEntry struct {
	ID         string
	BodySHA256 string
	Body       []byte
	Status     string // InboxProcessed, InboxUnrouted or InboxPartial
	Note       string
	ReceivedAt time.Time
	// Signer is SignerFingerprint of the app secret that signed the body;
	// "" when unknown (stored before it was recorded).
	Signer string
}

// CustomerUpsert is one message's say on its sender (UpsertCustomers).
type CustomerUpsert struct {
	WAIDs       []string // the sender's wa_id first, then its equivalent forms
	ProfileName string
}

// InboundNote is what a batch's new messages change on one conversation.
type InboundNote struct {
	ConversationID string
	Count          int
	At             time.Time // the latest message's time
	Preview        string    // the latest message's preview
}

// Inbox entry states.
const (
	InboxProcessed = "processed"
	InboxUnrouted  = "unrouted" // no channel has the phone_number_id
	InboxPartial   = "partial"  // some changes were for unknown channels
)

// StatusEvent is one delivery-status report of Meta, recorded whether or
// not the message is ours.
type StatusEvent struct {
	WAMessageID  string
	Status       string
	OccurredAt   time.Time
	ErrorCode    string
	ErrorMessage string
	Known        bool
	ReceivedAt   time.Time
}

// ConversationFilter selects conversations for ListConversations, newest
// activity first. Zero fields do not filter.
type ConversationFilter struct {
	Statuses     []ConversationStatus
	CustomerID   string
	DepartmentID string
	// AssigneeID keeps the conversations of one user; Unassigned keeps
	// those of nobody.
	AssigneeID string
	Unassigned bool
	ChannelID  string
	UnreadOnly bool
	// Query keeps conversations whose customer's name or number, or any of
	// whose messages, match (see SearchTerms and SearchDigits).
	Query string
	// Viewer limits the list to what an agent may see; nil sees everything.
	Viewer *Viewer
	Limit  int
	// After continues a listing: the (last_message_at, id) of the last
	// conversation of the previous page.
	After *ConversationCursor
}

// Viewer is an agent whose view is limited: conversations assigned to them,
// plus the unassigned ones of their departments (and of no department).
type Viewer struct {
	UserID        string
	DepartmentIDs []string
}

// CanSee reports whether the viewer may see c (nil sees everything).
func (v *Viewer) CanSee(c Conversation) bool {
	if v == nil || c.AssigneeID == v.UserID {
		return true
	}
	return c.AssigneeID == "" && (c.DepartmentID == "" || slices.Contains(v.DepartmentIDs, c.DepartmentID))
}

// ViewerFor returns the view limit of u: nil for supervisors and admins.
func ViewerFor(u User) *Viewer {
	if u.Role.AtLeast(RoleSupervisor) {
		return nil
	}
	return &Viewer{UserID: u.ID, DepartmentIDs: u.DepartmentIDs}
}

// ConversationCursor is the position of a conversation in the activity
// order.
type ConversationCursor struct {
	LastMessageAt *time.Time
	ID            string
}

// MessageFilter selects one conversation's messages, newest page first.
type MessageFilter struct {
	ConversationID string
	Limit          int
	// NoPageCap lets Limit exceed the API's page size (for the history).
	NoPageCap bool
	// Before continues to older messages: the (created_at, id) of the oldest
	// message of the previous page.
	Before *MessageCursor
}

// MessageCursor is the position of a message in chat order.
type MessageCursor struct {
	CreatedAt time.Time
	ID        string
}

// ChannelStore persists channels.
type ChannelStore interface {
	// UpsertChannel creates the channel with c.PhoneNumberID or updates its
	// name, display number, business account, credentials and default
	// department, and returns it as stored.
	UpsertChannel(ctx context.Context, c Channel) (Channel, error)
	// InsertChannel creates a channel; ErrConflict when the number is
	// already connected.
	InsertChannel(ctx context.Context, c Channel) (Channel, error)
	GetChannel(ctx context.Context, id string) (Channel, error)
	GetChannelByPhoneNumberID(ctx context.Context, phoneNumberID string) (Channel, error)
	ListChannels(ctx context.Context) ([]Channel, error)
}

// IngestStore holds what the webhook ingest writes. Every method is meant
// to run inside one transaction with the others.
type IngestStore interface {
	// UpsertCustomer returns the customer whose wa_id is one of waIDs
	// (variants of one number, preferred first), refreshing its profile
	// name; when there is none it creates one with waIDs[0]. A customer
	// whose names it would not change is only read.
	UpsertCustomer(ctx context.Context, waIDs []string, profileName string, now time.Time) (Customer, error)
	// OpenConversation returns the customer's non-closed conversation on
	// the channel of c, creating c when there is none. created tells which.
	OpenConversation(ctx context.Context, c Conversation) (conv Conversation, created bool, err error)
	// RekeyCustomer moves the customer known under oldWAIDs to newWAIDs[0]
	// (a changed number); false when there is no such customer or the new
	// number belongs to another one already.
	RekeyCustomer(ctx context.Context, oldWAIDs, newWAIDs []string, now time.Time) (bool, error)
	// StoredWAMIDs returns which of wamids are stored already.
	StoredWAMIDs(ctx context.Context, wamids []string) (map[string]bool, error)
	// The batch forms of the methods above, one statement each for a
	// whole group commit (see Ingester). Results are in the order of the
	// input.
	//
	// InsertInboxEntries stores each delivery's body as it came, a
	// redelivery's too.
	InsertInboxEntries(ctx context.Context, es []InboxEntry) error
	// UpsertCustomers: UpsertCustomer for each, as if one after the other.
	UpsertCustomers(ctx context.Context, us []CustomerUpsert, now time.Time) ([]Customer, error)
	// OpenConversations: OpenConversation for each; cs names each channel
	// and customer once. A conversation it creates comes back whole; one
	// that was live already carries only its ID, channel and customer
	// (NoteInboundMessages returns the rest as it leaves it).
	OpenConversations(ctx context.Context, cs []Conversation) (convs []Conversation, created []bool, err error)
	// InsertInboundMessages: InsertMessage for each inbound customer
	// message; the status, media and raw columns of ms are kept.
	InsertInboundMessages(ctx context.Context, ms []Message) (inserted []bool, err error)
	// NoteInboundMessages: NoteInboundMessage for Count messages at once,
	// the latest at At with Preview; notes names each conversation once.
	// It returns the conversations' rows as the update left them (their
	// Customer not filled): read under the update's row lock, they include
	// what a concurrent transaction committed first (an assignment, a
	// transfer), which the real-time events must not miss.
	NoteInboundMessages(ctx context.Context, notes []InboundNote, now time.Time) ([]Conversation, error)
	// StartGroupCommit, first in a group commit's transaction, makes the
	// engine plan the transaction's lookups by key on their indexes however
	// small the tables were when it first planned them, takes LockWAMIDs'
	// locks on wamids and a lock of the same kind on each of customers (the
	// customer keys of the batch's messages, see customerKeys), and reads
	// the bot's on/off switch (BotConfigValue(BotConfigEnabled)) and the
	// channels of phoneNumberIDs (GetChannelByPhoneNumberID; a number
	// without one is left out); one statement on PostgreSQL, where every
	// round trip costs both processes CPU. The customer locks make two
	// group commits (of two replicas) that share a customer take turns:
	// otherwise each locks the customers' and conversations' rows in the
	// order of its own messages, and two batches listing them in different
	// orders deadlock.
	StartGroupCommit(ctx context.Context, wamids, customers, phoneNumberIDs []string) (GroupCommitStart, error)
	// LockWAMIDs, inside a transaction, serialises it with every other
	// transaction that locks one of wamids, until it ends: the ingest of
	// statuses and messages and MarkMessageSent's replay of the statuses
	// that came before the wamid was stored all take it first. A no-op where
	// writers are serialised anyway (SQLite) and outside a transaction.
	LockWAMIDs(ctx context.Context, wamids []string) error
	// MessageIDByWAMID returns our id of the message Meta knows as wamid.
	MessageIDByWAMID(ctx context.Context, wamid string) (string, error)
	// InsertMessage stores m unless its WAMessageID is already stored;
	// inserted is false for such a duplicate.
	InsertMessage(ctx context.Context, m Message) (inserted bool, err error)
	// NoteInboundMessage moves the conversation's activity forward for an
	// inbound message created at: unread count +1, last inbound time and,
	// when at is not older than the current last message, the preview.
	NoteInboundMessage(ctx context.Context, conversationID, preview string, at, now time.Time) (Conversation, error)
	// NoteInboundTime moves only the conversation's last inbound time
	// forward to at: a message that is not shown as the conversation's
	// activity (a survey answer on the closed conversation) still opens
	// the number's customer service window.
	NoteInboundTime(ctx context.Context, conversationID string, at time.Time) error
	// SetMessageReaction records the customer's reaction to a message.
	SetMessageReaction(ctx context.Context, messageID, emoji string) error
	// ApplyMessageStatus moves the status of the message with this wamid
	// forward (queued < sent < failed < delivered < read) and fills the
	// matching time; it never moves it back. found is false for an unknown
	// wamid.
	ApplyMessageStatus(ctx context.Context, ev StatusEvent) (found bool, err error)
	// RecordStatusEvent stores ev; a repeat of the same wamid and status is
	// a no-op, for which recorded is false.
	RecordStatusEvent(ctx context.Context, ev StatusEvent) (recorded bool, err error)
}

// ConversationReadStore reads conversations and messages.
type ConversationReadStore interface {
	GetConversation(ctx context.Context, id string) (Conversation, error)
	// LastInboundAt is when the customer last wrote to the channel's
	// number (nil when never): the customer service window opens then.
	LastInboundAt(ctx context.Context, channelID, customerID string) (*time.Time, error)
	ListConversations(ctx context.Context, f ConversationFilter) ([]Conversation, error)
	GetMessage(ctx context.Context, id string) (Message, error)
	// NewestInboundMessageID is the id of the conversation's latest message
	// from the customer that WhatsApp knows (a wamid), created up to upTo;
	// "" when there is none.
	NewestInboundMessageID(ctx context.Context, conversationID string, upTo time.Time) (string, error)
	// ListMessages returns up to f.Limit messages before f.Before, newest
	// first.
	ListMessages(ctx context.Context, f MessageFilter) ([]Message, error)
}

// GroupCommitStart is what StartGroupCommit read.
type GroupCommitStart struct {
	BotSwitch string             // the value stored under BotConfigEnabled, "" when none
	Channels  map[string]Channel // by phone number id; only those that exist
}
