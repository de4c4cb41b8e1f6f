package whatsapp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

const (
	testToken = "tok-secret-EAAG"
	wamidOut  = "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABEYEjhDOUQwRTFGMjM0NTY3ODlBAA=="
	inWAMID   = "wamid.HBgNNTUxMTkxMjM0NTY3OBUCABIYFDNBQjlDOEQ3RTZGNTA0MTMyMjExAA=="
)

// recorded is one request the fake Graph server received.
type recorded struct {
	Method, Path, RawQuery string
	Header                 http.Header
	ContentLength          int64
	Body                   []byte
}

// fakeGraph is an httptest server that records every request and answers
// with respond (which sees the body through r.Body as usual).
type fakeGraph struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []recorded
}

func newFakeGraph(t *testing.T, respond http.HandlerFunc) (*Client, *fakeGraph) {
	t.Helper()
	g := &fakeGraph{}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		g.mu.Lock()
		g.got = append(g.got, recorded{Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
			Header: r.Header.Clone(), ContentLength: r.ContentLength, Body: body})
		g.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		respond(w, r)
	}))
	t.Cleanup(g.srv.Close)
	return &Client{BaseURL: g.srv.URL, Version: "v26.0", HTTP: g.srv.Client()}, g
}

func (g *fakeGraph) requests() []recorded {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]recorded(nil), g.got...)
}

func (g *fakeGraph) only(t *testing.T) recorded {
	t.Helper()
	reqs := g.requests()
	if len(reqs) != 1 {
		t.Fatalf("server got %d requests, want 1", len(reqs))
	}
	return reqs[0]
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// sendOK is §6's success response.
func sendOK(w http.ResponseWriter, r *http.Request) {
	var in struct {
		To string `json:"to"`
	}
	_ = json.NewDecoder(r.Body).Decode(&in)
	writeJSON(w, 200, `{"messaging_product":"whatsapp","contacts":[{"input":"`+in.To+`","wa_id":"5511912345678"}],"messages":[{"id":"`+wamidOut+`"}]}`)
}

// assertJSONEqual compares JSON documents by value.
func assertJSONEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("JSON mismatch\n got: %s\nwant: %s", got, want)
	}
}

