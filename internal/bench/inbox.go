package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/config"
	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/server"
)

// InboxOptions sets up a list and search run.
type InboxOptions struct {
	DatabaseURL   string // "" → a fresh SQLite file in a temporary directory, removed afterwards
	Conversations int    // generated conversations (default 100,000)
	Messages      int    // generated messages (default 1,000,000)
	Requests      int    // measured requests per case (default 100)
	PageSize      int    // the limit parameter of every request (default 50, the API's default)
	// Reuse measures a database an earlier run generated (same sizes)
	// instead of refusing it; without it the database must hold no
	// conversations.
	Reuse bool
	Out   io.Writer
}

// Latency is one measured case: a request repeated as one user.
type Latency struct {
	Case, Role    string
	Search        bool
	Requests      int
	Rows          int // items on the first page the case returned
	P50, P95, P99 time.Duration
}

// Targets of the benchmark (issue 4): p95 of the list and of search.
const (
	ListTargetP95   = 20 * time.Millisecond
	SearchTargetP95 = 100 * time.Millisecond
)

// Target is the p95 the case should stay under.
func (l Latency) Target() time.Duration {
	if l.Search {
		return SearchTargetP95
	}
	return ListTargetP95
}

// InboxResult is one run of Inbox.
type InboxResult struct {
	Engine                  string
	Conversations, Messages int
	Generation              time.Duration // 0 when an existing database was reused
	Cases                   []Latency
	// Load is the machine's load average before and after the
	// measurements: on a shared machine, other work shows in the tails.
	Load string
}

// loadAverage is the 1-minute load average (Linux), "?" elsewhere.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

// Inbox generates a large inbox (or reuses one) and measures the
// conversation list and search through the real HTTP API, logged in as an
// agent and as a supervisor.
func Inbox(ctx context.Context, o InboxOptions) (InboxResult, error) {
	if o.Conversations <= 0 {
		o.Conversations = 100_000
	}
	if o.Messages <= 0 {
		o.Messages = 1_000_000
	}
	if o.Messages < o.Conversations {
		return InboxResult{}, fmt.Errorf("%d messages cannot fill %d conversations (at least one each)", o.Messages, o.Conversations)
	}
	if o.Requests <= 0 {
		o.Requests = 100
	}
	if o.PageSize <= 0 {
		o.PageSize = 50
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	dir, err := os.MkdirTemp("", "supportwhatsapp-bench-")
	if err != nil {
		return InboxResult{}, err
	}
	defer os.RemoveAll(dir)
	res := InboxResult{Conversations: o.Conversations, Messages: o.Messages}
	dbURL := o.DatabaseURL
	if dbURL == "" {
		dbURL = "sqlite:" + filepath.Join(dir, "inbox.db")
	}
	cfg, err := config.Load(map[string]string{
		"APP_ENV": "test", "DATABASE_URL": dbURL, "BCRYPT_ROUNDS": "4", "MEDIA_DIR": filepath.Join(dir, "media"), "LOG_LEVEL": "error",
		"RATE_LIMIT_MAX_REQUESTS": "1000000000", "LOGIN_MAX_FAILURES": "1000",
	})
	if err != nil {
		return res, err
	}
	srv, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return res, err
	}
	res.Engine = engineName(srv)
	var existing int
	if err := srv.DB.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM conversations").Scan(&existing); err != nil {
		srv.DB.Close()
		return res, err
	}
	var in inbox
	switch {
	case existing == 0:
		fmt.Fprintf(o.Out, "generating %d conversations and %d messages on %s…\n", o.Conversations, o.Messages, res.Engine)
		t0 := time.Now()
		_, err = srv.Desk.SeedDemo(ctx)
		if err == nil {
			in, err = generate(ctx, srv.DB, o.Conversations, o.Messages)
		}
		res.Generation = time.Since(t0)
		if err != nil {
			srv.DB.Close()
			return res, fmt.Errorf("generate: %w", err)
		}
		fmt.Fprintf(o.Out, "generated in %s\n", res.Generation.Round(100*time.Millisecond))
	case o.Reuse:
		if in, err = describe(ctx, srv); err != nil {
			srv.DB.Close()
			return res, err
		}
		res.Conversations, res.Messages = in.conversations, in.messages
		fmt.Fprintf(o.Out, "reusing %d conversations and %d messages on %s\n", in.conversations, in.messages, res.Engine)
	default:
		srv.DB.Close()
		return res, fmt.Errorf("the database already holds %d conversations: name an empty one, or pass -reuse to measure what an earlier run generated", existing)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.DB.Close()
		return res, err
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	load := loadAverage()
	res.Cases, err = measure(ctx, "http://"+ln.Addr().String(), in, o)
	res.Load = load + " → " + loadAverage()
	stop()
	if serr := <-done; err == nil {
		err = serr
	}
	if err != nil {
		return res, err
	}
	printInbox(o.Out, res)
	return res, nil
}

