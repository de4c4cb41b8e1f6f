package whatsapp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"
)

// Defaults used by a zero Client.
const (
	DefaultBaseURL = "https://graph.facebook.com"
	DefaultVersion = "v26.0"
)

// MaxMediaSize is the largest file Meta delivers (inbound files over 100 MB
// fail with 131052); DownloadMedia uses it when given no cap.
const MaxMediaSize = 100 << 20

// maxResponseSize bounds every JSON response read into memory.
const maxResponseSize = 8 << 20

// maxTemplatePages stops ListTemplates if paging.next never ends.
const maxTemplatePages = 1000

// defaultMediaHosts receive the access token on download (with their
// subdomains): Meta's media hosts (§7 "never forward the token to hosts
// other than Meta's media hosts").
var defaultMediaHosts = []string{"fbsbx.com", "facebook.com", "whatsapp.net", "fbcdn.net"}

var defaultHTTPClient = &http.Client{Timeout: 30 * time.Second}

// Client calls the Graph API. The zero value talks to graph.facebook.com
// with DefaultVersion. It holds no token: every call takes the business's
// access token, so one Client serves every channel. A Client is safe for
// concurrent use; do not change its fields while calls are running.
//
// Failed calls return (wrapped) *APIError, ErrInvalidRequest,
// ErrUnexpectedResponse, ErrMediaTooLarge, ErrChecksumMismatch or a transport
// error; Classify tells them apart.
type Client struct {
	BaseURL string       // e.g. https://graph.facebook.com or a sandbox URL; "" → DefaultBaseURL
	Version string       // e.g. v26.0; "" → DefaultVersion
	HTTP    *http.Client // nil → a client with a 30 s timeout (large downloads may need more)

	// MediaHosts are the hosts (with their subdomains) DownloadMedia may send
	// the token to, over HTTPS. nil → fbsbx.com, facebook.com, whatsapp.net,
	// fbcdn.net. The BaseURL's own scheme and host are always allowed, which
	// is how the sandbox serves downloads.
	MediaHosts []string
}

// OutboundMessage is one message to send (§6). Set Type and exactly the one
// payload field that matches it. MarshalJSON renders the request body:
// messaging_product "whatsapp", recipient_type "individual", to, type,
// context.message_id when ReplyTo is set, the payload under the type's name,
// and biz_opaque_callback_data when set.
type OutboundMessage struct {
	// To is the recipient with country code. A digits-only value (a wa_id, as
	// stored) is sent as "+" + To, because without "+" Meta prepends the
	// business number's country code. Anything else is sent as is.
	To      string
	Type    string // TypeText, TypeImage, …, TypeTemplate, TypeInteractive, TypeReaction
	ReplyTo string // wamid to quote (context.message_id); not allowed on reactions

	Text     *Text
	Image    *MediaRef
	Audio    *MediaRef
	Video    *MediaRef
	Document *MediaRef
	Sticker  *MediaRef
	Location *Location       // Latitude and Longitude always sent (0 is a coordinate), Name and Address when set; URL is not sent
	Contacts json.RawMessage // the contacts array exactly as §6 shows it
	Template *Template
	// Interactive is the interactive object exactly as §6 shows it (type
	// "button" or "list", body, action…). The client checks only that it is
	// a JSON object; the helpdesk validates the limits.
	Interactive json.RawMessage
	Reaction    *Reaction // Emoji "" removes the reaction

	// BizOpaqueCallbackData is echoed in this message's statuses (≤ 512
	// characters per pywa [U]; not checked here).
	BizOpaqueCallbackData string
}

// Text is a text message body (≤ 4096 characters).
type Text struct {
	Body       string
	PreviewURL bool // render a preview of the first URL
}

// MediaRef points at media to send: exactly one of ID (uploaded, preferred)
// or Link (public HTTPS URL). Caption only on image, video and document
// (≤ 1024); Filename only on document; Voice only on audio (an OGG/OPUS
// voice note).
type MediaRef struct {
	ID       string
	Link     string
	Caption  string
	Filename string
	Voice    bool
}

// Template is a template message, the only kind allowed outside the 24 h
// window.
type Template struct {
	Name       string
	Language   string          // sent as {"code": Language}; must match an approved translation exactly ("pt_BR" ≠ "pt")
	Components json.RawMessage // the components array exactly as §6 shows it; nil when the template has no parameters
}

