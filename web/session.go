package web

import (
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// Staff pages work on a session: a random secret in an HttpOnly, SameSite cookie, checked on the
// server for every page, with the role the route table asks for. Forms that change something
// carry a token derived from the session, so another site cannot post them in a user's name.

const (
	sessionCookie = "helpdesk_session"
	langCookie    = "helpdesk_lang"
)

func (s *server) setSessionCookie(c *fiber.Ctx, secret string, expires time.Time) {
	c.Cookie(&fiber.Cookie{
		Name: sessionCookie, Value: secret, Path: "/", HTTPOnly: true, Secure: s.secureCookies(),
		SameSite: fiber.CookieSameSiteLaxMode, Expires: expires,
	})
}

// staffCSRF is the form token of the request's session.
func (s *server) staffCSRF(c *fiber.Ctx) string { return s.sessionCSRF(c, "csrf-staff", sessionCookie) }

// staffCSRFValid checks the token a form or a script sent with the request's session.
func (s *server) staffCSRFValid(c *fiber.Ctx) bool {
	return s.sessionCSRFValid(c, "csrf-staff", sessionCookie)
}

// requirePage lets a request through when it comes from a signed-in member of staff whose role
// includes role. Someone not signed in is sent to sign in and brought back; a role too low gets
// a 403 page; a change without its form token gets a 403 too.
func (s *server) requirePage(role tickets.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		user, err := s.Staff.SessionUser(c.UserContext(), c.Cookies(sessionCookie))
		if errors.Is(err, tickets.ErrNoSession) {
			if c.Method() == fiber.MethodGet {
				return c.Redirect("/login?next="+url.QueryEscape(string(c.Request().URI().RequestURI())), fiber.StatusSeeOther)
			}
			return s.renderErrorPage(c, fiber.StatusUnauthorized, s.wordsFor(c).T("error_signed_out"))
		}
		if err != nil {
			return err
		}
		c.Locals(userKey, user)
		if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead && !s.staffCSRFValid(c) {
			return s.renderErrorPage(c, fiber.StatusForbidden, s.wordsFor(c).T("error_form_expired"))
		}
		if !user.Role.Includes(role) {
			return s.renderErrorPage(c, fiber.StatusForbidden, s.wordsFor(c).T("error_role", "Role", s.wordsFor(c).Of("role_", role)))
		}
		return c.Next()
	}
}

type loginView struct {
	Email, Next, Error string
}

// safeNext keeps a redirect after sign-in on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, `\`) {
		return "/desk"
	}
	return next
}

func (s *server) loginForm(c *fiber.Ctx) error {
	return s.render(c, fiber.StatusOK, "login.html", loginView{Next: safeNext(c.Query("next"))})
}

// login checks the password and starts a session. The answer to a wrong address and to a wrong
// password is the same page, so the form cannot be used to find accounts.
func (s *server) login(c *fiber.Ctx) error {
	view := loginView{Email: c.FormValue("email"), Next: safeNext(c.FormValue("next"))}
	w := s.wordsFor(c)
	if !s.csrfValid(c) {
		view.Error = w.T("error_form_expired")
		return s.render(c, fiber.StatusForbidden, "login.html", view)
	}
	user, err := s.Staff.CheckPassword(c.UserContext(), view.Email, c.FormValue("password"))
	if errors.Is(err, tickets.ErrBadCredentials) {
		s.Logger.Info("sign-in refused", "ip", c.IP(), "request_id", requestID(c))
		view.Error = w.T("login_wrong")
		return s.render(c, fiber.StatusUnauthorized, "login.html", view)
	}
	if err != nil {
		return err
	}
	secret, err := s.Staff.StartSession(c.UserContext(), user.ID)
	if err != nil {
		return err
	}
	s.setSessionCookie(c, secret, time.Now().Add(tickets.SessionMax))
	s.Logger.Info("signed in", "user_id", user.ID, "request_id", requestID(c))
	return c.Redirect(view.Next, fiber.StatusSeeOther)
}

func (s *server) logout(c *fiber.Ctx) error {
	if err := s.Staff.EndSession(c.UserContext(), c.Cookies(sessionCookie)); err != nil {
		return err
	}
	s.setSessionCookie(c, "", time.Unix(0, 0))
	return c.Redirect("/login", fiber.StatusSeeOther)
}

type passwordView struct {
	Email, Token, Error string
	Sent                bool
}

