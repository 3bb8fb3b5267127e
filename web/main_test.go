package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/gofiber/fiber/v2"
	fiberpg "github.com/gofiber/storage/postgres/v3"
	"github.com/jackc/pgx/v5/pgxpool"
	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/internal/config"
	"github.com/openhelpdesk/helpdesk/internal/database"
	"github.com/openhelpdesk/helpdesk/internal/testdb"
	"github.com/openhelpdesk/helpdesk/knowledgebase"
	"github.com/openhelpdesk/helpdesk/sla"
	"github.com/openhelpdesk/helpdesk/tickets"
	"github.com/openhelpdesk/helpdesk/web"
)

var (
	db        *gorm.DB
	testDSN   string
	httpState *fiberpg.Storage
	app       *fiber.App // the server every test shares; tests that change settings build their own
	specRoute routers.Router
	unique    atomic.Int64
	// Tokens of one user per role.
	adminToken, supervisorToken, agentToken string
	agentUser                               *tickets.User
	// kb is the knowledge base every app of the tests shares; tests Sync it after changes.
	kb *knowledgebase.Base
)

// testPassword is every test user's password.
const testPassword = "correct horse battery staple"

func TestMain(m *testing.M) {
	kbDir, err := os.MkdirTemp("", "helpdesk-web-kb-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := testdb.Main(m, func(dsn string) error {
		ctx := context.Background()
		testDSN = dsn
		var err error
		if db, err = database.Open(ctx, dsn, database.Options{Logger: slog.New(slog.DiscardHandler)}); err != nil {
			return err
		}
		pool, err := pgxpool.New(ctx, dsn)
		if err != nil {
			return err
		}
		httpState = fiberpg.New(fiberpg.Config{DB: pool, Table: "http_state"})
		if kb, err = knowledgebase.Open(ctx, db, knowledgebase.Options{Dir: kbDir, Logger: slog.New(slog.DiscardHandler)}); err != nil {
			return err
		}
		if err := kb.Sync(ctx); err != nil {
			return err
		}
		if app, err = newApp(testConfig(nil), nil); err != nil {
			return err
		}
		if err := loadSpec(); err != nil {
			return err
		}
		staff := tickets.NewStaff(db)
		for _, r := range []struct {
			role  tickets.Role
			token *string
		}{{tickets.RoleAdmin, &adminToken}, {tickets.RoleSupervisor, &supervisorToken}, {tickets.RoleAgent, &agentToken}} {
			u, err := staff.CreateUser(ctx, tickets.SystemActor, tickets.NewUser{Email: string(r.role) + "@example.com", Name: "The " + string(r.role), Role: r.role})
			if err != nil {
				return err
			}
			if *r.token, _, err = staff.CreateToken(ctx, tickets.SystemActor, u.ID, "test"); err != nil {
				return err
			}
			if err := staff.SetPassword(ctx, tickets.SystemActor, u.ID, testPassword); err != nil {
				return err
			}
			if r.role == tickets.RoleAgent {
				agentUser = u
			}
		}
		return nil
	})
	if kb != nil {
		kb.Close()
	}
	os.RemoveAll(kbDir)
	os.Exit(code)
}

// testConfig is the default configuration with env overrides. The form's rate limit counts by
// X-Forwarded-For, which app.Test lets every test set, so tests don't share one budget.
func testConfig(env map[string]string) *config.Config {
	if env == nil {
		env = map[string]string{}
	}
	if _, ok := env["HELPDESK_TRUSTED_PROXIES"]; !ok {
		env["HELPDESK_TRUSTED_PROXIES"] = "0.0.0.0"
	}
	cfg, err := config.Load(flag.NewFlagSet("test", flag.ContinueOnError), nil, func(k string) string { return env[k] })
	if err != nil {
		panic(err)
	}
	return cfg
}

func newApp(cfg *config.Config, logger *slog.Logger) (*fiber.App, error) {
	return newAppOn(db, cfg, logger)
}

// webNew is the default app on another pool, for benchmarks that size their own.
func webNew(pool *gorm.DB) (*fiber.App, error) { return newAppOn(pool, testConfig(nil), nil) }

