package web

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/mailin"
	"github.com/openhelpdesk/helpdesk/mailout"
	"github.com/openhelpdesk/helpdesk/tickets"
)

// mailboxInputs are the add form's inputs, named as the domain names the fields (and as the
// JSON API's paths), so that an error lands next to its input.
var mailboxInputs = []string{
	"name", "address", "team_id",
	"imap.host", "imap.port", "imap.tls", "imap.username", "imap.password", "imap.folder", "imap.after_import", "imap.move_to",
	"smtp.host", "smtp.port", "smtp.tls", "smtp.username", "smtp.password",
}

// probeTimeout bounds a "Test connection": the page waits for it.
const probeTimeout = 10 * time.Second

type probeStepView struct {
	OK   bool
	Text string
}

type probeSideView struct {
	Title, Addr string
	Steps       []probeStepView
}

type probeView struct {
	Sides []probeSideView
}

type mailboxRow struct {
	mailin.Mailbox
	Team  string
	Probe *probeView
}

type mailboxesView struct {
	Ready     bool // the email channel is set up
	Mailboxes []mailboxRow
	Teams     []tickets.Team
	Form      adminForm
	Probe     *probeView // the add form's test
	Flash     string
	TLSModes  []string
	After     []string
}

func (s *server) mailboxesPage(c *fiber.Ctx, status int, form adminForm, probe *probeView, probed int64, rowProbe *probeView) error {
	view := mailboxesView{Ready: s.Mail != nil, Form: form, Probe: probe, Flash: s.flash(c),
		TLSModes: []string{"tls", "starttls", "none"}, After: []string{"seen", "move", "none"}}
	teams, err := s.Staff.Teams(c.UserContext())
	if err != nil {
		return err
	}
	view.Teams = teams
	if s.Mail != nil {
		list, err := s.Mail.Mailboxes.List(c.UserContext())
		if err != nil {
			return err
		}
		names := map[int64]string{}
		for _, t := range teams {
			names[t.ID] = t.Name
		}
		for _, m := range list {
			row := mailboxRow{Mailbox: m}
			if m.TeamID != nil {
				row.Team = names[*m.TeamID]
			}
			if m.ID == probed {
				row.Probe = rowProbe
			}
			view.Mailboxes = append(view.Mailboxes, row)
		}
	}
	return s.render(c, status, "admin_mailboxes.html", view)
}

func newMailboxForm() adminForm {
	f := newAdminForm()
	f.Values["imap.tls"], f.Values["imap.folder"], f.Values["imap.after_import"] = "tls", "INBOX", "seen"
	f.Values["smtp.tls"] = "starttls"
	return f
}

func (s *server) adminMailboxes(c *fiber.Ctx) error {
	return s.mailboxesPage(c, fiber.StatusOK, newMailboxForm(), nil, 0, nil)
}

// readMailbox reads the add form. Passwords are read but never kept in the form's values, so
// that they are never written back into a page.
func readMailbox(c *fiber.Ctx, w *words) (adminForm, mailin.NewMailbox) {
	form := newAdminForm()
	for _, name := range mailboxInputs {
		if !strings.HasSuffix(name, ".password") {
			form.read(c, name)
		}
	}
	in := mailin.NewMailbox{
		Name: form.Values["name"], Address: form.Values["address"],
		IMAP: mailin.ServerSettings{Host: form.Values["imap.host"], Port: formInt(&form, w, "imap.port", 0),
			TLS: mailin.TLSMode(form.Values["imap.tls"]), Username: form.Values["imap.username"], Password: c.FormValue("imap.password")},
		Folder: form.Values["imap.folder"], AfterImport: mailin.AfterImport(form.Values["imap.after_import"]), MoveTo: form.Values["imap.move_to"],
		SMTP: mailin.ServerSettings{Host: form.Values["smtp.host"], Port: formInt(&form, w, "smtp.port", 0),
			TLS: mailin.TLSMode(form.Values["smtp.tls"]), Username: form.Values["smtp.username"], Password: c.FormValue("smtp.password")},
	}
	if v := form.Values["team_id"]; v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			form.Errors["team_id"] = w.T("admin_err_choose")
		}
		in.TeamID = &id
	}
	return form, in
}

func (s *server) adminCreateMailbox(c *fiber.Ctx) error {
	mail, err := s.mail()
	if err != nil {
		return err
	}
	w := s.wordsFor(c)
	form, in := readMailbox(c, w)
	if form.invalid() {
		form.Notice = w.T("admin_fix_fields")
		return s.mailboxesPage(c, fiber.StatusUnprocessableEntity, form, nil, 0, nil)
	}
	if _, err := mail.Mailboxes.Add(c.UserContext(), in); err != nil {
		if err := form.fail(w, err, mailboxInputs...); err != nil {
			return err
		}
		form.Notice += " " + w.T("admin_mailbox_retype_passwords")
		return s.mailboxesPage(c, fiber.StatusUnprocessableEntity, form, nil, 0, nil)
	}
	return done(c, "/admin/mailboxes", "mailbox_added")
}

