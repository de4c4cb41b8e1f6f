package httpapi_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/config"
	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

// graphFake answers the Graph API calls the workers make, with Meta's wire
// shapes (contract §6–§8), failing the next sends as scripted.
type graphFake struct {
	mu       sync.Mutex
	failures []graphFailure // consumed one per send
	sends    []map[string]any
	sent     chan string
	media    map[string][]byte
	srv      *httptest.Server
	// dropNext sends are accepted (recorded, given a wamid) but the
	// connection is closed before Meta's answer, as when a process dies or
	// the network fails between Meta's acceptance and our bookkeeping.
	dropNext int
	// templateCalls counts message_templates requests.
	templateCalls int
	uploads       []upload
}

type upload struct {
	name, mime string
	data       []byte
}

type graphFailure struct {
	status, code int
	message      string
}

func newGraphFake(t *testing.T) *graphFake {
	g := &graphFake{sent: make(chan string, 100), media: map[string][]byte{}}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *graphFake) fail(n, status, code int, message string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for range n {
		g.failures = append(g.failures, graphFailure{status, code, message})
	}
}

func (g *graphFake) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") == "" {
		w.WriteHeader(401)
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == "POST" && len(parts) == 3 && parts[2] == "messages":
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		if body["status"] == "read" {
			_, _ = io.WriteString(w, `{"success":true}`)
			return
		}
		g.mu.Lock()
		if len(g.failures) > 0 {
			f := g.failures[0]
			g.failures = g.failures[1:]
			g.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(f.status)
			fmt.Fprintf(w, `{"error":{"message":%q,"type":"OAuthException","code":%d,"error_data":{"messaging_product":"whatsapp","details":%q},"fbtrace_id":"Axyz"}}`, f.message, f.code, f.message)
			return
		}
		wamid := fmt.Sprintf("wamid.fake%03d", len(g.sends))
		g.sends = append(g.sends, body)
		drop := g.dropNext > 0
		if drop {
			g.dropNext--
		}
		g.mu.Unlock()
		if drop {
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				_ = conn.Close()
			}
			g.sent <- wamid
			return
		}
		fmt.Fprintf(w, `{"messaging_product":"whatsapp","contacts":[{"input":%q,"wa_id":%q}],"messages":[{"id":%q}]}`, body["to"], strings.TrimPrefix(fmt.Sprint(body["to"]), "+"), wamid)
		g.sent <- wamid
	case r.Method == "POST" && len(parts) == 3 && parts[2] == "media":
		if err := r.ParseMultipartForm(32 << 20); err != nil || r.FormValue("messaging_product") != "whatsapp" {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":{"message":"(#100) Invalid parameter","type":"OAuthException","code":100,"fbtrace_id":"A"}}`)
			return
		}
		f, hdr, err := r.FormFile("file")
		if err != nil {
			w.WriteHeader(400)
			return
		}
		data, _ := io.ReadAll(f)
		g.mu.Lock()
		id := fmt.Sprintf("90%02d", len(g.uploads))
		g.uploads = append(g.uploads, upload{name: hdr.Filename, mime: r.FormValue("type"), data: data})
		g.mu.Unlock()
		fmt.Fprintf(w, `{"id":%q}`, id)
	case r.Method == "GET" && len(parts) == 3 && parts[2] == "message_templates":
		g.mu.Lock()
		g.templateCalls++
		g.mu.Unlock()
		if r.URL.Query().Get("after") == "" {
			fmt.Fprintf(w, `{"data":[{"name":"boas_vindas","language":"pt_BR","status":"APPROVED","category":"UTILITY","id":"1","components":[{"type":"BODY","text":"Olá {{1}}"}]},
				{"name":"rascunho","language":"pt_BR","status":"PENDING","category":"MARKETING","id":"2","components":[]}],
				"paging":{"cursors":{"before":"a","after":"b"},"next":%q}}`, g.srv.URL+r.URL.Path+"?after=b")
			return
		}
		fmt.Fprint(w, `{"data":[{"name":"retomada","language":"pt_BR","status":"APPROVED","category":"UTILITY","id":"3","components":[]}],"paging":{"cursors":{"before":"b","after":"c"}}}`)
	case r.Method == "GET" && len(parts) == 2 && parts[0] != "files":
		g.mu.Lock()
		data, ok := g.media[parts[1]]
		g.mu.Unlock()
		if !ok {
			w.WriteHeader(404)
			fmt.Fprint(w, `{"error":{"message":"Unsupported get request","type":"GraphMethodException","code":100,"fbtrace_id":"A"}}`)
			return
		}
		sum := sha256.Sum256(data)
		mimeType := "image/jpeg"
		if bytes.HasPrefix(data, []byte("<svg")) {
			mimeType = "image/svg+xml"
		}
		fmt.Fprintf(w, `{"messaging_product":"whatsapp","url":%q,"mime_type":%q,"sha256":%q,"file_size":%d,"id":%q}`,
			g.srv.URL+"/files/"+parts[1], mimeType, fmt.Sprintf("%x", sum), len(data), parts[1])
	case r.Method == "GET" && len(parts) == 2 && parts[0] == "files":
		g.mu.Lock()
		data := g.media[parts[1]]
		g.mu.Unlock()
		w.Header().Set("Content-Type", "image/jpeg")
		_, _ = w.Write(data)
	default:
		w.WriteHeader(404)
	}
}