func newAppOn(db *gorm.DB, cfg *config.Config, logger *slog.Logger) (*fiber.App, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	desk := tickets.NewDesk(db, tickets.Limits{})
	knowledgebase.AttachFeed(desk)
	slaService := sla.New(db, desk, sla.Options{Logger: logger, Now: slaClock.Now})
	return web.New(web.Deps{
		SLA:        slaService,
		Config:     cfg,
		DB:         db,
		Desk:       desk,
		Purchases:  tickets.NewPurchases(desk),
		Customers:  tickets.NewCustomers(db),
		Staff:      tickets.NewStaff(db),
		Knowledge:  kb,
		HTTPState:  httpState,
		SigningKey: []byte("0123456789abcdef0123456789abcdef"),
		Logger:     logger,
		Notify:     outbox.notify,
	})
}

// sentNotice is a system email the app asked to send.
type sentNotice struct{ to, subject, text string }

// noticeBox keeps what the apps of the tests emailed, in place of the outbox.
type noticeBox struct {
	mu   sync.Mutex
	sent []sentNotice
}

var outbox noticeBox

func (b *noticeBox) notify(_ context.Context, to, subject, text string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sent = append(b.sent, sentNotice{to, subject, text})
	return nil
}

// last is the latest notice sent to an address.
func (b *noticeBox) last(to string) (sentNotice, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := len(b.sent) - 1; i >= 0; i-- {
		if b.sent[i].to == to {
			return b.sent[i], true
		}
	}
	return sentNotice{}, false
}

func loadSpec() error {
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		return err
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return fmt.Errorf("openapi.json is not valid OpenAPI: %w", err)
	}
	specRoute, err = legacy.NewRouter(doc)
	return err
}

// response is what a request got back.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// errorField decodes an API error and returns the field it names.
func (r response) errorField(t *testing.T) string {
	t.Helper()
	var e struct {
		Error     string `json:"error"`
		Field     string `json:"field"`
		RequestID string `json:"request_id"`
	}
	r.json(t, &e)
	if e.Error == "" || e.RequestID == "" {
		t.Errorf("error body lacks error or request_id: %s", r.body)
	}
	return e.Field
}

// call sends an API request through the app and checks the exchange against openapi.json: every
// response must be documented with its status and match its schema, and every request the
// server accepts must be one the document allows.
func call(t *testing.T, method, path, token string, body any) response {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	req := httptest.NewRequest(method, path, bytes.NewReader(raw))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res := send(t, app, req)
	if strings.HasPrefix(path, "/api/") || path == "/healthz" || path == "/readyz" {
		checkAgainstSpec(t, method, path, token, "application/json", raw, res)
	}
	return res
}

func send(t *testing.T, a *fiber.App, req *http.Request) response {
	t.Helper()
	res, err := a.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

func checkCSVAgainstSpec(t *testing.T, path, token, csv string, res response) {
	t.Helper()
	checkAgainstSpec(t, "POST", path, token, "text/csv", []byte(csv), res)
}

func checkAgainstSpec(t *testing.T, method, path, token, contentType string, body []byte, res response) {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	route, params, err := specRoute.FindRoute(req)
	if err != nil {
		if res.status == fiber.StatusNotFound || res.status == fiber.StatusMethodNotAllowed {
			return // not an API route at all
		}
		t.Errorf("%s %s answered %d but is not in openapi.json: %v", method, path, res.status, err)
		return
	}
	ctx := context.Background()
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	if res.status < 300 {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			t.Errorf("the server accepted a request openapi.json does not allow: %s %s: %v", method, path, err)
		}
	}
	ct := res.header.Get("Content-Type")
	if strings.HasPrefix(path, "/api/v1/attachments/") && res.status == 200 {
		ct = "application/octet-stream" // a download keeps the file's own type
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: res.status, Header: http.Header{"Content-Type": {ct}},
		Body: io.NopCloser(bytes.NewReader(res.body)), Options: opts,
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		t.Errorf("%s %s: response %d does not match openapi.json: %v\n%s", method, path, res.status, err, res.body)
	}
}

func email(prefix string) string {
	return fmt.Sprintf("%s.%d@example.com", prefix, unique.Add(1))
}

func count(t *testing.T, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.Raw(query, args...).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// testDesk is a desk on the test database, for steps the API leaves to jobs (bulk rescoring).
func testDesk() *tickets.Desk { return tickets.NewDesk(db, tickets.Limits{}) }
