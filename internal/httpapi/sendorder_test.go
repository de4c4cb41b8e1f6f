package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/bot"
)

// orderedGraph is the graphFake with a log of every send request's text in
// the order the requests arrived, failures included ("r1!500"), and
// failures scripted per text rather than per request.
type orderedGraph struct {
	*graphFake
	mu       sync.Mutex
	attempts []string
	failText map[string][]graphFailure
}

func newOrderedGraph(t *testing.T) *orderedGraph {
	o := &orderedGraph{graphFake: &graphFake{sent: make(chan string, 100), media: map[string][]byte{}}, failText: map[string][]graphFailure{}}
	o.graphFake.srv = httptest.NewServer(http.HandlerFunc(o.serve))
	t.Cleanup(o.graphFake.srv.Close)
	return o
}

func (o *orderedGraph) failOn(text string, status, code int, message string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.failText[text] = append(o.failText[text], graphFailure{status, code, message})
}

func (o *orderedGraph) log() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.attempts)
}

func (o *orderedGraph) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != "POST" || !strings.HasSuffix(r.URL.Path, "/messages") {
		o.graphFake.serve(w, r)
		return
	}
	raw, _ := io.ReadAll(r.Body)
	var body struct {
		Status string `json:"status"`
		Text   struct {
			Body string `json:"body"`
		} `json:"text"`
	}
	_ = json.Unmarshal(raw, &body)
	if body.Status == "" {
		text := body.Text.Body
		o.mu.Lock()
		if fs := o.failText[text]; len(fs) > 0 {
			f := fs[0]
			o.failText[text] = fs[1:]
			o.attempts = append(o.attempts, fmt.Sprintf("%s!%d", text, f.code))
			o.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(f.status)
			fmt.Fprintf(w, `{"error":{"message":%q,"type":"OAuthException","code":%d,"error_data":{"messaging_product":"whatsapp","details":%q},"fbtrace_id":"Axyz"}}`, f.message, f.code, f.message)
			return
		}
		o.attempts = append(o.attempts, text)
		o.mu.Unlock()
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	o.graphFake.serve(w, r)
}

// postReplies posts texts to conv back to back, as an agent typing fast,
// and returns their message ids.
func postReplies(t *testing.T, e *testEnv, token, conv string, texts ...string) []string {
	t.Helper()
	ids := make([]string, len(texts))
	for i, text := range texts {
		ids[i] = e.mustStatus(e.call("POST", "/api/v1/messages", token, map[string]any{"conversationId": conv, "text": text}), 202).json(t)["id"].(string)
	}
	return ids
}

// An agent's replies posted back to back reach Meta in the order they were
// written, each once: six posted while the workers are down, so that all
// their jobs are there together when the workers start (the worst case),
// then three more while the workers run.
func TestRepliesReachGraphInOrder(t *testing.T) {
	for i, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			g := newOrderedGraph(t)
			e := newTestEnv(t, eng.open(t), newDeliveryEnv(t, g.graphFake, nil))
			admin := e.admin()
			conv := e.customerWrites(admin.access, fmt.Sprintf("55119777000%02d", i), fmt.Sprintf("wamid.order%d", i), "oi", time.Now())
			pending := []string{"r1", "r2", "r3", "r4", "r5", "r6"}
			ids := postReplies(t, e, admin.access, conv, pending...)
			start := time.Now()
			if err := e.srv.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			var lat []time.Duration
			for _, id := range ids {
				waitStatus(t, e, admin.access, conv, id, "sent")
				lat = append(lat, time.Since(start).Round(time.Millisecond))
			}
			t.Logf("%d replies waiting for the workers: sent %v after they started", len(pending), lat)

			burst := []string{"s1", "s2", "s3"}
			start = time.Now()
			ids = postReplies(t, e, admin.access, conv, burst...)
			lat = lat[:0]
			for _, id := range ids {
				waitStatus(t, e, admin.access, conv, id, "sent")
				lat = append(lat, time.Since(start).Round(time.Millisecond))
			}
			t.Logf("burst of %d replies: sent %v after the first post", len(burst), lat)

			want := slices.Concat(pending, burst)
			if got := g.log(); !slices.Equal(got, want) {
				t.Errorf("Graph received %v, want %v", got, want)
			}
			if n := g.sendCount(); n != len(want) {
				t.Errorf("Graph accepted %d sends, want %d", n, len(want))
			}
		})
	}
}

