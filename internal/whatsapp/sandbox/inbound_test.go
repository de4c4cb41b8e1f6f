package sandbox_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp/sandbox"
)

var wamidShape = regexp.MustCompile(`^wamid\.[A-Za-z0-9+/]+={0,2}$`)

// inbound checks the common §3/§4 fields of a one-message webhook and
// returns the message.
func inbound(t *testing.T, d delivery, c sandbox.Customer, wamid, typ string) map[string]any {
	t.Helper()
	v := value(t, d)
	msgs := v["messages"].([]any)
	if len(msgs) != 1 {
		t.Fatalf("messages = %v", msgs)
	}
	m := msgs[0].(map[string]any)
	if typ != "system" {
		contacts := v["contacts"].([]any)
		ct := contacts[0].(map[string]any)
		if len(contacts) != 1 || ct["wa_id"] != c.WAID || ct["profile"].(map[string]any)["name"] != c.Name {
			t.Errorf("contacts = %v", contacts)
		}
	} else if _, ok := v["contacts"]; ok {
		t.Errorf("system message with contacts: %v", v)
	}
	if m["id"] != wamid || !wamidShape.MatchString(wamid) || m["from"] != c.WAID || m["type"] != typ {
		t.Errorf("message head = %v (wamid %s)", m, wamid)
	}
	ts, ok := m["timestamp"].(string)
	if n, err := strconv.ParseInt(ts, 10, 64); !ok || err != nil || n != newClock().Now().Unix() {
		t.Errorf("timestamp = %#v, want the clock's Unix seconds as a string", m["timestamp"])
	}
	// The wamid is base64 of a record holding the sender's number.
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(wamid, "wamid."))
	if err != nil || !strings.Contains(string(raw), c.WAID) {
		t.Errorf("wamid %s does not decode to a record with %s", wamid, c.WAID)
	}
	return m
}

func TestInbound_TextIsConformant(t *testing.T) {
	e := setup(t, sandbox.Options{})
	wamid, err := e.sb.SendText(t.Context(), ana, "Meu pedido ainda não chegou")
	if err != nil {
		t.Fatal(err)
	}
	d := e.hook.next(t)
	m := inbound(t, d, ana, wamid, "text")
	if m["text"].(map[string]any)["body"] != "Meu pedido ainda não chegou" {
		t.Errorf("text = %v", m["text"])
	}
	if _, ok := m["context"]; ok {
		t.Errorf("plain text with context: %v", m)
	}
	if ua := d.header.Get("User-Agent"); ua != "facebookexternalua" {
		t.Errorf("User-Agent = %q", ua)
	}
	if got := e.sb.ReceivedFrom(ana.WAID); len(got) != 1 || got[0].WAMID != wamid || got[0].Text != "Meu pedido ainda não chegou" {
		t.Errorf("ReceivedFrom = %v", got)
	}
}

