package tickets_test

import (
	"context"
	"errors"
	"testing"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// The last active admin can neither step down nor be disabled; with another admin, both work.
// The test runs in a transaction that it rolls back, so that it can pretend to be the only
// admin without disturbing other tests' users.
func TestLastAdminStays(t *testing.T) {
	ctx := context.Background()
	tx := db.Begin()
	defer tx.Rollback()
	staff := tickets.NewStaff(tx)
	if err := tx.Exec(`UPDATE users SET disabled_at = now() WHERE role = 'admin' AND disabled_at IS NULL`).Error; err != nil {
		t.Fatal(err)
	}
	// With no admin at all, changes to others are not held back.
	other, err := staff.CreateUser(ctx, tickets.SystemActor, tickets.NewUser{Email: email("other"), Name: "Other Agent", Role: tickets.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	off := true
	if _, err := staff.UpdateUser(ctx, tickets.SystemActor, other.ID, tickets.UserChange{Disabled: &off}); err != nil {
		t.Fatalf("disabling an agent while there is no admin: %v", err)
	}
	only, err := staff.CreateUser(ctx, tickets.SystemActor, tickets.NewUser{Email: email("only"), Name: "Only Admin", Role: tickets.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	agent := tickets.RoleAgent
	yes := true
	var conflict *tickets.ConflictError
	if _, err := staff.UpdateUser(ctx, tickets.StaffActor(only.ID), only.ID, tickets.UserChange{Role: &agent}); !errors.As(err, &conflict) || conflict.Field != "role" {
		t.Fatalf("the last admin demoted themselves: %v", err)
	}
	if _, err := staff.UpdateUser(ctx, tickets.StaffActor(only.ID), only.ID, tickets.UserChange{Disabled: &yes}); !errors.As(err, &conflict) || conflict.Field != "disabled" {
		t.Fatalf("the last admin disabled themselves: %v", err)
	}
	if u, _ := staff.User(ctx, only.ID); u.Role != tickets.RoleAdmin || u.DisabledAt != nil {
		t.Fatalf("the refused change was kept: %+v", u)
	}
	// Other changes to the last admin still work.
	n := 3
	if _, err := staff.UpdateUser(ctx, tickets.StaffActor(only.ID), only.ID, tickets.UserChange{MaxActiveTickets: &n}); err != nil {
		t.Fatalf("an unrelated change: %v", err)
	}

	second, err := staff.CreateUser(ctx, tickets.SystemActor, tickets.NewUser{Email: email("second"), Name: "Second Admin", Role: tickets.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := staff.UpdateUser(ctx, tickets.StaffActor(only.ID), only.ID, tickets.UserChange{Role: &agent}); err != nil {
		t.Fatalf("with a second admin, stepping down: %v", err)
	}
	if _, err := staff.UpdateUser(ctx, tickets.StaffActor(second.ID), second.ID, tickets.UserChange{Disabled: &yes}); !errors.As(err, &conflict) {
		t.Fatalf("now the second is the last: %v", err)
	}
}

func TestTokensListsOwners(t *testing.T) {
	ctx := context.Background()
	staff := tickets.NewStaff(db)
	u := newAgent(t, tickets.RoleAgent)
	_, tok, err := staff.CreateToken(ctx, tickets.SystemActor, u.ID, "ci")
	if err != nil {
		t.Fatal(err)
	}
	list, err := staff.Tokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range list {
		if x.ID == tok.ID {
			if x.UserEmail != u.Email || x.Name != "ci" || x.RevokedAt != nil {
				t.Errorf("token = %+v", x)
			}
			return
		}
	}
	t.Fatal("the new token is not listed")
}
