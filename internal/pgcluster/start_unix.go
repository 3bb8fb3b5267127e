//go:build unix

package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// errLockHeld marks a start that found another postmaster (or, after a
// crash, its lingering backends) on the same data directory; Start then
// retries, attaching or starting once they are gone, instead of failing.
var errLockHeld = errors.New("pgcluster: another postmaster holds the data directory")

const (
	pollInterval   = 100 * time.Millisecond
	attachTimeout  = 3 * time.Second
	connectTimeout = 2 * time.Second
	// maxLogSize bounds postgres.log across restarts; the server appends to
	// it for as long as it runs, so it is rotated (once) at start-up.
	maxLogSize = 16 << 20
)

// Start finds the PostgreSQL binaries, initializes the cluster if
// Options.Dir holds none, starts it (or attaches to one already running on
// that directory, started by another helpdesk process), waits until it
// accepts connections, creates Options.Database if missing, and returns.
//
// The server runs as a child of this process and stops when this process
// exits (on Linux even if it is killed), so an attached Cluster lives only
// as long as the process that owns the server. When running as root, the
// server runs as the "postgres" OS user, because PostgreSQL refuses to run
// as root.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	opts = opts.withDefaults()
	log := opts.Logger
	if opts.Dir == "" {
		return nil, errors.New("pgcluster: Options.Dir is empty")
	}
	if err := validDatabaseName(opts.Database); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	dataDir := filepath.Join(dir, dataSubdir)

	bins, err := findBinaries()
	if err != nil {
		return nil, err
	}
	owner, err := clusterOwner()
	if err != nil {
		return nil, err
	}
	if err := prepareClusterDir(dir, owner); err != nil {
		return nil, err
	}

	deadline := time.Now().Add(opts.StartTimeout)
	// Two helpdesk processes starting at once (serve plus a CLI command)
	// must not both run initdb or race for the postmaster lock; the loser
	// waits here and then attaches.
	unlock, err := lockDir(ctx, dir, owner, deadline, log)
	if err != nil {
		return nil, err
	}
	defer unlock()

	bins, version, err := matchCluster(ctx, bins, dataDir)
	if err != nil {
		return nil, err
	}

	for {
		if c, ok := attach(ctx, dir); ok {
			c.dbname = opts.Database
			c.logger = log
			log.Info("pgcluster: attached to running PostgreSQL", "dir", dir, "socket_dir", c.socketDir)
			if err := c.createDatabase(ctx); err != nil {
				return nil, err
			}
			return c, nil
		}
		if !initialized(dataDir) {
			if err := initCluster(ctx, bins, version, dir, owner, log); err != nil {
				return nil, err
			}
		}
		c, err := startServer(ctx, bins, dir, owner, opts, deadline)
		if errors.Is(err, errLockHeld) && time.Now().Before(deadline) {
			// A postmaster we could not talk to holds the directory: most
			// likely one still shutting down. Try to attach again shortly.
			if err := sleep(ctx, 500*time.Millisecond); err != nil {
				return nil, fmt.Errorf("pgcluster: %w", err)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := c.createDatabase(ctx); err != nil {
			_ = c.Stop(context.Background())
			return nil, err
		}
		return c, nil
	}
}

func initialized(dataDir string) bool {
	_, err := os.Stat(filepath.Join(dataDir, "PG_VERSION"))
	return err == nil
}

// runAs is the OS user the cluster belongs to. cred is nil when that is the
// current user, i.e. whenever we are not root.
type runAs struct {
	name   string
	uid    uint32
	gid    uint32
	groups []uint32
	cred   *syscall.Credential
}

func clusterOwner() (*runAs, error) {
	if os.Geteuid() != 0 {
		return &runAs{uid: uint32(os.Geteuid()), gid: uint32(os.Getegid())}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return nil, errors.New(`pgcluster: running as root, but PostgreSQL refuses to run as root and there is no "postgres" OS user to run it as: ` +
				`create one (PostgreSQL packages do; by hand: useradd --system --user-group postgres), ` +
				`run the help desk as an ordinary user, or set DATABASE_URL to an existing database`)
		}
		return nil, fmt.Errorf("pgcluster: looking up OS user postgres: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("pgcluster: OS user postgres has unusable uid %q / gid %q", u.Uid, u.Gid)
	}
	if uid == 0 {
		return nil, errors.New(`pgcluster: OS user "postgres" has uid 0; PostgreSQL refuses to run as root`)
	}
	r := &runAs{name: u.Username, uid: uint32(uid), gid: uint32(gid)}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.ParseUint(id, 10, 32); err == nil {
				r.groups = append(r.groups, uint32(g))
			}
		}
	}
	r.cred = &syscall.Credential{Uid: r.uid, Gid: r.gid, Groups: r.groups}
	return r, nil
}

