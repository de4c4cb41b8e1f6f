// Command supportwhatsapp runs the SupportWhatsApp helpdesk.
//
//	supportwhatsapp serve     run the server (default)
//	supportwhatsapp migrate   apply database migrations and exit
//	supportwhatsapp seed      add demo agents and a supervisor
//	supportwhatsapp inbox     replay stored webhooks
//	supportwhatsapp version   print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/bench"
	"github.com/supportwhatsapp/supportwhatsapp/internal/config"
	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/server"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store"
	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp/sandbox"
)

const usage = `usage: supportwhatsapp <command>

commands:
  serve     run the helpdesk (HTTP API, dashboard) — the default
  migrate   apply database migrations and exit
  seed      create the first admin if needed, plus demo agents and a supervisor
  inbox replay [-status unrouted] [-phone-number-id ID]
            re-apply stored webhooks (default: those no channel took), oldest first
  version   print the version

Configuration comes from environment variables and an optional .env file
in the working directory; see .env.example.
`

// gcPercent is the collector's default when GOGC is not set. The webhook
// path allocates briefly-lived request and row values at a high rate; at
// Go's default (100) the collector took ~11 % of the ingest bench's CPU,
// and its assists slowed the commit lane. 200 measured 8–10 % more
// messages per second on SQLite for ~5 MB more RSS; GOGC still overrides.
const gcPercent = 200

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "supportwhatsapp:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "version", "-v", "--version":
		fmt.Fprintln(stdout, "supportwhatsapp", server.Version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "bench":
		return runBench(ctx, args[1:], stdout)
	case "sandbox":
		return runSandbox(ctx, args[1:], stdout)
	case "serve", "migrate", "seed", "inbox":
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}

	environ, err := config.Environ(".env")
	if err != nil {
		return err
	}
	cfg, err := config.Load(environ)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)

	switch cmd {
	case "migrate":
		db, err := store.Open(ctx, cfg.DatabaseURL, log)
		if err != nil {
			return err
		}
		defer db.Close()
		if err := db.Migrate(ctx); err != nil {
			return err
		}
		log.Info("migrations applied", "database", db.Dialect())
		return nil
	case "seed":
		if cfg.Production() {
			// The demo accounts share a published password.
			return fmt.Errorf("seed creates demo accounts with a published password; it is refused when APP_ENV=production")
		}
		srv, err := server.New(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer srv.DB.Close()
		created, err := srv.Desk.SeedDemo(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "demo accounts created: %d (password %s)\n", len(created), helpdesk.DemoPassword)
		for _, e := range created {
			fmt.Fprintln(stdout, "  ", e)
		}
		return nil
	}
	if cmd == "inbox" {
		return runInboxReplay(ctx, cfg, log, args[1:], stdout)
	}
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}

// runInboxReplay replays stored webhooks the way POST
// /api/v1/webhooks/inbox/replay does; the jobs it schedules (bot turns,
// media downloads) are worked by the running server.
func runInboxReplay(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	const inboxUsage = "usage: supportwhatsapp inbox replay [-status unrouted|partial|processed] [-phone-number-id ID]"
	if len(args) == 0 || args[0] != "replay" {
		return errors.New(inboxUsage)
	}
	fs := flag.NewFlagSet("inbox replay", flag.ContinueOnError)
	status := fs.String("status", helpdesk.InboxUnrouted, "entries in this status")
	number := fs.String("phone-number-id", "", "only webhooks for this business number")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer srv.DB.Close()
	defer srv.Close()
	res, err := srv.API.Inbox().ReplayMatching(ctx, *status, *number, "", "cli")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "replayed %d entries: %d processed, %d partial, %d still unrouted, %d skipped; %d new messages, %d already received\n",
		res.Entries, res.Processed, res.Partial, res.Unrouted, res.Skipped, res.MessagesStored, res.Duplicates)
	return err
}