// describe finds what measure needs in a database generate filled earlier.
func describe(ctx context.Context, srv *server.Server) (inbox, error) {
	in := inbox{agentEmail: "ana@suporte.com", supervisorEmail: "supervisor@suporte.com"}
	ana, err := srv.DB.GetUserByEmail(ctx, in.agentEmail)
	if err != nil || len(ana.DepartmentIDs) == 0 {
		return in, fmt.Errorf("not a database this benchmark generated (no demo agent): %v", err)
	}
	in.agentDepartmentID = ana.DepartmentIDs[0]
	db := srv.DB.SQL()
	if err := db.QueryRowContext(ctx, "SELECT id FROM departments WHERE id <> $1 ORDER BY name LIMIT 1", in.agentDepartmentID).Scan(&in.otherDepartmentID); err != nil {
		return in, err
	}
	var wa string
	if err := db.QueryRowContext(ctx, "SELECT wa_id FROM customers ORDER BY created_at LIMIT 1 OFFSET (SELECT COUNT(*) / 3 FROM customers)").Scan(&wa); err != nil {
		return in, err
	}
	in.phoneFragment = wa[5:11]
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM conversations").Scan(&in.conversations); err != nil {
		return in, err
	}
	err = db.QueryRowContext(ctx, "SELECT COUNT(*) FROM messages").Scan(&in.messages)
	return in, err
}

// benchCase is one request shape; pages follows nextCursor from the first
// page and measures only the later pages.
type benchCase struct {
	name   string
	query  string
	search bool
	pages  bool
}

func cases(in inbox) []benchCase {
	list := []benchCase{
		{name: "first page", query: ""},
		{name: "status=waiting", query: "status=waiting"},
		{name: "status=open,waiting", query: "status=open,waiting"},
		{name: "departmentId (own)", query: "departmentId=" + in.agentDepartmentID},
		{name: "assigneeId=me", query: "assigneeId=me"},
		{name: "unread=true", query: "unread=true"},
		{name: "next pages by cursor", query: "", pages: true},
		{name: "status=closed, next pages", query: "status=closed", pages: true},
	}
	for _, q := range []struct{ name, q string }{
		{"name, unaccented", "conceicao"},
		{"name, accented", "Magalhães"},
		{"phone fragment", in.phoneFragment},
		{"common word", "pedido"},
		{"common words, unaccented", "nao consigo"},
		{"common words, accented", "Não consigo"},
		{"rare word, unaccented", "paralelepipedo"},
		{"rare word, accented", "paralelepípedo"},
		{"no match", "xyzzy"},
	} {
		list = append(list, benchCase{name: "q: " + q.name, query: "q=" + url.QueryEscape(q.q), search: true})
	}
	return list
}