func (g *graphFake) sendCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.sends)
}

// newDeliveryEnv is a test env whose workers run and talk to a fake Graph.
func newDeliveryEnv(t *testing.T, g *graphFake, extra map[string]string) map[string]string {
	env := map[string]string{"WHATSAPP_APP_SECRET": testAppSecret, "WHATSAPP_GRAPH_URL": g.srv.URL, "MEDIA_DIR": t.TempDir(),
		// A "real" number, so the workers talk to the fake instead of the sandbox.
		"WHATSAPP_ACCESS_TOKEN": "test-token", "WHATSAPP_PHONE_NUMBER_ID": config.SandboxPhoneNumberID,
		"WHATSAPP_BUSINESS_ACCOUNT_ID": config.SandboxBusinessAccountID}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

func waitStatus(t *testing.T, e *testEnv, token, convID, msgID, want string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range e.mustStatus(e.call("GET", "/api/v1/messages?conversationId="+convID, token, nil), 200).json(t)["data"].([]any) {
			mm := m.(map[string]any)
			if mm["id"] == msgID && mm["status"] == want {
				return mm
			}
		}
		time.Sleep(20 * time.Millisecond) // polling the API the way a client would
	}
	t.Fatalf("message %s never reached %s", msgID, want)
	return nil
}

func TestDeliveryRetriesTransientFailuresAndSendsOnce(t *testing.T) {
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			g := newGraphFake(t)
			e := newTestEnv(t, eng.open(t), newDeliveryEnv(t, g, nil))
			if err := e.srv.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			admin := e.admin()
			conv := e.customerWrites(admin.access, "5511944440001", "wamid.d1", "preciso de ajuda", time.Now())
			g.fail(2, 500, 1, "An unknown error occurred")
			m := e.mustStatus(e.call("POST", "/api/v1/messages", admin.access, map[string]any{"conversationId": conv, "text": "Claro!"}), 202).json(t)
			sent := waitStatus(t, e, admin.access, conv, m["id"].(string), "sent")
			if sent["waMessageId"] != "wamid.fake000" || sent["sentAt"] == nil {
				t.Errorf("sent message = %v", sent)
			}
			if n := g.sendCount(); n != 1 {
				t.Errorf("Graph accepted %d sends, want 1", n)
			}
			g.mu.Lock()
			body := g.sends[0]
			g.mu.Unlock()
			if body["messaging_product"] != "whatsapp" || body["to"] != "+5511944440001" || body["type"] != "text" ||
				body["text"].(map[string]any)["body"] != "Claro!" {
				t.Errorf("request body = %v", body)
			}
		})
	}
}

