package web

import (
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// honeypotField is a form input people never see; bots that fill every input fill it.
const honeypotField = "website"

type supportValues struct {
	Name, Email, Subject, Description, Urgency, Category string
	// KBSession is the visit's id for the knowledge base's deflection report (suggest.js).
	KBSession string
}

type supportFormView struct {
	CSRF            string
	Values          supportValues
	Errors          map[string]string // by input name
	Notice          string            // about the whole form
	MaxAttachments  int
	MaxAttachmentMB int64
	Urgencies       []string
	Categories      []string // the topics teams take; the field is hidden when there are none
}

// urgencies are the levels a customer may choose; the page says what each means to them, so
// that "urgent" keeps its meaning.
var urgencies = []string{"low", "normal", "high", "urgent"}

func (s *server) newSupportView(c *fiber.Ctx) supportFormView {
	categories, err := s.Staff.Categories(c.UserContext())
	if err != nil {
		// The form works without topics; a failing lookup must not keep customers out.
		s.Logger.Warn("support form: categories", "error", err)
	}
	return supportFormView{
		Categories:      categories,
		CSRF:            s.csrfToken(c),
		Values:          supportValues{Urgency: "normal"},
		Errors:          map[string]string{},
		MaxAttachments:  s.Config.Form.MaxAttachments,
		MaxAttachmentMB: s.Config.Form.MaxAttachmentBytes >> 20,
		Urgencies:       urgencies,
	}
}

func (s *server) supportForm(c *fiber.Ctx) error {
	return s.render(c, fiber.StatusOK, "support.html", s.newSupportView(c))
}

// supportSubmit takes the public form. Whatever goes wrong, the form comes back with what the
// visitor typed and a message next to each field at fault.
func (s *server) supportSubmit(c *fiber.Ctx) error {
	view := s.newSupportView(c)
	view.Values = supportValues{
		Name:        c.FormValue("name"),
		Email:       c.FormValue("email"),
		Subject:     c.FormValue("subject"),
		Description: c.FormValue("description"),
		Urgency:     c.FormValue("urgency"),
		Category:    c.FormValue("category"),
		KBSession:   c.FormValue("kb_session"),
	}
	if !s.csrfValid(c) {
		view.Notice = s.wordsFor(c).T("form_expired_notice")
		return s.render(c, fiber.StatusForbidden, "support.html", view)
	}
	if c.FormValue(honeypotField) != "" {
		s.Logger.Info("support form: honeypot filled; dropped", "ip", c.IP(), "request_id", requestID(c))
		return c.Redirect("/support/sent", fiber.StatusSeeOther)
	}
	var v tickets.ValidationError
	w := s.wordsFor(c)
	files := s.formAttachments(c, w, &v)
	urgency, err := tickets.ParseLevel(view.Values.Urgency)
	if err != nil {
		v.Add("urgency", w.T("urgency_choose"))
		urgency = tickets.Normal
	}
	in := tickets.NewTicket{
		Channel:     tickets.ChannelWeb,
		Customer:    tickets.CustomerContact{Email: view.Values.Email, Name: view.Values.Name},
		Subject:     view.Values.Subject,
		Body:        view.Values.Description,
		Urgency:     urgency,
		Category:    view.Values.Category,
		Attachments: files,
	}
	if err := mergeInvalid(&v, s.Desk.Check(in)); err != nil {
		return err
	}
	if err := v.Err(); err != nil {
		return s.rejectSupport(c, view, err)
	}
	t, err := s.Desk.Intake(c.UserContext(), in)
	if err != nil {
		return s.rejectSupport(c, view, err)
	}
	if err := s.Knowledge.RecordSubmission(c.UserContext(), view.Values.KBSession, t.ID); err != nil {
		// The ticket is in; a lost statistic is not worth an error page.
		s.Logger.Warn("support form: recording the submission for deflection", "error", err, "request_id", requestID(c))
	}
	return c.Redirect("/support/sent?t="+s.signRef(t.ID), fiber.StatusSeeOther)
}

// formInputs maps the domain's field names to the form's input names.
var formInputs = map[string]string{
	"customer.email": "email",
	"customer.name":  "name",
	"subject":        "subject",
	"body":           "description",
	"urgency":        "urgency",
	"category":       "category",
}

func (s *server) rejectSupport(c *fiber.Ctx, view supportFormView, err error) error {
	var invalid *tickets.ValidationError
	if !errors.As(err, &invalid) {
		return err
	}
	for _, f := range invalid.Fields {
		input, ok := formInputs[f.Field]
		if strings.HasPrefix(f.Field, "attachments") {
			input, ok = "attachments", true
		}
		if ok && view.Errors[input] == "" {
			// Domain messages are English sentences; the catalog translates the common ones.
			view.Errors[input] = s.wordsFor(c).T(sentence(f.Message))
		}
	}
	view.Notice = s.wordsFor(c).T("form_fix_fields")
	if len(c.Request().Header.MultipartFormBoundary()) > 0 {
		if form, err := c.MultipartForm(); err == nil && len(form.File["attachments"]) > 0 && view.Errors["attachments"] == "" {
			view.Errors["attachments"] = s.wordsFor(c).T("attach_again")
		}
	}
	return s.render(c, fiber.StatusUnprocessableEntity, "support.html", view)
}

// formAttachments reads the uploaded files within the form's limits.
func (s *server) formAttachments(c *fiber.Ctx, w *words, v *tickets.ValidationError) []tickets.NewAttachment {
	if len(c.Request().Header.MultipartFormBoundary()) == 0 {
		return nil
	}
	form, err := c.MultipartForm()
	if err != nil {
		v.Add("attachments", w.T("attach_incomplete"))
		return nil
	}
	var headers []*multipart.FileHeader
	for _, fh := range form.File["attachments"] {
		// A file input left empty still sends a part with no name and no bytes.
		if fh.Filename != "" || fh.Size > 0 {
			headers = append(headers, fh)
		}
	}
	limit := s.Config.Form.MaxAttachmentBytes
	if len(headers) > s.Config.Form.MaxAttachments {
		v.Add("attachments", w.T("attach_too_many", "Count", s.Config.Form.MaxAttachments))
		return nil
	}
	files := make([]tickets.NewAttachment, 0, len(headers))
	for _, fh := range headers {
		if fh.Size > limit {
			v.Add("attachments", w.T("attach_too_large", "Name", fh.Filename, "MB", limit>>20))
			continue
		}
		data, err := readUpload(fh, limit)
		if err != nil {
			v.Add("attachments", w.T("attach_unreadable", "Name", fh.Filename))
			continue
		}
		ct := fh.Header.Get(fiber.HeaderContentType)
		if ct == "" || ct == "application/octet-stream" {
			ct = http.DetectContentType(data)
		}
		files = append(files, tickets.NewAttachment{Filename: fh.Filename, ContentType: ct, Data: data})
	}
	return files
}

func readUpload(fh *multipart.FileHeader, limit int64) ([]byte, error) {
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit+1))
}

