// Package pgcluster runs a private PostgreSQL cluster for the help desk when
// the user has not pointed it at a database (no DATABASE_URL).
//
// The cluster lives in a directory of its own (normally
// <HELPDESK_DATA_DIR>/postgres) and is created with the system's initdb and
// run with the system's postgres binary. The server listens on no TCP port:
// it is reachable only through a unix socket in a directory that only the
// cluster's OS user may enter, which is what makes trust authentication
// acceptable.
//
// Layout of the cluster directory:
//
//	data/           the PostgreSQL data directory (PGDATA)
//	run/            the socket directory, unless its path would be too long
//	socket_dir      the socket directory in use, for processes that attach
//	postgres.log    the server's own log (stdout and stderr)
//	pgcluster.lock  serializes start-up among helpdesk processes
package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
)

// ErrNoPostgres is returned (wrapped) by Start when no PostgreSQL
// installation can be found, so callers can tell "install PostgreSQL or set
// DATABASE_URL" apart from a cluster that failed to start.
var ErrNoPostgres = errors.New("pgcluster: no PostgreSQL installation found")

const (
	// superuser is the role initdb creates; the help desk connects as it.
	superuser = "helpdesk"
	// port only names the socket file (.s.PGSQL.<port>); no TCP port is
	// opened, so the default cannot clash with a system PostgreSQL.
	port = 5432

	defaultDatabase     = "helpdesk"
	defaultStartTimeout = 60 * time.Second

	// maxIdentifierLen is NAMEDATALEN-1: PostgreSQL silently truncates
	// longer names, which would make the "does it exist" check miss.
	maxIdentifierLen = 63

	dataSubdir     = "data"
	runSubdir      = "run"
	socketDirFile  = "socket_dir"
	logFileName    = "postgres.log"
	lockFileName   = "pgcluster.lock"
	tempSocketBase = "helpdesk-pg-"
)

// Timeouts of the shutdown sequence; variables so tests could shorten them.
var (
	fastShutdownTimeout      = 30 * time.Second
	immediateShutdownTimeout = 10 * time.Second
)

// Options configures Start.
type Options struct {
	// Dir is the cluster directory, e.g. <HELPDESK_DATA_DIR>/postgres. It is
	// created if missing.
	Dir string
	// Logger receives start/stop messages; nil means slog.Default().
	Logger *slog.Logger
	// Database is created if missing; default "helpdesk".
	Database string
	// StartTimeout bounds the wait for the server to accept connections
	// (and the wait for another helpdesk process that is starting it);
	// default 60s.
	StartTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Database == "" {
		o.Database = defaultDatabase
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = defaultStartTimeout
	}
	return o
}

// Cluster is a running private PostgreSQL server, either started by this
// process (Owned) or found already running on the same directory.
type Cluster struct {
	dir       string
	dataDir   string
	dbname    string
	socketDir string
	port      int
	owned     bool
	logger    *slog.Logger

	// The fields below are set only when owned.
	proc          *os.Process
	exited        chan struct{} // closed once the server process has been reaped
	waitErr       error         // written before exited is closed
	logPath       string
	logOffset     int64 // where this run's output starts in the log
	tempSocketDir bool  // socketDir is a fallback under os.TempDir()

	stopOnce sync.Once
	stopErr  error
}

// DSN returns a libpq keyword/value connection string for the help desk's
// database, accepted by pgx and libpq alike.
func (c *Cluster) DSN() string { return c.DSNFor(c.dbname) }

// DSNFor is DSN for another database on the same server (e.g. "postgres",
// or a per-test database).
func (c *Cluster) DSNFor(dbname string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable",
		quoteDSNValue(c.socketDir), c.port, quoteDSNValue(superuser), quoteDSNValue(dbname))
}

// Owned reports whether this process started the server. An attached
// Cluster depends on the process that owns the server: when that process
// exits, the server stops with it.
func (c *Cluster) Owned() bool { return c.owned }

// Dir returns the absolute cluster directory.
func (c *Cluster) Dir() string { return c.dir }

// Stop shuts the server down (fast shutdown: open transactions are rolled
// back, no crash recovery needed on the next start) if this process owns it,
// and does nothing otherwise, so every user of Start can defer Stop. It is
// safe to call more than once; later calls return the first call's result.
// If the server has not stopped after 30s, or ctx ends first, Stop forces an
// immediate shutdown rather than leave it running. A ctx that is already
// done when Stop is called is ignored, so deferring Stop with a cancelled
// serve context still gets a clean shutdown.
func (c *Cluster) Stop(ctx context.Context) error {
	if c == nil || !c.owned {
		return nil
	}
	c.stopOnce.Do(func() { c.stopErr = c.stop(ctx) })
	return c.stopErr
}

// quoteDSNValue quotes a keyword/value connection string value when needed:
// paths may contain spaces or quotes (a data dir under "My Documents").
func quoteDSNValue(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\n\r\v\f'\\") {
		return v
	}
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(v) + "'"
}

func validDatabaseName(name string) error {
	switch {
	case len(name) > maxIdentifierLen:
		return fmt.Errorf("pgcluster: database name %q is longer than %d bytes", name, maxIdentifierLen)
	case strings.IndexByte(name, 0) >= 0:
		return fmt.Errorf("pgcluster: database name %q contains a NUL byte", name)
	}
	return nil
}

// logTail returns the last lines written to the server log since offset, for
// error messages: the reason a start failed is almost always in there.
func logTail(path string, offset int64) string {
	const maxBytes = 4096
	const maxLines = 25
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	start := offset
	if fi.Size()-start > maxBytes {
		start = fi.Size() - maxBytes
	}
	if start < 0 || start > fi.Size() {
		start = 0
	}
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return ""
	}
	b, err := io.ReadAll(io.LimitReader(f, maxBytes))
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if start > offset && len(lines) > 1 {
		lines = lines[1:] // first line is probably cut in the middle
	}
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	return strings.Join(lines, "\n")
}

// withLog appends the server log's tail to err so a failed start explains
// itself without the user having to find the log file.
func withLog(err error, path string, offset int64) error {
	tail := logTail(path, offset)
	if tail == "" {
		return fmt.Errorf("%w (server log: %s)", err, path)
	}
	return fmt.Errorf("%w; server log %s ends with:\n%s", err, path, tail)
}
