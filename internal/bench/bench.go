// Package bench measures the webhook ingest path the way Meta drives it:
// signed webhooks posted at a fixed concurrency against a real server,
// reporting messages stored per second, acknowledgement latency and peak
// memory, next to a baseline handler that only checks the signature.
package bench

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/config"
	"github.com/supportwhatsapp/supportwhatsapp/internal/server"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store"
	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp"
)

// Options sets up one run.
type Options struct {
	DatabaseURL string // "" → a fresh SQLite file in a temporary directory
	Concurrency int    // parallel senders (default 64)
	Customers   int    // distinct customers the messages come from (default 1000)
	Messages    int    // messages to post (default 20000)
	Lanes       int    // INGEST_LANES of the server; 0: its default
	Out         io.Writer
}

// Result is one measured run.
type Result struct {
	Name       string
	Messages   int
	Stored     int
	Elapsed    time.Duration
	P50, P99   time.Duration
	PeakRSSMiB float64
	Failures   int
	// CPU is the process's CPU time (user and system) during the load, the
	// load generator's included: on a shared machine a steadier measure
	// of the cost per message than the wall clock.
	CPU time.Duration
}

// CPUPerMessage is the process's CPU time per posted message.
func (r Result) CPUPerMessage() time.Duration {
	if r.Messages == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Messages)
}

// PerSecond is the throughput of the run.
func (r Result) PerSecond() float64 { return float64(r.Stored) / r.Elapsed.Seconds() }

const appSecret = "bench-app-secret"

// Ingest runs the baseline and then the real server, and prints both.
func Ingest(ctx context.Context, o Options) ([]Result, error) {
	if o.Concurrency <= 0 {
		o.Concurrency = 64
	}
	if o.Customers <= 0 {
		o.Customers = 1000
	}
	if o.Messages <= 0 {
		o.Messages = 20000
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	base, err := baseline(ctx, o)
	if err != nil {
		return nil, err
	}
	real, err := ingest(ctx, o)
	if err != nil {
		return nil, err
	}
	results := []Result{base, real}
	fmt.Fprintf(o.Out, "%-34s %9s %9s %12s %9s %9s %9s %8s %9s\n", "run", "posted", "stored", "msgs/s", "p50", "p99", "peakRSS", "errors", "cpu/msg")
	for _, r := range results {
		fmt.Fprintf(o.Out, "%-34s %9d %9d %12.0f %9s %9s %7.0fMB %8d %9s\n", r.Name, r.Messages, r.Stored, r.PerSecond(),
			r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), r.PeakRSSMiB, r.Failures, r.CPUPerMessage().Round(time.Microsecond))
	}
	return results, nil
}

// baseline serves a handler that reads the body and checks its signature:
// the cost of HTTP and HMAC alone.
func baseline(ctx context.Context, o Options) (Result, error) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !whatsapp.VerifySignature(appSecret, body, r.Header.Get("X-Hub-Signature-256")) {
			w.WriteHeader(401)
			return
		}
		w.WriteHeader(200)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Result{}, err
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	r := load(ctx, ln.Addr().String(), "/", o)
	r.Name, r.Stored = "baseline: HTTP + HMAC only", r.Messages-r.Failures
	return r, nil
}

func ingest(ctx context.Context, o Options) (Result, error) {
	dir, err := os.MkdirTemp("", "supportwhatsapp-bench-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	dbURL := o.DatabaseURL
	if dbURL == "" {
		dbURL = "sqlite:" + filepath.Join(dir, "bench.db")
	}
	environ := map[string]string{
		"APP_ENV": "test", "DATABASE_URL": dbURL, "WHATSAPP_APP_SECRET": appSecret, "BCRYPT_ROUNDS": "4",
		"MEDIA_DIR": filepath.Join(dir, "media"),
	}
	if o.Lanes != 0 { // a negative count is the configuration's error to report
		environ["INGEST_LANES"] = strconv.Itoa(o.Lanes)
	}
	cfg, err := config.Load(environ)
	if err != nil {
		return Result{}, err
	}
	// Logs go where production's would, at the default level, so that
	// whatever the ingest logs is part of what is measured.
	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return Result{}, err
	}
	defer logFile.Close()
	log := slog.New(slog.NewJSONHandler(logFile, &slog.HandlerOptions{Level: cfg.SlogLevel()}))
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return Result{}, err
	}
	name := "ingest on " + engineName(srv)
	if srv.DB.Dialect() == store.DialectPostgres {
		name += fmt.Sprintf(", %d lane(s)", cfg.IngestLanes)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Result{}, err
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	var before int
	_ = srv.DB.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM messages").Scan(&before)
	r := load(ctx, ln.Addr().String(), "/api/v1/webhooks/whatsapp", o)
	var after int
	if err := srv.DB.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM messages").Scan(&after); err != nil {
		stop()
		<-done
		return Result{}, err
	}
	stop()
	if err := <-done; err != nil {
		return Result{}, err
	}
	r.Name, r.Stored = name, after-before
	if acked := r.Messages - r.Failures; r.Stored != acked {
		return r, fmt.Errorf("%d webhooks acknowledged but %d messages stored", acked, r.Stored)
	}
	return r, nil
}

