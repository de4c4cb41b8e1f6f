package whatsapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrMalformed is wrapped by ParseWebhook when a body cannot be a webhook at
// all. The handler should answer 400: Meta will retry, and a body that is
// malformed once is malformed every time, so this only ever happens to forged
// or broken requests.
var ErrMalformed = errors.New("malformed webhook")

// FieldMessages is the webhook field that carries messages, statuses and
// message errors. Other fields (account_update,
// message_template_status_update, …) are returned unparsed.
const FieldMessages = "messages"

// Notification is one webhook POST (§3).
type Notification struct {
	Object  string   // "whatsapp_business_account"; not checked by ParseWebhook
	Changes []Change // entry[].changes[] flattened, in order
}

// Change is one entry[].changes[] element. For Field "messages" the value is
// parsed into the slices below; for any other field only WABAID, Field and
// Value are set.
type Change struct {
	WABAID             string // entry[].id, the WhatsApp Business Account id
	Field              string // "messages", "account_update", …
	PhoneNumberID      string // value.metadata.phone_number_id: which business number
	DisplayPhoneNumber string // value.metadata.display_phone_number, digits
	Contacts           []Contact
	Messages           []Message
	Statuses           []Status
	Errors             []Error // value.errors: out-of-band app/account errors

	// Value is the change's value exactly as received when Field is not
	// "messages" (nil for "messages", whose content is parsed above), so
	// callers can log or store notifications this package does not model.
	Value json.RawMessage
}

// Contact is a value.contacts[] element: the sender's profile.
type Contact struct {
	WAID string // wa_id
	Name string // profile.name, as the user set it (may be empty)
}

// Message is one inbound value.messages[] element (§4).
//
// Only the payload that matches Type is decoded: Media for image, audio,
// video, document and sticker; Location for location; Contacts for contacts;
// Reply for interactive; Button for button; Reaction for reaction; Order for
// order; System for system. Context, Referral and Errors may appear on any
// type. A payload whose JSON has an unexpected shape is left nil (or partly
// filled) rather than failing the batch; Raw always holds the original.
type Message struct {
	ID        string    // wamid: the idempotency key; quote it in replies, reactions and mark-as-read
	From      string    // sender's wa_id, digits only, exactly as received (never normalise it)
	Timestamp time.Time // from the string of Unix seconds, UTC; zero if absent or unreadable
	Type      string    // Meta's type as received: "text", "image", …, "unsupported", or a type newer than this package

	// Text is what an agent should read: text.body; the caption of image,
	// video and document; button.text; the interactive reply's title;
	// order.text; system.body; the location's name. Empty otherwise.
	Text string

	Media    *Media            // image, audio, video, document, sticker
	Location *Location         // location
	Contacts []SharedContact   // contacts (vCards the user shared, not the sender)
	Reply    *InteractiveReply // interactive: button_reply, list_reply or nfm_reply; nil for other sub-types
	Button   *Button           // button: a template's quick-reply button
	Reaction *Reaction         // reaction
	Order    *Order            // order
	System   *System           // system
	Context  *Context          // set when the message quotes another or was forwarded
	Referral *Referral         // set when the user came from a Click-to-WhatsApp ad
	Errors   []Error           // e.g. why an unsupported message is unsupported

	Raw json.RawMessage // the message object as received, after SanitizeJSON
}

// Message types this package understands; see Message.Supported.
const (
	TypeText        = "text"
	TypeImage       = "image"
	TypeAudio       = "audio"
	TypeVideo       = "video"
	TypeDocument    = "document"
	TypeSticker     = "sticker"
	TypeLocation    = "location"
	TypeContacts    = "contacts"
	TypeInteractive = "interactive"
	TypeButton      = "button"
	TypeReaction    = "reaction"
	TypeOrder       = "order"
	TypeSystem      = "system"
	TypeUnsupported = "unsupported"
	TypeTemplate    = "template" // outbound only
)

// Interactive reply sub-types (InteractiveReply.Type).
const (
	ReplyButton = "button_reply"
	ReplyList   = "list_reply"
	ReplyFlow   = "nfm_reply" // WhatsApp Flows; ResponseJSON holds the answers
)

