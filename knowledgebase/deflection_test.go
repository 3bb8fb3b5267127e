package knowledgebase_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/openhelpdesk/helpdesk/tickets"
)

func session(n int) string { return fmt.Sprintf("test-session-%08d-%d", n, unique.Add(1)) }

// The deflection rate is the share of settled visits that opened a suggestion and then did not
// send the form.
func TestDeflectionReport(t *testing.T) {
	ctx := context.Background()
	kb, _ := openBase(t)
	since := time.Now().Add(-3 * time.Hour)
	a := publish(t, kb, "Deflection article A", "Text.", "en", "public", "deflection")
	b := publish(t, kb, "Deflection article B", "Text.", "en", "public", "deflection")
	internal := publish(t, kb, "Deflection internal", "Text.", "en", "internal", "deflection")

	read, sent, reading := session(1), session(2), session(3)
	twice := session(4)
	for _, o := range []struct {
		s  string
		id int64
	}{{read, a.ID}, {read, b.ID}, {sent, a.ID}, {reading, b.ID}, {twice, a.ID}, {twice, a.ID}} {
		if err := kb.RecordOpen(ctx, o.s, o.id); err != nil {
			t.Fatal(err)
		}
	}
	tk := newTicket(t, "Sent anyway", "The article did not help.")
	if err := kb.RecordSubmission(ctx, sent, tk.ID); err != nil {
		t.Fatal(err)
	}
	// A submission from a visit that opened nothing is not recorded.
	if err := kb.RecordSubmission(ctx, session(5), tk.ID); err != nil {
		t.Fatal(err)
	}
	// Visits "read" and "twice" happened two hours ago; "reading" is still in progress.
	db.Exec(`UPDATE kb_suggestion_opens SET opened_at = now() - interval '2 hours' WHERE session_id IN (?, ?, ?)`, read, sent, twice)

	r, err := kb.DeflectionReport(ctx, since, time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if r.Sessions != 3 || r.Submitted != 1 || r.Deflected != 2 || r.Pending != 1 || math.Abs(r.Rate-2.0/3) > 1e-9 {
		t.Errorf("report: %+v", r)
	}
	if len(r.Articles) != 2 || r.Articles[0].ArticleID != a.ID || r.Articles[0].Opened != 3 || r.Articles[0].Deflected != 2 ||
		r.Articles[1].ArticleID != b.ID || r.Articles[1].Deflected != 1 || r.Articles[0].Title != a.Title {
		t.Errorf("by article: %+v", r.Articles)
	}
	// Outside the window, nothing.
	if r, _ := kb.DeflectionReport(ctx, since.Add(-48*time.Hour), since); r.Sessions+r.Pending != 0 {
		t.Errorf("empty window: %+v", r)
	}

	// Only published public articles can be opened from a suggestion; sessions must look like ours.
	if err := kb.RecordOpen(ctx, session(6), internal.ID); !errors.Is(err, tickets.ErrNotFound) {
		t.Errorf("opening an internal article: %v", err)
	}
	for _, bad := range []string{"", "short", "has spaces in it ok", "<script>alert(1)</script>xx", string(make([]byte, 65))} {
		var v *tickets.ValidationError
		if err := kb.RecordOpen(ctx, bad, a.ID); !errors.As(err, &v) || v.Fields[0].Field != "session" {
			t.Errorf("session %q: %v", bad, err)
		}
	}
	// One visit records a bounded number of opens.
	flood := session(7)
	for range 30 {
		art := publish(t, kb, "Flood", "Text.", "en", "public", "deflection")
		if err := kb.RecordOpen(ctx, flood, art.ID); err != nil {
			t.Fatal(err)
		}
	}
	var n int64
	db.Raw(`SELECT count(*) FROM kb_suggestion_opens WHERE session_id = ?`, flood).Scan(&n)
	if n != 20 {
		t.Errorf("one visit recorded %d opens", n)
	}
}