func (r *runAs) switching() bool { return r.cred != nil }

func (r *runAs) inGroup(gid uint32) bool {
	if gid == r.gid {
		return true
	}
	for _, g := range r.groups {
		if g == gid {
			return true
		}
	}
	return false
}

// prepareClusterDir creates the cluster directory for the cluster's owner.
// As root it also checks that the postgres user can reach it: otherwise
// initdb fails with a bare "Permission denied" that does not say which
// directory is in the way.
func prepareClusterDir(dir string, owner *runAs) error {
	parent := filepath.Dir(dir)
	parentMode := os.FileMode(0o700)
	if owner.switching() {
		parentMode = 0o755 // the postgres user must be able to pass through
	}
	if err := os.MkdirAll(parent, parentMode); err != nil {
		return fmt.Errorf("pgcluster: creating %s: %w", parent, err)
	}
	if owner.switching() {
		if err := checkSearchable(parent, dir, owner); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("pgcluster: creating %s: %w", dir, err)
	}
	// Dir itself was chosen by whoever configured us, so following a
	// symlink here is intended; everything inside it is opened with
	// O_NOFOLLOW (see securePrivateDir).
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.IsDir() {
		return fmt.Errorf("pgcluster: %s is not a directory", dir)
	}
	if owner.switching() {
		if err := f.Chown(int(owner.uid), int(owner.gid)); err != nil {
			return fmt.Errorf("pgcluster: giving %s to OS user %s: %w", dir, owner.name, err)
		}
	}
	return nil
}

// checkSearchable walks from / down to parent and reports the first
// directory the cluster owner may not pass through.
func checkSearchable(parent, dir string, owner *runAs) error {
	real, err := filepath.EvalSymlinks(parent)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	var chain []string
	for p := real; ; p = filepath.Dir(p) {
		chain = append(chain, p)
		if p == filepath.Dir(p) {
			break
		}
	}
	for i := len(chain) - 1; i >= 0; i-- {
		p := chain[i]
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil // cannot tell; let initdb be the judge
		}
		perm := fi.Mode().Perm()
		var can bool
		switch {
		case st.Uid == owner.uid:
			can = perm&0o100 != 0
		case owner.inGroup(st.Gid):
			can = perm&0o010 != 0
		default:
			can = perm&0o001 != 0
		}
		if !can {
			return fmt.Errorf("pgcluster: PostgreSQL refuses to run as root, so it runs as OS user %q, "+
				"but that user cannot enter %s (mode %#o, owner uid %d) on the way to the cluster directory %s: "+
				"put the data directory somewhere that user can reach (e.g. under /var/lib), "+
				"let it through with chmod o+x %s, or set DATABASE_URL to an existing database",
				owner.name, p, perm, st.Uid, dir, p)
		}
	}
	return nil
}

// openNoFollow opens a path inside the cluster directory. As root we must
// not follow symlinks there: the directory belongs to the postgres user,
// and a superuser role can run shell commands as that user (COPY ... TO
// PROGRAM), so a planted symlink could otherwise make us chown or overwrite
// any file on the system.
func openNoFollow(path string, flag int, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(path, flag|syscall.O_NOFOLLOW, perm)
}

// securePrivateDir makes path a directory that only the cluster owner can
// enter: the socket directory's mode is what keeps other local users away
// from a server with trust authentication.
func securePrivateDir(path string, owner *runAs) error {
	if err := os.Mkdir(path, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("pgcluster: creating %s: %w", path, err)
	}
	f, err := openNoFollow(path, os.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		return fmt.Errorf("pgcluster: opening %s: %w", path, err)
	}
	defer f.Close()
	if owner.switching() {
		if err := f.Chown(int(owner.uid), int(owner.gid)); err != nil {
			return fmt.Errorf("pgcluster: giving %s to OS user %s: %w", path, owner.name, err)
		}
	}
	if err := f.Chmod(0o700); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return nil
}

// isPrivateDir reports whether an existing directory may be reused as the
// socket directory.
func isPrivateDir(path string, owner *runAs) bool {
	fi, err := os.Lstat(path)
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Uid == owner.uid
}