// newLogger logs JSON in production (for log collectors) and text
// elsewhere (for people).
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.SlogLevel()}
	if cfg.Production() {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

const benchUsage = `usage:
  supportwhatsapp bench ingest [-db URL] [-c 64] [-customers 1000] [-n 20000] [-lanes N] [-cpuprofile FILE]
  supportwhatsapp bench inbox  [-db URL] [-conversations 100000] [-messages 1000000] [-n 100] [-reuse] [-cpuprofile FILE]
  supportwhatsapp bench fanout [-db URL] [-agents 500] [-rate 500] [-duration 10s] [-idle 10000] [-cpuprofile FILE]`

func runBench(ctx context.Context, args []string, stdout io.Writer) error {
	switch {
	case len(args) > 0 && args[0] == "inbox":
		return runBenchInbox(ctx, args[1:], stdout)
	case len(args) > 0 && args[0] == "fanout":
		return runBenchFanout(ctx, args[1:], stdout)
	case len(args) == 0 || args[0] != "ingest":
		return errors.New(benchUsage)
	}
	fs := flag.NewFlagSet("bench ingest", flag.ContinueOnError)
	o := bench.Options{Out: stdout}
	fs.StringVar(&o.DatabaseURL, "db", "", "database URL (default: a fresh SQLite file)")
	fs.IntVar(&o.Concurrency, "c", 64, "concurrent senders")
	fs.IntVar(&o.Customers, "customers", 1000, "distinct customers")
	fs.IntVar(&o.Messages, "n", 20000, "messages to post")
	fs.IntVar(&o.Lanes, "lanes", 0, "group-commit lanes on PostgreSQL (INGEST_LANES; default: the server's; SQLite always runs one)")
	return runProfiled(fs, args[1:], func() error {
		_, err := bench.Ingest(ctx, o)
		return err
	})
}

// runBenchInbox measures the conversation list and search on a generated
// database of issue 4's size.
func runBenchInbox(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench inbox", flag.ContinueOnError)
	o := bench.InboxOptions{Out: stdout}
	fs.StringVar(&o.DatabaseURL, "db", "", "database URL of an empty database (default: a fresh SQLite file, removed afterwards)")
	fs.StringVar(&o.DatabaseURL, "database-url", "", "same as -db")
	fs.IntVar(&o.Conversations, "conversations", 100_000, "conversations to generate")
	fs.IntVar(&o.Messages, "messages", 1_000_000, "messages to generate")
	fs.IntVar(&o.Requests, "n", 100, "measured requests per case")
	fs.IntVar(&o.PageSize, "limit", 50, "page size of every request")
	fs.BoolVar(&o.Reuse, "reuse", false, "measure a database an earlier run generated instead of refusing a non-empty one")
	return runProfiled(fs, args, func() error {
		_, err := bench.Inbox(ctx, o)
		return err
	})
}

// runBenchFanout measures the real-time hub: webhook → new_message
// latency on many agent sockets, and memory per idle socket.
func runBenchFanout(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench fanout", flag.ContinueOnError)
	o := bench.FanoutOptions{Out: stdout}
	fs.StringVar(&o.DatabaseURL, "db", "", "database URL (default: a fresh SQLite file)")
	fs.IntVar(&o.Agents, "agents", 500, "connected agent sockets")
	fs.IntVar(&o.Rate, "rate", 500, "webhooks per second")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "how long webhooks are posted")
	fs.IntVar(&o.IdleConns, "idle", 10000, "idle sockets for the memory figure (capped by the open-files limit; 0 skips it)")
	return runProfiled(fs, args, func() error {
		_, err := bench.Fanout(ctx, o)
		return err
	})
}

// runProfiled adds -cpuprofile to a bench's flags, parses args and runs
// the bench, profiling it into that file when one is given.
func runProfiled(fs *flag.FlagSet, args []string, run func() error) error {
	path := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *path == "" {
		return run()
	}
	f, err := os.Create(*path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()
	return run()
}

// runSandbox serves the simulator standalone, for load tests and for
// pointing a server at it as if it were Meta (WHATSAPP_GRAPH_URL).
func runSandbox(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:3100", "listen address")
	webhook := fs.String("webhook", "http://localhost:3000/api/v1/webhooks/whatsapp", "the helpdesk's webhook URL")
	secret := fs.String("app-secret", config.SandboxAppSecret, "signs the webhooks (the helpdesk's WHATSAPP_APP_SECRET)")
	token := fs.String("token", config.SandboxAccessToken, "the access token the Graph endpoints accept (WHATSAPP_ACCESS_TOKEN)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	sb := sandbox.New(sandbox.Options{AppSecret: *secret, AccessToken: *token, WebhookURL: *webhook, AutoStatuses: true, StatusDelay: time.Second})
	defer sb.Close()
	sb.SetBaseURL("http://" + ln.Addr().String())
	srv := &http.Server{Handler: sandboxHandler(sb), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "WhatsApp sandbox on http://%s (phone number id %s, business account %s)\n"+
		"point the helpdesk at it: WHATSAPP_GRAPH_URL=http://%s WHATSAPP_ACCESS_TOKEN=%s WHATSAPP_PHONE_NUMBER_ID=%s WHATSAPP_BUSINESS_ACCOUNT_ID=%s WHATSAPP_APP_SECRET=%s\n"+
		"a customer writes: curl -X POST http://%s/customers/5511987654321/messages -d '{\"name\":\"Maria\",\"text\":\"Olá\"}'\n"+
		"control API (JSON; errors are {\"error\": \"...\"}):\n  %s\n",
		ln.Addr(), sb.PhoneNumberID(), sandbox.DefaultWABAID, ln.Addr(), *token, sb.PhoneNumberID(), sandbox.DefaultWABAID, *secret, ln.Addr(),
		strings.Join(sandbox.ControlRoutes, "\n  "))
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// sandboxHandler is the Graph API plus the simulator's test-control API
// (sandbox.ControlRoutes) under /customers/ and /control/, paths no Graph
// call uses.
func sandboxHandler(sb *sandbox.Sandbox) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", sb.Handler())
	ctl := sb.ControlHandler()
	mux.Handle("/customers/", ctl)
	mux.Handle("/control/", ctl)
	return mux
}
