//go:build unix

package pgcluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// clusterDir returns a fresh directory path for a cluster. t.TempDir puts
// its directories in a per-test directory created with mode 0700; as root
// the server runs as the postgres user, which must be able to pass through.
func clusterDir(t *testing.T, elems ...string) string {
	t.Helper()
	base := t.TempDir()
	if os.Geteuid() == 0 {
		tmp := filepath.Clean(os.TempDir())
		for p := base; p != tmp && p != filepath.Dir(p); p = filepath.Dir(p) {
			if err := os.Chmod(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	return filepath.Join(append([]string{base}, elems...)...)
}

func requirePostgres(t *testing.T) {
	t.Helper()
	if _, err := findBinaries(); err != nil {
		t.Skipf("no PostgreSQL installation: %v", err)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, nil))
}

func start(t *testing.T, dir string) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := Start(ctx, Options{Dir: dir, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Start(%s): %v", dir, err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	return c
}

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect %q: %v", dsn, err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func mustExec(t *testing.T, conn *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func answers(dsn string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return ping(ctx, dsn) == nil
}

func TestStartStopRestart(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	dir := clusterDir(t, "postgres")

	c := start(t, dir)
	if !c.Owned() {
		t.Fatal("first Start: Owned() = false, want true")
	}
	conn := connect(t, c.DSN())
	var one int
	if err := conn.QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
	var db, listen string
	if err := conn.QueryRow(context.Background(), "SELECT current_database(), current_setting('listen_addresses')").Scan(&db, &listen); err != nil {
		t.Fatal(err)
	}
	if db != "helpdesk" || listen != "" {
		t.Fatalf("database %q, listen_addresses %q; want helpdesk and no TCP", db, listen)
	}
	fi, err := os.Stat(c.socketDir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("socket dir %s: %v, mode %v; want 0700", c.socketDir, err, fi.Mode().Perm())
	}
	mustExec(t, conn, "CREATE TABLE notes (body text)")
	mustExec(t, conn, "INSERT INTO notes VALUES ($1)", "survives restart")
	_ = conn.Close(context.Background())

	if err := c.Stop(context.Background()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := c.Stop(context.Background()); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if answers(c.DSN()) {
		t.Fatal("server still answers after Stop")
	}

	c2 := start(t, dir)
	if !c2.Owned() {
		t.Fatal("second Start: Owned() = false, want true")
	}
	var body string
	if err := connect(t, c2.DSN()).QueryRow(context.Background(), "SELECT body FROM notes").Scan(&body); err != nil {
		t.Fatal(err)
	}
	if body != "survives restart" {
		t.Fatalf("body = %q", body)
	}
	if err := c2.Stop(context.Background()); err != nil {
		t.Fatalf("Stop: %v", err)
	}

	// A server that cannot start must say why: the log tail is in the error.
	conf, err := os.OpenFile(filepath.Join(dir, dataSubdir, "postgresql.conf"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = conf.WriteString("\nno_such_setting = 1\n")
	_ = conf.Close()
	_, err = Start(context.Background(), Options{Dir: dir, Logger: testLogger(t)})
	if err == nil || !strings.Contains(err.Error(), "no_such_setting") {
		t.Fatalf("Start with a broken config: error = %v, want the server log's complaint", err)
	}
}

func TestAttach(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	dir := clusterDir(t, "pg")

	a := start(t, dir)
	if !a.Owned() {
		t.Fatal("A: Owned() = false")
	}
	b := start(t, dir)
	if b.Owned() {
		t.Fatal("B: Owned() = true, want false (attached)")
	}
	mustExec(t, connect(t, b.DSN()), "CREATE TABLE attached (x int)")
	if err := b.Stop(context.Background()); err != nil {
		t.Fatalf("B.Stop: %v", err)
	}
	if !answers(a.DSN()) {
		t.Fatal("A's server stopped when attached B stopped")
	}
	if err := a.Stop(context.Background()); err != nil {
		t.Fatalf("A.Stop: %v", err)
	}
	if answers(a.DSN()) {
		t.Fatal("server still answers after A.Stop")
	}

	// Two processes starting at once: one must start, the other attach.
	results := make(chan *Cluster, 2)
	for range 2 {
		go func() {
			c, err := Start(context.Background(), Options{Dir: dir, Logger: testLogger(t)})
			if err != nil {
				t.Error(err)
			}
			results <- c
		}()
	}
	c1, c2 := <-results, <-results
	if c1 == nil || c2 == nil {
		t.FailNow()
	}
	t.Cleanup(func() { _ = c1.Stop(context.Background()); _ = c2.Stop(context.Background()) })
	if c1.Owned() == c2.Owned() {
		t.Fatalf("concurrent Start: owned %v and %v, want exactly one owner", c1.Owned(), c2.Owned())
	}
}

func TestLongDir(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	dir := clusterDir(t, strings.Repeat("d", 50), strings.Repeat("e", 50), "postgres")
	if len(dir) <= 110 {
		t.Fatalf("test dir too short: %d bytes", len(dir))
	}

	c := start(t, dir)
	if strings.HasPrefix(c.socketDir, dir) {
		t.Fatalf("socket dir %s is inside the long cluster dir", c.socketDir)
	}
	if got := readRemembered(dir); got != c.socketDir {
		t.Fatalf("remembered socket dir %q, want %q", got, c.socketDir)
	}
	mustExec(t, connect(t, c.DSN()), "SELECT 1")

	b := start(t, dir) // must find the socket without recomputing it
	if b.Owned() || b.socketDir != c.socketDir {
		t.Fatalf("attach: owned=%v socket dir %q, want false and %q", b.Owned(), b.socketDir, c.socketDir)
	}
	mustExec(t, connect(t, b.DSN()), "SELECT 1")

	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.socketDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary socket dir %s left behind: %v", c.socketDir, err)
	}
}

func TestNoInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	old := pgLibRoot
	pgLibRoot = t.TempDir()
	t.Cleanup(func() { pgLibRoot = old })

	dir := filepath.Join(t.TempDir(), "postgres")
	_, err := Start(context.Background(), Options{Dir: dir, Logger: testLogger(t)})
	if !errors.Is(err, ErrNoPostgres) {
		t.Fatalf("Start error = %v, want ErrNoPostgres", err)
	}
	for _, want := range []string{"initdb", "PATH", pgLibRoot, "apt-get install postgresql", "brew install postgresql", "DATABASE_URL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Start created %s although it could not run PostgreSQL", dir)
	}
}

func TestFindBinariesPicksHighestVersion(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	old := pgLibRoot
	pgLibRoot = t.TempDir()
	t.Cleanup(func() { pgLibRoot = old })

	for _, v := range []string{"9.6", "10", "16", "15", "notaversion"} {
		bin := filepath.Join(pgLibRoot, v, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"initdb", "postgres"} {
			if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Incomplete installation with a higher version must be skipped.
	if err := os.MkdirAll(filepath.Join(pgLibRoot, "17", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := findBinaries()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(pgLibRoot, "16", "bin", "postgres"); b.postgres != want {
		t.Fatalf("postgres = %s, want %s", b.postgres, want)
	}
}

func TestRootUntraversableDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root runs the server as another user")
	}
	requirePostgres(t)
	private := t.TempDir() // mode 0700, owned by root
	if err := os.Chmod(private, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := Start(context.Background(), Options{Dir: filepath.Join(private, "pg"), Logger: testLogger(t)})
	// t.TempDir's parent is 0700 as well, and it is the first obstacle.
	if err == nil || !strings.Contains(err.Error(), "cannot enter "+filepath.Dir(private)) || !strings.Contains(err.Error(), `"postgres"`) {
		t.Fatalf("Start error = %v, want one saying the postgres user cannot enter %s", err, filepath.Dir(private))
	}
}

func TestDSNQuoting(t *testing.T) {
	c := &Cluster{socketDir: `/tmp/with space/it's`, port: 5432, dbname: "helpdesk"}
	cfg, err := pgx.ParseConfig(c.DSNFor("odd name"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != c.socketDir || cfg.Database != "odd name" || cfg.User != "helpdesk" {
		t.Fatalf("parsed host %q db %q user %q", cfg.Host, cfg.Database, cfg.User)
	}
}

// TestHelperOwner is not a test: TestOwnerKilled runs the test binary with
// it to get a separate process that owns a server and can be SIGKILLed.
func TestHelperOwner(t *testing.T) {
	dir := os.Getenv("PGCLUSTER_HELPER_DIR")
	if dir == "" {
		t.Skip("helper process for TestOwnerKilled")
	}
	c, err := Start(context.Background(), Options{Dir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		fmt.Printf("ERROR\t%v\n", err)
		os.Exit(1)
	}
	fmt.Printf("READY\t%s\n", c.DSN())
	select {}
}

// TestOwnerKilled checks the two crash paths: the owning process killed
// (Pdeathsig must take the server down), and the server itself killed
// (a stale postmaster.pid must not prevent the next Start).
func TestOwnerKilled(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the parent-death signal is Linux-only")
	}
	requirePostgres(t)
	t.Parallel()
	dir := clusterDir(t, "pg")

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperOwner$")
	cmd.Env = append(os.Environ(), "PGCLUSTER_HELPER_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "READY\t") {
		t.Fatalf("helper: %q, %v", line, err)
	}
	dsn := strings.TrimSpace(strings.TrimPrefix(line, "READY\t"))
	if !answers(dsn) {
		t.Fatal("helper's server does not answer")
	}

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	pidFile := filepath.Join(dir, dataSubdir, "postmaster.pid")
	for deadline := time.Now().Add(15 * time.Second); ; {
		// A clean (fast) shutdown removes postmaster.pid; a server left
		// running or killed hard would leave it.
		if _, err := os.Stat(pidFile); errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server still running 15s after its owner was killed")
		}
		time.Sleep(50 * time.Millisecond)
	}

	c := start(t, dir)
	if !c.Owned() {
		t.Fatal("Start after owner died: Owned() = false")
	}
	mustExec(t, connect(t, c.DSN()), "CREATE TABLE crash (x int)")
	// Kill the postmaster itself: postmaster.pid stays behind.
	if err := c.proc.Kill(); err != nil {
		t.Fatal(err)
	}
	<-c.exited
	if _, err := os.Stat(pidFile); err != nil {
		t.Fatalf("expected a stale postmaster.pid: %v", err)
	}
	c2 := start(t, dir)
	if !c2.Owned() {
		t.Fatal("Start after crash: Owned() = false")
	}
	mustExec(t, connect(t, c2.DSN()), "SELECT count(*) FROM crash")
	if err := c2.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}