func chownFile(f *os.File, owner *runAs) error {
	if !owner.switching() {
		return nil
	}
	return f.Chown(int(owner.uid), int(owner.gid))
}

func lockDir(ctx context.Context, dir string, owner *runAs, deadline time.Time, log *slog.Logger) (func(), error) {
	path := filepath.Join(dir, lockFileName)
	f, err := openNoFollow(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	_ = chownFile(f, owner)
	fd := int(f.Fd())
	waiting := false
	for {
		err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(fd, syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("pgcluster: locking %s: %w", path, err)
		}
		if !waiting {
			log.Info("pgcluster: waiting for another helpdesk process to finish starting PostgreSQL", "dir", dir)
			waiting = true
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("pgcluster: another process kept %s locked (held by a helpdesk process starting PostgreSQL) past the start timeout", path)
		}
		if err := sleep(ctx, pollInterval); err != nil {
			f.Close()
			return nil, fmt.Errorf("pgcluster: %w", err)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// childEnv drops PG* variables (PGPORT, PGDATA, PGOPTIONS... would change
// how the server starts) and pins messages to English so the log tail we
// show and errLockHeld detection do not depend on the user's locale.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C")
}

// initCluster runs initdb into a scratch directory and renames it into
// place, so an initdb interrupted half-way never looks like a cluster.
func initCluster(ctx context.Context, bins binaries, version, dir string, owner *runAs, log *slog.Logger) error {
	dataDir := filepath.Join(dir, dataSubdir)
	tmp := dataDir + ".initdb"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("pgcluster: removing leftover %s: %w", tmp, err)
	}
	log.Info("pgcluster: initializing PostgreSQL cluster", "dir", dataDir, "version", version, "initdb", bins.initdb)
	start := time.Now()
	cmd := exec.CommandContext(ctx, bins.initdb,
		"--pgdata="+tmp,
		"--username="+superuser,
		// Trust is safe only because the server opens no TCP port and its
		// socket directory is private to the cluster owner.
		"--auth=trust",
		"--encoding=UTF8",
		"--locale=C",
	)
	cmd.Dir = dir
	cmd.Env = childEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: owner.cred}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgcluster: initdb failed: %w\n%s", err, strings.TrimSpace(string(out)))
	}
	if err := os.Rename(tmp, dataDir); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	log.Info("pgcluster: initialized PostgreSQL cluster", "dir", dataDir, "elapsed", time.Since(start).Round(time.Millisecond))
	return nil
}

