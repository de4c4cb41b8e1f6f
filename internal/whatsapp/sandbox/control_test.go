package sandbox_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp/sandbox"
)

// ctlEnv is a sandbox with its control API served over HTTP.
type ctlEnv struct {
	*env
	ctl *httptest.Server
}

func setupCtl(t *testing.T, o sandbox.Options) *ctlEnv {
	t.Helper()
	e := setup(t, o)
	ctl := httptest.NewServer(e.sb.ControlHandler())
	t.Cleanup(ctl.Close)
	return &ctlEnv{env: e, ctl: ctl}
}

func (c *ctlEnv) call(t *testing.T, method, path, body string) response {
	t.Helper()
	var r *strings.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	if r == nil {
		return do(t, method, c.ctl.URL+path, "", "", nil)
	}
	return do(t, method, c.ctl.URL+path, "", "application/json", r)
}

// wantError checks a control error: the status and a JSON {"error"}.
func wantError(t *testing.T, r response, status int, what string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: status %d %s, want %d", what, r.status, r.raw, status)
		return
	}
	if msg, _ := r.json["error"].(string); msg == "" {
		t.Errorf("%s: body %s, want a JSON error", what, r.raw)
	}
}

func num(v any) int {
	f, _ := v.(float64)
	return int(f)
}

// Every §4 type posted as a message object reaches the receiver as a
// signed webhook carrying that object, completed the way Meta does.
func TestControl_InboundEveryType(t *testing.T) {
	c := setupCtl(t, sandbox.Options{})
	pdf := []byte("%PDF-1.4\n%%EOF\n")
	up := c.call(t, http.MethodPost, "/control/media", "")
	wantError(t, up, 400, "media without a body")
	up = do(t, http.MethodPost, c.ctl.URL+"/control/media", "", "application/pdf", bytes.NewReader(pdf))
	mediaID, _ := up.json["id"].(string)
	if up.status != 200 || mediaID == "" {
		t.Fatalf("media upload: %d %s", up.status, up.raw)
	}
	sum := sha256.Sum256(pdf)
	cases := []struct {
		typ  string
		body string
		// check inspects the message object of the webhook.
		check func(m map[string]any) bool
	}{
		{"text", `{"type":"text","text":{"body":"Olá"}}`, func(m map[string]any) bool {
			return m["text"].(map[string]any)["body"] == "Olá"
		}},
		{"image", `{"type":"image","image":{"caption":"Foto"}}`, func(m map[string]any) bool {
			img := m["image"].(map[string]any)
			_, _, ok := c.sb.Media(img["id"].(string))
			return ok && img["caption"] == "Foto" && img["mime_type"] == "image/jpeg" && img["sha256"] != nil
		}},
		{"document", `{"type":"document","document":{"id":"` + mediaID + `","filename":"nota.pdf"}}`, func(m map[string]any) bool {
			doc := m["document"].(map[string]any)
			return doc["id"] == mediaID && doc["mime_type"] == "application/pdf" && doc["filename"] == "nota.pdf" &&
				doc["sha256"] == base64.StdEncoding.EncodeToString(sum[:])
		}},
		{"audio", `{"type":"audio","audio":{"voice":true}}`, func(m map[string]any) bool {
			a := m["audio"].(map[string]any)
			return a["voice"] == true && a["mime_type"] == "audio/ogg; codecs=opus"
		}},
		{"video", `{"type":"video"}`, func(m map[string]any) bool { return m["video"].(map[string]any)["mime_type"] == "video/mp4" }},
		{"sticker", `{"type":"sticker","sticker":{}}`, func(m map[string]any) bool {
			return m["sticker"].(map[string]any)["animated"] == false
		}},
		{"location", `{"type":"location","location":{"latitude":-23.5,"longitude":-46.6,"name":"Loja"}}`, func(m map[string]any) bool {
			return m["location"].(map[string]any)["latitude"] == -23.5
		}},
		{"contacts", `{"type":"contacts","contacts":[{"name":{"formatted_name":"Bia"},"phones":[{"phone":"+55 11 90000-0000"}]}]}`, func(m map[string]any) bool {
			return len(m["contacts"].([]any)) == 1
		}},
		{"interactive", `{"type":"interactive","context":{"id":"wamid.X"},"interactive":{"type":"button_reply","button_reply":{"id":"yes","title":"Sim"}}}`, func(m map[string]any) bool {
			cx := m["context"].(map[string]any)
			return cx["from"] == "551140000000" && m["interactive"].(map[string]any)["button_reply"].(map[string]any)["id"] == "yes"
		}},
		{"button", `{"type":"button","button":{"payload":"p1","text":"Confirmar"}}`, func(m map[string]any) bool {
			return m["button"].(map[string]any)["payload"] == "p1"
		}},
		{"reaction", `{"type":"reaction","reaction":{"message_id":"wamid.X","emoji":"👍"}}`, func(m map[string]any) bool {
			return m["reaction"].(map[string]any)["emoji"] == "👍"
		}},
		{"order", `{"type":"order","order":{"catalog_id":"1","product_items":[{"product_retailer_id":"sku","quantity":12345678901234567}]}}`, func(m map[string]any) bool {
			return m["order"].(map[string]any)["catalog_id"] == "1"
		}},
		{"unsupported", `{"type":"unsupported"}`, func(m map[string]any) bool {
			errs, _ := m["errors"].([]any)
			return len(errs) == 1 && num(errs[0].(map[string]any)["code"]) == 131051
		}},
		{"request_welcome", `{"type":"request_welcome"}`, func(map[string]any) bool { return true }},
		{"system", `{"type":"system","system":{"body":"changed","wa_id":"5511900000000","type":"user_changed_number"}}`, func(m map[string]any) bool {
			return m["system"].(map[string]any)["wa_id"] == "5511900000000"
		}},
	}
	for _, tc := range cases {
		r := c.call(t, http.MethodPost, "/customers/"+ana.WAID+"/messages?name=Ana%20Souza", tc.body)
		wamid, _ := r.json["waMessageId"].(string)
		if r.status != 200 || r.json["acknowledged"] != true || wamid == "" {
			t.Fatalf("%s: %d %s", tc.typ, r.status, r.raw)
		}
		d := c.hook.next(t)
		m := inbound(t, d, ana, wamid, tc.typ)
		if !tc.check(m) {
			t.Errorf("%s: message object %v", tc.typ, m)
		}
		if tc.typ == "order" && !bytes.Contains(d.raw, []byte(`"quantity":12345678901234567`)) {
			t.Errorf("a number beyond float64's precision changed: %s", d.raw)
		}
	}
	if got := c.sb.ReceivedFrom(ana.WAID); len(got) != len(cases) {
		t.Errorf("ReceivedFrom = %d messages, want %d", len(got), len(cases))
	}
}