// MarshalJSON renders the §6 request body. It fails with ErrInvalidRequest
// when the message is inconsistent (see SendMessage).
func (m OutboundMessage) MarshalJSON() ([]byte, error) {
	w, err := m.wire()
	if err != nil {
		return nil, err
	}
	return json.Marshal(w)
}

type wireOutbound struct {
	MessagingProduct      string           `json:"messaging_product"`
	RecipientType         string           `json:"recipient_type"`
	To                    string           `json:"to"`
	Type                  string           `json:"type"`
	Context               *wireOutContext  `json:"context,omitempty"`
	Text                  *wireOutText     `json:"text,omitempty"`
	Image                 *wireOutMedia    `json:"image,omitempty"`
	Audio                 *wireOutMedia    `json:"audio,omitempty"`
	Video                 *wireOutMedia    `json:"video,omitempty"`
	Document              *wireOutMedia    `json:"document,omitempty"`
	Sticker               *wireOutMedia    `json:"sticker,omitempty"`
	Location              *wireOutLocation `json:"location,omitempty"`
	Contacts              json.RawMessage  `json:"contacts,omitempty"`
	Interactive           json.RawMessage  `json:"interactive,omitempty"`
	Template              *wireOutTemplate `json:"template,omitempty"`
	Reaction              *wireOutReaction `json:"reaction,omitempty"`
	BizOpaqueCallbackData string           `json:"biz_opaque_callback_data,omitempty"`
}

type wireOutContext struct {
	MessageID string `json:"message_id"`
}

type wireOutText struct {
	PreviewURL bool   `json:"preview_url,omitempty"`
	Body       string `json:"body"`
}

type wireOutMedia struct {
	ID       string `json:"id,omitempty"`
	Link     string `json:"link,omitempty"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
	Voice    bool   `json:"voice,omitempty"`
}

type wireOutLocation struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
}

type wireOutTemplate struct {
	Name     string `json:"name"`
	Language struct {
		Code string `json:"code"`
	} `json:"language"`
	Components json.RawMessage `json:"components,omitempty"`
}

type wireOutReaction struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji"`
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidRequest, fmt.Sprintf(format, args...))
}

// wire validates m and builds its request body.
func (m OutboundMessage) wire() (*wireOutbound, error) {
	to := strings.TrimSpace(m.To)
	if to == "" {
		return nil, invalid("missing recipient (To)")
	}
	if allDigits(to) {
		to = "+" + to
	}
	w := &wireOutbound{MessagingProduct: "whatsapp", RecipientType: "individual", To: to, Type: m.Type,
		BizOpaqueCallbackData: m.BizOpaqueCallbackData}
	if m.ReplyTo != "" {
		if m.Type == TypeReaction {
			return nil, invalid("a reaction cannot quote a message (ReplyTo)")
		}
		w.Context = &wireOutContext{MessageID: m.ReplyTo}
	}

	set := map[string]bool{
		TypeText: m.Text != nil, TypeImage: m.Image != nil, TypeAudio: m.Audio != nil,
		TypeVideo: m.Video != nil, TypeDocument: m.Document != nil, TypeSticker: m.Sticker != nil,
		TypeLocation: m.Location != nil, TypeContacts: m.Contacts != nil, TypeTemplate: m.Template != nil,
		TypeInteractive: m.Interactive != nil, TypeReaction: m.Reaction != nil,
	}
	if _, known := set[m.Type]; !known {
		return nil, invalid("unknown message type %q", m.Type)
	}
	for t, ok := range set {
		if ok && t != m.Type {
			return nil, invalid("%s message also carries a %s payload", m.Type, t)
		}
	}
	if !set[m.Type] {
		return nil, invalid("%s message without its %s payload", m.Type, m.Type)
	}

	var err error
	switch m.Type {
	case TypeText:
		if m.Text.Body == "" {
			return nil, invalid("empty text body")
		}
		w.Text = &wireOutText{PreviewURL: m.Text.PreviewURL, Body: m.Text.Body}
	case TypeImage:
		w.Image, err = m.Image.wire(TypeImage)
	case TypeAudio:
		w.Audio, err = m.Audio.wire(TypeAudio)
	case TypeVideo:
		w.Video, err = m.Video.wire(TypeVideo)
	case TypeDocument:
		w.Document, err = m.Document.wire(TypeDocument)
	case TypeSticker:
		w.Sticker, err = m.Sticker.wire(TypeSticker)
	case TypeLocation:
		l := m.Location
		w.Location = &wireOutLocation{Latitude: l.Latitude, Longitude: l.Longitude, Name: l.Name, Address: l.Address}
	case TypeContacts:
		if !isArray(m.Contacts) {
			return nil, invalid("contacts must be a JSON array")
		}
		w.Contacts = m.Contacts
	case TypeInteractive:
		if !isObject(m.Interactive) || !json.Valid(m.Interactive) {
			return nil, invalid("interactive must be a JSON object")
		}
		w.Interactive = m.Interactive
	case TypeTemplate:
		t := m.Template
		if t.Name == "" || t.Language == "" {
			return nil, invalid("template needs a name and a language")
		}
		if t.Components != nil && !isArray(t.Components) {
			return nil, invalid("template components must be a JSON array")
		}
		w.Template = &wireOutTemplate{Name: t.Name, Components: t.Components}
		w.Template.Language.Code = t.Language
	case TypeReaction:
		if m.Reaction.MessageID == "" {
			return nil, invalid("reaction without a message id")
		}
		w.Reaction = &wireOutReaction{MessageID: m.Reaction.MessageID, Emoji: m.Reaction.Emoji}
	}
	if err != nil {
		return nil, err
	}
	return w, nil
}

