package bench

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store"
)

// The generated inbox: Brazilian customers writing Portuguese (with
// accents) to five departments, handled by a few dozen agents and a bot,
// spread over six months. Most conversations are closed; the newest ones
// are live (bot, waiting, open). The seed is fixed, so every run (and
// every engine) gets the same data.

var firstNames = []string{
	"Ana", "Maria", "José", "João", "Antônio", "Francisco", "Carlos", "Paulo", "Pedro", "Lucas", "Luís", "Marcos",
	"Gabriel", "Rafael", "Daniel", "Marcelo", "Bruno", "Eduardo", "Felipe", "Raimundo", "Rodrigo", "Sebastião",
	"Conceição", "Fátima", "Márcia", "Patrícia", "Aline", "Sandra", "Camila", "Amanda", "Bruna", "Jéssica", "Letícia",
	"Júlia", "Luciana", "Vanessa", "Mariana", "Gabriela", "Valéria", "Adriana", "Inês", "Cecília", "Vitória", "Helena",
	"Thaís", "Débora", "Mônica", "Tânia", "Joaquim", "Otávio", "Caio", "Vinícius", "Flávio", "Fábio", "Rogério", "Cláudio",
}

var lastNames = []string{
	"Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima", "Gomes", "Costa",
	"Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Soares", "Fernandes", "Vieira", "Barbosa", "Rocha", "Dias",
	"Nascimento", "Andrade", "Moreira", "Nunes", "Marques", "Machado", "Mendes", "Freitas", "Cardoso", "Ramos",
	"Gonçalves", "Araújo", "Simões", "Magalhães", "Brandão", "Falcão", "Guimarães", "Conceição", "Assunção", "Antunes",
}

// Area codes of the generated numbers (55 + DDD + 9 + eight digits).
var areaCodes = []string{"11", "21", "31", "41", "51", "61", "71", "81", "85", "91", "19", "27", "48", "62", "92"}

var greetings = []string{"Olá, boa tarde!", "Oi, bom dia", "Boa noite, tudo bem?", "Olá", "Bom dia!", "Oi, alguém pode me ajudar?"}

var problems = []string{
	"Não consigo acessar minha conta desde ontem",
	"Meu pedido %d ainda não chegou, já faz uma semana",
	"Quero cancelar a assinatura do plano anual",
	"A cobrança veio duplicada no cartão de crédito",
	"Preciso da segunda via do boleto com vencimento para sexta",
	"O aplicativo fecha sozinho quando abro o carrinho",
	"Gostaria de trocar o endereço de entrega do pedido %d",
	"Vocês têm previsão de reposição do produto?",
	"Fiz o pagamento via Pix e não foi confirmado",
	"Minha senha não funciona, já tentei redefinir três vezes",
	"O produto chegou com defeito, a tela está trincada",
	"Quero saber se o frete é grátis para o Nordeste",
	"Qual o prazo de devolução? Não gostei da cor",
	"A nota fiscal do pedido %d não veio no e-mail",
	"Não estou conseguindo emitir o relatório de vendas",
	"Vocês parcelam em quantas vezes sem juros?",
	"O técnico não apareceu na visita agendada",
	"Minha fatura de março está com um valor errado",
	"Preciso alterar o CPF cadastrado na conta",
	"O código de rastreio não é reconhecido pelos Correios",
}

var followUps = []string{
	"Obrigado!", "Ok, aguardo", "Entendi, muito obrigada", "Ainda não resolveu", "Já fiz isso e continua igual",
	"Pode verificar de novo, por favor?", "Certo, vou tentar", "Perfeito, funcionou!", "Quanto tempo demora?",
	"Meu número do pedido é %d", "Segue o comprovante em anexo", "Não recebi nenhum e-mail de confirmação",
	"Vocês podem me ligar?", "É urgente, preciso disso hoje", "Tá bom", "Não entendi, pode explicar melhor?",
}

var agentReplies = []string{
	"Olá! Meu nome é %s e vou te ajudar.",
	"Poderia me informar o número do pedido, por favor?",
	"Já verifiquei aqui: o reembolso será feito em até 5 dias úteis.",
	"Obrigado pela paciência!",
	"Sua solicitação foi encaminhada ao setor responsável.",
	"Consegui localizar o pedido %d, ele está em trânsito.",
	"Enviei a segunda via do boleto para o seu e-mail.",
	"Por favor, tente limpar o cache do aplicativo e entrar novamente.",
	"Vou abrir um chamado técnico para a sua visita ser reagendada.",
	"A cobrança duplicada já foi estornada, aparece na próxima fatura.",
	"Posso ajudar em mais alguma coisa?",
	"Confirmei o pagamento, já está tudo certo com a sua conta.",
	"O prazo de devolução é de 7 dias após o recebimento.",
	"Atualizei o endereço de entrega conforme solicitado.",
}

