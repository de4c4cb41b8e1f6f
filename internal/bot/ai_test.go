package bot

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestAIAnswerFailures(t *testing.T) {
	cases := []struct {
		name    string
		handler http.HandlerFunc
	}{
		// The body is read first: only then does the server notice the
		// client hanging up and cancel r's context.
		{"Timeout", func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body); <-r.Context().Done() }},
		{"ServerError", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", http.StatusBadGateway) }},
		{"NotJSON", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<html>")) }},
		{"NoChoices", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"choices":[]}`)) }},
		{"EmptyContent", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"choices":[{"message":{"content":"  "}}]}`))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(c.handler)
			defer srv.Close()
			ai := &AI{BaseURL: srv.URL, Model: "m", Timeout: 100 * time.Millisecond}
			if _, err := ai.Answer(context.Background(), "sys", []ChatMessage{{Role: "user", Content: "oi"}}); err == nil {
				t.Fatal("no error")
			} else if c.name == "NoChoices" && !errors.Is(err, ErrAIUnusable) {
				t.Errorf("err = %v", err)
			}
		})
	}
}

func TestSystemMessageKeepsTheRules(t *testing.T) {
	s := SystemMessage("Fale como pirata.", "Frete grátis acima de R$ 200.")
	for _, want := range []string{"Fale como pirata.", "não invente preços", "nunca revele", HandoffTool, "Frete grátis acima de R$ 200."} {
		if !strings.Contains(s, want) {
			t.Errorf("system message lacks %q:\n%s", want, s)
		}
	}
}
