package whatsapp_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp"
)

// A webhook handler verifies the raw body, parses it, stores, then answers.
func ExampleParseWebhook() {
	const appSecret = "app-secret"
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"201234567890123","changes":[{"field":"messages",
		"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"5511987650000","phone_number_id":"109876543210987"},
		"contacts":[{"profile":{"name":"Ana Souza"},"wa_id":"5511912345678"}],
		"messages":[{"from":"5511912345678","id":"wamid.A","timestamp":"1764329400","type":"text","text":{"body":"Oi"}},
		            {"from":"5511912345678","id":"wamid.B","timestamp":"1764329401","type":"revoke","revoke":{"original_message_id":"wamid.A"}}],
		"statuses":[{"id":"wamid.OUT","status":"read","timestamp":"1764329402","recipient_id":"5511912345678"}]}}]}]}`)
	header := whatsapp.Sign(appSecret, body) // what Meta sends in X-Hub-Signature-256

	if !whatsapp.VerifySignature(appSecret, body, header) {
		fmt.Println("401")
		return
	}
	n, err := whatsapp.ParseWebhook(body)
	if errors.Is(err, whatsapp.ErrMalformed) {
		fmt.Println("400")
		return
	}
	for _, c := range n.Changes {
		for _, m := range c.Messages {
			if m.Supported() {
				fmt.Printf("message %s from %s: %q\n", m.ID, m.From, m.Text)
			} else {
				fmt.Printf("event %s of type %s (store Raw)\n", m.ID, m.Type)
			}
		}
		for _, s := range c.Statuses {
			fmt.Printf("status %s is %s\n", s.ID, s.Status)
		}
	}
	// Output:
	// message wamid.A from 5511912345678: "Oi"
	// event wamid.B of type revoke (store Raw)
	// status wamid.OUT is read
}

// A send worker decides from Classify what to do with a failure.
func ExampleClassify() {
	graph := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":{"message":"(#131047) Re-engagement message","type":"OAuthException","code":131047,
			"error_data":{"messaging_product":"whatsapp","details":"More than 24 hours have passed."},"fbtrace_id":"AbC"}}`)
	}))
	defer graph.Close()
	c := &whatsapp.Client{BaseURL: graph.URL}

	_, err := c.SendMessage(context.Background(), "token", "109876543210987", whatsapp.OutboundMessage{
		To: "5511912345678", Type: whatsapp.TypeText, Text: &whatsapp.Text{Body: "Olá"},
	})
	switch whatsapp.Classify(err) {
	case whatsapp.Transient, whatsapp.Throttled:
		fmt.Println("retry after at least", whatsapp.MinRetryDelay(err))
	case whatsapp.Permanent:
		var apiErr *whatsapp.APIError
		errors.As(err, &apiErr)
		fmt.Println("mark failed:", apiErr.Code, apiErr.Details)
	case whatsapp.Unauthorized:
		fmt.Println("pause the channel and alert an admin")
	}
	// Output:
	// mark failed: 131047 More than 24 hours have passed.
}
