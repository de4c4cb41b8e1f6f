// Package server assembles the process from its configuration. main and the
// end-to-end tests both build the server here, so tests run exactly what
// ships.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/riverqueue/river"

	"github.com/supportwhatsapp/supportwhatsapp/internal/auth"
	"github.com/supportwhatsapp/supportwhatsapp/internal/bot"
	"github.com/supportwhatsapp/supportwhatsapp/internal/config"
	"github.com/supportwhatsapp/supportwhatsapp/internal/fanout"
	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/httpapi"
	"github.com/supportwhatsapp/supportwhatsapp/internal/jobs"
	"github.com/supportwhatsapp/supportwhatsapp/internal/realtime"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store"
	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp"
	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp/sandbox"
	"github.com/supportwhatsapp/supportwhatsapp/web"
)

// Version is set at build time with -ldflags "-X …/server.Version=…".
var Version = "dev"

// BootstrapAdminPassword is the first admin's password on an empty
// database; the account is flagged to change it at the first login.
const BootstrapAdminPassword = "Admin@123"

// ShutdownTimeout bounds how long in-flight requests may take to finish
// after a stop signal.
const ShutdownTimeout = 10 * time.Second

// Server is the assembled process.
type Server struct {
	Config config.Config
	DB     *store.DB
	Auth   *auth.Service
	Desk   *helpdesk.Service
	API    *httpapi.API
	Jobs   *jobs.Queue
	// Bot holds the bot's settings; BotEngine runs its turns in jobs.
	Bot       *bot.Service
	BotEngine *bot.Engine
	// WhatsApp is the Graph API client the send worker uses.
	WhatsApp *whatsapp.Client
	// GraphTransport carries the Graph API calls: to the in-process sandbox
	// when no access token is configured.
	GraphTransport http.RoundTripper
	// Sandbox is the built-in WhatsApp simulator, nil with a real number.
	Sandbox *sandbox.Sandbox
	// Hub is the WebSocket hub (/ws, presence); Bus carries its events
	// between replicas.
	Hub      *realtime.Hub
	Bus      fanout.Bus
	closeBus func() error
	log      *slog.Logger
	http     *http.Server
	// stopSweep ends the auto-assignment sweep Start began.
	stopSweep context.CancelFunc
	sweepDone chan struct{}
}

// AutoAssignInterval is how often every auto-assigning queue is checked for
// conversations an online agent could take (new WhatsApp conversations, an
// agent who just came online); actions assign at once without waiting.
const AutoAssignInterval = 10 * time.Second

// AITimeout bounds one AI answer; past it the customer is handed to a
// person.
const AITimeout = 30 * time.Second

// defaultOpenAIBaseURL is OPENAI_BASE_URL's default: without a key it
// means no AI is configured.
const defaultOpenAIBaseURL = "https://api.openai.com/v1"

