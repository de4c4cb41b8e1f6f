package whatsapp

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// hostileBodies are webhooks a customer can cause by typing: NUL and lone
// surrogates in the text, the profile name and a caption.
var hostileBodies = []string{
	`{"entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"1"},` +
		`"contacts":[{"profile":{"name":"Ana\u0000\ud800"},"wa_id":"5511912345678"}],` +
		`"messages":[{"from":"5511912345678","id":"wamid.nul","timestamp":"1764329400","type":"text","text":{"body":"a\u0000b\ud800c\udc00d"}}]}}]}]}`,
	`{"entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"1"},` +
		`"messages":[{"from":"5511912345678","id":"wamid.img","timestamp":"1764329400","type":"image","image":{"id":"9","caption":"\u0000\uD800x\\u0000"}}]}}]}]}`,
	`{"entry":[{"changes":[{"field":"messages","value":{"messages":[{"from":"1","id":"w\u0000","type":"text","text":{"body":"\ud83d\ude00\ud83d"}}]}}]}]}`,
}

func TestSanitizeJSON(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":"x"}`, `{"a":"x"}`},
		{`{"a":"x\u0000y"}`, `{"a":"xy"}`},
		{`{"a":"\ud800"}`, `{"a":"\ufffd"}`},
		{`{"a":"\uDC00z"}`, `{"a":"\ufffdz"}`},
		{`{"a":"\ud83d\ude00"}`, `{"a":"\ud83d\ude00"}`},   // a valid pair stays
		{`{"a":"\ud83d\u0041"}`, `{"a":"\ufffd\u0041"}`},   // high surrogate, then not a low one
		{`{"a":"\\u0000"}`, `{"a":"\\u0000"}`},             // an escaped backslash, then text
		{`{"a":"\\\u0000"}`, `{"a":"\\"}`},                 // an escaped backslash, then a NUL
		{`{"a":"\"\u0000"}`, `{"a":"\""}`},                 // an escaped quote does not end the string
		{`{"a":"é\u00e9"}`, `{"a":"é\u00e9"}`},             // other escapes stay
		{"{\"a\":\"x\x00\xffy\"}", "{\"a\":\"x\uFFFDy\"}"}, // raw NUL and invalid UTF-8
		{`{"a":"\u00"}`, `{"a":"\u00"}`},                   // broken escapes are the parser's to refuse
	}
	for _, tt := range tests {
		if got := string(SanitizeJSON([]byte(tt.in))); got != tt.want {
			t.Errorf("SanitizeJSON(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// A customer's NUL or lone surrogate never reaches the parsed strings or
// Raw, which PostgreSQL would refuse.
func TestParseWebhookCleansStrings(t *testing.T) {
	for _, body := range hostileBodies {
		n := mustParse(t, []byte(body))
		for _, c := range n.Changes {
			for _, ct := range c.Contacts {
				checkStorable(t, "contact name", ct.Name)
			}
			for _, m := range c.Messages {
				checkStorable(t, "id", m.ID)
				checkStorable(t, "text", m.Text)
				checkStorableJSON(t, "raw", m.Raw)
				if m.Media != nil {
					checkStorable(t, "caption", m.Media.Caption)
				}
			}
		}
	}
	n := mustParse(t, []byte(hostileBodies[0]))
	if got := n.Changes[0].Messages[0].Text; got != "ab\uFFFDc\uFFFDd" {
		t.Errorf("text = %q", got)
	}
	if got := n.Changes[0].Contacts[0].Name; got != "Ana\uFFFD" {
		t.Errorf("name = %q", got)
	}
}

// checkStorable fails when s could not be stored in a PostgreSQL text
// column.
func checkStorable(t testing.TB, what, s string) {
	t.Helper()
	if strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
		t.Fatalf("%s %q is not storable", what, s)
	}
}

// checkStorableJSON fails when raw could not be stored in a JSONB column:
// a \u0000 escape or an unpaired surrogate escape.
func checkStorableJSON(t testing.TB, what string, raw json.RawMessage) {
	t.Helper()
	checkStorable(t, what, string(raw))
	if string(SanitizeJSON(raw)) != string(raw) {
		t.Fatalf("%s %s holds escapes JSONB refuses", what, raw)
	}
}
