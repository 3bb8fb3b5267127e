package tickets_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/openhelpdesk/helpdesk/tickets"
)

func TestPortalLinkOpensASessionForItsCustomer(t *testing.T) {
	ctx := context.Background()
	desk := tickets.NewDesk(db, tickets.Limits{})
	tk := newTicket(t, desk, email("portal"))

	token, err := tickets.IssuePortalLink(db, tk.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var stored int64
	sum := sha256.Sum256([]byte(token))
	db.Raw(`SELECT count(*) FROM portal_links WHERE token_hash = ? AND customer_id = ? AND ticket_id = ?`, sum[:], tk.CustomerID, tk.ID).Scan(&stored)
	if stored != 1 {
		t.Fatal("the link is not stored by its hash for the ticket's customer")
	}
	session, err := desk.OpenPortalLink(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if session.CustomerID != tk.CustomerID || session.TicketID != tk.ID {
		t.Errorf("session for customer %d, ticket %d; want %d, %d", session.CustomerID, session.TicketID, tk.CustomerID, tk.ID)
	}
	if session.ExpiresAt.After(time.Now().Add(time.Hour + time.Minute)) {
		t.Errorf("the session outlives its link: %v", session.ExpiresAt)
	}
	who, err := desk.PortalSessionCustomer(ctx, session.Secret)
	if err != nil || who.ID != tk.CustomerID {
		t.Fatalf("session customer: %v %v", who, err)
	}

	if _, err := desk.OpenPortalLink(ctx, token+"x"); !errors.Is(err, tickets.ErrNotFound) {
		t.Errorf("a changed link: %v, want ErrNotFound", err)
	}
	db.Exec(`UPDATE portal_links SET expires_at = now() - interval '1 minute' WHERE token_hash = ?`, sum[:])
	if _, err := desk.OpenPortalLink(ctx, token); !errors.Is(err, tickets.ErrLinkExpired) {
		t.Errorf("an expired link: %v, want ErrLinkExpired", err)
	}

	if err := desk.EndPortalSession(ctx, session.Secret); err != nil {
		t.Fatal(err)
	}
	if _, err := desk.PortalSessionCustomer(ctx, session.Secret); !errors.Is(err, tickets.ErrNoSession) {
		t.Errorf("after sign-out: %v, want ErrNoSession", err)
	}
}

// A customer merged into another since the link was sent lands on the record that now holds
// their tickets.
func TestPortalFollowsMerges(t *testing.T) {
	ctx := context.Background()
	desk := tickets.NewDesk(db, tickets.Limits{})
	from := newTicket(t, desk, email("merged"))
	into := newTicket(t, desk, email("kept"))
	token, err := tickets.IssuePortalLink(db, from.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := desk.Merge(ctx, tickets.SystemActor, into.CustomerID, from.CustomerID); err != nil {
		t.Fatal(err)
	}
	session, err := desk.OpenPortalLink(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if session.CustomerID != into.CustomerID {
		t.Errorf("session for %d, want the surviving customer %d", session.CustomerID, into.CustomerID)
	}
	if _, err := desk.PortalTicket(ctx, session.CustomerID, from.ID); err != nil {
		t.Errorf("the merged ticket is not visible: %v", err)
	}
}

func TestPortalTicketHidesNotesAndOthersTickets(t *testing.T) {
	ctx := context.Background()
	desk := tickets.NewDesk(db, tickets.Limits{})
	agent := newAgent(t, tickets.RoleAgent)
	mine := newTicket(t, desk, email("mine"))
	theirs := newTicket(t, desk, email("theirs"))
	note, err := desk.AddStaffMessage(ctx, mine.ID, tickets.StaffMessage{Kind: tickets.MessageNote, AuthorID: agent.ID,
		Body: "internal only", Attachments: []tickets.NewAttachment{{Filename: "note.txt", ContentType: "text/plain", Data: []byte("secret")}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := desk.AddStaffMessage(ctx, mine.ID, tickets.StaffMessage{Kind: tickets.MessageReply, AuthorID: agent.ID, Body: "public answer"}); err != nil {
		t.Fatal(err)
	}

	view, err := desk.PortalTicket(ctx, mine.CustomerID, mine.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(view.Messages) != 2 {
		t.Fatalf("%d messages, want the customer's and the reply", len(view.Messages))
	}
	for _, m := range view.Messages {
		if m.Kind == tickets.MessageNote {
			t.Error("an internal note reached the portal")
		}
	}
	if !view.Messages[0].FromCustomer || view.Messages[1].AuthorName != agent.Name {
		t.Errorf("authors: %+v", view.Messages)
	}
	if _, err := desk.PortalTicket(ctx, mine.CustomerID, theirs.ID); !errors.Is(err, tickets.ErrNotFound) {
		t.Errorf("another customer's ticket: %v, want ErrNotFound", err)
	}
	if _, _, err := desk.PortalAttachment(ctx, mine.CustomerID, note.Attachments[0].ID); !errors.Is(err, tickets.ErrNotFound) {
		t.Errorf("a note's attachment: %v, want ErrNotFound", err)
	}
}

func TestPortalRequestLinkIsLimited(t *testing.T) {
	ctx := context.Background()
	desk := tickets.NewDesk(db, tickets.Limits{})
	addr := email("asks")
	tk := newTicket(t, desk, addr)
	if _, _, err := desk.RequestPortalLink(ctx, email("unknown"), time.Hour); !errors.Is(err, tickets.ErrNotFound) {
		t.Errorf("unknown address: %v", err)
	}
	for i := 0; i < tickets.PortalRequestsPerHour; i++ {
		token, who, err := desk.RequestPortalLink(ctx, addr, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if who.ID != tk.CustomerID || who.Email != addr {
			t.Fatalf("link for %+v", who)
		}
		if s, err := desk.OpenPortalLink(ctx, token); err != nil || s.TicketID != 0 {
			t.Fatalf("a requested link opens the list: %+v %v", s, err)
		}
	}
	if _, _, err := desk.RequestPortalLink(ctx, addr, time.Hour); !errors.Is(err, tickets.ErrTooManyLinks) {
		t.Errorf("past the hourly limit: %v, want ErrTooManyLinks", err)
	}
}
