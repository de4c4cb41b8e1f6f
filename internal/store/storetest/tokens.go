package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

func newRefreshToken(userID, familyID string) helpdesk.RefreshToken {
	now := helpdesk.Now()
	id := helpdesk.NewID()
	sum := sha256.Sum256([]byte("opaque-" + id))
	if familyID == "" {
		familyID = id // a login starts a family
	}
	return helpdesk.RefreshToken{
		ID:        id,
		UserID:    userID,
		FamilyID:  familyID,
		TokenHash: hex.EncodeToString(sum[:]),
		ExpiresAt: now.Add(30 * 24 * time.Hour),
		CreatedAt: now,
		UserAgent: "Mozilla/5.0",
		IP:        "203.0.113.7",
	}
}

func mustCreateRefreshToken(t *testing.T, s helpdesk.Store, tok helpdesk.RefreshToken) helpdesk.RefreshToken {
	t.Helper()
	if err := s.CreateRefreshToken(t.Context(), tok); err != nil {
		t.Fatalf("CreateRefreshToken: %v", err)
	}
	return tok
}

func getRefreshToken(t *testing.T, s helpdesk.Store, tok helpdesk.RefreshToken) helpdesk.RefreshToken {
	t.Helper()
	got, err := s.GetRefreshTokenByHash(t.Context(), tok.TokenHash)
	if err != nil {
		t.Fatalf("GetRefreshTokenByHash: %v", err)
	}
	return got
}

func requireRevokedAt(t *testing.T, s helpdesk.Store, tok helpdesk.RefreshToken, want *time.Time) {
	t.Helper()
	got := getRefreshToken(t, s, tok).RevokedAt
	switch {
	case want == nil && got != nil:
		t.Errorf("token %s revoked at %v, want live", tok.ID, *got)
	case want != nil && got == nil:
		t.Errorf("token %s is live, want revoked at %v", tok.ID, *want)
	case want != nil && *got != *want:
		t.Errorf("token %s revoked at %v, want %v", tok.ID, *got, *want)
	}
}

