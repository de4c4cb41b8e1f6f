package server

import (
	"context"
	"fmt"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/fanout"
	"github.com/supportwhatsapp/supportwhatsapp/internal/httpapi"
	"github.com/supportwhatsapp/supportwhatsapp/internal/realtime"
	"github.com/supportwhatsapp/supportwhatsapp/internal/store"
)

// startHub picks the bus that joins the replicas (Redis when REDIS_URL is
// set, else PostgreSQL LISTEN/NOTIFY on PostgreSQL, else this process
// alone) and starts the WebSocket hub on it.
func (s *Server) startHub(ctx context.Context) error {
	scope, err := s.busScope(ctx)
	if err != nil {
		return err
	}
	switch {
	case s.Config.RedisURL != "":
		r, err := fanout.NewRedis(s.Config.RedisURL, "supportwhatsapp:fanout"+scope, s.log)
		if err != nil {
			return err
		}
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := r.Ping(pctx); err != nil {
			_ = r.Close()
			return fmt.Errorf("REDIS_URL: %w", err)
		}
		s.Bus, s.closeBus = r, r.Close
	case s.DB.Dialect() == store.DialectPostgres:
		channel := fanout.DefaultChannel
		if scope != "" {
			channel = (channel + scope)[:min(63, len(channel+scope))] // NOTIFY channels are identifiers
		}
		s.Bus = fanout.NewPostgres(s.DB.SQL(), s.DB.PostgresURL(), channel, s.log)
	default:
		s.Bus = fanout.NewLocal(1024)
	}
	s.Hub = realtime.New(realtime.Options{
		Bus: s.Bus, Auth: s.Auth, Store: s.DB, Log: s.log,
		Encoder:        realtime.Encoder{Conversation: httpapi.ConversationJSON, Message: httpapi.MessageJSON},
		OriginPatterns: originPatterns(s.Config.AllowedOrigins()),
	})
	s.Hub.Start()
	s.Desk.SetNotifier(s.Hub)
	return nil
}

// busScope names the installation within a shared PostgreSQL database or
// Redis server: its schema, when it is not public (several installations,
// or the tests, each in their own schema).
func (s *Server) busScope(ctx context.Context) (string, error) {
	if s.DB.Dialect() != store.DialectPostgres {
		return "", nil
	}
	var schema string
	if err := s.DB.SQL().QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return "", fmt.Errorf("real-time bus: %w", err)
	}
	if schema == "public" || schema == "" {
		return "", nil
	}
	return "_" + schema, nil
}

func (s *Server) stopHub() {
	if s.Hub != nil {
		s.Hub.Close()
	}
	if s.closeBus != nil {
		_ = s.closeBus()
		s.closeBus = nil
	}
}

// originPatterns turns the allowed origins (FRONTEND_URL…) into the
// WebSocket origin check's scheme://host patterns.
func originPatterns(origins []string) []string {
	var out []string
	for _, o := range origins {
		if o != "" {
			out = append(out, o) // "*" matches any host
		}
	}
	return out
}
