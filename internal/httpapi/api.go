// Package httpapi is the REST edge of SupportWhatsApp: the router, thin
// handlers (decode → service → encode), the authentication and role gates,
// and the OpenAPI document generated from the same route table that
// registers the handlers.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/supportwhatsapp/supportwhatsapp/internal/auth"
	"github.com/supportwhatsapp/supportwhatsapp/internal/bot"
	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/internal/httpapi/middleware"
	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp"
	"github.com/supportwhatsapp/supportwhatsapp/internal/whatsapp/sandbox"
)

// Options configures the API.
type Options struct {
	Production         bool
	AllowedOrigins     []string
	TrustProxy         bool
	MaxBodyBytes       int64
	RateLimitMax       int
	RateLimitWindow    time.Duration
	LoginMaxFailures   int
	LoginFailureWindow time.Duration
	Version            string
	// Registry receives the HTTP metrics and is served at /metrics.
	Registry *prometheus.Registry
	// MetricsToken, when set, is the bearer token /metrics requires.
	MetricsToken string
	// WebhookAppSecret verifies X-Hub-Signature-256 (channels may add
	// their own); WebhookVerifyToken answers Meta's handshake.
	WebhookAppSecret   string
	WebhookVerifyToken string
	// Jobs receives the follow-up work of ingested messages (media
	// downloads); nil skips it.
	Jobs helpdesk.Enqueuer
	// WhatsApp is the Graph API client (templates sync).
	WhatsApp *whatsapp.Client
	// IngestLanes is how many webhook group-commit lanes run: 1 on SQLite
	// (a single writer), INGEST_LANES on PostgreSQL (default 1).
	IngestLanes int
	// Sandbox is the built-in WhatsApp simulator (nil with a real number);
	// /api/v1/sandbox lets the dashboard play its customers.
	Sandbox *sandbox.Sandbox
	// MediaDir is where downloaded media files are (MEDIA_DIR).
	MediaDir string
	// WhatsAppMode is "sandbox" or "cloud", reported by /health.
	WhatsAppMode string
	// Bot serves the bot's settings and flows; BotEngine resumes a
	// conversation handed back to the bot. Nil: those routes answer 404.
	Bot       *bot.Service
	BotEngine *bot.Engine
	// Realtime is the WebSocket hub: /ws and presence (who is online, for
	// GET /users/online and automatic assignment). Nil: nobody is online.
	Realtime Realtime
	// Index serves "/" and other non-API paths (the dashboard).
	Index http.Handler
	Now   func() time.Time
}

// API holds the handlers' collaborators.
type API struct {
	// channels caches the channel list the webhook route checks signatures
	// against; see webhookChannels.
	channels channelCache
	auth     *auth.Service
	desk     *helpdesk.Service
	store    helpdesk.Store
	log      *slog.Logger
	opts     Options
	guard    *middleware.LoginGuard
	started  time.Time
	routes   []route
	metrics  http.Handler
	ingest   *helpdesk.Ingester
	inbox    *helpdesk.Inbox
	sandbox  *sandbox.Sandbox

	handlerOnce sync.Once
	handler     http.Handler
	openAPIOnce sync.Once
	openAPIDoc  map[string]any
	templates   templateCache
}

// New builds the API and its router.
func New(authSvc *auth.Service, desk *helpdesk.Service, store helpdesk.Store, log *slog.Logger, opts Options) *API {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	a := &API{
		auth: authSvc, desk: desk, store: store, log: log, opts: opts,
		guard:   middleware.NewLoginGuard(opts.LoginMaxFailures, opts.LoginFailureWindow, opts.Now),
		started: opts.Now(),
		ingest:  helpdesk.NewIngester(store, helpdesk.IngesterOptions{Jobs: opts.Jobs, Lanes: opts.IngestLanes}),
		sandbox: opts.Sandbox,
	}
	a.inbox = helpdesk.NewInbox(desk, a.ingest, ParseDelivery, opts.WebhookAppSecret)
	// Automatic assignment gives conversations to agents online now: with
	// the dashboard open on any replica.
	desk.SetOnline(a.online)
	a.metrics = promhttp.HandlerFor(opts.Registry, promhttp.HandlerOpts{})
	a.routes = a.routeTable()
	return a
}

// Inbox is the webhook inbox, replayed through this API's ingest lanes
// (for the automatic replay and retention jobs).
func (a *API) Inbox() *helpdesk.Inbox { return a.inbox }

// Close stops the background work of the API (the ingest lanes) after
// what was already accepted is stored.
func (a *API) Close() { a.ingest.Close() }

// access says who may call a route.
type access int

const (
	public        access = iota // no token
	authenticated               // any active user whose password is not locked
	lockedOK                    // any active user, even one who must change their password
	supervisorUp                // supervisors and admins
	adminOnly                   // admins
	webhook                     // Meta: authenticated by signature, never rate limited
)

// route is one entry of the table that both registers handlers and writes
// the OpenAPI document, so the two cannot drift apart.
type route struct {
	method, path string
	summary      string
	tag          string
	access       access
	request      any // zero value of the JSON body type, or nil
	response     any // zero value of the success body type, or nil for no body
	status       int
	bodyLimit    int64 // overrides Options.MaxBodyBytes when set
	// probe marks a public route that monitors poll (health checks, metric
	// scrapes): it is counted in its own, larger per-IP budget, so a load
	// balancer polling every few seconds neither gets 429s nor spends the
	// budget of the people behind the same address.
	probe   bool
	query   []queryParam
	handler handlerFunc
}