// Every §4 type the sandbox plays, with its type-specific object.
func TestInbound_EveryType(t *testing.T) {
	e := setup(t, sandbox.Options{})
	ctx := t.Context()
	biz := "551140000000"
	type check func(t *testing.T, m map[string]any)
	obj := func(m map[string]any, k string) map[string]any { return m[k].(map[string]any) }
	media := func(kind, mime string) check {
		return func(t *testing.T, m map[string]any) {
			o := obj(m, kind)
			id, _ := o["id"].(string)
			if !regexp.MustCompile(`^[1-9][0-9]+$`).MatchString(id) || o["mime_type"] != mime || o["sha256"] == nil {
				t.Errorf("%s = %v", kind, o)
			}
			// GET /{media-id} works and the bytes hash to the webhook's
			// base64 sha256.
			info := do(t, http.MethodGet, e.graph.URL+"/v26.0/"+id, token, "", nil)
			if info.status != 200 || info.json["mime_type"] != mime {
				t.Fatalf("media info = %d %s", info.status, info.raw)
			}
			file := do(t, http.MethodGet, info.json["url"].(string), token, "", nil)
			sum := sha256.Sum256(file.raw)
			if file.status != 200 || base64.StdEncoding.EncodeToString(sum[:]) != o["sha256"] {
				t.Errorf("download = %d, sha256 mismatch", file.status)
			}
		}
	}
	cases := []struct {
		name, typ string
		send      func() (string, error)
		check     check
	}{
		{"reply", "text", func() (string, error) { return e.sb.Reply(ctx, ana, "wamid.out1", "Sim") }, func(t *testing.T, m map[string]any) {
			if c := obj(m, "context"); c["id"] != "wamid.out1" || c["from"] != biz {
				t.Errorf("context = %v", c)
			}
		}},
		{"image", "image", func() (string, error) {
			return e.sb.SendMedia(ctx, ana, "image", "image/jpeg", "", "Foto da caixa", []byte("\xff\xd8\xff\xe0fake"))
		}, func(t *testing.T, m map[string]any) {
			media("image", "image/jpeg")(t, m)
			if obj(m, "image")["caption"] != "Foto da caixa" {
				t.Errorf("caption missing: %v", m)
			}
		}},
		{"image placeholder", "image", func() (string, error) {
			return e.sb.SendInbound(ctx, ana, map[string]any{"type": "image", "image": map[string]any{}})
		}, media("image", "image/jpeg")},
		{"voice note", "audio", func() (string, error) {
			return e.sb.SendInbound(ctx, ana, map[string]any{"type": "audio", "audio": map[string]any{"voice": true}})
		}, func(t *testing.T, m map[string]any) {
			media("audio", "audio/ogg; codecs=opus")(t, m)
			if obj(m, "audio")["voice"] != true {
				t.Errorf("voice = %v", m["audio"])
			}
		}},
		{"video", "video", func() (string, error) {
			return e.sb.SendInbound(ctx, ana, map[string]any{"type": "video", "video": map[string]any{"caption": "unboxing"}})
		}, media("video", "video/mp4")},
		{"document", "document", func() (string, error) {
			return e.sb.SendMedia(ctx, ana, "document", "application/pdf", "nf-20931.pdf", "Nota fiscal", []byte("%PDF-1.4"))
		}, func(t *testing.T, m map[string]any) {
			media("document", "application/pdf")(t, m)
			if d := obj(m, "document"); d["filename"] != "nf-20931.pdf" || d["caption"] != "Nota fiscal" {
				t.Errorf("document = %v", d)
			}
		}},
		{"sticker", "sticker", func() (string, error) {
			return e.sb.SendInbound(ctx, ana, map[string]any{"type": "sticker", "sticker": map[string]any{}})
		}, func(t *testing.T, m map[string]any) {
			media("sticker", "image/webp")(t, m)
			if obj(m, "sticker")["animated"] != false {
				t.Errorf("sticker = %v", m["sticker"])
			}
		}},
		{"location", "location", func() (string, error) {
			return e.sb.SendLocation(ctx, ana, -23.561414, -46.655881, "Loja Paulista", "Av. Paulista, 1000")
		}, func(t *testing.T, m map[string]any) {
			if l := obj(m, "location"); l["latitude"] != -23.561414 || l["longitude"] != -46.655881 || l["name"] != "Loja Paulista" {
				t.Errorf("location = %v", l)
			}
		}},
		{"location pin at zero", "location", func() (string, error) { return e.sb.SendLocation(ctx, ana, 0, 0, "", "") },
			func(t *testing.T, m map[string]any) {
				if l := obj(m, "location"); l["latitude"] != 0.0 || l["longitude"] != 0.0 || l["name"] != nil {
					t.Errorf("location = %v", l)
				}
			}},
		{"contacts", "contacts", func() (string, error) {
			return e.sb.SendInbound(ctx, ana, map[string]any{"type": "contacts", "contacts": []any{map[string]any{
				"name": map[string]any{"formatted_name": "Carlos Lima"}, "phones": []any{map[string]any{"phone": "+55 21 99876-5432", "wa_id": "5521998765432"}}}}})
		}, func(t *testing.T, m map[string]any) {
			c := m["contacts"].([]any)[0].(map[string]any)
			if obj(c, "name")["formatted_name"] != "Carlos Lima" {
				t.Errorf("contacts = %v", c)
			}
		}},
		{"button reply", "interactive", func() (string, error) {
			return e.sb.TapButton(ctx, ana, "wamid.menu", "menu:suporte", "Suporte")
		}, func(t *testing.T, m map[string]any) {
			in := obj(m, "interactive")
			if in["type"] != "button_reply" || obj(in, "button_reply")["id"] != "menu:suporte" || obj(m, "context")["id"] != "wamid.menu" || obj(m, "context")["from"] != biz {
				t.Errorf("interactive = %v", m)
			}
		}},
		{"list reply", "interactive", func() (string, error) {
			return e.sb.ChooseListItem(ctx, ana, "wamid.list", "dept:financeiro", "Financeiro", "Boletos e reembolsos")
		}, func(t *testing.T, m map[string]any) {
			in := obj(m, "interactive")
			if r := obj(in, "list_reply"); in["type"] != "list_reply" || r["id"] != "dept:financeiro" || r["description"] != "Boletos e reembolsos" {
				t.Errorf("interactive = %v", in)
			}
		}},
		{"template button", "button", func() (string, error) {
			return e.sb.TapTemplateButton(ctx, ana, "wamid.tpl", "csat:5", "Excelente")
		}, func(t *testing.T, m map[string]any) {
			if b := obj(m, "button"); b["payload"] != "csat:5" || b["text"] != "Excelente" || obj(m, "context")["id"] != "wamid.tpl" {
				t.Errorf("button = %v", m)
			}
		}},
		{"reaction", "reaction", func() (string, error) { return e.sb.React(ctx, ana, "wamid.out2", "👍") }, func(t *testing.T, m map[string]any) {
			if r := obj(m, "reaction"); r["message_id"] != "wamid.out2" || r["emoji"] != "👍" {
				t.Errorf("reaction = %v", r)
			}
		}},
		{"reaction removed", "reaction", func() (string, error) { return e.sb.React(ctx, ana, "wamid.out2", "") }, func(t *testing.T, m map[string]any) {
			if r := obj(m, "reaction"); r["message_id"] != "wamid.out2" {
				t.Errorf("reaction = %v", r)
			} else if _, ok := r["emoji"]; ok {
				t.Errorf("removal carries emoji: %v", r)
			}
		}},
		{"unsupported", "unsupported", func() (string, error) {
			return e.sb.SendInbound(ctx, ana, map[string]any{"type": "unsupported", "unsupported": map[string]any{"type": "poll_creation"}})
		}, func(t *testing.T, m map[string]any) {
			errs := m["errors"].([]any)
			if er := errs[0].(map[string]any); er["code"] != 131051.0 || er["title"] != "Message type unknown" || obj(er, "error_data")["details"] == nil {
				t.Errorf("errors = %v", errs)
			}
		}},
		{"ad referral", "text", func() (string, error) {
			return e.sb.SendInbound(ctx, ana, map[string]any{"type": "text", "text": map[string]any{"body": "Quero saber mais"},
				"referral": map[string]any{"source_type": "ad", "source_id": "120200", "ctwa_clid": "ARAkLk"}})
		}, func(t *testing.T, m map[string]any) {
			if obj(m, "referral")["ctwa_clid"] != "ARAkLk" {
				t.Errorf("referral = %v", m)
			}
		}},
		{"forwarded", "text", func() (string, error) {
			return e.sb.SendInbound(ctx, ana, map[string]any{"type": "text", "text": map[string]any{"body": "olha"}, "context": map[string]any{"forwarded": true}})
		}, func(t *testing.T, m map[string]any) {
			if c := obj(m, "context"); c["forwarded"] != true || c["from"] != nil {
				t.Errorf("context = %v", c)
			}
		}},
		{"number change", "system", func() (string, error) { return e.sb.ChangeNumber(ctx, ana, "5511955554444") }, func(t *testing.T, m map[string]any) {
			if s := obj(m, "system"); s["wa_id"] != "5511955554444" || s["type"] != "user_changed_number" || !strings.Contains(s["body"].(string), "5511955554444") {
				t.Errorf("system = %v", s)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wamid, err := c.send()
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, inbound(t, e.hook.next(t), ana, wamid, c.typ))
		})
	}
}

