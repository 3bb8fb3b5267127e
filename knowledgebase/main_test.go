package knowledgebase_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/internal/database"
	"github.com/openhelpdesk/helpdesk/internal/testdb"
	"github.com/openhelpdesk/helpdesk/knowledgebase"
	"github.com/openhelpdesk/helpdesk/tickets"
)

var (
	db      *gorm.DB
	testDSN string
	desk    *tickets.Desk
	unique  atomic.Int64
	// One member of staff per role.
	agent, supervisor knowledgebase.Editor
)

// cleanups run after every test, for what tests share.
var cleanups []func()

func TestMain(m *testing.M) {
	code := testdb.Main(m, func(dsn string) error {
		ctx := context.Background()
		testDSN = dsn
		var err error
		if db, err = database.Open(ctx, dsn, database.Options{Logger: slog.New(slog.DiscardHandler)}); err != nil {
			return err
		}
		desk = tickets.NewDesk(db, tickets.Limits{})
		knowledgebase.AttachFeed(desk)
		staff := tickets.NewStaff(db)
		for _, r := range []struct {
			role tickets.Role
			ed   *knowledgebase.Editor
		}{{tickets.RoleAgent, &agent}, {tickets.RoleSupervisor, &supervisor}} {
			u, err := staff.CreateUser(ctx, tickets.SystemActor, tickets.NewUser{Email: string(r.role) + "@example.com", Name: "The " + string(r.role), Role: r.role})
			if err != nil {
				return err
			}
			*r.ed = knowledgebase.Editor{ID: u.ID, Role: u.Role}
		}
		return nil
	})
	for _, f := range cleanups {
		f()
	}
	os.Exit(code)
}

// openBase opens a knowledge base on a fresh index directory and brings it up to date.
func openBase(t *testing.T) (*knowledgebase.Base, string) {
	t.Helper()
	dir := t.TempDir()
	return openBaseAt(t, dir), dir
}

func openBaseAt(t *testing.T, dir string) *knowledgebase.Base {
	t.Helper()
	kb, err := knowledgebase.Open(context.Background(), db, knowledgebase.Options{Dir: dir, Logger: slog.New(slog.DiscardHandler), Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kb.Close() })
	syncIndex(t, kb)
	return kb
}

func syncIndex(t *testing.T, kb *knowledgebase.Base) {
	t.Helper()
	if err := kb.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// runBase runs kb's background loop until the test ends.
func runBase(t *testing.T, kb *knowledgebase.Base) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { kb.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// eventually retries check until it passes or ten seconds go by.
func eventually(t *testing.T, what string, check func() bool) {
	t.Helper()
	eventuallyWithin(t, 10*time.Second, what, check)
}

// eventuallyWithin is eventually with its own patience. Checks that wait for the oldest running
// transaction to end need more: the server is shared, and another package's long statement
// holds the horizon of every database on it.
func eventuallyWithin(t *testing.T, d time.Duration, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not so after %s", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func email(prefix string) string {
	return fmt.Sprintf("%s.%d@example.com", prefix, unique.Add(1))
}

func createArticle(t *testing.T, kb *knowledgebase.Base, ed knowledgebase.Editor, in knowledgebase.NewArticle) *knowledgebase.Article {
	t.Helper()
	a, err := kb.CreateArticle(context.Background(), ed, in)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func publish(t *testing.T, kb *knowledgebase.Base, title, body, locale, visibility, category string) *knowledgebase.Article {
	t.Helper()
	return createArticle(t, kb, supervisor, knowledgebase.NewArticle{
		Title: title, Body: body, Locale: locale, State: "published", Visibility: visibility, Category: category,
	})
}

// newTicket opens a ticket from a new customer through the desk.
func newTicket(t *testing.T, subject, body string) *tickets.Ticket {
	t.Helper()
	tk, err := desk.Intake(context.Background(), tickets.NewTicket{
		Channel: tickets.ChannelWeb, Customer: tickets.CustomerContact{Email: email("customer")},
		Subject: subject, Body: body,
	})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// solve answers a ticket publicly and marks it solved in the same step.
func solve(t *testing.T, ticketID int64, reply string) {
	t.Helper()
	solved := tickets.StatusSolved
	if _, err := desk.AddStaffMessage(context.Background(), ticketID, tickets.StaffMessage{
		Kind: tickets.MessageReply, AuthorID: agent.ID, Body: reply, Status: &solved,
	}); err != nil {
		t.Fatal(err)
	}
}

// hitIDs lists the ids of the hits of one kind, in order.
func hitIDs(res *knowledgebase.Results, kind string) []int64 {
	var ids []int64
	for _, h := range res.Hits {
		if h.Kind == kind {
			ids = append(ids, h.ID)
		}
	}
	return ids
}

func search(t *testing.T, kb *knowledgebase.Base, q knowledgebase.Query) *knowledgebase.Results {
	t.Helper()
	res, err := kb.Search(context.Background(), q)
	if err != nil {
		t.Fatalf("search %+v: %v", q, err)
	}
	return res
}
