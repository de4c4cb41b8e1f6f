package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"
)

// ControlRoutes lists the test-control API (§10.4) that ControlHandler
// serves, one "METHOD path  what it does" line each, for start-up banners
// and help texts.
var ControlRoutes = []string{
	`POST   /customers/{waId}/messages        a customer writes: {"name","text"}, or a webhook message object ({"type":"image","image":{…}}; ?name= sets the profile name)`,
	`GET    /customers/{waId}/sent            what the business sent to that customer`,
	`POST   /customers/{waId}/read            the customer opens the chat: read statuses for what is unread`,
	`PUT    /customers/{waId}/window          open the 24 h window without a message (DELETE closes it)`,
	`POST   /customers/{waId}/unreachable     sends to that number fail with 131026`,
	`POST   /control/media                    store the request body (its Content-Type) as customer media → {"id"}`,
	`GET    /control/sent                     everything the business sent (?waId= filters)`,
	`GET    /control/deliveries               every webhook POST attempt and its answer`,
	`GET    /control/faults                   the fault switches' state`,
	`POST   /control/faults/fail              {"count":1,"status":500,"code":1}: the next sends fail`,
	`POST   /control/faults/duplicate         {"count":1}: the next webhooks are posted twice`,
	`POST   /control/faults/hold              {"count":1}: the next webhooks are held`,
	`POST   /control/faults/release           {"batch":false}: post the held webhooks newest first (batch: in one POST)`,
	`PUT    /control/faults/latency           {"latency":"250ms"}: delay every Graph answer ("0s" stops)`,
	`PUT    /control/faults/throughput        {"perSecond":80}: the number's throughput (≤ 0: unlimited)`,
	`PUT    /control/faults/status-plan       {"statuses":["sent","read","delivered"]}: statuses of later sends ([] restores sent, delivered, read)`,
}

// Bounds of control requests: a message object is small, a media file may
// be as large as Meta's document limit.
const (
	maxControlBody = 64 << 10
	maxControlFile = 100 << 20
	maxFaultCount  = 10000 // FailNext keeps one entry per failure
)

// ControlHandler serves the test-control API (see ControlRoutes): JSON in,
// JSON out, {"error": "..."} with 400 for bad input, 404 for unknown paths
// and 405 for a known path with another method. It serves only paths under
// /customers/ and /control/, so it mounts next to Handler on one server.
// Nothing checks a token: the control API is for development hosts only.
func (s *Sandbox) ControlHandler() http.Handler {
	mux := http.NewServeMux()
	methods := map[string][]string{}
	handle := func(method, path string, h func(w http.ResponseWriter, r *http.Request)) {
		mux.HandleFunc(method+" "+path, h)
		methods[path] = append(methods[path], method)
	}
	handle(http.MethodPost, "/customers/{waId}/messages", s.ctlInbound)
	handle(http.MethodGet, "/customers/{waId}/sent", s.ctlSent)
	handle(http.MethodPost, "/customers/{waId}/read", s.ctlRead)
	handle(http.MethodPut, "/customers/{waId}/window", func(w http.ResponseWriter, r *http.Request) {
		s.OpenWindow(r.PathValue("waId"))
		writeJSON(w, http.StatusOK, map[string]any{"waId": r.PathValue("waId"), "window": "open"})
	})
	handle(http.MethodDelete, "/customers/{waId}/window", func(w http.ResponseWriter, r *http.Request) {
		s.CloseWindow(r.PathValue("waId"))
		writeJSON(w, http.StatusOK, map[string]any{"waId": r.PathValue("waId"), "window": "closed"})
	})
	handle(http.MethodPost, "/customers/{waId}/unreachable", func(w http.ResponseWriter, r *http.Request) {
		s.Unreachable(r.PathValue("waId"))
		writeJSON(w, http.StatusOK, map[string]any{"waId": r.PathValue("waId"), "unreachable": true})
	})
	handle(http.MethodPost, "/control/media", s.ctlMedia)
	handle(http.MethodGet, "/control/sent", s.ctlSent)
	handle(http.MethodGet, "/control/deliveries", s.ctlDeliveries)
	handle(http.MethodGet, "/control/faults", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.faultState())
	})
	handle(http.MethodPost, "/control/faults/fail", s.ctlFail)
	handle(http.MethodPost, "/control/faults/duplicate", s.ctlCount(s.DuplicateNext))
	handle(http.MethodPost, "/control/faults/hold", s.ctlCount(s.HoldNext))
	handle(http.MethodPost, "/control/faults/release", s.ctlRelease)
	handle(http.MethodPut, "/control/faults/latency", s.ctlLatency)
	handle(http.MethodPut, "/control/faults/throughput", s.ctlThroughput)
	handle(http.MethodPut, "/control/faults/status-plan", s.ctlStatusPlan)
	for path, allowed := range methods {
		// A method-less pattern is less specific than "METHOD path", so it
		// only catches the other methods: a JSON 405 instead of the mux's
		// text one.
		mux.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			ctlError(w, http.StatusMethodNotAllowed, "method not allowed; use "+strings.Join(allowed, " or "))
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		ctlError(w, http.StatusNotFound, "no control route "+r.URL.Path)
	})
	return mux
}

