package web

import (
	"mime"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/tickets"
)

func (s *server) apiGetCustomer(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	rec, err := s.Customers.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(newCustomerJSON(rec))
}

// apiFindCustomer looks a customer up by email address and answers with their record.
func (s *server) apiFindCustomer(c *fiber.Ctx) error {
	email := c.Query("email")
	if email == "" {
		return badRequest("email", "is required: GET /api/v1/customers?email=ana@example.com")
	}
	id, err := s.Customers.FindByEmail(c.UserContext(), email)
	if err != nil {
		return err
	}
	rec, err := s.Customers.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(newCustomerJSON(rec))
}

func (s *server) apiMe(c *fiber.Ctx) error {
	return c.JSON(newUserJSON(currentUser(c)))
}

func (s *server) apiListUsers(c *fiber.Ctx) error {
	users, err := s.Staff.Users(c.UserContext())
	if err != nil {
		return err
	}
	out := make([]userJSON, len(users))
	for i := range users {
		out[i] = newUserJSON(&users[i])
	}
	return c.JSON(fiber.Map{"items": out})
}

type createUserRequest struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	Password string `json:"password"`
}

func (s *server) apiCreateUser(c *fiber.Ctx) error {
	var req createUserRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	u, err := s.Staff.CreateUser(c.UserContext(), tickets.StaffActor(currentUser(c).ID), tickets.NewUser{
		Email: req.Email, Name: req.Name, Role: tickets.Role(req.Role), Password: req.Password,
	})
	if err != nil {
		return err
	}
	c.Location("/api/v1/users/" + strconv.FormatInt(u.ID, 10))
	return c.Status(fiber.StatusCreated).JSON(newUserJSON(u))
}

func (s *server) apiListTeams(c *fiber.Ctx) error {
	teams, err := s.Staff.Teams(c.UserContext())
	if err != nil {
		return err
	}
	out := make([]teamJSON, len(teams))
	for i := range teams {
		out[i] = newTeamJSON(&teams[i])
	}
	return c.JSON(fiber.Map{"items": out})
}

type createTeamRequest struct {
	Name string `json:"name"`
}

func (s *server) apiCreateTeam(c *fiber.Ctx) error {
	var req createTeamRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	t, err := s.Staff.CreateTeam(c.UserContext(), tickets.StaffActor(currentUser(c).ID), req.Name)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(newTeamJSON(t))
}

func (s *server) apiAddTeamMember(c *fiber.Ctx) error    { return s.setTeamMember(c, true) }
func (s *server) apiRemoveTeamMember(c *fiber.Ctx) error { return s.setTeamMember(c, false) }

func (s *server) setTeamMember(c *fiber.Ctx, member bool) error {
	teamID, err := pathID(c, "id")
	if err != nil {
		return err
	}
	userID, err := pathID(c, "user_id")
	if err != nil {
		return err
	}
	if err := s.Staff.SetMember(c.UserContext(), tickets.StaffActor(currentUser(c).ID), teamID, userID, member); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

type createTokenRequest struct {
	Name string `json:"name"`
}

type tokenJSON struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Token     string    `json:"token,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// apiCreateToken issues a new token for the caller, so that tokens can be rotated without the
// command line. The secret is in this response and nowhere else, ever.
func (s *server) apiCreateToken(c *fiber.Ctx) error {
	var req createTokenRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	me := currentUser(c)
	secret, tok, err := s.Staff.CreateToken(c.UserContext(), tickets.StaffActor(me.ID), me.ID, req.Name)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(tokenJSON{ID: tok.ID, Name: tok.Name, Token: secret, CreatedAt: tok.CreatedAt.UTC()})
}

// apiRevokeToken revokes one of the caller's tokens; admins may revoke anyone's. Someone else's
// token looks the same as a missing one, so ids reveal nothing.
func (s *server) apiRevokeToken(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	me := currentUser(c)
	tok, err := s.Staff.Token(c.UserContext(), id)
	if err != nil {
		return err
	}
	if tok.UserID != me.ID && !me.Role.Includes(tickets.RoleAdmin) {
		return tickets.ErrNotFound
	}
	if err := s.Staff.RevokeToken(c.UserContext(), tickets.StaffActor(me.ID), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// contentDisposition names a download, with RFC 2231 encoding for names that are not ASCII.
func contentDisposition(filename string) string {
	v := mime.FormatMediaType("attachment", map[string]string{"filename": filename})
	if v == "" {
		return "attachment"
	}
	return v
}
