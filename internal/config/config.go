// Package config turns the environment (and an optional .env file) into a
// validated Config. Every problem is reported at start-up, together, with a
// hint on how to fix it; nothing reads the environment after Load.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Environments.
const (
	EnvDevelopment = "development"
	EnvProduction  = "production"
	EnvTest        = "test"
)

// DevJWTSecret and DevJWTRefreshSecret are the development defaults. They
// are public (they are in this file), so production refuses them.
const (
	DevJWTSecret        = "dev-only-insecure-jwt-secret-change-me-in-production"
	DevJWTRefreshSecret = "dev-only-insecure-refresh-secret-change-me-in-production"
	devVerifyToken      = "supportwhatsapp-dev-verify-token"
	// SandboxAppSecret signs the built-in sandbox's webhooks when no
	// WHATSAPP_APP_SECRET is set.
	SandboxAppSecret = "sandbox-app-secret"
	// SandboxPhoneNumberID is the phone number id of the sandbox's number.
	SandboxPhoneNumberID = "100000000000001"
	// SandboxAccessToken is the bearer token the sandbox's Graph API takes.
	SandboxAccessToken = "sandbox-access-token"
	// SandboxBusinessAccountID is the sandbox's WhatsApp Business Account.
	SandboxBusinessAccountID = "200000000000001"
)

// minSecretLength is the shortest JWT secret production accepts: HS256
// wants a key at least as long as its 256-bit output.
const minSecretLength = 32

// Config is the whole configuration of the process. Field tags name the
// environment variables; the seed's names are kept.
type Config struct {
	AppEnv  string `env:"APP_ENV"`
	NodeEnv string `env:"NODE_ENV"` // the seed's name, honoured when APP_ENV is unset
	Port    int    `env:"PORT" envDefault:"3000"`
	// DatabaseURL: empty → SQLite at ./data/supportwhatsapp.db; sqlite:PATH;
	// postgres://…
	DatabaseURL string `env:"DATABASE_URL"`
	RedisURL    string `env:"REDIS_URL"`
	LogLevel    string `env:"LOG_LEVEL" envDefault:"info"`

	JWTSecret           string   `env:"JWT_SECRET"`
	JWTRefreshSecret    string   `env:"JWT_REFRESH_SECRET"`
	JWTExpiresIn        Duration `env:"JWT_EXPIRES_IN" envDefault:"15m"`
	JWTRefreshExpiresIn Duration `env:"JWT_REFRESH_EXPIRES_IN" envDefault:"7d"`
	BcryptRounds        int      `env:"BCRYPT_ROUNDS" envDefault:"12"`

	WhatsAppPhoneNumberID     string `env:"WHATSAPP_PHONE_NUMBER_ID"`
	WhatsAppAccessToken       string `env:"WHATSAPP_ACCESS_TOKEN"`
	WhatsAppBusinessAccountID string `env:"WHATSAPP_BUSINESS_ACCOUNT_ID"`
	WhatsAppAppSecret         string `env:"WHATSAPP_APP_SECRET"`
	WhatsAppAPIVersion        string `env:"WHATSAPP_API_VERSION" envDefault:"v26.0"`
	WhatsAppGraphURL          string `env:"WHATSAPP_GRAPH_URL" envDefault:"https://graph.facebook.com"`
	WebhookVerifyToken        string `env:"WEBHOOK_VERIFY_TOKEN"`
	WhatsAppMessagesPerSecond int    `env:"WHATSAPP_MESSAGES_PER_SECOND" envDefault:"80"`

	OpenAIAPIKey  string `env:"OPENAI_API_KEY"`
	OpenAIBaseURL string `env:"OPENAI_BASE_URL" envDefault:"https://api.openai.com/v1"`
	OpenAIModel   string `env:"OPENAI_MODEL" envDefault:"gpt-4o-mini"`

	FrontendURL string `env:"FRONTEND_URL" envDefault:"http://localhost:5173"`
	BackendURL  string `env:"BACKEND_URL" envDefault:"http://localhost:3000"`
	MediaDir    string `env:"MEDIA_DIR" envDefault:"./data/media"`
	// MetricsToken, when set, is the bearer token /metrics requires.
	MetricsToken string `env:"METRICS_TOKEN"`

	RateLimitWindowMS    int      `env:"RATE_LIMIT_WINDOW_MS" envDefault:"60000"`
	RateLimitMaxRequests int      `env:"RATE_LIMIT_MAX_REQUESTS" envDefault:"100"`
	LoginMaxFailures     int      `env:"LOGIN_MAX_FAILURES" envDefault:"10"`
	LoginFailureWindow   Duration `env:"LOGIN_FAILURE_WINDOW" envDefault:"15m"`
	TrustProxy           bool     `env:"TRUST_PROXY" envDefault:"false"`
	MaxBodyBytes         int64    `env:"MAX_BODY_BYTES" envDefault:"1048576"`

	// WebhookInboxRetentionDays is how long processed webhook bodies stay
	// in the inbox; 0 keeps them forever. Unrouted and partial ones are
	// always kept (replay needs them).
	WebhookInboxRetentionDays int `env:"WEBHOOK_INBOX_RETENTION_DAYS" envDefault:"30"`

	// IngestLanes is how many webhook group-commit lanes run on
	// PostgreSQL (SQLite has one writer, so always one lane).
	IngestLanes int `env:"INGEST_LANES" envDefault:"1"`
}

