package knowledgebase_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/openhelpdesk/helpdesk/knowledgebase"
	"github.com/openhelpdesk/helpdesk/tickets"
)

// A solved ticket reads as a problem and its resolution, and an agent can make it a draft.
func TestProblemsAndPromotion(t *testing.T) {
	ctx := context.Background()
	kb, _ := openBase(t)
	tk := newTicket(t, "No me llega la factura de marzo", "Hola, no he recibido la factura del pedido de marzo.")
	if _, err := kb.Problem(ctx, tk.ID); !errors.Is(err, tickets.ErrNotFound) {
		t.Errorf("an open ticket is a problem: %v", err)
	}
	_, err := kb.Promote(ctx, agent, tk.ID, knowledgebase.NewArticle{})
	var conflict *tickets.ConflictError
	if !errors.As(err, &conflict) {
		t.Errorf("promoting an open ticket: %v", err)
	}
	if _, err := kb.Promote(ctx, agent, 99999999, knowledgebase.NewArticle{}); !errors.Is(err, tickets.ErrNotFound) {
		t.Errorf("promoting a missing ticket: %v", err)
	}
	// A note is not the resolution; the last public reply before solving is.
	if _, err := desk.AddStaffMessage(ctx, tk.ID, tickets.StaffMessage{Kind: tickets.MessageNote, AuthorID: agent.ID, Body: "Nota interna: reenviar."}); err != nil {
		t.Fatal(err)
	}
	solve(t, tk.ID, "Te he reenviado la factura de marzo a tu correo.")

	p, err := kb.Problem(ctx, tk.ID)
	if err != nil || p.Subject != tk.Subject || !strings.Contains(p.Question, "no he recibido") ||
		p.Resolution != "Te he reenviado la factura de marzo a tu correo." || p.Locale != "es" || p.SolvedAt == nil {
		t.Fatalf("problem: %+v %v", p, err)
	}

	a, err := kb.Promote(ctx, agent, tk.ID, knowledgebase.NewArticle{Category: "facturas"})
	if err != nil {
		t.Fatal(err)
	}
	if a.State != knowledgebase.StateDraft || a.Title != tk.Subject || a.Locale != "es" || a.Category != "facturas" ||
		a.SourceTicketID == nil || *a.SourceTicketID != tk.ID || !strings.Contains(a.Body, "## Solución") ||
		!strings.Contains(a.Body, "reenviado la factura") || strings.Contains(a.Body, "Nota interna") {
		t.Errorf("promoted: %+v", a)
	}
	if _, err := kb.Promote(ctx, supervisor, tk.ID, knowledgebase.NewArticle{State: "published"}); err == nil {
		t.Error("a promoted article was published without review")
	}
}

// An agent opening a ticket sees the articles that may answer it and similar solved tickets.
func TestSuggestionsForATicket(t *testing.T) {
	ctx := context.Background()
	c := newCorpus(t)
	earlier := newTicket(t, "No puedo entrar en mi cuenta", "Me dice que la contraseña es incorrecta y no puedo iniciar sesión.")
	solve(t, earlier.ID, "Tu cuenta estaba bloqueada; ya la he desbloqueado.")
	unrelated := newTicket(t, "Pedido sin entregar", "Mi pedido no ha llegado.")
	solve(t, unrelated.ID, "Lo enviamos de nuevo.")
	tk := newTicket(t, "No puedo iniciar sesión", "Desde ayer no puedo iniciar sesión, dice que mi contraseña no es correcta.")
	syncIndex(t, c.kb)

	s, err := c.kb.SuggestForTicket(ctx, tk.ID, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Articles) == 0 || s.Articles[0].ID != c.loginES.ID {
		t.Errorf("articles: %+v", s.Articles)
	}
	var problems []int64
	for _, h := range s.Problems {
		problems = append(problems, h.ID)
	}
	if len(problems) == 0 || problems[0] != earlier.ID || slices.Contains(problems, tk.ID) {
		t.Errorf("similar solved tickets: %v (want %d first, never %d itself)", problems, earlier.ID, tk.ID)
	}
	if _, err := c.kb.SuggestForTicket(ctx, 99999999, 5); !errors.Is(err, tickets.ErrNotFound) {
		t.Errorf("missing ticket: %v", err)
	}
}
