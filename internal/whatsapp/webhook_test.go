package whatsapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the parser's current output")

const (
	fixtureDir = "testdata/webhooks"
	goldenDir  = "testdata/golden"

	testWABA    = "201234567890123"
	testPhoneID = "109876543210987"
	testDisplay = "5511987650000"
	ana         = "5511912345678"
	bizWAMID    = "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEjFBMkIzQzRENUU2RjcwODE5MgA="
)

func unix(s int64) time.Time { return time.Unix(s, 0).UTC() }

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParse(t *testing.T, body []byte) Notification {
	t.Helper()
	checkFastPath(t, SanitizeJSON(body))
	n, err := ParseWebhook(body)
	if err != nil {
		t.Fatalf("ParseWebhook: %v", err)
	}
	return n
}

// onlyChange asserts the usual single-change envelope and returns it.
func onlyChange(t *testing.T, n Notification) Change {
	t.Helper()
	if n.Object != "whatsapp_business_account" {
		t.Errorf("Object = %q", n.Object)
	}
	if len(n.Changes) != 1 {
		t.Fatalf("got %d changes, want 1", len(n.Changes))
	}
	c := n.Changes[0]
	if c.WABAID != testWABA || c.PhoneNumberID != testPhoneID || c.DisplayPhoneNumber != testDisplay {
		t.Errorf("change ids = %q/%q/%q", c.WABAID, c.PhoneNumberID, c.DisplayPhoneNumber)
	}
	return c
}

// onlyMessage returns the single message of a one-message fixture with Raw
// checked and cleared, so it can be compared with a literal.
func onlyMessage(t *testing.T, n Notification) Message {
	t.Helper()
	c := onlyChange(t, n)
	if len(c.Messages) != 1 || len(c.Statuses) != 0 {
		t.Fatalf("got %d messages and %d statuses, want 1 and 0", len(c.Messages), len(c.Statuses))
	}
	return stripRaw(t, c.Messages[0])
}

func stripRaw(t *testing.T, m Message) Message {
	t.Helper()
	if !json.Valid(m.Raw) || !isObject(m.Raw) {
		t.Errorf("message %s: Raw is not a JSON object: %q", m.ID, m.Raw)
	}
	var probe struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(m.Raw, &probe); err != nil || probe.ID != m.ID {
		t.Errorf("Raw does not hold message %s: %s", m.ID, m.Raw)
	}
	m.Raw = nil
	for i := range m.Contacts {
		if !json.Valid(m.Contacts[i].Raw) {
			t.Errorf("contact %d: Raw invalid", i)
		}
		m.Contacts[i].Raw = nil
	}
	return m
}

func onlyStatus(t *testing.T, n Notification) Status {
	t.Helper()
	c := onlyChange(t, n)
	if len(c.Statuses) != 1 || len(c.Messages) != 0 {
		t.Fatalf("got %d statuses and %d messages, want 1 and 0", len(c.Statuses), len(c.Messages))
	}
	s := c.Statuses[0]
	if !json.Valid(s.Raw) || !isObject(s.Raw) {
		t.Errorf("status Raw is not a JSON object: %q", s.Raw)
	}
	s.Raw = nil
	return s
}

func wantMessage(want Message) func(*testing.T, Notification) {
	return func(t *testing.T, n Notification) {
		t.Helper()
		got := onlyMessage(t, n)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("message mismatch\n got: %s\nwant: %s", dump(got), dump(want))
		}
		if got.Supported() != want.Supported() {
			t.Errorf("Supported() = %v", got.Supported())
		}
	}
}

func wantStatus(want Status) func(*testing.T, Notification) {
	return func(t *testing.T, n Notification) {
		t.Helper()
		got := onlyStatus(t, n)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("status mismatch\n got: %s\nwant: %s", dump(got), dump(want))
		}
	}
}

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

var anaContact = []Contact{{WAID: ana, Name: "Ana Souza"}}