// SlogLevel is LOG_LEVEL as a slog level (Load has checked the name).
func (c Config) SlogLevel() slog.Level {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.LogLevel)) // case-insensitive, like validate
	return level
}

// WebhookInboxRetention is WEBHOOK_INBOX_RETENTION_DAYS as a duration; 0
// keeps everything.
func (c Config) WebhookInboxRetention() time.Duration {
	return time.Duration(c.WebhookInboxRetentionDays) * 24 * time.Hour
}

// Duration is a time.Duration that also accepts days ("7d"), as the seed's
// JWT_REFRESH_EXPIRES_IN does, and plain integers as seconds.
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if n, err := strconv.Atoi(s); err == nil {
		*d = Duration(time.Duration(n) * time.Second)
		return nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return fmt.Errorf("%q is not a duration (examples: 15m, 12h, 7d)", s)
		}
		*d = Duration(time.Duration(n) * 24 * time.Hour)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration (examples: 15m, 12h, 7d)", s)
	}
	*d = Duration(v)
	return nil
}

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Load reads the configuration from environ (a map of variable → value, as
// os.Environ gives), fills the defaults and validates it. The error lists
// every problem found, one per line.
func Load(environ map[string]string) (Config, error) {
	if environ == nil {
		environ = map[string]string{} // env falls back to os.Environ on nil
	}
	var c Config
	var errs []error
	var unparsable []string
	if err := env.ParseWithOptions(&c, env.Options{Environment: environ}); err != nil {
		errs, unparsable = parseErrors(err)
	}
	c.applyDefaults()
	for _, err := range c.validate() {
		// A variable that did not parse is left at zero, and its range check
		// would report a value nobody set.
		if !aboutOneOf(err, unparsable) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("invalid configuration:\n  %w", lines(errs))
	}
	return c, nil
}

// aboutOneOf reports whether err, a validation error ("NAME=…", "NAME
// must…"), is about one of the variables names.
func aboutOneOf(err error, names []string) bool {
	msg := err.Error()
	for _, name := range names {
		if rest, ok := strings.CutPrefix(msg, name); ok && (rest == "" || strings.ContainsRune("= :", rune(rest[0]))) {
			return true
		}
	}
	return false
}

// parseErrors restates env's parse errors by variable name, since the Go
// field names it uses mean nothing to the person editing .env, and returns
// the names of the variables that did not parse.
func parseErrors(err error) (errs []error, unparsable []string) {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return []error{err}, nil
	}
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) {
			if f, ok := reflect.TypeOf(Config{}).FieldByName(pe.Name); ok {
				name := strings.Split(f.Tag.Get("env"), ",")[0]
				errs = append(errs, fmt.Errorf("%s: %v", name, pe.Err))
				unparsable = append(unparsable, name)
				continue
			}
		}
		errs = append(errs, e)
	}
	return errs, unparsable
}

