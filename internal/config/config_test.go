package config_test

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/config"
)

// Two distinct secrets of the form `openssl rand -hex 32` prints.
const (
	hexSecret1 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	hexSecret2 = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"
)

// production returns a valid production environment with the given
// overrides applied; an override whose value is "<unset>" removes the
// variable.
func production(overrides map[string]string) map[string]string {
	environ := map[string]string{
		"APP_ENV":              config.EnvProduction,
		"JWT_SECRET":           hexSecret1,
		"JWT_REFRESH_SECRET":   hexSecret2,
		"WEBHOOK_VERIFY_TOKEN": "a-random-verify-token",
	}
	for k, v := range overrides {
		if v == "<unset>" {
			delete(environ, k)
			continue
		}
		environ[k] = v
	}
	return environ
}

func TestLoad_Defaults(t *testing.T) {
	t.Parallel()

	c, err := config.Load(map[string]string{})
	if err != nil {
		t.Fatalf("Load(empty) = %v, want the defaults", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"AppEnv", c.AppEnv, config.EnvDevelopment},
		{"Production", c.Production(), false},
		{"Port", c.Port, 3000},
		{"DatabaseURL (empty means the SQLite default)", c.DatabaseURL, ""},
		{"LogLevel", c.LogLevel, "info"},
		{"JWTExpiresIn", c.JWTExpiresIn.D(), 15 * time.Minute},
		{"JWTRefreshExpiresIn", c.JWTRefreshExpiresIn.D(), 7 * 24 * time.Hour},
		{"BcryptRounds", c.BcryptRounds, 12},
		{"JWTSecret (dev default)", c.JWTSecret, config.DevJWTSecret},
		{"JWTRefreshSecret (dev default)", c.JWTRefreshSecret, config.DevJWTRefreshSecret},
		{"WebhookVerifyToken filled in development", c.WebhookVerifyToken != "", true},
		{"AllowedOrigins", strings.Join(c.AllowedOrigins(), " "), "http://localhost:5173"},
		{"RateLimitWindow", c.RateLimitWindow(), time.Minute},
		{"LoginFailureWindow", c.LoginFailureWindow.D(), 15 * time.Minute},
		{"WhatsAppAPIVersion", c.WhatsAppAPIVersion, "v26.0"},
		{"WebhookInboxRetention", c.WebhookInboxRetention(), 30 * 24 * time.Hour},
	}
	for _, tc := range checks {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestLoad_Environment(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name           string
		environ        map[string]string
		wantEnv        string
		wantDevSecrets bool
	}{
		{"nothing set is development", map[string]string{}, config.EnvDevelopment, true},
		{"APP_ENV=test", map[string]string{"APP_ENV": "test"}, config.EnvTest, true},
		{"NODE_ENV honoured when APP_ENV unset", production(map[string]string{"APP_ENV": "<unset>", "NODE_ENV": "production"}), config.EnvProduction, false},
		{"NODE_ENV=test honoured when APP_ENV unset", map[string]string{"NODE_ENV": "test"}, config.EnvTest, true},
		{"APP_ENV wins over NODE_ENV", map[string]string{"APP_ENV": "development", "NODE_ENV": "production"}, config.EnvDevelopment, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.Load(tc.environ)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.AppEnv != tc.wantEnv {
				t.Errorf("AppEnv = %q, want %q", c.AppEnv, tc.wantEnv)
			}
			if c.Production() != (tc.wantEnv == config.EnvProduction) {
				t.Errorf("Production() = %v with AppEnv %q", c.Production(), c.AppEnv)
			}
			if gotDev := c.JWTSecret == config.DevJWTSecret; gotDev != tc.wantDevSecrets {
				t.Errorf("JWTSecret is the dev default: %v, want %v", gotDev, tc.wantDevSecrets)
			}
		})
	}
}

func TestLoad_DevelopmentKeepsGivenSecrets(t *testing.T) {
	t.Parallel()

	c, err := config.Load(map[string]string{"JWT_SECRET": "short-but-fine-in-dev", "WEBHOOK_VERIFY_TOKEN": "tok"})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.JWTSecret != "short-but-fine-in-dev" {
		t.Errorf("JWTSecret = %q, want the given one", c.JWTSecret)
	}
	if c.JWTRefreshSecret != config.DevJWTRefreshSecret {
		t.Errorf("JWTRefreshSecret = %q, want the dev default", c.JWTRefreshSecret)
	}
	if c.WebhookVerifyToken != "tok" {
		t.Errorf("WebhookVerifyToken = %q, want tok", c.WebhookVerifyToken)
	}
}