// The first shape of the route still works, and the name it gave is kept
// for later messages that do not repeat it.
func TestControl_InboundTextShapeAndRememberedName(t *testing.T) {
	c := setupCtl(t, sandbox.Options{})
	r := c.call(t, http.MethodPost, "/customers/"+ana.WAID+"/messages", `{"name":"Ana Souza","text":"oi"}`)
	if r.status != 200 {
		t.Fatalf("text shape: %d %s", r.status, r.raw)
	}
	m := inbound(t, c.hook.next(t), ana, r.json["waMessageId"].(string), "text")
	if m["text"].(map[string]any)["body"] != "oi" {
		t.Errorf("text = %v", m["text"])
	}
	r = c.call(t, http.MethodPost, "/customers/"+ana.WAID+"/messages", `{"type":"text","text":{"body":"de novo"}}`)
	if r.status != 200 {
		t.Fatalf("object: %d %s", r.status, r.raw)
	}
	inbound(t, c.hook.next(t), ana, r.json["waMessageId"].(string), "text") // checks profile.name
}

func TestControl_InboundBadInput(t *testing.T) {
	c := setupCtl(t, sandbox.Options{})
	path := "/customers/" + ana.WAID + "/messages"
	for _, body := range []string{
		``, `not json`, `[]`, `null`, `"text"`, `{}`,
		`{"name":"Ana"}`, `{"text":""}`, `{"text":"oi","extra":1}`, `{"text":{"body":"oi"}}`,
		`{"type":""}`, `{"type":5}`, `{"type":"text"}`, `{"type":"text","text":"oi"}`,
		`{"type":"image","image":"x"}`, `{"type":"contacts","contacts":{}}`,
		`{"type":"text","text":{"body":"oi"},"context":"wamid.X"}`,
	} {
		wantError(t, c.call(t, http.MethodPost, path, body), 400, body)
	}
	wantError(t, c.call(t, http.MethodPost, "/customers/ana/messages", `{"text":"oi"}`), 400, "waId not digits")
	big := `{"type":"text","text":{"body":"` + strings.Repeat("a", 70<<10) + `"}}`
	wantError(t, c.call(t, http.MethodPost, path, big), 413, "oversized body")
	c.hook.none(t)
	if n := len(c.sb.Deliveries()); n != 0 {
		t.Errorf("bad input made %d deliveries", n)
	}
}