func TestClient_SendMessage(t *testing.T) {
	tests := []struct {
		name string
		msg  OutboundMessage
		want string // the exact request body (§6)
	}{
		{"TextReplyWithPreview", OutboundMessage{To: "5511912345678", Type: "text", ReplyTo: inWAMID,
			Text: &Text{Body: "Acompanhe aqui: https://example.com/pedido/20931", PreviewURL: true}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+5511912345678","type":"text",
			  "context":{"message_id":"` + inWAMID + `"},
			  "text":{"preview_url":true,"body":"Acompanhe aqui: https://example.com/pedido/20931"}}`},
		{"TextFormattedNumberKept", OutboundMessage{To: "+55 11 91234-5678", Type: "text", Text: &Text{Body: "Olá"}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+55 11 91234-5678","type":"text","text":{"body":"Olá"}}`},
		{"ImageByID", OutboundMessage{To: "+5511912345678", Type: "image", Image: &MediaRef{ID: "1476203957230145", Caption: "Seu produto"}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+5511912345678","type":"image",
			  "image":{"id":"1476203957230145","caption":"Seu produto"}}`},
		{"ImageByLink", OutboundMessage{To: "5511912345678", Type: "image", Image: &MediaRef{Link: "https://cdn.example.com/p/20931.jpg?v=2"}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+5511912345678","type":"image",
			  "image":{"link":"https://cdn.example.com/p/20931.jpg?v=2"}}`},
		{"DocumentWithFilename", OutboundMessage{To: "5511912345678", Type: "document",
			Document: &MediaRef{ID: "1330572948801764", Caption: "Segunda via", Filename: "boleto-20931.pdf"}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+5511912345678","type":"document",
			  "document":{"id":"1330572948801764","caption":"Segunda via","filename":"boleto-20931.pdf"}}`},
		{"AudioVoiceNote", OutboundMessage{To: "5511912345678", Type: "audio", Audio: &MediaRef{ID: "902817364512093", Voice: true}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+5511912345678","type":"audio",
			  "audio":{"id":"902817364512093","voice":true}}`},
		{"Video", OutboundMessage{To: "5511912345678", Type: "video", Video: &MediaRef{ID: "1583920174650392", Caption: "Como montar"}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+5511912345678","type":"video",
			  "video":{"id":"1583920174650392","caption":"Como montar"}}`},
		{"Sticker", OutboundMessage{To: "5511912345678", Type: "sticker", Sticker: &MediaRef{ID: "774019283746501"}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+5511912345678","type":"sticker",
			  "sticker":{"id":"774019283746501"}}`},
		{"LocationZeroLatitudeKept", OutboundMessage{To: "5511912345678", Type: "location",
			Location: &Location{Latitude: 0, Longitude: -46.655881, Name: "Loja", Address: "Av. Paulista, 1000", URL: "https://ignored"}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+5511912345678","type":"location",
			  "location":{"latitude":0,"longitude":-46.655881,"name":"Loja","address":"Av. Paulista, 1000"}}`},
		{"Contacts", OutboundMessage{To: "5511912345678", Type: "contacts",
			Contacts: json.RawMessage(`[{"name":{"formatted_name":"Central de Ajuda","first_name":"Central"},"phones":[{"phone":"+551140040000","type":"WORK"}]}]`)},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+5511912345678","type":"contacts",
			  "contacts":[{"name":{"formatted_name":"Central de Ajuda","first_name":"Central"},"phones":[{"phone":"+551140040000","type":"WORK"}]}]}`},
		{"InteractiveButtons", OutboundMessage{To: "5511912345678", Type: "interactive", ReplyTo: inWAMID,
			Interactive: json.RawMessage(`{"type":"button","body":{"text":"Como podemos ajudar?"},"action":{"buttons":[{"type":"reply","reply":{"id":"menu:pedido","title":"Meu pedido"}}]}}`)},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+5511912345678","type":"interactive",
			  "context":{"message_id":"` + inWAMID + `"},
			  "interactive":{"type":"button","body":{"text":"Como podemos ajudar?"},"action":{"buttons":[{"type":"reply","reply":{"id":"menu:pedido","title":"Meu pedido"}}]}}}`},
		{"TemplateWithComponents", OutboundMessage{To: "5511912345678", Type: "template", BizOpaqueCallbackData: "out-018f3c2a",
			Template: &Template{Name: "retomada_atendimento", Language: "pt_BR", Components: json.RawMessage(`[
				{"type":"header","parameters":[{"type":"image","image":{"id":"2049581736402118"}}]},
				{"type":"body","parameters":[{"type":"text","text":"Ana"},{"type":"text","text":"#20931"}]},
				{"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"reabrir:20931"}]}]`)}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+5511912345678","type":"template",
			  "template":{"name":"retomada_atendimento","language":{"code":"pt_BR"},"components":[
				{"type":"header","parameters":[{"type":"image","image":{"id":"2049581736402118"}}]},
				{"type":"body","parameters":[{"type":"text","text":"Ana"},{"type":"text","text":"#20931"}]},
				{"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"reabrir:20931"}]}]},
			  "biz_opaque_callback_data":"out-018f3c2a"}`},
		{"TemplateWithoutComponents", OutboundMessage{To: "5511912345678", Type: "template", Template: &Template{Name: "hello_world", Language: "en_US"}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+5511912345678","type":"template",
			  "template":{"name":"hello_world","language":{"code":"en_US"}}}`},
		{"Reaction", OutboundMessage{To: "5511912345678", Type: "reaction", Reaction: &Reaction{MessageID: inWAMID, Emoji: "✅"}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+5511912345678","type":"reaction",
			  "reaction":{"message_id":"` + inWAMID + `","emoji":"✅"}}`},
		{"ReactionRemovalSendsEmptyEmoji", OutboundMessage{To: "5511912345678", Type: "reaction", Reaction: &Reaction{MessageID: inWAMID}},
			`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+5511912345678","type":"reaction",
			  "reaction":{"message_id":"` + inWAMID + `","emoji":""}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, g := newFakeGraph(t, sendOK)
			got, err := c.SendMessage(context.Background(), testToken, testPhoneID, tt.msg)
			if err != nil {
				t.Fatalf("SendMessage: %v", err)
			}
			if got != wamidOut {
				t.Errorf("wamid = %q", got)
			}
			req := g.only(t)
			if req.Method != http.MethodPost || req.Path != "/v26.0/"+testPhoneID+"/messages" {
				t.Errorf("request %s %s", req.Method, req.Path)
			}
			if a := req.Header.Get("Authorization"); a != "Bearer "+testToken {
				t.Errorf("Authorization = %q", a)
			}
			if ct := req.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			assertJSONEqual(t, req.Body, tt.want)

			// MarshalJSON renders the same body.
			b, err := json.Marshal(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			assertJSONEqual(t, b, tt.want)
		})
	}
}

func TestClient_SendMessage_Invalid(t *testing.T) {
	text := &Text{Body: "oi"}
	tests := []struct {
		name    string
		phoneID string
		msg     OutboundMessage
	}{
		{"NoPhoneNumberID", "", OutboundMessage{To: "1", Type: "text", Text: text}},
		{"NoRecipient", testPhoneID, OutboundMessage{To: "  ", Type: "text", Text: text}},
		{"NoType", testPhoneID, OutboundMessage{To: "1", Text: text}},
		{"UnknownType", testPhoneID, OutboundMessage{To: "1", Type: "poll", Text: text}},
		{"MissingPayload", testPhoneID, OutboundMessage{To: "1", Type: "image"}},
		{"TwoPayloads", testPhoneID, OutboundMessage{To: "1", Type: "text", Text: text, Image: &MediaRef{ID: "1"}}},
		{"EmptyText", testPhoneID, OutboundMessage{To: "1", Type: "text", Text: &Text{}}},
		{"MediaIDAndLink", testPhoneID, OutboundMessage{To: "1", Type: "image", Image: &MediaRef{ID: "1", Link: "https://x"}}},
		{"MediaNeither", testPhoneID, OutboundMessage{To: "1", Type: "image", Image: &MediaRef{Caption: "c"}}},
		{"CaptionOnSticker", testPhoneID, OutboundMessage{To: "1", Type: "sticker", Sticker: &MediaRef{ID: "1", Caption: "c"}}},
		{"CaptionOnAudio", testPhoneID, OutboundMessage{To: "1", Type: "audio", Audio: &MediaRef{ID: "1", Caption: "c"}}},
		{"FilenameOnImage", testPhoneID, OutboundMessage{To: "1", Type: "image", Image: &MediaRef{ID: "1", Filename: "a.jpg"}}},
		{"VoiceOnVideo", testPhoneID, OutboundMessage{To: "1", Type: "video", Video: &MediaRef{ID: "1", Voice: true}}},
		{"ReactionAsReply", testPhoneID, OutboundMessage{To: "1", Type: "reaction", ReplyTo: inWAMID, Reaction: &Reaction{MessageID: inWAMID}}},
		{"ReactionWithoutTarget", testPhoneID, OutboundMessage{To: "1", Type: "reaction", Reaction: &Reaction{Emoji: "✅"}}},
		{"TemplateWithoutLanguage", testPhoneID, OutboundMessage{To: "1", Type: "template", Template: &Template{Name: "x"}}},
		{"TemplateComponentsObject", testPhoneID, OutboundMessage{To: "1", Type: "template", Template: &Template{Name: "x", Language: "pt_BR", Components: json.RawMessage(`{}`)}}},
		{"InteractiveArray", testPhoneID, OutboundMessage{To: "1", Type: "interactive", Interactive: json.RawMessage(`[]`)}},
		{"InteractiveBrokenJSON", testPhoneID, OutboundMessage{To: "1", Type: "interactive", Interactive: json.RawMessage(`{"type":`)}},
		{"ContactsObject", testPhoneID, OutboundMessage{To: "1", Type: "contacts", Contacts: json.RawMessage(`{}`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, g := newFakeGraph(t, sendOK)
			_, err := c.SendMessage(context.Background(), testToken, tt.phoneID, tt.msg)
			if !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("err = %v, want ErrInvalidRequest", err)
			}
			if Classify(err) != Permanent {
				t.Errorf("Classify = %v", Classify(err))
			}
			if n := len(g.requests()); n != 0 {
				t.Errorf("an invalid message reached the server (%d requests)", n)
			}
		})
	}
}

func TestClient_Errors(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		header    map[string]string
		body      string
		wantErr   error     // checked with errors.Is when set
		want      *APIError // compared field by field when set
		wantClass ErrorClass
	}{
		{name: "RateLimitEnvelope", status: 400,
			body: `{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,
			        "error_data":{"messaging_product":"whatsapp","details":"Cloud API message throughput has been reached."},
			        "error_subcode":2494055,"fbtrace_id":"AbC1dEfGh2IjK3lMnO4pQr5"}}`,
			want: &APIError{HTTPStatus: 400, Code: 130429, Subcode: 2494055, Type: "OAuthException",
				Message: "(#130429) Rate limit hit", Title: "Rate limit hit",
				Details: "Cloud API message throughput has been reached.", FBTraceID: "AbC1dEfGh2IjK3lMnO4pQr5"},
			wantClass: Throttled},
		{name: "WindowClosed", status: 400,
			body: `{"error":{"message":"(#131047) Re-engagement message","type":"OAuthException","code":131047,
			        "error_data":{"messaging_product":"whatsapp","details":"Message failed to send because more than 24 hours have passed since the customer last replied to this number."},
			        "fbtrace_id":"Bx9"}}`,
			want: &APIError{HTTPStatus: 400, Code: 131047, Type: "OAuthException", Message: "(#131047) Re-engagement message",
				Title:   "Re-engagement message",
				Details: "Message failed to send because more than 24 hours have passed since the customer last replied to this number.", FBTraceID: "Bx9"},
			wantClass: Permanent},
		{name: "ExpiredToken", status: 401,
			body: `{"error":{"message":"Error validating access token: Session has expired","type":"OAuthException","code":190,
			        "error_subcode":463,"error_user_title":"Sessão expirada","error_user_msg":"Faça login de novo","is_transient":false,"fbtrace_id":"Cz1"}}`,
			want: &APIError{HTTPStatus: 401, Code: 190, Subcode: 463, Type: "OAuthException",
				Message: "Error validating access token: Session has expired", Title: "Sessão expirada", FBTraceID: "Cz1"},
			wantClass: Unauthorized},
		{name: "UnknownCodeTransientFlag", status: 400,
			body: `{"error":{"message":"(#999) Something new","type":"OAuthException","code":999,"is_transient":true,"error_data":"{\"details\":\"try later\"}"}}`,
			want: &APIError{HTTPStatus: 400, Code: 999, Type: "OAuthException", Message: "(#999) Something new",
				Title: "Something new", Details: "try later", IsTransient: true},
			wantClass: Transient},
		{name: "TemplateMissing404", status: 404,
			body: `{"error":{"message":"(#132001) Template name does not exist in the translation","type":"OAuthException","code":132001,
			        "error_data":{"messaging_product":"whatsapp","details":"template name (x) does not exist in pt_BR"},"fbtrace_id":"D4"}}`,
			want: &APIError{HTTPStatus: 404, Code: 132001, Type: "OAuthException",
				Message: "(#132001) Template name does not exist in the translation", Title: "Template name does not exist in the translation",
				Details: "template name (x) does not exist in pt_BR", FBTraceID: "D4"},
			wantClass: Permanent},
		{name: "HTML500", status: 500, header: map[string]string{"Content-Type": "text/html"},
			body:      "<html>\n<body><h1>500 Internal Server Error</h1></body>\n</html>",
			want:      &APIError{HTTPStatus: 500, Message: "<html> <body><h1>500 Internal Server Error</h1></body> </html>"},
			wantClass: Transient},
		{name: "EmptyBody502", status: 502, body: "",
			want: &APIError{HTTPStatus: 502, Message: "Bad Gateway"}, wantClass: Transient},
		{name: "TooManyRequestsRetryAfter", status: 429, header: map[string]string{"Retry-After": "7"}, body: "slow down",
			want: &APIError{HTTPStatus: 429, Message: "slow down", RetryAfter: 7 * time.Second}, wantClass: Throttled},
		{name: "SuccessGarbage", status: 200, body: "<html>ok</html>", wantErr: ErrUnexpectedResponse, wantClass: Permanent},
		{name: "SuccessWithoutWAMID", status: 200, body: `{"messaging_product":"whatsapp","messages":[]}`,
			wantErr: ErrUnexpectedResponse, wantClass: Permanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _ := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			})
			_, err := c.SendMessage(context.Background(), testToken, testPhoneID,
				OutboundMessage{To: "5511912345678", Type: "text", Text: &Text{Body: "oi"}})
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error leaks the token: %v", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.want != nil {
				var got *APIError
				if !errors.As(err, &got) {
					t.Fatalf("err = %v (%T), want *APIError", err, err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("APIError\n got: %+v\nwant: %+v", got, tt.want)
				}
			}
			if got := Classify(err); got != tt.wantClass {
				t.Errorf("Classify = %v, want %v", got, tt.wantClass)
			}
		})
	}
}