func TestDuration_UnmarshalText(t *testing.T) {
	t.Parallel()

	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: "15m", want: 15 * time.Minute},
		{in: "12h", want: 12 * time.Hour},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "7d", want: 7 * 24 * time.Hour},
		{in: "30d", want: 30 * 24 * time.Hour},
		{in: "3600", want: time.Hour},
		{in: " 15m ", want: 15 * time.Minute},
		{in: "7x", wantErr: true},
		{in: "xd", wantErr: true},
		{in: "1.5d", wantErr: true},
		{in: "", wantErr: true},
		{in: "soon", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			var d config.Duration
			err := d.UnmarshalText([]byte(tc.in))
			if tc.wantErr {
				if err == nil {
					t.Fatalf("UnmarshalText(%q) = %v, want an error", tc.in, d.D())
				}
				if !strings.Contains(err.Error(), "7d") {
					t.Errorf("error %q should show an example such as 7d", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("UnmarshalText(%q): %v", tc.in, err)
			}
			if d.D() != tc.want {
				t.Errorf("UnmarshalText(%q) = %v, want %v", tc.in, d.D(), tc.want)
			}
		})
	}
}

func TestLoad_Durations(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name        string
		environ     map[string]string
		wantAccess  time.Duration
		wantRefresh time.Duration
		wantErr     string
	}{
		{"days", map[string]string{"JWT_REFRESH_EXPIRES_IN": "30d"}, 15 * time.Minute, 30 * 24 * time.Hour, ""},
		{"seconds", map[string]string{"JWT_EXPIRES_IN": "3600"}, time.Hour, 7 * 24 * time.Hour, ""},
		{"bad unit", map[string]string{"JWT_EXPIRES_IN": "7x"}, 0, 0, "7x"},
		{"access too short", map[string]string{"JWT_EXPIRES_IN": "30s"}, 0, 0, "JWT_EXPIRES_IN"},
		{"access too long", map[string]string{"JWT_EXPIRES_IN": "2d"}, 0, 0, "JWT_EXPIRES_IN"},
		{"refresh too short", map[string]string{"JWT_REFRESH_EXPIRES_IN": "30m"}, 0, 0, "JWT_REFRESH_EXPIRES_IN"},
		{"refresh too long", map[string]string{"JWT_REFRESH_EXPIRES_IN": "91d"}, 0, 0, "JWT_REFRESH_EXPIRES_IN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.Load(tc.environ)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Load = %v, want an error mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.JWTExpiresIn.D() != tc.wantAccess || c.JWTRefreshExpiresIn.D() != tc.wantRefresh {
				t.Errorf("durations = %v, %v; want %v, %v", c.JWTExpiresIn.D(), c.JWTRefreshExpiresIn.D(), tc.wantAccess, tc.wantRefresh)
			}
		})
	}
}