func (r *MediaRef) wire(kind string) (*wireOutMedia, error) {
	switch {
	case (r.ID == "") == (r.Link == ""):
		return nil, invalid("%s needs exactly one of id or link", kind)
	case r.Caption != "" && kind != TypeImage && kind != TypeVideo && kind != TypeDocument:
		return nil, invalid("%s takes no caption", kind)
	case r.Filename != "" && kind != TypeDocument:
		return nil, invalid("%s takes no filename", kind)
	case r.Voice && kind != TypeAudio:
		return nil, invalid("only audio can be a voice note")
	}
	return &wireOutMedia{ID: r.ID, Link: r.Link, Caption: r.Caption, Filename: r.Filename, Voice: r.Voice}, nil
}

func isArray(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '[' && json.Valid(b)
}

// SendMessage sends m from the business number phoneNumberID and returns the
// wamid Meta assigned. Success means accepted, not delivered: delivery comes
// later as statuses (a 131047 may arrive as a failed status after a 200).
//
// It fails with ErrInvalidRequest, before sending, when phoneNumberID or
// m.To is empty, m.Type is unknown or its payload is missing, another
// payload is also set, a MediaRef has both or neither of ID and Link or a
// field its type does not take, a text body is empty, a template lacks name
// or language, or Interactive/Contacts/Components are not JSON of the right
// kind. A Graph error comes back as *APIError; a 200 without a wamid as
// ErrUnexpectedResponse.
func (c *Client) SendMessage(ctx context.Context, token, phoneNumberID string, m OutboundMessage) (wamid string, err error) {
	if phoneNumberID == "" {
		return "", fmt.Errorf("send message: %w", invalid("missing phone number id"))
	}
	w, err := m.wire()
	if err != nil {
		return "", fmt.Errorf("send message: %w", err)
	}
	var resp struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	if err := c.postJSON(ctx, token, c.endpoint(phoneNumberID, "messages"), w, &resp); err != nil {
		return "", fmt.Errorf("send %s message: %w", m.Type, err)
	}
	if len(resp.Messages) == 0 || resp.Messages[0].ID == "" {
		return "", fmt.Errorf("send %s message: %w: no messages[0].id", m.Type, ErrUnexpectedResponse)
	}
	return resp.Messages[0].ID, nil
}

// MarkRead marks the inbound message wamid (and, per Meta, the earlier ones
// of the chat) as read: the user sees blue ticks.
func (c *Client) MarkRead(ctx context.Context, token, phoneNumberID, wamid string) error {
	return c.markRead(ctx, token, phoneNumberID, wamid, false)
}

// SendTypingIndicator marks wamid read and shows "typing…" to the user until
// the business replies or 25 s pass. Use it only when a reply is coming.
func (c *Client) SendTypingIndicator(ctx context.Context, token, phoneNumberID, wamid string) error {
	return c.markRead(ctx, token, phoneNumberID, wamid, true)
}

