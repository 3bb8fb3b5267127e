package web_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// Every page people use, as the people who use it: each field has a label a screen reader
// reads, each image a text, each page its language and one main heading, and no id twice.
func TestPagesAreLabelled(t *testing.T) {
	customerID, _, made := customerWithHistory(t, "Ada Labelled")
	ticket := fmt.Sprintf("/desk/tickets/%d", made[0].ID)
	admin := signIn(t, tickets.RoleAdmin)
	customer := newVisitor(t, app)
	var link string
	err := db.Transaction(func(tx *gorm.DB) (err error) {
		link, err = tickets.IssuePortalLink(tx, made[0].ID, time.Hour)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	session, err := testDesk().OpenPortalLink(context.Background(), link)
	if err != nil {
		t.Fatal(err)
	}
	customer.cookies["helpdesk_portal"] = session.Secret
	pages := map[*visitor][]string{
		customer:           {"/portal/tickets", fmt.Sprintf("/portal/tickets/%d", made[0].ID)},
		newVisitor(t, app): {"/support", "/login", "/password/forgot", "/kb", "/portal"},
		admin: {"/desk/queue", "/desk/queue?view=all", ticket, ticket + "?suggestions=now", fmt.Sprintf("/desk/customers/%d", customerID),
			"/desk/customers?q=Ada", "/desk/dashboard", "/admin", "/admin/users", "/admin/teams", "/admin/mailboxes", "/admin/quarantine",
			"/admin/sla", "/admin/sla/calendars/new", "/admin/sla/policies/new", "/admin/value", "/admin/tokens"},
	}
	for v, paths := range pages {
		for _, path := range paths {
			res := v.get(path)
			if res.status != 200 {
				t.Errorf("%s: %d", path, res.status)
				continue
			}
			for _, problem := range accessibilityProblems(res.body) {
				t.Errorf("%s: %s", path, problem)
			}
		}
	}
}

// The checker itself finds what it looks for.
func TestAccessibilityCheckerFindsProblems(t *testing.T) {
	bad := `<!doctype html><html><body><h1>A</h1><h1>B</h1><form><label for="x">X</label><input id="x" name="x">
		<input id="y" name="y"><select name="s"></select><textarea id="x"></textarea><img src="a.png"><button></button></form></body></html>`
	got := strings.Join(accessibilityProblems([]byte(bad)), "\n")
	for _, want := range []string{"no lang", `name="y" id="y"> has no label`, `<select name="s" id=""> has no label`,
		"2 <h1> headings", `id "x" is used 2 times`, "a.png) has no alt", "a button has no text"} {
		if !strings.Contains(got, want) {
			t.Errorf("the checker missed %q; it found:\n%s", want, got)
		}
	}
	good := `<!doctype html><html lang="en"><body><h1>A</h1><label>Name <input name="n"></label><label for="e">E</label><input id="e" name="e"></body></html>`
	if p := accessibilityProblems([]byte(good)); len(p) > 0 {
		t.Errorf("a good page: %v", p)
	}
}

// accessibilityProblems checks a page for what a screen reader or keyboard user would miss.
func accessibilityProblems(page []byte) []string {
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	labelled := map[string]bool{} // ids named by a <label for>
	ids := map[string]int{}
	var fields []*html.Node
	h1s := 0
	var walk func(n *html.Node, inLabel bool)
	walk = func(n *html.Node, inLabel bool) {
		if n.Type == html.ElementNode {
			if id := attr(n, "id"); id != "" {
				ids[id]++
			}
			switch n.Data {
			case "html":
				if attr(n, "lang") == "" {
					problems = append(problems, "<html> has no lang")
				}
			case "h1":
				h1s++
			case "label":
				if f := attr(n, "for"); f != "" {
					labelled[f] = true
				}
				inLabel = true
			case "img":
				if _, ok := attrOK(n, "alt"); !ok {
					problems = append(problems, fmt.Sprintf("an image (%s) has no alt", attr(n, "src")))
				}
			case "input", "select", "textarea":
				switch attr(n, "type") {
				case "hidden", "submit", "button", "reset", "image":
				default:
					if !inLabel && attr(n, "aria-label") == "" && attr(n, "aria-labelledby") == "" && attr(n, "title") == "" {
						fields = append(fields, n)
					}
				}
			case "button":
				if strings.TrimSpace(textOf(n)) == "" && attr(n, "aria-label") == "" {
					problems = append(problems, "a button has no text")
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inLabel)
		}
	}
	walk(doc, false)
	for _, f := range fields {
		if id := attr(f, "id"); id == "" || !labelled[id] {
			problems = append(problems, fmt.Sprintf("<%s name=%q id=%q> has no label", f.Data, attr(f, "name"), id))
		}
	}
	if h1s != 1 {
		problems = append(problems, fmt.Sprintf("%d <h1> headings, want one", h1s))
	}
	for id, n := range ids {
		if n > 1 {
			problems = append(problems, fmt.Sprintf("id %q is used %d times", id, n))
		}
	}
	return problems
}

func attr(n *html.Node, name string) string {
	v, _ := attrOK(n, name)
	return v
}

func attrOK(n *html.Node, name string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val, true
		}
	}
	return "", false
}

func textOf(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(textOf(c))
	}
	return b.String()
}
