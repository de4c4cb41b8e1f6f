package store

// CachedStatements is how many prepared statements d's cache holds.
func (d *DB) CachedStatements() int {
	d.stmts.mu.Lock()
	defer d.stmts.mu.Unlock()
	return len(d.stmts.stmts)
}

// SetSearchThresholds makes every search take the paths meant for common
// words and names: probe is the most matches answered from their list
// (SQLite, and PostgreSQL below trust), trust the planner estimate from
// which PostgreSQL plans alone. It returns the restore function; tests
// using it must not run in parallel with other searches.
func SetSearchThresholds(probe int, trust float64) (restore func()) {
	p, r := ftsProbeLimit, plannerTrustRows
	ftsProbeLimit, plannerTrustRows = probe, trust
	return func() { ftsProbeLimit, plannerTrustRows = p, r }
}