// adminTestNewMailbox tries the add form's settings before they are saved.
func (s *server) adminTestNewMailbox(c *fiber.Ctx) error {
	w := s.wordsFor(c)
	form, in := readMailbox(c, w)
	var v tickets.ValidationError
	if err := mailin.CheckIMAPSettings(&in.IMAP); err != nil {
		mergeInvalid(&v, err)
	}
	if err := mailin.CheckSMTPSettings(&in.SMTP); err != nil {
		mergeInvalid(&v, err)
	}
	if err := v.Err(); err != nil {
		if err := form.fail(w, err, mailboxInputs...); err != nil {
			return err
		}
	}
	if form.invalid() {
		if form.Notice == "" {
			form.Notice = w.T("admin_fix_fields")
		}
		if isHTMX(c) {
			return s.renderFragment(c, "admin_mailboxes.html", "admin_probe_fragment", &probeView{Sides: []probeSideView{{
				Title: w.T("admin_probe_not_run"), Steps: []probeStepView{{Text: form.Notice}}}}})
		}
		return s.mailboxesPage(c, fiber.StatusUnprocessableEntity, form, nil, 0, nil)
	}
	opts := mailin.ProbeOptions{Timeout: probeTimeout}
	_, domain, _ := strings.Cut(in.Address, "@")
	// Both sides at once: a server that does not answer costs the page one timeout, not two.
	ctx := c.UserContext()
	var imapRes mailin.ProbeResult
	done := make(chan struct{})
	go func() {
		defer close(done)
		imapRes = mailin.ProbeIMAP(ctx, in.IMAP, in.Folder, opts)
	}()
	smtpRes := mailout.ProbeSMTP(ctx, in.SMTP, domain, opts)
	<-done
	probe := describeProbe(w, in.IMAP.Username, in.Folder, imapRes, in.SMTP.Username, smtpRes)
	if isHTMX(c) {
		return s.renderFragment(c, "admin_mailboxes.html", "admin_probe_fragment", probe)
	}
	form.Notice = ""
	return s.mailboxesPage(c, fiber.StatusOK, form, probe, 0, nil)
}

// adminTestMailbox tries a saved mailbox's settings, with its stored passwords.
func (s *server) adminTestMailbox(c *fiber.Ctx) error {
	mail, err := s.mail()
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	m, err := mail.Mailboxes.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	opts := mailin.ProbeOptions{Timeout: probeTimeout}
	ctx := c.UserContext()
	var imapRes mailin.ProbeResult
	var imapErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		imapRes, imapErr = mail.Mailboxes.ProbeMailbox(ctx, m, opts)
	}()
	smtpRes, err := mailout.ProbeMailbox(ctx, mail.Mailboxes, m, opts)
	<-done
	if err != nil {
		return err
	}
	if imapErr != nil {
		return imapErr
	}
	w := s.wordsFor(c)
	probe := describeProbe(w, m.IMAPUsername, m.Folder, imapRes, m.SMTPUsername, smtpRes)
	if isHTMX(c) {
		return s.renderFragment(c, "admin_mailboxes.html", "admin_probe_fragment", probe)
	}
	return s.mailboxesPage(c, fiber.StatusOK, newMailboxForm(), nil, id, probe)
}

// describeProbe puts each step of both probes in plain words.
func describeProbe(w *words, imapUser, folder string, imapRes mailin.ProbeResult, smtpUser string, smtpRes mailin.ProbeResult) *probeView {
	side := func(title, user string, r mailin.ProbeResult) probeSideView {
		out := probeSideView{Title: title, Addr: r.Addr}
		for _, st := range r.Steps {
			state := "ok"
			if !st.OK {
				state = "failed"
			}
			text := w.T("admin_probe_"+string(st.Name)+"_"+state, "Addr", r.Addr, "Detail", st.Detail, "User", user,
				"Folder", folder, "Messages", int(r.Messages), "UIDValidity", strconv.FormatUint(uint64(r.UIDValidity), 10))
			out.Steps = append(out.Steps, probeStepView{OK: st.OK, Text: text})
		}
		if r.OK() {
			out.Steps = append(out.Steps, probeStepView{OK: true, Text: w.T("admin_probe_all_ok")})
		}
		return out
	}
	return &probeView{Sides: []probeSideView{
		side(w.T("admin_probe_imap"), imapUser, imapRes),
		side(w.T("admin_probe_smtp"), smtpUser, smtpRes),
	}}
}

// isHTMX tells a request htmx sent (a partial update) from a plain form post.
func isHTMX(c *fiber.Ctx) bool { return c.Get("HX-Request") == "true" }