// supportSent thanks the visitor. The reference comes signed, so that the page cannot be made to
// claim a ticket exists when it does not.
func (s *server) supportSent(c *fiber.Ctx) error {
	data := fiber.Map{}
	if id, ok := s.verifyRef(c.Query("t")); ok {
		data["Ref"] = tickets.Ref(id)
	}
	return s.render(c, fiber.StatusOK, "support_sent.html", data)
}

func (s *server) signRef(id int64) string {
	n := strconv.FormatInt(id, 10)
	return n + "." + base64.RawURLEncoding.EncodeToString(s.mac("support-sent", []byte(n))[:12])
}

func (s *server) verifyRef(token string) (int64, bool) {
	n, sig, ok := strings.Cut(token, ".")
	if !ok {
		return 0, false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac("support-sent", []byte(n))[:12]) {
		return 0, false
	}
	id, err := strconv.ParseInt(n, 10, 64)
	return id, err == nil
}

// formRateLimited answers a visitor who has sent the form too often.
func (s *server) formRateLimited(c *fiber.Ctx) error {
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(s.Config.Form.RateWindow.Seconds())))
	return s.renderErrorPage(c, fiber.StatusTooManyRequests, s.wordsFor(c).T("form_rate_limited"))
}

// sentence makes a domain message ("is required") read well next to a field.
func sentence(msg string) string {
	if strings.HasPrefix(msg, "is ") || strings.HasPrefix(msg, "must ") {
		msg = "This field " + msg
	}
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}
