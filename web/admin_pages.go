package web

import (
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// The admin pages: users, teams, mailboxes, quarantine, SLA settings, customer value settings
// and API tokens. Every form posts without JavaScript and answers with a 303 to the page and a
// flash (?ok=...), or with the form again, its values kept and each error next to its field.
// They call the same domain services as the JSON API, so both validate alike.

func init() {
	// adminSection is the section a path belongs to (/admin/users/7 → users), for the tabs.
	templateFuncs["adminSection"] = func(path string) string {
		section, _, _ := strings.Cut(strings.TrimPrefix(path, "/admin/"), "/")
		return section
	}
	// adminField gathers what the "admin_input" partial needs for one input.
	templateFuncs["adminField"] = func(f adminForm, id, name, label, typ string) map[string]any {
		return map[string]any{"ID": id, "Name": name, "Label": label, "Type": typ, "Value": f.Values[name], "Error": f.Errors[name]}
	}
}

// adminForm is a form's state: what was typed (never a password), and what is wrong with it.
type adminForm struct {
	Values map[string]string
	Errors map[string]string // by input name
	Notice string            // about the whole form
}

func newAdminForm() adminForm {
	return adminForm{Values: map[string]string{}, Errors: map[string]string{}}
}

// formFields reads the named inputs into the form's values.
func (f *adminForm) read(c *fiber.Ctx, names ...string) {
	for _, n := range names {
		f.Values[n] = strings.TrimSpace(c.FormValue(n))
	}
}

// fail puts a domain error on the form: each field's message next to its input, the rest in
// the notice. It returns err itself when it is not about the input (a database failure).
func (f *adminForm) fail(w *words, err error, inputs ...string) error {
	var (
		invalid  *tickets.ValidationError
		conflict *tickets.ConflictError
		in       *inputError
		fields   []tickets.FieldError
	)
	switch {
	case errors.As(err, &invalid):
		fields = invalid.Fields
	case errors.As(err, &conflict):
		fields = []tickets.FieldError{{Field: conflict.Field, Message: conflict.Message}}
	case errors.As(err, &in):
		fields = []tickets.FieldError{{Field: in.field, Message: in.message}}
	default:
		return err
	}
	for _, fe := range fields {
		f.add(w, fe.Field, w.T(sentence(fe.Message)), inputs)
	}
	if f.Notice == "" {
		f.Notice = w.T("admin_fix_fields")
	}
	return nil
}

// add puts msg next to the input the domain's field name points at: hours.mon[0].to belongs
// to hours.mon, targets.resolution.pause_on[1] to targets.resolution.pause_on.
func (f *adminForm) add(w *words, field, msg string, inputs []string) {
	if i := strings.IndexByte(field, '['); i >= 0 {
		field = field[:i]
	}
	for key := field; key != ""; {
		for _, in := range inputs {
			if in == key {
				if f.Errors[key] == "" {
					f.Errors[key] = msg
				}
				return
			}
		}
		i := strings.LastIndexByte(key, '.')
		if i < 0 {
			break
		}
		key = key[:i]
	}
	if f.Notice == "" {
		f.Notice = w.T("admin_fix_fields")
	}
	f.Notice += " " + msg
}

func (f *adminForm) invalid() bool { return len(f.Errors) > 0 || f.Notice != "" }

// flash is the message a redirect after a change asked the page to show.
func (s *server) flash(c *fiber.Ctx) string {
	key := c.Query("ok")
	if key == "" || strings.ContainsFunc(key, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r == '_') }) {
		return ""
	}
	w := s.wordsFor(c)
	if msg := w.T("admin_ok_" + key); msg != "admin_ok_"+key {
		return msg
	}
	return ""
}

// done answers a change that worked: back to the page, with a flash.
func done(c *fiber.Ctx, page, key string) error {
	sep := "?"
	if strings.Contains(page, "?") {
		sep = "&"
	}
	return c.Redirect(page+sep+"ok="+url.QueryEscape(key), fiber.StatusSeeOther)
}

// formInt reads a whole number; empty is def.
func formInt(f *adminForm, w *words, name string, def int) int {
	v := f.Values[name]
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		f.Errors[name] = w.T("admin_err_whole_number")
	}
	return n
}

// formFloat reads a decimal number, with a point or a comma.
func formFloat(f *adminForm, w *words, name string) float64 {
	n, err := strconv.ParseFloat(strings.Replace(f.Values[name], ",", ".", 1), 64)
	if err != nil {
		f.Errors[name] = w.T("admin_err_number")
	}
	return n
}

// splitList reads "a, b; c" or one item a line as a list, without empty items.
func splitList(s string) []string {
	out := []string{}
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == '\n' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// adminIndex links to each admin section.
func (s *server) adminIndex(c *fiber.Ctx) error {
	return s.render(c, fiber.StatusOK, "admin.html", fiber.Map{"MailReady": s.Mail != nil, "SLAReady": s.SLA != nil})
}

// formID reads an id a form chose from a list; a missing or forged one is a bad request.
func formID(c *fiber.Ctx, name string) (int64, error) {
	id, err := strconv.ParseInt(c.FormValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, badRequest(name, "choose one from the list")
	}
	return id, nil
}
