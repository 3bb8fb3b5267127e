package web

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/openhelpdesk/helpdesk/tickets"
)

type teamRow struct {
	tickets.Team
	Members    []tickets.User
	NonMembers []tickets.User
	Form       adminForm // the rename form, with its errors when it was the one sent
}

type teamsView struct {
	Teams []teamRow
	New   adminForm
	Flash string
}

// teamsPage shows the teams; failed is the team whose form came back with errors (0: the new
// team form, when form is set).
func (s *server) teamsPage(c *fiber.Ctx, status int, failed int64, form *adminForm) error {
	ctx := c.UserContext()
	teams, err := s.Staff.Teams(ctx)
	if err != nil {
		return err
	}
	users, err := s.Staff.Users(ctx)
	if err != nil {
		return err
	}
	view := teamsView{New: newAdminForm(), Flash: s.flash(c)}
	if form != nil && failed == 0 {
		view.New = *form
	}
	for _, t := range teams {
		row := teamRow{Team: t, Form: newAdminForm()}
		member := map[int64]bool{}
		for _, id := range t.MemberIDs {
			member[id] = true
		}
		for _, u := range users {
			switch {
			case member[u.ID]:
				row.Members = append(row.Members, u)
			case u.DisabledAt == nil:
				row.NonMembers = append(row.NonMembers, u)
			}
		}
		row.Form.Values["name"] = t.Name
		row.Form.Values["categories"] = strings.Join(t.Categories, ", ")
		if form != nil && failed == t.ID {
			row.Form = *form
		}
		view.Teams = append(view.Teams, row)
	}
	return s.render(c, status, "admin_teams.html", view)
}

func (s *server) adminTeams(c *fiber.Ctx) error { return s.teamsPage(c, fiber.StatusOK, 0, nil) }

func (s *server) adminCreateTeam(c *fiber.Ctx) error {
	form := newAdminForm()
	form.read(c, "name")
	if _, err := s.Staff.CreateTeam(c.UserContext(), tickets.StaffActor(currentUser(c).ID), form.Values["name"]); err != nil {
		if err := form.fail(s.wordsFor(c), err, "name"); err != nil {
			return err
		}
		return s.teamsPage(c, fiber.StatusUnprocessableEntity, 0, &form)
	}
	return done(c, "/admin/teams", "team_added")
}

// adminUpdateTeam renames a team and sets the categories it takes.
func (s *server) adminUpdateTeam(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	form := newAdminForm()
	form.read(c, "name", "categories")
	name, cats := form.Values["name"], splitList(form.Values["categories"])
	if _, err := s.Staff.UpdateTeam(c.UserContext(), tickets.StaffActor(currentUser(c).ID), id, &name, &cats); err != nil {
		if err := form.fail(s.wordsFor(c), err, "name", "categories"); err != nil {
			return err
		}
		return s.teamsPage(c, fiber.StatusUnprocessableEntity, id, &form)
	}
	return done(c, "/admin/teams", "team_saved")
}

func (s *server) adminAddTeamMember(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	userID, err := formID(c, "user_id")
	if err != nil {
		return err
	}
	if err := s.Staff.SetMember(c.UserContext(), tickets.StaffActor(currentUser(c).ID), id, userID, true); err != nil {
		return err
	}
	return done(c, "/admin/teams", "member_added")
}

func (s *server) adminRemoveTeamMember(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	userID, err := pathID(c, "user_id")
	if err != nil {
		return err
	}
	if err := s.Staff.SetMember(c.UserContext(), tickets.StaffActor(currentUser(c).ID), id, userID, false); err != nil {
		return err
	}
	return done(c, "/admin/teams", "member_removed")
}