func (c *Config) applyDefaults() {
	if c.AppEnv == "" {
		c.AppEnv = c.NodeEnv
	}
	if c.AppEnv == "" {
		c.AppEnv = EnvDevelopment
	}
	if c.AppEnv == EnvProduction {
		return // production must say everything explicitly
	}
	if c.JWTSecret == "" {
		c.JWTSecret = DevJWTSecret
	}
	if c.JWTRefreshSecret == "" {
		c.JWTRefreshSecret = DevJWTRefreshSecret
	}
	if c.WebhookVerifyToken == "" {
		c.WebhookVerifyToken = devVerifyToken
	}
	if c.Sandbox() && c.WhatsAppAppSecret == "" {
		c.WhatsAppAppSecret = SandboxAppSecret
	}
}

// Sandbox reports whether the process talks to the built-in WhatsApp
// simulator instead of Meta: no access token is configured.
func (c Config) Sandbox() bool { return c.WhatsAppAccessToken == "" }

// Production reports whether the process runs with APP_ENV=production.
func (c Config) Production() bool { return c.AppEnv == EnvProduction }

// Validate reports every invalid value, each with a hint on how to fix it.
func (c Config) Validate() error {
	if errs := c.validate(); len(errs) > 0 {
		return fmt.Errorf("invalid configuration:\n  %w", lines(errs))
	}
	return nil
}

func (c Config) validate() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	switch c.AppEnv {
	case EnvDevelopment, EnvProduction, EnvTest:
	default:
		bad("APP_ENV=%q: use development, production or test", c.AppEnv)
	}
	if c.Port < 1 || c.Port > 65535 {
		bad("PORT=%d: use a TCP port between 1 and 65535", c.Port)
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		bad("LOG_LEVEL=%q: use debug, info, warn or error", c.LogLevel)
	}
	if c.DatabaseURL != "" && !hasAnyPrefix(c.DatabaseURL, "postgres://", "postgresql://", "sqlite:", "file:") {
		bad("DATABASE_URL: use postgres://user:pass@host:5432/db, sqlite:PATH, or leave it empty for ./data/supportwhatsapp.db")
	}
	c.validateSecret("JWT_SECRET", c.JWTSecret, DevJWTSecret, &errs)
	c.validateSecret("JWT_REFRESH_SECRET", c.JWTRefreshSecret, DevJWTRefreshSecret, &errs)
	if c.JWTSecret != "" && c.JWTSecret == c.JWTRefreshSecret {
		bad("JWT_SECRET and JWT_REFRESH_SECRET must differ: generate each with `openssl rand -hex 32`")
	}
	if c.JWTExpiresIn.D() < time.Minute || c.JWTExpiresIn.D() > 24*time.Hour {
		bad("JWT_EXPIRES_IN=%s: use between 1m and 24h (default 15m)", c.JWTExpiresIn.D())
	}
	if c.JWTRefreshExpiresIn.D() < time.Hour || c.JWTRefreshExpiresIn.D() > 90*24*time.Hour {
		bad("JWT_REFRESH_EXPIRES_IN=%s: use between 1h and 90d (default 7d)", c.JWTRefreshExpiresIn.D())
	}
	// bcrypt's cost 4 exists for tests; production keeps at least 10.
	minRounds := 4
	if c.Production() {
		minRounds = 10
	}
	if c.BcryptRounds < minRounds || c.BcryptRounds > 16 {
		bad("BCRYPT_ROUNDS=%d: use between %d and 16 (default 12)", c.BcryptRounds, minRounds)
	}
	if !c.Sandbox() && c.WhatsAppAppSecret == "" {
		bad("WHATSAPP_APP_SECRET is required with WHATSAPP_ACCESS_TOKEN: copy the App Secret from Meta's App Dashboard (Settings → Basic); webhooks are verified with it")
	}
	if !c.Sandbox() && c.WhatsAppPhoneNumberID == "" {
		bad("WHATSAPP_PHONE_NUMBER_ID is required with WHATSAPP_ACCESS_TOKEN: copy it from the WhatsApp → API Setup page")
	}
	if c.Production() && c.WebhookVerifyToken == "" {
		bad("WEBHOOK_VERIFY_TOKEN is required in production: pick a random string and enter the same one in Meta's App Dashboard")
	}
	for _, u := range []struct{ name, value string }{
		{"WHATSAPP_GRAPH_URL", c.WhatsAppGraphURL},
		{"OPENAI_BASE_URL", c.OpenAIBaseURL},
		{"BACKEND_URL", c.BackendURL},
	} {
		if !isHTTPURL(u.value) {
			bad("%s=%q: use an absolute http(s) URL", u.name, u.value)
		}
	}
	for _, origin := range c.AllowedOrigins() {
		if u, err := url.Parse(origin); !isHTTPURL(origin) || err != nil || u.Path != "" || u.RawQuery != "" {
			bad("FRONTEND_URL: %q is not an http(s) origin; list origins separated by commas", origin)
		}
	}
	if !strings.HasPrefix(c.WhatsAppAPIVersion, "v") {
		bad("WHATSAPP_API_VERSION=%q: use Meta's form, e.g. v26.0", c.WhatsAppAPIVersion)
	}
	if c.WhatsAppMessagesPerSecond < 1 {
		bad("WHATSAPP_MESSAGES_PER_SECOND=%d: must be at least 1", c.WhatsAppMessagesPerSecond)
	}
	if c.RateLimitWindowMS < 1000 {
		bad("RATE_LIMIT_WINDOW_MS=%d: use at least 1000", c.RateLimitWindowMS)
	}
	if c.RateLimitMaxRequests < 1 {
		bad("RATE_LIMIT_MAX_REQUESTS=%d: must be at least 1", c.RateLimitMaxRequests)
	}
	if c.LoginMaxFailures < 1 {
		bad("LOGIN_MAX_FAILURES=%d: must be at least 1", c.LoginMaxFailures)
	}
	if c.LoginFailureWindow.D() < time.Second {
		bad("LOGIN_FAILURE_WINDOW=%s: must be at least 1s", c.LoginFailureWindow.D())
	}
	if c.MaxBodyBytes < 1024 {
		bad("MAX_BODY_BYTES=%d: must be at least 1024", c.MaxBodyBytes)
	}
	if c.MediaDir == "" {
		bad("MEDIA_DIR must not be empty")
	}
	if c.IngestLanes < 1 || c.IngestLanes > 64 {
		bad("INGEST_LANES=%d: use 1 to 64", c.IngestLanes)
	}
	if c.WebhookInboxRetentionDays < 0 || c.WebhookInboxRetentionDays > 36500 {
		bad("WEBHOOK_INBOX_RETENTION_DAYS=%d: use 0 (keep forever) or a number of days up to 36500", c.WebhookInboxRetentionDays)
	}
	return errs
}