// readRemembered returns the socket directory recorded by the last start.
func readRemembered(dir string) string {
	f, err := openNoFollow(filepath.Join(dir, socketDirFile), os.O_RDONLY, 0)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func writeRemembered(dir, socketDir string, owner *runAs) error {
	path := filepath.Join(dir, socketDirFile)
	// Remove first: O_TRUNC through a planted hard link would truncate
	// someone else's file.
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("pgcluster: %w", err)
	}
	f, err := openNoFollow(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	_, err = f.WriteString(socketDir + "\n")
	if err == nil {
		err = chownFile(f, owner)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pgcluster: writing %s: %w", path, err)
	}
	return nil
}

func fitsSocketPath(socketDir string) bool {
	return len(socketDir)+len("/.s.PGSQL.")+len(strconv.Itoa(port)) <= maxSocketPath
}

func isTempSocketDir(path string) bool {
	if !strings.HasPrefix(filepath.Base(path), tempSocketBase) {
		return false
	}
	parent := filepath.Dir(path)
	return parent == filepath.Clean(os.TempDir()) || parent == "/tmp"
}

// chooseSocketDir prefers Dir/run; when that path is too long for a unix
// socket (sun_path is 108 bytes on Linux), it uses a private directory
// under the temp dir, reusing the previous one after a crash so the DSN
// stays the same.
func chooseSocketDir(dir string, owner *runAs) (path string, temp bool, err error) {
	run := filepath.Join(dir, runSubdir)
	if fitsSocketPath(run) {
		return run, false, securePrivateDir(run, owner)
	}
	if old := readRemembered(dir); isTempSocketDir(old) && fitsSocketPath(old) && isPrivateDir(old, owner) {
		return old, true, nil
	}
	for _, base := range []string{os.TempDir(), "/tmp"} {
		d, err := os.MkdirTemp(base, tempSocketBase)
		if err != nil {
			continue
		}
		if !fitsSocketPath(d) {
			_ = os.Remove(d)
			continue
		}
		if owner.switching() && checkSearchable(base, d, owner) != nil {
			_ = os.Remove(d) // e.g. TMPDIR under /root: try /tmp instead
			continue
		}
		if err := securePrivateDir(d, owner); err != nil {
			_ = os.Remove(d)
			return "", false, err
		}
		return d, true, nil
	}
	return "", false, fmt.Errorf("pgcluster: the socket path under %s would exceed the %d-byte unix socket limit, "+
		"and no short directory could be created under %s or /tmp; use a shorter data directory path", run, maxSocketPath, os.TempDir())
}

// quoteSocketDir quotes a directory for unix_socket_directories, which is a
// comma-separated list: a path with a comma would otherwise be split.
func quoteSocketDir(dir string) string {
	return `"` + strings.ReplaceAll(dir, `"`, `""`) + `"`
}

func openLog(path string, owner *runAs) (*os.File, int64, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode().IsRegular() && fi.Size() > maxLogSize {
		_ = os.Rename(path, path+".1")
	}
	f, err := openNoFollow(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("pgcluster: opening server log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("pgcluster: server log %s is not a regular file", path)
	}
	if err := chownFile(f, owner); err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("pgcluster: %w", err)
	}
	return f, fi.Size(), nil
}

func startServer(ctx context.Context, bins binaries, dir string, owner *runAs, opts Options, deadline time.Time) (*Cluster, error) {
	log := opts.Logger
	previous := readRemembered(dir)
	socketDir, temp, err := chooseSocketDir(dir, owner)
	if err != nil {
		return nil, err
	}
	if err := writeRemembered(dir, socketDir, owner); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, logFileName)
	logFile, offset, err := openLog(logPath, owner)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor

	c := &Cluster{
		dir:           dir,
		dataDir:       filepath.Join(dir, dataSubdir),
		dbname:        opts.Database,
		socketDir:     socketDir,
		port:          port,
		owned:         true,
		logger:        log,
		logPath:       logPath,
		logOffset:     offset,
		tempSocketDir: temp,
	}
	cmd := exec.Command(bins.postgres,
		"-D", c.dataDir,
		"-p", strconv.Itoa(port),
		"-k", quoteSocketDir(socketDir),
		"-c", "listen_addresses=",
		"-c", "unix_socket_permissions=0700",
	)
	cmd.Dir = dir
	cmd.Env = childEnv()
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Own process group: a Ctrl-C in the terminal reaches only us, and
		// we shut the server down in order instead of racing it.
		Setpgid:    true,
		Credential: owner.cred,
	}
	setPdeathsig(cmd.SysProcAttr)

	log.Info("pgcluster: starting PostgreSQL", "dir", dir, "socket_dir", socketDir, "log", logPath)
	start := time.Now()
	if err := c.spawn(cmd); err != nil {
		return nil, fmt.Errorf("pgcluster: starting %s: %w", bins.postgres, err)
	}
	if err := c.waitReady(ctx, deadline, opts.StartTimeout); err != nil {
		return nil, err
	}
	if previous != socketDir && isTempSocketDir(previous) && isPrivateDir(previous, owner) {
		_ = os.RemoveAll(previous) // left behind by a crash
	}
	log.Info("pgcluster: PostgreSQL ready", "dir", dir, "pid", c.proc.Pid, "elapsed", time.Since(start).Round(time.Millisecond))
	return c, nil
}

// spawn starts the server from a goroutine locked to its OS thread, and
// keeps that goroutine (so the thread) alive until the server exits.
// Pdeathsig fires when the thread that forked the child exits, not the
// process, and the Go runtime retires idle threads: without the lock the
// server could get SIGINT while we are still using it.
func (c *Cluster) spawn(cmd *exec.Cmd) error {
	c.exited = make(chan struct{})
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		c.proc = cmd.Process
		started <- nil
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	return <-started
}

func (c *Cluster) waitReady(ctx context.Context, deadline time.Time, timeout time.Duration) error {
	for {
		select {
		case <-c.exited:
			err := fmt.Errorf("pgcluster: postgres exited during start-up (%v)", c.waitErr)
			if tail := logTail(c.logPath, c.logOffset); strings.Contains(tail, `postmaster.pid" already exists`) ||
				strings.Contains(tail, "is still in use") { // old backends of a killed server still attached to shared memory
				err = fmt.Errorf("%w: %w", errLockHeld, err)
			}
			return withLog(err, c.logPath, c.logOffset)
		default:
		}
		attempt, cancel := context.WithTimeout(ctx, connectTimeout)
		err := ping(attempt, c.DSNFor("postgres"))
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			c.abort()
			if ctx.Err() != nil {
				return fmt.Errorf("pgcluster: waiting for PostgreSQL to start: %w", ctx.Err())
			}
			return withLog(fmt.Errorf("pgcluster: PostgreSQL did not accept connections within %s: %w", timeout, err), c.logPath, c.logOffset)
		}
		select {
		case <-c.exited:
		case <-ctx.Done():
		case <-time.After(pollInterval):
		}
	}
}

