package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// window is WhatsApp's customer service window.
const window = 24 * time.Hour

// mediaURLTTL is how long a media download URL works (Meta: 5 minutes).
const mediaURLTTL = 5 * time.Minute

var versionPrefix = regexp.MustCompile(`^/v\d+\.\d+/`)

// Handler serves the Graph API subset: POST /{v}/{phone-id}/messages,
// POST /{v}/{phone-id}/media, GET /{v}/{media-id}, GET /media/{id}
// (download), GET /{v}/{waba-id}/message_templates.
func (s *Sandbox) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/media/") && r.Method == http.MethodGet {
			s.handleDownload(w, r)
			return
		}
		loc := versionPrefix.FindStringIndex(r.URL.Path)
		if loc == nil {
			graphError(w, http.StatusBadRequest, 100, "Unknown path components: "+r.URL.Path, "")
			return
		}
		if !s.authorized(r) {
			graphError(w, http.StatusUnauthorized, 190, "Invalid OAuth access token - Cannot parse access token", "")
			return
		}
		parts := strings.Split(strings.Trim(r.URL.Path[loc[1]:], "/"), "/")
		switch {
		case r.Method == http.MethodPost && len(parts) == 2 && parts[1] == "messages":
			s.handleMessages(w, r, parts[0])
		case r.Method == http.MethodPost && len(parts) == 2 && parts[1] == "media":
			s.handleUpload(w, r, parts[0])
		case r.Method == http.MethodGet && len(parts) == 2 && parts[1] == "message_templates":
			s.handleTemplates(w, r, parts[0])
		case r.Method == http.MethodGet && len(parts) == 1:
			s.handleMediaInfo(w, parts[0])
		case r.Method == http.MethodDelete && len(parts) == 1:
			s.mu.Lock()
			_, ok := s.media[parts[0]]
			delete(s.media, parts[0])
			s.mu.Unlock()
			if !ok {
				graphError(w, http.StatusBadRequest, 100, "Unsupported delete request.", "")
				return
			}
			writeJSON(w, map[string]any{"success": true})
		default:
			graphError(w, http.StatusBadRequest, 100, "Unsupported "+strings.ToLower(r.Method)+" request.", "")
		}
	})
}

func (s *Sandbox) authorized(r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && s.opts.AccessToken != "" && token == s.opts.AccessToken
}