// fixtureCases lists every file in testdata/webhooks with what it must parse
// to; TestParseWebhook_FixturesAllCovered keeps the two in step.
var fixtureCases = []struct {
	name      string
	supported bool // for single-message fixtures
	check     func(*testing.T, Notification)
}{
	{"message_text", true, func(t *testing.T, n Notification) {
		if c := onlyChange(t, n); !reflect.DeepEqual(c.Contacts, anaContact) {
			t.Errorf("Contacts = %+v", c.Contacts)
		}
		wantMessage(Message{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFDNBQjlDOEQ3RTZGNTA0MTMyMjExAA==", From: ana,
			Timestamp: unix(1764329400), Type: "text", Text: "Meu pedido ainda não chegou"})(t, n)
		// The fixture escapes non-ASCII (\u00e3): Raw must keep the bytes as received.
		if raw := string(n.Changes[0].Messages[0].Raw); !strings.Contains(raw, `n\u00e3o`) {
			t.Errorf("Raw lost the original escaping: %s", raw)
		}
	}},
	{"message_text_reply", true, wantMessage(Message{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFDNBQjlDOEQ3RTZGNTA0MTMyMjEyAA==",
		From: ana, Timestamp: unix(1764329410), Type: "text", Text: "Sim, é o pedido 20931",
		Context: &Context{ID: bizWAMID, From: testDisplay}})},
	{"message_text_forwarded", true, wantMessage(Message{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFDNBQjlDOEQ3RTZGNTA0MTMyMjEzAA==",
		From: ana, Timestamp: unix(1764329420), Type: "text", Text: "Promoção imperdível!",
		Context: &Context{Forwarded: true, FrequentlyForwarded: true}})},
	{"message_product_enquiry", true, wantMessage(Message{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFDNBQjlDOEQ3RTZGNTA0MTMyMjE0AA==",
		From: ana, Timestamp: unix(1764329430), Type: "text", Text: "Tem esse em azul?",
		Context: &Context{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEkNBVEFMT0cxMjM0NTY3OAA=", From: testDisplay,
			ReferredProduct: &ReferredProduct{CatalogID: "3141592653589793", ProductRetailerID: "sku-20931"}}})},
	{"message_referral", true, wantMessage(Message{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFDNBQjlDOEQ3RTZGNTA0MTMyMjE1AA==",
		From: ana, Timestamp: unix(1764329440), Type: "text", Text: "Quero saber mais",
		Referral: &Referral{SourceURL: "https://fb.me/3cr4Wqqkv", SourceID: "120211234567890123", SourceType: "ad",
			Headline: "Loja Paulista", Body: "Frete grátis hoje", MediaType: "image",
			ImageURL:    "https://scontent.xx.fbcdn.net/v/t45.1600-4/ad.jpg",
			CTWAClickID: "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0-eM-ZABCDE"}})},
	{"message_image", true, wantMessage(Message{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFDNBRDQ1NjcwMTJBQkNERUYwMTIzAA==",
		From: ana, Timestamp: unix(1764329455), Type: "image", Text: "Foto da caixa",
		Media: &Media{ID: "1476203957230145", MimeType: "image/jpeg", SHA256: "qXk2b0c1ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo0NTY=",
			Caption: "Foto da caixa",
			URL:     "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1476203957230145&ext=1764329755&hash=ATv0"}})},
	{"message_audio", true, wantMessage(Message{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFDNBRTExMjIzMzQ0NTU2Njc3ODg4AA==",
		From: ana, Timestamp: unix(1764329490), Type: "audio",
		Media: &Media{ID: "902817364512092", MimeType: "audio/mpeg", SHA256: "YXVkaW8tZmlsZS1oYXNoLWV4YW1wbGUtMzItYnl0ZXM="}})},
	{"message_audio_voice", true, wantMessage(Message{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFDNBRTExMjIzMzQ0NTU2Njc3ODg5AA==",
		From: ana, Timestamp: unix(1764329500), Type: "audio",
		Media: &Media{ID: "902817364512093", MimeType: "audio/ogg; codecs=opus", SHA256: "bm90LWEtcmVhbC1oYXNoLWp1c3QtYW4tZXhhbXBsZQ==", Voice: true}})},
	{"message_video", true, wantMessage(Message{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFDNBRTk5ODg3NzY2NTU0NDMzMjIxAA==",
		From: ana, Timestamp: unix(1764329530), Type: "video", Text: "Vídeo do defeito",
		Media: &Media{ID: "1583920174650392", MimeType: "video/mp4", SHA256: "dmlkZW8taGFzaC1leGFtcGxlLWJhc2U2NC1lbmNvZGVk", Caption: "Vídeo do defeito"}})},
	{"message_document", true, wantMessage(Message{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFDNBRjk4NzY1NDMyMTBGRURDQkEwAA==",
		From: ana, Timestamp: unix(1764329560), Type: "document", Text: "Nota fiscal",
		Media: &Media{ID: "1330572948801764", MimeType: "application/pdf", SHA256: "ZXhhbXBsZS1zaGEyNTYtYmFzZTY0LWVuY29kZWQ9PQ==",
			Caption: "Nota fiscal", Filename: "nf-20931.pdf"}})},
	{"message_sticker", true, wantMessage(Message{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFDNCMDAxMTIyMzM0NDU1NjY3Nzg4AA==",
		From: ana, Timestamp: unix(1764329600), Type: "sticker",
		Media: &Media{ID: "774019283746501", MimeType: "image/webp", SHA256: "c3RpY2tlci1oYXNoLWV4YW1wbGU=", Animated: true}})},
	{"message_location", true, wantMessage(Message{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFDNCMTIzNDU2Nzg5MEFCQ0RFRjEyAA==",
		From: ana, Timestamp: unix(1764329650), Type: "location", Text: "Loja Paulista",
		Location: &Location{Latitude: -23.561414, Longitude: -46.655881, Name: "Loja Paulista",
			Address: "Av. Paulista, 1000, São Paulo", URL: "https://example.com/loja"}})},
	{"message_location_pin", true, wantMessage(Message{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFDNCMTIzNDU2Nzg5MEFCQ0RFRjEzAA==",
		From: ana, Timestamp: unix(1764329660), Type: "location",
		Location: &Location{Latitude: 0, Longitude: -46.655881}})},
	{"message_contacts", true, wantMessage(Message{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFDNCMjIyMzMzNDQ0NTU1NjY2Nzc3AA==",
		From: ana, Timestamp: unix(1764329700), Type: "contacts",
		Contacts: []SharedContact{
			{FormattedName: "Carlos Lima", Phones: []string{"+55 21 99876-5432", "+55 21 3333-4444"}, WAIDs: []string{"5521998765432"}},
			{FormattedName: "Suporte Lima"},
		}})},
	{"message_interactive_button_reply", true, wantMessage(Message{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFDNCMzMzNDQ0NTU1NjY2Nzc3ODg4AA==",
		From: ana, Timestamp: unix(1764329750), Type: "interactive", Text: "Suporte",
		Reply:   &InteractiveReply{Type: "button_reply", ID: "menu:suporte", Title: "Suporte"},
		Context: &Context{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEjJDM0Q0RTVGNjA3MTgyOTNBAA==", From: testDisplay}})},
	{"message_interactive_list_reply", true, wantMessage(Message{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFDNCNDQ0NTU1NjY2Nzc3ODg4OTk5AA==",
		From: ana, Timestamp: unix(1764329800), Type: "interactive", Text: "Financeiro",
		Reply:   &InteractiveReply{Type: "list_reply", ID: "dept:financeiro", Title: "Financeiro", Description: "Boletos e reembolsos"},
		Context: &Context{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEjNENEU1RjYwNzE4MjkzQTRCAA==", From: testDisplay}})},
	{"message_interactive_nfm_reply", true, wantMessage(Message{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFDNCNDQ0NTU1NjY2Nzc3ODg4OTk4AA==",
		From: ana, Timestamp: unix(1764329810), Type: "interactive", Text: "Sent",
		Reply:   &InteractiveReply{Type: "nfm_reply", Title: "Sent", ResponseJSON: `{"flow_token":"ft-20931","nota":"5"}`},
		Context: &Context{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEkZMT1cxMjM0NTY3ODkwAA==", From: testDisplay}})},
	{"message_button", true, wantMessage(Message{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFDNCNTU1NjY2Nzc3ODg4OTk5MDAwAA==",
		From: ana, Timestamp: unix(1764329850), Type: "button", Text: "Excelente",
		Button:  &Button{Payload: "csat:5", Text: "Excelente"},
		Context: &Context{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEjRFNUY2MDcxODI5M0E0QjVDAA==", From: testDisplay}})},
	{"message_reaction", true, wantMessage(Message{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFDNCNjY2Nzc3ODg4OTk5MDAwMTExAA==",
		From: ana, Timestamp: unix(1764329900), Type: "reaction",
		Reaction: &Reaction{MessageID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEjVGNjA3MTgyOTNBNEI1QzZEAA==", Emoji: "👍"}})},
	{"message_reaction_removed", true, wantMessage(Message{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFDNCNjY2Nzc3ODg4OTk5MDAwMTEyAA==",
		From: ana, Timestamp: unix(1764329910), Type: "reaction",
		Reaction: &Reaction{MessageID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEjVGNjA3MTgyOTNBNEI1QzZEAA=="}})},
	{"message_reaction_removed_empty", true, wantMessage(Message{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFDNCNjY2Nzc3ODg4OTk5MDAwMTEzAA==",
		From: ana, Timestamp: unix(1764329920), Type: "reaction",
		Reaction: &Reaction{MessageID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEjVGNjA3MTgyOTNBNEI1QzZEAA=="}})},
	{"message_order", true, wantMessage(Message{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFDNCOTk5MDAwMTExMjIyMzMzNDQ0AA==",
		From: ana, Timestamp: unix(1764329930), Type: "order", Text: "Quero esses dois",
		Order: &Order{CatalogID: "3141592653589793", Text: "Quero esses dois", Items: []OrderItem{
			{ProductRetailerID: "sku-20931", Quantity: 2, ItemPrice: 49.9, Currency: "BRL"},
			{ProductRetailerID: "sku-11000", Quantity: 1, ItemPrice: 120, Currency: "BRL"},
		}}})},
	{"message_system", true, func(t *testing.T, n Notification) {
		if c := onlyChange(t, n); c.Contacts != nil {
			t.Errorf("system webhook has no contacts, got %+v", c.Contacts)
		}
		wantMessage(Message{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFDNCODg4OTk5MDAwMTExMjIyMzMzAA==",
			From: ana, Timestamp: unix(1764330000), Type: "system",
			Text: "User Ana Souza changed from 5511912345678 to 5511955554444",
			System: &System{Type: "user_changed_number", Body: "User Ana Souza changed from 5511912345678 to 5511955554444",
				WAID: "5511955554444", NewWAID: "5511955554444"}})(t, n)
	}},
	{"message_unsupported", false, wantMessage(Message{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFDNCNzc3ODg4OTk5MDAwMTExMjIyAA==",
		From: ana, Timestamp: unix(1764329950), Type: "unsupported",
		Errors: []Error{{Code: 131051, Title: "Message type unknown", Message: "Message type unknown",
			Details: "Message type is currently not supported."}}})},
	{"message_edit", false, wantMessage(Message{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFDNDMDAwMTExMjIyMzMzNDQ0NTU1AA==",
		From: ana, Timestamp: unix(1764330050), Type: "edit"})},
	{"message_revoke", false, wantMessage(Message{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFDNDMTExMjIyMzMzNDQ0NTU1NjY2AA==",
		From: ana, Timestamp: unix(1764330060), Type: "revoke"})},

	{"status_sent", false, wantStatus(Status{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEjZBN0I4QzlEMEUxRjIzNDU2AA==",
		RecipientID: ana, Status: "sent", Timestamp: unix(1764330100), BizOpaqueCallbackData: "out-018f3c2a"})},
	{"status_delivered", false, wantStatus(Status{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEjZBN0I4QzlEMEUxRjIzNDU2AA==",
		RecipientID: ana, Status: "delivered", Timestamp: unix(1764330102), BizOpaqueCallbackData: "out-018f3c2a"})},
	{"status_read", false, wantStatus(Status{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEjZBN0I4QzlEMEUxRjIzNDU2AA==",
		RecipientID: ana, Status: "read", Timestamp: unix(1764330130), BizOpaqueCallbackData: "out-018f3c2a"})},
	{"status_played", false, wantStatus(Status{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEkFVRElPMTIzNDU2Nzg5MAA=",
		RecipientID: ana, Status: "played", Timestamp: unix(1764330140)})},
	{"status_failed", false, wantStatus(Status{ID: "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEjdCOEM5RDBFMUYyMzQ1Njc4AA==",
		RecipientID: ana, Status: "failed", Timestamp: unix(1764330160),
		Errors: []Error{{Code: 131047, Title: "Re-engagement message", Message: "Re-engagement message",
			Details: "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
			Href:    "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}}})},

	{"batch_mixed", false, checkBatch},
	{"field_account_update", false, func(t *testing.T, n Notification) {
		if len(n.Changes) != 1 {
			t.Fatalf("got %d changes", len(n.Changes))
		}
		c := n.Changes[0]
		want := Change{WABAID: testWABA, Field: "account_update",
			Value: json.RawMessage(`{"phone_number": "5511987650000", "event": "VERIFIED_ACCOUNT"}`)}
		c.Value = compact(t, c.Value)
		want.Value = compact(t, want.Value)
		if !reflect.DeepEqual(c, want) {
			t.Errorf("got %s, want %s", dump(c), dump(want))
		}
	}},
	{"tolerant_unknown_fields", false, func(t *testing.T, n Notification) {
		c := onlyChange(t, n)
		if !reflect.DeepEqual(c.Contacts, anaContact) {
			t.Errorf("Contacts = %+v", c.Contacts)
		}
		wantMessage(Message{ID: "wamid.TOLERANT1", From: ana, Timestamp: unix(1764330300), Type: "text", Text: "Olá"})(t,
			Notification{Object: n.Object, Changes: []Change{{WABAID: c.WABAID, PhoneNumberID: c.PhoneNumberID,
				DisplayPhoneNumber: c.DisplayPhoneNumber, Messages: c.Messages}}})
		if len(c.Statuses) != 1 || c.Statuses[0].ID != "wamid.OUT9" || c.Statuses[0].Status != "sent" {
			t.Errorf("Statuses = %+v", c.Statuses)
		}
	}},
}

func compact(t *testing.T, raw json.RawMessage) json.RawMessage {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func checkBatch(t *testing.T, n Notification) {
	if len(n.Changes) != 4 {
		t.Fatalf("got %d changes, want 4", len(n.Changes))
	}
	type summary struct {
		WABA, Field, Phone string
		Contacts           int
		Messages, Statuses []string // id/type, id/status
		Errors             []int
	}
	var got []summary
	for _, c := range n.Changes {
		s := summary{WABA: c.WABAID, Field: c.Field, Phone: c.PhoneNumberID, Contacts: len(c.Contacts)}
		for _, m := range c.Messages {
			s.Messages = append(s.Messages, m.ID+"/"+m.Type)
			if len(m.Raw) == 0 {
				t.Errorf("message %s without Raw", m.ID)
			}
		}
		for _, st := range c.Statuses {
			s.Statuses = append(s.Statuses, st.ID+"/"+st.Status)
		}
		for _, e := range c.Errors {
			s.Errors = append(s.Errors, e.Code)
		}
		got = append(got, s)
	}
	want := []summary{
		{WABA: testWABA, Field: "messages", Phone: testPhoneID, Contacts: 2,
			Messages: []string{"wamid.BATCH1/text", "wamid.BATCH2/image", "wamid.BATCH3/reaction"}},
		{WABA: testWABA, Field: "messages", Phone: testPhoneID,
			Statuses: []string{"wamid.OUT1/read", "wamid.OUT1/delivered", "wamid.OUT2/sent"}},
		{WABA: testWABA, Field: "message_template_status_update"},
		{WABA: "209999999999999", Field: "messages", Phone: "108888888888888",
			Statuses: []string{"wamid.OUT3/failed"}, Errors: []int{131042}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("batch\n got: %s\nwant: %s", dump(got), dump(want))
	}
	if m := n.Changes[0].Messages[1]; m.From != "5521998765432" || m.Media == nil || m.Media.MimeType != "image/png" {
		t.Errorf("second message = %+v", m)
	}
	if m := n.Changes[0].Messages[2]; m.Reaction == nil || m.Reaction.MessageID != "wamid.BATCH1" || m.Reaction.Emoji != "❤️" {
		t.Errorf("reaction = %+v", m.Reaction)
	}
	if st := n.Changes[3].Statuses[0]; len(st.Errors) != 1 || st.Errors[0].Code != 131026 || st.Errors[0].Details != "Message Undeliverable." {
		t.Errorf("failed status errors = %+v", st.Errors)
	}
	if e := n.Changes[3].Errors[0]; e.Href == "" || !strings.HasPrefix(e.Details, "Message failed to send") {
		t.Errorf("value.errors[0] = %+v", e)
	}
	if v := n.Changes[2].Value; !json.Valid(v) || !bytes.Contains(v, []byte(`"retomada_atendimento"`)) {
		t.Errorf("template status change Value = %s", v)
	}
}

func TestParseWebhook_Fixtures(t *testing.T) {
	for _, tt := range fixtureCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := mustParse(t, readFixture(t, tt.name))
			tt.check(t, n)
			if len(n.Changes) == 1 && len(n.Changes[0].Messages) == 1 && tt.name != "tolerant_unknown_fields" {
				if got := n.Changes[0].Messages[0].Supported(); got != tt.supported {
					t.Errorf("Supported() = %v, want %v", got, tt.supported)
				}
			}
			checkGolden(t, tt.name, n)
		})
	}
}

// checkGolden compares the whole parsed notification with
// testdata/golden/<name>.json; go test -run TestParseWebhook -update
// rewrites the files.
func checkGolden(t *testing.T, name string, n Notification) {
	t.Helper()
	got, err := json.MarshalIndent(n, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join(goldenDir, name+".json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestParseWebhook -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("parsed %s differs from %s (rerun with -update if the change is intended)\n got: %s", name, path, got)
	}
}

func TestParseWebhook_FixturesAllCovered(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, c := range fixtureCases {
		covered[c.name] = true
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if !covered[name] {
			t.Errorf("fixture %s has no case in fixtureCases", name)
		}
		delete(covered, name)
	}
	for name := range covered {
		t.Errorf("case %s has no fixture file", name)
	}
}

func TestParseWebhook_Malformed(t *testing.T) {
	truncated := readFixture(t, "message_text")
	truncated = truncated[:len(truncated)/2]
	tests := []struct {
		name string
		body string
	}{
		{"Empty", ""},
		{"NotJSON", "hello"},
		{"Truncated", string(truncated)},
		{"Null", "null"},
		{"String", `"whatsapp_business_account"`},
		{"Array", `[]`},
		{"ArrayOfObjects", `[{"object":"whatsapp_business_account","entry":[]}]`},
		{"TrailingGarbage", `{"object":"whatsapp_business_account"} {}`},
		{"ObjectNotString", `{"object":1}`},
		{"EntryString", `{"object":"whatsapp_business_account","entry":"x"}`},
		{"EntryElementString", `{"entry":["x"]}`},
		{"EntryIDNumber", `{"entry":[{"id":201234567890123,"changes":[]}]}`},
		{"ChangesObject", `{"entry":[{"id":"1","changes":{}}]}`},
		{"FieldNumber", `{"entry":[{"id":"1","changes":[{"field":7,"value":{}}]}]}`},
		{"ValueString", `{"entry":[{"id":"1","changes":[{"field":"messages","value":"x"}]}]}`},
		{"ValueArray", `{"entry":[{"id":"1","changes":[{"field":"messages","value":[]}]}]}`},
		{"MetadataString", `{"entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":"x"}}]}]}`},
		{"PhoneNumberIDNumber", `{"entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":109876543210987}}}]}]}`},
		{"MessagesObject", `{"entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":{}}}]}]}`},
		{"MessageNotObject", `{"entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":[1]}}]}]}`},
		{"MessageNull", `{"entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":[null]}}]}]}`},
		{"MessageIDNumber", `{"entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":[{"id":1,"from":"1","type":"text"}]}}]}]}`},
		{"MessageTypeObject", `{"entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":[{"id":"w","from":"1","type":{}}]}}]}]}`},
		{"StatusesString", `{"entry":[{"id":"1","changes":[{"field":"messages","value":{"statuses":"read"}}]}]}`},
		{"StatusNotObject", `{"entry":[{"id":"1","changes":[{"field":"messages","value":{"statuses":["read"]}}]}]}`},
		{"StatusStatusNumber", `{"entry":[{"id":"1","changes":[{"field":"messages","value":{"statuses":[{"id":"w","status":3}]}}]}]}`},
		{"ContactsObject", `{"entry":[{"id":"1","changes":[{"field":"messages","value":{"contacts":{}}}]}]}`},
		{"ErrorsString", `{"entry":[{"id":"1","changes":[{"field":"messages","value":{"errors":"boom"}}]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkFastPath(t, SanitizeJSON([]byte(tt.body)))
			n, err := ParseWebhook([]byte(tt.body))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
			if !reflect.DeepEqual(n, Notification{}) {
				t.Errorf("a failed parse returned data: %+v", n)
			}
		})
	}
}

func TestParseWebhook_Tolerant(t *testing.T) {
	wrap := func(message string) string {
		return `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":[` + message + `]}}]}]}`
	}
	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, m Message)
	}{
		{"TimestampGarbage", wrap(`{"id":"w","from":"1","type":"text","timestamp":"soon","text":{"body":"x"}}`),
			func(t *testing.T, m Message) {
				if !m.Timestamp.IsZero() || m.Text != "x" {
					t.Errorf("got %v %q", m.Timestamp, m.Text)
				}
			}},
		{"TimestampAbsent", wrap(`{"id":"w","from":"1","type":"text"}`),
			func(t *testing.T, m Message) {
				if !m.Timestamp.IsZero() {
					t.Errorf("Timestamp = %v", m.Timestamp)
				}
			}},
		{"TimestampObject", wrap(`{"id":"w","from":"1","type":"text","timestamp":{"s":1}}`),
			func(t *testing.T, m Message) {
				if !m.Timestamp.IsZero() {
					t.Errorf("Timestamp = %v", m.Timestamp)
				}
			}},
		{"TimestampNegative", wrap(`{"id":"w","from":"1","type":"text","timestamp":"-5"}`),
			func(t *testing.T, m Message) {
				if !m.Timestamp.IsZero() {
					t.Errorf("Timestamp = %v", m.Timestamp)
				}
			}},
		{"TimestampHuge", wrap(`{"id":"w","from":"1","type":"text","timestamp":"99999999999999999"}`),
			func(t *testing.T, m Message) {
				if !m.Timestamp.IsZero() {
					t.Errorf("Timestamp = %v", m.Timestamp)
				}
			}},
		{"TimestampNumber", wrap(`{"id":"w","from":"1","type":"text","timestamp":1764329400}`),
			func(t *testing.T, m Message) {
				if !m.Timestamp.Equal(unix(1764329400)) {
					t.Errorf("Timestamp = %v", m.Timestamp)
				}
			}},
		{"UnknownFieldsInsideMessage", wrap(`{"id":"w","from":"1","from_user_id":"BR.1","type":"text","text":{"body":"x","new":[1]},"identity_key_hash":"k"}`),
			func(t *testing.T, m Message) {
				if m.Text != "x" || !m.Supported() {
					t.Errorf("got %+v", m)
				}
			}},
		{"PayloadWrongShape", wrap(`{"id":"w","from":"1","type":"image","image":"not an object","context":{"id":"q"}}`),
			func(t *testing.T, m Message) {
				if m.Media != nil || m.Supported() || m.Context == nil || m.Context.ID != "q" {
					t.Errorf("got %+v", m)
				}
			}},
		{"PayloadFieldWrongType", wrap(`{"id":"w","from":"1","type":"image","image":{"id":"9","caption":5,"mime_type":"image/png"}}`),
			func(t *testing.T, m Message) {
				if m.Media == nil || m.Media.ID != "9" || m.Media.MimeType != "image/png" || m.Media.Caption != "" {
					t.Errorf("got %+v", m.Media)
				}
			}},
		{"CoordinatesAsStrings", wrap(`{"id":"w","from":"1","type":"location","location":{"latitude":"-23.5","longitude":" -46.6 "}}`),
			func(t *testing.T, m Message) {
				if m.Location == nil || m.Location.Latitude != -23.5 || m.Location.Longitude != -46.6 {
					t.Errorf("got %+v", m.Location)
				}
			}},
		{"OrderNumbersAsStrings", wrap(`{"id":"w","from":"1","type":"order","order":{"product_items":[{"product_retailer_id":"a","quantity":"3","item_price":"9.5","currency":"BRL"}]}}`),
			func(t *testing.T, m Message) {
				want := []OrderItem{{ProductRetailerID: "a", Quantity: 3, ItemPrice: 9.5, Currency: "BRL"}}
				if m.Order == nil || !reflect.DeepEqual(m.Order.Items, want) {
					t.Errorf("got %+v", m.Order)
				}
			}},
		{"ErrorDataAsString", wrap(`{"id":"w","from":"1","type":"unsupported","errors":[{"code":"131051","error_data":"{\"details\":\"nope\"}"}]}`),
			func(t *testing.T, m Message) {
				if len(m.Errors) != 1 || m.Errors[0].Code != 131051 || m.Errors[0].Details != "nope" {
					t.Errorf("got %+v", m.Errors)
				}
			}},
		{"InteractiveUnknownSubtype", wrap(`{"id":"w","from":"1","type":"interactive","interactive":{"type":"call_permission_reply","call_permission_reply":{"response":"accept"}}}`),
			func(t *testing.T, m Message) {
				if m.Reply != nil || m.Supported() {
					t.Errorf("got %+v", m.Reply)
				}
			}},
		{"FlowResponseAsObject", wrap(`{"id":"w","from":"1","type":"interactive","interactive":{"type":"nfm_reply","nfm_reply":{"body":"Sent","response_json":{"a":1}}}}`),
			func(t *testing.T, m Message) {
				if m.Reply == nil || m.Reply.ResponseJSON != `{"a":1}` {
					t.Errorf("got %+v", m.Reply)
				}
			}},
		{"SystemOldNewWAID", wrap(`{"id":"w","from":"1","type":"system","system":{"type":"user_changed_number","body":"b","new_wa_id":"2"}}`),
			func(t *testing.T, m Message) {
				if m.System == nil || m.System.NewWAID != "2" || m.System.WAID != "" {
					t.Errorf("got %+v", m.System)
				}
			}},
		{"SystemIdentityChanged", wrap(`{"id":"w","from":"1","type":"system","system":{"type":"customer_identity_changed","body":"b","identity":"h"}}`),
			func(t *testing.T, m Message) {
				if m.System == nil || m.System.NewWAID != "" || m.Text != "b" || !m.Supported() {
					t.Errorf("got %+v", m.System)
				}
			}},
		{"TypeWithoutPayload", wrap(`{"id":"w","from":"1","type":"sticker"}`),
			func(t *testing.T, m Message) {
				if m.Supported() {
					t.Error("a sticker without its sticker object must not be Supported")
				}
			}},
		{"OtherPayloadIgnored", wrap(`{"id":"w","from":"1","type":"text","text":{"body":"t"},"image":{"id":"9"}}`),
			func(t *testing.T, m Message) {
				if m.Media != nil || m.Text != "t" {
					t.Errorf("got %+v", m)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := mustParse(t, []byte(tt.body))
			if len(n.Changes) != 1 || len(n.Changes[0].Messages) != 1 {
				t.Fatalf("got %+v", n)
			}
			m := n.Changes[0].Messages[0]
			if !json.Valid(m.Raw) {
				t.Errorf("Raw = %q", m.Raw)
			}
			tt.check(t, m)
		})
	}
}

func TestParseWebhook_EnvelopeEdges(t *testing.T) {
	tests := []struct {
		name string
		body string
		want Notification
	}{
		{"EmptyObject", `{}`, Notification{}},
		{"WhitespaceAround", " \n{\"object\":\"whatsapp_business_account\"}\n", Notification{Object: "whatsapp_business_account"}},
		{"EntryNull", `{"object":"x","entry":null}`, Notification{Object: "x"}},
		{"ValueNull", `{"entry":[{"id":"1","changes":[{"field":"messages","value":null}]}]}`,
			Notification{Changes: []Change{{WABAID: "1", Field: "messages"}}}},
		{"OtherFieldAnyValue", `{"entry":[{"id":"1","changes":[{"field":"security","value":"x"}]}]}`,
			Notification{Changes: []Change{{WABAID: "1", Field: "security", Value: json.RawMessage(`"x"`)}}}},
		{"OtherFieldNotParsed", `{"entry":[{"id":"1","changes":[{"field":"account_update","value":{"metadata":{"phone_number_id":"9"},"messages":[{"id":"w"}]}}]}]}`,
			Notification{Changes: []Change{{WABAID: "1", Field: "account_update",
				Value: json.RawMessage(`{"metadata":{"phone_number_id":"9"},"messages":[{"id":"w"}]}`)}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := mustParse(t, []byte(tt.body))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %s, want %s", dump(got), dump(tt.want))
			}
		})
	}
}

func TestMessage_Supported(t *testing.T) {
	tests := []struct {
		name string
		m    Message
		want bool
	}{
		{"Text", Message{Type: "text", Text: "oi"}, true},
		{"TextEmpty", Message{Type: "text"}, false},
		{"ImageWithMedia", Message{Type: "image", Media: &Media{ID: "1"}}, true},
		{"ImageWithoutMedia", Message{Type: "image"}, false},
		{"AudioWithMedia", Message{Type: "audio", Media: &Media{ID: "1", Voice: true}}, true},
		{"Video", Message{Type: "video", Media: &Media{}}, true},
		{"Document", Message{Type: "document", Media: &Media{}}, true},
		{"Sticker", Message{Type: "sticker", Media: &Media{}}, true},
		{"Location", Message{Type: "location", Location: &Location{}}, true},
		{"ContactsEmpty", Message{Type: "contacts"}, false},
		{"Contacts", Message{Type: "contacts", Contacts: []SharedContact{{}}}, true},
		{"InteractiveReply", Message{Type: "interactive", Reply: &InteractiveReply{Type: "button_reply"}}, true},
		{"InteractiveNoReply", Message{Type: "interactive"}, false},
		{"Button", Message{Type: "button", Button: &Button{}}, true},
		{"Reaction", Message{Type: "reaction", Reaction: &Reaction{}}, true},
		{"Order", Message{Type: "order", Order: &Order{}}, true},
		{"System", Message{Type: "system", System: &System{}}, true},
		{"Unsupported", Message{Type: "unsupported"}, false},
		{"Edit", Message{Type: "edit"}, false},
		{"Revoke", Message{Type: "revoke"}, false},
		{"RequestWelcome", Message{Type: "request_welcome"}, false},
		{"Empty", Message{}, false},
		{"CaseMatters", Message{Type: "TEXT", Text: "oi"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.Supported(); got != tt.want {
				t.Errorf("Supported() = %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzParseWebhook(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{"", "null", "[]", `{"entry":"x"}`, `{"entry":[{"changes":[{"field":"messages","value":{"messages":[{}]}}]}]}`} {
		f.Add([]byte(s))
	}
	for _, s := range hostileBodies {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkFastPath(t, SanitizeJSON(body))
		n, err := ParseWebhook(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		for _, c := range n.Changes {
			if c.Field != FieldMessages && (c.Messages != nil || c.Statuses != nil || c.Contacts != nil) {
				t.Fatalf("field %q was parsed", c.Field)
			}
			for _, m := range c.Messages {
				if len(m.Raw) == 0 || !isObject(m.Raw) || !json.Valid(m.Raw) {
					t.Fatalf("message without a valid Raw: %+v", m)
				}
				for _, s := range []string{m.ID, m.From, m.Type, m.Text} {
					checkStorable(t, "message field", s)
				}
				checkStorableJSON(t, "message raw", m.Raw)
				_ = m.Supported()
			}
			for _, s := range c.Statuses {
				if len(s.Raw) == 0 || !json.Valid(s.Raw) {
					t.Fatalf("status without a valid Raw: %+v", s)
				}
			}
		}
	})
}

// checkFastPath fails when scanWebhook answers for body (already sanitized)
// and its answer differs from decodeWebhook's; it reports whether it
// answered.
func checkFastPath(t *testing.T, body []byte) bool {
	t.Helper()
	fast, ok := scanWebhook(body)
	if !ok {
		return false
	}
	want, err := decodeWebhook(body)
	if err != nil {
		t.Fatalf("the fast path accepted a body the general one refuses (%v): %q", err, body)
	}
	if !reflect.DeepEqual(fast, want) {
		t.Fatalf("the fast path disagrees on %q\n got: %s\nwant: %s", body, dump(fast), dump(want))
	}
	return true
}

// Every fixture is the shape of a real delivery, so each must take the
// fast path, and agree with the general one.
func TestParseWebhook_FastPath(t *testing.T) {
	for _, tt := range fixtureCases {
		if !checkFastPath(t, SanitizeJSON(readFixture(t, tt.name))) {
			t.Errorf("%s: the fast path declined a real delivery", tt.name)
		}
	}
	for _, body := range hostileBodies {
		if !checkFastPath(t, SanitizeJSON([]byte(body))) {
			t.Errorf("the fast path declined %s", body)
		}
	}
}
