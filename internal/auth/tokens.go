package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const issuer = "supportwhatsapp"

// AccessClaims are the claims of an access token. The user's role and
// status are re-read from the database on every request, so a demotion or
// a deactivation takes effect at once; the token only proves identity.
type AccessClaims struct {
	jwt.RegisteredClaims
	// PasswordStamp ties the token to the password it was issued under (see
	// PasswordStamp), so changing the password ends every access token
	// issued before, not only the refresh tokens.
	PasswordStamp string `json:"pws,omitempty"`
}

// PasswordStamp is a short fingerprint of a password hash: it changes
// whenever the password does (bcrypt salts every hash) and, being a digest
// of a salted hash, tells nothing about the password.
func PasswordStamp(passwordHash string) string {
	sum := sha256.Sum256([]byte(passwordHash))
	return base64.RawURLEncoding.EncodeToString(sum[:9])
}

// AccessTokens issues and verifies HS256 access tokens.
type AccessTokens struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
}

// NewAccessTokens returns an issuer with the given secret and lifetime.
func NewAccessTokens(secret string, ttl time.Duration, now func() time.Time) *AccessTokens {
	return &AccessTokens{secret: []byte(secret), ttl: ttl, now: now}
}

// TTL is the lifetime of the tokens issued.
func (a *AccessTokens) TTL() time.Duration { return a.ttl }

// Issue returns a signed token for userID with no password stamp.
func (a *AccessTokens) Issue(userID string) (string, error) { return a.IssueStamped(userID, "") }

// IssueStamped returns a signed token for userID carrying stamp (see
// AccessClaims.PasswordStamp).
func (a *AccessTokens) IssueStamped(userID, stamp string) (string, error) {
	now := a.now()
	claims := AccessClaims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer:    issuer,
		Subject:   userID,
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(a.ttl)),
	}, PasswordStamp: stamp}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(a.secret)
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	return s, nil
}

// ErrInvalidToken is returned for any token that is malformed, forged,
// expired or signed with another algorithm.
var ErrInvalidToken = errors.New("invalid token")

// Verify returns the user id of a valid token.
func (a *AccessTokens) Verify(token string) (string, error) {
	claims, err := a.VerifyClaims(token)
	return claims.Subject, err
}

// VerifyClaims returns the claims of a valid token.
func (a *AccessTokens) VerifyClaims(token string) (AccessClaims, error) {
	var claims AccessClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return a.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(a.now),
	)
	if err != nil || claims.Subject == "" {
		return AccessClaims{}, ErrInvalidToken
	}
	return claims, nil
}

// NewRefreshToken returns a new opaque refresh token: 32 random bytes,
// base64url-encoded.
func NewRefreshToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashRefreshToken is what the database keeps of a refresh token: an
// HMAC-SHA256 keyed with JWT_REFRESH_SECRET, so a leaked table alone cannot
// be matched against guesses.
func HashRefreshToken(secret, token string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(token))
	return hex.EncodeToString(m.Sum(nil))
}