// Supported reports whether the helpdesk can show m from its parsed fields:
// Type is one of §4's types other than "unsupported" (text, image, audio,
// video, document, sticker, location, contacts, interactive, button,
// reaction, order, system) and its payload was present. So when Supported is
// true and Type is "image", Media is non-nil; for "interactive", Reply is
// non-nil; for "text", Text is not empty; and so on. Unsupported messages, types newer than this package
// (edit, revoke, request_welcome, …) and messages whose payload is missing
// report false: store them from Raw as events, never fail the batch.
func (m Message) Supported() bool {
	switch m.Type {
	case TypeText:
		return m.Text != ""
	case TypeImage, TypeAudio, TypeVideo, TypeDocument, TypeSticker:
		return m.Media != nil
	case TypeLocation:
		return m.Location != nil
	case TypeContacts:
		return len(m.Contacts) > 0
	case TypeInteractive:
		return m.Reply != nil
	case TypeButton:
		return m.Button != nil
	case TypeReaction:
		return m.Reaction != nil
	case TypeOrder:
		return m.Order != nil
	case TypeSystem:
		return m.System != nil
	}
	return false
}

// Media describes an inbound attachment. Download it with Client.GetMedia
// then Client.DownloadMedia; ids received in webhooks live 7 days (§7).
type Media struct {
	ID       string
	MimeType string // e.g. "audio/ogg; codecs=opus"
	SHA256   string // base64 in webhooks (§7)
	Caption  string // image, video, document
	Filename string // document
	URL      string // download URL when Meta includes it (rolling out since Nov 2025); expires after 5 min
	// Voice is true only when Meta sent audio.voice = true (a recorded voice
	// note). False means an attached audio file or, on payloads that omit
	// voice, unknown.
	Voice    bool
	Animated bool // sticker
}

// Location is a shared pin. Name, Address and URL are set only for a chosen
// place. Outbound (OutboundMessage.Location), URL is not sent: the send API
// has no such field.
type Location struct {
	Latitude  float64
	Longitude float64
	Name      string
	Address   string
	URL       string
}

// SharedContact is one card of a contacts message. Only the name and phone
// numbers are extracted; Raw holds the whole card (emails, org, addresses…).
type SharedContact struct {
	FormattedName string          // name.formatted_name
	Phones        []string        // phones[].phone as written by the user, e.g. "+55 21 99876-5432"
	WAIDs         []string        // phones[].wa_id where WhatsApp knows one (same order, empty skipped)
	Raw           json.RawMessage // the card exactly as received
}

// InteractiveReply is a tap on a reply button or list row the business sent
// (or a Flow's answer). Context.ID on the message names the message tapped.
type InteractiveReply struct {
	Type        string // ReplyButton, ReplyList or ReplyFlow
	ID          string // the id the business gave the button or row
	Title       string // the button or row title; for nfm_reply its body (e.g. "Sent")
	Description string // list rows only, when the row had one
	// ResponseJSON is nfm_reply.response_json: the Flow's answers as a JSON
	// text, exactly as received (Meta sends it as a string holding JSON).
	ResponseJSON string
}

// Button is a tap on a template's quick-reply button.
type Button struct {
	Payload string // the payload set when sending the template (observed equal to Text when none was set)
	Text    string // the button label
}

// Reaction is an emoji reaction. Inbound, Emoji "" means the user removed
// their reaction (Meta omits emoji or sends ""). Outbound, Emoji "" removes
// the business's reaction.
type Reaction struct {
	MessageID string // the wamid reacted to
	Emoji     string
}

// Order is a cart sent from a catalog.
type Order struct {
	CatalogID string
	Text      string
	Items     []OrderItem // product_items
}

// OrderItem is one order line. Quantity and ItemPrice are read from JSON
// numbers or numeric strings.
type OrderItem struct {
	ProductRetailerID string
	Quantity          int
	ItemPrice         float64
	Currency          string
}

// System is a notice about the user, such as a changed number.
type System struct {
	Type string // "user_changed_number", "customer_identity_changed", …
	Body string // human-readable text, e.g. "User Ana Souza changed from … to …"
	WAID string // system.wa_id as received (on user_changed_number: the new wa_id)
	// NewWAID is the user's new wa_id on user_changed_number: system.new_wa_id
	// (older payloads) or else system.wa_id (current ones). Re-key the
	// customer from Message.From to NewWAID. Empty for other system types
	// unless Meta sent new_wa_id.
	NewWAID string
}

