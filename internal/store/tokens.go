package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
)

const refreshTokenColumns = "id, user_id, family_id, token_hash, expires_at, created_at, revoked_at, replaced_by, user_agent, ip"

func scanRefreshToken(row scanner) (helpdesk.RefreshToken, error) {
	var (
		t          helpdesk.RefreshToken
		replacedBy sql.NullString
	)
	err := row.Scan(&t.ID, &t.UserID, &t.FamilyID, &t.TokenHash, scanTime(&t.ExpiresAt), scanTime(&t.CreatedAt),
		scanNullTime(&t.RevokedAt), &replacedBy, &t.UserAgent, &t.IP)
	t.ReplacedBy = replacedBy.String
	return t, err
}

// CreateRefreshToken inserts t. ErrNotFound when its user does not exist;
// ErrConflict when its hash or id is already stored.
func (d *DB) CreateRefreshToken(ctx context.Context, t helpdesk.RefreshToken) error {
	if err := d.insertRefreshToken(ctx, t); err != nil {
		return fmt.Errorf("create refresh token: %w", err)
	}
	return nil
}

func (d *DB) insertRefreshToken(ctx context.Context, t helpdesk.RefreshToken) error {
	_, err := d.q.ExecContext(ctx, "INSERT INTO refresh_tokens ("+refreshTokenColumns+") "+
		"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
		t.ID, t.UserID, t.FamilyID, t.TokenHash, dbTime(t.ExpiresAt), dbTime(t.CreatedAt),
		dbNullTime(t.RevokedAt), nullString(t.ReplacedBy), t.UserAgent, t.IP)
	return d.translate(err) // nil stays nil
}

// GetRefreshTokenByHash returns the token whose SHA-256 is hash, revoked and
// expired ones included: the caller decides, and a revoked token presented
// again is the sign of theft. ErrNotFound when no token has that hash.
func (d *DB) GetRefreshTokenByHash(ctx context.Context, hash string) (helpdesk.RefreshToken, error) {
	t, err := scanRefreshToken(d.q.QueryRowContext(ctx,
		"SELECT "+refreshTokenColumns+" FROM refresh_tokens WHERE token_hash = $1", hash))
	if err != nil {
		return helpdesk.RefreshToken{}, fmt.Errorf("get refresh token: %w", d.translate(err))
	}
	return t, nil
}

// RotateRefreshToken revokes oldID at now, records next.ID as its
// replacement and inserts next, in one transaction. The revocation is
// conditional on the token not being revoked yet, so of concurrent rotations
// of one token exactly one succeeds; the others get ErrConflict and insert
// nothing. ErrNotFound when oldID does not exist.
func (d *DB) RotateRefreshToken(ctx context.Context, oldID string, next helpdesk.RefreshToken, now time.Time) error {
	err := d.inTx(ctx, func(tx *DB) error {
		res, err := tx.q.ExecContext(ctx,
			"UPDATE refresh_tokens SET revoked_at = $1, replaced_by = $2 WHERE id = $3 AND revoked_at IS NULL",
			dbTime(now), next.ID, oldID)
		if err != nil {
			return tx.translate(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			if err := tx.refreshTokenExists(ctx, oldID); err != nil {
				return err
			}
			return fmt.Errorf("%w: already revoked", helpdesk.ErrConflict)
		}
		return tx.insertRefreshToken(ctx, next)
	})
	if err != nil {
		return fmt.Errorf("rotate refresh token %s: %w", oldID, err)
	}
	return nil
}

// refreshTokenExists returns ErrNotFound when token id does not exist. It
// tells, after a conditional update changed nothing, a revoked token from a
// missing one.
func (d *DB) refreshTokenExists(ctx context.Context, id string) error {
	var exists bool
	err := d.q.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM refresh_tokens WHERE id = $1)", id).Scan(&exists)
	switch {
	case err != nil:
		return d.translate(err)
	case !exists:
		return helpdesk.ErrNotFound
	}
	return nil
}

// RevokeRefreshToken revokes token id at now. It is a no-op for a token
// already revoked, which keeps its first revocation time. ErrNotFound when
// the token does not exist.
func (d *DB) RevokeRefreshToken(ctx context.Context, id string, now time.Time) error {
	res, err := d.q.ExecContext(ctx,
		"UPDATE refresh_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", dbTime(now), id)
	if err != nil {
		return fmt.Errorf("revoke refresh token %s: %w", id, d.translate(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("revoke refresh token %s: %w", id, err)
	}
	if n == 0 {
		if err := d.refreshTokenExists(ctx, id); err != nil {
			return fmt.Errorf("revoke refresh token %s: %w", id, err)
		}
	}
	return nil
}

// RevokeRefreshTokenFamily revokes at now every token of the family not
// revoked yet (after a rotated token was presented again). A family without
// live tokens is not an error.
func (d *DB) RevokeRefreshTokenFamily(ctx context.Context, familyID string, now time.Time) error {
	_, err := d.q.ExecContext(ctx,
		"UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL", dbTime(now), familyID)
	if err != nil {
		return fmt.Errorf("revoke refresh token family %s: %w", familyID, d.translate(err))
	}
	return nil
}

// RevokeUserRefreshTokens revokes at now every token of the user not revoked
// yet (deactivation, password change). A user without live tokens is not an
// error.
func (d *DB) RevokeUserRefreshTokens(ctx context.Context, userID string, now time.Time) error {
	_, err := d.q.ExecContext(ctx,
		"UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL", dbTime(now), userID)
	if err != nil {
		return fmt.Errorf("revoke refresh tokens of user %s: %w", userID, d.translate(err))
	}
	return nil
}