// measure runs every case of both roles in rounds, one request of each per
// round, rather than each case's requests back to back: on a shared
// machine a burst of other work then lands on every case alike instead of
// on whichever case happened to be running.
func measure(ctx context.Context, base string, in inbox, o InboxOptions) ([]Latency, error) {
	client := &http.Client{Timeout: time.Minute}
	defer client.CloseIdleConnections()
	var runs []*caseRun
	for _, role := range []struct{ name, email string }{{"agent", in.agentEmail}, {"supervisor", in.supervisorEmail}} {
		token, err := login(ctx, client, base, role.email)
		if err != nil {
			return nil, err
		}
		for _, c := range cases(in) {
			c.query = strings.TrimPrefix(c.query+"&limit="+fmt.Sprint(o.PageSize), "&")
			runs = append(runs, &caseRun{c: c, role: role.name, token: token})
		}
	}
	// Two unmeasured rounds first (connections and prepared statements
	// warm, as on a running server).
	for i := -2; i < o.Requests; i++ {
		for _, r := range runs {
			if err := r.step(ctx, client, base, i >= 0); err != nil {
				return nil, fmt.Errorf("%s, %s: %w", r.role, r.c.name, err)
			}
		}
	}
	out := make([]Latency, len(runs))
	for i, r := range runs {
		slices.Sort(r.times)
		out[i] = Latency{Case: r.c.name, Role: r.role, Search: r.c.search, Requests: len(r.times), Rows: r.rows,
			P50: percentile(r.times, 50), P95: percentile(r.times, 95), P99: percentile(r.times, 99)}
	}
	return out, nil
}

func login(ctx context.Context, client *http.Client, base, email string) (string, error) {
	body, _ := json.Marshal(map[string]string{"email": email, "password": helpdesk.DemoPassword})
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/auth/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"accessToken"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || res.StatusCode != 200 || tok.AccessToken == "" {
		return "", fmt.Errorf("log in as %s: status %d %v", email, res.StatusCode, err)
	}
	return tok.AccessToken, nil
}

type listPage struct {
	Data       []json.RawMessage `json:"data"`
	NextCursor string            `json:"nextCursor"`
}

func get(ctx context.Context, client *http.Client, base, token, query string) (listPage, time.Duration, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/conversations?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	t0 := time.Now()
	res, err := client.Do(req)
	if err != nil {
		return listPage{}, 0, err
	}
	defer res.Body.Close()
	var p listPage
	err = json.NewDecoder(res.Body).Decode(&p)
	took := time.Since(t0)
	if res.StatusCode != 200 {
		return p, took, fmt.Errorf("GET ?%s: status %d", query, res.StatusCode)
	}
	return p, took, err
}

// caseRun is one case measured as one user: its times so far and, for a
// case that pages, the cursor of the next page.
type caseRun struct {
	c      benchCase
	role   string
	token  string
	cursor string
	rows   int // items on the first page
	done   bool
	times  []time.Duration
}

// step makes the case's next request, timed when measured.
func (r *caseRun) step(ctx context.Context, client *http.Client, base string, measured bool) error {
	q := r.c.query
	if r.c.pages {
		if r.cursor == "" { // (re)start at the first page, unmeasured
			p, _, err := get(ctx, client, base, r.token, q)
			if err != nil {
				return err
			}
			if p.NextCursor == "" {
				return fmt.Errorf("GET ?%s: a single page, nothing to page through", q)
			}
			r.cursor = p.NextCursor
		}
		q += "&cursor=" + url.QueryEscape(r.cursor)
	}
	p, took, err := get(ctx, client, base, r.token, q)
	if err != nil {
		return err
	}
	if r.c.pages {
		r.cursor = p.NextCursor
	}
	if !r.done {
		r.rows, r.done = len(p.Data), true
	}
	if measured {
		r.times = append(r.times, took)
	}
	return nil
}

// percentile is the nearest-rank percentile of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

func printInbox(w io.Writer, r InboxResult) {
	gen := "reused"
	if r.Generation > 0 {
		gen = r.Generation.Round(100 * time.Millisecond).String()
	}
	fmt.Fprintf(w, "\n%s: %d conversations, %d messages (generation: %s; load average %s)\n", r.Engine, r.Conversations, r.Messages, gen, r.Load)
	fmt.Fprintf(w, "%-11s %-32s %5s %5s %9s %9s %9s  %s\n", "role", "case", "n", "rows", "p50", "p95", "p99", "p95 target")
	for _, c := range r.Cases {
		verdict := "ok"
		if c.P95 > c.Target() {
			verdict = "MISSED"
		}
		fmt.Fprintf(w, "%-11s %-32s %5d %5d %9s %9s %9s  < %s %s\n", c.Role, c.Case, c.Requests, c.Rows, ms(c.P50), ms(c.P95), ms(c.P99), c.Target(), verdict)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }
