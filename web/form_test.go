package web_test

import (
	"bufio"
	"bytes"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
)

// visitor is one browser: its own IP, its cookie jar, and the form token of the last page it
// loaded. Staff, customers in the portal and visitors of the support form all use it.
type visitor struct {
	t       *testing.T
	app     *fiber.App
	ip      string
	cookies map[string]string
	csrf    string // the _csrf of the last page loaded
}

func newVisitor(t *testing.T, a *fiber.App) *visitor {
	n := unique.Add(1)
	return &visitor{t: t, app: a, ip: fmt.Sprintf("198.51.%d.%d", 100+n/250%100, n%250+1), cookies: map[string]string{}}
}

var csrfInput = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// open loads the form and returns its CSRF token.
func (v *visitor) open() string {
	v.t.Helper()
	res := v.get("/support")
	if res.status != 200 {
		v.t.Fatalf("GET /support: %d", res.status)
	}
	if v.csrf == "" {
		v.t.Fatalf("no CSRF token in the form:\n%s", res.body)
	}
	return v.csrf
}

func (v *visitor) do(req *http.Request) response {
	v.t.Helper()
	req.Header.Set("X-Forwarded-For", v.ip)
	if len(v.cookies) > 0 {
		var jar []string
		for name, value := range v.cookies {
			jar = append(jar, name+"="+value)
		}
		req.Header.Set("Cookie", strings.Join(jar, "; "))
	}
	res := send(v.t, v.app, req)
	for _, c := range (&http.Response{Header: res.header}).Cookies() {
		if c.MaxAge < 0 || c.Value == "" || (!c.Expires.IsZero() && c.Expires.Before(time.Now())) {
			delete(v.cookies, c.Name)
		} else {
			v.cookies[c.Name] = c.Value
		}
	}
	if m := csrfInput.FindSubmatch(res.body); m != nil {
		v.csrf = string(m[1])
	}
	return res
}

// get loads a page.
func (v *visitor) get(path string) response {
	v.t.Helper()
	return v.do(httptest.NewRequest("GET", path, nil))
}

// post sends a form as a browser without JavaScript does, with the token of the last page
// unless the form names its own _csrf.
func (v *visitor) post(path string, form url.Values) response {
	v.t.Helper()
	if !form.Has("_csrf") {
		form = cloneValues(form)
		form.Set("_csrf", v.csrf)
	}
	req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return v.do(req)
}

