package knowledgebase

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// Problem is a "common problem": a solved ticket read as the problem the customer described and
// the reply that solved it.
type Problem struct {
	TicketID   int64
	Subject    string
	Question   string // the customer's first message
	Resolution string // the last public reply before the ticket was solved
	Locale     string
	Category   string
	Status     string
	SolvedAt   *time.Time
}

// Problem returns the common problem of a ticket. A ticket that is not solved, or was solved
// without a public reply, is none.
func (b *Base) Problem(ctx context.Context, ticketID int64) (*Problem, error) {
	p, err := b.problem(ctx, ticketID)
	if errors.Is(err, errNotSolved) {
		return nil, tickets.ErrNotFound
	}
	return p, err
}

var errNotSolved = errors.New("not a solved ticket with a public reply")

func (b *Base) problem(ctx context.Context, ticketID int64) (*Problem, error) {
	docs, err := loadTicketDocs(ctx, b.db, []int64{ticketID})
	if err != nil {
		return nil, fmt.Errorf("knowledgebase: problem: %w", err)
	}
	if len(docs) == 0 {
		return nil, tickets.ErrNotFound
	}
	if docs[0].kind != KindProblem {
		return nil, errNotSolved
	}
	d := docs[0]
	p := &Problem{
		TicketID: ticketID, Subject: d.title, Question: d.body, Resolution: d.resolution,
		Locale: d.locale, Category: d.category, Status: d.status,
	}
	if err := b.db.WithContext(ctx).Raw(`SELECT solved_at FROM tickets WHERE id = ?`, ticketID).Row().Scan(&p.SolvedAt); err != nil {
		return nil, fmt.Errorf("knowledgebase: problem: %w", err)
	}
	return p, nil
}

// promotedHeadings title the two parts of an article promoted from a ticket, per locale.
var promotedHeadings = map[string][2]string{
	"en": {"Problem", "Solution"},
	"es": {"Problema", "Solución"},
}

// Promote turns a common problem into a draft article: its title is the ticket's subject and its
// body the problem and its solution, for an editor to generalize (and to rid of the customer's
// particulars) before it is published. Fields set in in override those.
func (b *Base) Promote(ctx context.Context, ed Editor, ticketID int64, in NewArticle) (*Article, error) {
	p, err := b.problem(ctx, ticketID)
	if errors.Is(err, errNotSolved) {
		return nil, &tickets.ConflictError{Field: "ticket", Message: "only a solved ticket with a public reply can become an article"}
	}
	if err != nil {
		return nil, err
	}
	if in.State != "" && in.State != string(StateDraft) {
		return nil, &tickets.ValidationError{Fields: []tickets.FieldError{{Field: "state", Message: "a promoted article starts as a draft"}}}
	}
	in.Title = orDefault(in.Title, p.Subject)
	in.Locale = orDefault(in.Locale, p.Locale)
	in.Category = orDefault(in.Category, p.Category)
	if in.Body == "" {
		h := promotedHeadings[in.Locale]
		if h[0] == "" {
			h = promotedHeadings["en"]
		}
		in.Body = fmt.Sprintf("## %s\n\n%s\n\n## %s\n\n%s\n", h[0], p.Question, h[1], p.Resolution)
	}
	in.SourceTicketID = &ticketID
	return b.CreateArticle(ctx, ed, in)
}
