package tickets_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// Hooks see every change of a unit of work, inside its transaction, and can veto it.
func TestHooksSeeChangesInTheirTransaction(t *testing.T) {
	ctx := context.Background()
	desk := tickets.NewDesk(db, tickets.Limits{})
	var seen [][]string
	desk.AddHook(func(ctx context.Context, tx *gorm.DB, changes []tickets.Change) error {
		var types []string
		for _, c := range changes {
			types = append(types, c.Type)
			// The change is visible inside the transaction.
			var n int64
			if c.TicketID != 0 {
				tx.Raw(`SELECT count(*) FROM tickets WHERE id = ?`, c.TicketID).Scan(&n)
				if n != 1 {
					t.Errorf("%s: ticket %d not visible to the hook", c.Type, c.TicketID)
				}
			}
		}
		seen = append(seen, types)
		return nil
	})
	ag := newAgent(t, tickets.RoleAgent)
	tk := newTicket(t, desk, email("hook"))
	pending := tickets.StatusPending
	if _, err := desk.AddStaffMessage(ctx, tk.ID, tickets.StaffMessage{Kind: tickets.MessageReply, AuthorID: ag.ID, Body: "hi", Status: &pending}); err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"customer.created", "ticket.created"},
		{"message.added", "ticket.status_changed"},
	}
	if len(seen) != len(want) || !slices.Equal(seen[0], want[0]) || !slices.Equal(seen[1], want[1]) {
		t.Errorf("hook saw %v, want %v", seen, want)
	}

	// A hook's error undoes the whole unit of work.
	veto := errors.New("the outbox is full")
	desk.AddHook(func(context.Context, *gorm.DB, []tickets.Change) error { return veto })
	open := tickets.StatusOpen
	if _, err := desk.Update(ctx, tk.ID, tickets.StaffActor(ag.ID), tickets.TicketChange{Status: &open}); !errors.Is(err, veto) {
		t.Fatalf("update with a failing hook: %v", err)
	}
	if d, _ := desk.Get(ctx, tk.ID); d.Status != tickets.StatusPending {
		t.Errorf("status = %s after a vetoed change, want pending", d.Status)
	}
	if slices.Contains(eventTypes(t, tk.ID)[3:], tickets.EventStatusChanged) {
		t.Error("a vetoed change left an event")
	}
}

func TestCloseSolvedReachesHooks(t *testing.T) {
	ctx := context.Background()
	desk := tickets.NewDesk(db, tickets.Limits{})
	ag := newAgent(t, tickets.RoleAgent)
	tk := newTicket(t, desk, email("hookclose"))
	solved := tickets.StatusSolved
	if _, err := desk.Update(ctx, tk.ID, tickets.StaffActor(ag.ID), tickets.TicketChange{Status: &solved}); err != nil {
		t.Fatal(err)
	}
	db.Exec(`UPDATE tickets SET solved_at = now() - interval '10 days' WHERE id = ?`, tk.ID)
	var closed []int64
	desk.AddHook(func(_ context.Context, _ *gorm.DB, changes []tickets.Change) error {
		for _, c := range changes {
			if c.Type == tickets.EventStatusChanged && c.Actor.Kind == "system" && c.Data["to"] == tickets.StatusClosed {
				closed = append(closed, c.TicketID)
			}
		}
		return nil
	})
	for {
		n, err := desk.CloseSolved(ctx, 96*time.Hour, 100)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	if !slices.Contains(closed, tk.ID) {
		t.Errorf("hook saw closes %v, not %d", closed, tk.ID)
	}
}

// A channel's own records commit with the ticket or not at all.
func TestOnStoredRunsInTheIntakeTransaction(t *testing.T) {
	ctx := context.Background()
	desk := tickets.NewDesk(db, tickets.Limits{})
	addr := email("onstored")
	var sawTicket, sawMessage int64
	fail := errors.New("mailbox checkpoint failed")
	_, err := desk.Intake(ctx, tickets.NewTicket{
		Channel: tickets.ChannelEmail, Customer: tickets.CustomerContact{Email: addr}, Subject: "s", Body: "b",
		OnStored: func(tx *gorm.DB, tk *tickets.Ticket, m *tickets.Message) error {
			sawTicket, sawMessage = tk.ID, m.ID
			return fail
		},
	})
	if !errors.Is(err, fail) || sawTicket == 0 || sawMessage == 0 {
		t.Fatalf("err %v, saw ticket %d message %d", err, sawTicket, sawMessage)
	}
	var n int64
	db.Raw(`SELECT count(*) FROM tickets WHERE id = ?`, sawTicket).Scan(&n)
	if n != 0 {
		t.Error("the ticket survived its channel's failure")
	}
	if _, err := tickets.NewCustomers(db).FindByEmail(ctx, addr); !errors.Is(err, tickets.ErrNotFound) {
		t.Errorf("the customer survived: %v", err)
	}

	tk := newTicket(t, desk, addr)
	_, err = desk.AddCustomerMessage(ctx, tk.ID, tickets.CustomerMessage{
		CustomerID: tk.CustomerID, Body: "again",
		OnStored: func(*gorm.DB, *tickets.Ticket, *tickets.Message) error { return fail },
	})
	if !errors.Is(err, fail) {
		t.Fatal(err)
	}
	if d, _ := desk.Get(ctx, tk.ID); len(d.Messages) != 1 {
		t.Errorf("messages = %d, want the failed one gone", len(d.Messages))
	}
}

// The desk runs at most MaxWriters units of work at once and lets the others in first come, first
// served; one that gives up waiting writes nothing.
func TestUnitsOfWorkTakeTurns(t *testing.T) {
	desk := tickets.NewDesk(db, tickets.Limits{MaxWriters: 1})
	hold := make(chan struct{})
	entered := make(chan string, 4)
	desk.AddHook(func(_ context.Context, _ *gorm.DB, changes []tickets.Change) error {
		for _, c := range changes {
			if c.Type == tickets.EventTicketCreated {
				subject, _ := c.Data["subject"].(string)
				entered <- subject
				if subject == "first" {
					<-hold
				}
			}
		}
		return nil
	})
	open := func(ctx context.Context, subject string) error {
		_, err := desk.Intake(ctx, tickets.NewTicket{Channel: tickets.ChannelAPI,
			Customer: tickets.CustomerContact{Email: email("turns")}, Subject: subject, Body: "b"})
		return err
	}
	done := make(chan error, 3)
	go func() { done <- open(context.Background(), "first") }()
	if got := <-entered; got != "first" {
		t.Fatalf("%s ran first", got)
	}
	// These queue, in this order, while the first holds the only turn.
	go func() { done <- open(context.Background(), "second") }()
	time.Sleep(100 * time.Millisecond)
	impatient, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() { gaveUp <- open(impatient, "impatient") }()
	time.Sleep(100 * time.Millisecond)
	go func() { done <- open(context.Background(), "third") }()
	time.Sleep(100 * time.Millisecond)
	select {
	case got := <-entered:
		t.Fatalf("%s ran beside the first", got)
	default:
	}

	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Errorf("a unit that stopped waiting: %v", err)
	}
	close(hold)
	for range 3 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	close(entered)
	var order []string
	for subject := range entered {
		order = append(order, subject)
	}
	if want := []string{"second", "third"}; !slices.Equal(order, want) {
		t.Errorf("the waiting units ran in the order %v, want %v", order, want)
	}
	var written int64
	db.Raw(`SELECT count(*) FROM tickets WHERE subject = 'impatient'`).Scan(&written)
	if written != 0 {
		t.Error("the unit that gave up waiting wrote its ticket")
	}
}