func cloneValues(form url.Values) url.Values {
	out := url.Values{}
	for k, vs := range form {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

type upload struct {
	name string
	data []byte
}

// submit posts the form as a browser does, multipart with optional files.
func (v *visitor) submit(fields map[string]string, files ...upload) response {
	v.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, val := range fields {
		w.WriteField(k, val)
	}
	for _, f := range files {
		fw, _ := w.CreateFormFile("attachments", f.name)
		fw.Write(f.data)
	}
	if len(files) == 0 {
		// A file input left empty still sends an empty part.
		w.CreateFormFile("attachments", "")
	}
	w.Close()
	req := httptest.NewRequest("POST", "/support", &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return v.do(req)
}

func validForm(token, addr string) map[string]string {
	return map[string]string{
		"_csrf": token, "name": "Lucía García", "email": addr, "subject": "No puedo iniciar sesión",
		"description": "Desde ayer la web dice que mi contraseña es incorrecta.", "urgency": "high",
	}
}

func TestSupportFormCreatesTicket(t *testing.T) {
	v := newVisitor(t, app)
	addr := email("form")
	res := v.submit(validForm(v.open(), addr), upload{"captura de pantalla.png", []byte("\x89PNG\r\n\x1a\nfake image")})
	if res.status != 303 {
		t.Fatalf("submit: %d %s", res.status, res.body)
	}
	loc := res.header.Get("Location")
	if !strings.HasPrefix(loc, "/support/sent?t=") {
		t.Fatalf("Location = %q", loc)
	}
	var tk struct {
		ID       int64
		Channel  string
		Urgency  int
		Subject  string
		Customer string
	}
	db.Raw(`SELECT t.id, t.channel, t.urgency, t.subject, i.value AS customer FROM tickets t
		JOIN customer_identities i ON i.customer_id = t.customer_id AND i.kind = 'email'
		WHERE i.value = ?`, addr).Scan(&tk)
	if tk.ID == 0 || tk.Channel != "web" || tk.Urgency != 3 || tk.Subject != "No puedo iniciar sesión" {
		t.Fatalf("ticket = %+v", tk)
	}
	var att struct {
		Filename, ContentType string
	}
	db.Raw(`SELECT a.filename, a.content_type FROM attachments a JOIN messages m ON m.id = a.message_id WHERE m.ticket_id = ?`, tk.ID).Scan(&att)
	if att.Filename != "captura de pantalla.png" || att.ContentType != "image/png" {
		t.Errorf("attachment = %+v", att)
	}

	page := v.do(httptest.NewRequest("GET", loc, nil))
	if page.status != 200 || !strings.Contains(string(page.body), fmt.Sprintf("#%d", tk.ID)) {
		t.Errorf("thank-you page lacks the reference #%d: %s", tk.ID, page.body)
	}
	// The reference is signed: a forged one is not shown.
	forged := v.do(httptest.NewRequest("GET", fmt.Sprintf("/support/sent?t=%d.AAAAAAAAAAAAAAAA", tk.ID+1), nil))
	if strings.Contains(string(forged.body), fmt.Sprintf("#%d", tk.ID+1)) {
		t.Error("a forged reference was shown")
	}
}

func TestSupportFormShowsErrorsNextToFieldsAndKeepsValues(t *testing.T) {
	v := newVisitor(t, app)
	before := count(t, `SELECT count(*) FROM tickets`)
	fields := map[string]string{
		"_csrf": v.open(), "name": "Ana <b>Bold</b>", "email": "ana at example", "subject": "",
		"description": "<script>alert('x')</script> my printer is on fire", "urgency": "whenever",
	}
	res := v.submit(fields)
	if res.status != 422 {
		t.Fatalf("status %d", res.status)
	}
	body := string(res.body)
	for _, want := range []string{
		`id="email-error"`, `id="subject-error"`, `id="urgency-error"`,
		`value="ana at example"`, `Ana &lt;b&gt;Bold&lt;/b&gt;`,
		`&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; my printer is on fire`,
		`aria-invalid="true"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the returned form lacks %s", want)
		}
	}
	if strings.Contains(body, "<script>alert") {
		t.Error("the description came back unescaped")
	}
	if strings.Contains(body, `id="description-error"`) || strings.Contains(body, `id="name-error"`) {
		t.Error("valid fields were marked as errors")
	}
	if count(t, `SELECT count(*) FROM tickets`) != before {
		t.Error("an invalid form created a ticket")
	}
	// The email error sits right after the email input.
	emailInput := strings.Index(body, `id="email"`)
	emailError := strings.Index(body, `id="email-error"`)
	subjectInput := strings.Index(body, `id="subject"`)
	if !(emailInput < emailError && emailError < subjectInput) {
		t.Error("the email error is not next to the email field")
	}
}

func TestSupportFormRefusesMissingOrForeignCSRF(t *testing.T) {
	before := count(t, `SELECT count(*) FROM tickets`)
	addr := email("csrf")

	// No token at all: refused, and the form comes back with what was typed and a new token.
	v := newVisitor(t, app)
	v.open()
	fields := validForm("", addr)
	res := v.submit(fields)
	if res.status != 403 || !strings.Contains(string(res.body), html.EscapeString(fields["description"])) {
		t.Fatalf("no token: %d %s", res.status, res.body)
	}
	fresh := csrfInput.FindStringSubmatch(string(res.body))
	if fresh == nil {
		t.Fatal("the refused form has no fresh token")
	}

	// A token from another visitor's session does not work with this visitor's cookie.
	other := newVisitor(t, app)
	if res := v.submit(validForm(other.open(), addr)); res.status != 403 {
		t.Errorf("foreign token: %d", res.status)
	}
	// A forged cookie is refused too.
	forged := newVisitor(t, app)
	forged.cookies["helpdesk_csrf"] = "AAAAAAAAAAAAAAAAAAAAAA.AAAA"
	if res := forged.submit(validForm("AAAA", addr)); res.status != 403 {
		t.Errorf("forged cookie: %d", res.status)
	}
	// Another site posting the visitor's form.
	req := httptest.NewRequest("POST", "/support", strings.NewReader(url.Values{"_csrf": {fresh[1]}, "email": {addr}, "subject": {"s"}, "description": {"d"}, "urgency": {"normal"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example.net")
	if res := v.do(req); res.status != 403 {
		t.Errorf("cross-origin post: %d", res.status)
	}
	if count(t, `SELECT count(*) FROM tickets`) != before {
		t.Fatal("a refused form created a ticket")
	}
	// The fresh token in the refused form works.
	if res := v.submit(validForm(fresh[1], addr)); res.status != 303 {
		t.Errorf("resubmit with the fresh token: %d %s", res.status, res.body)
	}
}

func TestSupportFormHoneypot(t *testing.T) {
	v := newVisitor(t, app)
	before := count(t, `SELECT count(*) FROM tickets`)
	fields := validForm(v.open(), email("bot"))
	fields["website"] = "http://spam.example.com"
	res := v.submit(fields)
	if res.status != 303 || res.header.Get("Location") != "/support/sent" {
		t.Errorf("honeypot: %d %s", res.status, res.header.Get("Location"))
	}
	if count(t, `SELECT count(*) FROM tickets`) != before {
		t.Error("a bot's submission created a ticket")
	}
}

func TestSupportFormRateLimit(t *testing.T) {
	a, err := newApp(testConfig(map[string]string{"HELPDESK_FORM_RATE_LIMIT": "3", "HELPDESK_FORM_RATE_WINDOW": "1h"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	v := newVisitor(t, a)
	token := v.open()
	for i := range 3 {
		if res := v.submit(validForm(token, email("rate"))); res.status != 303 {
			t.Fatalf("submission %d: %d", i+1, res.status)
		}
	}
	res := v.submit(validForm(token, email("rate")))
	if res.status != 429 || res.header.Get("Retry-After") == "" || !strings.Contains(string(res.body), "wait") {
		t.Errorf("fourth submission: %d %s", res.status, res.body)
	}
	// Another visitor is not affected.
	w := newVisitor(t, a)
	if res := w.submit(validForm(w.open(), email("rate"))); res.status != 303 {
		t.Errorf("other visitor: %d", res.status)
	}
}

func TestSupportFormAttachmentLimits(t *testing.T) {
	a, err := newApp(testConfig(map[string]string{"HELPDESK_FORM_MAX_ATTACHMENTS": "2", "HELPDESK_FORM_MAX_ATTACHMENT_MB": "1"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	before := count(t, `SELECT count(*) FROM tickets`)
	v := newVisitor(t, a)
	token := v.open()
	small := []byte("hello")
	res := v.submit(validForm(token, email("att")), upload{"a.txt", small}, upload{"b.txt", small}, upload{"c.txt", small})
	if res.status != 422 || !strings.Contains(string(res.body), "at most 2 files") {
		t.Errorf("three files: %d", res.status)
	}
	big := bytes.Repeat([]byte("x"), 1<<20+1)
	res = v.submit(validForm(token, email("att")), upload{"huge.log", big})
	if res.status != 422 || !strings.Contains(string(res.body), "huge.log is larger than 1 MB") || !strings.Contains(string(res.body), `id="attachments-error"`) {
		t.Errorf("big file: %d", res.status)
	}
	if count(t, `SELECT count(*) FROM tickets`) != before {
		t.Error("a refused upload created a ticket")
	}

	// A limit of one still reads as a sentence, not as the message's id.
	one, err := newApp(testConfig(map[string]string{"HELPDESK_FORM_MAX_ATTACHMENTS": "1"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	page := newVisitor(t, one).get("/support")
	if !strings.Contains(string(page.body), "Up to one file of 10 MB") || strings.Contains(string(page.body), "attachments_hint") {
		t.Errorf("the form with a limit of one file:\n%s", page.body)
	}
}

// A body beyond what any valid form can be is cut off before it is read, and the visitor gets a
// page saying so, not JSON. This needs a real connection: app.Test reports the cut as an error.
func TestSupportFormOversizedBody(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { ln.Close() })
	// The server answers from the headers alone; the client need not send 60 MB to learn that.
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /support HTTP/1.1\r\nHost: %s\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: %d\r\n\r\n", ln.Addr(), 60<<20)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	page, _ := io.ReadAll(res.Body)
	if res.StatusCode != 413 || !strings.Contains(res.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(page), "too large") {
		t.Errorf("oversized body: %d %s\n%s", res.StatusCode, res.Header.Get("Content-Type"), page)
	}
}

func TestPagesSendSecurityHeaders(t *testing.T) {
	res := newVisitor(t, app).do(httptest.NewRequest("GET", "/support", nil))
	csp := res.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP = %q", csp)
	}
	if res.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers = %v", res.header)
	}
	if c := res.header.Get("Set-Cookie"); !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Lax") {
		t.Errorf("cookie = %q", c)
	}
	if res := newVisitor(t, app).do(httptest.NewRequest("GET", "/static/app.css", nil)); res.status != 200 || !strings.HasPrefix(res.header.Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet: %d %s", res.status, res.header.Get("Content-Type"))
	}
	if res := newVisitor(t, app).do(httptest.NewRequest("GET", "/static/../openapi.json", nil)); res.status != 404 {
		t.Errorf("path escape: %d", res.status)
	}
	if res := newVisitor(t, app).do(httptest.NewRequest("GET", "/no/such/page", nil)); res.status != 404 || !strings.Contains(res.header.Get("Content-Type"), "text/html") {
		t.Errorf("404 page: %d %s", res.status, res.header.Get("Content-Type"))
	}
}
