package web

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/tickets"
)

const userKey = "user"

// requireRole lets a request through when it carries a valid API token of a user whose role
// includes role. Missing or bad tokens get 401, a role too low gets 403.
func (s *server) requireRole(role tickets.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		header := c.Get(fiber.HeaderAuthorization)
		secret, ok := strings.CutPrefix(header, "Bearer ")
		if !ok || secret == "" {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="helpdesk"`)
			return &inputError{status: fiber.StatusUnauthorized, field: "Authorization", message: "send an API token as Authorization: Bearer <token>"}
		}
		user, err := s.Staff.Authenticate(c.UserContext(), strings.TrimSpace(secret))
		if errors.Is(err, tickets.ErrBadToken) {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="helpdesk", error="invalid_token"`)
			return &inputError{status: fiber.StatusUnauthorized, field: "Authorization", message: "the API token is invalid or revoked"}
		}
		if err != nil {
			return err
		}
		c.Locals(userKey, user)
		if !user.Role.Includes(role) {
			return &inputError{status: fiber.StatusForbidden, field: "Authorization", message: "this needs the " + string(role) + " role"}
		}
		return c.Next()
	}
}

// currentUser is the authenticated member of staff, or nil on public routes.
func currentUser(c *fiber.Ctx) *tickets.User {
	u, _ := c.Locals(userKey).(*tickets.User)
	return u
}