func ctlError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": msg})
}

// decodeBody reads one JSON value into v, refusing unknown fields (a
// misspelt switch must not silently do nothing) and trailing data. An empty
// body leaves v as it is, so switches whose fields all have defaults accept
// a bare POST.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxControlBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if errors.Is(err, io.EOF) {
		return true
	}
	if err == nil && !atEnd(dec) {
		err = errors.New("data after the JSON value")
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			ctlError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", tooBig.Limit))
		} else {
			ctlError(w, http.StatusBadRequest, "bad JSON body: "+err.Error())
		}
		return false
	}
	return true
}

// objectFields are the §4 types whose message carries an object under the
// type's name; media types may omit it (the sandbox makes a placeholder
// file), and types not listed pass through as given, so receivers can be
// tested with types newer than this list.
var objectFields = []string{"text", "location", "interactive", "button", "reaction", "order", "system"}

// ctlInbound makes customer {waId} send a message: the older
// {"name","text"} shape, or any §4 message object as SendInbound takes it.
// 200 once the receiver acknowledged, 202 when the first delivery failed
// (the sandbox redelivers it) or the webhook is held.
func (s *Sandbox) ctlInbound(w http.ResponseWriter, r *http.Request) {
	waID := r.PathValue("waId")
	if digits(waID) != waID {
		ctlError(w, http.StatusBadRequest, "waId must be digits with the country code, e.g. 5511987654321")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxControlBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		ctlError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", tooBig.Limit))
		return
	}
	const usage = `send {"name": "...", "text": "..."} or a message object such as {"type": "text", "text": {"body": "..."}}`
	var msg map[string]any
	// Numbers stay as written (json.Number), so ids and amounts sent as
	// numbers reach the receiver unrounded.
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err != nil || dec.Decode(&msg) != nil || msg == nil || !atEnd(dec) {
		ctlError(w, http.StatusBadRequest, usage)
		return
	}
	c := Customer{WAID: waID, Name: r.URL.Query().Get("name")}
	if _, ok := msg["type"]; ok {
		if err := checkInboundObject(msg); err != nil {
			ctlError(w, http.StatusBadRequest, err.Error())
			return
		}
	} else {
		var legacy struct {
			Name string `json:"name"`
			Text string `json:"text"`
		}
		dec = json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&legacy); err != nil || legacy.Text == "" {
			ctlError(w, http.StatusBadRequest, usage)
			return
		}
		msg = map[string]any{"type": "text", "text": map[string]any{"body": legacy.Text}}
		if legacy.Name != "" {
			c.Name = legacy.Name
		}
	}
	if c.Name == "" {
		// The profile name is on every webhook; a caller that gave it once
		// should not have to repeat it.
		s.mu.Lock()
		c.Name = s.names[waID]
		s.mu.Unlock()
	}
	// The webhook outlives a client that hangs up: Meta's delivery does not
	// depend on who caused the message.
	wamid, held, err := s.sendInbound(context.WithoutCancel(r.Context()), c, msg)
	out := map[string]any{"waMessageId": wamid, "acknowledged": err == nil && !held}
	status := http.StatusOK
	switch {
	case held:
		out["held"] = true
		status = http.StatusAccepted
	case err != nil:
		out["error"] = err.Error()
		status = http.StatusAccepted
	}
	writeJSON(w, status, out)
}