// The caller's map is not modified, and fields it sets win.
func TestInbound_SendInboundKeepsCallerFields(t *testing.T) {
	e := setup(t, sandbox.Options{})
	msg := map[string]any{"type": "image", "id": "wamid.custom", "image": map[string]any{"caption": "x"}, "context": map[string]any{"id": "wamid.q"}}
	before, _ := json.Marshal(msg)
	wamid, err := e.sb.SendInbound(t.Context(), ana, msg)
	if err != nil || wamid != "wamid.custom" {
		t.Fatalf("SendInbound = %q, %v", wamid, err)
	}
	if after, _ := json.Marshal(msg); string(after) != string(before) {
		t.Errorf("msg changed: %s → %s", before, after)
	}
	e.hook.next(t)
	if _, err := e.sb.SendInbound(t.Context(), ana, map[string]any{"text": map[string]any{"body": "x"}}); err == nil {
		t.Error("a message without type was sent")
	}
}

func TestInbound_MediaURLWhenEnabled(t *testing.T) {
	e := setup(t, sandbox.Options{InboundMediaURL: true})
	e.sb.SetBaseURL(e.graph.URL)
	if _, err := e.sb.SendMedia(t.Context(), ana, "document", "application/pdf", "a.pdf", "", []byte("%PDF-1.4 x")); err != nil {
		t.Fatal(err)
	}
	doc := value(t, e.hook.next(t))["messages"].([]any)[0].(map[string]any)["document"].(map[string]any)
	u, _ := doc["url"].(string)
	if !strings.HasPrefix(u, e.graph.URL+"/whatsapp_business/attachments/?mid=") {
		t.Fatalf("url = %q", u)
	}
	if r := do(t, http.MethodGet, u, token, "", nil); r.status != 200 || string(r.raw) != "%PDF-1.4 x" {
		t.Errorf("download = %d %q", r.status, r.raw)
	}
}

