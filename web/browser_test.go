package web_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// screenshotDir keeps the pages the browser tests saw, for people to look at.
const screenshotDir = "testdata/screenshots"

// browser starts headless Chromium for one test. Without Chromium the test is skipped; CI
// installs it (.ci/run), so there it always runs.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Chromium on a CI machine")
		}
		t.Skip("no Chromium installed (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1280, 1100),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(screenshotDir, 0o755)
	if err := os.WriteFile(filepath.Join(screenshotDir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A customer with no JavaScript in play fills the form, gets a field wrong, corrects it, and
// reads the reference of their new ticket.
func TestBrowserSupportForm(t *testing.T) {
	ctx := browser(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { ln.Close() })
	base := "http://" + ln.Addr().String()
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