func (s *server) passwordForgotForm(c *fiber.Ctx) error {
	return s.render(c, fiber.StatusOK, "password_forgot.html", passwordView{})
}

// passwordForgot mails a reset link to a staff address. It answers the same whether or not the
// address has an account.
func (s *server) passwordForgot(c *fiber.Ctx) error {
	view := passwordView{Email: c.FormValue("email")}
	w := s.wordsFor(c)
	if !s.csrfValid(c) {
		view.Error = w.T("error_form_expired")
		return s.render(c, fiber.StatusForbidden, "password_forgot.html", view)
	}
	secret, user, err := s.Staff.StartPasswordReset(c.UserContext(), view.Email)
	switch {
	case errors.Is(err, tickets.ErrNotFound):
		s.Logger.Info("password reset asked for an unknown address", "ip", c.IP())
	case err != nil:
		return err
	case s.Notify == nil:
		s.Logger.Warn("password reset: no mail configured; the link cannot be sent", "user_id", user.ID)
	default:
		link := s.Config.BaseURL + "/password/reset?token=" + url.QueryEscape(secret)
		uw := s.words.forRequest(user.Locale, c.Get(fiber.HeaderAcceptLanguage))
		if err := s.Notify(c.UserContext(), user.Email, uw.T("reset_mail_subject"), uw.T("reset_mail_body", "Name", user.Name, "Link", link)); err != nil {
			return err
		}
	}
	view.Sent = true
	return s.render(c, fiber.StatusOK, "password_forgot.html", view)
}

func (s *server) passwordResetForm(c *fiber.Ctx) error {
	return s.render(c, fiber.StatusOK, "password_reset.html", passwordView{Token: c.Query("token")})
}

func (s *server) passwordReset(c *fiber.Ctx) error {
	view := passwordView{Token: c.FormValue("token")}
	w := s.wordsFor(c)
	if !s.csrfValid(c) {
		view.Error = w.T("error_form_expired")
		return s.render(c, fiber.StatusForbidden, "password_reset.html", view)
	}
	if c.FormValue("password") != c.FormValue("password2") {
		view.Error = w.T("reset_mismatch")
		return s.render(c, fiber.StatusUnprocessableEntity, "password_reset.html", view)
	}
	user, err := s.Staff.ResetPassword(c.UserContext(), view.Token, c.FormValue("password"))
	var invalid *tickets.ValidationError
	if errors.As(err, &invalid) {
		view.Error = w.T(sentence(invalid.Fields[0].Message))
		return s.render(c, fiber.StatusUnprocessableEntity, "password_reset.html", view)
	}
	if err != nil {
		return err
	}
	secret, err := s.Staff.StartSession(c.UserContext(), user.ID)
	if err != nil {
		return err
	}
	s.setSessionCookie(c, secret, time.Now().Add(tickets.SessionMax))
	return c.Redirect("/desk", fiber.StatusSeeOther)
}

// setLanguage chooses the language of the pages: for staff in their settings, for visitors in a
// cookie. It goes back where it came from.
func (s *server) setLanguage(c *fiber.Ctx) error {
	lang := c.FormValue("lang")
	if lang != "en" && lang != "es" && lang != "" {
		return badRequest("lang", "must be en or es")
	}
	back := safeNext(c.FormValue("next"))
	// Public pages carry the visitor's token even for signed-in staff; either proves the form is ours.
	if !s.staffCSRFValid(c) && !s.csrfValid(c) {
		return s.renderErrorPage(c, fiber.StatusForbidden, s.wordsFor(c).T("error_form_expired"))
	}
	if user, err := s.Staff.SessionUser(c.UserContext(), c.Cookies(sessionCookie)); err == nil {
		if err := s.Staff.SetLocale(c.UserContext(), user.ID, lang); err != nil {
			return err
		}
		return c.Redirect(back, fiber.StatusSeeOther)
	}
	c.Cookie(&fiber.Cookie{Name: langCookie, Value: lang, Path: "/", HTTPOnly: true, Secure: s.secureCookies(),
		SameSite: fiber.CookieSameSiteLaxMode, Expires: time.Now().AddDate(1, 0, 0)})
	return c.Redirect(back, fiber.StatusSeeOther)
}

// deskHome is where staff land after signing in.
func (s *server) deskHome(c *fiber.Ctx) error {
	return c.Redirect("/desk/queue", fiber.StatusSeeOther)
}