// Context is set on a message that quotes another (ID, From), was forwarded,
// or asks about a catalog product.
type Context struct {
	ID                  string // wamid of the quoted message
	From                string // author of the quoted message (the business's display number when quoting it)
	Forwarded           bool
	FrequentlyForwarded bool // forwarded more than 5 times
	ReferredProduct     *ReferredProduct
}

// ReferredProduct is the catalog item a user asked about.
type ReferredProduct struct {
	CatalogID         string
	ProductRetailerID string
}

// Referral is set when the user wrote from a Click-to-WhatsApp ad.
type Referral struct {
	SourceURL    string
	SourceID     string
	SourceType   string // "ad", …
	Headline     string
	Body         string
	MediaType    string // "image" or "video"
	ImageURL     string
	VideoURL     string
	ThumbnailURL string
	CTWAClickID  string // ctwa_clid; absent for Status ads
}

// Status is a value.statuses[] element: news about a message we sent (§5).
// Statuses arrive late, duplicated and out of order; apply them
// monotonically (sent < delivered < read < played; failed only before
// delivered).
type Status struct {
	ID                    string    // wamid returned by SendMessage
	RecipientID           string    // the user's wa_id
	Status                string    // sent | delivered | read | failed | played (others tolerated)
	Timestamp             time.Time // UTC; zero if absent or unreadable
	Errors                []Error   // why it failed
	BizOpaqueCallbackData string    // echoed from OutboundMessage.BizOpaqueCallbackData
	Raw                   json.RawMessage
}

// Status values.
const (
	StatusSent      = "sent"
	StatusDelivered = "delivered"
	StatusRead      = "read"
	StatusFailed    = "failed"
	StatusPlayed    = "played"
)

// Error is an asynchronous error from a webhook (statuses[].errors,
// messages[].errors or value.errors). Code means the same as in a
// synchronous APIError; ClassifyCode sorts it.
type Error struct {
	Code    int
	Title   string
	Message string
	Details string // error_data.details
	Href    string
}

// ParseWebhook decodes a webhook POST body (§3–§5). Verify the signature on
// the same bytes first.
//
// It is tolerant: unknown fields, unknown message types and unknown status
// values never fail it, and inside a message or status a payload of an
// unexpected shape is left unparsed (Raw keeps it). It returns an error
// wrapping ErrMalformed only when the body cannot be a webhook: it is not a
// single JSON object (including truncated JSON or trailing data), or a
// structural field has an impossible type — entry, changes, contacts,
// messages, statuses or errors not an array; an entry, a change, a
// "messages" value, its metadata, or a messages[]/statuses[] element not an
// object; object, entry[].id, changes[].field, the metadata ids, a message's
// id, from or type, or a status's id, status or recipient_id not a string.
// Null stands for absent everywhere. On error the Notification is empty:
// answer 400 and process nothing.
//
// Changes whose field is not "messages" are returned with WABAID, Field and
// Value set and nothing else parsed. Object is returned as received.
//
// Every string and Raw comes from SanitizeJSON(body): no NUL and no
// unpaired surrogate, so all of it can be stored on any engine.
func ParseWebhook(body []byte) (Notification, error) {
	body = SanitizeJSON(body)
	if n, ok := scanWebhook(body); ok {
		return n, nil
	}
	return decodeWebhook(body)
}

