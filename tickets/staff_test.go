package tickets_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/openhelpdesk/helpdesk/tickets"
)

func TestCreateUserValidatesAndRefusesDuplicates(t *testing.T) {
	ctx := context.Background()
	staff := tickets.NewStaff(db)
	addr := email("Admin")
	u, err := staff.CreateUser(ctx, tickets.SystemActor, tickets.NewUser{Email: addr, Name: " Ada  Admin ", Role: tickets.RoleAdmin, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "Ada Admin" || u.Email != strings.ToLower(addr) || u.PasswordHash == nil {
		t.Fatalf("user = %+v", u)
	}
	if bcrypt.CompareHashAndPassword([]byte(*u.PasswordHash), []byte("correct horse battery")) != nil {
		t.Error("stored hash does not match the password")
	}
	var conflict *tickets.ConflictError
	if _, err := staff.CreateUser(ctx, tickets.SystemActor, tickets.NewUser{Email: strings.ToUpper(addr), Name: "Other", Role: tickets.RoleAgent}); !errors.As(err, &conflict) || conflict.Field != "email" {
		t.Errorf("duplicate email: %v", err)
	}
	_, err = staff.CreateUser(ctx, tickets.SystemActor, tickets.NewUser{Email: "x", Role: "boss", Password: "short"})
	var v *tickets.ValidationError
	if !errors.As(err, &v) {
		t.Fatal(err)
	}
	for _, f := range []string{"email", "name", "role", "password"} {
		if v.Message(f) == "" {
			t.Errorf("no error for %s: %v", f, err)
		}
	}
}

func TestTokensAuthenticateUntilRevoked(t *testing.T) {
	ctx := context.Background()
	staff := tickets.NewStaff(db)
	u := newAgent(t, tickets.RoleSupervisor)
	secret, tok, err := staff.CreateToken(ctx, tickets.SystemActor, u.ID, "ci")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "hd_") || len(secret) < 40 {
		t.Errorf("secret %q", secret)
	}
	var stored int64
	db.Raw(`SELECT count(*) FROM api_tokens WHERE token_hash::text LIKE ?`, "%"+secret[3:]+"%").Scan(&stored)
	if stored != 0 {
		t.Error("the token's secret is stored")
	}
	got, err := staff.Authenticate(ctx, secret)
	if err != nil || got.ID != u.ID || got.Role != tickets.RoleSupervisor {
		t.Fatalf("authenticate: %+v %v", got, err)
	}
	for _, bad := range []string{"", "hd_", secret + "x", "Bearer " + secret, strings.ToUpper(secret)} {
		if _, err := staff.Authenticate(ctx, bad); !errors.Is(err, tickets.ErrBadToken) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if err := staff.RevokeToken(ctx, tickets.StaffActor(u.ID), tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := staff.Authenticate(ctx, secret); !errors.Is(err, tickets.ErrBadToken) {
		t.Errorf("revoked token: %v", err)
	}
	if err := staff.RevokeToken(ctx, tickets.StaffActor(u.ID), tok.ID); !errors.Is(err, tickets.ErrNotFound) {
		t.Errorf("second revoke: %v", err)
	}

	// A disabled user's tokens stop working too.
	secret2, _, _ := staff.CreateToken(ctx, tickets.SystemActor, u.ID, "other")
	db.Exec(`UPDATE users SET disabled_at = now() WHERE id = ?`, u.ID)
	if _, err := staff.Authenticate(ctx, secret2); !errors.Is(err, tickets.ErrBadToken) {
		t.Errorf("disabled user: %v", err)
	}
}

func TestTeamsAndMembers(t *testing.T) {
	ctx := context.Background()
	staff := tickets.NewStaff(db)
	a, b := newAgent(t, tickets.RoleAgent), newAgent(t, tickets.RoleAgent)
	team := newTeam(t, a, b)
	if err := staff.SetMember(ctx, tickets.SystemActor, team.ID, a.ID, true); err != nil {
		t.Errorf("adding an existing member: %v", err)
	}
	if err := staff.SetMember(ctx, tickets.SystemActor, team.ID, b.ID, false); err != nil {
		t.Fatal(err)
	}
	teams, err := staff.Teams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range teams {
		if tm.ID == team.ID && (len(tm.MemberIDs) != 1 || tm.MemberIDs[0] != a.ID) {
			t.Errorf("members = %v, want [%d]", tm.MemberIDs, a.ID)
		}
	}
	if err := staff.SetMember(ctx, tickets.SystemActor, 1<<40, a.ID, true); !errors.Is(err, tickets.ErrNotFound) {
		t.Errorf("unknown team: %v", err)
	}
	if err := staff.SetMember(ctx, tickets.SystemActor, team.ID, 1<<40, true); fieldOf(t, err) != "user_id" {
		t.Errorf("unknown user: %v", err)
	}
	var conflict *tickets.ConflictError
	if _, err := staff.CreateTeam(ctx, tickets.SystemActor, strings.ToUpper(team.Name)); !errors.As(err, &conflict) {
		t.Errorf("duplicate team name: %v", err)
	}
	var memberEvents int64
	db.Raw(`SELECT count(*) FROM events WHERE type IN ('team.member_added', 'team.member_removed') AND (data->>'team_id')::bigint = ?`, team.ID).Scan(&memberEvents)
	if memberEvents != 3 {
		t.Errorf("membership events = %d, want 3 (two adds, one removal; the repeated add records nothing)", memberEvents)
	}
}

func TestRoles(t *testing.T) {
	cases := []struct {
		r, other tickets.Role
		want     bool
	}{
		{"admin", "agent", true}, {"admin", "admin", true}, {"supervisor", "agent", true},
		{"supervisor", "admin", false}, {"agent", "supervisor", false}, {"agent", "agent", true},
		{"agent", "", false}, {"", "agent", false},
	}
	for _, c := range cases {
		if got := c.r.Includes(c.other); got != c.want {
			t.Errorf("%q includes %q = %v", c.r, c.other, got)
		}
	}
}
