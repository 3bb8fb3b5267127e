// Package web is the help desk's HTTP face: the JSON API, the public support form and the health
// checks, all in one Fiber app with one route table (routes.go). Handlers parse, validate, call
// the domain packages and render; they hold no domain logic.
package web

import (
	"context"
	"embed"
	"html/template"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/helmet"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"
	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/internal/config"
	"github.com/openhelpdesk/helpdesk/knowledgebase"
	"github.com/openhelpdesk/helpdesk/sla"
	"github.com/openhelpdesk/helpdesk/tickets"
)

// Deps is what the web layer needs from the rest of the program.
type Deps struct {
	Config    *config.Config
	DB        *gorm.DB // for readiness checks only
	Desk      *tickets.Desk
	Customers *tickets.Customers
	Staff     *tickets.Staff
	Purchases *tickets.Purchases
	// Knowledge is the knowledge base: articles, search and suggestions.
	Knowledge *knowledgebase.Base
	// Mail is the email channel: mailboxes, quarantine, delivery status. Nil when not set up.
	Mail *MailDeps
	// SLA keeps clocks, calendars, policies, notifications and metrics. Nil: tickets show no
	// clocks and the SLA routes answer 404.
	SLA *sla.Service
	// HTTPState keeps CSRF tokens and rate-limit counters where every node sees them.
	HTTPState fiber.Storage
	// Notify emails a system message to one address (password reset links); nil when the
	// installation sends no mail.
	Notify func(ctx context.Context, to, subject, text string) error
	// SigningKey signs links we hand out (the form's confirmation page).
	SigningKey []byte
	Logger     *slog.Logger
}

type server struct {
	Deps
	pages map[string]*template.Template
	words *translator
}

// templates/_*.html is named apart: a directory pattern leaves out files starting with "_", and
// those are the shared partials.
//
//go:embed templates templates/_*.html static openapi.json
var assets embed.FS

// apiBodyLimit bounds JSON bodies: a message with a few base64 attachments fits.
const apiBodyLimit = 8 << 20

// requestTimeout bounds the work behind one request, database included.
const requestTimeout = 30 * time.Second

// New builds the app. The caller listens (app.Listener) and shuts it down.
func New(d Deps) (*fiber.App, error) {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	words, err := newTranslator()
	if err != nil {
		return nil, err
	}
	s := &server{Deps: d, pages: pages, words: words}
	cfg := fiber.Config{
		AppName:               "helpdesk",
		ErrorHandler:          s.handleError,
		DisableStartupMessage: true,
		// The largest body is a support form with every attachment at its largest. JSON routes
		// apply their own, smaller limit.
		BodyLimit:    int(max(d.Config.Form.MaxUploadBytes(), apiBodyLimit)),
		ReadTimeout:  60 * time.Second,
		WriteTimeout: 60 * time.Second,
		IdleTimeout:  120 * time.Second,
		// Room for a long query string (a search of several KB) to reach its handler, which
		// names the parameter at fault, rather than fasthttp's bare 431.
		ReadBufferSize: 16 << 10,
	}
	if len(d.Config.TrustedProxies) > 0 {
		cfg.EnableTrustedProxyCheck = true
		cfg.TrustedProxies = d.Config.TrustedProxies
		cfg.ProxyHeader = fiber.HeaderXForwardedFor
	}
	app := fiber.New(cfg)
	app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: s.logPanic}))
	app.Use(requestid.New())
	app.Use(s.logRequests)
	app.Use(withTimeout)
	app.Use(admit(d.Config.DBMaxConns))
	app.Use(helmet.New(helmet.Config{
		ContentSecurityPolicy: "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
			"frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
		ReferrerPolicy: "same-origin",
	}))
	if err := s.mount(app); err != nil {
		return nil, err
	}
	return app, nil
}

// withTimeout gives every request a deadline that reaches the database through the context.
func withTimeout(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), requestTimeout)
	defer cancel()
	c.SetUserContext(ctx)
	return c.Next()
}

// logRequests logs one line per request: never bodies, query strings or headers, which can
// carry personal data and tokens.
func (s *server) logRequests(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	status := c.Response().StatusCode()
	if err != nil {
		// The error handler has not run yet; it will answer with this status.
		status, _ = describe(err)
	}
	attrs := []any{
		slog.String("method", c.Method()),
		slog.String("path", c.Path()),
		slog.Int("status", status),
		slog.Duration("duration", time.Since(start)),
		slog.String("ip", c.IP()),
		slog.String("request_id", requestID(c)),
	}
	if u := currentUser(c); u != nil {
		attrs = append(attrs, slog.Int64("user_id", u.ID))
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	s.Logger.Log(c.UserContext(), level, "request", attrs...)
	return err
}

func (s *server) logPanic(c *fiber.Ctx, e any) {
	s.Logger.Error("panic", "request_id", requestID(c), "panic", e)
}

func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals("requestid").(string)
	return id
}

// admit lets at most n requests work at once and queues the rest in arrival order. database/sql
// hands a freed connection to a random waiter, so without this queue a busy node serves some
// requests late while newer ones pass them; with it, waiting is first come, first served, and
// the pool never has waiters.
func admit(n int) fiber.Handler {
	slots := make(chan struct{}, n)
	return func(c *fiber.Ctx) error {
		// Liveness must answer even when every slot is taken.
		if c.Path() == "/healthz" {
			return c.Next()
		}
		select {
		case slots <- struct{}{}:
		case <-c.UserContext().Done():
			return c.UserContext().Err()
		}
		defer func() { <-slots }()
		return c.Next()
	}
}