var botMessages = []string{
	"Olá! Sou a assistente virtual. Digite 1 para Suporte, 2 para Vendas, 3 para Financeiro, 4 para Cobrança ou 5 para Logística.",
	"Certo! Vou transferir você para um atendente. Aguarde um momento, por favor.",
	"Você está na posição %d da fila.",
}

// rareText is written into about one message in 50,000: the "rare word"
// searches look for it.
const rareText = "Entregaram um paralelepípedo no lugar do celular!"

// benchDepartments are created beside the default ones.
var benchDepartments = []string{"Cobrança", "Logística"}

// inbox is what the measurements need to know about the generated data.
type inbox struct {
	agentEmail, supervisorEmail string
	agentDepartmentID           string // the department the agent belongs to
	otherDepartmentID           string // one the agent does not
	phoneFragment               string // middle digits of a generated customer's number
	conversations, messages     int
}

// generate fills an empty, migrated and bootstrapped database. Users and
// departments go through the store; customers, conversations and messages
// are written in bulk (multi-row INSERTs in large transactions on SQLite,
// COPY on PostgreSQL), with the search indexes filled as the product fills
// them (the FTS5 triggers on SQLite; the GIN index on PostgreSQL is rebuilt
// from its own definition after the load).
func generate(ctx context.Context, db *store.DB, convs, msgs int) (inbox, error) {
	in := inbox{agentEmail: "ana@suporte.com", supervisorEmail: "supervisor@suporte.com", conversations: convs, messages: msgs}
	rng := rand.New(rand.NewPCG(4, 2026))
	now := helpdesk.Now()

	// Departments and agents.
	for _, name := range benchDepartments {
		if err := db.CreateDepartment(ctx, helpdesk.Department{ID: helpdesk.NewID(), Name: name, Active: true, CreatedAt: now, UpdatedAt: now}); err != nil {
			return in, err
		}
	}
	depts, err := db.ListDepartments(ctx)
	if err != nil {
		return in, err
	}
	ana, err := db.GetUserByEmail(ctx, in.agentEmail)
	if err != nil {
		return in, fmt.Errorf("the demo agent: %w", err)
	}
	in.agentDepartmentID = ana.DepartmentIDs[0]
	agents := map[string][]string{} // department id → agent ids
	deptIDs := make([]string, len(depts))
	for i, d := range depts {
		deptIDs[i] = d.ID
		if d.ID != in.agentDepartmentID && in.otherDepartmentID == "" {
			in.otherDepartmentID = d.ID
		}
		for j := range 8 {
			u := helpdesk.User{ID: helpdesk.NewID(), Name: firstNames[(i*8+j)%len(firstNames)] + " Atendente",
				Email: fmt.Sprintf("agente%d.%d@bench.example", i, j), PasswordHash: ana.PasswordHash, Role: helpdesk.RoleAgent,
				Active: true, MaxConversations: helpdesk.DefaultMaxConversations, DepartmentIDs: []string{d.ID}, CreatedAt: now, UpdatedAt: now}
			if err := db.CreateUser(ctx, u); err != nil {
				return in, err
			}
			agents[d.ID] = append(agents[d.ID], u.ID)
		}
	}
	agents[in.agentDepartmentID] = append(agents[in.agentDepartmentID], ana.ID)
	// The measured agent's department (Suporte) is the busiest queue.
	slices.SortStableFunc(deptIDs, func(a, b string) int {
		return cmp.Compare(boolInt(b == in.agentDepartmentID), boolInt(a == in.agentDepartmentID))
	})
	chans, err := db.ListChannels(ctx)
	if err != nil || len(chans) == 0 {
		return in, fmt.Errorf("no channel: %v", err)
	}
	channelID := chans[0].ID

	w, err := newBulkWriter(ctx, db)
	if err != nil {
		return in, err
	}
	defer w.close()

	// Customers: one per 1.4 conversations, so many customers come back.
	nCust := max(1, convs*10/14)
	custIDs := make([]string, nCust)
	custPhones := make([]string, nCust)
	start := now.Add(-180 * 24 * time.Hour)
	span := now.Add(-time.Hour).Sub(start)
	var rows [][]any
	for c := range nCust {
		name := firstNames[rng.IntN(len(firstNames))] + " " + lastNames[rng.IntN(len(lastNames))]
		if rng.IntN(3) == 0 {
			name += " " + lastNames[rng.IntN(len(lastNames))]
		}
		if c%50 == 1 { // so the name searches find someone at any size
			name = "Maria da Conceição Magalhães"
		}
		// A bijection of c onto eight digits: unique numbers that look random.
		custIDs[c] = helpdesk.NewID()
		custPhones[c] = "55" + areaCodes[c%len(areaCodes)] + "9" + fmt.Sprintf("%08d", (int64(c)*7919+12345)%100_000_000)
		at := start.Add(time.Duration(float64(span) * float64(c) / float64(nCust)))
		rows = append(rows, []any{custIDs[c], custPhones[c], name, name, at, at})
	}
	in.phoneFragment = custPhones[nCust/3][5:11]
	if err := w.insert(ctx, "customers", []string{"id", "wa_id", "name", "profile_name", "created_at", "updated_at"}, rows); err != nil {
		return in, err
	}

	// Conversations and their messages, in chunks so memory stays flat.
	convCols := []string{"id", "channel_id", "customer_id", "department_id", "assignee_id", "status", "last_message_at",
		"last_message_preview", "last_inbound_at", "unread_count", "waiting_since", "closed_at", "closed_by", "created_at", "updated_at"}
	msgCols := []string{"id", "conversation_id", "direction", "sender_type", "sender_id", "type", "text", "wa_message_id", "status", "created_at"}
	base, rem := msgs/convs, msgs%convs
	live := max(1, convs*12/100) // the newest 12% may still be live
	var convRows, msgRows [][]any
	var delta int
	written := 0
	for i := range convs {
		// Message count: base, plus the remainder spread, perturbed in
		// pairs so the total stays exact.
		k := base
		if i < rem {
			k++
		}
		if i%2 == 0 {
			delta = 0
			if base > 1 && i+1 < convs {
				delta = rng.IntN(base)
			}
			k += delta
		} else {
			k -= delta
		}
		k = max(k, 1)
		if i == convs-1 {
			k = max(msgs-written, 1)
		}
		written += k

		// The customer's last conversation is the only one that may be live.
		cust := i % nCust
		status := helpdesk.StatusClosed
		if i >= convs-live && i >= convs-nCust {
			switch r := rng.IntN(100); {
			case r < 15:
				status = helpdesk.StatusBot
			case r < 40:
				status = helpdesk.StatusWaiting
			case r < 85:
				status = helpdesk.StatusOpen
			}
		}
		dept := deptIDs[weightedDept(rng, len(deptIDs))]
		var deptID, assignee any = dept, nil
		switch status {
		case helpdesk.StatusBot:
			deptID = nil
		case helpdesk.StatusOpen:
			assignee = pick(rng, agents[dept])
		case helpdesk.StatusClosed:
			if rng.IntN(10) > 0 {
				assignee = pick(rng, agents[dept])
			}
		}
		convID := helpdesk.NewID()
		created := start.Add(time.Duration(float64(span) * float64(i) / float64(convs))).Add(time.Duration(rng.IntN(600)) * time.Second)
		at := created
		var lastInbound time.Time
		var lastText string
		unread := 0
		order := rng.IntN(1_000_000)
		for j := range k {
			inbound := j == 0 || j == k-1 && status != helpdesk.StatusClosed && status != helpdesk.StatusOpen || rng.IntN(2) == 0
			var dir, sender, text, mstatus string
			var senderID any
			switch {
			case inbound:
				dir, sender, mstatus = "inbound", "customer", "read"
				switch {
				case (written-k+j)%50_000 == 7:
					text = rareText
				case j == 0:
					text = greetings[rng.IntN(len(greetings))] + " " + fill(problems[rng.IntN(len(problems))], order)
				default:
					text = fill(followUps[rng.IntN(len(followUps))], order)
				}
				lastInbound = at
			case status == helpdesk.StatusBot || assignee == nil:
				dir, sender, mstatus = "outbound", "bot", "delivered"
				text = fill(botMessages[rng.IntN(len(botMessages))], 1+rng.IntN(9))
			default:
				dir, sender, mstatus, senderID = "outbound", "agent", "read", assignee
				text = agentReplies[rng.IntN(len(agentReplies))]
				if strings.Contains(text, "%s") {
					text = fmt.Sprintf(text, firstNames[rng.IntN(len(firstNames))])
				} else {
					text = fill(text, order)
				}
			}
			if j == k-1 && inbound && status != helpdesk.StatusClosed {
				unread = 1 + rng.IntN(3)
				mstatus = "received"
			}
			// Zero-padded, so the unique index on wamids is filled in order.
			msgRows = append(msgRows, []any{helpdesk.NewID(), convID, dir, sender, senderID, "text", text,
				fmt.Sprintf("wamid.bench.%09d", written-k+j), mstatus, at})
			lastText = text
			if j < k-1 {
				at = at.Add(time.Duration(20+rng.IntN(900)) * time.Second)
			}
		}
		var waiting, closed, closedBy any
		switch status {
		case helpdesk.StatusWaiting:
			waiting = lastInbound
		case helpdesk.StatusClosed:
			closed, closedBy = at.Add(time.Minute), assignee
		}
		var li any
		if !lastInbound.IsZero() {
			li = lastInbound
		}
		convRows = append(convRows, []any{convID, channelID, custIDs[cust], deptID, assignee, string(status), at,
			preview(lastText), li, unread, waiting, closed, closedBy, created, at})
		if len(msgRows) >= 50_000 || i == convs-1 {
			if err := w.insert(ctx, "conversations", convCols, convRows); err != nil {
				return in, err
			}
			if err := w.insert(ctx, "messages", msgCols, msgRows); err != nil {
				return in, err
			}
			convRows, msgRows = convRows[:0], msgRows[:0]
		}
	}
	return in, w.finish(ctx)
}