func TestDeliveryPermanentFailureIsNotRetried(t *testing.T) {
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			g := newGraphFake(t)
			e := newTestEnv(t, eng.open(t), newDeliveryEnv(t, g, nil))
			if err := e.srv.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			admin := e.admin()
			conv := e.customerWrites(admin.access, "5511944440002", "wamid.d2", "oi", time.Now())
			g.fail(1, 400, 131047, "Message failed to send because more than 24 hours have passed since the customer last replied to this number.")
			m := e.mustStatus(e.call("POST", "/api/v1/messages", admin.access, map[string]any{"conversationId": conv, "text": "oi"}), 202).json(t)
			failed := waitStatus(t, e, admin.access, conv, m["id"].(string), "failed")
			errObj := failed["error"].(map[string]any)
			if errObj["code"] != "131047" || !strings.Contains(errObj["message"].(string), "24 hours") {
				t.Errorf("failed message error = %v", errObj)
			}
			// The next message goes: the failure was consumed once, not retried.
			m2 := e.mustStatus(e.call("POST", "/api/v1/messages", admin.access, map[string]any{"conversationId": conv, "text": "de novo"}), 202).json(t)
			waitStatus(t, e, admin.access, conv, m2["id"].(string), "sent")
			if n := g.sendCount(); n != 1 {
				t.Errorf("Graph accepted %d sends, want 1", n)
			}
		})
	}
}

func TestDeliveryRefusedTokenFlagsChannel(t *testing.T) {
	g := newGraphFake(t)
	e := newTestEnv(t, storetestOpenSQLite(t), newDeliveryEnv(t, g, nil))
	if err := e.srv.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	admin := e.admin()
	conv := e.customerWrites(admin.access, "5511944440003", "wamid.d3", "oi", time.Now())
	g.fail(1, 401, 190, "Error validating access token: Session has expired")
	m := e.mustStatus(e.call("POST", "/api/v1/messages", admin.access, map[string]any{"conversationId": conv, "text": "oi"}), 202).json(t)
	waitStatus(t, e, admin.access, conv, m["id"].(string), "failed")
	chs, err := e.srv.DB.ListChannels(t.Context())
	if err != nil || len(chs) != 1 || chs[0].Status != helpdesk.ChannelUnhealthy {
		t.Errorf("channel after 190 = %+v, %v", chs, err)
	}
}

// A queued message whose process stops before the worker runs is sent by
// the next process, once.
func TestQueuedSendSurvivesRestart(t *testing.T) {
	g := newGraphFake(t)
	db := storetestOpenSQLite(t)
	env := newDeliveryEnv(t, g, nil)
	first := newTestEnv(t, db, env) // workers never started: a crash before sending
	admin := first.admin()
	conv := first.customerWrites(admin.access, "5511944440004", "wamid.d4", "oi", time.Now())
	m := first.mustStatus(first.call("POST", "/api/v1/messages", admin.access, map[string]any{"conversationId": conv, "text": "depois do reinício"}), 202).json(t)
	first.http.Close()
	if err := first.srv.Close(); err != nil {
		t.Fatal(err)
	}

	second := newTestEnv(t, db, env)
	if err := second.srv.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	tok := second.login("admin@suporte.com", "NewAdmin@2024")
	waitStatus(t, second, tok.access, conv, m["id"].(string), "sent")
	if n := g.sendCount(); n != 1 {
		t.Errorf("Graph accepted %d sends, want 1", n)
	}
}

