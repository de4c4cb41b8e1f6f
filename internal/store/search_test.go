package store_test

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store/storetest"
)

// A search finds the same conversations whichever way the store chose to
// run it: from the list of a rare term's matches, by walking the
// conversations for a common one (SQLite; PostgreSQL when its estimate is
// low), or as PostgreSQL's planner chooses. A test database never holds
// enough rows for the common paths, so the thresholds are lowered. Not
// parallel: the thresholds are package state, restored before the
// parallel tests resume.
func TestSearchPaths(t *testing.T) {
	engines := map[string]func(testing.TB) *store.DB{"SQLite": storetest.OpenSQLite, "PostgreSQL": storetest.OpenPostgres}
	for _, engine := range []string{"SQLite", "PostgreSQL"} {
		t.Run(engine, func(t *testing.T) {
			db := engines[engine](t)
			ctx := t.Context()
			now := helpdesk.Now()
			ch, err := db.UpsertChannel(ctx, helpdesk.Channel{ID: helpdesk.NewID(), Name: "Main", PhoneNumberID: "1001",
				AccessToken: "token", AppSecret: "secret", CreatedAt: now, UpdatedAt: now})
			if err != nil {
				t.Fatal(err)
			}
			dept := helpdesk.NewID()
			if _, err := db.SQL().ExecContext(ctx, "INSERT INTO departments (id, name, created_at, updated_at) VALUES ($1, 'Vendas', $2, $2)",
				dept, now); err != nil {
				t.Fatal(err)
			}
			conversation := func(waID, name string, texts ...string) string {
				t.Helper()
				cust, err := db.UpsertCustomer(ctx, []string{waID}, name, now)
				if err != nil {
					t.Fatal(err)
				}
				conv, _, err := db.OpenConversation(ctx, helpdesk.Conversation{ID: helpdesk.NewID(), ChannelID: ch.ID,
					Customer: cust, Status: helpdesk.StatusWaiting, WaitingSince: &now, CreatedAt: now, UpdatedAt: now})
				if err != nil {
					t.Fatal(err)
				}
				for i, text := range texts {
					at := now.Add(time.Duration(len(waID)+i) * time.Second)
					if _, err := db.InsertMessage(ctx, helpdesk.Message{ID: helpdesk.NewID(), ConversationID: conv.ID,
						Direction: helpdesk.DirectionInbound, SenderType: helpdesk.SenderCustomer, Type: "text", Text: text,
						WAMessageID: "wamid." + helpdesk.NewID(), Status: helpdesk.MessageReceived, CreatedAt: at}); err != nil {
						t.Fatal(err)
					}
					if _, err := db.NoteInboundMessage(ctx, conv.ID, text, at, now); err != nil {
						t.Fatal(err)
					}
				}
				return conv.ID
			}
			conversation("5511987650001", "José Álvares", "Olá", "Não consigo acessar minha conta")
			conversation("5521912340002", "Maria da Conceição", "Quero comprar um plano anual")
			hidden := conversation("5531955550003", "Conceição Souza", "Não consigo pagar o pedido")
			conversation("5541900000004", "Pedro", "Meu pedido não chegou", "pedidos 12 e 13")
			if _, err := db.SQL().ExecContext(ctx, "UPDATE conversations SET department_id = $1 WHERE id = $2", dept, hidden); err != nil {
				t.Fatal(err)
			}
			agent := &helpdesk.Viewer{UserID: helpdesk.NewID(), DepartmentIDs: []string{helpdesk.NewID()}}

			cases := []struct {
				q      string
				viewer *helpdesk.Viewer
				want   []string
			}{
				{"nao consigo", nil, []string{"Conceição Souza", "José Álvares"}},
				{"Não consig", nil, []string{"Conceição Souza", "José Álvares"}},
				{"nao consigo", agent, []string{"José Álvares"}},
				{"consig acessar", nil, nil},
				{"conceicao", nil, []string{"Conceição Souza", "Maria da Conceição"}},
				{"Conceição", agent, []string{"Maria da Conceição"}},
				{"pedido", nil, []string{"Conceição Souza", "Pedro"}},
				{"98765", nil, []string{"José Álvares"}},
				{"plano comprar", nil, []string{"Maria da Conceição"}},
				{"xyzzy", nil, nil},
			}
			for _, mode := range []struct {
				name         string
				probe        int
				trustPlanner float64
			}{
				{"defaults", 2000, 2000},
				{"every term common", 0, math.Inf(1)},
				{"planner trusted", 2000, 0},
			} {
				restore := store.SetSearchThresholds(mode.probe, mode.trustPlanner)
				for _, c := range cases {
					got, err := db.ListConversations(ctx, helpdesk.ConversationFilter{Query: c.q, Viewer: c.viewer})
					if err != nil {
						t.Errorf("%s: q=%q: %v", mode.name, c.q, err)
						continue
					}
					var names []string
					for _, v := range got {
						names = append(names, v.Customer.ProfileName)
					}
					slices.Sort(names)
					if fmt.Sprint(names) != fmt.Sprint(c.want) {
						t.Errorf("%s: q=%q viewer=%v: got %v, want %v", mode.name, c.q, c.viewer != nil, names, c.want)
					}
				}
				restore()
			}
		})
	}
}
