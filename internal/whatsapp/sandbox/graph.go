package sandbox

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// versionPrefix is the Graph API version every path starts with.
var versionPrefix = regexp.MustCompile(`^/v\d+\.\d+(/|$)`)

// downloadPath is where media download URLs point, on the sandbox's own
// host, shaped like Meta's lookaside URLs.
const downloadPath = "/whatsapp_business/attachments/"

// reply is a Graph answer: JSON (or raw bytes) or an error, and work to
// start once it is written.
type reply struct {
	status      int // 0 → 200
	json        any
	raw         []byte
	contentType string
	err         *graphError
	after       func()
}

func errReply(e *graphError) reply { return reply{err: e} }

// Handler serves the Graph API subset of §10, under any /vNN.N prefix:
//
//	POST   /{v}/{phone-number-id}/messages          send (§6), mark as read, typing indicator
//	POST   /{v}/{phone-number-id}/media             multipart upload → {"id"}
//	GET    /{v}/{media-id}                          url, mime_type, sha256, file_size, id
//	DELETE /{v}/{media-id}                          {"success": true}
//	GET    /{v}/{waba-id}/message_templates         templates with cursor paging
//	GET    /{v}/{phone-number-id}, /{v}/{waba-id}/phone_numbers
//	GET    /whatsapp_business/attachments/?mid=…    media download (bearer required, 404 otherwise)
//
// Every call needs the bearer token (or access_token) — 401 with code 190
// otherwise — and errors use Meta's envelope with a fresh fbtrace_id.
func (s *Sandbox) Handler() http.Handler { return http.HandlerFunc(s.serveGraph) }

func (s *Sandbox) serveGraph(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	latency := s.latency
	s.mu.Unlock()
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
		case <-s.ctx.Done():
		}
		t.Stop()
	}
	rep := s.route(r)
	status, code := rep.status, 0
	if status == 0 {
		status = http.StatusOK
	}
	switch {
	case rep.err != nil:
		status, code = rep.err.status, rep.err.code
		writeJSON(w, status, rep.err.body())
	case rep.raw != nil || rep.json == nil:
		if rep.contentType != "" {
			w.Header().Set("Content-Type", rep.contentType)
		}
		w.WriteHeader(status)
		_, _ = w.Write(rep.raw)
	default:
		writeJSON(w, status, rep.json)
	}
	s.mu.Lock()
	s.requests = appendLog(s.requests, Request{Method: r.Method, Path: r.URL.Path, Status: status, Code: code, At: s.opts.Now()})
	s.mu.Unlock()
	if rep.after != nil {
		rep.after()
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (s *Sandbox) route(r *http.Request) reply {
	if r.URL.Path == downloadPath || r.URL.Path == strings.TrimSuffix(downloadPath, "/") {
		if r.Method != http.MethodGet {
			return reply{status: http.StatusMethodNotAllowed}
		}
		return s.handleDownload(r)
	}
	loc := versionPrefix.FindStringIndex(r.URL.Path)
	if loc == nil {
		return errReply(&graphError{status: http.StatusBadRequest, code: 2500, message: "Unknown path components: " + r.URL.Path})
	}
	if !s.authorized(r) {
		return errReply(errUnauthorized)
	}
	rest := strings.Trim(r.URL.Path[loc[1]:], "/")
	parts := strings.Split(rest, "/")
	id := parts[0]
	method := strings.ToLower(r.Method)
	phone, waba := id == s.opts.PhoneNumberID, id == s.opts.WABAID
	switch {
	case rest == "":
		return errReply(&graphError{status: http.StatusBadRequest, code: 100, message: "(#100) Missing object id"})
	case len(parts) > 2:
		return errReply(&graphError{status: http.StatusBadRequest, code: 2500, message: "Unknown path components: /" + strings.Join(parts[1:], "/")})
	case len(parts) == 2 && r.Method == http.MethodPost && parts[1] == "messages" && phone:
		return s.handleMessages(r)
	case len(parts) == 2 && r.Method == http.MethodPost && parts[1] == "media" && phone:
		return s.handleUpload(r)
	case len(parts) == 2 && r.Method == http.MethodGet && parts[1] == "message_templates" && waba:
		return s.handleTemplates(r)
	case len(parts) == 2 && r.Method == http.MethodGet && parts[1] == "phone_numbers" && waba:
		return reply{json: map[string]any{"data": []any{s.phoneNumber()}}}
	case len(parts) == 2:
		return errReply(unknownObject(method, id))
	case r.Method == http.MethodGet && phone:
		return reply{json: s.phoneNumber()}
	case r.Method == http.MethodGet:
		return s.handleMediaInfo(r, id)
	case r.Method == http.MethodDelete:
		return s.handleMediaDelete(r, id)
	default:
		return errReply(unknownObject(method, id))
	}
}

// authorized accepts the bearer header or Graph's access_token parameter.
func (s *Sandbox) authorized(r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		token = r.URL.Query().Get("access_token")
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return false
	}
	if s.opts.AccessToken == "" {
		return true
	}
	return subtle.ConstantTimeCompare([]byte(token), []byte(s.opts.AccessToken)) == 1
}

// phoneNumber is the business phone number object.
func (s *Sandbox) phoneNumber() map[string]any {
	return map[string]any{
		"id": s.opts.PhoneNumberID, "display_phone_number": s.opts.DisplayPhoneNumber,
		"verified_name": s.opts.VerifiedName, "quality_rating": "GREEN", "code_verification_status": "VERIFIED",
		"platform_type": "CLOUD_API", "throughput": map[string]any{"level": "STANDARD"},
	}
}

// baseURL is where the handler is reachable: SetBaseURL's value or the
// request's own scheme and host.
func (s *Sandbox) baseURL(r *http.Request) string {
	s.mu.Lock()
	u := s.publicURL
	s.mu.Unlock()
	if u != "" {
		return u
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
