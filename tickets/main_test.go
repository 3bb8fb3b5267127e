package tickets_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"

	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/internal/database"
	"github.com/openhelpdesk/helpdesk/internal/testdb"
	"github.com/openhelpdesk/helpdesk/tickets"
)

var (
	db *gorm.DB
	// dsnForBench is the test database, for benchmarks that bulk-load it.
	dsnForBench string
)

func TestMain(m *testing.M) {
	os.Exit(testdb.Main(m, func(dsn string) error {
		dsnForBench = dsn
		var err error
		db, err = database.Open(context.Background(), dsn, database.Options{Logger: slog.New(slog.DiscardHandler)})
		return err
	}))
}

var unique atomic.Int64

// email returns an address no other test uses, so tests can share one database.
func email(prefix string) string {
	return fmt.Sprintf("%s.%d@example.com", prefix, unique.Add(1))
}

func newAgent(t *testing.T, role tickets.Role) *tickets.User {
	t.Helper()
	u, err := tickets.NewStaff(db).CreateUser(context.Background(), tickets.SystemActor, tickets.NewUser{
		Email: email("agent"), Name: "Agent " + string(role), Role: role,
	})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func newTeam(t *testing.T, members ...*tickets.User) *tickets.Team {
	t.Helper()
	staff := tickets.NewStaff(db)
	team, err := staff.CreateTeam(context.Background(), tickets.SystemActor, fmt.Sprintf("Team %d", unique.Add(1)))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if err := staff.SetMember(context.Background(), tickets.SystemActor, team.ID, m.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	return team
}

func newTicket(t *testing.T, desk *tickets.Desk, customerEmail string) *tickets.Ticket {
	t.Helper()
	tk, err := desk.Intake(context.Background(), tickets.NewTicket{
		Channel:  tickets.ChannelWeb,
		Customer: tickets.CustomerContact{Email: customerEmail, Name: "Lucía García"},
		Subject:  "Cannot log in",
		Body:     "The login page says my password is wrong.",
	})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func eventTypes(t *testing.T, ticketID int64) []string {
	t.Helper()
	var types []string
	if err := db.Raw(`SELECT type FROM events WHERE ticket_id = ? ORDER BY id`, ticketID).Scan(&types).Error; err != nil {
		t.Fatal(err)
	}
	return types
}

func fieldOf(t *testing.T, err error) string {
	t.Helper()
	var v *tickets.ValidationError
	if !asValidation(err, &v) {
		t.Fatalf("want a validation error, got %v", err)
	}
	return v.Fields[0].Field
}