func TestLoad_ProductionSecrets(t *testing.T) {
	t.Parallel()

	const placeholder = "sua-chave-secreta-com-pelo-menos-32-caracteres" // the seed's .env example

	tests := []struct {
		name    string
		environ map[string]string
		want    []string // fragments the error must contain; nil means valid
	}{
		{
			name:    "two distinct 64-hex secrets and a verify token",
			environ: production(nil),
		},
		{
			name:    "JWT_SECRET missing",
			environ: production(map[string]string{"JWT_SECRET": "<unset>"}),
			want:    []string{"JWT_SECRET is required in production"},
		},
		{
			name:    "JWT_REFRESH_SECRET missing",
			environ: production(map[string]string{"JWT_REFRESH_SECRET": "<unset>"}),
			want:    []string{"JWT_REFRESH_SECRET is required in production"},
		},
		{
			name:    "both missing, via NODE_ENV",
			environ: map[string]string{"NODE_ENV": "production", "WEBHOOK_VERIFY_TOKEN": "x"},
			want:    []string{"JWT_SECRET is required", "JWT_REFRESH_SECRET is required"},
		},
		{
			name:    "JWT_SECRET is the dev default",
			environ: production(map[string]string{"JWT_SECRET": config.DevJWTSecret}),
			want:    []string{"JWT_SECRET is a published default"},
		},
		{
			name:    "JWT_REFRESH_SECRET is the dev default",
			environ: production(map[string]string{"JWT_REFRESH_SECRET": config.DevJWTRefreshSecret}),
			want:    []string{"JWT_REFRESH_SECRET is a published default"},
		},
		{
			name:    "JWT_SECRET is the seed's example",
			environ: production(map[string]string{"JWT_SECRET": placeholder}),
			want:    []string{"JWT_SECRET is a published default"},
		},
		{
			name:    "JWT_REFRESH_SECRET looks like a placeholder",
			environ: production(map[string]string{"JWT_REFRESH_SECRET": "outra-chave-secreta-para-refresh-token-aqui"}),
			want:    []string{"JWT_REFRESH_SECRET is a published default"},
		},
		{
			name:    "placeholder in upper case",
			environ: production(map[string]string{"JWT_SECRET": "YOUR-SECRET-HERE-0123456789abcdef0123456789"}),
			want:    []string{"JWT_SECRET is a published default"},
		},
		{
			name:    "JWT_SECRET shorter than 32",
			environ: production(map[string]string{"JWT_SECRET": hexSecret1[:31]}),
			want:    []string{"JWT_SECRET is 31 characters", "at least 32"},
		},
		{
			name:    "JWT_REFRESH_SECRET shorter than 32",
			environ: production(map[string]string{"JWT_REFRESH_SECRET": "abc"}),
			want:    []string{"JWT_REFRESH_SECRET is 3 characters"},
		},
		{
			name:    "exactly 32 characters is enough",
			environ: production(map[string]string{"JWT_SECRET": hexSecret1[:32]}),
		},
		{
			name:    "equal secrets",
			environ: production(map[string]string{"JWT_REFRESH_SECRET": hexSecret1}),
			want:    []string{"JWT_SECRET and JWT_REFRESH_SECRET must differ"},
		},
		{
			name:    "verify token missing",
			environ: production(map[string]string{"WEBHOOK_VERIFY_TOKEN": "<unset>"}),
			want:    []string{"WEBHOOK_VERIFY_TOKEN is required in production"},
		},
		{
			name:    "bcrypt 9 refused in production",
			environ: production(map[string]string{"BCRYPT_ROUNDS": "9"}),
			want:    []string{"BCRYPT_ROUNDS=9", "between 10 and 16"},
		},
		{
			name:    "bcrypt 10 accepted in production",
			environ: production(map[string]string{"BCRYPT_ROUNDS": "10"}),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.Load(tc.environ)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Load = %v, want a valid production config", err)
				}
				if !c.Production() {
					t.Errorf("Production() = false, want true")
				}
				if c.JWTSecret == config.DevJWTSecret || c.JWTRefreshSecret == config.DevJWTRefreshSecret {
					t.Errorf("production config carries a dev secret")
				}
				return
			}
			if err == nil {
				t.Fatalf("Load succeeded, want an error containing %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), hexSecret1) || strings.Contains(err.Error(), hexSecret2) {
				t.Errorf("error reveals a secret:\n%v", err)
			}
		})
	}
}

func TestLoad_Invalid(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		environ map[string]string
		want    string
	}{
		{"PORT zero", map[string]string{"PORT": "0"}, "PORT=0"},
		{"PORT too large", map[string]string{"PORT": "65536"}, "PORT=65536"},
		{"PORT not a number", map[string]string{"PORT": "http"}, "http"},
		{"LOG_LEVEL unknown", map[string]string{"LOG_LEVEL": "verbose"}, `LOG_LEVEL="verbose"`},
		{"APP_ENV unknown", map[string]string{"APP_ENV": "staging"}, `APP_ENV="staging"`},
		{"DATABASE_URL mysql", map[string]string{"DATABASE_URL": "mysql://root@localhost/db"}, "DATABASE_URL"},
		{"BCRYPT_ROUNDS 3", map[string]string{"BCRYPT_ROUNDS": "3"}, "BCRYPT_ROUNDS=3"},
		{"BCRYPT_ROUNDS 17", map[string]string{"BCRYPT_ROUNDS": "17"}, "BCRYPT_ROUNDS=17"},
		{"equal secrets in development", map[string]string{"JWT_SECRET": "same", "JWT_REFRESH_SECRET": "same"}, "must differ"},
		{"FRONTEND_URL not a URL", map[string]string{"FRONTEND_URL": "localhost:5173"}, "FRONTEND_URL"},
		{"FRONTEND_URL one bad among good", map[string]string{"FRONTEND_URL": "https://a.example.com, ftp://b.example.com"}, `"ftp://b.example.com"`},
		{"BACKEND_URL relative", map[string]string{"BACKEND_URL": "/api"}, "BACKEND_URL"},
		{"WHATSAPP_API_VERSION without v", map[string]string{"WHATSAPP_API_VERSION": "26.0"}, "WHATSAPP_API_VERSION"},
		{"MAX_BODY_BYTES tiny", map[string]string{"MAX_BODY_BYTES": "10"}, "MAX_BODY_BYTES=10"},
		{"WEBHOOK_INBOX_RETENTION_DAYS negative", map[string]string{"WEBHOOK_INBOX_RETENTION_DAYS": "-1"}, "WEBHOOK_INBOX_RETENTION_DAYS=-1"},
		{"WEBHOOK_INBOX_RETENTION_DAYS not a number", map[string]string{"WEBHOOK_INBOX_RETENTION_DAYS": "thirty"}, "WEBHOOK_INBOX_RETENTION_DAYS"},
		{"INGEST_LANES 0", map[string]string{"INGEST_LANES": "0"}, "INGEST_LANES=0"},
		{"INGEST_LANES not a number", map[string]string{"INGEST_LANES": "abc"}, "INGEST_LANES: "},
		{"INGEST_LANES 65", map[string]string{"INGEST_LANES": "65"}, "INGEST_LANES=65"},
		{"RATE_LIMIT_WINDOW_MS tiny", map[string]string{"RATE_LIMIT_WINDOW_MS": "10"}, "RATE_LIMIT_WINDOW_MS=10"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Load(tc.environ)
			if err == nil {
				t.Fatalf("Load succeeded, want an error mentioning %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not mention %q:\n%v", tc.want, err)
			}
		})
	}
}