// New opens and migrates the database and assembles the process over it.
// Run (or Serve) owns everything afterwards and closes it on the way out.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*Server, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL, log)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	s, err := Assemble(ctx, cfg, db, log)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// Assemble wires the process over an open, migrated database: it creates
// the first admin and departments on an empty database, makes the
// configured WhatsApp number a channel, prepares the job queue and builds
// the HTTP API. Jobs are worked once Start (or Serve) runs. Close releases
// what Assemble opened, but not db.
func Assemble(ctx context.Context, cfg config.Config, db *store.DB, log *slog.Logger) (*Server, error) {
	passwords := auth.Passwords{Cost: cfg.BcryptRounds}
	authSvc := auth.NewService(db, auth.Config{
		AccessSecret:  cfg.JWTSecret,
		RefreshSecret: cfg.JWTRefreshSecret,
		AccessTTL:     cfg.JWTExpiresIn.D(),
		RefreshTTL:    cfg.JWTRefreshExpiresIn.D(),
		BcryptCost:    cfg.BcryptRounds,
		Log:           log,
	})
	desk := helpdesk.NewService(db, passwords, nil, log)
	s := &Server{Config: cfg, DB: db, Auth: authSvc, Desk: desk, log: log}

	created, err := desk.Bootstrap(ctx, BootstrapAdminPassword)
	if err != nil {
		return nil, err
	}
	if created {
		log.Warn("empty database: created admin@suporte.com with the default password; it must be changed at the first login",
			"departments", helpdesk.DefaultDepartments)
	}
	replayEnvNumber, err := s.ensureChannel(ctx)
	if err != nil {
		return nil, err
	}
	s.Bot = bot.NewService(db, nil)
	if err := s.Bot.EnsureDefaultFlow(ctx); err != nil {
		return nil, fmt.Errorf("default bot flow: %w", err)
	}
	// The engine's job queue is set once the queue exists; its workers only
	// run after Start.
	s.BotEngine = &bot.Engine{Store: db, Desk: desk, Log: log}
	if cfg.OpenAIAPIKey != "" || cfg.OpenAIBaseURL != defaultOpenAIBaseURL {
		// Any OpenAI-compatible server: a local one (Ollama, vLLM) needs no key.
		s.BotEngine.AI = &bot.AI{BaseURL: cfg.OpenAIBaseURL, APIKey: cfg.OpenAIAPIKey, Model: cfg.OpenAIModel, Timeout: AITimeout}
	}

	graphURL := cfg.WhatsAppGraphURL
	if cfg.Sandbox() {
		// The sandbox plays Meta inside this process: Graph calls go to its
		// handler and its webhooks to ours, both without a socket.
		graphURL = sandboxURL
		s.Sandbox = sandbox.New(sandbox.Options{
			AppSecret: cfg.WhatsAppAppSecret, AccessToken: config.SandboxAccessToken,
			PhoneNumberID: config.SandboxPhoneNumberID, WABAID: config.SandboxBusinessAccountID,
			WebhookURL: appURL + "/api/v1/webhooks/whatsapp", AutoStatuses: true, StatusDelay: time.Second,
			HTTPClient:        &http.Client{Timeout: 30 * time.Second, Transport: handlerTransport{s.Handler}},
			MessagesPerSecond: cfg.WhatsAppMessagesPerSecond, Log: log,
		})
		s.Sandbox.SetBaseURL(sandboxURL)
		if s.GraphTransport == nil {
			s.GraphTransport = handlerTransport{s.Sandbox.Handler}
		}
	}
	s.WhatsApp = &whatsapp.Client{BaseURL: graphURL, Version: cfg.WhatsAppAPIVersion, HTTP: s.graphHTTPClient()}
	if err := s.startHub(ctx); err != nil {
		return nil, err
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &jobs.SendWorker{Store: db, Client: s.WhatsApp, Log: log, Pace: &jobs.ChannelPace{}, MediaDir: cfg.MediaDir,
		OnChange: s.Hub.MessageStatusChanged})
	river.AddWorker(workers, &jobs.ReadReceiptWorker{Store: db, Client: s.WhatsApp, Log: log})
	river.AddWorker(workers, &jobs.MediaWorker{Store: db, Client: s.WhatsApp, Dir: cfg.MediaDir, Log: log,
		OnChange: s.Hub.MessageStatusChanged})
	river.AddWorker(workers, &jobs.BotStepWorker{Engine: s.BotEngine})
	river.AddWorker(workers, &jobs.BotTimeoutWorker{Engine: s.BotEngine})
	river.AddWorker(workers, &jobs.BotAIWorker{Engine: s.BotEngine})
	river.AddWorker(workers, &jobs.BotSummaryWorker{Engine: s.BotEngine})
	// The inbox exists with the API (it replays through the API's ingest
	// lanes); these workers get it below, before any job runs.
	replayWorker := &jobs.InboxReplayWorker{Log: log}
	retentionWorker := &jobs.InboxRetentionWorker{Retention: cfg.WebhookInboxRetention(), Log: log}
	river.AddWorker(workers, replayWorker)
	river.AddWorker(workers, retentionWorker)
	var periodic []*river.PeriodicJob
	if cfg.WebhookInboxRetention() > 0 {
		periodic = append(periodic, jobs.InboxRetentionJob())
	}
	s.Jobs, err = jobs.Open(ctx, db, jobs.Config{Workers: workers, PeriodicJobs: periodic, Log: log})
	if err != nil {
		s.stopHub()
		return nil, err
	}
	desk.SetEnqueuer(jobs.Enqueuer{Queue: s.Jobs})
	s.BotEngine.Jobs = jobs.Enqueuer{Queue: s.Jobs}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.API = httpapi.New(authSvc, desk, db, log, httpapi.Options{
		Production:         cfg.Production(),
		AllowedOrigins:     cfg.AllowedOrigins(),
		TrustProxy:         cfg.TrustProxy,
		MaxBodyBytes:       cfg.MaxBodyBytes,
		RateLimitMax:       cfg.RateLimitMaxRequests,
		RateLimitWindow:    cfg.RateLimitWindow(),
		LoginMaxFailures:   cfg.LoginMaxFailures,
		LoginFailureWindow: cfg.LoginFailureWindow.D(),
		Version:            Version,
		Registry:           reg,
		MetricsToken:       cfg.MetricsToken,
		Index:              web.Handler(),
		WebhookAppSecret:   cfg.WhatsAppAppSecret,
		WebhookVerifyToken: cfg.WebhookVerifyToken,
		WhatsAppMode:       whatsAppMode(cfg),
		Jobs:               jobs.Enqueuer{Queue: s.Jobs},
		MediaDir:           cfg.MediaDir,
		WhatsApp:           s.WhatsApp,
		IngestLanes:        ingestLanes(db.Dialect(), cfg.IngestLanes),
		Sandbox:            s.Sandbox,
		Bot:                s.Bot,
		BotEngine:          s.BotEngine,
		Realtime:           s.Hub,
	})
	replayWorker.Inbox, retentionWorker.Inbox = s.API.Inbox(), s.API.Inbox()
	if replayEnvNumber != "" {
		// Webhooks that reached the number before it was a channel (or
		// while the sandbox's was off) wait unrouted; the job replays them.
		err := db.InTx(ctx, func(tx helpdesk.Store) error {
			return jobs.Enqueuer{Queue: s.Jobs}.EnqueueInboxReplay(ctx, tx, replayEnvNumber, "", "startup")
		})
		if err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("schedule the inbox replay of %s: %w", replayEnvNumber, err)
		}
	}
	return s, nil
}

