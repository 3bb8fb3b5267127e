package tickets_test

import (
	"context"
	"errors"
	"testing"

	"github.com/openhelpdesk/helpdesk/tickets"
)

func TestPresence(t *testing.T) {
	ctx := context.Background()
	desk := tickets.NewDesk(db, tickets.Limits{})
	tk, err := desk.Intake(ctx, tickets.NewTicket{Channel: tickets.ChannelWeb, Customer: tickets.CustomerContact{Email: email("presence")},
		Subject: "Presence", Body: "Who is here?", Urgency: tickets.Normal})
	if err != nil {
		t.Fatal(err)
	}
	ana, ben, cy := newAgent(t, tickets.RoleAgent), newAgent(t, tickets.RoleAgent), newAgent(t, tickets.RoleAgent)
	viewers := func(who int64) []tickets.Viewer {
		t.Helper()
		v, err := desk.Viewers(ctx, tk.ID, who)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := viewers(ana.ID); len(v) != 0 {
		t.Fatalf("nobody has the ticket open yet: %+v", v)
	}

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(desk.TouchPresence(ctx, tk.ID, ana.ID, false))
	must(desk.TouchPresence(ctx, tk.ID, ben.ID, true))
	// Ana sees Ben replying; she does not see herself.
	v := viewers(ana.ID)
	if len(v) != 1 || v[0].UserID != ben.ID || !v[0].Replying || v[0].Name != ben.Name {
		t.Fatalf("Ana sees %+v", v)
	}
	// Cy sees both, the one replying first.
	v = viewers(cy.ID)
	if len(v) != 2 || v[0].UserID != ben.ID || v[1].UserID != ana.ID || v[1].Replying {
		t.Fatalf("Cy sees %+v", v)
	}

	// A heartbeat without typing keeps the recent keystroke; sending the reply clears it.
	must(desk.TouchPresence(ctx, tk.ID, ben.ID, false))
	if v := viewers(ana.ID); len(v) != 1 || !v[0].Replying {
		t.Fatalf("after a quiet heartbeat: %+v", v)
	}
	must(desk.StoppedReplying(ctx, tk.ID, ben.ID))
	if v := viewers(ana.ID); len(v) != 1 || v[0].Replying {
		t.Fatalf("after sending: %+v", v)
	}

	// A keystroke older than the window no longer counts as replying; a page that stopped
	// sending heartbeats drops out.
	must(desk.TouchPresence(ctx, tk.ID, ben.ID, true))
	must(db.Exec(`UPDATE ticket_presence SET typed_at = now() - interval '2 minutes' WHERE ticket_id = ? AND user_id = ?`, tk.ID, ben.ID).Error)
	if v := viewers(ana.ID); len(v) != 1 || v[0].Replying {
		t.Fatalf("with an old keystroke: %+v", v)
	}
	must(db.Exec(`UPDATE ticket_presence SET last_seen = now() - interval '2 minutes' WHERE ticket_id = ?`, tk.ID).Error)
	if v := viewers(cy.ID); len(v) != 0 {
		t.Fatalf("stale presence still shown: %+v", v)
	}

	// Pruning removes only rows older than an hour.
	must(db.Exec(`UPDATE ticket_presence SET last_seen = now() - interval '2 hours' WHERE ticket_id = ? AND user_id = ?`, tk.ID, ana.ID).Error)
	must(desk.PrunePresence(ctx))
	var left int64
	must(db.Raw(`SELECT count(*) FROM ticket_presence WHERE ticket_id = ?`, tk.ID).Scan(&left).Error)
	if left != 1 {
		t.Errorf("after pruning, %d rows left; want Ben's only", left)
	}
}

func TestPresenceOfAMissingTicket(t *testing.T) {
	err := tickets.NewDesk(db, tickets.Limits{}).TouchPresence(context.Background(), 1<<40, newAgent(t, tickets.RoleAgent).ID, true)
	if !errors.Is(err, tickets.ErrNotFound) {
		t.Errorf("presence on a missing ticket: %v", err)
	}
}
