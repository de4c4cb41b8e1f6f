// Package auth holds the credentials machinery: bcrypt passwords, HS256 JWT
// access tokens, and opaque rotating refresh tokens whose reuse revokes the
// whole chain they belong to.
package auth

import (
	"fmt"
	"unicode"

	"golang.org/x/crypto/bcrypt"
)

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 8

// maxPasswordBytes is bcrypt's input limit; longer passwords would be
// silently truncated, so they are refused instead.
const maxPasswordBytes = 72

// PasswordProblem returns a message for a password that breaks the policy
// (at least 8 characters, at least one letter and one digit, at most 72
// bytes), or "" when it is acceptable.
func PasswordProblem(pw string) string {
	if len([]rune(pw)) < MinPasswordLength {
		return fmt.Sprintf("must have at least %d characters", MinPasswordLength)
	}
	if len(pw) > maxPasswordBytes {
		return fmt.Sprintf("must have at most %d bytes", maxPasswordBytes)
	}
	var letter, digit bool
	for _, r := range pw {
		letter = letter || unicode.IsLetter(r)
		digit = digit || unicode.IsDigit(r)
	}
	if !letter || !digit {
		return "must contain at least one letter and one digit"
	}
	return ""
}

// HashPassword hashes pw with bcrypt at the given cost.
func HashPassword(pw string, cost int) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// CheckPassword reports whether pw matches hash. A malformed hash is a
// mismatch, never a panic.
func CheckPassword(hash, pw string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}

// Passwords applies the password policy and hashes at a fixed bcrypt cost;
// it satisfies helpdesk.PasswordPolicy.
type Passwords struct{ Cost int }

// Problem returns why pw breaks the policy, or "".
func (p Passwords) Problem(pw string) string { return PasswordProblem(pw) }

// Hash hashes pw with bcrypt.
func (p Passwords) Hash(pw string) (string, error) { return HashPassword(pw, p.Cost) }
