package store

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStatements bounds the statement cache: the store's queries are
// a fixed set, but filters build a few variants (IN lists), and an
// unexpected stream of distinct texts must not grow memory.
const maxCachedStatements = 512

// stmtCache keeps one prepared statement per query text. Preparing once
// matters on SQLite: parsing a statement costs more than running it, and
// the webhook path runs the same few statements thousands of times a
// second. database/sql re-prepares a cached statement on each pooled
// connection the first time it is used there, and Tx.StmtContext reuses
// the connection's copy.
type stmtCache struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

func (c *stmtCache) get(ctx context.Context, db *sql.DB, query string) *sql.Stmt {
	c.mu.Lock()
	st, ok := c.stmts[query]
	full := len(c.stmts) >= maxCachedStatements
	c.mu.Unlock()
	if ok || full {
		return st
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil // the caller runs it unprepared and reports the real error
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stmts == nil {
		c.stmts = map[string]*sql.Stmt{}
	}
	if prev, ok := c.stmts[query]; ok {
		// Another caller prepared it meanwhile. Closing ours waits for the
		// connection it was prepared on, which may by now run a statement
		// blocked on a row lock that our caller's transaction holds (a
		// PostgreSQL lock wait that the database cannot see as a deadlock):
		// it is closed apart from the caller, and from the cache's lock.
		go func() { _ = st.Close() }()
		return prev
	}
	c.stmts[query] = st
	return st
}

// preparedQuerier runs queries through cached prepared statements, on the
// pool or inside tx.
type preparedQuerier struct {
	db    *sql.DB
	tx    *sql.Tx
	cache *stmtCache
}

func (q preparedQuerier) stmt(ctx context.Context, query string) *sql.Stmt {
	st := q.cache.get(ctx, q.db, query)
	if st != nil && q.tx != nil {
		st = q.tx.StmtContext(ctx, st)
	}
	return st
}

func (q preparedQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := q.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	if q.tx != nil {
		return q.tx.ExecContext(ctx, query, args...)
	}
	return q.db.ExecContext(ctx, query, args...)
}

func (q preparedQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := q.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	if q.tx != nil {
		return q.tx.QueryContext(ctx, query, args...)
	}
	return q.db.QueryContext(ctx, query, args...)
}

func (q preparedQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := q.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	if q.tx != nil {
		return q.tx.QueryRowContext(ctx, query, args...)
	}
	return q.db.QueryRowContext(ctx, query, args...)
}

// closeStatements releases the cached statements.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.stmts {
		_ = st.Close()
	}
	c.stmts = nil
}