// Signed bytes are the bytes sent, also when non-ASCII is escaped.
func TestInbound_EscapeNonASCII(t *testing.T) {
	e := setup(t, sandbox.Options{EscapeNonASCII: true})
	if _, err := e.sb.SendText(t.Context(), sandbox.Customer{WAID: "5511900000001", Name: "João"}, "Olá 👍"); err != nil {
		t.Fatal(err)
	}
	d := e.hook.next(t)
	for _, b := range d.raw {
		if b >= 0x80 {
			t.Fatalf("raw non-ASCII byte in %s", d.raw)
		}
	}
	if !strings.Contains(string(d.raw), `Ol\u00e1 \ud83d\udc4d`) {
		t.Errorf("body = %s", d.raw)
	}
	v := value(t, d) // signature checked over the escaped bytes
	if v["messages"].([]any)[0].(map[string]any)["text"].(map[string]any)["body"] != "Olá 👍" {
		t.Errorf("decoded body differs: %v", v)
	}
}

func TestInbound_MediaIDs(t *testing.T) {
	e := setup(t, sandbox.Options{})
	// An unknown id is kept (media that cannot be downloaded).
	if _, err := e.sb.SendInbound(t.Context(), ana, map[string]any{"type": "document", "document": map[string]any{"id": "777", "mime_type": "application/pdf"}}); err != nil {
		t.Fatal(err)
	}
	doc := value(t, e.hook.next(t))["messages"].([]any)[0].(map[string]any)["document"].(map[string]any)
	if doc["id"] != "777" {
		t.Errorf("document = %v", doc)
	}
	if r := do(t, http.MethodGet, e.graph.URL+"/v26.0/777", token, "", nil); r.status != 400 || r.errorCode() != 100 {
		t.Errorf("unknown media = %d %s", r.status, r.raw)
	}
	// A placeholder follows the requested MIME type; a stored id keeps its own.
	if _, err := e.sb.SendInbound(t.Context(), ana, map[string]any{"type": "image", "image": map[string]any{"mime_type": "image/png"}}); err != nil {
		t.Fatal(err)
	}
	img := value(t, e.hook.next(t))["messages"].([]any)[0].(map[string]any)["image"].(map[string]any)
	if data, mime, ok := e.sb.Media(img["id"].(string)); !ok || mime != "image/png" || http.DetectContentType(data) != "image/png" {
		t.Errorf("png placeholder = %q %v", mime, ok)
	}
	stored := e.sb.AddMedia([]byte("%PDF-1.4"), "application/pdf")
	if _, err := e.sb.SendInbound(t.Context(), ana, map[string]any{"type": "document", "document": map[string]any{"id": stored}}); err != nil {
		t.Fatal(err)
	}
	doc = value(t, e.hook.next(t))["messages"].([]any)[0].(map[string]any)["document"].(map[string]any)
	sum := sha256.Sum256([]byte("%PDF-1.4"))
	if doc["mime_type"] != "application/pdf" || doc["sha256"] != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("stored document = %v", doc)
	}
}
