package web_test

import (
	"context"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/internal/browsertest"
	"github.com/openhelpdesk/helpdesk/tickets"
)

// screenshotDir keeps the pages the browser tests saw, for people to look at.
const screenshotDir = "testdata/screenshots"

// browser starts headless Chromium for one test (skipped without Chromium, except on CI).
func browser(t *testing.T) context.Context { return browsertest.New(t, 60*time.Second) }

// serveApp serves a on a loopback port for a browser, until the test ends, and returns its
// base URL.
func serveApp(t *testing.T, a *fiber.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go a.Listener(ln)
	t.Cleanup(func() { ln.Close() })
	return "http://" + ln.Addr().String()
}

// signInSteps take a browser through the sign-in page, as the test user of role, to next.
func signInSteps(base string, role tickets.Role, next string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(base+"/login?next="+url.QueryEscape(next)),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), string(role)+"@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
	)
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	browsertest.Screenshot(t, ctx, screenshotDir, name)
}

// A customer with no JavaScript in play fills the form, gets a field wrong, corrects it, and
// reads the reference of their new ticket.
func TestBrowserSupportForm(t *testing.T) {
	ctx := browser(t)
	base := serveApp(t, app)
	var err error
	addr := email("browser")

	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/support"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("name"), "Lucía García"),
		chromedp.SendKeys(chromedp.ID("email"), "lucia at example"),
		chromedp.SendKeys(chromedp.ID("subject"), "No puedo iniciar sesión"),
		chromedp.SendKeys(chromedp.ID("description"), "Desde ayer la web dice que mi contraseña es incorrecta."),
		chromedp.SetValue(chromedp.ID("urgency"), "high"),
		chromedp.Click(chromedp.CSS(`form[action="/support"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("email-error")),
	)
	if err != nil {
		t.Fatal(err)
	}
	emailError, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("email-error")))
	if err != nil {
		t.Fatal(err)
	}
	description, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("description")))
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "support-form-error")
	if !strings.Contains(emailError, "email address") || description != "Desde ayer la web dice que mi contraseña es incorrecta." {
		t.Errorf("after a bad email: error %q, description kept as %q", emailError, description)
	}

	err = chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("email"), addr),
		chromedp.Click(chromedp.CSS(`form[action="/support"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".ref")),
	)
	if err != nil {
		t.Fatal(err)
	}
	confirmation, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "support-form-sent")
	var id int64
	db.Raw(`SELECT t.id FROM tickets t JOIN customer_identities i ON i.customer_id = t.customer_id WHERE i.value = ?`, addr).Scan(&id)
	if id == 0 || !strings.Contains(confirmation, "#"+strconv.FormatInt(id, 10)) {
		t.Errorf("ticket %d, confirmation page says %q", id, confirmation)
	}
}