// checkInboundObject rejects what SendInbound would turn into a webhook no
// receiver could read as the intended type.
func checkInboundObject(msg map[string]any) error {
	typ, ok := msg["type"].(string)
	if !ok || typ == "" {
		return errors.New(`"type" must be a non-empty string`)
	}
	if slices.Contains(objectFields, typ) {
		if _, ok := msg[typ].(map[string]any); !ok {
			return fmt.Errorf("a %q message needs a %q object", typ, typ)
		}
	}
	if slices.Contains(mediaKinds, typ) {
		if v, present := msg[typ]; present {
			if _, ok := v.(map[string]any); !ok {
				return fmt.Errorf("%q must be an object", typ)
			}
		}
	}
	if typ == "contacts" {
		if _, ok := msg["contacts"].([]any); !ok {
			return errors.New(`a "contacts" message needs a "contacts" array`)
		}
	}
	if cx, present := msg["context"]; present {
		if _, ok := cx.(map[string]any); !ok {
			return errors.New(`"context" must be an object`)
		}
	}
	return nil
}

// sentJSON is a Sent as the control API shows it.
type sentJSON struct {
	WAMessageID string         `json:"waMessageId"`
	To          string         `json:"to"`
	WAID        string         `json:"waId"`
	Type        string         `json:"type"`
	Body        map[string]any `json:"body"`
	At          time.Time      `json:"at"`
	Status      string         `json:"status,omitempty"`
	ErrorCode   int            `json:"errorCode,omitempty"`
}

// ctlSent lists what the business sent: to {waId} when the path has one,
// else to ?waId= when given, else everything.
func (s *Sandbox) ctlSent(w http.ResponseWriter, r *http.Request) {
	waID := r.PathValue("waId")
	if waID == "" {
		waID = r.URL.Query().Get("waId")
	}
	list := s.Sent()
	if waID != "" {
		list = s.SentTo(waID)
	}
	out := make([]sentJSON, 0, len(list))
	for _, m := range list {
		out = append(out, sentJSON{WAMessageID: m.WAMID, To: m.To, WAID: m.WAID, Type: m.Type, Body: m.Body, At: m.At,
			Status: m.Status, ErrorCode: m.ErrorCode})
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": out})
}

func (s *Sandbox) ctlRead(w http.ResponseWriter, r *http.Request) {
	waID := r.PathValue("waId")
	err := s.ReadChat(context.WithoutCancel(r.Context()), waID)
	out := map[string]any{"waId": waID, "acknowledged": err == nil}
	if err != nil {
		out["error"] = err.Error()
		writeJSON(w, http.StatusAccepted, out)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// ctlMedia stores a customer's file so a message object can name it by id
// (the §10.4 "media bytes"); the MIME type is the request's Content-Type.
func (s *Sandbox) ctlMedia(w http.ResponseWriter, r *http.Request) {
	ct := r.Header.Get("Content-Type")
	if _, _, err := mime.ParseMediaType(ct); ct == "" || err != nil {
		ctlError(w, http.StatusBadRequest, "send the file as the body with its Content-Type")
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxControlFile))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		ctlError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("file larger than %d bytes", tooBig.Limit))
		return
	case err != nil:
		ctlError(w, http.StatusBadRequest, "reading the file: "+err.Error())
		return
	case len(data) == 0:
		ctlError(w, http.StatusBadRequest, "empty file")
		return
	}
	id := s.storeMedia(data, ct, InboundMediaTTL)
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "mime_type": ct, "file_size": len(data)})
}

type deliveryJSON struct {
	Attempt int             `json:"attempt"`
	Status  int             `json:"status"`
	Error   string          `json:"error,omitempty"`
	At      time.Time       `json:"at"`
	Body    json.RawMessage `json:"body"`
}