// Host names of the in-process sandbox transport; never resolved.
const (
	sandboxURL = "http://sandbox.internal"
	appURL     = "http://supportwhatsapp.internal"
)

// ingestLanes: SQLite has one writer, so more lanes would only queue on
// its lock. PostgreSQL takes several transactions at once, but with the
// server on the same two cores one lane did best: as many messages per
// second as two, with less CPU per message on both sides (each commit's
// fixed statements are shared by bigger batches) and a lower p99;
// INGEST_LANES sets more where the database has cores of its own.
func ingestLanes(dialect string, postgresLanes int) int {
	if dialect == store.DialectPostgres && postgresLanes > 0 {
		return postgresLanes
	}
	return 1
}

// graphHTTPClient is the HTTP client of the Graph API calls.
func (s *Server) graphHTTPClient() *http.Client {
	if s.GraphTransport != nil {
		return &http.Client{Timeout: 30 * time.Second, Transport: s.GraphTransport}
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// Start begins working background jobs.
func (s *Server) Start(ctx context.Context) error {
	if err := s.Jobs.Start(ctx); err != nil {
		return err
	}
	sweepCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.stopSweep, s.sweepDone = cancel, make(chan struct{})
	go func() {
		defer close(s.sweepDone)
		s.Desk.RunAutoAssign(sweepCtx, AutoAssignInterval, s.log)
	}()
	return nil
}

// Close stops the job workers (letting running jobs finish within
// ShutdownTimeout) and releases the queue; the database stays open.
func (s *Server) Close() error {
	if s.Sandbox != nil {
		s.Sandbox.Close()
	}
	s.API.Close()
	if s.stopSweep != nil {
		s.stopSweep()
		<-s.sweepDone
	}
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	err := s.Jobs.Stop(ctx)
	s.Jobs.Close()
	s.stopHub()
	return err
}

func whatsAppMode(cfg config.Config) string {
	if cfg.Sandbox() {
		return "sandbox"
	}
	return "cloud"
}

// sandboxOffReason marks the sandbox's channel disabled because the server
// talks to Meta: its app secret is public, so it must sign nothing.
const sandboxOffReason = "the server talks to Meta; the built-in sandbox number is off"

// ensureChannel makes the number configured in the environment (or the
// sandbox's number) a channel, so webhooks for it are routed. An existing
// channel takes the environment's credentials (they are configured there)
// and keeps what admins set through the API: name, default department,
// pace and status. It returns the number when this start made it routable
// (created it, or switched the sandbox's back on) or gave it another app
// secret (a corrected one binds the bodies its app signed), so its waiting
// webhooks get replayed.
func (s *Server) ensureChannel(ctx context.Context) (string, error) {
	cfg := s.Config
	now := helpdesk.Now()
	ch := helpdesk.Channel{
		ID: helpdesk.NewID(), Name: "WhatsApp", PhoneNumberID: cfg.WhatsAppPhoneNumberID,
		BusinessAccountID: cfg.WhatsAppBusinessAccountID, AccessToken: cfg.WhatsAppAccessToken,
		AppSecret: cfg.WhatsAppAppSecret, VerifyToken: cfg.WebhookVerifyToken,
		MessagesPerSecond: cfg.WhatsAppMessagesPerSecond, CreatedAt: now, UpdatedAt: now,
	}
	if cfg.Sandbox() {
		ch.Name, ch.PhoneNumberID, ch.DisplayPhoneNumber = "Sandbox", config.SandboxPhoneNumberID, "+55 11 4000-0000"
		ch.AccessToken, ch.BusinessAccountID = config.SandboxAccessToken, config.SandboxBusinessAccountID
		s.log.Warn("no WHATSAPP_ACCESS_TOKEN: using the built-in WhatsApp sandbox, not Meta")
	} else if err := s.retireSandboxChannel(ctx, now); err != nil {
		return "", err
	}
	existing, err := s.DB.GetChannelByPhoneNumberID(ctx, ch.PhoneNumberID)
	if errors.Is(err, helpdesk.ErrNotFound) {
		_, err = s.DB.InsertChannel(ctx, ch)
		if err == nil {
			return ch.PhoneNumberID, nil
		}
		if errors.Is(err, helpdesk.ErrConflict) {
			return "", nil // created by another replica starting at the same moment, which replays
		}
	}
	if err != nil {
		return "", fmt.Errorf("configure channel %s: %w", ch.PhoneNumberID, err)
	}
	replay, err := s.refreshChannelCredentials(ctx, existing, ch, now)
	if err != nil || !replay {
		return "", err
	}
	return ch.PhoneNumberID, nil
}

// refreshChannelCredentials copies the environment's credentials onto the
// stored channel when they changed, naming (never printing) what changed.
// replay tells that it switched a retired sandbox channel back on, or gave
// an enabled channel another app secret.
func (s *Server) refreshChannelCredentials(ctx context.Context, stored, env helpdesk.Channel, now time.Time) (replay bool, err error) {
	var changed []string
	take := func(name string, dst *string, v string) {
		if v != "" && *dst != v {
			*dst = v
			changed = append(changed, name)
		}
	}
	next := stored
	take("accessToken", &next.AccessToken, env.AccessToken)
	take("appSecret", &next.AppSecret, env.AppSecret)
	take("verifyToken", &next.VerifyToken, env.VerifyToken)
	take("businessAccountId", &next.BusinessAccountID, env.BusinessAccountID)
	reenable := stored.Status == helpdesk.ChannelDisabled && stored.StatusReason == sandboxOffReason
	if len(changed) == 0 && !reenable {
		return false, nil
	}
	next.UpdatedAt = now
	if _, err := s.DB.UpsertChannel(ctx, next); err != nil {
		return false, fmt.Errorf("configure channel %s: %w", stored.PhoneNumberID, err)
	}
	if reenable || (stored.Status == helpdesk.ChannelUnhealthy && slices.Contains(changed, "accessToken")) {
		if err := s.DB.SetChannelStatus(ctx, stored.ID, helpdesk.ChannelActive, "", now); err != nil {
			return false, fmt.Errorf("configure channel %s: %w", stored.PhoneNumberID, err)
		}
	}
	s.log.Info("channel updated from the environment", "phone_number_id", stored.PhoneNumberID, "changed", changed)
	return reenable || stored.Status != helpdesk.ChannelDisabled && slices.Contains(changed, "appSecret"), nil
}

// retireSandboxChannel disables the sandbox's number on a server that talks
// to Meta while it still has the public secret.
func (s *Server) retireSandboxChannel(ctx context.Context, now time.Time) error {
	sb, err := s.DB.GetChannelByPhoneNumberID(ctx, config.SandboxPhoneNumberID)
	if errors.Is(err, helpdesk.ErrNotFound) || (err == nil && sb.Status == helpdesk.ChannelDisabled) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check the sandbox channel: %w", err)
	}
	if sb.AppSecret != config.SandboxAppSecret {
		return nil // its secret was changed: not the public one
	}
	if err := s.DB.SetChannelStatus(ctx, sb.ID, helpdesk.ChannelDisabled, sandboxOffReason, now); err != nil {
		return fmt.Errorf("disable the sandbox channel: %w", err)
	}
	s.log.Warn("disabled the built-in sandbox's channel: its webhook secret is public and this server talks to Meta")
	return nil
}

// Handler is the process's whole HTTP handler.
func (s *Server) Handler() http.Handler { return s.API.Handler() }

// Run serves HTTP on the configured port until ctx is cancelled, then stops
// accepting, lets in-flight requests finish (ShutdownTimeout at most) and
// closes the database.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", fmt.Sprintf(":%d", s.Config.Port))
	if err != nil {
		_ = s.Close()
		_ = s.DB.Close()
		return fmt.Errorf("listen on port %d: %w (set PORT to use another)", s.Config.Port, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on a listener the caller opened.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.http = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	// WebSockets are hijacked: Shutdown does not wait for them, so they
	// are closed (going away: clients reconnect to another replica) as it
	// begins.
	s.http.RegisterOnShutdown(s.Hub.Disconnect)
	// Not ctx itself: its cancellation would cancel running jobs at once;
	// Close stops them in order after the HTTP server.
	if err := s.Start(context.WithoutCancel(ctx)); err != nil {
		_ = s.Close()
		_ = s.DB.Close()
		return fmt.Errorf("start job workers: %w", err)
	}
	s.log.Info("serving", "addr", ln.Addr().String(), "env", s.Config.AppEnv, "database", s.DB.Dialect(), "version", Version)
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(ln) }()

	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
		s.log.Info("shutting down", "timeout", ShutdownTimeout)
		shutdownCtx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
		defer cancel()
		if err := s.http.Shutdown(shutdownCtx); err != nil {
			serveErr = fmt.Errorf("shutdown: %w", err)
			_ = s.http.Close()
		}
		<-errc
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	// Outside in: no new requests, then no new jobs, then the database.
	if err := s.Close(); err != nil && serveErr == nil {
		serveErr = fmt.Errorf("stop job workers: %w", err)
	}
	if err := s.DB.Close(); err != nil && serveErr == nil {
		serveErr = fmt.Errorf("close database: %w", err)
	}
	s.log.Info("stopped")
	return serveErr
}
