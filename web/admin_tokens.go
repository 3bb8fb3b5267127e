package web

import (
	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/tickets"
)

type tokensView struct {
	Tokens []tickets.TokenInfo
	Users  []tickets.User
	Form   adminForm
	Flash  string
}

func (s *server) tokensPage(c *fiber.Ctx, status int, form adminForm) error {
	tokens, err := s.Staff.Tokens(c.UserContext())
	if err != nil {
		return err
	}
	users, err := s.Staff.Users(c.UserContext())
	if err != nil {
		return err
	}
	active := users[:0]
	for _, u := range users {
		if u.DisabledAt == nil {
			active = append(active, u)
		}
	}
	return s.render(c, status, "admin_tokens.html", tokensView{Tokens: tokens, Users: active, Form: form, Flash: s.flash(c)})
}

func (s *server) adminTokens(c *fiber.Ctx) error {
	form := newAdminForm()
	return s.tokensPage(c, fiber.StatusOK, form)
}

// adminCreateToken issues a token for a user. Its secret is on this one answer and nowhere else:
// not stored, not logged, not behind a link, and the page may not be cached.
func (s *server) adminCreateToken(c *fiber.Ctx) error {
	w := s.wordsFor(c)
	form := newAdminForm()
	form.read(c, "user_id", "name")
	userID, err := formID(c, "user_id")
	if err != nil {
		form.Errors["user_id"] = w.T("admin_err_choose")
		form.Notice = w.T("admin_fix_fields")
		return s.tokensPage(c, fiber.StatusUnprocessableEntity, form)
	}
	owner, err := s.Staff.User(c.UserContext(), userID)
	if err == nil && owner.DisabledAt != nil {
		err = &tickets.ValidationError{Fields: []tickets.FieldError{{Field: "user_id", Message: "this user is deactivated"}}}
	}
	var secret string
	var tok *tickets.APIToken
	if err == nil {
		secret, tok, err = s.Staff.CreateToken(c.UserContext(), tickets.StaffActor(currentUser(c).ID), userID, form.Values["name"])
	}
	if err != nil {
		if err == tickets.ErrNotFound {
			err = &tickets.ValidationError{Fields: []tickets.FieldError{{Field: "user_id", Message: "no such user"}}}
		}
		if err := form.fail(w, err, "user_id", "name"); err != nil {
			return err
		}
		return s.tokensPage(c, fiber.StatusUnprocessableEntity, form)
	}
	s.Logger.Info("admin: API token created", "token_id", tok.ID, "user_id", userID, "by", currentUser(c).ID)
	return s.render(c, fiber.StatusCreated, "admin_token_created.html", fiber.Map{"Secret": secret, "Token": tok, "Owner": owner})
}

func (s *server) adminRevokeToken(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := s.Staff.RevokeToken(c.UserContext(), tickets.StaffActor(currentUser(c).ID), id); err != nil {
		return err
	}
	return done(c, "/admin/tokens", "token_revoked")
}
