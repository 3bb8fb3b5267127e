package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"
	"github.com/jhillyerd/enmime/v2"

	"github.com/openhelpdesk/helpdesk/internal/browsertest"
	"github.com/openhelpdesk/helpdesk/internal/testdb"
)

// screenshotDir keeps what the end-to-end test saw, for people to look at.
const screenshotDir = "testdata/screenshots"

var (
	resetLinkRE  = regexp.MustCompile(`/password/reset\?token=(\S+)`)
	portalLinkRE = regexp.MustCompile(`/portal/t/[A-Za-z0-9_-]+`)
)

// A new install run from the pages alone, in a real browser against a real `serve`: the admin
// that `helpdesk user add` created chooses a password from the printed link, adds the support
// mailbox (testing it first) and two colleagues; a customer writes through the support form; the
// agent finds the ticket in the queue, answers it and sets it pending; the customer follows the
// link in the reply, reads the answer in the portal and answers back; the supervisor sees the
// dashboard with its charts.
func TestEndToEndInTheBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts serve and a browser")
	}
	ms := startMailServers(t)
	vars := mailVars(ms)
	run := time.Now().UnixNano()
	// A database of its own: a fresh install is what this test is about, and its mailbox must
	// not outlive it in the database the other tests share (its servers stop with it).
	vars["DATABASE_URL"] = freshDatabase(t, fmt.Sprintf("helpdesk_e2e_%d", run))
	adminAddr := fmt.Sprintf("ada%d@example.com", run)
	code, out, errs := runCmd(context.Background(), vars, "user", "add", "--email", adminAddr, "--name", "Ada Admin", "--role", "admin")
	reset := resetLinkRE.FindStringSubmatch(out)
	if code != 0 || reset == nil {
		t.Fatalf("user add: %d %s %s", code, out, errs)
	}
	adminToken := lastLine(out)
	srv := startServe(t, vars)
	defer srv.shutdown(t)
	// A browser each, as four people on four computers: their own cookies.
	person := func() context.Context { return browsertest.New(t, 3*time.Minute) }
	step := func(ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		stepCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		start := time.Now()
		defer func() { t.Logf("%s: %s", what, time.Since(start).Round(time.Millisecond)) }()
		if err := chromedp.Do(stepCtx, actions...); err != nil {
			browsertest.Screenshot(t, ctx, screenshotDir, "e2e-failed")
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(ctx context.Context, sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	signIn := func(ctx context.Context, addr, password, next string) {
		t.Helper()
		step(ctx, "sign in as "+addr,
			chromedp.Navigate(srv.base+"/login?next="+next),
			chromedp.WaitVisible(chromedp.ID("email")),
			chromedp.SendKeys(chromedp.ID("email"), addr),
			chromedp.SendKeys(chromedp.ID("password"), password),
			chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		)
	}
	const password = "a long and private passphrase"

	// The admin: a password from the printed link, then the mailbox and the colleagues.
	admin := person()
	step(admin, "choose a password",
		chromedp.Navigate(srv.base+"/password/reset?token="+reset[1]),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.SendKeys(chromedp.ID("password2"), password),
		chromedp.Click(chromedp.CSS(`form[action="/password/reset"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`header a[href="/admin"]`)),
	)
	imapHost, imapPort, _ := net.SplitHostPort(ms.imapAddr)
	smtpHost, smtpPort, _ := net.SplitHostPort(ms.smtpAddr)
	supportAddr := fmt.Sprintf("help%d@support.example", run)
	step(admin, "fill in and test the mailbox",
		chromedp.Navigate(srv.base+"/admin/mailboxes"),
		chromedp.WaitVisible(chromedp.ID("mb-name")),
		chromedp.SendKeys(chromedp.ID("mb-name"), "Support"),
		chromedp.SendKeys(chromedp.ID("mb-address"), supportAddr),
		chromedp.SendKeys(chromedp.ID("mb-imap-host"), imapHost),
		chromedp.SendKeys(chromedp.ID("mb-imap-port"), imapPort),
		chromedp.SetValue(chromedp.ID("mb-imap-tls"), "none"),
		chromedp.SendKeys(chromedp.ID("mb-imap-username"), "support"),
		chromedp.SendKeys(chromedp.ID("mb-imap-password"), "imap-pw"),
		chromedp.SendKeys(chromedp.ID("mb-smtp-host"), smtpHost),
		chromedp.SendKeys(chromedp.ID("mb-smtp-port"), smtpPort),
		chromedp.SetValue(chromedp.ID("mb-smtp-tls"), "none"),
		chromedp.Click(chromedp.CSS(`button[formaction="/admin/mailboxes/test"]`)),
		chromedp.WaitVisible(chromedp.CSS("#probe-new .probe")),
	)
	if probe := text(admin, "#probe-new .probe"); strings.Count(probe, "Everything works.") != 2 {
		t.Errorf("test connection: %q", probe)
	}
	step(admin, "save the mailbox",
		chromedp.Click(chromedp.CSS(`form[action="/admin/mailboxes"] button:not([formaction])`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	browsertest.Screenshot(t, admin, screenshotDir, "e2e-admin-mailboxes")
	agentAddr, supervisorAddr := fmt.Sprintf("bea%d@example.com", run), fmt.Sprintf("sam%d@example.com", run)
	for _, u := range []struct{ name, addr, role string }{{"Bea Agent", agentAddr, "agent"}, {"Sam Supervisor", supervisorAddr, "supervisor"}} {
		step(admin, "add "+u.role,
			chromedp.Navigate(srv.base+"/admin/users"),
			chromedp.WaitVisible(chromedp.ID("new-name")),
			chromedp.SendKeys(chromedp.ID("new-name"), u.name),
			chromedp.SendKeys(chromedp.ID("new-email"), u.addr),
			chromedp.SetValue(chromedp.ID("new-role"), u.role),
			chromedp.Click(chromedp.ID("new-send-link")), // a password now instead of a link by email
			chromedp.SendKeys(chromedp.ID("new-password"), password),
			chromedp.Click(chromedp.CSS(`form[action="/admin/users"] button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(".flash")),
		)
	}
	browsertest.Screenshot(t, admin, screenshotDir, "e2e-admin-users")
	if users := text(admin, "main"); !strings.Contains(users, agentAddr) || !strings.Contains(users, supervisorAddr) {
		t.Errorf("the users page lacks the new colleagues:\n%s", users)
	}

	// The customer writes through the support form and is acknowledged by email.
	customer := person()
	customerAddr := fmt.Sprintf("lucia%d@example.com", run)
	subject := fmt.Sprintf("No puedo iniciar sesión %d", run)
	step(customer, "send the support form",
		chromedp.Navigate(srv.base+"/support"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("name"), "Lucía García"),
		chromedp.SendKeys(chromedp.ID("email"), customerAddr),
		chromedp.SendKeys(chromedp.ID("subject"), subject),
		chromedp.SendKeys(chromedp.ID("description"), "Desde ayer la web dice que mi contraseña es incorrecta. <script>alert(1)</script>"),
		chromedp.Click(chromedp.CSS(`form[action="/support"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".ref")),
	)
	ack := ms.waitSent(t, 1)
	if got := ack.Header.Get("To"); !strings.Contains(got, customerAddr) {
		t.Fatalf("the acknowledgement went to %q", got)
	}
	if portalLinkRE.FindString(bodyOf(t, ack)) == "" {
		t.Errorf("the acknowledgement has no portal link:\n%s", bodyOf(t, ack))
	}
	_, found := api(t, "GET", srv.base+"/api/v1/customers?email="+customerAddr, adminToken, nil)
	list, _ := found["tickets"].([]any)
	if len(list) != 1 {
		t.Fatalf("the customer's tickets: %v", found)
	}
	ticketID := int64(list[0].(map[string]any)["id"].(float64))

	// The agent finds it among the unassigned tickets, answers and sets it pending.
	agent := person()
	row := fmt.Sprintf(`tr[data-ticket="%d"]`, ticketID)
	signIn(agent, agentAddr, password, "/desk/queue%3Fview%3Dunassigned")
	step(agent, "find the ticket in the queue", chromedp.WaitVisible(chromedp.CSS(row)))
	browsertest.Screenshot(t, agent, screenshotDir, "e2e-agent-queue")
	const answer = "Hola Lucía: hemos restablecido su acceso; pruebe de nuevo, por favor."
	step(agent, "answer and set pending",
		chromedp.Click(chromedp.CSS(row+" .subject-cell a")),
		chromedp.WaitVisible(chromedp.ID("reply-body")),
		chromedp.SendKeys(chromedp.ID("reply-body"), answer),
		chromedp.SetValue(chromedp.ID("reply-status"), "pending"),
		chromedp.Click(chromedp.CSS(`#reply-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".msg-reply")),
	)
	browsertest.Screenshot(t, agent, screenshotDir, "e2e-agent-ticket")
	page := text(agent, "main")
	if !strings.Contains(page, answer) || !strings.Contains(page, "<script>alert(1)</script>") {
		t.Errorf("the ticket page after the answer:\n%s", page)
	}
	if alerted, _ := chromedp.Run(agent, chromedp.Evaluate[bool](`document.querySelectorAll("main script").length > 0`)); alerted {
		t.Error("the customer's script tag became a script on the agent's page")
	}
	_, detail := api(t, "GET", fmt.Sprintf("%s/api/v1/tickets/%d", srv.base, ticketID), adminToken, nil)
	if detail["status"] != "pending" {
		t.Errorf("status after the answer: %v", detail["status"])
	}

	// The reply reaches the customer by email, with their link to the portal.
	reply := ms.waitSent(t, 2)
	replyBody := bodyOf(t, reply)
	link := portalLinkRE.FindString(replyBody)
	if link == "" || !strings.Contains(replyBody, "restablecido su acceso") {
		t.Fatalf("the reply mail:\n%s", replyBody)
	}
	step(customer, "read the answer in the portal",
		chromedp.Navigate(srv.base+link),
		chromedp.WaitVisible(chromedp.CSS(".portal-thread")),
	)
	if thread := text(customer, ".portal-thread"); !strings.Contains(thread, answer) {
		t.Errorf("the portal shows:\n%s", thread)
	}
	step(customer, "answer from the portal",
		chromedp.SendKeys(chromedp.ID("body"), "Ya funciona, ¡gracias!"),
		chromedp.Click(chromedp.CSS(`form.portal-reply button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("portal-reply-sent")),
	)
	browsertest.Screenshot(t, customer, screenshotDir, "e2e-customer-portal")
	_, detail = api(t, "GET", fmt.Sprintf("%s/api/v1/tickets/%d", srv.base, ticketID), adminToken, nil)
	msgs, _ := detail["messages"].([]any)
	if detail["status"] != "open" || len(msgs) != 3 {
		t.Errorf("after the customer's answer: status %v, %d messages", detail["status"], len(msgs))
	}

	// The supervisor sees the dashboard, charts drawn.
	supervisor := person()
	signIn(supervisor, supervisorAddr, password, "/desk/dashboard")
	step(supervisor, "open the dashboard", chromedp.WaitVisible(chromedp.CSS("main canvas")))
	charts, err := chromedp.Run(supervisor, chromedp.Evaluate[int](`(async () => {
		for (let i = 0; i < 50 && !(window.Chart && Object.keys(Chart.instances).length); i++) await new Promise(r => setTimeout(r, 100));
		return window.Chart ? Object.keys(Chart.instances).length : 0;
	})()`, chromedp.EvalAwaitPromise))
	if err != nil || charts < 3 {
		t.Errorf("charts drawn on the dashboard: %d (%v)", charts, err)
	}
	browsertest.Screenshot(t, supervisor, screenshotDir, "e2e-supervisor-dashboard")
}

// freshDatabase creates an empty database next to the test database and drops it after the test.
func freshDatabase(t *testing.T, name string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, testDSN)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Error(err)
		}
	})
	dsn, err := testdb.WithDatabase(testDSN, name)
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// bodyOf is the text of a mail we sent, decoded: its plain part, else its HTML part.
func bodyOf(t *testing.T, m *mail.Message) string {
	t.Helper()
	var raw strings.Builder
	for name, values := range m.Header {
		for _, v := range values {
			raw.WriteString(name + ": " + v + "\r\n")
		}
	}
	raw.WriteString("\r\n")
	body, err := io.ReadAll(m.Body)
	if err != nil {
		t.Fatal(err)
	}
	raw.Write(body)
	m.Body = bytes.NewReader(body) // read once; kept for another look
	env, err := enmime.ReadEnvelope(strings.NewReader(raw.String()))
	if err != nil {
		t.Fatal(err)
	}
	if env.Text != "" {
		return env.Text
	}
	return env.HTML
}