func TestClient_TransportErrors(t *testing.T) {
	msg := OutboundMessage{To: "5511912345678", Type: "text", Text: &Text{Body: "oi"}}

	t.Run("ServerDown", func(t *testing.T) {
		c, g := newFakeGraph(t, sendOK)
		g.srv.Close()
		_, err := c.SendMessage(context.Background(), testToken, testPhoneID, msg)
		if err == nil || Classify(err) != Transient {
			t.Fatalf("err = %v, class %v", err, Classify(err))
		}
	})
	t.Run("Timeout", func(t *testing.T) {
		release := make(chan struct{})
		c, _ := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		})
		defer close(release)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		_, err := c.SendMessage(ctx, testToken, testPhoneID, msg)
		if !errors.Is(err, context.DeadlineExceeded) || Classify(err) != Transient {
			t.Fatalf("err = %v, class %v", err, Classify(err))
		}
	})
}

func TestClient_MarkRead(t *testing.T) {
	tests := []struct {
		name    string
		typing  bool
		answer  string
		want    string
		wantErr error
	}{
		{"Read", false, `{"success":true}`,
			`{"messaging_product":"whatsapp","status":"read","message_id":"` + inWAMID + `"}`, nil},
		{"ReadWithTyping", true, `{"success":true}`,
			`{"messaging_product":"whatsapp","status":"read","message_id":"` + inWAMID + `","typing_indicator":{"type":"text"}}`, nil},
		{"NotSuccess", false, `{"success":false}`,
			`{"messaging_product":"whatsapp","status":"read","message_id":"` + inWAMID + `"}`, ErrUnexpectedResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, g := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, tt.answer) })
			var err error
			if tt.typing {
				err = c.SendTypingIndicator(context.Background(), testToken, testPhoneID, inWAMID)
			} else {
				err = c.MarkRead(context.Background(), testToken, testPhoneID, inWAMID)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			req := g.only(t)
			if req.Method != http.MethodPost || req.Path != "/v26.0/"+testPhoneID+"/messages" || req.Header.Get("Authorization") != "Bearer "+testToken {
				t.Errorf("request %s %s auth %q", req.Method, req.Path, req.Header.Get("Authorization"))
			}
			assertJSONEqual(t, req.Body, tt.want)
		})
	}
	t.Run("MissingWAMID", func(t *testing.T) {
		c, g := newFakeGraph(t, sendOK)
		if err := c.MarkRead(context.Background(), testToken, testPhoneID, ""); !errors.Is(err, ErrInvalidRequest) {
			t.Fatalf("err = %v", err)
		}
		if len(g.requests()) != 0 {
			t.Error("request sent")
		}
	})
}