func TestInboundMediaIsDownloaded(t *testing.T) {
	g := newGraphFake(t)
	photo := []byte("\xff\xd8\xff\xe0 not really a jpeg but bytes all the same")
	g.media["1001"] = photo
	env := newDeliveryEnv(t, g, nil)
	e := newTestEnv(t, storetestOpenSQLite(t), env)
	if err := e.srv.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	admin := e.admin()
	sum := sha256.Sum256(photo)
	body := envelope("100000000000001", map[string]any{
		"contacts": []any{map[string]any{"profile": map[string]any{"name": "Maria"}, "wa_id": "5511944440005"}},
		"messages": []any{map[string]any{"from": "5511944440005", "id": "wamid.img", "timestamp": fmt.Sprint(time.Now().Unix()), "type": "image",
			"image": map[string]any{"id": "1001", "mime_type": "image/jpeg", "sha256": base64.StdEncoding.EncodeToString(sum[:]), "caption": "o erro"}}},
	})
	e.mustStatus(e.postWebhook(body, sign(body)), 200)
	conv := e.mustStatus(e.call("GET", "/api/v1/conversations", admin.access, nil), 200).json(t)["data"].([]any)[0].(map[string]any)["id"].(string)
	msg := e.mustStatus(e.call("GET", "/api/v1/messages?conversationId="+conv, admin.access, nil), 200).json(t)["data"].([]any)[0].(map[string]any)
	url := msg["media"].(map[string]any)["url"].(string)

	deadline := time.Now().Add(30 * time.Second)
	var r resp
	for time.Now().Before(deadline) {
		if r = e.call("GET", url, admin.access, nil); r.status != 409 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r.status != 200 || string(r.raw) != string(photo) || r.header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("media download = %d %q %q", r.status, r.header.Get("Content-Type"), r.raw)
	}
	if d := r.header.Get("Content-Disposition"); !strings.HasPrefix(d, "inline") {
		t.Errorf("a photo is shown in the page, got Content-Disposition %q", d)
	}
	files, _ := filepath.Glob(filepath.Join(env["MEDIA_DIR"], "*", "*", "*"))
	if len(files) != 1 {
		t.Errorf("files under MEDIA_DIR = %v", files)
	} else if data, _ := os.ReadFile(files[0]); string(data) != string(photo) {
		t.Errorf("stored file differs")
	}
	e.mustStatus(e.call("GET", url, "", nil), 401)

	// A document that is really an SVG with script is downloaded, never
	// rendered as a page of the dashboard's origin.
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>`)
	g.media["1002"] = svg
	svgSum := sha256.Sum256(svg)
	body = envelope("100000000000001", map[string]any{
		"contacts": []any{map[string]any{"profile": map[string]any{"name": "Maria"}, "wa_id": "5511944440005"}},
		"messages": []any{map[string]any{"from": "5511944440005", "id": "wamid.svg", "timestamp": fmt.Sprint(time.Now().Unix()), "type": "document",
			"document": map[string]any{"id": "1002", "mime_type": "image/svg+xml", "sha256": base64.StdEncoding.EncodeToString(svgSum[:]), "filename": "nota.svg"}}},
	})
	e.mustStatus(e.postWebhook(body, sign(body)), 200)
	var svgURL string
	for _, m := range e.mustStatus(e.call("GET", "/api/v1/messages?conversationId="+conv, admin.access, nil), 200).json(t)["data"].([]any) {
		if m := m.(map[string]any); m["waMessageId"] == "wamid.svg" {
			svgURL = m["media"].(map[string]any)["url"].(string)
		}
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if r = e.call("GET", svgURL, admin.access, nil); r.status != 409 {
			break
		}
	}
	if r.status != 200 || string(r.raw) != string(svg) {
		t.Fatalf("svg download = %d %q", r.status, r.raw)
	}
	if d := r.header.Get("Content-Disposition"); !strings.HasPrefix(d, "attachment") {
		t.Errorf("an SVG must be downloaded, got Content-Disposition %q", d)
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("media CSP = %q", csp)
	}
}

// TestInboundMediaUnavailable: a file Meta no longer has is given up on
// visibly: the message carries the media_unavailable error and the media
// route answers 410 with it, instead of "still downloading" forever.
func TestInboundMediaUnavailable(t *testing.T) {
	g := newGraphFake(t)
	env := newDeliveryEnv(t, g, nil)
	e := newTestEnv(t, storetestOpenSQLite(t), env)
	if err := e.srv.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	admin := e.admin()
	body := envelope("100000000000001", map[string]any{
		"contacts": []any{map[string]any{"profile": map[string]any{"name": "Maria"}, "wa_id": "5511944440006"}},
		"messages": []any{map[string]any{"from": "5511944440006", "id": "wamid.lost", "timestamp": fmt.Sprint(time.Now().Unix()), "type": "document",
			"document": map[string]any{"id": "4040", "mime_type": "application/pdf", "filename": "boleto.pdf"}}},
	})
	e.mustStatus(e.postWebhook(body, sign(body)), 200)
	conv := e.mustStatus(e.call("GET", "/api/v1/conversations", admin.access, nil), 200).json(t)["data"].([]any)[0].(map[string]any)["id"].(string)
	msgs := "/api/v1/messages?conversationId=" + conv
	url := e.mustStatus(e.call("GET", msgs, admin.access, nil), 200).json(t)["data"].([]any)[0].(map[string]any)["media"].(map[string]any)["url"].(string)

	var r resp
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if r = e.call("GET", url, admin.access, nil); r.status != 409 {
			break
		}
	}
	if r.status != 410 || r.json(t)["error"].(map[string]any)["code"] != helpdesk.CodeMediaUnavailable {
		t.Fatalf("media of a file Meta does not have = %d %s, want 410 %s", r.status, r.raw, helpdesk.CodeMediaUnavailable)
	}
	msg := e.mustStatus(e.call("GET", msgs, admin.access, nil), 200).json(t)["data"].([]any)[0].(map[string]any)
	if msgErr, _ := msg["error"].(map[string]any); msgErr["code"] != helpdesk.CodeMediaUnavailable || msgErr["message"] == "" ||
		msg["status"] != "received" || msg["media"].(map[string]any)["fileName"] != "boleto.pdf" {
		t.Errorf("message = %v, want it received with its media and the media_unavailable error", msg)
	}
}

// TestTemplateWithoutComponentsIsSent: a template without parameters may
// leave components out (or null); it is sent without the field, as Meta's
// hello_world is, instead of failing later in the job.
func TestTemplateWithoutComponentsIsSent(t *testing.T) {
	g := newGraphFake(t)
	e := newTestEnv(t, storetestOpenSQLite(t), newDeliveryEnv(t, g, nil))
	if err := e.srv.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	admin := e.admin()
	conv := e.customerWrites(admin.access, "5511955550004", "wamid.t1", "oi", time.Now())
	for _, tpl := range []map[string]any{
		{"name": "hello_world", "language": "en_US"},
		{"name": "hello_world", "language": "en_US", "components": nil},
	} {
		m := e.mustStatus(e.call("POST", "/api/v1/messages", admin.access, map[string]any{"conversationId": conv, "template": tpl}), 202).json(t)
		waitStatus(t, e, admin.access, conv, m["id"].(string), "sent")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.sends) != 2 {
		t.Fatalf("sends = %v", g.sends)
	}
	for _, send := range g.sends {
		tpl, _ := send["template"].(map[string]any)
		if _, has := tpl["components"]; has || tpl["name"] != "hello_world" || send["type"] != "template" {
			t.Errorf("template send = %v, want hello_world without components", send)
		}
	}
}

func TestTemplatesAreSyncedAndCached(t *testing.T) {
	g := newGraphFake(t)
	e := newTestEnv(t, storetestOpenSQLite(t), newDeliveryEnv(t, g, nil))
	admin := e.admin()
	agent, _ := e.newUser(admin.access, helpdesk.RoleAgent)
	for range 2 {
		list := e.mustStatus(e.call("GET", "/api/v1/templates", agent.access, nil), 200).json(t)["data"].([]any)
		var names []string
		for _, tpl := range list {
			names = append(names, tpl.(map[string]any)["name"].(string))
		}
		if fmt.Sprint(names) != "[boas_vindas retomada]" {
			t.Errorf("templates = %v, want the approved ones from both pages", names)
		}
	}
	g.mu.Lock()
	calls := g.templateCalls
	g.mu.Unlock()
	if calls != 2 { // two pages, once: the second listing came from the cache
		t.Errorf("message_templates requests = %d, want 2", calls)
	}
	chs, _ := e.srv.DB.ListChannels(t.Context())
	e.mustStatus(e.call("GET", "/api/v1/templates?channelId="+chs[0].ID, agent.access, nil), 200)
	e.mustStatus(e.call("GET", "/api/v1/templates?channelId="+helpdesk.NewID(), agent.access, nil), 404)
}

func multipartBody(t *testing.T, fields map[string]string, fileName, mimeType string, data []byte) (string, []byte) {
	t.Helper()
	var buf strings.Builder
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if fileName != "" {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, fileName))
		if mimeType != "" {
			h.Set("Content-Type", mimeType)
		}
		fw, _ := mw.CreatePart(h)
		_, _ = fw.Write(data)
	}
	_ = mw.Close()
	return mw.FormDataContentType(), []byte(buf.String())
}

func TestSendMediaUploadsThenSends(t *testing.T) {
	g := newGraphFake(t)
	env := newDeliveryEnv(t, g, nil)
	e := newTestEnv(t, storetestOpenSQLite(t), env)
	if err := e.srv.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	admin := e.admin()
	conv := e.customerWrites(admin.access, "5511955550001", "wamid.m1", "manda o boleto", time.Now())
	pdf := []byte("%PDF-1.4 fake boleto")
	ct, body := multipartBody(t, map[string]string{"conversationId": conv, "caption": "Segue o boleto"}, "boleto.pdf", "application/pdf", pdf)
	m := e.mustStatus(e.call("POST", "/api/v1/messages", admin.access, body, withHeader("Content-Type", ct)), 202).json(t)
	if m["type"] != "document" || m["text"] != "Segue o boleto" || m["media"].(map[string]any)["fileName"] != "boleto.pdf" {
		t.Errorf("queued media message = %v", m)
	}
	waitStatus(t, e, admin.access, conv, m["id"].(string), "sent")
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.uploads) != 1 || string(g.uploads[0].data) != string(pdf) || g.uploads[0].mime != "application/pdf" {
		t.Fatalf("uploads = %+v", g.uploads)
	}
	doc, _ := g.sends[0]["document"].(map[string]any)
	if g.sends[0]["type"] != "document" || doc["id"] != "9000" || doc["filename"] != "boleto.pdf" || doc["caption"] != "Segue o boleto" {
		t.Errorf("send body = %v", g.sends[0])
	}
}

// TestUploadTypeWithoutClientType: a file sent as application/octet-stream
// (curl's default, and a browser's for types it has no mapping for) gets
// the type WhatsApp knows for its extension; sniffing alone would call an
// Office file application/zip and a voice note application/ogg, which
// WhatsApp refuses.
func TestUploadTypeWithoutClientType(t *testing.T) {
	e := newTestEnv(t, storetestOpenSQLite(t), newDeliveryEnv(t, newGraphFake(t), nil))
	admin := e.admin()
	conv := e.customerWrites(admin.access, "5511955550003", "wamid.m3", "manda a planilha", time.Now())
	zip := []byte("PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00 word/document.xml")
	for _, c := range []struct {
		file, clientType string
		data             []byte
		kind, mime       string
	}{
		{"contrato.docx", "application/octet-stream", zip, "document", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"PLANILHA.XLSX", "", zip, "document", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
		{"recado.ogg", "application/octet-stream", []byte("OggS\x00\x02 opus voice note"), "audio", "audio/ogg"},
		{"sem-extensao", "application/octet-stream", []byte("OggS\x00\x02 opus voice note"), "audio", "audio/ogg"},
		{"boleto", "application/octet-stream", []byte("%PDF-1.4 boleto"), "document", "application/pdf"},
		{"foto.jpg", "application/octet-stream", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "image", "image/png"}, // a PNG renamed .jpg
		{"figurinha", "application/octet-stream", []byte("RIFF\x00\x00\x00\x00WEBPVP8 "), "sticker", "image/webp"},
		{"foto.jpg", "image/jpeg; charset=binary", []byte("\xff\xd8\xff\xe0 jpeg"), "image", "image/jpeg"},
	} {
		ct, body := multipartBody(t, map[string]string{"conversationId": conv}, c.file, c.clientType, c.data)
		m := e.mustStatus(e.call("POST", "/api/v1/messages", admin.access, body, withHeader("Content-Type", ct)), 202).json(t)
		if m["type"] != c.kind || m["media"].(map[string]any)["mimeType"] != c.mime {
			t.Errorf("%s sent as %q: type %v, mimeType %v; want %s, %s", c.file, c.clientType, m["type"], m["media"].(map[string]any)["mimeType"], c.kind, c.mime)
		}
	}
	// A WebP photo named .jpg is refused, not sent as a sticker.
	ct, body := multipartBody(t, map[string]string{"conversationId": conv}, "foto.jpg", "application/octet-stream", []byte("RIFF\x00\x00\x00\x00WEBPVP8 "))
	if r := e.call("POST", "/api/v1/messages", admin.access, body, withHeader("Content-Type", ct)); r.status != 400 {
		t.Errorf("a WebP named .jpg: %d %s, want 400", r.status, r.raw)
	}
	// A type WhatsApp refuses stays refused, whatever the client said.
	ct, body = multipartBody(t, map[string]string{"conversationId": conv}, "fotos.zip", "application/octet-stream", zip)
	if r := e.call("POST", "/api/v1/messages", admin.access, body, withHeader("Content-Type", ct)); r.status != 400 {
		t.Errorf("a zip sent as octet-stream: %d %s, want 400", r.status, r.raw)
	}
}

func TestSendMediaValidation(t *testing.T) {
	g := newGraphFake(t)
	env := newDeliveryEnv(t, g, nil)
	e := newTestEnv(t, storetestOpenSQLite(t), env)
	admin := e.admin()
	conv := e.customerWrites(admin.access, "5511955550002", "wamid.m2", "oi", time.Now())
	cases := []struct {
		name        string
		fields      map[string]string
		file, mime  string
		data        []byte
		status      int
		field, code string
	}{
		{"zip is not accepted", map[string]string{"conversationId": conv}, "x.zip", "application/zip", []byte("PK.."), 400, "file", helpdesk.CodeValidation},
		{"random bytes claiming to be a JPEG", map[string]string{"conversationId": conv}, "foto.jpg", "image/jpeg", []byte("\x13\x37 not an image at all"), 400, "file", helpdesk.CodeValidation},
		{"a PNG claiming to be a JPEG", map[string]string{"conversationId": conv}, "foto.jpg", "image/jpeg", []byte("\x89PNG\r\n\x1a\n...."), 400, "file", helpdesk.CodeValidation},
		{"text claiming to be a PDF", map[string]string{"conversationId": conv}, "boleto.pdf", "application/pdf", []byte("boleto em texto"), 400, "file", helpdesk.CodeValidation},
		{"image over 5 MB", map[string]string{"conversationId": conv}, "big.jpg", "image/jpeg", append([]byte("\xff\xd8\xff\xe0"), make([]byte, 5<<20)...), 400, "file", helpdesk.CodeValidation},
		{"no file", map[string]string{"conversationId": conv}, "", "", nil, 400, "file", helpdesk.CodeValidation},
		{"empty file", map[string]string{"conversationId": conv}, "a.pdf", "application/pdf", nil, 400, "file", helpdesk.CodeValidation},
		{"no conversation", map[string]string{}, "a.pdf", "application/pdf", []byte("%PDF-1.4"), 400, "conversationId", helpdesk.CodeValidation},
		{"unknown field", map[string]string{"conversationId": conv, "color": "red"}, "a.pdf", "application/pdf", []byte("%PDF-1.4"), 400, "color", helpdesk.CodeValidation},
		{"unknown conversation", map[string]string{"conversationId": helpdesk.NewID()}, "a.pdf", "application/pdf", []byte("%PDF-1.4"), 404, "", helpdesk.CodeNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ct, body := multipartBody(t, c.fields, c.file, c.mime, c.data)
			r := e.call("POST", "/api/v1/messages", admin.access, body, withHeader("Content-Type", ct))
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %.300s", r.status, c.status, r.raw)
			}
			if r.errCode(t) != c.code || (c.field != "" && r.errFields(t)[c.field] == nil) {
				t.Errorf("error = %s", r.raw)
			}
			if c.name == "image over 5 MB" && !strings.Contains(fmt.Sprint(r.errFields(t)["file"]), "at most 5 MB") {
				t.Errorf("an oversized JPEG is refused for its size, got %s", r.raw)
			}
		})
	}
	// Refused uploads leave no file behind.
	files, _ := filepath.Glob(filepath.Join(env["MEDIA_DIR"], "outbound", "*", "*", "*"))
	if len(files) != 0 {
		t.Errorf("files left after refused uploads: %v", files)
	}
}

// TestUnansweredSendIsClaimedByItsStatus: Meta accepted a reply but its
// answer never reached us. The job must not send it again blindly; Meta's
// status webhook names the message in biz_opaque_callback_data, which
// attaches the wamid and moves the message on.
func TestUnansweredSendIsClaimedByItsStatus(t *testing.T) {
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			g := newGraphFake(t)
			e := newTestEnv(t, eng.open(t), newDeliveryEnv(t, g, nil))
			if err := e.srv.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			admin := e.admin()
			conv := e.customerWrites(admin.access, "5511944440009", "wamid.u1", "vocês abrem sábado?", time.Now())
			g.mu.Lock()
			g.dropNext = 1
			g.mu.Unlock()
			m := e.mustStatus(e.call("POST", "/api/v1/messages", admin.access, map[string]any{"conversationId": conv, "text": "Abrimos das 9h às 13h."}), 202).json(t)
			id := m["id"].(string)
			var wamid string
			select {
			case wamid = <-g.sent:
			case <-time.After(30 * time.Second):
				t.Fatal("the reply never reached the Graph API")
			}
			g.mu.Lock()
			callback := g.sends[0]["biz_opaque_callback_data"]
			g.mu.Unlock()
			if callback != id {
				t.Fatalf("biz_opaque_callback_data = %v, want the message id %s", callback, id)
			}
			// The job's first retry comes about a second later; it must wait
			// for the status instead of sending a second copy.
			time.Sleep(2500 * time.Millisecond)
			if n := g.sendCount(); n != 1 {
				t.Fatalf("Graph received %d sends before the status came, want 1", n)
			}
			st := map[string]any{"id": wamid, "status": "delivered", "timestamp": fmt.Sprint(time.Now().Unix()),
				"recipient_id": "5511944440009", "biz_opaque_callback_data": id}
			body := envelope(config.SandboxPhoneNumberID, map[string]any{"statuses": []any{st}})
			e.mustStatus(e.postWebhook(body, sign(body)), 200)
			got := waitStatus(t, e, admin.access, conv, id, "delivered")
			if got["waMessageId"] != wamid || got["deliveredAt"] == nil {
				t.Errorf("claimed message = %v", got)
			}
			if n := g.sendCount(); n != 1 {
				t.Errorf("Graph received %d sends, want 1", n)
			}
		})
	}
}