// weightedDept favours the first departments, as real queues are uneven.
func weightedDept(rng *rand.Rand, n int) int {
	for i := range n - 1 {
		if rng.IntN(3) == 0 {
			return i
		}
	}
	return n - 1
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func pick(rng *rand.Rand, ids []string) any {
	if len(ids) == 0 {
		return nil
	}
	return ids[rng.IntN(len(ids))]
}

func fill(s string, n int) string {
	if strings.Contains(s, "%d") {
		return fmt.Sprintf(s, n)
	}
	return s
}

func preview(s string) string {
	return helpdesk.Preview(helpdesk.Message{Type: "text", Text: s})
}

// bulkWriter writes rows the fastest way each engine offers.
type bulkWriter struct {
	db       *store.DB
	postgres bool
	conn     *sql.Conn // PostgreSQL: one session for the COPYs
	ginDef   string    // PostgreSQL: the search index, rebuilt after the load
}

func newBulkWriter(ctx context.Context, db *store.DB) (*bulkWriter, error) {
	w := &bulkWriter{db: db, postgres: db.Dialect() == store.DialectPostgres}
	if !w.postgres {
		return w, nil
	}
	conn, err := db.SQL().Conn(ctx)
	if err != nil {
		return nil, err
	}
	w.conn = conn
	// Filling a GIN index row by row is far slower than building it once;
	// the rebuilt index is the migration's own definition.
	if err := conn.QueryRowContext(ctx, `SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'messages_search_idx'`).
		Scan(&w.ginDef); err != nil {
		conn.Close()
		return nil, fmt.Errorf("find the search index: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "DROP INDEX messages_search_idx"); err != nil {
		conn.Close()
		return nil, err
	}
	return w, nil
}

func (w *bulkWriter) insert(ctx context.Context, table string, cols []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if w.postgres {
		return w.conn.Raw(func(dc any) error {
			_, err := dc.(*stdlib.Conn).Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
			if err != nil {
				return fmt.Errorf("copy %s: %w", table, err)
			}
			return nil
		})
	}
	// SQLite: one transaction per call, statements of up to 500 rows.
	tx, err := w.db.SQL().BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	per := min(500, 30000/len(cols))
	stmts := map[int]*sql.Stmt{}
	for lo := 0; lo < len(rows); lo += per {
		chunk := rows[lo:min(lo+per, len(rows))]
		st := stmts[len(chunk)]
		if st == nil {
			if st, err = tx.PrepareContext(ctx, insertSQL(table, cols, len(chunk))); err != nil {
				return fmt.Errorf("insert into %s: %w", table, err)
			}
			stmts[len(chunk)] = st
		}
		args := make([]any, 0, len(chunk)*len(cols))
		for _, r := range chunk {
			args = append(args, r...)
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("insert into %s: %w", table, err)
		}
	}
	return tx.Commit()
}

// insertSQL is a multi-row INSERT for SQLite. Its placeholders are "?",
// not "$N": the driver looks each "$N" up by name in a list, which with
// thousands of parameters per statement took two thirds of the load's CPU.
func insertSQL(table string, cols []string, n int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	return "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES " +
		strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// finish rebuilds what the load postponed and refreshes the planner's
// statistics on PostgreSQL, as autovacuum would shortly after such a load.
// SQLite gets no ANALYZE: the product never runs one, so the plans measured
// are the plans users get.
func (w *bulkWriter) finish(ctx context.Context) error {
	if !w.postgres {
		return nil
	}
	if _, err := w.conn.ExecContext(ctx, "SET maintenance_work_mem = '256MB'"); err != nil {
		return err
	}
	if _, err := w.conn.ExecContext(ctx, w.ginDef); err != nil {
		return fmt.Errorf("rebuild the search index: %w", err)
	}
	_, err := w.conn.ExecContext(ctx, "ANALYZE")
	return err
}

func (w *bulkWriter) close() {
	if w.conn != nil {
		w.conn.Close()
	}
}