// A reply Meta refuses for good (131026, undeliverable) is failed and the
// replies after it go, in order.
func TestFailedReplyReleasesLaterOnes(t *testing.T) {
	for i, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			g := newOrderedGraph(t)
			e := newTestEnv(t, eng.open(t), newDeliveryEnv(t, g.graphFake, nil))
			if err := e.srv.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			admin := e.admin()
			conv := e.customerWrites(admin.access, fmt.Sprintf("55119777001%02d", i), fmt.Sprintf("wamid.orderf%d", i), "oi", time.Now())
			g.failOn("f1", 400, 131026, "Message undeliverable")
			ids := postReplies(t, e, admin.access, conv, "f1", "f2", "f3", "f4")
			failed := waitStatus(t, e, admin.access, conv, ids[0], "failed")
			if code := failed["error"].(map[string]any)["code"]; code != "131026" {
				t.Errorf("f1 failed with %v, want 131026", code)
			}
			for _, id := range ids[1:] {
				waitStatus(t, e, admin.access, conv, id, "sent")
			}
			if got, want := g.log(), []string{"f1!131026", "f2", "f3", "f4"}; !slices.Equal(got, want) {
				t.Errorf("Graph received %v, want %v", got, want)
			}
		})
	}
}

// A reply that meets a 5xx is retried and still reaches Meta before the
// replies written after it: order comes first.
func TestRetriedReplyStillGoesFirst(t *testing.T) {
	for i, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			t.Parallel()
			g := newOrderedGraph(t)
			e := newTestEnv(t, eng.open(t), newDeliveryEnv(t, g.graphFake, nil))
			if err := e.srv.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			admin := e.admin()
			conv := e.customerWrites(admin.access, fmt.Sprintf("55119777002%02d", i), fmt.Sprintf("wamid.ordert%d", i), "oi", time.Now())
			g.failOn("t1", 500, 1, "An unknown error occurred")
			start := time.Now()
			ids := postReplies(t, e, admin.access, conv, "t1", "t2", "t3")
			for _, id := range ids {
				waitStatus(t, e, admin.access, conv, id, "sent")
			}
			t.Logf("three replies behind one retry: all sent after %v", time.Since(start).Round(time.Millisecond))
			if got, want := g.log(), []string{"t1!1", "t1", "t2", "t3"}; !slices.Equal(got, want) {
				t.Errorf("Graph received %v, want %v", got, want)
			}
			if n := g.sendCount(); n != 3 {
				t.Errorf("Graph accepted %d sends, want 3", n)
			}
		})
	}
}

// The bot stores the replies of one turn in one transaction, with one
// timestamp. It joins them into one message where it can, but a text too
// long to head a menu's body goes as a message of its own: the customer
// still reads it before the menu. Four customers, so that the old luck of
// the draw does not pass.
func TestBotRepliesOfOneTurnArriveInOrder(t *testing.T) {
	forEachEngine(t, nil, func(t *testing.T, e *testEnv) {
		b := startBot(t, e, nil)
		long := "b1 " + strings.Repeat("Leia com atenção. ", 60) // over the 1024 of an interactive body
		b.put("flow", bot.Flow{Start: "b1", Nodes: []bot.Node{
			{ID: "b1", Type: bot.NodeMessage, Text: long, Next: "menu"},
			{ID: "menu", Type: bot.NodeMenu, Text: "b2 Sobre o que é?", Options: []bot.Option{
				{ID: "pedido", Title: "Meu pedido", Department: "Vendas"}, {ID: "outro", Title: "Outro assunto", Action: bot.ActionTargetHuman}}},
		}}, 200)
		var phones []*phone
		for i := range 4 {
			p := b.customer(100 + i)
			p.say("oi")
			phones = append(phones, p)
		}
		for _, p := range phones {
			var got []string
			for range 2 {
				got = append(got, strings.Fields(text(p.next()))[0])
			}
			if want := []string{"b1", "b2"}; !slices.Equal(got, want) {
				t.Errorf("customer %s read %v, want %v", p.c.WAID, got, want)
			}
		}
	})
}
