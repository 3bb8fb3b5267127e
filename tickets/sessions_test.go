package tickets_test

import (
	"context"
	"errors"
	"testing"

	"github.com/openhelpdesk/helpdesk/tickets"
)

func TestPasswordsAndSessions(t *testing.T) {
	ctx := context.Background()
	staff := tickets.NewStaff(db)
	addr := email("signin")
	u, err := staff.CreateUser(ctx, tickets.SystemActor, tickets.NewUser{Email: addr, Name: "Sign In", Role: tickets.RoleAgent, Password: "a good long password"})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct{ email, password string }{
		{addr, "a wrong long password"}, {"nobody@example.com", "a good long password"}, {addr, ""},
	} {
		if _, err := staff.CheckPassword(ctx, bad.email, bad.password); !errors.Is(err, tickets.ErrBadCredentials) {
			t.Errorf("%v: %v", bad, err)
		}
	}
	got, err := staff.CheckPassword(ctx, "  "+addr+" ", "a good long password")
	if err != nil || got.ID != u.ID {
		t.Fatalf("right password: %v %v", got, err)
	}
	secret, err := staff.StartSession(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if su, err := staff.SessionUser(ctx, secret); err != nil || su.ID != u.ID {
		t.Fatalf("session: %v %v", su, err)
	}
	if _, err := staff.SessionUser(ctx, secret+"x"); !errors.Is(err, tickets.ErrNoSession) {
		t.Errorf("forged session: %v", err)
	}
	// A password change signs the user out everywhere.
	if err := staff.SetPassword(ctx, tickets.StaffActor(u.ID), u.ID, "another long password"); err != nil {
		t.Fatal(err)
	}
	if _, err := staff.SessionUser(ctx, secret); !errors.Is(err, tickets.ErrNoSession) {
		t.Errorf("session after password change: %v", err)
	}
	if err := staff.SetPassword(ctx, tickets.StaffActor(u.ID), u.ID, "short"); fieldOf(t, err) != "password" {
		t.Errorf("short password: %v", err)
	}
	// Sign-out, and disabling, end sessions.
	secret, _ = staff.StartSession(ctx, u.ID)
	if err := staff.EndSession(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if _, err := staff.SessionUser(ctx, secret); !errors.Is(err, tickets.ErrNoSession) {
		t.Errorf("after sign-out: %v", err)
	}
	secret, _ = staff.StartSession(ctx, u.ID)
	disabled := true
	if _, err := staff.UpdateUser(ctx, tickets.SystemActor, u.ID, tickets.UserChange{Disabled: &disabled}); err != nil {
		t.Fatal(err)
	}
	if _, err := staff.SessionUser(ctx, secret); !errors.Is(err, tickets.ErrNoSession) {
		t.Errorf("disabled user's session: %v", err)
	}
	if _, err := staff.CheckPassword(ctx, addr, "another long password"); !errors.Is(err, tickets.ErrBadCredentials) {
		t.Errorf("disabled user's password: %v", err)
	}
}

func TestPasswordReset(t *testing.T) {
	ctx := context.Background()
	staff := tickets.NewStaff(db)
	addr := email("reset")
	u, _ := staff.CreateUser(ctx, tickets.SystemActor, tickets.NewUser{Email: addr, Name: "Reset", Role: tickets.RoleAgent, Password: "the first password"})
	if _, _, err := staff.StartPasswordReset(ctx, "nobody.here@example.com"); !errors.Is(err, tickets.ErrNotFound) {
		t.Errorf("unknown address: %v", err)
	}
	secret, who, err := staff.StartPasswordReset(ctx, addr)
	if err != nil || who.ID != u.ID {
		t.Fatalf("%v %v", who, err)
	}
	if _, err := staff.ResetPassword(ctx, secret, "tiny"); fieldOf(t, err) != "password" {
		t.Errorf("short new password: %v", err)
	}
	if _, err := staff.ResetPassword(ctx, secret, "the second password"); err != nil {
		t.Fatal(err)
	}
	if _, err := staff.CheckPassword(ctx, addr, "the second password"); err != nil {
		t.Errorf("new password: %v", err)
	}
	if _, err := staff.ResetPassword(ctx, secret, "the third password!"); fieldOf(t, err) != "token" {
		t.Errorf("second use of the link: %v", err)
	}
	db.Exec(`UPDATE password_resets SET expires_at = now() - interval '1 minute' WHERE user_id = ?`, u.ID)
	secret2, _, _ := staff.StartPasswordReset(ctx, addr)
	db.Exec(`UPDATE password_resets SET expires_at = now() - interval '1 minute' WHERE user_id = ?`, u.ID)
	if _, err := staff.ResetPassword(ctx, secret2, "the third password!"); fieldOf(t, err) != "token" {
		t.Errorf("expired link: %v", err)
	}
}
