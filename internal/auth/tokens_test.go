package auth_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/supportwhatsapp/supportwhatsapp/internal/auth"
)

const (
	testAccessSecret  = "test-access-secret-0123456789abcdef0123456789abcdef"
	testRefreshSecret = "test-refresh-secret-0123456789abcdef0123456789abcdef"
)

// t0 is a whole second: JWT times have second precision.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// sign signs claims with method and key, as an attacker holding (or
// guessing) the key would.
func sign(t *testing.T, method jwt.SigningMethod, claims jwt.Claims, key any) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatalf("sign %s: %v", method.Alg(), err)
	}
	return s
}

// validClaims are the claims Issue would write for user-1 at t0.
func validClaims() jwt.RegisteredClaims {
	return jwt.RegisteredClaims{
		Issuer:    "supportwhatsapp",
		Subject:   "user-1",
		IssuedAt:  jwt.NewNumericDate(t0),
		NotBefore: jwt.NewNumericDate(t0),
		ExpiresAt: jwt.NewNumericDate(t0.Add(15 * time.Minute)),
	}
}

func TestAccessTokens_RoundTrip(t *testing.T) {
	t.Parallel()

	tokens := auth.NewAccessTokens(testAccessSecret, 15*time.Minute, fixedClock(t0))
	if tokens.TTL() != 15*time.Minute {
		t.Errorf("TTL() = %v, want 15m", tokens.TTL())
	}
	tok, err := tokens.Issue("user-1")
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	if strings.Count(tok, ".") != 2 {
		t.Fatalf("Issue = %q, want a compact JWT", tok)
	}
	got, err := tokens.Verify(tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got != "user-1" {
		t.Errorf("Verify = %q, want user-1", got)
	}

	// The header says HS256 and the claims carry iss, sub and exp.
	var header map[string]any
	decodeSegment(t, tok, 0, &header)
	if header["alg"] != "HS256" {
		t.Errorf("alg = %v, want HS256", header["alg"])
	}
	var claims map[string]any
	decodeSegment(t, tok, 1, &claims)
	if claims["iss"] != "supportwhatsapp" || claims["sub"] != "user-1" {
		t.Errorf("claims = %v, want iss supportwhatsapp and sub user-1", claims)
	}
	if exp, _ := claims["exp"].(float64); int64(exp) != t0.Add(15*time.Minute).Unix() {
		t.Errorf("exp = %v, want %d", claims["exp"], t0.Add(15*time.Minute).Unix())
	}
}

func TestAccessTokens_Verify(t *testing.T) {
	t.Parallel()

	issuer := auth.NewAccessTokens(testAccessSecret, 15*time.Minute, fixedClock(t0))
	good, err := issuer.Issue("user-1")
	if err != nil {
		t.Fatal(err)
	}
	key := []byte(testAccessSecret)

	noExp := validClaims()
	noExp.ExpiresAt = nil
	otherIssuer := validClaims()
	otherIssuer.Issuer = "someone-else"
	noIssuer := validClaims()
	noIssuer.Issuer = ""
	noSubject := validClaims()
	noSubject.Subject = ""

	tests := []struct {
		name   string
		token  string
		now    time.Time
		secret string
		wantOK bool
	}{
		{name: "fresh token", token: good, now: t0, wantOK: true},
		{name: "one second before expiry", token: good, now: t0.Add(15*time.Minute - time.Second), wantOK: true},
		{name: "at expiry", token: good, now: t0.Add(15 * time.Minute)},
		{name: "expired", token: good, now: t0.Add(16 * time.Minute)},
		{name: "not valid yet", token: good, now: t0.Add(-time.Minute)},
		{name: "wrong secret", token: good, now: t0, secret: "another-secret-0123456789abcdef0123456789"},
		{name: "tampered payload", token: tamper(t, good, "sub", "admin-id"), now: t0},
		{name: "tampered expiry", token: tamper(t, good, "exp", t0.Add(24*time.Hour).Unix()), now: t0.Add(time.Hour)},
		{name: "signature stripped", token: good[:strings.LastIndexByte(good, '.')+1], now: t0},
		{name: "alg none", token: sign(t, jwt.SigningMethodNone, validClaims(), jwt.UnsafeAllowNoneSignatureType), now: t0},
		{name: "HS384 with the same secret", token: sign(t, jwt.SigningMethodHS384, validClaims(), key), now: t0},
		{name: "HS512 with the same secret", token: sign(t, jwt.SigningMethodHS512, validClaims(), key), now: t0},
		{name: "HS256 by hand is accepted", token: sign(t, jwt.SigningMethodHS256, validClaims(), key), now: t0, wantOK: true},
		{name: "no exp", token: sign(t, jwt.SigningMethodHS256, noExp, key), now: t0},
		{name: "other issuer", token: sign(t, jwt.SigningMethodHS256, otherIssuer, key), now: t0},
		{name: "no issuer", token: sign(t, jwt.SigningMethodHS256, noIssuer, key), now: t0},
		{name: "no subject", token: sign(t, jwt.SigningMethodHS256, noSubject, key), now: t0},
		{name: "empty", token: "", now: t0},
		{name: "garbage", token: "not-a-token", now: t0},
		{name: "three garbage segments", token: "a.b.c", now: t0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			secret := testAccessSecret
			if tc.secret != "" {
				secret = tc.secret
			}
			v := auth.NewAccessTokens(secret, 15*time.Minute, fixedClock(tc.now))
			sub, err := v.Verify(tc.token)
			if tc.wantOK {
				if err != nil || sub != "user-1" {
					t.Fatalf("Verify = %q, %v; want user-1", sub, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Verify = %q, want it refused", sub)
			}
			if !errors.Is(err, auth.ErrInvalidToken) {
				t.Errorf("Verify error = %v, want ErrInvalidToken", err)
			}
			if sub != "" {
				t.Errorf("Verify returned subject %q with an error", sub)
			}
		})
	}
}

func TestNewRefreshToken(t *testing.T) {
	t.Parallel()

	urlSafe := regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	seen := map[string]bool{}
	for range 1000 {
		tok := auth.NewRefreshToken()
		if len(tok) < 43 {
			t.Fatalf("NewRefreshToken = %q (%d chars), want at least 43 (32 random bytes)", tok, len(tok))
		}
		if !urlSafe.MatchString(tok) {
			t.Fatalf("NewRefreshToken = %q, want URL-safe characters only", tok)
		}
		if seen[tok] {
			t.Fatalf("NewRefreshToken returned %q twice", tok)
		}
		seen[tok] = true
	}
}

func TestHashRefreshToken(t *testing.T) {
	t.Parallel()

	tok := auth.NewRefreshToken()
	base := auth.HashRefreshToken(testRefreshSecret, tok)

	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(base) {
		t.Errorf("HashRefreshToken = %q, want 64 hex characters", base)
	}
	if strings.Contains(base, tok) {
		t.Error("the hash contains the token")
	}
	tests := []struct {
		name      string
		secret    string
		token     string
		wantEqual bool
	}{
		{"same secret and token", testRefreshSecret, tok, true},
		{"other secret", testRefreshSecret + "x", tok, false},
		{"empty secret", "", tok, false},
		{"other token", testRefreshSecret, auth.NewRefreshToken(), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := auth.HashRefreshToken(tc.secret, tc.token)
			if (got == base) != tc.wantEqual {
				t.Errorf("HashRefreshToken(%q, …) == base: %v, want %v", tc.secret, got == base, tc.wantEqual)
			}
		})
	}
}

// decodeSegment decodes part i (0 header, 1 claims) of a compact JWT.
func decodeSegment(t *testing.T, token string, i int, v any) {
	t.Helper()
	parts := strings.Split(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatalf("decode segment %d: %v", i, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("unmarshal segment %d: %v", i, err)
	}
}

// tamper rewrites one claim of token and keeps the original signature.
func tamper(t *testing.T, token, claim string, value any) string {
	t.Helper()
	parts := strings.Split(token, ".")
	var claims map[string]any
	decodeSegment(t, token, 1, &claims)
	claims[claim] = value
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}
