// Package migrations holds the versioned SQL migrations, embedded so that the binary carries the
// schema it needs. Files are applied in order by goose, each in its own transaction, forward only.
package migrations

import "embed"

// FS holds every migration file.
//
//go:embed *.sql
var FS embed.FS
