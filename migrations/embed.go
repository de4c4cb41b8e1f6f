// Package migrations embeds the database schema, one folder per engine.
//
// Both folders hold the same files (same numbers, same names): a change to the
// schema is written twice, once per dialect, in a migration of the same
// number, so that both engines always sit at the same version. A test fails
// when the two lists diverge. Files use goose annotations (-- +goose Up).
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// SQLite and Postgres hold the migrations of each engine at their root, ready
// for goose.NewProvider.
var (
	SQLite   fs.FS = sub("sqlite")
	Postgres fs.FS = sub("postgres")
)

func sub(dir string) fs.FS {
	f, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // dir is a constant embedded above; this cannot fail at run time
	}
	return f
}