// A message the receiver does not acknowledge answers 202 and is
// redelivered, as Meta does; the deliveries list shows both attempts.
func TestControl_InboundNotAcknowledged(t *testing.T) {
	c := setupCtl(t, sandbox.Options{})
	c.hook.answer(500)
	r := c.call(t, http.MethodPost, "/customers/"+ana.WAID+"/messages", `{"name":"Ana Souza","text":"oi"}`)
	if r.status != 202 || r.json["acknowledged"] != false || r.json["error"] == nil {
		t.Fatalf("unacknowledged: %d %s", r.status, r.raw)
	}
	first, second := c.hook.next(t), c.hook.next(t)
	if first.answered != 500 || second.answered != 200 || !bytes.Equal(first.raw, second.raw) || !second.sigOK {
		t.Errorf("attempts answered %d, %d (same bytes %v)", first.answered, second.answered, bytes.Equal(first.raw, second.raw))
	}
	if err := c.sb.WaitDeliveries(ctxTimeout(t), 2); err != nil {
		t.Fatal(err)
	}
	d := c.call(t, http.MethodGet, "/control/deliveries", "")
	list, _ := d.json["deliveries"].([]any)
	if d.status != 200 || len(list) != 2 {
		t.Fatalf("deliveries: %d %s", d.status, d.raw)
	}
	a, b := list[0].(map[string]any), list[1].(map[string]any)
	if num(a["attempt"]) != 1 || num(a["status"]) != 500 || num(b["attempt"]) != 2 || num(b["status"]) != 200 {
		t.Errorf("deliveries = %v", list)
	}
	if _, ok := a["body"].(map[string]any)["entry"]; !ok {
		t.Errorf("delivery body = %v", a["body"])
	}
}

// What the business sent is readable whole or per customer.
func TestControl_Sent(t *testing.T) {
	c := setupCtl(t, sandbox.Options{SyncWindowErrors: true})
	bia := "5511955554444"
	if r := postJSON(t, c.messagesURL(), token, text(bia, "fora da janela")); r.errorCode() != 131047 {
		t.Fatalf("closed window: %d %s", r.status, r.raw)
	}
	for _, id := range []string{ana.WAID, bia} {
		if r := c.call(t, http.MethodPut, "/customers/"+id+"/window", ""); r.status != 200 {
			t.Fatalf("open window: %d %s", r.status, r.raw)
		}
	}
	w1 := c.send(t, text(ana.WAID, "Olá Ana"))
	w2 := c.send(t, text("+55 11 95555-4444", "Olá Bia"))
	all := c.call(t, http.MethodGet, "/control/sent", "")
	if msgs, _ := all.json["messages"].([]any); all.status != 200 || len(msgs) != 2 {
		t.Fatalf("all sent: %d %s", all.status, all.raw)
	}
	for _, path := range []string{"/customers/" + bia + "/sent", "/control/sent?waId=" + bia} {
		r := c.call(t, http.MethodGet, path, "")
		msgs, _ := r.json["messages"].([]any)
		if r.status != 200 || len(msgs) != 1 {
			t.Fatalf("%s: %d %s", path, r.status, r.raw)
		}
		m := msgs[0].(map[string]any)
		if m["waMessageId"] != w2 || m["to"] != "+55 11 95555-4444" || m["waId"] != bia || m["type"] != "text" ||
			m["body"].(map[string]any)["text"].(map[string]any)["body"] != "Olá Bia" {
			t.Errorf("%s: %v", path, m)
		}
	}
	r := c.call(t, http.MethodGet, "/customers/"+ana.WAID+"/sent", "")
	if msgs, _ := r.json["messages"].([]any); len(msgs) != 1 || msgs[0].(map[string]any)["waMessageId"] != w1 {
		t.Errorf("sent to Ana: %s", r.raw)
	}
	if r := c.call(t, http.MethodDelete, "/customers/"+bia+"/window", ""); r.status != 200 {
		t.Fatalf("close window: %d %s", r.status, r.raw)
	}
	if r := postJSON(t, c.messagesURL(), token, text(bia, "de novo")); r.errorCode() != 131047 {
		t.Errorf("after closing the window: %d %s", r.status, r.raw)
	}
}

