package sandbox_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp/sandbox"
)

const secret, token = "s3cret", "tok"

// receiver is a webhook endpoint that checks signatures itself and keeps
// the decoded bodies; it answers fail non-200s before succeeding.
type receiver struct {
	mu     sync.Mutex
	bodies []map[string]any
	raw    [][]byte
	fail   int
	got    chan struct{}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(b)
	if r.Header.Get("X-Hub-Signature-256") != "sha256="+hex.EncodeToString(m.Sum(nil)) {
		w.WriteHeader(401)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.raw = append(rc.raw, b)
	if rc.fail > 0 {
		rc.fail--
		w.WriteHeader(500)
		return
	}
	var body map[string]any
	_ = json.Unmarshal(b, &body)
	rc.bodies = append(rc.bodies, body)
	w.WriteHeader(200)
	select {
	case rc.got <- struct{}{}:
	default:
	}
}

func setup(t *testing.T, o sandbox.Options) (*sandbox.Sandbox, *receiver, *httptest.Server) {
	rc := &receiver{got: make(chan struct{}, 100)}
	hook := httptest.NewServer(rc)
	t.Cleanup(hook.Close)
	o.AppSecret, o.AccessToken, o.WebhookURL, o.RetryBase = secret, token, hook.URL, time.Millisecond
	sb := sandbox.New(o)
	graph := httptest.NewServer(sb.Handler())
	sb.SetBaseURL(graph.URL)
	t.Cleanup(func() { graph.Close(); sb.Close() })
	return sb, rc, graph
}

func value(t *testing.T, body map[string]any) map[string]any {
	t.Helper()
	if body["object"] != "whatsapp_business_account" {
		t.Fatalf("object = %v", body["object"])
	}
	entry := body["entry"].([]any)[0].(map[string]any)
	change := entry["changes"].([]any)[0].(map[string]any)
	if entry["id"] != sandbox.DefaultWABAID || change["field"] != "messages" {
		t.Fatalf("entry = %v", entry)
	}
	return change["value"].(map[string]any)
}

func TestInboundWebhookShape(t *testing.T) {
	sb, rc, _ := setup(t, sandbox.Options{})
	wamid, err := sb.SendText(t.Context(), sandbox.Customer{WAID: "5511987654321", Name: "Maria"}, "Olá")
	if err != nil {
		t.Fatal(err)
	}
	v := value(t, rc.bodies[0])
	meta := v["metadata"].(map[string]any)
	if v["messaging_product"] != "whatsapp" || meta["phone_number_id"] != sandbox.DefaultPhoneNumberID || meta["display_phone_number"] != "551140000000" {
		t.Errorf("value = %v", v)
	}
	contact := v["contacts"].([]any)[0].(map[string]any)
	msg := v["messages"].([]any)[0].(map[string]any)
	if contact["wa_id"] != "5511987654321" || contact["profile"].(map[string]any)["name"] != "Maria" {
		t.Errorf("contact = %v", contact)
	}
	if msg["id"] != wamid || !strings.HasPrefix(wamid, "wamid.") || msg["from"] != "5511987654321" || msg["type"] != "text" ||
		msg["text"].(map[string]any)["body"] != "Olá" {
		t.Errorf("message = %v", msg)
	}
	if _, ok := msg["timestamp"].(string); !ok {
		t.Errorf("timestamp is not a string: %T", msg["timestamp"])
	}
}

func TestUnacknowledgedWebhookIsRetried(t *testing.T) {
	sb, rc, _ := setup(t, sandbox.Options{})
	rc.fail = 2
	if _, err := sb.SendText(t.Context(), sandbox.Customer{WAID: "5511900000001", Name: "A"}, "oi"); err == nil {
		t.Error("first attempt answered 500 but SendText reported no error")
	}
	select {
	case <-rc.got:
	case <-time.After(10 * time.Second):
		t.Fatal("never redelivered")
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.raw) != 3 || string(rc.raw[0]) != string(rc.raw[2]) {
		t.Errorf("deliveries = %d, want 3 identical", len(rc.raw))
	}
}

func post(t *testing.T, url, tok string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

func errorCode(out map[string]any) any {
	e, _ := out["error"].(map[string]any)
	return e["code"]
}

func TestGraphSend(t *testing.T) {
	sb, rc, graph := setup(t, sandbox.Options{AutoStatuses: true, MessagesPerSecond: 3})
	url := graph.URL + "/v26.0/" + sandbox.DefaultPhoneNumberID + "/messages"
	text := map[string]any{"messaging_product": "whatsapp", "to": "+5511900000002", "type": "text", "text": map[string]any{"body": "oi"}}

	if st, out := post(t, url, "", text); st != 401 || errorCode(out) != float64(190) {
		t.Errorf("no token: %d %v", st, out)
	}
	if st, out := post(t, graph.URL+"/v26.0/999/messages", token, text); st != 400 || errorCode(out) != float64(100) {
		t.Errorf("unknown phone id: %d %v", st, out)
	}
	if st, out := post(t, url, token, map[string]any{"messaging_product": "whatsapp", "to": "+55", "type": "text", "text": map[string]any{}}); st != 400 || errorCode(out) != float64(100) {
		t.Errorf("empty body: %d %v", st, out)
	}
	sb.OpenWindow("5511900000002")
	st, out := post(t, url, token, text)
	if st != 200 || out["messaging_product"] != "whatsapp" {
		t.Fatalf("send: %d %v", st, out)
	}
	contact := out["contacts"].([]any)[0].(map[string]any)
	wamid := out["messages"].([]any)[0].(map[string]any)["id"].(string)
	if contact["input"] != "+5511900000002" || contact["wa_id"] != "5511900000002" || !strings.HasPrefix(wamid, "wamid.") {
		t.Errorf("send response = %v", out)
	}
	// sent → delivered → read, as webhooks.
	for range 3 {
		select {
		case <-rc.got:
		case <-time.After(10 * time.Second):
			t.Fatal("statuses missing")
		}
	}
	rc.mu.Lock()
	var got []string
	for _, b := range rc.bodies {
		st := value(t, b)["statuses"].([]any)[0].(map[string]any)
		if st["id"] != wamid || st["recipient_id"] != "5511900000002" {
			t.Errorf("status = %v", st)
		}
		got = append(got, st["status"].(string))
	}
	rc.mu.Unlock()
	if strings.Join(got, ",") != "sent,delivered,read" {
		t.Errorf("statuses = %v", got)
	}

	sb.FailNext(1, 500, 1)
	if st, out := post(t, url, token, text); st != 500 || errorCode(out) != float64(1) {
		t.Errorf("injected failure: %d %v", st, out)
	}
	// Throughput: 3 per second; one was sent above.
	post(t, url, token, text)
	post(t, url, token, text)
	if st, out := post(t, url, token, text); st != 400 || errorCode(out) != float64(130429) {
		t.Errorf("over throughput: %d %v", st, out)
	}
	if n := len(sb.SentTo("5511900000002")); n != 3 {
		t.Errorf("accepted %d, want 3", n)
	}
}

func TestOutsideWindowFailsAsync(t *testing.T) {
	sb, rc, graph := setup(t, sandbox.Options{})
	url := graph.URL + "/v26.0/" + sandbox.DefaultPhoneNumberID + "/messages"
	st, out := post(t, url, token, map[string]any{"messaging_product": "whatsapp", "to": "5511900000003", "type": "text", "text": map[string]any{"body": "oi"}})
	if st != 200 {
		t.Fatalf("send: %d %v", st, out)
	}
	select {
	case <-rc.got:
	case <-time.After(10 * time.Second):
		t.Fatal("no failed status")
	}
	rc.mu.Lock()
	stv := value(t, rc.bodies[0])["statuses"].([]any)[0].(map[string]any)
	rc.mu.Unlock()
	if stv["status"] != "failed" || stv["errors"].([]any)[0].(map[string]any)["code"] != float64(131047) {
		t.Errorf("status = %v", stv)
	}
	// Templates go regardless.
	st, _ = post(t, url, token, map[string]any{"messaging_product": "whatsapp", "to": "5511900000003", "type": "template",
		"template": map[string]any{"name": "hello_world", "language": map[string]any{"code": "en_US"}}})
	if st != 200 {
		t.Errorf("template outside window: %d", st)
	}
	_ = sb
}

func TestMediaRoundTrip(t *testing.T) {
	sb, rc, graph := setup(t, sandbox.Options{})
	if _, err := sb.SendMedia(context.Background(), sandbox.Customer{WAID: "5511900000004", Name: "B"}, "image", "image/jpeg", "", "foto", []byte("jpegbytes")); err != nil {
		t.Fatal(err)
	}
	img := value(t, rc.bodies[0])["messages"].([]any)[0].(map[string]any)["image"].(map[string]any)
	req, _ := http.NewRequest("GET", graph.URL+"/v26.0/"+img["id"].(string), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	_ = json.NewDecoder(res.Body).Decode(&info)
	res.Body.Close()
	if info["mime_type"] != "image/jpeg" || info["file_size"] != float64(9) {
		t.Fatalf("media info = %v", info)
	}
	get := func(tok string) (int, string) {
		req, _ := http.NewRequest("GET", info["url"].(string), nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if st, body := get(token); st != 200 || body != "jpegbytes" {
		t.Errorf("download = %d %q", st, body)
	}
	if st, _ := get(""); st != 404 {
		t.Errorf("download without token = %d", st)
	}
}