// graphError writes Meta's error envelope (§8).
func graphError(w http.ResponseWriter, status, code int, message, details string) {
	body := map[string]any{"message": fmt.Sprintf("(#%d) %s", code, message), "type": "OAuthException", "code": code,
		"fbtrace_id": "A" + newDigits(10)}
	if details != "" {
		body["error_data"] = map[string]any{"messaging_product": "whatsapp", "details": details}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": body})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

var mediaTypes = map[string]bool{"image": true, "audio": true, "video": true, "document": true, "sticker": true}

func (s *Sandbox) handleMessages(w http.ResponseWriter, r *http.Request, phoneID string) {
	if phoneID != s.opts.PhoneNumberID {
		graphError(w, http.StatusBadRequest, 100, fmt.Sprintf("Unsupported post request. Object with ID '%s' does not exist", phoneID), "")
		return
	}
	var req map[string]any
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		graphError(w, http.StatusBadRequest, 100, "Invalid parameter", "the body is not JSON")
		return
	}
	if req["messaging_product"] != "whatsapp" {
		graphError(w, http.StatusBadRequest, 100, "Invalid parameter", "messaging_product must be whatsapp")
		return
	}
	if req["status"] == "read" { // mark as read (and typing indicator)
		if id, _ := req["message_id"].(string); id == "" {
			graphError(w, http.StatusBadRequest, 131008, "Required parameter is missing", "message_id is required")
			return
		}
		writeJSON(w, map[string]any{"success": true})
		return
	}
	to, _ := req["to"].(string)
	waID := strings.TrimPrefix(to, "+")
	typ, _ := req["type"].(string)
	if typ == "" {
		typ = "text"
	}
	if to == "" {
		graphError(w, http.StatusBadRequest, 131008, "Required parameter is missing", "to is required")
		return
	}
	if msg := validateOutbound(typ, req); msg != "" {
		graphError(w, http.StatusBadRequest, 100, "Invalid parameter", msg)
		return
	}

	s.mu.Lock()
	if len(s.failures) > 0 {
		f := s.failures[0]
		s.failures = s.failures[1:]
		s.mu.Unlock()
		graphError(w, f.status, f.code, "Simulated failure", "failure injected by the sandbox")
		return
	}
	now := s.opts.Now()
	cut := now.Add(-time.Second)
	kept := s.window[:0]
	for _, t := range s.window {
		if t.After(cut) {
			kept = append(kept, t)
		}
	}
	s.window = kept
	if len(s.window) >= s.opts.MessagesPerSecond {
		s.mu.Unlock()
		graphError(w, http.StatusBadRequest, 130429, "Rate limit hit", "Cloud API message throughput has been reached.")
		return
	}
	s.window = append(s.window, now)
	last, open := s.lastIn[waID]
	outside := typ != "template" && (!open || now.Sub(last) > window)
	wamid := newWAMID()
	s.sent = append(s.sent, Sent{WAMID: wamid, To: to, WAID: waID, Type: typ, Body: req, At: now})
	close(s.sentCond)
	s.sentCond = make(chan struct{})
	s.mu.Unlock()

	writeJSON(w, map[string]any{
		"messaging_product": "whatsapp",
		"contacts":          []any{map[string]any{"input": to, "wa_id": waID}},
		"messages":          []any{map[string]any{"id": wamid}},
	})
	// Meta reports a message outside the window as a failed status after
	// accepting it (§8: 131047 is usually asynchronous).
	if outside {
		s.async(func(ctx context.Context) {
			_ = s.EmitStatus(ctx, wamid, "failed", map[string]any{"code": 131047, "title": "Re-engagement message",
				"message": "Re-engagement message", "error_data": map[string]any{"details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}})
		})
		return
	}
	if s.opts.AutoStatuses {
		s.async(func(ctx context.Context) {
			statuses := []string{"sent", "delivered", "read"}
			if typ == "reaction" {
				statuses = statuses[:1]
			}
			for _, st := range statuses {
				select {
				case <-s.closed:
					return
				case <-time.After(s.opts.StatusDelay):
				}
				_ = s.EmitStatus(ctx, wamid, st)
			}
		})
	}
}

// async runs f in the background until Close.
func (s *Sandbox) async(f func(ctx context.Context)) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			select {
			case <-s.closed:
				cancel()
			case <-ctx.Done():
			}
		}()
		f(ctx)
	}()
}

// validateOutbound checks the payload of a message type (§6), returning
// the problem or "".
func validateOutbound(typ string, req map[string]any) string {
	obj, _ := req[typ].(map[string]any)
	switch {
	case typ == "text":
		body, _ := obj["body"].(string)
		if body == "" {
			return "text.body is required"
		}
		if utf8.RuneCountInString(body) > 4096 {
			return "Param text['body'] must be at most 4096 characters long."
		}
	case mediaTypes[typ]:
		id, _ := obj["id"].(string)
		link, _ := obj["link"].(string)
		if (id == "") == (link == "") {
			return typ + " needs exactly one of id and link"
		}
		if c, _ := obj["caption"].(string); utf8.RuneCountInString(c) > 1024 {
			return "Param " + typ + "['caption'] must be at most 1024 characters long."
		}
	case typ == "template":
		if name, _ := obj["name"].(string); name == "" {
			return "template.name is required"
		}
		lang, _ := obj["language"].(map[string]any)
		if code, _ := lang["code"].(string); code == "" {
			return "template.language.code is required"
		}
	case typ == "reaction":
		if id, _ := obj["message_id"].(string); id == "" {
			return "reaction.message_id is required"
		}
	case typ == "interactive", typ == "location", typ == "contacts":
		if req[typ] == nil {
			return typ + " is required"
		}
	default:
		return "Unsupported message type " + typ
	}
	return ""
}

func (s *Sandbox) handleUpload(w http.ResponseWriter, r *http.Request, phoneID string) {
	if phoneID != s.opts.PhoneNumberID {
		graphError(w, http.StatusBadRequest, 100, "Unsupported post request.", "")
		return
	}
	if err := r.ParseMultipartForm(32 << 20); err != nil || r.FormValue("messaging_product") != "whatsapp" {
		graphError(w, http.StatusBadRequest, 100, "Invalid parameter", "multipart form with messaging_product=whatsapp and file is required")
		return
	}
	f, hdr, err := r.FormFile("file")
	if err != nil {
		graphError(w, http.StatusBadRequest, 131008, "Required parameter is missing", "file is required")
		return
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 100<<20+1))
	if err != nil || len(data) > 100<<20 {
		graphError(w, http.StatusBadRequest, 131053, "Media upload error", "the file is over 100 MB")
		return
	}
	mimeType := r.FormValue("type")
	if mimeType == "" {
		mimeType = hdr.Header.Get("Content-Type")
	}
	writeJSON(w, map[string]any{"id": s.storeMedia(data, mimeType)})
}

