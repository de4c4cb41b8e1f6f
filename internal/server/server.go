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
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/supportwhatsapp/supportwhatsapp/internal/auth"
	"github.com/supportwhatsapp/supportwhatsapp/internal/config"
	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/httpapi"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store"
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
	log    *slog.Logger
	http   *http.Server
}

// New opens and migrates the database, creates the first admin on an empty
// database and wires the services and the HTTP API. Close releases what it
// opened.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*Server, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL, log)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	s := NewWithDB(cfg, db, log)
	created, err := s.Desk.Bootstrap(ctx, BootstrapAdminPassword)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	if created {
		log.Warn("empty database: created admin@suporte.com with the default password; it must be changed at the first login",
			"departments", helpdesk.DefaultDepartments)
	}
	return s, nil
}

// NewWithDB wires the services and the API over an open, migrated database.
func NewWithDB(cfg config.Config, db *store.DB, log *slog.Logger) *Server {
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
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	api := httpapi.New(authSvc, desk, db, log, httpapi.Options{
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
		Index:              web.Handler(),
	})
	return &Server{Config: cfg, DB: db, Auth: authSvc, Desk: desk, API: api, log: log}
}

// Handler is the process's whole HTTP handler.
func (s *Server) Handler() http.Handler { return s.API.Handler() }

// Run serves HTTP on the configured port until ctx is cancelled, then stops
// accepting, lets in-flight requests finish (ShutdownTimeout at most) and
// closes the database.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", fmt.Sprintf(":%d", s.Config.Port))
	if err != nil {
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
	if err := s.DB.Close(); err != nil && serveErr == nil {
		serveErr = fmt.Errorf("close database: %w", err)
	}
	s.log.Info("stopped")
	return serveErr
}