func TestControl_FailNext(t *testing.T) {
	c := setupCtl(t, sandbox.Options{})
	c.sb.OpenWindow(ana.WAID)
	for _, body := range []string{
		`{"count":0}`, `{"count":-1}`, `{"count":10001}`, `{"status":200}`, `{"status":600}`, `{"code":-1}`,
		`{"cont":2}`, `{"count":"2"}`, `not json`, `{"count":1}{}`,
	} {
		wantError(t, c.call(t, http.MethodPost, "/control/faults/fail", body), 400, body)
	}
	r := c.call(t, http.MethodPost, "/control/faults/fail", `{"count":2,"status":503,"code":131016}`)
	if r.status != 200 || num(r.json["failNext"]) != 2 {
		t.Fatalf("fail: %d %s", r.status, r.raw)
	}
	for i := range 2 {
		got := postJSON(t, c.messagesURL(), token, text(ana.WAID, "oi"))
		if got.status != 503 || got.errorCode() != 131016 {
			t.Errorf("send %d: %d %s", i, got.status, got.raw)
		}
	}
	c.send(t, text(ana.WAID, "oi"))
	// A bare POST fails one send with the defaults, 500 and code 1.
	if r := c.call(t, http.MethodPost, "/control/faults/fail", ""); r.status != 200 {
		t.Fatalf("bare fail: %d %s", r.status, r.raw)
	}
	if got := postJSON(t, c.messagesURL(), token, text(ana.WAID, "oi")); got.status != 500 || got.errorCode() != 1 {
		t.Errorf("default failure: %d %s", got.status, got.raw)
	}
	if f := c.call(t, http.MethodGet, "/control/faults", ""); num(f.json["failNext"]) != 0 {
		t.Errorf("faults after use: %s", f.raw)
	}
}

func TestControl_DuplicateNext(t *testing.T) {
	c := setupCtl(t, sandbox.Options{})
	wantError(t, c.call(t, http.MethodPost, "/control/faults/duplicate", `{"count":0}`), 400, "count 0")
	wantError(t, c.call(t, http.MethodPost, "/control/faults/duplicate", `{"times":1}`), 400, "unknown field")
	if r := c.call(t, http.MethodPost, "/control/faults/duplicate", `{"count":1}`); r.status != 200 || num(r.json["duplicateNext"]) != 1 {
		t.Fatalf("duplicate: %d %s", r.status, r.raw)
	}
	for i, want := range []int{2, 1} {
		r := c.call(t, http.MethodPost, "/customers/"+ana.WAID+"/messages?name=Ana%20Souza", `{"type":"text","text":{"body":"oi"}}`)
		if r.status != 200 {
			t.Fatalf("message %d: %d %s", i, r.status, r.raw)
		}
		first := c.hook.next(t)
		inbound(t, first, ana, r.json["waMessageId"].(string), "text")
		if want == 2 {
			if again := c.hook.next(t); !again.sigOK || !bytes.Equal(again.raw, first.raw) {
				t.Errorf("duplicate differs: %s vs %s", again.raw, first.raw)
			}
		}
		c.hook.none(t)
	}
}

