package store

// CachedStatements is how many prepared statements d's cache holds.
func (d *DB) CachedStatements() int {
	d.stmts.mu.Lock()
	defer d.stmts.mu.Unlock()
	return len(d.stmts.stmts)
}
