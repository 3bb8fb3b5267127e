package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openhelpdesk/helpdesk/internal/database"
	"github.com/openhelpdesk/helpdesk/internal/testdb"
	"github.com/openhelpdesk/helpdesk/tickets"
)

var testDSN string

func TestMain(m *testing.M) {
	os.Exit(testdb.Main(m, func(dsn string) error { testDSN = dsn; return nil }))
}

// syncBuffer is a bytes.Buffer that a running command and the test can share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runCmd runs one helpdesk command in-process with the given environment.
func runCmd(ctx context.Context, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errs syncBuffer
	code = run(ctx, &env{stdout: &out, stderr: &errs, getenv: func(k string) string { return vars[k] }}, args)
	return code, out.String(), errs.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// server is a `helpdesk serve` running in the background of a test.
type server struct {
	base   string
	stop   context.CancelFunc
	done   chan int
	stderr *syncBuffer
}

func startServe(t *testing.T, vars map[string]string) *server {
	t.Helper()
	addr := freeAddr(t)
	vars["HELPDESK_ADDR"] = addr
	if vars["HELPDESK_DATA_DIR"] == "" {
		// The node's search index lives in the data dir, even with DATABASE_URL.
		vars["HELPDESK_DATA_DIR"] = t.TempDir()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{base: "http://" + addr, stop: cancel, done: make(chan int, 1), stderr: &syncBuffer{}}
	go func() {
		s.done <- run(ctx, &env{stdout: io.Discard, stderr: s.stderr, getenv: func(k string) string { return vars[k] }}, []string{"serve"})
	}()
	deadline := time.Now().Add(90 * time.Second)
	for {
		res, err := http.Get(s.base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return s
			}
		}
		select {
		case code := <-s.done:
			t.Fatalf("serve exited with %d:\n%s", code, s.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not become ready:\n%s", s.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *server) shutdown(t *testing.T) {
	t.Helper()
	s.stop()
	select {
	case code := <-s.done:
		if code != 0 {
			t.Errorf("serve exited with %d:\n%s", code, s.stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func api(t *testing.T, method, url, token string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// The embedded default: with no DATABASE_URL, serve creates and runs its own PostgreSQL under the
// data dir; what was stored survives a stop and a start.
func TestServeWithPrivateClusterKeepsDataAcrossRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL twice")
	}
	dir, err := os.MkdirTemp("", "helpdesk-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755) // the cluster may run as the postgres user, who must reach it
	vars := map[string]string{"HELPDESK_DATA_DIR": filepath.Join(dir, "data")}

	srv := startServe(t, vars)
	// A second command joins the running cluster instead of starting another.
	code, out, errs := runCmd(context.Background(), vars, "user", "add", "--email", "ana@example.com", "--name", "Ana Admin", "--role", "admin")
	if code != 0 {
		t.Fatalf("user add: %d\n%s", code, errs)
	}
	token := lastLine(out)
	status, tk := api(t, "POST", srv.base+"/api/v1/tickets", token, map[string]any{
		"customer": map[string]any{"email": "lucia@example.com"}, "subject": "Printer on fire", "body": "Please help.",
	})
	if status != 201 {
		t.Fatalf("create ticket: %d %v", status, tk)
	}
	id := int64(tk["id"].(float64))
	res, err := http.Get(srv.base + "/support")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("support form: %v %v", res, err)
	}
	res.Body.Close()
	srv.shutdown(t)

	if _, err := os.Stat(filepath.Join(dir, "data", "postgres", "data", "postmaster.pid")); !os.IsNotExist(err) {
		t.Errorf("the private PostgreSQL is still running after serve stopped (postmaster.pid: %v)", err)
	}

	srv = startServe(t, vars)
	defer srv.shutdown(t)
	status, got := api(t, "GET", fmt.Sprintf("%s/api/v1/tickets/%d", srv.base, id), token, nil)
	if status != 200 || got["subject"] != "Printer on fire" {
		t.Errorf("after restart: %d %v", status, got)
	}
}

func TestServeRefusesBadSettings(t *testing.T) {
	code, _, errs := runCmd(context.Background(), map[string]string{"DATABASE_URL": testDSN, "HELPDESK_ADDR": "eighty"}, "serve")
	if code != 1 || !strings.Contains(errs, "HELPDESK_ADDR") {
		t.Errorf("bad addr: %d %s", code, errs)
	}
	code, _, errs = runCmd(context.Background(), map[string]string{"DATABASE_URL": testDSN}, "serve", "--form-rate-limit", "many")
	if code != 1 || !strings.Contains(errs, "--form-rate-limit") {
		t.Errorf("bad flag: %d %s", code, errs)
	}
	code, _, errs = runCmd(context.Background(), nil, "frobnicate")
	if code != 2 || !strings.Contains(errs, "unknown command") {
		t.Errorf("unknown command: %d %s", code, errs)
	}
}

func TestServeOnDATABASE_URL(t *testing.T) {
	srv := startServe(t, map[string]string{"DATABASE_URL": testDSN})
	defer srv.shutdown(t)
	res, err := http.Get(srv.base + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", res, err)
	}
	res.Body.Close()
}

func TestMigrateCommands(t *testing.T) {
	vars := map[string]string{"DATABASE_URL": testDSN}
	code, out, errs := runCmd(context.Background(), vars, "migrate", "up")
	if code != 0 || !strings.Contains(out, "up to date") {
		t.Errorf("migrate up: %d %s %s", code, out, errs)
	}
	code, out, _ = runCmd(context.Background(), vars, "migrate", "status")
	if code != 0 || !strings.Contains(out, "00001_foundation.sql") || !strings.Contains(out, "applied") {
		t.Errorf("migrate status: %d %s", code, out)
	}
	if code, _, errs := runCmd(context.Background(), vars, "migrate", "down"); code != 1 || !strings.Contains(errs, "migrate up") {
		t.Errorf("migrate down: %d %s", code, errs)
	}
}

func TestUserAdd(t *testing.T) {
	vars := map[string]string{"DATABASE_URL": testDSN, "AGENT_PASSWORD": "a very long passphrase"}
	code, out, errs := runCmd(context.Background(), vars, "user", "add", "--email", "bo@example.com", "--name", "Bo", "--role", "agent", "--password-env", "AGENT_PASSWORD")
	if code != 0 {
		t.Fatalf("%d %s", code, errs)
	}
	token := lastLine(out)
	if !strings.HasPrefix(token, "hd_") || strings.Contains(out, "a very long passphrase") {
		t.Errorf("output:\n%s", out)
	}
	// Without a password, the one who ran the command gets a link to choose one.
	code, out, errs = runCmd(context.Background(), vars, "user", "add", "--email", "di@example.com", "--name", "Di", "--role", "admin")
	link := regexp.MustCompile(`http://\S+/password/reset\?token=(\S+)`).FindStringSubmatch(out)
	if code != 0 || link == nil || !strings.HasPrefix(lastLine(out), "hd_") {
		t.Fatalf("user add without a password: %d %s %s", code, out, errs)
	}
	token, _ = url.QueryUnescape(link[1])
	odb, err := database.Open(context.Background(), testDSN, database.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer database.Close(odb)
	staff := tickets.NewStaff(odb)
	if _, err := staff.ResetPassword(context.Background(), token, "a brand new passphrase"); err != nil {
		t.Errorf("the printed link does not set a password: %v", err)
	}
	if _, err := staff.CheckPassword(context.Background(), "di@example.com", "a brand new passphrase"); err != nil {
		t.Errorf("cannot sign in with the password chosen by the link: %v", err)
	}

	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--email", "bo@example.com", "--name", "Bo", "--role", "agent"}, "--email: a user with this email already exists"},
		{[]string{"--email", "cy@example.com", "--name", "Cy", "--role", "owner"}, "--role"},
		{[]string{"--email", "not-an-email", "--name", "Cy", "--role", "agent"}, "--email"},
		{[]string{"--email", "cy@example.com", "--name", "Cy", "--role", "agent", "--password-env", "UNSET_VAR"}, "UNSET_VAR"},
		{[]string{"--email", "cy@example.com", "--name", "Cy", "--role", "agent", "--password-env", "SHORT"}, "--password-env"},
	}
	vars["SHORT"] = "short"
	for _, tc := range cases {
		code, _, errs := runCmd(context.Background(), vars, append([]string{"user", "add"}, tc.args...)...)
		if code != 1 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: %d %s", tc.args, code, errs)
		}
	}
}

// With auto-migrate off, serve refuses a database whose schema is behind and says what to run.
func TestServeRefusesOldSchemaWithoutAutoMigrate(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("helpdesk_test_empty_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)")
	empty, err := testdb.WithDatabase(testDSN, name)
	if err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCmd(ctx, map[string]string{"DATABASE_URL": empty, "HELPDESK_AUTO_MIGRATE": "false", "HELPDESK_ADDR": freeAddr(t)}, "serve")
	if code != 1 || !strings.Contains(errs, "helpdesk migrate up") {
		t.Errorf("serve on an empty database: %d %s", code, errs)
	}
	if code, out, errs := runCmd(ctx, map[string]string{"DATABASE_URL": empty}, "migrate", "status"); code != 0 || !strings.Contains(out, "pending") {
		t.Errorf("status of an empty database: %d %s %s", code, out, errs)
	}
}

func TestImportPurchasesAndRecompute(t *testing.T) {
	ctx := context.Background()
	vars := map[string]string{"DATABASE_URL": testDSN}
	srv := startServe(t, map[string]string{"DATABASE_URL": testDSN})
	code, out, errs := runCmd(ctx, vars, "user", "add", "--email", "importer@example.com", "--name", "Importer", "--role", "supervisor")
	if code != 0 {
		t.Fatalf("user add: %s", errs)
	}
	token := lastLine(out)
	status, tk := api(t, "POST", srv.base+"/api/v1/tickets", token, map[string]any{"customer": map[string]any{"email": "buyer@example.com"}, "subject": "s", "body": "b"})
	if status != 201 {
		t.Fatalf("ticket: %d %v", status, tk)
	}
	srv.shutdown(t)

	when := time.Now().Add(-48 * time.Hour).UTC().Format(time.RFC3339)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.csv")
	os.WriteFile(good, []byte("customer_email,external_id,amount,currency,purchased_at\nbuyer@example.com,CLI-1,120.00,EUR,"+when+"\n"), 0o644)
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("customer_email,external_id,amount,currency,purchased_at\nbuyer@example.com,CLI-2,-4,EUR,"+when+"\nnobody@example.com,CLI-3,1,EUR,"+when+"\n"), 0o644)

	code, out, errs = runCmd(ctx, vars, "import", "purchases", bad)
	if code != 1 || !strings.Contains(out, "bad.csv:2: amount:") || !strings.Contains(out, "bad.csv:3: customer_email:") || !strings.Contains(errs, "nothing was imported") {
		t.Errorf("bad file: %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = runCmd(ctx, vars, "import", "purchases", good)
	if code != 0 || !strings.Contains(out, "Imported 1 of 1 rows") {
		t.Errorf("good file: %d %s %s", code, out, errs)
	}
	code, out, _ = runCmd(ctx, vars, "import", "purchases", good)
	if code != 0 || !strings.Contains(out, "Imported 0 of 1 rows (1 already recorded") {
		t.Errorf("again: %d %s", code, out)
	}
	code, out, errs = runCmd(ctx, vars, "scores", "recompute")
	if code != 0 || !strings.Contains(out, "Scored every customer") {
		t.Errorf("recompute: %d %s %s", code, out, errs)
	}
	if code, _, errs := runCmd(ctx, vars, "import", "purchases", filepath.Join(dir, "missing.csv")); code != 1 || !strings.Contains(errs, "no such file") {
		t.Errorf("missing file: %d %s", code, errs)
	}
}
