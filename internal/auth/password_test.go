package auth_test

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/supportwhatsapp/supportwhatsapp/internal/auth"
)

func TestPasswordProblem(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		pw   string
		want string // fragment of the problem; "" means acceptable
	}{
		{"ok", "senha123", ""},
		{"ok with symbols", "Demo@1234", ""},
		{"empty", "", "at least 8 characters"},
		{"too short", "abc1234", "at least 8 characters"},
		{"short in characters though long in bytes", "çãéíõ1", "at least 8 characters"},
		{"no digit", "abcdefgh", "letter and one digit"},
		{"no letter", "12345678", "letter and one digit"},
		{"only symbols", "!@#$%^&*", "letter and one digit"},
		{"accented letters count as letters", "çãéíõú12", ""},
		{"non-Latin letters count as letters", "пароль12", ""},
		{"exactly 72 bytes", "a1" + strings.Repeat("x", 70), ""},
		{"73 bytes", "a1" + strings.Repeat("x", 71), "at most 72 bytes"},
		{"41 characters but 81 bytes", "1" + strings.Repeat("é", 40), "at most 72 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := auth.PasswordProblem(tc.pw)
			if tc.want == "" {
				if got != "" {
					t.Errorf("PasswordProblem(%q) = %q, want acceptable", tc.pw, got)
				}
				return
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("PasswordProblem(%q) = %q, want it to mention %q", tc.pw, got, tc.want)
			}
			// Passwords.Problem is the same policy, as helpdesk sees it.
			if p := (auth.Passwords{Cost: bcrypt.MinCost}).Problem(tc.pw); p != got {
				t.Errorf("Passwords.Problem(%q) = %q, PasswordProblem = %q", tc.pw, p, got)
			}
		})
	}
}

func TestHashPassword_CheckPassword(t *testing.T) {
	t.Parallel()

	const pw = "senha123"
	hash, err := auth.HashPassword(pw, bcrypt.MinCost)
	if err != nil {
		t.Fatalf("HashPassword: %v", err)
	}
	if hash == pw || !strings.HasPrefix(hash, "$2a$") {
		t.Fatalf("HashPassword = %q, want a bcrypt hash", hash)
	}
	if cost, err := bcrypt.Cost([]byte(hash)); err != nil || cost != bcrypt.MinCost {
		t.Errorf("hash cost = %d, %v; want %d", cost, err, bcrypt.MinCost)
	}
	again, err := auth.HashPassword(pw, bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if again == hash {
		t.Error("two hashes of one password are equal: no salt")
	}

	tests := []struct {
		name string
		hash string
		pw   string
		want bool
	}{
		{"right password", hash, pw, true},
		{"second hash of the same password", again, pw, true},
		{"wrong password", hash, "senha124", false},
		{"case matters", hash, "SENHA123", false},
		{"empty password", hash, "", false},
		{"malformed hash", "not-a-bcrypt-hash", pw, false},
		{"empty hash", "", pw, false},
		{"truncated hash", hash[:20], pw, false},
		{"plain text stored as hash", pw, pw, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := auth.CheckPassword(tc.hash, tc.pw); got != tc.want {
				t.Errorf("CheckPassword(%q, %q) = %v, want %v", tc.hash, tc.pw, got, tc.want)
			}
		})
	}
}

func TestHashPassword_Errors(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		pw      string
		cost    int
		wantErr error
	}{
		{"longer than bcrypt's 72 bytes", strings.Repeat("a1", 37), bcrypt.MinCost, bcrypt.ErrPasswordTooLong},
		{"cost above bcrypt's maximum", "senha123", bcrypt.MaxCost + 1, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := auth.HashPassword(tc.pw, tc.cost)
			if err == nil {
				t.Fatal("HashPassword succeeded, want an error")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("HashPassword error = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestPasswords_Hash(t *testing.T) {
	t.Parallel()

	p := auth.Passwords{Cost: bcrypt.MinCost + 1}
	hash, err := p.Hash("senha123")
	if err != nil {
		t.Fatal(err)
	}
	if cost, _ := bcrypt.Cost([]byte(hash)); cost != bcrypt.MinCost+1 {
		t.Errorf("cost = %d, want %d", cost, bcrypt.MinCost+1)
	}
	if !auth.CheckPassword(hash, "senha123") {
		t.Error("CheckPassword rejects the password Passwords.Hash hashed")
	}
}