// Held webhooks come out newest first, or batched into one POST.
func TestControl_HoldAndRelease(t *testing.T) {
	c := setupCtl(t, sandbox.Options{})
	wantError(t, c.call(t, http.MethodPost, "/control/faults/hold", `{"count":-3}`), 400, "negative count")
	wantError(t, c.call(t, http.MethodPost, "/control/faults/release", `{"batch":"yes"}`), 400, "batch not a bool")
	for _, batch := range []bool{false, true} {
		if r := c.call(t, http.MethodPost, "/control/faults/hold", `{"count":2}`); r.status != 200 || num(r.json["holdNext"]) != 2 {
			t.Fatalf("hold: %d %s", r.status, r.raw)
		}
		var wamids []string
		for _, body := range []string{"um", "dois"} {
			r := c.call(t, http.MethodPost, "/customers/"+ana.WAID+"/messages", `{"name":"Ana Souza","text":"`+body+`"}`)
			if r.status != 202 || r.json["held"] != true || r.json["acknowledged"] != false {
				t.Fatalf("held message: %d %s", r.status, r.raw)
			}
			wamids = append(wamids, r.json["waMessageId"].(string))
		}
		c.hook.none(t)
		if f := c.call(t, http.MethodGet, "/control/faults", ""); num(f.json["held"]) != 2 || num(f.json["holdNext"]) != 0 {
			t.Fatalf("faults while held: %s", f.raw)
		}
		body := `{}`
		if batch {
			body = `{"batch":true}`
		}
		r := c.call(t, http.MethodPost, "/control/faults/release", body)
		if r.status != 200 || num(r.json["released"]) != 2 || num(r.json["held"]) != 0 {
			t.Fatalf("release: %d %s", r.status, r.raw)
		}
		if !batch {
			inbound(t, c.hook.next(t), ana, wamids[1], "text")
			inbound(t, c.hook.next(t), ana, wamids[0], "text")
		} else {
			d := c.hook.next(t)
			changes := d.body["entry"].([]any)[0].(map[string]any)["changes"].([]any)
			if !d.sigOK || len(changes) != 2 {
				t.Fatalf("batch: %s", d.raw)
			}
			for i, ch := range changes {
				m := checkChange(t, ch.(map[string]any))["messages"].([]any)[0].(map[string]any)
				if m["id"] != wamids[i] {
					t.Errorf("batched change %d = %v, want %s", i, m["id"], wamids[i])
				}
			}
		}
		c.hook.none(t)
	}
}

func TestControl_Latency(t *testing.T) {
	c := setupCtl(t, sandbox.Options{})
	for _, body := range []string{`{}`, `{"latency":"-1s"}`, `{"latency":"fast"}`, `{"latency":250}`} {
		wantError(t, c.call(t, http.MethodPut, "/control/faults/latency", body), 400, body)
	}
	r := c.call(t, http.MethodPut, "/control/faults/latency", `{"latency":"300ms"}`)
	if r.status != 200 || r.json["latency"] != "300ms" {
		t.Fatalf("latency: %d %s", r.status, r.raw)
	}
	start := time.Now()
	do(t, http.MethodGet, c.graph.URL+"/v26.0/"+sandbox.DefaultPhoneNumberID, token, "", nil)
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("a Graph call took %v with 300ms latency", took)
	}
	if r := c.call(t, http.MethodPut, "/control/faults/latency", `{"latency":"0s"}`); r.status != 200 || r.json["latency"] != "0s" {
		t.Errorf("latency off: %d %s", r.status, r.raw)
	}
}

func TestControl_Throughput(t *testing.T) {
	c := setupCtl(t, sandbox.Options{})
	c.sb.OpenWindow(ana.WAID)
	for _, body := range []string{`{}`, `{"perSecond":"1"}`, `{"rate":1}`} {
		wantError(t, c.call(t, http.MethodPut, "/control/faults/throughput", body), 400, body)
	}
	if r := c.call(t, http.MethodPut, "/control/faults/throughput", `{"perSecond":1}`); r.status != 200 {
		t.Fatalf("throughput: %d %s", r.status, r.raw)
	}
	c.send(t, text(ana.WAID, "um"))
	// The test clock stands still, so the bucket does not refill.
	if r := postJSON(t, c.messagesURL(), token, text(ana.WAID, "dois")); r.errorCode() != 130429 {
		t.Errorf("over the throughput: %d %s", r.status, r.raw)
	}
	if r := c.call(t, http.MethodPut, "/control/faults/throughput", `{"perSecond":0}`); r.status != 200 {
		t.Fatalf("unlimited: %d %s", r.status, r.raw)
	}
	c.send(t, text(ana.WAID, "três"))
}

