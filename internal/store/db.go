package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/supportwhatsapp/supportwhatsapp/internal/helpdesk"
	"github.com/supportwhatsapp/supportwhatsapp/migrations"
)

// Dialects reported by (*DB).Dialect.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// DefaultSQLitePath is the database file used when the database URL is empty.
const DefaultSQLitePath = "./data/supportwhatsapp.db"

// sqlitePragmas are applied by the driver to every new connection.
// busy_timeout comes first so that the pragmas after it, and every later
// statement, wait for a lock instead of failing with SQLITE_BUSY. WAL lets
// readers run beside the writer; foreign_keys is off by default in SQLite;
// synchronous=FULL syncs the WAL on every commit: a webhook is acknowledged
// only after commit, so an acknowledged message must survive a power cut,
// not just a crash (NORMAL would risk the last commits).
// _txlock=immediate makes write transactions queue on the busy timeout rather
// than fail when upgrading a read lock. _time_format=sqlite writes times as
// "2006-01-02 15:04:05.999-07:00" instead of the driver's default
// time.Time.String form, which SQLite's date functions cannot read.
// temp_store=MEMORY keeps statement journals in memory: every multi-row
// INSERT … ON CONFLICT and UPDATE … FROM of the webhook path opens one, and
// on disk they cost the commit lane as many writes as the WAL itself.
const sqlitePragmas = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)" +
	"&_pragma=synchronous(FULL)&_pragma=temp_store(MEMORY)&_txlock=immediate&_time_format=sqlite"

// DB is the SQL store. A *DB from Open uses the connection pool and is safe
// for concurrent use; InTx hands its callback a *DB bound to one
// transaction, which belongs to that callback and must not outlive it.
type DB struct {
	db        *sql.DB
	tx        *sql.Tx // nil unless bound by InTx
	q         querier // the pool, or tx when bound; statements prepared once
	stmts     *stmtCache
	dialect   string
	lists     *columnLists      // shared column lists in dialect's form
	translate func(error) error // the engine's driver-error translation, errors.go
	log       *slog.Logger
	target    string // SQLite file path or PostgreSQL URL, for JobPool
}

var _ helpdesk.Store = (*DB)(nil)

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Open connects to the database named by databaseURL and pings it:
//
//   - "" opens the SQLite file DefaultSQLitePath;
//   - "sqlite:PATH", "sqlite://PATH" or "file:PATH" open the SQLite file PATH;
//   - "postgres://…" or "postgresql://…" connect to PostgreSQL (any pgx
//     URL parameter, such as sslmode or search_path, may be added).
//
// The directory of an SQLite file is created when missing. Open does not
// migrate; call Migrate. Errors never contain the password of the URL. log
// may be nil.
func Open(ctx context.Context, databaseURL string, log *slog.Logger) (*DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dialect, target, err := parseDatabaseURL(databaseURL)
	if err != nil {
		return nil, err
	}

	d := &DB{dialect: dialect, lists: columnListsFor(dialect), log: log, target: target}
	switch dialect {
	case DialectSQLite:
		if err := os.MkdirAll(filepath.Dir(target), 0o750); err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", target, err)
		}
		d.db, err = sql.Open("sqlite", sqliteDSN(target))
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", target, err)
		}
		d.translate = sqliteError
	case DialectPostgres:
		cfg, err := pgx.ParseConfig(target)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err) // pgconn redacts the password
		}
		d.db = stdlib.OpenDB(*cfg)
		d.translate = postgresError
	}
	// Every new connection parses each cached statement again, which costs
	// more than running it on SQLite; database/sql keeps only two idle
	// connections by default, so a burst of concurrent requests opened,
	// prepared on and closed connections at a high rate. Keeping a burst's
	// worth idle makes the statement cache hold.
	d.db.SetMaxIdleConns(maxIdleConns)
	d.stmts = &stmtCache{}
	d.q = preparedQuerier{db: d.db, cache: d.stmts}

	where := target
	if dialect == DialectPostgres {
		where = redactURL(target)
	}
	if err := d.db.PingContext(ctx); err != nil {
		_ = d.db.Close()
		return nil, fmt.Errorf("connect to %s %s: %w", dialect, where, err)
	}
	log.Info("database connected", "dialect", dialect, "database", where)
	return d, nil
}

// maxIdleConns is how many pooled connections stay open between bursts.
const maxIdleConns = 32

// sqliteDSN is the driver's URI for the file at path, with the store's
// pragmas. In URI form "%" and "#" are special; "?" was refused by
// parseDatabaseURL.
func sqliteDSN(path string) string {
	return "file:" + strings.NewReplacer("%", "%25", "#", "%23").Replace(path) + "?" + sqlitePragmas
}

