package helpdesk

import (
	"encoding/json"
	"time"
)

// Channel is one WhatsApp business number connected through the Cloud API.
type Channel struct {
	ID                  string
	Name                string
	PhoneNumberID       string
	DisplayPhoneNumber  string
	BusinessAccountID   string
	AccessToken         string // secret: never logged, never in API responses
	AppSecret           string // secret: verifies webhook signatures
	VerifyToken         string
	DefaultDepartmentID string
	Status              ChannelStatus
	StatusReason        string
	MessagesPerSecond   int
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// ChannelStatus tells whether a channel can send.
type ChannelStatus string

const (
	ChannelActive    ChannelStatus = "active"
	ChannelUnhealthy ChannelStatus = "unhealthy" // Meta refused its token (code 190)
	ChannelDisabled  ChannelStatus = "disabled"
)

// Customer is a WhatsApp user who wrote to one of the channels, keyed on
// the wa_id Meta reports (never on a display string).
type Customer struct {
	ID          string
	WAID        string
	Name        string
	ProfileName string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// ConversationStatus is where a conversation is in its life; see doc.go.
type ConversationStatus string

const (
	StatusBot     ConversationStatus = "bot"     // the bot is talking
	StatusWaiting ConversationStatus = "waiting" // in a department queue, no agent
	StatusOpen    ConversationStatus = "open"    // assigned to an agent
	StatusClosed  ConversationStatus = "closed"
)

// Valid reports whether s is a known status.
func (s ConversationStatus) Valid() bool {
	switch s {
	case StatusBot, StatusWaiting, StatusOpen, StatusClosed:
		return true
	}
	return false
}

// Conversation is one support session between a customer and the business
// on one channel. A customer has at most one non-closed conversation per
// channel.
type Conversation struct {
	ID                 string
	ChannelID          string
	Customer           Customer
	DepartmentID       string
	AssigneeID         string
	Status             ConversationStatus
	LastMessageAt      *time.Time
	LastMessagePreview string
	LastInboundAt      *time.Time
	UnreadCount        int
	WaitingSince       *time.Time
	ClosedAt           *time.Time
	// The satisfaction survey: asked at close (CSATRequestedAt), answered
	// with a score of 1 to 5 and an optional comment.
	CSATScore       *int
	CSATComment     string
	CSATRequestedAt *time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Message directions, sender types and delivery states.
const (
	DirectionInbound  = "inbound"
	DirectionOutbound = "outbound"

	SenderCustomer = "customer"
	SenderAgent    = "agent"
	SenderBot      = "bot"
	SenderSystem   = "system"

	MessageReceived  = "received"
	MessageQueued    = "queued"
	MessageSent      = "sent"
	MessageDelivered = "delivered"
	MessageRead      = "read"
	MessageFailed    = "failed"
)

// MessageTypeUnsupported is the type of inbound messages whose WhatsApp type
// the helpdesk does not understand; their raw payload is kept.
const MessageTypeUnsupported = "unsupported"

// Media describes the file of a media message.
type Media struct {
	ID       string // Meta's media id
	MimeType string
	FileName string
	Size     int64
	SHA256   string
	Path     string // where the downloaded file is, relative to MEDIA_DIR; "" until downloaded
}

// Message is one message of a conversation, in either direction.
type Message struct {
	ID             string
	ConversationID string
	Direction      string
	SenderType     string
	SenderID       string
	Type           string
	Text           string
	Media          *Media
	ReplyToID      string // our id of the message this one answers or reacts to
	Reaction       string // the customer's current reaction to this message
	WAMessageID    string
	Status         string
	ErrorCode      string
	ErrorMessage   string
	Raw            json.RawMessage
	CreatedAt      time.Time
	SentAt         *time.Time
	DeliveredAt    *time.Time
	ReadAt         *time.Time
}
