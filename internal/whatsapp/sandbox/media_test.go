package sandbox_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp/sandbox"
)

func TestMedia_UploadInfoDownloadDelete(t *testing.T) {
	e := setup(t, sandbox.Options{})
	pdf := []byte("%PDF-1.4 boleto")
	up := e.upload(t, "whatsapp", "application/pdf", "application/pdf", "boleto.pdf", pdf)
	id, _ := up.json["id"].(string)
	if up.status != 200 || !regexp.MustCompile(`^[1-9][0-9]{9,}$`).MatchString(id) {
		t.Fatalf("upload = %d %s", up.status, up.raw)
	}
	infoURL := e.graph.URL + "/v26.0/" + id
	info := do(t, http.MethodGet, infoURL, token, "", nil)
	sum := sha256.Sum256(pdf)
	if info.status != 200 || info.json["messaging_product"] != "whatsapp" || info.json["id"] != id || info.json["mime_type"] != "application/pdf" ||
		info.json["file_size"] != float64(len(pdf)) || info.json["sha256"] != hex.EncodeToString(sum[:]) {
		t.Fatalf("info = %d %s", info.status, info.raw)
	}
	link := info.json["url"].(string)
	if !strings.HasPrefix(link, e.graph.URL+"/whatsapp_business/attachments/?mid="+id) {
		t.Errorf("url = %s (built from the request's host without SetBaseURL)", link)
	}
	got := do(t, http.MethodGet, link, token, "", nil)
	if got.status != 200 || string(got.raw) != string(pdf) || got.header.Get("Content-Type") != "application/pdf" {
		t.Errorf("download = %d %q %s", got.status, got.raw, got.header.Get("Content-Type"))
	}
	if r := do(t, http.MethodGet, link, "", "", nil); r.status != 404 {
		t.Errorf("download without token = %d, want 404", r.status)
	}
	if r := do(t, http.MethodGet, link, "wrong", "", nil); r.status != 404 {
		t.Errorf("download with a wrong token = %d", r.status)
	}
	u, _ := url.Parse(link)
	q := u.Query()
	q.Set("ext", "99999999999")
	u.RawQuery = q.Encode()
	if r := do(t, http.MethodGet, u.String(), token, "", nil); r.status != 404 {
		t.Errorf("download with an edited expiry = %d", r.status)
	}
	// The URL expires after 5 minutes; a new lookup gives a fresh one.
	e.clock.Advance(5*time.Minute + time.Second)
	if r := do(t, http.MethodGet, link, token, "", nil); r.status != 404 {
		t.Errorf("expired URL = %d", r.status)
	}
	fresh := do(t, http.MethodGet, infoURL, token, "", nil).json["url"].(string)
	if r := do(t, http.MethodGet, fresh, token, "", nil); r.status != 200 {
		t.Errorf("fresh URL = %d", r.status)
	}
	if r := do(t, http.MethodGet, infoURL+"?phone_number_id=42", token, "", nil); r.status != 400 || r.errorCode() != 100 {
		t.Errorf("other phone number = %d %s", r.status, r.raw)
	}
	if r := do(t, http.MethodGet, infoURL, "", "", nil); r.status != 401 || r.errorCode() != 190 {
		t.Errorf("info without token = %d", r.status)
	}

	if r := do(t, http.MethodDelete, infoURL, token, "", nil); r.status != 200 || r.json["success"] != true {
		t.Fatalf("delete = %d %s", r.status, r.raw)
	}
	if r := do(t, http.MethodGet, infoURL, token, "", nil); r.status != 400 || r.errorCode() != 100 || r.errorObject()["error_subcode"] != 33.0 {
		t.Errorf("after delete = %d %s", r.status, r.raw)
	}
	if r := do(t, http.MethodGet, fresh, token, "", nil); r.status != 404 {
		t.Errorf("download after delete = %d", r.status)
	}
	if r := do(t, http.MethodDelete, infoURL, token, "", nil); r.status != 400 {
		t.Errorf("second delete = %d", r.status)
	}
}

// Uploaded ids live 30 days: sending one later fails with 131009.
func TestMedia_UploadedIDExpires(t *testing.T) {
	e := setup(t, sandbox.Options{})
	e.sb.OpenWindow(ana.WAID)
	id := e.upload(t, "whatsapp", "", "image/jpeg", "a.jpg", jpegBytes(t)).json["id"].(string) // MIME from the file part
	if data, mime, ok := e.sb.Media(id); !ok || mime != "image/jpeg" || string(data) != string(jpegBytes(t)) {
		t.Fatalf("Media = %q %q %v", data, mime, ok)
	}
	img := map[string]any{"messaging_product": "whatsapp", "to": ana.WAID, "type": "image", "image": map[string]any{"id": id}}
	e.send(t, img)
	e.clock.Advance(30 * 24 * time.Hour)
	e.sb.OpenWindow(ana.WAID)
	if r := postJSON(t, e.messagesURL(), token, img); r.status != 400 || r.errorCode() != 131009 {
		t.Errorf("expired id = %d %s", r.status, r.raw)
	}
}

func TestMedia_UploadErrors(t *testing.T) {
	e := setup(t, sandbox.Options{})
	cases := []struct {
		name                   string
		product, typ, partType string
		data                   []byte
		code                   int
	}{
		{"no messaging_product", "", "image/jpeg", "", jpegBytes(t), 100},
		{"wrong messaging_product", "sms", "image/jpeg", "", jpegBytes(t), 100},
		{"no file", "whatsapp", "image/jpeg", "", nil, 100},
		{"no type at all", "whatsapp", "", "", jpegBytes(t), 100},
		{"unsupported type", "whatsapp", "image/gif", "", []byte("GIF89a"), 131053},
		{"empty file", "whatsapp", "application/pdf", "", []byte{}, 131053},
		{"image over 5 MB", "whatsapp", "image/png", "", make([]byte, 5<<20+1), 131053},
		{"sticker over 500 KB", "whatsapp", "image/webp", "", make([]byte, 500<<10+1), 131053},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.upload(t, c.product, c.typ, c.partType, "f", c.data)
			if r.status != 400 || r.errorCode() != c.code {
				t.Errorf("%d %s", r.status, r.raw)
			}
		})
	}
	r := do(t, http.MethodPost, e.graph.URL+"/v26.0/"+sandbox.DefaultPhoneNumberID+"/media", token, "application/json", strings.NewReader("{}"))
	if r.status != 400 || r.errorCode() != 100 {
		t.Errorf("JSON upload = %d %s", r.status, r.raw)
	}
	r = e.upload(t, "whatsapp", "audio/ogg; codecs=opus", "", "v.ogg", []byte("OggS"))
	if r.status != 200 {
		t.Errorf("MIME with parameters = %d %s", r.status, r.raw)
	}
}