// parseDatabaseURL returns the dialect and, for SQLite, the file path or, for
// PostgreSQL, the URL itself.
func parseDatabaseURL(s string) (dialect, target string, err error) {
	if s == "" {
		return DialectSQLite, DefaultSQLitePath, nil
	}
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		return DialectPostgres, s, nil
	}
	for _, prefix := range []string{"sqlite://", "sqlite:", "file:"} {
		path, ok := strings.CutPrefix(s, prefix)
		if !ok {
			continue
		}
		switch {
		case path == "":
			return "", "", fmt.Errorf("database URL %q names no file: write %sPATH", s, prefix)
		case strings.Contains(path, ":memory:"):
			// Every pooled connection would get its own empty database.
			return "", "", fmt.Errorf("database URL %q: in-memory SQLite is not supported, name a file", s)
		case strings.Contains(path, "?"):
			return "", "", fmt.Errorf("database URL %q: SQLite URLs take no parameters, the store sets its own pragmas", s)
		}
		return DialectSQLite, filepath.Clean(path), nil
	}
	return "", "", fmt.Errorf("unsupported database URL %q: use postgres://USER:PASSWORD@HOST:PORT/DATABASE "+
		"(or postgresql://…) for PostgreSQL, sqlite:PATH (or sqlite://PATH, file:PATH) for an SQLite file, "+
		"or leave it empty for %s", redactURL(s), DefaultSQLitePath)
}

// redactURL hides the password of a URL, in its user information or in a
// password or sslpassword parameter; file paths pass unchanged.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if strings.Contains(s, "@") || strings.Contains(strings.ToLower(s), "password") {
			return "(unparsable URL)" // it may hold a password we cannot locate
		}
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	for key := range q {
		if k := strings.ToLower(key); k == "password" || k == "sslpassword" {
			q.Set(key, "xxxxx")
			u.RawQuery = q.Encode()
		}
	}
	return u.String()
}

// Migrate applies the embedded migrations that the database lacks; it is a
// no-op on an up-to-date database. On PostgreSQL it holds an advisory lock
// (per schema) so that replicas starting together migrate one at a time.
func (d *DB) Migrate(ctx context.Context) error {
	opts := []goose.ProviderOption{goose.WithSlog(d.log), goose.WithDisableGlobalRegistry(true)}
	var (
		dialect goose.Dialect
		fsys    fs.FS
	)
	switch d.dialect {
	case DialectSQLite:
		dialect, fsys = goose.DialectSQLite3, migrations.SQLite
	case DialectPostgres:
		dialect, fsys = goose.DialectPostgres, migrations.Postgres
		locker, err := d.migrationLocker(ctx)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, d.db, fsys, opts...)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// migrationLocker returns an advisory-lock locker whose id is derived from the
// current schema: the lock guards one schema's migrations, and schemas
// migrating side by side (parallel tests) do not wait for each other.
func (d *DB) migrationLocker(ctx context.Context) (lock.SessionLocker, error) {
	var schema string
	if err := d.db.QueryRowContext(ctx, "SELECT COALESCE(current_schema(), '')").Scan(&schema); err != nil {
		return nil, fmt.Errorf("read current schema: %w", err)
	}
	h := fnv.New64a()
	h.Write([]byte("supportwhatsapp migrations " + schema))
	// Retry every second for up to five minutes (goose's default period is 5 s).
	return lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64())), lock.WithLockTimeout(1, 300))
}

// Close closes the connection pool. It must be called on the *DB returned by
// Open, never on one bound by InTx.
func (d *DB) Close() error {
	if d.tx != nil {
		return errors.New("close: called on a transaction-bound DB")
	}
	d.stmts.close()
	return d.db.Close()
}

// JobPool returns the connection pool the job queue (River) works through.
// On PostgreSQL it is the store's own pool. On SQLite it is a second pool
// on the same file holding one connection, as River's SQLite driver wants;
// the caller closes it. Jobs are still inserted in the store's
// transactions (see Tx).
func (d *DB) JobPool() (pool *sql.DB, owned bool, err error) {
	if d.dialect == DialectPostgres {
		return d.db, false, nil
	}
	pool, err = sql.Open("sqlite", sqliteDSN(d.target))
	if err != nil {
		return nil, false, fmt.Errorf("open job pool: %w", err)
	}
	pool.SetMaxOpenConns(1)
	return pool, true, nil
}

// Dialect returns DialectSQLite or DialectPostgres.
func (d *DB) Dialect() string { return d.dialect }

// PostgresURL is the URL the store connected to PostgreSQL with (for
// connections of their own, such as a LISTEN); "" on SQLite.
func (d *DB) PostgresURL() string {
	if d.dialect != DialectPostgres {
		return ""
	}
	return d.target
}

// SQL returns the connection pool, also for a transaction-bound *DB.
// Statements run on it bypass the store's error translation.
func (d *DB) SQL() *sql.DB { return d.db }

// Tx returns the transaction d is bound to, or nil outside InTx. Libraries
// that must write in the same transaction (River's InsertTx) use it.
func (d *DB) Tx() *sql.Tx { return d.tx }

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", d.dialect, err)
	}
	return nil
}

// InTx runs fn with a Store bound to one transaction, committing when fn
// returns nil and rolling back when it returns an error or panics. fn's error
// is returned unchanged. Called on a bound *DB, InTx runs fn in the existing
// transaction, whose owner decides the outcome.
func (d *DB) InTx(ctx context.Context, fn func(tx helpdesk.Store) error) error {
	return d.inTx(ctx, func(tx *DB) error { return fn(tx) })
}