// abort stops a server that failed to become ready; it is never handed out.
func (c *Cluster) abort() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.Stop(ctx)
}

func ping(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.Ping(ctx)
}

// attach connects to a server already running on dir. postmaster.pid names
// the socket directory and port the server really uses, so it is read
// first; the file we wrote is the fallback.
func attach(ctx context.Context, dir string) (*Cluster, bool) {
	dataDir := filepath.Join(dir, dataSubdir)
	f, err := openNoFollow(filepath.Join(dataDir, "postmaster.pid"), os.O_RDONLY, 0)
	if err != nil {
		return nil, false
	}
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	f.Close()
	if err != nil {
		return nil, false
	}
	c := &Cluster{dir: dir, dataDir: dataDir, port: port}
	if lines := strings.Split(string(b), "\n"); len(lines) > 4 {
		if p, err := strconv.Atoi(strings.TrimSpace(lines[3])); err == nil && p > 0 {
			c.port = p
		}
		c.socketDir = strings.TrimSpace(lines[4])
	}
	if c.socketDir == "" {
		c.socketDir = readRemembered(dir)
	}
	if c.socketDir == "" {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(ctx, attachTimeout)
	defer cancel()
	if ping(ctx, c.DSNFor("postgres")) != nil {
		return nil, false // stale postmaster.pid after a crash: postgres itself deals with it
	}
	return c, true
}

func (c *Cluster) createDatabase(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, c.DSNFor("postgres"))
	if err != nil {
		return fmt.Errorf("pgcluster: connecting to create database %q: %w", c.dbname, err)
	}
	defer conn.Close(context.Background())
	var one int
	err = conn.QueryRow(ctx, "SELECT 1 FROM pg_database WHERE datname = $1", c.dbname).Scan(&one)
	if err == nil {
		return nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("pgcluster: checking for database %q: %w", c.dbname, err)
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{c.dbname}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: an attaching process won the race
		return nil
	}
	if err != nil {
		return fmt.Errorf("pgcluster: creating database %q: %w", c.dbname, err)
	}
	c.logger.Info("pgcluster: created database", "database", c.dbname)
	return nil
}

func (c *Cluster) stop(ctx context.Context) error {
	select {
	case <-c.exited:
		return withLog(fmt.Errorf("pgcluster: PostgreSQL had already exited (%v)", c.waitErr), c.logPath, c.logOffset)
	default:
	}
	// A context that is already done when Stop is called (typically the
	// serve context, cancelled by the signal that triggered the shutdown)
	// would otherwise turn every deferred Stop into an immediate shutdown.
	if ctx.Err() != nil {
		ctx = context.Background()
	}
	c.logger.Info("pgcluster: stopping PostgreSQL", "dir", c.dir, "pid", c.proc.Pid)
	// SIGINT is PostgreSQL's "fast" shutdown: roll back open transactions,
	// checkpoint, exit. SIGTERM ("smart") would wait for clients to leave.
	_ = c.proc.Signal(syscall.SIGINT)
	var err error
	if !c.waitExit(ctx, fastShutdownTimeout) {
		c.logger.Warn("pgcluster: PostgreSQL did not finish a fast shutdown in time; forcing an immediate shutdown", "dir", c.dir)
		_ = c.proc.Signal(syscall.SIGQUIT)
		err = errors.New("pgcluster: PostgreSQL did not stop in time; forced an immediate shutdown (it will run crash recovery on the next start)")
		if !c.waitExit(context.Background(), immediateShutdownTimeout) {
			_ = c.proc.Kill()
			<-c.exited
		}
	}
	if c.tempSocketDir {
		_ = os.Remove(c.socketDir) // empty now: the server removes its socket and lock file
	}
	c.logger.Info("pgcluster: PostgreSQL stopped", "dir", c.dir)
	return err
}

func (c *Cluster) waitExit(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.exited:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}