func (s *Sandbox) ctlDeliveries(w http.ResponseWriter, _ *http.Request) {
	list := s.Deliveries()
	out := make([]deliveryJSON, 0, len(list))
	for _, d := range list {
		j := deliveryJSON{Attempt: d.Attempt, Status: d.Status, At: d.At, Body: d.Body}
		if d.Err != nil {
			j.Error = d.Err.Error()
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": out})
}

// faultState is what GET /control/faults and every switch answer.
func (s *Sandbox) faultState() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	plan := s.statusPlan
	if len(plan) == 0 {
		plan = defaultStatusPlan
	}
	return map[string]any{
		"failNext": len(s.failures), "duplicateNext": s.duplicates, "holdNext": s.hold, "held": len(s.held),
		"latency": s.latency.String(), "statusPlan": plan,
	}
}

// count reads an optional count: absent → 1, else 1…maxFaultCount.
func count(w http.ResponseWriter, n *int) (int, bool) {
	if n == nil {
		return 1, true
	}
	if *n < 1 || *n > maxFaultCount {
		ctlError(w, http.StatusBadRequest, fmt.Sprintf(`"count" must be between 1 and %d`, maxFaultCount))
		return 0, false
	}
	return *n, true
}

func (s *Sandbox) ctlFail(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Count  *int `json:"count"`
		Status *int `json:"status"`
		Code   *int `json:"code"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	n, ok := count(w, req.Count)
	if !ok {
		return
	}
	status, code := http.StatusInternalServerError, 1
	if req.Status != nil {
		status = *req.Status
	}
	if status < 400 || status > 599 {
		ctlError(w, http.StatusBadRequest, `"status" must be an HTTP error status, 400 to 599`)
		return
	}
	if req.Code != nil {
		code = *req.Code
	}
	if code < 0 {
		ctlError(w, http.StatusBadRequest, `"code" must be a Graph error code (0 or more)`)
		return
	}
	s.FailNext(n, status, code)
	writeJSON(w, http.StatusOK, s.faultState())
}

// ctlCount serves a switch that takes only {"count"}.
func (s *Sandbox) ctlCount(set func(int)) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Count *int `json:"count"`
		}
		if !decodeBody(w, r, &req) {
			return
		}
		n, ok := count(w, req.Count)
		if !ok {
			return
		}
		set(n)
		writeJSON(w, http.StatusOK, s.faultState())
	}
}

func (s *Sandbox) ctlRelease(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Batch bool `json:"batch"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	released := s.Held()
	ctx := context.WithoutCancel(r.Context())
	var err error
	if req.Batch {
		err = s.ReleaseHeldBatch(ctx)
	} else {
		err = s.ReleaseHeld(ctx)
	}
	out := s.faultState()
	out["released"] = released
	out["acknowledged"] = err == nil
	if err != nil {
		out["error"] = err.Error()
		writeJSON(w, http.StatusAccepted, out)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sandbox) ctlLatency(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Latency *string `json:"latency"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Latency == nil {
		ctlError(w, http.StatusBadRequest, `send {"latency": "250ms"} ("0s" turns it off)`)
		return
	}
	d, err := time.ParseDuration(*req.Latency)
	if err != nil || d < 0 {
		ctlError(w, http.StatusBadRequest, `"latency" must be a duration of 0 or more, such as "250ms" or "2s"`)
		return
	}
	s.SetLatency(d)
	writeJSON(w, http.StatusOK, s.faultState())
}

func (s *Sandbox) ctlThroughput(w http.ResponseWriter, r *http.Request) {
	var req struct {
		PerSecond *int `json:"perSecond"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.PerSecond == nil {
		ctlError(w, http.StatusBadRequest, `send {"perSecond": 80} (0 or less: unlimited)`)
		return
	}
	s.Throughput(*req.PerSecond)
	out := s.faultState()
	out["perSecond"] = max(*req.PerSecond, 0)
	writeJSON(w, http.StatusOK, out)
}

// planStatuses are the statuses EmitStatus can send.
var planStatuses = []string{"sent", "delivered", "read", "played", "failed"}

func (s *Sandbox) ctlStatusPlan(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Statuses *[]string `json:"statuses"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Statuses == nil {
		ctlError(w, http.StatusBadRequest, `send {"statuses": ["sent", "read", "delivered"]} ([] restores the default)`)
		return
	}
	for _, st := range *req.Statuses {
		if !slices.Contains(planStatuses, st) {
			ctlError(w, http.StatusBadRequest, fmt.Sprintf("unknown status %q; use %s", st, strings.Join(planStatuses, ", ")))
			return
		}
	}
	s.SetStatusPlan(*req.Statuses...)
	writeJSON(w, http.StatusOK, s.faultState())
}

// atEnd reports whether nothing but space follows the value dec read.
// (Decoder.More is false before a stray "}" or "]" as well.)
func atEnd(dec *json.Decoder) bool {
	_, err := dec.Token()
	return errors.Is(err, io.EOF)
}