func testRefreshTokens(t *testing.T, open Opener) {
	// setup returns a store with one user.
	setup := func(t *testing.T) (helpdesk.Store, helpdesk.User) {
		s := open(t)
		return s, mustCreateUser(t, s, newUser("ana@example.com"))
	}

	t.Run("CreateAndGet", func(t *testing.T) {
		t.Parallel()
		s, u := setup(t)
		tok := mustCreateRefreshToken(t, s, newRefreshToken(u.ID, ""))
		if got := getRefreshToken(t, s, tok); !reflect.DeepEqual(got, tok) {
			t.Fatalf("GetRefreshTokenByHash = %+v, want %+v", got, tok)
		}
	})

	t.Run("GetMissing", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t)
		_, err := s.GetRefreshTokenByHash(t.Context(), "no-such-hash")
		requireErr(t, err, helpdesk.ErrNotFound)
	})

	t.Run("DuplicateHash", func(t *testing.T) {
		t.Parallel()
		s, u := setup(t)
		tok := mustCreateRefreshToken(t, s, newRefreshToken(u.ID, ""))
		dup := newRefreshToken(u.ID, "")
		dup.TokenHash = tok.TokenHash
		requireErr(t, s.CreateRefreshToken(t.Context(), dup), helpdesk.ErrConflict)
	})

	t.Run("UnknownUser", func(t *testing.T) {
		t.Parallel()
		s, _ := setup(t)
		requireErr(t, s.CreateRefreshToken(t.Context(), newRefreshToken(helpdesk.NewID(), "")), helpdesk.ErrNotFound)
	})

	t.Run("Rotate", func(t *testing.T) {
		t.Parallel()
		s, u := setup(t)
		old := mustCreateRefreshToken(t, s, newRefreshToken(u.ID, ""))
		next := newRefreshToken(u.ID, old.FamilyID)
		now := helpdesk.Now().Add(time.Minute)
		if err := s.RotateRefreshToken(t.Context(), old.ID, next, now); err != nil {
			t.Fatalf("RotateRefreshToken: %v", err)
		}
		gotOld := getRefreshToken(t, s, old)
		if gotOld.RevokedAt == nil || *gotOld.RevokedAt != now || gotOld.ReplacedBy != next.ID {
			t.Fatalf("old token = revoked %v, replaced by %q; want revoked %v, replaced by %q",
				gotOld.RevokedAt, gotOld.ReplacedBy, now, next.ID)
		}
		if got := getRefreshToken(t, s, next); !reflect.DeepEqual(got, next) {
			t.Fatalf("next token = %+v, want %+v", got, next)
		}
	})

	t.Run("RotateRevoked", func(t *testing.T) {
		t.Parallel()
		s, u := setup(t)
		ctx := t.Context()
		old := mustCreateRefreshToken(t, s, newRefreshToken(u.ID, ""))
		if err := s.RevokeRefreshToken(ctx, old.ID, helpdesk.Now()); err != nil {
			t.Fatalf("RevokeRefreshToken: %v", err)
		}
		next := newRefreshToken(u.ID, old.FamilyID)
		requireErr(t, s.RotateRefreshToken(ctx, old.ID, next, helpdesk.Now()), helpdesk.ErrConflict)
		_, err := s.GetRefreshTokenByHash(ctx, next.TokenHash)
		requireErr(t, err, helpdesk.ErrNotFound) // the loser inserts nothing
		if got := getRefreshToken(t, s, old); got.ReplacedBy != "" {
			t.Fatalf("ReplacedBy = %q, want it untouched", got.ReplacedBy)
		}
	})

	t.Run("RotateMissing", func(t *testing.T) {
		t.Parallel()
		s, u := setup(t)
		err := s.RotateRefreshToken(t.Context(), helpdesk.NewID(), newRefreshToken(u.ID, ""), helpdesk.Now())
		requireErr(t, err, helpdesk.ErrNotFound)
	})

	t.Run("RotateRace", func(t *testing.T) {
		t.Parallel()
		s, u := setup(t)
		ctx := t.Context()
		old := mustCreateRefreshToken(t, s, newRefreshToken(u.ID, ""))

		const n = 10
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			errs  = make([]error, n)
			nexts = make([]helpdesk.RefreshToken, n)
		)
		for i := range n {
			nexts[i] = newRefreshToken(u.ID, old.FamilyID)
			wg.Go(func() {
				<-start
				errs[i] = s.RotateRefreshToken(ctx, old.ID, nexts[i], helpdesk.Now())
			})
		}
		close(start)
		wg.Wait()

		winner := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Fatalf("rotations %d and %d both succeeded", winner, i)
				}
				winner = i
			case !errors.Is(err, helpdesk.ErrConflict):
				t.Fatalf("rotation %d: %v, want success or ErrConflict", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("no rotation succeeded")
		}
		if got := getRefreshToken(t, s, old); got.ReplacedBy != nexts[winner].ID {
			t.Fatalf("ReplacedBy = %s, want the winner's %s", got.ReplacedBy, nexts[winner].ID)
		}
		for i, next := range nexts {
			_, err := s.GetRefreshTokenByHash(ctx, next.TokenHash)
			if i == winner && err != nil {
				t.Errorf("winner's token: %v", err)
			}
			if i != winner && !errors.Is(err, helpdesk.ErrNotFound) {
				t.Errorf("loser %d's token: %v, want ErrNotFound", i, err)
			}
		}
	})

	t.Run("Revoke", func(t *testing.T) {
		t.Parallel()
		s, u := setup(t)
		ctx := t.Context()
		tok := mustCreateRefreshToken(t, s, newRefreshToken(u.ID, ""))
		first := helpdesk.Now().Add(time.Minute)
		if err := s.RevokeRefreshToken(ctx, tok.ID, first); err != nil {
			t.Fatalf("RevokeRefreshToken: %v", err)
		}
		requireRevokedAt(t, s, tok, &first)
		// Again: a no-op that keeps the first time.
		if err := s.RevokeRefreshToken(ctx, tok.ID, first.Add(time.Hour)); err != nil {
			t.Fatalf("RevokeRefreshToken again: %v", err)
		}
		requireRevokedAt(t, s, tok, &first)
		requireErr(t, s.RevokeRefreshToken(ctx, helpdesk.NewID(), first), helpdesk.ErrNotFound)
	})

	t.Run("RevokeFamily", func(t *testing.T) {
		t.Parallel()
		s, u := setup(t)
		ctx := t.Context()
		earlier := helpdesk.Now()
		head := mustCreateRefreshToken(t, s, newRefreshToken(u.ID, ""))
		rotated := mustCreateRefreshToken(t, s, newRefreshToken(u.ID, head.FamilyID))
		if err := s.RevokeRefreshToken(ctx, rotated.ID, earlier); err != nil {
			t.Fatalf("RevokeRefreshToken: %v", err)
		}
		other := mustCreateRefreshToken(t, s, newRefreshToken(u.ID, "")) // another login

		now := earlier.Add(time.Minute)
		if err := s.RevokeRefreshTokenFamily(ctx, head.FamilyID, now); err != nil {
			t.Fatalf("RevokeRefreshTokenFamily: %v", err)
		}
		requireRevokedAt(t, s, head, &now)
		requireRevokedAt(t, s, rotated, &earlier)
		requireRevokedAt(t, s, other, nil)
		if err := s.RevokeRefreshTokenFamily(ctx, helpdesk.NewID(), now); err != nil {
			t.Fatalf("RevokeRefreshTokenFamily(unknown family) = %v, want nil", err)
		}
	})

	t.Run("RevokeUser", func(t *testing.T) {
		t.Parallel()
		s, u := setup(t)
		ctx := t.Context()
		other := mustCreateUser(t, s, newUser("bia@example.com"))
		earlier := helpdesk.Now()
		a := mustCreateRefreshToken(t, s, newRefreshToken(u.ID, ""))
		b := mustCreateRefreshToken(t, s, newRefreshToken(u.ID, ""))
		revoked := mustCreateRefreshToken(t, s, newRefreshToken(u.ID, ""))
		if err := s.RevokeRefreshToken(ctx, revoked.ID, earlier); err != nil {
			t.Fatalf("RevokeRefreshToken: %v", err)
		}
		others := mustCreateRefreshToken(t, s, newRefreshToken(other.ID, ""))

		now := earlier.Add(time.Minute)
		if err := s.RevokeUserRefreshTokens(ctx, u.ID, now); err != nil {
			t.Fatalf("RevokeUserRefreshTokens: %v", err)
		}
		requireRevokedAt(t, s, a, &now)
		requireRevokedAt(t, s, b, &now)
		requireRevokedAt(t, s, revoked, &earlier)
		requireRevokedAt(t, s, others, nil)
	})
}