func (s *Sandbox) handleMediaInfo(w http.ResponseWriter, id string) {
	s.mu.Lock()
	m, ok := s.media[id]
	s.mu.Unlock()
	if !ok {
		graphError(w, http.StatusBadRequest, 100, fmt.Sprintf("Unsupported get request. Object with ID '%s' does not exist", id), "")
		return
	}
	sum := sha256.Sum256(m.data)
	exp := s.opts.Now().Add(mediaURLTTL).Unix()
	writeJSON(w, map[string]any{
		"messaging_product": "whatsapp",
		"url":               fmt.Sprintf("%s/media/%s?ext=%d", s.baseURL(), id, exp),
		"mime_type":         m.mimeType, "sha256": hex.EncodeToString(sum[:]), "file_size": len(m.data), "id": id,
	})
}

// BaseURL, when set, is the absolute URL the Graph handler is served at,
// used in media download URLs; it defaults to a relative form.
func (s *Sandbox) baseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publicURL
}

// SetBaseURL tells the sandbox where its Graph handler is reachable, for
// the media download URLs it hands out.
func (s *Sandbox) SetBaseURL(u string) {
	s.mu.Lock()
	s.publicURL = strings.TrimRight(u, "/")
	s.mu.Unlock()
}

func (s *Sandbox) handleDownload(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		w.WriteHeader(http.StatusNotFound) // Meta answers 404 without the token
		return
	}
	id := strings.TrimPrefix(r.URL.Path, "/media/")
	var exp int64
	fmt.Sscan(r.URL.Query().Get("ext"), &exp)
	s.mu.Lock()
	m, ok := s.media[id]
	s.mu.Unlock()
	if !ok || s.opts.Now().Unix() > exp {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", m.mimeType)
	_, _ = w.Write(m.data)
}

// templates the sandbox's business account has.
var templates = []map[string]any{
	{"id": "1001", "name": "boas_vindas", "language": "pt_BR", "status": "APPROVED", "category": "UTILITY",
		"components": []any{map[string]any{"type": "BODY", "text": "Olá {{1}}, como podemos ajudar?"}}},
	{"id": "1002", "name": "retomada_atendimento", "language": "pt_BR", "status": "APPROVED", "category": "UTILITY",
		"components": []any{map[string]any{"type": "BODY", "text": "Olá! Podemos continuar o seu atendimento?"}}},
	{"id": "1003", "name": "hello_world", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
		"components": []any{map[string]any{"type": "BODY", "text": "Hello World"}}},
	{"id": "1004", "name": "promocao", "language": "pt_BR", "status": "PENDING", "category": "MARKETING", "components": []any{}},
}

func (s *Sandbox) handleTemplates(w http.ResponseWriter, r *http.Request, wabaID string) {
	if wabaID != s.opts.WABAID {
		graphError(w, http.StatusBadRequest, 100, "Unsupported get request.", "")
		return
	}
	// Two per page, so clients must follow paging.next.
	start := 0
	fmt.Sscan(r.URL.Query().Get("after"), &start)
	end := min(start+2, len(templates))
	page := map[string]any{"data": templates[start:end], "paging": map[string]any{"cursors": map[string]any{"before": fmt.Sprint(start), "after": fmt.Sprint(end)}}}
	if end < len(templates) {
		page["paging"].(map[string]any)["next"] = fmt.Sprintf("%s%s?after=%d", s.baseURL(), r.URL.Path, end)
	}
	writeJSON(w, page)
}
