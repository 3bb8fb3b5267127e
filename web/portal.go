package web

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// The customer portal. A customer signs in with the link from one of our mails (or one they ask
// for at /portal), which starts a portal session: its own cookie, apart from staff sessions, that
// names the customer and nothing more. Forms carry a token derived from that session.

const (
	portalCookie      = "helpdesk_portal"
	portalCustomerKey = "portalCustomer"
	portalLinkPath    = "/portal/t/"
)

// PortalLinkURL is the address of a portal link with this secret, for the mails we send.
func PortalLinkURL(baseURL, token string) string {
	return baseURL + portalLinkPath + url.PathEscape(token)
}

// portalCustomer is the customer signed in to the portal, or nil outside portal pages.
func portalCustomer(c *fiber.Ctx) *tickets.PortalCustomer {
	pc, _ := c.Locals(portalCustomerKey).(*tickets.PortalCustomer)
	return pc
}

// setPortalCookie keeps the portal session. Lax, not Strict: customers arrive from a link in
// their mail, and a Strict cookie would not come along on the redirect that link starts.
func (s *server) setPortalCookie(c *fiber.Ctx, secret string, expires time.Time) {
	c.Cookie(&fiber.Cookie{
		Name: portalCookie, Value: secret, Path: "/portal", HTTPOnly: true, Secure: s.secureCookies(),
		SameSite: fiber.CookieSameSiteLaxMode, Expires: expires,
	})
}

// portalCSRF is the form token of the request's portal session.
func (s *server) portalCSRF(c *fiber.Ctx) string {
	return s.sessionCSRF(c, "csrf-portal", portalCookie)
}

// portalCSRFValid checks the token a portal form sent, and that a browser naming the page it
// came from names one of ours.
func (s *server) portalCSRFValid(c *fiber.Ctx) bool {
	return s.sessionCSRFValid(c, "csrf-portal", portalCookie) && sameOrigin(c)
}

// requirePortal lets a request through when it carries a live portal session, and a change
// only with the session's form token. Without a session a page goes to /portal, where a new
// link can be asked for.
func (s *server) requirePortal(c *fiber.Ctx) error {
	customer, err := s.Desk.PortalSessionCustomer(c.UserContext(), c.Cookies(portalCookie))
	if errors.Is(err, tickets.ErrNoSession) {
		if c.Method() == fiber.MethodGet {
			return c.Redirect("/portal", fiber.StatusSeeOther)
		}
		return s.renderErrorPage(c, fiber.StatusUnauthorized, s.wordsFor(c).T("portal_signed_out"))
	}
	if err != nil {
		return err
	}
	c.Locals(portalCustomerKey, customer)
	if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead && !s.portalCSRFValid(c) {
		return s.renderErrorPage(c, fiber.StatusForbidden, s.wordsFor(c).T("error_form_expired"))
	}
	return c.Next()
}

type portalRequestView struct {
	Email, Error, Notice string
	Sent, SignedOut      bool
}

// portalHome asks for an address to send a link to. A customer already signed in goes to their
// tickets.
func (s *server) portalHome(c *fiber.Ctx) error {
	if _, err := s.Desk.PortalSessionCustomer(c.UserContext(), c.Cookies(portalCookie)); err == nil {
		return c.Redirect("/portal/tickets", fiber.StatusSeeOther)
	}
	return s.render(c, fiber.StatusOK, "portal.html", portalRequestView{SignedOut: c.Query("out") != ""})
}

// portalRequest mails a portal link to a customer's address. The answer is the same whether or
// not we know the address, so the form cannot tell anyone who our customers are.
func (s *server) portalRequest(c *fiber.Ctx) error {
	view := portalRequestView{Email: c.FormValue("email")}
	w := s.wordsFor(c)
	if !s.csrfValid(c) {
		view.Notice = w.T("form_expired_notice")
		return s.render(c, fiber.StatusForbidden, "portal.html", view)
	}
	if _, err := tickets.NormalizeEmail(view.Email); err != nil {
		view.Error = w.T("portal_email_invalid")
		return s.render(c, fiber.StatusUnprocessableEntity, "portal.html", view)
	}
	ttl := s.Config.PortalLinkTTL
	secret, who, err := s.Desk.RequestPortalLink(c.UserContext(), view.Email, ttl)
	switch {
	case errors.Is(err, tickets.ErrNotFound):
		s.Logger.Info("portal link asked for an unknown address", "ip", c.IP(), "request_id", requestID(c))
	case errors.Is(err, tickets.ErrTooManyLinks):
		s.Logger.Info("portal link: hourly limit reached; none sent", "ip", c.IP(), "request_id", requestID(c))
	case err != nil:
		return err
	case s.Notify == nil:
		s.Logger.Warn("portal link: no mail configured; the link cannot be sent", "customer_id", who.ID)
	default:
		link := PortalLinkURL(s.Config.BaseURL, secret)
		until := time.Now().Add(ttl).UTC().Format("2006-01-02 15:04 UTC")
		if err := s.Notify(c.UserContext(), who.Email, w.T("portal_mail_subject"),
			w.T("portal_mail_body", "Name", who.Name, "Link", link, "Until", until)); err != nil {
			return err
		}
	}
	view.Sent = true
	return s.render(c, fiber.StatusOK, "portal.html", view)
}

// portalOpenLink signs a customer in with a link from a mail and takes them to the ticket it was
// about. A link that expired or never existed gets the form to ask for a new one. The route has
// no rate limit: a link is 256 random bits that nobody guesses, and a limit per address would
// lock out an office of customers behind one.
func (s *server) portalOpenLink(c *fiber.Ctx) error {
	token := strings.Clone(c.Params("token"))
	// The request log writes the path after the handler; a link is a password and must not
	// end up in the logs, so the path it sees is the route's, without the secret.
	c.Path(portalLinkPath + ":token")
	session, err := s.Desk.OpenPortalLink(c.UserContext(), token)
	w := s.wordsFor(c)
	switch {
	case errors.Is(err, tickets.ErrLinkExpired):
		return s.render(c, fiber.StatusGone, "portal.html", portalRequestView{Notice: w.T("portal_link_expired")})
	case errors.Is(err, tickets.ErrNotFound):
		return s.render(c, fiber.StatusNotFound, "portal.html", portalRequestView{Notice: w.T("portal_link_invalid")})
	case err != nil:
		return err
	}
	if old := c.Cookies(portalCookie); old != "" {
		if err := s.Desk.EndPortalSession(c.UserContext(), old); err != nil {
			return err
		}
	}
	s.setPortalCookie(c, session.Secret, session.ExpiresAt)
	s.Logger.Info("portal: signed in by link", "customer_id", session.CustomerID, "request_id", requestID(c))
	if session.TicketID != 0 {
		return c.Redirect("/portal/tickets/"+strconv.FormatInt(session.TicketID, 10), fiber.StatusSeeOther)
	}
	return c.Redirect("/portal/tickets", fiber.StatusSeeOther)
}

// portalLogout ends the portal session.
func (s *server) portalLogout(c *fiber.Ctx) error {
	if err := s.Desk.EndPortalSession(c.UserContext(), c.Cookies(portalCookie)); err != nil {
		return err
	}
	s.setPortalCookie(c, "", time.Unix(0, 0))
	return c.Redirect("/portal?out=1", fiber.StatusSeeOther)
}