// decodeWebhook is ParseWebhook's general path, built on encoding/json: it
// defines the parser's behaviour on every input, including every error, and
// scanWebhook must agree with it wherever scanWebhook answers
// (FuzzParseWebhook checks). It runs for bodies outside the fast path's
// subset, which real deliveries never are.
func decodeWebhook(body []byte) (Notification, error) {
	if !isObject(body) {
		return Notification{}, fmt.Errorf("%w: body is not a JSON object", ErrMalformed)
	}
	var wn wireNotification
	if err := json.Unmarshal(body, &wn); err != nil {
		return Notification{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	n := Notification{Object: wn.Object}
	for i, e := range wn.Entry {
		for j, wc := range e.Changes {
			c, err := parseChange(e.ID, wc)
			if err != nil {
				return Notification{}, fmt.Errorf("%w: entry[%d].changes[%d]: %w", ErrMalformed, i, j, err)
			}
			n.Changes = append(n.Changes, c)
		}
	}
	return n, nil
}

func parseChange(wabaID string, wc wireChange) (Change, error) {
	c := Change{WABAID: wabaID, Field: wc.Field}
	if wc.Field != FieldMessages {
		if len(wc.Value) > 0 {
			c.Value = wc.Value
		}
		return c, nil
	}
	if len(wc.Value) == 0 || string(wc.Value) == "null" {
		return c, nil
	}
	if !isObject(wc.Value) {
		return Change{}, errors.New("value is not an object")
	}
	var v wireValue
	if err := json.Unmarshal(wc.Value, &v); err != nil {
		return Change{}, fmt.Errorf("value: %w", err)
	}
	if v.Metadata != nil {
		c.PhoneNumberID = v.Metadata.PhoneNumberID
		c.DisplayPhoneNumber = v.Metadata.DisplayPhoneNumber
	}
	for _, raw := range v.Contacts {
		var wc wireContact
		decodeLenient(raw, &wc)
		c.Contacts = append(c.Contacts, Contact{WAID: wc.WAID, Name: wc.Profile.Name})
	}
	for i, raw := range v.Messages {
		m, err := parseMessage(raw)
		if err != nil {
			return Change{}, fmt.Errorf("messages[%d]: %w", i, err)
		}
		c.Messages = append(c.Messages, m)
	}
	for i, raw := range v.Statuses {
		s, err := parseStatus(raw)
		if err != nil {
			return Change{}, fmt.Errorf("statuses[%d]: %w", i, err)
		}
		c.Statuses = append(c.Statuses, s)
	}
	for _, raw := range v.Errors {
		var we wireError
		decodeLenient(raw, &we)
		c.Errors = append(c.Errors, we.toError())
	}
	return c, nil
}

func parseMessage(raw json.RawMessage) (Message, error) {
	if !isObject(raw) {
		return Message{}, errors.New("not an object")
	}
	var head wireMessageHead
	if err := json.Unmarshal(raw, &head); err != nil {
		return Message{}, err
	}
	var w wireMessage
	decodeLenient(raw, &w)

	m := Message{
		ID:        head.ID,
		From:      head.From,
		Type:      head.Type,
		Timestamp: parseTimestamp(w.Timestamp),
		Errors:    toErrors(w.Errors),
		Raw:       raw,
	}
	if ctx := decodeObject[wireContext](w.Context); ctx != nil {
		m.Context = &Context{
			ID:                  ctx.ID,
			From:                ctx.From,
			Forwarded:           ctx.Forwarded,
			FrequentlyForwarded: ctx.FrequentlyForwarded,
		}
		if p := decodeObject[wireReferredProduct](ctx.ReferredProduct); p != nil {
			m.Context.ReferredProduct = &ReferredProduct{CatalogID: p.CatalogID, ProductRetailerID: p.ProductRetailerID}
		}
	}
	if r := decodeObject[wireReferral](w.Referral); r != nil {
		m.Referral = &Referral{
			SourceURL: r.SourceURL, SourceID: r.SourceID, SourceType: r.SourceType,
			Headline: r.Headline, Body: r.Body, MediaType: r.MediaType,
			ImageURL: r.ImageURL, VideoURL: r.VideoURL, ThumbnailURL: r.ThumbnailURL,
			CTWAClickID: r.CTWAClickID,
		}
	}

	switch m.Type {
	case TypeText:
		if t := decodeObject[wireText](w.Text); t != nil {
			m.Text = t.Body
		}
	case TypeImage:
		m.Media = toMedia(w.Image)
	case TypeAudio:
		m.Media = toMedia(w.Audio)
	case TypeVideo:
		m.Media = toMedia(w.Video)
	case TypeDocument:
		m.Media = toMedia(w.Document)
	case TypeSticker:
		m.Media = toMedia(w.Sticker)
	case TypeLocation:
		if l := decodeObject[wireLocation](w.Location); l != nil {
			m.Location = &Location{
				Latitude: l.Latitude.f, Longitude: l.Longitude.f,
				Name: l.Name, Address: l.Address, URL: l.URL,
			}
			m.Text = l.Name
		}
	case TypeContacts:
		for _, rc := range w.Contacts {
			var wc wireSharedContact
			decodeLenient(rc, &wc)
			sc := SharedContact{FormattedName: wc.Name.FormattedName, Raw: rc}
			for _, p := range wc.Phones {
				if p.Phone != "" {
					sc.Phones = append(sc.Phones, p.Phone)
				}
				if p.WAID != "" {
					sc.WAIDs = append(sc.WAIDs, p.WAID)
				}
			}
			m.Contacts = append(m.Contacts, sc)
		}
	case TypeInteractive:
		if m.Reply = toReply(w.Interactive); m.Reply != nil {
			m.Text = m.Reply.Title
		}
	case TypeButton:
		if b := decodeObject[wireButton](w.Button); b != nil {
			m.Button = &Button{Payload: b.Payload, Text: b.Text}
			m.Text = b.Text
		}
	case TypeReaction:
		if r := decodeObject[wireReaction](w.Reaction); r != nil {
			m.Reaction = &Reaction{MessageID: r.MessageID, Emoji: r.Emoji}
		}
	case TypeOrder:
		if o := decodeObject[wireOrder](w.Order); o != nil {
			m.Order = &Order{CatalogID: o.CatalogID, Text: o.Text}
			for _, it := range o.ProductItems {
				m.Order.Items = append(m.Order.Items, OrderItem{
					ProductRetailerID: it.ProductRetailerID,
					Quantity:          it.Quantity.int(),
					ItemPrice:         it.ItemPrice.f,
					Currency:          it.Currency,
				})
			}
			m.Text = o.Text
		}
	case TypeSystem:
		if s := decodeObject[wireSystem](w.System); s != nil {
			m.System = &System{Type: s.Type, Body: s.Body, WAID: s.WAID, NewWAID: s.NewWAID}
			if m.System.NewWAID == "" && s.Type == "user_changed_number" {
				m.System.NewWAID = s.WAID
			}
			m.Text = s.Body
		}
	}
	if m.Media != nil {
		m.Text = m.Media.Caption
	}
	return m, nil
}

func parseStatus(raw json.RawMessage) (Status, error) {
	if !isObject(raw) {
		return Status{}, errors.New("not an object")
	}
	var head wireStatusHead
	if err := json.Unmarshal(raw, &head); err != nil {
		return Status{}, err
	}
	var w wireStatus
	decodeLenient(raw, &w)
	return Status{
		ID:                    head.ID,
		RecipientID:           head.RecipientID,
		Status:                head.Status,
		Timestamp:             parseTimestamp(w.Timestamp),
		Errors:                toErrors(w.Errors),
		BizOpaqueCallbackData: w.BizOpaqueCallbackData,
		Raw:                   raw,
	}, nil
}

// isObject reports whether b, after leading white space, starts a JSON
// object. json.Unmarshal into a struct accepts null (and, for RawMessage
// fields, anything), so the check is needed to refuse "null" or "[]".
func isObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

// decodeLenient decodes what it can of raw into v. The input is always part
// of a document that already parsed, so the only errors left are type
// mismatches, after which encoding/json has still filled every field it
// could; those are deliberately ignored (Raw keeps the original).
func decodeLenient(raw json.RawMessage, v any) {
	_ = json.Unmarshal(raw, v)
}

// maxUnixSeconds keeps timestamps below year 10000, which time.Time can
// format as RFC 3339.
const maxUnixSeconds = 253402300799

// parseTimestamp reads Unix seconds from a JSON string ("1764329400", the
// documented form) or a JSON number. Anything else, zero or negative gives the
// zero time.
func parseTimestamp(raw json.RawMessage) time.Time {
	s := string(bytes.TrimSpace(raw))
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}
		}
		s = strings.TrimSpace(s)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > maxUnixSeconds {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

func toErrors(ws []wireError) []Error {
	var out []Error
	for _, w := range ws {
		out = append(out, w.toError())
	}
	return out
}

// Wire shapes. Strict ones (decoded with errors checked) hold only the
// structural fields; the rest are decoded with decodeLenient.

type wireNotification struct {
	Object string      `json:"object"`
	Entry  []wireEntry `json:"entry"`
}

type wireEntry struct {
	ID      string       `json:"id"`
	Changes []wireChange `json:"changes"`
}

type wireChange struct {
	Field string          `json:"field"`
	Value json.RawMessage `json:"value"`
}

type wireValue struct {
	Metadata *struct {
		DisplayPhoneNumber string `json:"display_phone_number"`
		PhoneNumberID      string `json:"phone_number_id"`
	} `json:"metadata"`
	Contacts []json.RawMessage `json:"contacts"`
	Messages []json.RawMessage `json:"messages"`
	Statuses []json.RawMessage `json:"statuses"`
	Errors   []json.RawMessage `json:"errors"`
}

type wireContact struct {
	Profile struct {
		Name string `json:"name"`
	} `json:"profile"`
	WAID string `json:"wa_id"`
}

type wireMessageHead struct {
	ID   string `json:"id"`
	From string `json:"from"`
	Type string `json:"type"`
}

// wireMessage holds a message's common fields and its payloads still raw:
// encoding/json allocates a pointer field before it notices the value is
// not an object, so payloads go through decodeObject, which checks first.
type wireMessage struct {
	Timestamp   json.RawMessage   `json:"timestamp"`
	Context     json.RawMessage   `json:"context"`
	Referral    json.RawMessage   `json:"referral"`
	Errors      []wireError       `json:"errors"`
	Text        json.RawMessage   `json:"text"`
	Image       json.RawMessage   `json:"image"`
	Audio       json.RawMessage   `json:"audio"`
	Video       json.RawMessage   `json:"video"`
	Document    json.RawMessage   `json:"document"`
	Sticker     json.RawMessage   `json:"sticker"`
	Location    json.RawMessage   `json:"location"`
	Contacts    []json.RawMessage `json:"contacts"`
	Interactive json.RawMessage   `json:"interactive"`
	Button      json.RawMessage   `json:"button"`
	Reaction    json.RawMessage   `json:"reaction"`
	Order       json.RawMessage   `json:"order"`
	System      json.RawMessage   `json:"system"`
}

// decodeObject decodes raw leniently into a new T, or returns nil when raw
// is absent or not a JSON object.
func decodeObject[T any](raw json.RawMessage) *T {
	if !isObject(raw) {
		return nil
	}
	v := new(T)
	decodeLenient(raw, v)
	return v
}

type wireContext struct {
	From                string          `json:"from"`
	ID                  string          `json:"id"`
	Forwarded           bool            `json:"forwarded"`
	FrequentlyForwarded bool            `json:"frequently_forwarded"`
	ReferredProduct     json.RawMessage `json:"referred_product"`
}

type wireReferredProduct struct {
	CatalogID         string `json:"catalog_id"`
	ProductRetailerID string `json:"product_retailer_id"`
}

type wireReferral struct {
	SourceURL    string `json:"source_url"`
	SourceID     string `json:"source_id"`
	SourceType   string `json:"source_type"`
	Headline     string `json:"headline"`
	Body         string `json:"body"`
	MediaType    string `json:"media_type"`
	ImageURL     string `json:"image_url"`
	VideoURL     string `json:"video_url"`
	ThumbnailURL string `json:"thumbnail_url"`
	CTWAClickID  string `json:"ctwa_clid"`
}

type wireText struct {
	Body string `json:"body"`
}

type wireLocation struct {
	Latitude  flexNumber `json:"latitude"`
	Longitude flexNumber `json:"longitude"`
	Name      string     `json:"name"`
	Address   string     `json:"address"`
	URL       string     `json:"url"`
}

type wireButton struct {
	Payload string `json:"payload"`
	Text    string `json:"text"`
}

type wireReaction struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji"`
}

type wireOrder struct {
	CatalogID    string `json:"catalog_id"`
	Text         string `json:"text"`
	ProductItems []struct {
		ProductRetailerID string     `json:"product_retailer_id"`
		Quantity          flexNumber `json:"quantity"`
		ItemPrice         flexNumber `json:"item_price"`
		Currency          string     `json:"currency"`
	} `json:"product_items"`
}

type wireSystem struct {
	Type    string `json:"type"`
	Body    string `json:"body"`
	WAID    string `json:"wa_id"`
	NewWAID string `json:"new_wa_id"`
}

type wireMedia struct {
	ID       string `json:"id"`
	MimeType string `json:"mime_type"`
	SHA256   string `json:"sha256"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
	URL      string `json:"url"`
	Voice    bool   `json:"voice"`
	Animated bool   `json:"animated"`
}

func toMedia(raw json.RawMessage) *Media {
	w := decodeObject[wireMedia](raw)
	if w == nil {
		return nil
	}
	return &Media{
		ID: w.ID, MimeType: w.MimeType, SHA256: w.SHA256,
		Caption: w.Caption, Filename: w.Filename, URL: w.URL,
		Voice: w.Voice, Animated: w.Animated,
	}
}

type wireSharedContact struct {
	Name struct {
		FormattedName string `json:"formatted_name"`
	} `json:"name"`
	Phones []struct {
		Phone string `json:"phone"`
		WAID  string `json:"wa_id"`
	} `json:"phones"`
}

type wireReplyItem struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
}

type wireInteractive struct {
	Type        string          `json:"type"`
	ButtonReply json.RawMessage `json:"button_reply"`
	ListReply   json.RawMessage `json:"list_reply"`
	NFMReply    json.RawMessage `json:"nfm_reply"`
}

type wireNFMReply struct {
	Name         string          `json:"name"`
	Body         string          `json:"body"`
	ResponseJSON json.RawMessage `json:"response_json"`
}

func toReply(raw json.RawMessage) *InteractiveReply {
	w := decodeObject[wireInteractive](raw)
	if w == nil {
		return nil
	}
	var item *wireReplyItem
	switch w.Type {
	case ReplyButton:
		item = decodeObject[wireReplyItem](w.ButtonReply)
	case ReplyList:
		item = decodeObject[wireReplyItem](w.ListReply)
	case ReplyFlow:
		nfm := decodeObject[wireNFMReply](w.NFMReply)
		if nfm == nil {
			return nil
		}
		return &InteractiveReply{Type: ReplyFlow, Title: nfm.Body, ResponseJSON: rawString(nfm.ResponseJSON)}
	}
	if item == nil {
		return nil
	}
	return &InteractiveReply{Type: w.Type, ID: item.ID, Title: item.Title, Description: item.Description}
}

// rawString returns the content of a JSON string, or the JSON text itself
// for any other value (so an object sent where a string was documented
// survives), or "" for null or nothing.
func rawString(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

type wireStatusHead struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	RecipientID string `json:"recipient_id"`
}

type wireStatus struct {
	Timestamp             json.RawMessage `json:"timestamp"`
	Errors                []wireError     `json:"errors"`
	BizOpaqueCallbackData string          `json:"biz_opaque_callback_data"`
}

type wireError struct {
	Code      flexNumber      `json:"code"`
	Title     string          `json:"title"`
	Message   string          `json:"message"`
	ErrorData json.RawMessage `json:"error_data"`
	Href      string          `json:"href"`
}

func (w wireError) toError() Error {
	return Error{Code: w.Code.int(), Title: w.Title, Message: w.Message, Details: errorDetails(w.ErrorData), Href: w.Href}
}

// errorDetails reads error_data.details. Graph usually sends error_data as an
// object; some endpoints send it as a string, which may itself hold JSON.
func errorDetails(raw json.RawMessage) string {
	var d struct {
		Details string `json:"details"`
	}
	raw = bytes.TrimSpace(raw)
	if isObject(raw) {
		decodeLenient(raw, &d)
		return d.Details
	}
	s := rawString(raw)
	if isObject([]byte(s)) && json.Unmarshal([]byte(s), &d) == nil && d.Details != "" {
		return d.Details
	}
	return s
}

// flexNumber accepts a JSON number or a string holding one; anything else
// (including NaN and infinities) leaves it zero. It never fails, so one odd
// number does not cost a message.
type flexNumber struct {
	f float64
}

func (n *flexNumber) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if strings.HasPrefix(s, `"`) {
		if json.Unmarshal(b, &s) != nil {
			return nil
		}
		s = strings.TrimSpace(s)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	n.f = f
	return nil
}

// int returns the number truncated to an int, or 0 beyond ±2^53 (where
// float64 stops holding every integer).
func (n flexNumber) int() int {
	const limit = 1 << 53
	if n.f >= -limit && n.f <= limit {
		return int(n.f)
	}
	return 0
}
