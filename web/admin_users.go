package web

import (
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// userRow is one line of the users table.
type userRow struct {
	tickets.User
	Teams []string
}

type usersView struct {
	Users []userRow
	Roles []tickets.Role
	Form  adminForm // the add-user form
	Flash string
}

var roles = []tickets.Role{tickets.RoleAgent, tickets.RoleSupervisor, tickets.RoleAdmin}

// newUserInputs are the add-user form's inputs, named as the domain names its fields.
var newUserInputs = []string{"name", "email", "role", "password"}

func (s *server) usersPage(c *fiber.Ctx, status int, form adminForm) error {
	ctx := c.UserContext()
	users, err := s.Staff.Users(ctx)
	if err != nil {
		return err
	}
	teams, err := s.Staff.Teams(ctx)
	if err != nil {
		return err
	}
	teamsOf := map[int64][]string{}
	for _, t := range teams {
		for _, id := range t.MemberIDs {
			teamsOf[id] = append(teamsOf[id], t.Name)
		}
	}
	view := usersView{Roles: roles, Form: form, Flash: s.flash(c)}
	for _, u := range users {
		view.Users = append(view.Users, userRow{User: u, Teams: teamsOf[u.ID]})
	}
	return s.render(c, status, "admin_users.html", view)
}

func (s *server) adminUsers(c *fiber.Ctx) error {
	form := newAdminForm()
	form.Values["role"] = string(tickets.RoleAgent)
	form.Values["send_link"] = "on"
	return s.usersPage(c, fiber.StatusOK, form)
}

// adminCreateUser adds a member of staff with a password, or without one and a link by email
// to set it, as the forgotten-password page sends.
func (s *server) adminCreateUser(c *fiber.Ctx) error {
	w := s.wordsFor(c)
	form := newAdminForm()
	form.read(c, "name", "email", "role", "send_link")
	password := c.FormValue("password")
	sendLink := form.Values["send_link"] != ""
	if password == "" && !sendLink {
		form.Errors["password"] = w.T("admin_user_password_or_link")
	}
	if sendLink && password != "" {
		form.Errors["password"] = w.T("admin_user_password_and_link")
	}
	if form.invalid() {
		form.Notice = w.T("admin_fix_fields")
		return s.usersPage(c, fiber.StatusUnprocessableEntity, form)
	}
	me := currentUser(c)
	u, err := s.Staff.CreateUser(c.UserContext(), tickets.StaffActor(me.ID), tickets.NewUser{
		Email: form.Values["email"], Name: form.Values["name"], Role: tickets.Role(form.Values["role"]), Password: password,
	})
	if err != nil {
		if err := form.fail(w, err, newUserInputs...); err != nil {
			return err
		}
		return s.usersPage(c, fiber.StatusUnprocessableEntity, form)
	}
	if !sendLink {
		return done(c, "/admin/users", "user_added")
	}
	secret, _, err := s.Staff.StartPasswordReset(c.UserContext(), u.Email)
	if err != nil {
		return err
	}
	if s.Notify == nil {
		s.Logger.Warn("admin: new user: no mail configured; the set-password link cannot be sent", "user_id", u.ID)
		return done(c, "/admin/users", "user_added_no_mail")
	}
	link := s.Config.BaseURL + "/password/reset?token=" + url.QueryEscape(secret)
	uw := s.words.forRequest(u.Locale, c.Get(fiber.HeaderAcceptLanguage))
	if err := s.Notify(c.UserContext(), u.Email, uw.T("admin_welcome_subject"), uw.T("admin_welcome_body", "Name", u.Name, "Link", link)); err != nil {
		// The user exists; they can still ask for a link from the sign-in page.
		s.Logger.Warn("admin: new user: the set-password link could not be sent", "user_id", u.ID, "error", err, "request_id", requestID(c))
		return done(c, "/admin/users", "user_added_mail_failed")
	}
	return done(c, "/admin/users", "user_added_link")
}

type userEditView struct {
	User  *tickets.User
	Roles []tickets.Role
	Form  adminForm
	Self  bool
}

var userEditInputs = []string{"name", "role", "categories", "languages", "max_active_tickets", "handles_vip", "disabled"}

func (s *server) adminUser(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	u, err := s.Staff.User(c.UserContext(), id)
	if err != nil {
		return err
	}
	form := newAdminForm()
	form.Values = map[string]string{
		"name": u.Name, "role": string(u.Role), "categories": strings.Join(u.Categories, ", "),
		"languages": strings.Join(u.Languages, ", "), "max_active_tickets": strconv.Itoa(u.MaxActiveTickets),
	}
	if u.HandlesVIP {
		form.Values["handles_vip"] = "on"
	}
	if u.DisabledAt == nil {
		form.Values["active"] = "on"
	}
	return s.render(c, fiber.StatusOK, "admin_user.html", userEditView{User: u, Roles: roles, Form: form, Self: u.ID == currentUser(c).ID})
}

// adminUpdateUser saves the edit form: role, routing settings and whether the user is active.
func (s *server) adminUpdateUser(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	u, err := s.Staff.User(c.UserContext(), id)
	if err != nil {
		return err
	}
	w := s.wordsFor(c)
	me := currentUser(c)
	form := newAdminForm()
	form.read(c, "name", "role", "categories", "languages", "max_active_tickets", "handles_vip", "active")
	maxActive := formInt(&form, w, "max_active_tickets", 0)
	name, role := form.Values["name"], tickets.Role(form.Values["role"])
	langs, cats := splitList(form.Values["languages"]), splitList(form.Values["categories"])
	vip, disabled := form.Values["handles_vip"] != "", form.Values["active"] == ""
	view := userEditView{User: u, Roles: roles, Form: form, Self: u.ID == me.ID}
	if form.invalid() {
		view.Form.Notice = w.T("admin_fix_fields")
		return s.render(c, fiber.StatusUnprocessableEntity, "admin_user.html", view)
	}
	saved, err := s.Staff.UpdateUser(c.UserContext(), tickets.StaffActor(me.ID), id, tickets.UserChange{
		Name: &name, Role: &role, Languages: &langs, Categories: &cats, MaxActiveTickets: &maxActive,
		HandlesVIP: &vip, Disabled: &disabled,
	})
	if err != nil {
		var conflict *tickets.ConflictError
		if errors.As(err, &conflict) && conflict.Field == "disabled" {
			// The checkbox is "active"; the domain speaks of disabling.
			conflict.Field = "active"
		}
		if err := view.Form.fail(w, err, append(userEditInputs, "active")...); err != nil {
			return err
		}
		return s.render(c, fiber.StatusUnprocessableEntity, "admin_user.html", view)
	}
	// With more room or new skills, the user takes what waits in the team queues, as the API does.
	if saved.Available && saved.DisabledAt == nil {
		if _, err := s.Desk.AssignQueued(c.UserContext(), saved.ID); err != nil {
			return err
		}
	}
	if saved.ID == me.ID && saved.Role != tickets.RoleAdmin {
		// No longer an admin: the admin pages are closed to them now.
		return c.Redirect("/desk", fiber.StatusSeeOther)
	}
	return done(c, "/admin/users", "user_saved")
}