type uploadedPart struct {
	Name, Filename, ContentType, Value string
}

// readMultipart returns the parts of a recorded multipart request in order.
func readMultipart(t *testing.T, req recorded) []uploadedPart {
	t.Helper()
	mediaType, params, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/form-data" {
		t.Fatalf("Content-Type = %q", req.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(bytes.NewReader(req.Body), params["boundary"])
	var parts []uploadedPart
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return parts
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		b, _ := io.ReadAll(p)
		parts = append(parts, uploadedPart{Name: p.FormName(), Filename: p.FileName(), ContentType: p.Header.Get("Content-Type"), Value: string(b)})
	}
}

func TestClient_UploadMedia(t *testing.T) {
	pdf := "%PDF-1.7 fake boleto"
	tests := []struct {
		name         string
		filename     string
		reader       func() io.Reader
		wantFilename string
		wantLength   bool
	}{
		{"KnownLength", "boleto-20931.pdf", func() io.Reader { return strings.NewReader(pdf) }, "boleto-20931.pdf", true},
		{"StreamedUnknownLength", "boleto-20931.pdf", func() io.Reader { return iotest.OneByteReader(strings.NewReader(pdf)) }, "boleto-20931.pdf", false},
		{"QuotesAndNewlinesInName", "nota \"fiscal\"\r\n.pdf", func() io.Reader { return bytes.NewReader([]byte(pdf)) }, `nota "fiscal".pdf`, true},
		{"NoName", "", func() io.Reader { return strings.NewReader(pdf) }, "file", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, g := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{"id":"1330572948801764"}`) })
			id, err := c.UploadMedia(context.Background(), testToken, testPhoneID, tt.filename, "application/pdf", tt.reader())
			if err != nil || id != "1330572948801764" {
				t.Fatalf("UploadMedia = %q, %v", id, err)
			}
			req := g.only(t)
			if req.Method != http.MethodPost || req.Path != "/v26.0/"+testPhoneID+"/media" || req.Header.Get("Authorization") != "Bearer "+testToken {
				t.Errorf("request %s %s", req.Method, req.Path)
			}
			if tt.wantLength != (req.ContentLength == int64(len(req.Body))) {
				t.Errorf("Content-Length %d for a %d-byte body (known length: %v)", req.ContentLength, len(req.Body), tt.wantLength)
			}
			want := []uploadedPart{
				{Name: "messaging_product", Value: "whatsapp"},
				{Name: "type", Value: "application/pdf"},
				{Name: "file", Filename: tt.wantFilename, ContentType: "application/pdf", Value: pdf},
			}
			if got := readMultipart(t, req); !reflect.DeepEqual(got, want) {
				t.Errorf("parts\n got: %+v\nwant: %+v", got, want)
			}
		})
	}
	t.Run("MissingMIME", func(t *testing.T) {
		c, g := newFakeGraph(t, sendOK)
		if _, err := c.UploadMedia(context.Background(), testToken, testPhoneID, "a", "", strings.NewReader("x")); !errors.Is(err, ErrInvalidRequest) {
			t.Fatalf("err = %v", err)
		}
		if len(g.requests()) != 0 {
			t.Error("request sent")
		}
	})
	t.Run("Rejected", func(t *testing.T) {
		c, _ := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 400, `{"error":{"message":"(#131053) Media upload error","type":"OAuthException","code":131053,"error_data":{"details":"Unsupported file type"}}}`)
		})
		_, err := c.UploadMedia(context.Background(), testToken, testPhoneID, "a.exe", "application/x-msdownload", strings.NewReader("MZ"))
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Code != 131053 || Classify(err) != Permanent {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestClient_GetMedia(t *testing.T) {
	tests := []struct {
		name string
		body string
		want MediaInfo
	}{
		{"FileSizeNumber", `{"messaging_product":"whatsapp","url":"https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1&ext=2&hash=ATsQ",
			"mime_type":"application/pdf","sha256":"4e0f1c","file_size":84213,"id":"1330572948801764"}`,
			MediaInfo{URL: "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1&ext=2&hash=ATsQ", MimeType: "application/pdf", SHA256: "4e0f1c", FileSize: 84213}},
		{"FileSizeString", `{"url":"https://x.fbsbx.com/a","mime_type":"image/jpeg","sha256":"h","file_size":"84213","id":"9"}`,
			MediaInfo{URL: "https://x.fbsbx.com/a", MimeType: "image/jpeg", SHA256: "h", FileSize: 84213}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, g := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, tt.body) })
			got, err := c.GetMedia(context.Background(), testToken, "1330572948801764")
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("GetMedia = %+v, want %+v", got, tt.want)
			}
			req := g.only(t)
			if req.Method != http.MethodGet || req.Path != "/v26.0/1330572948801764" || req.Header.Get("Authorization") != "Bearer "+testToken {
				t.Errorf("request %s %s", req.Method, req.Path)
			}
		})
	}
	t.Run("UnknownID", func(t *testing.T) {
		c, _ := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 400, `{"error":{"message":"(#131009) Parameter value is not valid","type":"OAuthException","code":131009,"fbtrace_id":"E5"}}`)
		})
		_, err := c.GetMedia(context.Background(), testToken, "404404")
		if Classify(err) != Permanent || !strings.Contains(err.Error(), "404404") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("NoURL", func(t *testing.T) {
		c, _ := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{"id":"1"}`) })
		if _, err := c.GetMedia(context.Background(), testToken, "1"); !errors.Is(err, ErrUnexpectedResponse) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestClient_DeleteMedia(t *testing.T) {
	c, g := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{"success":true}`) })
	if err := c.DeleteMedia(context.Background(), testToken, "1330572948801764"); err != nil {
		t.Fatal(err)
	}
	if req := g.only(t); req.Method != http.MethodDelete || req.Path != "/v26.0/1330572948801764" {
		t.Errorf("request %s %s", req.Method, req.Path)
	}
}

func TestClient_DownloadMedia(t *testing.T) {
	file := []byte("\x89PNG fake image bytes for the test")
	sum := sha256.Sum256(file)
	hexSum := hex.EncodeToString(sum[:])
	b64Sum := base64.StdEncoding.EncodeToString(sum[:])
	otherSum := sha256.Sum256([]byte("other"))

	tests := []struct {
		name      string
		path      string
		maxBytes  int64
		want      string
		wantErr   error
		wantClass ErrorClass
		wantHTTP  int
	}{
		{name: "NoChecksum", path: "/media/ok", maxBytes: 1 << 20},
		{name: "HexChecksum", path: "/media/ok", maxBytes: 1 << 20, want: hexSum},
		{name: "UppercaseHexChecksum", path: "/media/ok", maxBytes: 1 << 20, want: strings.ToUpper(hexSum)},
		{name: "Base64Checksum", path: "/media/ok", maxBytes: 1 << 20, want: b64Sum},
		{name: "Base64URLUnpadded", path: "/media/ok", maxBytes: 1 << 20, want: base64.RawURLEncoding.EncodeToString(sum[:])},
		{name: "ExactlyAtCap", path: "/media/ok", maxBytes: int64(len(file))},
		{name: "DefaultCap", path: "/media/ok", maxBytes: 0},
		{name: "ChecksumMismatch", path: "/media/ok", maxBytes: 1 << 20, want: hex.EncodeToString(otherSum[:]),
			wantErr: ErrChecksumMismatch, wantClass: Transient},
		{name: "ChecksumUnreadable", path: "/media/ok", maxBytes: 1 << 20, want: "4e0f1c",
			wantErr: ErrInvalidRequest, wantClass: Permanent},
		{name: "OverCapContentLength", path: "/media/ok", maxBytes: int64(len(file)) - 1,
			wantErr: ErrMediaTooLarge, wantClass: Permanent},
		{name: "OverCapStreamed", path: "/media/streamed", maxBytes: int64(len(file)) - 1,
			wantErr: ErrMediaTooLarge, wantClass: Permanent},
		{name: "ExpiredURL", path: "/media/expired", maxBytes: 1 << 20, wantClass: Permanent, wantHTTP: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, g := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer "+testToken || r.URL.Path == "/media/expired" {
					w.WriteHeader(http.StatusNotFound)
					return
				}
				w.Header().Set("Content-Type", "image/png")
				if r.URL.Path == "/media/streamed" {
					w.(http.Flusher).Flush() // no Content-Length: the cap must hold while reading
				}
				_, _ = w.Write(file)
			})
			got, err := c.DownloadMedia(context.Background(), testToken, g.srv.URL+tt.path+"?mid=1&ext=2", tt.maxBytes, tt.want)
			switch {
			case tt.wantErr == nil && tt.wantHTTP == 0:
				if err != nil || !bytes.Equal(got, file) {
					t.Fatalf("DownloadMedia = %q, %v", got, err)
				}
				if req := g.only(t); req.Method != http.MethodGet || req.Path != tt.path || req.RawQuery != "mid=1&ext=2" {
					t.Errorf("request %s %s?%s", req.Method, req.Path, req.RawQuery)
				}
				return
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			case tt.wantHTTP != 0:
				var apiErr *APIError
				if !errors.As(err, &apiErr) || apiErr.HTTPStatus != tt.wantHTTP {
					t.Fatalf("err = %v, want APIError %d", err, tt.wantHTTP)
				}
			}
			if got != nil {
				t.Errorf("data returned with an error: %d bytes", len(got))
			}
			if Classify(err) != tt.wantClass {
				t.Errorf("Classify = %v, want %v", Classify(err), tt.wantClass)
			}
		})
	}
	t.Run("ForeignHostRefused", func(t *testing.T) {
		c, g := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {})
		_, err := c.DownloadMedia(context.Background(), testToken, "https://attacker.example.com/steal?x=1", 0, "")
		if !errors.Is(err, ErrInvalidRequest) || strings.Contains(err.Error(), "x=1") {
			t.Fatalf("err = %v", err)
		}
		if len(g.requests()) != 0 {
			t.Error("request sent")
		}
	})
}

func TestClient_MediaHostAllowed(t *testing.T) {
	meta := &Client{}
	sandbox := &Client{BaseURL: "http://127.0.0.1:8089/"}
	custom := &Client{MediaHosts: []string{".media.example.com"}}
	tests := []struct {
		name   string
		client *Client
		url    string
		want   bool
	}{
		{"Lookaside", meta, "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1", true},
		{"LookasideFacebook", meta, "https://lookaside.facebook.com/x", true},
		{"GraphHost", meta, "https://graph.facebook.com/v26.0/1", true},
		{"CDN", meta, "https://scontent.xx.fbcdn.net/v/x.jpg", true},
		{"WhatsAppNet", meta, "https://mmg.whatsapp.net/d/f/x.enc", true},
		{"PlainHTTPToMeta", meta, "http://lookaside.fbsbx.com/x", false},
		{"LookalikeSuffix", meta, "https://evilfbsbx.com/x", false},
		{"MetaAsSubdomainOfEvil", meta, "https://fbsbx.com.evil.example/x", false},
		{"Other", meta, "https://example.com/x", false},
		{"NoHost", meta, "/relative/path", false},
		{"SandboxSameHost", sandbox, "http://127.0.0.1:8089/media/1", true},
		{"SandboxOtherPort", sandbox, "http://127.0.0.1:9999/media/1", false},
		{"SandboxStillAllowsMeta", sandbox, "https://lookaside.fbsbx.com/x", true},
		{"CustomHost", custom, "https://cdn.media.example.com/x", true},
		{"CustomReplacesDefaults", custom, "https://lookaside.fbsbx.com/x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.client.mediaHostAllowed(u); got != tt.want {
				t.Errorf("mediaHostAllowed(%s) = %v, want %v", tt.url, got, tt.want)
			}
		})
	}
}

func TestClient_ListTemplates(t *testing.T) {
	page1 := func(next string) string {
		return `{"data":[
			{"name":"retomada_atendimento","components":[{"type":"BODY","text":"Olá {{1}}, sobre o pedido {{2}}"}],"language":"pt_BR","status":"APPROVED","category":"UTILITY","id":"1111"},
			{"name":"promo","components":[],"language":"pt_BR","status":"REJECTED","category":"MARKETING","id":"2222"}],
			"paging":{"cursors":{"before":"B1","after":"A1"},"next":"` + next + `"}}`
	}
	page2 := `{"data":[{"name":"hello_world","components":[],"language":"en_US","status":"PAUSED","category":"UTILITY","id":"3333"}],
		"paging":{"cursors":{"before":"B2","after":"A2"}}}`

	t.Run("FollowsNext", func(t *testing.T) {
		var base string
		c, g := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("after") == "A1" {
				writeJSON(w, 200, page2)
				return
			}
			writeJSON(w, 200, page1(base+"/v26.0/"+testWABA+"/message_templates?access_token=LEAKED&limit=2&after=A1"))
		})
		base = c.BaseURL
		got, err := c.ListTemplates(context.Background(), testToken, testWABA)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tpl := range got {
			names = append(names, tpl.Name+"/"+tpl.Language+"/"+tpl.Status+"/"+tpl.Category+"/"+tpl.ID)
		}
		want := []string{"retomada_atendimento/pt_BR/APPROVED/UTILITY/1111", "promo/pt_BR/REJECTED/MARKETING/2222", "hello_world/en_US/PAUSED/UTILITY/3333"}
		if !reflect.DeepEqual(names, want) {
			t.Errorf("templates = %q", names)
		}
		if !strings.Contains(string(got[0].Components), "{{1}}") {
			t.Errorf("Components = %s", got[0].Components)
		}
		reqs := g.requests()
		if len(reqs) != 2 {
			t.Fatalf("%d requests, want 2", len(reqs))
		}
		for i, req := range reqs {
			if req.Method != http.MethodGet || req.Path != "/v26.0/"+testWABA+"/message_templates" || req.Header.Get("Authorization") != "Bearer "+testToken {
				t.Errorf("request %d: %s %s", i, req.Method, req.Path)
			}
		}
		if q := reqs[1].RawQuery; strings.Contains(q, "access_token") || !strings.Contains(q, "after=A1") || !strings.Contains(q, "limit=2") {
			t.Errorf("second page query = %q", q)
		}
	})
	t.Run("NextOnOtherHostRefused", func(t *testing.T) {
		c, g := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, page1("https://elsewhere.example.com/v26.0/x/message_templates?access_token=LEAKED"))
		})
		_, err := c.ListTemplates(context.Background(), testToken, testWABA)
		if !errors.Is(err, ErrUnexpectedResponse) || strings.Contains(err.Error(), "LEAKED") {
			t.Fatalf("err = %v", err)
		}
		if len(g.requests()) != 1 {
			t.Errorf("%d requests", len(g.requests()))
		}
	})
	t.Run("NextLoopsForever", func(t *testing.T) {
		var self string
		c, _ := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, page1(self)) })
		self = c.BaseURL + "/v26.0/" + testWABA + "/message_templates"
		if _, err := c.ListTemplates(context.Background(), testToken, testWABA); !errors.Is(err, ErrUnexpectedResponse) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrorOnSecondPage", func(t *testing.T) {
		var base string
		c, _ := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("after") == "A1" {
				writeJSON(w, 400, `{"error":{"message":"(#80007) Rate limit","type":"OAuthException","code":80007}}`)
				return
			}
			writeJSON(w, 200, page1(base+"/v26.0/"+testWABA+"/message_templates?after=A1"))
		})
		base = c.BaseURL
		if _, err := c.ListTemplates(context.Background(), testToken, testWABA); Classify(err) != Throttled {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestClient_Endpoint(t *testing.T) {
	tests := []struct {
		name   string
		client Client
		segs   []string
		want   string
	}{
		{"Defaults", Client{}, []string{"109876543210987", "messages"}, "https://graph.facebook.com/v26.0/109876543210987/messages"},
		{"SandboxTrailingSlash", Client{BaseURL: "http://localhost:8089/", Version: "v24.0"}, []string{"1", "media"}, "http://localhost:8089/v24.0/1/media"},
		{"EscapesSegments", Client{}, []string{"a/b?c"}, "https://graph.facebook.com/v26.0/a%2Fb%3Fc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.client.endpoint(tt.segs...); got != tt.want {
				t.Errorf("endpoint = %q, want %q", got, tt.want)
			}
		})
	}
}