func (c *Client) markRead(ctx context.Context, token, phoneNumberID, wamid string, typing bool) error {
	if phoneNumberID == "" || wamid == "" {
		return fmt.Errorf("mark read: %w", invalid("missing phone number id or wamid"))
	}
	type indicator struct {
		Type string `json:"type"`
	}
	body := struct {
		MessagingProduct string     `json:"messaging_product"`
		Status           string     `json:"status"`
		MessageID        string     `json:"message_id"`
		TypingIndicator  *indicator `json:"typing_indicator,omitempty"`
	}{MessagingProduct: "whatsapp", Status: "read", MessageID: wamid}
	if typing {
		body.TypingIndicator = &indicator{Type: "text"}
	}
	var resp struct {
		Success bool `json:"success"`
	}
	if err := c.postJSON(ctx, token, c.endpoint(phoneNumberID, "messages"), body, &resp); err != nil {
		return fmt.Errorf("mark read: %w", err)
	}
	if !resp.Success {
		return fmt.Errorf("mark read: %w: success is not true", ErrUnexpectedResponse)
	}
	return nil
}

// UploadMedia uploads the bytes of r as filename with MIME type mimeType
// for the business number phoneNumberID and returns the media id (valid 30
// days) to use in a MediaRef. The request is multipart/form-data with the
// fields messaging_product=whatsapp, type=<mimeType> and file (§7). The body
// is streamed; its length is sent when r is an io.Seeker or has Len().
//
// It fails with ErrInvalidRequest when phoneNumberID or mimeType is empty
// or r is nil;
// Meta rejects unsupported types or sizes (§7) with an *APIError.
func (c *Client) UploadMedia(ctx context.Context, token, phoneNumberID, filename, mimeType string, r io.Reader) (mediaID string, err error) {
	if phoneNumberID == "" || strings.TrimSpace(mimeType) == "" || strings.ContainsAny(mimeType, "\r\n") || r == nil {
		return "", fmt.Errorf("upload media: %w", invalid("missing phone number id, mime type or content"))
	}
	if filename == "" {
		filename = "file"
	}
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	_ = mw.WriteField("messaging_product", "whatsapp")
	_ = mw.WriteField("type", mimeType)
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+quoteEscaper.Replace(filename)+`"`)
	h.Set("Content-Type", mimeType)
	if _, err := mw.CreatePart(h); err != nil {
		return "", fmt.Errorf("upload media: %w", err)
	}
	// What multipart.Writer.Close would write after the file's bytes.
	tail := "\r\n--" + mw.Boundary() + "--\r\n"

	body := io.MultiReader(bytes.NewReader(head.Bytes()), r, strings.NewReader(tail))
	length := int64(-1)
	if n, ok := remaining(r); ok {
		length = int64(head.Len()) + n + int64(len(tail))
	}
	req, err := c.newRequest(ctx, http.MethodPost, c.endpoint(phoneNumberID, "media"), token, body)
	if err != nil {
		return "", fmt.Errorf("upload media: %w", err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.ContentLength = length
	var resp struct {
		ID string `json:"id"`
	}
	if err := c.doJSON(req, &resp); err != nil {
		return "", fmt.Errorf("upload media: %w", err)
	}
	if resp.ID == "" {
		return "", fmt.Errorf("upload media: %w: no id", ErrUnexpectedResponse)
	}
	return resp.ID, nil
}

// quoteEscaper makes a filename safe inside a quoted header parameter, as
// mime/multipart does, and drops line breaks that would split the header.
var quoteEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", "", "\n", "")

// remaining returns how many bytes r will yield, when r can tell.
func remaining(r io.Reader) (int64, bool) {
	if l, ok := r.(interface{ Len() int }); ok {
		return int64(l.Len()), true
	}
	if s, ok := r.(io.Seeker); ok {
		cur, err := s.Seek(0, io.SeekCurrent)
		if err != nil {
			return 0, false
		}
		end, err := s.Seek(0, io.SeekEnd)
		if err != nil {
			return 0, false
		}
		if _, err := s.Seek(cur, io.SeekStart); err != nil {
			return 0, false
		}
		return end - cur, true
	}
	return 0, false
}

// MediaInfo is what GET /{media-id} returns. URL expires 5 minutes after it
// is issued: on a 404 from DownloadMedia, call GetMedia again.
type MediaInfo struct {
	URL      string
	MimeType string
	SHA256   string // hex or base64 [U]; DownloadMedia accepts either
	FileSize int64  // file_size, read from a JSON number or string [U]
}

// GetMedia looks up a media id (from a webhook or an upload) and returns
// its short-lived download URL. An unknown or expired id is an *APIError
// (131009 / 100); a 200 without a url is ErrUnexpectedResponse.
func (c *Client) GetMedia(ctx context.Context, token, mediaID string) (MediaInfo, error) {
	if mediaID == "" {
		return MediaInfo{}, fmt.Errorf("get media: %w", invalid("missing media id"))
	}
	var resp struct {
		URL      string     `json:"url"`
		MimeType string     `json:"mime_type"`
		SHA256   string     `json:"sha256"`
		FileSize flexNumber `json:"file_size"`
	}
	req, err := c.newRequest(ctx, http.MethodGet, c.endpoint(mediaID), token, nil)
	if err != nil {
		return MediaInfo{}, fmt.Errorf("get media: %w", err)
	}
	if err := c.doJSON(req, &resp); err != nil {
		return MediaInfo{}, fmt.Errorf("get media %s: %w", mediaID, err)
	}
	if resp.URL == "" {
		return MediaInfo{}, fmt.Errorf("get media %s: %w: no url", mediaID, ErrUnexpectedResponse)
	}
	return MediaInfo{URL: resp.URL, MimeType: resp.MimeType, SHA256: resp.SHA256, FileSize: int64(resp.FileSize.int())}, nil
}

// DeleteMedia deletes an uploaded media id.
func (c *Client) DeleteMedia(ctx context.Context, token, mediaID string) error {
	if mediaID == "" {
		return fmt.Errorf("delete media: %w", invalid("missing media id"))
	}
	req, err := c.newRequest(ctx, http.MethodDelete, c.endpoint(mediaID), token, nil)
	if err != nil {
		return fmt.Errorf("delete media: %w", err)
	}
	var resp struct {
		Success bool `json:"success"`
	}
	if err := c.doJSON(req, &resp); err != nil {
		return fmt.Errorf("delete media %s: %w", mediaID, err)
	}
	if !resp.Success {
		return fmt.Errorf("delete media %s: %w: success is not true", mediaID, ErrUnexpectedResponse)
	}
	return nil
}

// DownloadMedia GETs rawURL (a MediaInfo.URL or Media.URL) with the bearer
// token and returns the body; DownloadMediaTo streams it instead, and its
// rules apply.
func (c *Client) DownloadMedia(ctx context.Context, token, rawURL string, maxBytes int64, wantSHA256 string) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := c.DownloadMediaTo(ctx, token, rawURL, maxBytes, wantSHA256, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// DownloadMediaTo GETs rawURL (a MediaInfo.URL or Media.URL) with the bearer
// token and copies the body to dst as it arrives, returning its length, so a
// 100 MB document never sits in memory.
//
// The token is only sent to the BaseURL's host or, over HTTPS, to
// MediaHosts; any other URL fails with ErrInvalidRequest before a request is
// made. A body over maxBytes (≤ 0 means MaxMediaSize) fails with
// ErrMediaTooLarge, without reading past the cap. When wantSHA256 is not
// empty — hex (64 digits) or base64 of the 32-byte digest, as webhooks send
// it — the body must hash to it, else ErrChecksumMismatch; a wantSHA256 that
// is neither fails with ErrInvalidRequest. An HTTP failure is an *APIError;
// 404 usually means the URL expired (5 min): GetMedia again and retry. On
// any error dst may hold part of the body: write to a temporary file and
// keep it only when the call succeeds.
func (c *Client) DownloadMediaTo(ctx context.Context, token, rawURL string, maxBytes int64, wantSHA256 string, dst io.Writer) (int64, error) {
	if maxBytes <= 0 {
		maxBytes = MaxMediaSize
	}
	var want []byte
	if wantSHA256 != "" {
		var ok bool
		if want, ok = decodeDigest(wantSHA256); !ok {
			return 0, fmt.Errorf("download media: %w", invalid("sha256 %q is neither hex nor base64 of 32 bytes", wantSHA256))
		}
	}
	u, err := url.Parse(rawURL)
	if err != nil || !c.mediaHostAllowed(u) {
		return 0, fmt.Errorf("download media: %w", invalid("refusing to send the token to %q", redactURL(rawURL)))
	}
	req, err := c.newRequest(ctx, http.MethodGet, u.String(), token, nil)
	if err != nil {
		return 0, fmt.Errorf("download media: %w", err)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return 0, fmt.Errorf("download media: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return 0, fmt.Errorf("download media: %w", newAPIError(resp, readCapped(resp.Body, 64<<10)))
	}
	if resp.ContentLength > maxBytes {
		return 0, fmt.Errorf("download media: %w: %d bytes, cap %d", ErrMediaTooLarge, resp.ContentLength, maxBytes)
	}
	hash := sha256.New()
	n, err := io.Copy(io.MultiWriter(dst, hash), io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return n, fmt.Errorf("download media: %w", err)
	}
	if n > maxBytes {
		return n, fmt.Errorf("download media: %w: over %d bytes", ErrMediaTooLarge, maxBytes)
	}
	if want != nil {
		if got := hash.Sum(nil); subtle.ConstantTimeCompare(got, want) != 1 {
			return n, fmt.Errorf("download media: %w: got %s", ErrChecksumMismatch, hex.EncodeToString(got))
		}
	}
	return n, nil
}

// decodeDigest reads a sha256 written as hex or as any base64 flavour.
func decodeDigest(s string) ([]byte, bool) {
	s = strings.TrimSpace(s)
	if len(s) == 2*sha256.Size {
		if b, err := hex.DecodeString(s); err == nil {
			return b, true
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == sha256.Size {
			return b, true
		}
	}
	return nil, false
}

func (c *Client) mediaHostAllowed(u *url.URL) bool {
	if u.Host == "" {
		return false
	}
	if base, err := url.Parse(c.baseURL()); err == nil && u.Scheme == base.Scheme && strings.EqualFold(u.Host, base.Host) {
		return true
	}
	if u.Scheme != "https" {
		return false
	}
	hosts := c.MediaHosts
	if hosts == nil {
		hosts = defaultMediaHosts
	}
	host := strings.ToLower(u.Hostname())
	for _, h := range hosts {
		h = strings.ToLower(strings.TrimPrefix(h, "."))
		if h != "" && (host == h || strings.HasSuffix(host, "."+h)) {
			return true
		}
	}
	return false
}

// MessageTemplate is one entry of GET /{waba-id}/message_templates.
type MessageTemplate struct {
	ID         string
	Name       string
	Language   string          // e.g. "pt_BR"
	Status     string          // "APPROVED", "PENDING", "REJECTED", "PAUSED", …
	Category   string          // "UTILITY", "MARKETING", "AUTHENTICATION"
	Components json.RawMessage // as received
}

// ListTemplates returns every template of the WhatsApp Business Account
// wabaID, whatever its status (the caller keeps the APPROVED ones), following
// paging.next. A next page on another host than BaseURL is refused with
// ErrUnexpectedResponse rather than sent the token; so is a paging loop
// longer than 1000 pages.
func (c *Client) ListTemplates(ctx context.Context, token, wabaID string) ([]MessageTemplate, error) {
	if wabaID == "" {
		return nil, fmt.Errorf("list templates: %w", invalid("missing waba id"))
	}
	next := c.endpoint(wabaID, "message_templates")
	var out []MessageTemplate
	seen := map[string]bool{}
	for page := 0; next != ""; page++ {
		if page >= maxTemplatePages || seen[next] {
			return nil, fmt.Errorf("list templates: %w: paging does not end", ErrUnexpectedResponse)
		}
		seen[next] = true
		req, err := c.newRequest(ctx, http.MethodGet, next, token, nil)
		if err != nil {
			return nil, fmt.Errorf("list templates: %w", err)
		}
		var resp struct {
			Data []struct {
				ID         string          `json:"id"`
				Name       string          `json:"name"`
				Language   string          `json:"language"`
				Status     string          `json:"status"`
				Category   string          `json:"category"`
				Components json.RawMessage `json:"components"`
			} `json:"data"`
			Paging struct {
				Next string `json:"next"`
			} `json:"paging"`
		}
		if err := c.doJSON(req, &resp); err != nil {
			return nil, fmt.Errorf("list templates: %w", err)
		}
		for _, t := range resp.Data {
			out = append(out, MessageTemplate{ID: t.ID, Name: t.Name, Language: t.Language,
				Status: t.Status, Category: t.Category, Components: t.Components})
		}
		if next, err = c.nextPage(resp.Paging.Next); err != nil {
			return nil, fmt.Errorf("list templates: %w", err)
		}
	}
	return out, nil
}

// nextPage checks a paging.next URL: same scheme and host as BaseURL, and
// without the access_token Graph embeds in it (the bearer header carries the
// token, and URLs end up in error messages and logs).
func (c *Client) nextPage(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	base, berr := url.Parse(c.baseURL())
	if err != nil || berr != nil || u.Scheme != base.Scheme || !strings.EqualFold(u.Host, base.Host) {
		return "", fmt.Errorf("%w: paging.next %q is not on %s", ErrUnexpectedResponse, redactURL(raw), c.baseURL())
	}
	q := u.Query()
	if q.Has("access_token") {
		q.Del("access_token")
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

// redactURL drops the query (which may hold a token) for error messages.
func redactURL(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		return raw[:i]
	}
	return raw
}

func (c *Client) baseURL() string {
	if c.BaseURL == "" {
		return DefaultBaseURL
	}
	return strings.TrimRight(c.BaseURL, "/")
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP == nil {
		return defaultHTTPClient
	}
	return c.HTTP
}

// endpoint builds BaseURL/Version/seg/seg… with each segment path-escaped.
func (c *Client) endpoint(segments ...string) string {
	version := c.Version
	if version == "" {
		version = DefaultVersion
	}
	var b strings.Builder
	b.WriteString(c.baseURL())
	b.WriteString("/")
	b.WriteString(url.PathEscape(version))
	for _, s := range segments {
		b.WriteString("/")
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

func (c *Client) newRequest(ctx context.Context, method, target, token string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Accept", "application/json")
	return req, nil
}

func (c *Client) postJSON(ctx context.Context, token, target string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	req, err := c.newRequest(ctx, http.MethodPost, target, token, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return c.doJSON(req, out)
}

// doJSON sends req and decodes a 2xx JSON answer into out. A non-2xx answer
// becomes an *APIError; an unreadable 2xx body, ErrUnexpectedResponse.
func (c *Client) doJSON(req *http.Request, out any) error {
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return newAPIError(resp, readCapped(resp.Body, 64<<10))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseSize+1))
	if err != nil {
		return err
	}
	if len(body) > maxResponseSize {
		return fmt.Errorf("%w: response over %d bytes", ErrUnexpectedResponse, maxResponseSize)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%w: http %d: %w", ErrUnexpectedResponse, resp.StatusCode, err)
	}
	return nil
}

// readCapped reads at most n bytes and drains nothing more; errors just end
// the body early (it is only used to describe a failure).
func readCapped(r io.Reader, n int64) []byte {
	b, _ := io.ReadAll(io.LimitReader(r, n))
	return b
}

// newAPIError builds the error for a non-2xx response: the §8 envelope when
// the body holds one, else the status and the start of the body.
func newAPIError(resp *http.Response, body []byte) *APIError {
	e := &APIError{
		HTTPStatus: resp.StatusCode,
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
	var env struct {
		Error json.RawMessage `json:"error"`
	}
	if isObject(body) && json.Unmarshal(body, &env) == nil && isObject(env.Error) {
		var w struct {
			Message     string          `json:"message"`
			Type        string          `json:"type"`
			Code        flexNumber      `json:"code"`
			Subcode     flexNumber      `json:"error_subcode"`
			ErrorData   json.RawMessage `json:"error_data"`
			UserTitle   string          `json:"error_user_title"`
			IsTransient bool            `json:"is_transient"`
			FBTraceID   string          `json:"fbtrace_id"`
			Href        string          `json:"href"`
		}
		decodeLenient(env.Error, &w)
		e.Code, e.Subcode = w.Code.int(), w.Subcode.int()
		e.Type, e.Message, e.FBTraceID, e.Href = w.Type, w.Message, w.FBTraceID, w.Href
		e.Details = errorDetails(w.ErrorData)
		e.IsTransient = w.IsTransient
		e.Title = w.UserTitle
		if e.Title == "" {
			e.Title = strings.TrimPrefix(w.Message, fmt.Sprintf("(#%d) ", e.Code))
		}
		return e
	}
	e.Message = snippet(body)
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// snippet returns the start of a non-JSON error body, on one line.
func snippet(body []byte) string {
	const limit = 200
	if len(body) > limit {
		body = body[:limit]
	}
	s := strings.ToValidUTF8(string(body), "")
	return strings.Join(strings.Fields(s), " ")
}