// load posts o.Messages signed webhooks from o.Concurrency senders to
// http://addr/path. Each sender has one request in flight at a time and
// measures it from the first byte written to the last byte of the answer
// read. The senders share the CPU they measure, so each builds its bodies in
// a reused buffer, keeps one HMAC and talks HTTP/1.1 through a conn rather
// than net/http's client. Bodies are made one at a time, never all up
// front: peak RSS is the process's.
func load(ctx context.Context, addr, path string, o Options) Result {
	var next, failures atomic.Int64
	lat := make([][]time.Duration, o.Concurrency)
	run := strconv.FormatInt(time.Now().UnixNano(), 10)
	cpu0 := processCPU()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &conn{ctx: ctx, addr: addr}
			defer c.close()
			s := newSigner()
			var waID, wamid, body, req []byte
			for {
				i := int(next.Add(1)) - 1
				if i >= o.Messages || ctx.Err() != nil {
					return
				}
				waID = appendPadded(append(waID[:0], "55119"...), i%o.Customers, 8)
				wamid = append(append(wamid[:0], "wamid.bench."...), run...)
				wamid = strconv.AppendInt(append(wamid, '.'), int64(i), 10)
				body = appendWebhook(body[:0], waID, wamid, i, time.Now().Unix())
				req = append(req[:0], "POST "...)
				req = append(req, path...)
				req = append(req, " HTTP/1.1\r\nHost: "...)
				req = append(req, addr...)
				req = append(req, "\r\nContent-Type: application/json\r\nX-Hub-Signature-256: "...)
				req = s.appendSignature(req, body)
				req = append(req, "\r\nContent-Length: "...)
				req = strconv.AppendInt(req, int64(len(body)), 10)
				req = append(req, "\r\n\r\n"...)
				req = append(req, body...)
				t0 := time.Now()
				status, err := c.do(req)
				if err != nil {
					failures.Add(1)
					continue
				}
				lat[w] = append(lat[w], time.Since(t0))
				if status != 200 {
					failures.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := processCPU() - cpu0
	all := slices.Concat(lat...)
	slices.Sort(all)
	r := Result{Messages: o.Messages, Elapsed: elapsed, Failures: int(failures.Load()), PeakRSSMiB: peakRSSMiB(), CPU: cpu}
	if len(all) > 0 {
		r.P50, r.P99 = all[len(all)/2], all[len(all)*99/100]
	}
	return r
}

// webhook is a text message webhook as Meta sends it, to be signed.
func webhook(waID, wamid string, i int) []byte {
	return appendWebhook(nil, []byte(waID), []byte(wamid), i, time.Now().Unix())
}

// appendWebhook appends webhook's body: the bytes json.Marshal makes of
// Meta's shape (a test holds them equal), without json.Marshal, fmt or
// allocations, since the load generator shares the CPU it measures. waID
// and wamid must need no JSON escaping.
func appendWebhook(b, waID, wamid []byte, i int, unix int64) []byte {
	b = append(b, `{"object":"whatsapp_business_account","entry":[{"id":"200000000000001","changes":[{"field":"messages",`+
		`"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"5511400000000","phone_number_id":"`+
		config.SandboxPhoneNumberID+`"},"contacts":[{"profile":{"name":"Cliente `...)
	b = append(b, waID[len(waID)-4:]...)
	b = append(b, `"},"wa_id":"`...)
	b = append(b, waID...)
	b = append(b, `"}],"messages":[{"from":"`...)
	b = append(b, waID...)
	b = append(b, `","id":"`...)
	b = append(b, wamid...)
	b = append(b, `","timestamp":"`...)
	b = strconv.AppendInt(b, unix, 10)
	b = append(b, `","type":"text","text":{"body":"Olá, mensagem número `...)
	b = strconv.AppendInt(b, int64(i), 10)
	return append(b, `"}}]}}]}]}`...)
}

// appendPadded appends n in decimal, zero-padded to width digits, as
// fmt's %0*d does for n >= 0.
func appendPadded(b []byte, n, width int) []byte {
	var digits [20]byte
	d := strconv.AppendInt(digits[:0], int64(n), 10)
	for range width - len(d) {
		b = append(b, '0')
	}
	return append(b, d...)
}

// engineName is how the benches name the server's database engine.
func engineName(srv *server.Server) string {
	if srv.DB.Dialect() == store.DialectPostgres {
		return "PostgreSQL"
	}
	return "SQLite"
}

func sign(body []byte) string {
	return string(newSigner().appendSignature(nil, body))
}

// signer makes X-Hub-Signature-256 values with one HMAC, reset for each
// body rather than rebuilt (which rehashes the key).
type signer struct {
	mac hash.Hash
	sum [sha256.Size]byte
}

func newSigner() *signer { return &signer{mac: hmac.New(sha256.New, []byte(appSecret))} }

func (s *signer) appendSignature(dst, body []byte) []byte {
	s.mac.Reset()
	s.mac.Write(body)
	dst = append(dst, "sha256="...)
	return hex.AppendEncode(dst, s.mac.Sum(s.sum[:0]))
}

// peakRSSMiB reads the process's high-water resident set (Linux). The load
// generator runs in the same process, so the figure includes it.
func peakRSSMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb float64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb)
			return kb / 1024
		}
	}
	return 0
}

// processCPU is the CPU time the process has used so far (Linux).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
