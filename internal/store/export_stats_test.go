package store

// PeriodQueries are the statements of PeriodCounts for dialect.
func PeriodQueries(dialect string) []string {
	return []string{periodCountsQuery, periodClosedQuery(dialect)}
}