func (c Config) validateSecret(name, value, devDefault string, errs *[]error) {
	if !c.Production() {
		return
	}
	switch {
	case value == "":
		*errs = append(*errs, fmt.Errorf("%s is required in production: generate one with `openssl rand -hex 32`", name))
	case value == devDefault || looksLikePlaceholder(value):
		*errs = append(*errs, fmt.Errorf("%s is a published default: generate a new one with `openssl rand -hex 32`", name))
	case len(value) < minSecretLength:
		*errs = append(*errs, fmt.Errorf("%s is %d characters: production needs at least %d (`openssl rand -hex 32`)", name, len(value), minSecretLength))
	}
}

// looksLikePlaceholder catches the example values people copy from
// documentation (the seed's own .env example among them).
func looksLikePlaceholder(s string) bool {
	l := strings.ToLower(s)
	for _, p := range []string{"change-me", "changeme", "sua-chave", "outra-chave", "your-secret", "secret-key"} {
		if strings.Contains(l, p) {
			return true
		}
	}
	return false
}

// AllowedOrigins returns the CORS origins listed in FRONTEND_URL.
func (c Config) AllowedOrigins() []string {
	var out []string
	for _, o := range strings.Split(c.FrontendURL, ",") {
		if o = strings.TrimRight(strings.TrimSpace(o), "/"); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// RateLimitWindow is RATE_LIMIT_WINDOW_MS as a duration.
func (c Config) RateLimitWindow() time.Duration {
	return time.Duration(c.RateLimitWindowMS) * time.Millisecond
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

type lines []error

func (l lines) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n  ")
}

func (l lines) Unwrap() []error { return l }