// A status plan reorders statuses; one that stops before read leaves the
// message unread until the customer opens the chat.
func TestControl_StatusPlanAndRead(t *testing.T) {
	c := setupCtl(t, sandbox.Options{AutoStatuses: true})
	c.sb.OpenWindow(ana.WAID)
	for _, body := range []string{`{}`, `{"statuses":["sent","seen"]}`, `{"statuses":"sent"}`} {
		wantError(t, c.call(t, http.MethodPut, "/control/faults/status-plan", body), 400, body)
	}
	r := c.call(t, http.MethodPut, "/control/faults/status-plan", `{"statuses":["sent","read","delivered"]}`)
	if r.status != 200 || len(r.json["statusPlan"].([]any)) != 3 {
		t.Fatalf("status plan: %d %s", r.status, r.raw)
	}
	wamid := c.send(t, text(ana.WAID, "oi"))
	for _, want := range []string{"sent", "read", "delivered"} {
		if st := status(t, c.hook.next(t)); st["id"] != wamid || st["status"] != want {
			t.Errorf("status = %v %v, want %s", st["id"], st["status"], want)
		}
	}
	// Another customer, as Ana's first message ended "delivered" and would
	// be read too.
	bia := "5511955554444"
	c.sb.OpenWindow(bia)
	c.call(t, http.MethodPut, "/control/faults/status-plan", `{"statuses":["sent","delivered"]}`)
	wamid = c.send(t, text(bia, "e agora?"))
	for _, want := range []string{"sent", "delivered"} {
		if st := status(t, c.hook.next(t)); st["status"] != want {
			t.Errorf("status = %v, want %s", st["status"], want)
		}
	}
	c.hook.none(t)
	if r := c.call(t, http.MethodPost, "/customers/"+bia+"/read", ""); r.status != 200 || r.json["acknowledged"] != true {
		t.Fatalf("read: %d %s", r.status, r.raw)
	}
	if st := status(t, c.hook.next(t)); st["id"] != wamid || st["status"] != "read" {
		t.Errorf("after read: %v", st)
	}
	if r := c.call(t, http.MethodPut, "/control/faults/status-plan", `{"statuses":[]}`); r.status != 200 || len(r.json["statusPlan"].([]any)) != 3 {
		t.Errorf("default plan: %d %s", r.status, r.raw)
	}
}

func TestControl_Unreachable(t *testing.T) {
	c := setupCtl(t, sandbox.Options{})
	c.sb.OpenWindow(ana.WAID)
	if r := c.call(t, http.MethodPost, "/customers/"+ana.WAID+"/unreachable", ""); r.status != 200 {
		t.Fatalf("unreachable: %d %s", r.status, r.raw)
	}
	wamid := c.send(t, text(ana.WAID, "oi"))
	st := status(t, c.hook.next(t))
	errs, _ := st["errors"].([]any)
	if st["id"] != wamid || st["status"] != "failed" || len(errs) != 1 || num(errs[0].(map[string]any)["code"]) != 131026 {
		t.Errorf("status = %v", st)
	}
}

func TestControl_UnknownRoutesAndMethods(t *testing.T) {
	c := setupCtl(t, sandbox.Options{})
	for _, path := range []string{"/control/nope", "/control/faults/explode", "/customers/" + ana.WAID + "/nope", "/v26.0/" + sandbox.DefaultPhoneNumberID} {
		wantError(t, c.call(t, http.MethodGet, path, ""), 404, path)
	}
	r := c.call(t, http.MethodGet, "/control/faults/fail", "")
	wantError(t, r, 405, "GET fail")
	if allow := r.header.Get("Allow"); allow != "POST" {
		t.Errorf("Allow = %q", allow)
	}
	r = c.call(t, http.MethodPost, "/customers/"+ana.WAID+"/window", "")
	wantError(t, r, 405, "POST window")
	if allow := r.header.Get("Allow"); !strings.Contains(allow, "PUT") || !strings.Contains(allow, "DELETE") {
		t.Errorf("Allow = %q", allow)
	}
}