func (d *DB) inTx(ctx context.Context, fn func(tx *DB) error) error {
	if d.tx != nil {
		return fn(d)
	}
	// PostgreSQL: READ COMMITTED whatever default_transaction_isolation the
	// database or role has. The wamid locks (LockWAMIDs, StartGroupCommit)
	// and the look-ups after ON CONFLICT rely on each statement seeing what
	// committed before it began; under REPEATABLE READ a transaction keeps
	// its first statement's snapshot, taken before it waited for a lock.
	var opts *sql.TxOptions
	if d.dialect == DialectPostgres {
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	tx, err := d.db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", d.translate(err))
	}
	// Rolling back after Commit is a harmless no-op; after a failure or a panic
	// it returns the connection, and on SQLite the write lock, to the pool.
	defer func() { _ = tx.Rollback() }()

	bound := *d
	bound.tx, bound.q = tx, preparedQuerier{db: d.db, tx: tx, cache: d.stmts}
	if err := fn(&bound); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", d.translate(err))
	}
	return nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// dbTime is every time on its way into the database: UTC in store precision
// (see helpdesk.Now).
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

func dbNullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return dbTime(*t)
}

// nullString stores "" as NULL, for optional references.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// scanTime reads a non-null timestamp column in UTC.
func scanTime(dst *time.Time) sql.Scanner { return timeScanner{dst} }

type timeScanner struct{ dst *time.Time }

func (s timeScanner) Scan(v any) error {
	switch v := v.(type) {
	case time.Time:
		*s.dst = v.UTC()
	case string: // SQLite, a column read as text (see selectList)
		t, err := parseSQLiteTime(v)
		if err != nil {
			return err
		}
		*s.dst = t.UTC()
	default:
		return fmt.Errorf("scan time: got %T, want time.Time", v)
	}
	return nil
}

// scanNullTime reads a nullable timestamp column in UTC; NULL becomes nil.
func scanNullTime(dst **time.Time) sql.Scanner { return nullTimeScanner{dst} }

type nullTimeScanner struct{ dst **time.Time }

func (s nullTimeScanner) Scan(v any) error {
	if v == nil {
		*s.dst = nil
		return nil
	}
	var t time.Time
	if err := (timeScanner{&t}).Scan(v); err != nil {
		return err
	}
	*s.dst = &t
	return nil
}

// params collects the arguments of a query built piece by piece and hands
// out their placeholders.
type params []any

// add appends v and returns its placeholder ("$3").
func (p *params) add(v any) string {
	*p = append(*p, v)
	return "$" + strconv.Itoa(len(*p))
}

// next appends v and returns an anonymous placeholder ("?"), which takes
// the next number by its place in the text: only for SQLite, and only
// where every parameter before it in the text was added before it.
func (p *params) next(v any) string {
	*p = append(*p, v)
	return "?"
}

// anyOf appends vs as one argument and returns the condition that a
// column's value is one of them: "= ANY($3)" on PostgreSQL, "IN (SELECT
// value FROM json_each($3))" on SQLite. Unlike list, the statement text
// does not depend on how many values there are, so one prepared statement
// serves every call (list would prepare, and cache, one per length).
func (p *params) anyOf(dialect string, vs []string) string {
	if dialect == DialectPostgres {
		if vs == nil {
			vs = []string{}
		}
		return "= ANY(" + p.add(vs) + ")"
	}
	return inJSON(p, vs)
}

// inJSON is anyOf's SQLite form, for any list that marshals to a JSON
// array (strings, rowids): one argument, one statement text.
func inJSON[T any](p *params, vs []T) string {
	b, _ := json.Marshal(vs) // slices of strings and numbers always marshal
	if vs == nil {
		b = []byte("[]")
	}
	return "IN (SELECT value FROM json_each(" + p.add(string(b)) + "))"
}

// Page sizes of the List methods: Limit 0 (or less) means defaultLimit, more
// than maxLimit means maxLimit. The API pages at most 100 rows and asks for
// one more to know whether a next page exists, hence 101.
const (
	defaultLimit = 50
	maxLimit     = 101
)

func pageLimit(n int) int {
	if n <= 0 {
		return defaultLimit
	}
	return min(n, maxLimit)
}

// likeContains returns a LIKE pattern (with ESCAPE '\') matching s anywhere,
// with s's own wildcards taken literally.
func likeContains(s string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s) + "%"
}

// uniqueSorted returns the distinct values of ids in byte order: a set of
// ids as the store returns it, whatever the engine's collation.
func uniqueSorted(ids []string) []string {
	out := make([]string, len(ids))
	copy(out, ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// swa_fold on SQLite is helpdesk.Fold, the same folding PostgreSQL's
// swa_fold (migration 00004) does with unaccent, so searches behave alike.
func init() {
	err := sqlite.RegisterDeterministicScalarFunction("swa_fold", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		switch v := args[0].(type) {
		case string:
			return helpdesk.Fold(v), nil
		case []byte:
			return helpdesk.Fold(string(v)), nil
		case nil:
			return nil, nil
		}
		return args[0], nil
	})
	if err != nil {
		panic(err)
	}
}