type queryParam struct {
	name, kind, description string
}

// Handler returns the whole HTTP handler: middleware, the API routes,
// /health, /metrics and the dashboard. It is built once; every caller
// shares its rate limiters and metrics.
func (a *API) Handler() http.Handler {
	a.handlerOnce.Do(func() { a.handler = a.buildHandler() })
	return a.handler
}

func (a *API) buildHandler() http.Handler {
	r := chi.NewRouter()
	metrics := middleware.NewMetrics(a.opts.Registry)
	r.Use(
		middleware.RequestID,
		middleware.ResolveClientIP(a.opts.TrustProxy),
		metrics.Middleware,
		middleware.Logger(a.log),
		middleware.Recoverer(a.log),
		middleware.SecurityHeaders(a.opts.Production),
		middleware.CORS(a.opts.AllowedOrigins),
		middleware.TextURL,
	)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		if isAPIPath(r.URL.Path) || a.opts.Index == nil {
			middleware.WriteError(w, r, http.StatusNotFound, helpdesk.CodeNotFound, "no such route", nil)
			return
		}
		a.opts.Index.ServeHTTP(w, r)
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		middleware.WriteError(w, r, http.StatusMethodNotAllowed, "method_not_allowed", "this route does not accept "+r.Method, nil)
	})

	publicLimit := middleware.RateLimit(a.opts.RateLimitMax, a.opts.RateLimitWindow, middleware.KeyByUserOrIP)
	probeLimit := middleware.RateLimit(probeBudget*a.opts.RateLimitMax, a.opts.RateLimitWindow, middleware.KeyByIP)
	bodyLimit := middleware.MaxBody(a.opts.MaxBodyBytes)
	for _, rt := range a.routes {
		var chain []func(http.Handler) http.Handler
		switch rt.access {
		case webhook:
			// Meta delivers bursts from a few addresses; the signature
			// authenticates it, so it is never throttled.
		case public:
			if rt.probe {
				chain = append(chain, probeLimit)
			} else {
				chain = append(chain, publicLimit)
			}
		default:
			// The limiter runs after authentication so that it keys on the
			// user: twenty agents behind one office NAT are not throttled
			// together.
			chain = append(chain, a.authenticate(rt.access, publicLimit), publicLimit)
		}
		switch {
		case rt.bodyLimit > 0:
			chain = append(chain, middleware.MaxBody(rt.bodyLimit))
		case rt.request != nil:
			chain = append(chain, bodyLimit)
		}
		r.With(chain...).Method(rt.method, rt.path, a.handle(rt.handler))
	}
	if a.opts.Index != nil {
		r.Handle("/", a.opts.Index)
	}
	return r
}

// probeBudget is how many times the public budget a monitored route
// (route.probe) gets per address.
const probeBudget = 10

func isAPIPath(p string) bool {
	return strings.HasPrefix(p, "/api/") || p == "/api" || p == "/health" || p == "/metrics" || p == "/ws"
}

type userKey struct{}

// currentUser returns the user the authenticate gate put in the context.
func currentUser(ctx context.Context) helpdesk.User {
	u, _ := ctx.Value(userKey{}).(helpdesk.User)
	return u
}

func actor(r *http.Request) helpdesk.Actor {
	return helpdesk.Actor{User: currentUser(r.Context()), IP: middleware.ClientIP(r)}
}

func clientInfo(r *http.Request) auth.ClientInfo {
	return auth.ClientInfo{IP: middleware.ClientIP(r), UserAgent: r.UserAgent()}
}

// authenticate checks the bearer token, loads the user (so deactivation and
// role changes take effect at once), enforces the password-change lock and
// the route's minimum role. Refusals of a missing or bad token pass through
// limit (keyed by IP, as there is no user), so guessing tokens is throttled
// like any other anonymous traffic.
func (a *API) authenticate(level access, limit func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		noToken := limit(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="supportwhatsapp"`)
			middleware.WriteError(w, r, http.StatusUnauthorized, helpdesk.CodeUnauthorized, "send Authorization: Bearer <access token>", nil)
		}))
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token, ok := bearerToken(r)
			if !ok {
				noToken.ServeHTTP(w, r)
				return
			}
			u, err := a.auth.Authenticate(r.Context(), token)
			if err != nil {
				limit(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("WWW-Authenticate", `Bearer realm="supportwhatsapp", error="invalid_token"`)
					a.writeError(w, r, err)
				})).ServeHTTP(w, r)
				return
			}
			middleware.SetUserID(r.Context(), u.ID)
			if u.MustChangePassword && level != lockedOK {
				middleware.WriteError(w, r, http.StatusForbidden, helpdesk.CodePasswordChangeRequired,
					"change your password first (POST /api/v1/auth/change-password)", nil)
				return
			}
			if (level == adminOnly && u.Role != helpdesk.RoleAdmin) || (level == supervisorUp && !u.Role.AtLeast(helpdesk.RoleSupervisor)) {
				middleware.WriteError(w, r, http.StatusForbidden, helpdesk.CodeForbidden, "your role does not allow this action", nil)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
		})
	}
}

func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}