// An empty variable means "use the default"; Validate still guards a
// Config built by hand.
func TestLoad_EmptyMeansDefault(t *testing.T) {
	t.Parallel()

	c, err := config.Load(map[string]string{"MEDIA_DIR": "", "PORT": "", "JWT_EXPIRES_IN": ""})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.MediaDir != "./data/media" || c.Port != 3000 || c.JWTExpiresIn.D() != 15*time.Minute {
		t.Errorf("MediaDir, Port, JWTExpiresIn = %q, %d, %v; want the defaults", c.MediaDir, c.Port, c.JWTExpiresIn.D())
	}
	c.MediaDir = ""
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "MEDIA_DIR") {
		t.Errorf("Validate with MediaDir \"\" = %v, want an error naming MEDIA_DIR", err)
	}
}

func TestLoad_Valid(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		environ map[string]string
		check   func(t *testing.T, c config.Config)
	}{
		{"WEBHOOK_INBOX_RETENTION_DAYS 0 keeps forever", map[string]string{"WEBHOOK_INBOX_RETENTION_DAYS": "0"}, func(t *testing.T, c config.Config) {
			if c.WebhookInboxRetention() != 0 {
				t.Errorf("WebhookInboxRetention = %v, want 0", c.WebhookInboxRetention())
			}
		}},
		{"PORT 8080", map[string]string{"PORT": "8080"}, func(t *testing.T, c config.Config) {
			if c.Port != 8080 {
				t.Errorf("Port = %d, want 8080", c.Port)
			}
		}},
		{"LOG_LEVEL in capitals", map[string]string{"LOG_LEVEL": "DEBUG"}, nil},
		{"DATABASE_URL sqlite", map[string]string{"DATABASE_URL": "sqlite:/tmp/x.db"}, nil},
		{"DATABASE_URL file", map[string]string{"DATABASE_URL": "file:x.db"}, nil},
		{"DATABASE_URL postgres", map[string]string{"DATABASE_URL": "postgres://u:p@localhost:5432/db?sslmode=disable"}, nil},
		{"DATABASE_URL postgresql", map[string]string{"DATABASE_URL": "postgresql://u@localhost/db"}, nil},
		{"BCRYPT_ROUNDS 4 outside production", map[string]string{"BCRYPT_ROUNDS": "4"}, nil},
		{"BCRYPT_ROUNDS 9 outside production", map[string]string{"BCRYPT_ROUNDS": "9"}, nil},
		{"BCRYPT_ROUNDS 16", map[string]string{"BCRYPT_ROUNDS": "16"}, nil},
		{
			"FRONTEND_URL several origins with trailing slashes",
			map[string]string{"FRONTEND_URL": " https://app.example.com/, http://localhost:5173// ,,https://admin.example.com "},
			func(t *testing.T, c config.Config) {
				want := []string{"https://app.example.com", "http://localhost:5173", "https://admin.example.com"}
				if got := c.AllowedOrigins(); !slices.Equal(got, want) {
					t.Errorf("AllowedOrigins() = %q, want %q", got, want)
				}
			},
		},
		{"TRUST_PROXY", map[string]string{"TRUST_PROXY": "true"}, func(t *testing.T, c config.Config) {
			if !c.TrustProxy {
				t.Error("TrustProxy = false, want true")
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.Load(tc.environ)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}

// A person fixing a configuration should see every problem at once, not one
// per restart.
func TestLoad_ReportsAllProblemsTogether(t *testing.T) {
	t.Parallel()

	_, err := config.Load(map[string]string{
		"APP_ENV":            "production",
		"PORT":               "70000",
		"LOG_LEVEL":          "loud",
		"DATABASE_URL":       "mysql://root@localhost/helpdesk",
		"JWT_SECRET":         "sua-chave-secreta-com-pelo-menos-32-caracteres",
		"JWT_REFRESH_SECRET": "short",
		"BCRYPT_ROUNDS":      "9",
		"FRONTEND_URL":       "https://ok.example.com,not-a-url",
	})
	if err == nil {
		t.Fatal("Load succeeded, want an error")
	}
	msg := err.Error()
	for _, want := range []string{
		"PORT=70000", "LOG_LEVEL", "DATABASE_URL", "JWT_SECRET is a published default",
		"JWT_REFRESH_SECRET is 5 characters", "BCRYPT_ROUNDS=9", "WEBHOOK_VERIFY_TOKEN", `"not-a-url"`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not mention %q", want)
		}
	}
	if got := strings.Count(msg, "\n"); got < 8 {
		t.Errorf("error has %d lines after the heading, want one per problem (8):\n%s", got, msg)
	}
	// The problems stay reachable one by one.
	var multi interface{ Unwrap() []error }
	if !errors.As(err, &multi) || len(multi.Unwrap()) != 8 {
		t.Errorf("error does not unwrap into the 8 problems:\n%s", msg)
	}
}

// A value the loader cannot parse must be reported by its variable name,
// together with the problems Validate finds.
func TestLoad_ParseErrorsJoinTheRest(t *testing.T) {
	t.Parallel()

	_, err := config.Load(map[string]string{"PORT": "http", "LOG_LEVEL": "loud"})
	if err == nil {
		t.Fatal("Load succeeded, want an error")
	}
	for _, want := range []string{"PORT", "LOG_LEVEL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
}

// Load reads only the map it is given; a nil map is an empty environment.
func TestLoad_NilMapIsEmpty(t *testing.T) {
	t.Setenv("PORT", "4242")

	c, err := config.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 3000 {
		t.Errorf("Load(nil).Port = %d, want the default 3000 (the process environment leaked in)", c.Port)
	}
}

func TestEnviron(t *testing.T) {
	// t.Setenv forbids t.Parallel.
	dir := t.TempDir()
	dotenv := filepath.Join(dir, ".env")
	content := "# comment\nSWA_TEST_FROM_FILE=file-value\nSWA_TEST_OVERRIDDEN=file-value\nSWA_TEST_QUOTED=\"with spaces\"\n"
	if err := os.WriteFile(dotenv, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SWA_TEST_OVERRIDDEN", "env-value")
	t.Setenv("SWA_TEST_ONLY_ENV", "env-only")

	tests := []struct {
		name string
		path string
		want map[string]string // "" means absent
	}{
		{
			name: "file values load and the environment wins",
			path: dotenv,
			want: map[string]string{
				"SWA_TEST_FROM_FILE":  "file-value",
				"SWA_TEST_OVERRIDDEN": "env-value",
				"SWA_TEST_QUOTED":     "with spaces",
				"SWA_TEST_ONLY_ENV":   "env-only",
			},
		},
		{
			name: "missing file is fine",
			path: filepath.Join(dir, "missing.env"),
			want: map[string]string{"SWA_TEST_FROM_FILE": "", "SWA_TEST_OVERRIDDEN": "env-value", "SWA_TEST_ONLY_ENV": "env-only"},
		},
		{
			name: "no path reads the environment only",
			path: "",
			want: map[string]string{"SWA_TEST_FROM_FILE": "", "SWA_TEST_ONLY_ENV": "env-only"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := config.Environ(tc.path)
			if err != nil {
				t.Fatalf("Environ(%q): %v", tc.path, err)
			}
			for k, want := range tc.want {
				v, ok := got[k]
				if want == "" && ok {
					t.Errorf("%s = %q, want it absent", k, v)
				}
				if want != "" && v != want {
					t.Errorf("%s = %q, want %q", k, v, want)
				}
			}
		})
	}
}

func TestEnviron_FeedsLoad(t *testing.T) {
	dir := t.TempDir()
	dotenv := filepath.Join(dir, ".env")
	if err := os.WriteFile(dotenv, []byte("PORT=4000\nLOG_LEVEL=debug\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PORT", "5000")
	t.Setenv("APP_ENV", "")
	t.Setenv("NODE_ENV", "")

	environ, err := config.Environ(dotenv)
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(environ)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Port != 5000 {
		t.Errorf("Port = %d, want 5000 from the environment", c.Port)
	}
	if c.LogLevel != "debug" {
		t.Errorf("LogLevel = %q, want debug from the file", c.LogLevel)
	}
}

func TestEnviron_UnreadableFile(t *testing.T) {
	dir := t.TempDir() // a directory where the file should be
	if _, err := config.Environ(dir); err == nil {
		t.Fatal("Environ(a directory) succeeded, want a read error")
	}
}

// Copying .env.example to .env is the documented first step; the copy must
// load as a valid development configuration.
func TestEnviron_EnvExample(t *testing.T) {
	if os.Getenv("APP_ENV") != "" || os.Getenv("NODE_ENV") != "" {
		t.Skip("APP_ENV or NODE_ENV is set in the environment")
	}
	environ, err := config.Environ(filepath.Join("..", "..", ".env.example"))
	if err != nil {
		t.Fatalf("Environ(.env.example): %v", err)
	}
	c, err := config.Load(environ)
	if err != nil {
		t.Fatalf("Load(.env.example): %v", err)
	}
	if c.AppEnv != config.EnvDevelopment || c.JWTSecret != config.DevJWTSecret {
		t.Errorf("AppEnv, JWTSecret = %q, %q; want development with the dev secret", c.AppEnv, c.JWTSecret)
	}
}

// An empty value followed by a comment ("KEY=   # note") must stay empty.
// godotenv v1.5.1 returns the comment as the value when nothing precedes
// it, so a copied .env.example sets JWT_REFRESH_SECRET, WHATSAPP_APP_SECRET
// and WEBHOOK_VERIFY_TOKEN to public comment text, and production accepts
// them.
func TestEnviron_EmptyValueWithInlineComment(t *testing.T) {

	environ, err := config.Environ(filepath.Join("..", "..", ".env.example"))
	if err != nil {
		t.Fatalf("Environ(.env.example): %v", err)
	}
	for _, k := range []string{"JWT_REFRESH_SECRET", "WHATSAPP_BUSINESS_ACCOUNT_ID", "WHATSAPP_APP_SECRET", "WEBHOOK_VERIFY_TOKEN"} {
		if _, set := os.LookupEnv(k); set {
			continue // the real environment wins; nothing to say about the file
		}
		if v := environ[k]; strings.HasPrefix(v, "#") {
			t.Errorf("%s = %q: the inline comment became the value", k, v)
		}
	}
	environ["APP_ENV"] = config.EnvProduction
	environ["JWT_SECRET"] = hexSecret1
	if _, err := config.Load(environ); err == nil {
		t.Error("production accepted .env.example with only JWT_SECRET filled in")
	}
}

// A variable that does not parse is reported once, as unparsable: not
// also by its range check, which would name a value nobody set.
func TestLoad_UnparsableReportedOnce(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"INGEST_LANES", "BCRYPT_ROUNDS", "MAX_BODY_BYTES", "PORT"} {
		_, err := config.Load(map[string]string{name: "abc"})
		if err == nil {
			t.Fatalf("%s=abc: Load succeeded", name)
		}
		if n := strings.Count(err.Error(), name); n != 1 {
			t.Errorf("%s=abc is reported %d times, want once:\n%v", name, n, err)
		}
		if strings.Contains(err.Error(), name+"=0") {
			t.Errorf("%s=abc is reported as 0:\n%v", name, err)
		}
	}
}

// LOG_LEVEL is read whatever its case, as validate accepts it.
func TestSlogLevel(t *testing.T) {
	for name, want := range map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "WARN": slog.LevelWarn, "Error": slog.LevelError} {
		cfg, err := config.Load(map[string]string{"APP_ENV": "test", "LOG_LEVEL": name})
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.SlogLevel(); got != want {
			t.Errorf("LOG_LEVEL=%s: level %v, want %v", name, got, want)
		}
	}
}
