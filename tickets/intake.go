package tickets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// NewTicket is a problem arriving from any channel.
type NewTicket struct {
	Channel  Channel
	Customer CustomerContact
	Subject  string
	Body     string // plain text; derived from BodyHTML when empty
	BodyHTML string // as received; sanitized before it is stored
	Urgency  Level  // zero means normal
	TeamID   *int64 // set by the channel (a mailbox's team); else routing picks one by category
	// Category and Language are what an agent must know to take the ticket; both may be empty.
	Category string
	Language string // ISO 639-1, such as "es"
	// CreatedBy is the member of staff who entered the ticket for the customer (a phone call
	// taken down, an API integration); zero when the customer wrote in themselves.
	CreatedBy   int64
	Attachments []NewAttachment
	// OnStored, when set, runs in the intake's transaction once the ticket and its first message
	// are written, so that a channel stores its own records with them (an email's headers, a
	// mailbox checkpoint) or not at all.
	OnStored func(tx *gorm.DB, t *Ticket, m *Message) error
}

// CustomerContact is how the sender of a new ticket identifies themselves.
type CustomerContact struct {
	Email string
	Phone string
	Name  string
}

// Intake opens a ticket. In one transaction it finds the customer by identity or creates them,
// creates the ticket and its first message with attachments, and records the events, so a
// failure at any point leaves nothing behind.
func (d *Desk) Intake(ctx context.Context, in NewTicket) (*Ticket, error) {
	in, err := d.cleanNewTicket(in)
	if err != nil {
		return nil, err
	}
	var ticket Ticket
	err = d.inTx(ctx, func(w *work) error {
		tx := w.tx
		if in.TeamID != nil {
			if err := mustExist(tx, "teams", *in.TeamID, "team_id", "no such team"); err != nil {
				return err
			}
		}
		cust, err := resolveCustomer(tx, in.Customer)
		if err != nil {
			return err
		}
		customerID := cust.id
		actor := CustomerActor(customerID)
		if in.CreatedBy != 0 {
			actor = StaffActor(in.CreatedBy)
		}
		settings, err := d.valueSettings(tx)
		if err != nil {
			return err
		}
		// The customer's standing raises the priority of what they ask for.
		ticket.Urgency, ticket.Priority = in.Urgency, settings.Priority(cust.tier, in.Urgency)
		r, err := routeNew(tx, in.TeamID, ticketNeeds{category: in.Category, language: in.Language, vip: cust.tier == TierVIP})
		if err != nil {
			return err
		}
		created := map[string]any{
			"channel": in.Channel, "subject": in.Subject, "urgency": in.Urgency.String(),
			"priority": ticket.Priority.String(), "team_id": r.TeamID, "tier": cust.tier,
		}
		if ticket.Priority != ticket.Urgency {
			created["priority_reason"] = fmt.Sprintf("%s customer: %s urgency raised to %s", cust.tier, in.Urgency, ticket.Priority)
		}
		if r.TeamReason != "" {
			created["team_reason"] = r.TeamReason
		}
		events := []eventRow{newEventRow(actor, EventTicketCreated, created)}
		if cust.created {
			events = append([]eventRow{newEventRow(actor, EventCustomerCreated, map[string]any{"channel": in.Channel})}, events...)
		}
		if r.AgentID != nil {
			events = append(events, newEventRow(SystemActor, EventAssigneeChanged, map[string]any{"from": nil, "to": *r.AgentID, "reason": r.Reason}))
		}
		eventsJSON, err := json.Marshal(events)
		if err != nil {
			return fmt.Errorf("encode events: %w", err)
		}
		// Ticket, first message, events, the assignment and the companions' rows in one
		// statement: intake is the busiest write of the help desk, and each statement is a round
		// trip to the database.
		args := map[string]any{
			"agent": r.AgentID, "capacity": r.Capacity, "subject": in.Subject, "urgency": ticket.Urgency,
			"priority": ticket.Priority, "channel": in.Channel, "customer": customerID, "team": r.TeamID,
			"category": in.Category, "language": in.Language, "body": in.Body, "html": in.BodyHTML,
			"events": string(eventsJSON), "due": d.dueHint(ticket.Priority, cust),
		}
		companionSQL, err := d.companionRows(NewTicketFacts{Priority: ticket.Priority, Tier: cust.tier, Created: cust.now}, args)
		if err != nil {
			return err
		}
		var row struct {
			Ticket
			MessageID        int64
			MessageCreatedAt time.Time
			CompanionRows    string
		}
		// The agent routing chose takes the ticket only if still under capacity now that this
		// statement sees every assignment committed before the agent's row was locked; if not,
		// the ticket waits in the team's queue (and the assignment event is not written).
		err = scanRow(tx, &row, tx.Raw(`
			WITH chosen AS (
				SELECT CASE WHEN (SELECT count(*) FROM tickets WHERE assignee_id = CAST(@agent AS bigint) AND status IN `+activeStatuses+`) < CAST(@capacity AS int)
					THEN CAST(@agent AS bigint) END AS agent
			), t AS (
				INSERT INTO tickets (subject, urgency, priority, channel, customer_id, team_id, assignee_id, category, language, sla_due_at)
				SELECT CAST(@subject AS text), CAST(@urgency AS smallint), CAST(@priority AS smallint), CAST(@channel AS text),
					CAST(@customer AS bigint), CAST(@team AS bigint), chosen.agent, CAST(@category AS text), CAST(@language AS text),
					CAST(@due AS timestamptz)
				FROM chosen
				RETURNING *
			), m AS (
				INSERT INTO messages (ticket_id, kind, author_customer_id, body_text, body_html)
				SELECT id, 'inbound', customer_id, CAST(@body AS text), CAST(@html AS text) FROM t
				RETURNING id, created_at
			), e AS (
				INSERT INTO events (actor_kind, actor_user_id, actor_customer_id, ticket_id, customer_id, type, data)
				SELECT x.actor_kind, x.actor_user_id, x.actor_customer_id,
					CASE WHEN x.type = 'customer.created' THEN NULL ELSE t.id END, t.customer_id, x.type, x.data
				FROM t, ROWS FROM (jsonb_to_recordset(CAST(@events AS jsonb)) AS (
					type text, data jsonb, actor_kind text, actor_user_id bigint, actor_customer_id bigint
				)) WITH ORDINALITY AS x(type, data, actor_kind, actor_user_id, actor_customer_id, n)
				WHERE x.type <> 'ticket.assignee_changed' OR t.assignee_id IS NOT NULL
				ORDER BY x.n
			), a AS (
				UPDATE users SET last_assigned_at = now() WHERE id = (SELECT assignee_id FROM t)
			)`+companionSQL.ctes+`
			SELECT t.*, m.id AS message_id, m.created_at AS message_created_at,
				`+companionSQL.counts+` AS companion_rows
			FROM t, m`, args))
		if err != nil {
			return fmt.Errorf("insert ticket: %w", err)
		}
		ticket = row.Ticket
		var written map[string]int64
		if err := json.Unmarshal([]byte(row.CompanionRows), &written); err != nil {
			return fmt.Errorf("insert ticket: companion rows: %w", err)
		}
		for _, e := range events {
			ticketID := ticket.ID
			switch {
			case e.Type == EventCustomerCreated:
				ticketID = 0
			case e.Type == EventAssigneeChanged && ticket.AssigneeID == nil:
				continue // the agent filled up meanwhile; the ticket waits in the queue
			}
			w.recorded(event{e.actor, ticketID, customerID, e.Type, e.Data})
			if e.Type == EventTicketCreated {
				w.changes[len(w.changes)-1].Companions = written
			}
		}
		msg := Message{
			ID: row.MessageID, TicketID: ticket.ID, Kind: MessageInbound, AuthorCustomerID: &customerID,
			BodyText: in.Body, BodyHTML: in.BodyHTML, CreatedAt: row.MessageCreatedAt,
		}
		if err := storeAttachments(tx, &msg, in.Attachments); err != nil {
			return err
		}
		if in.OnStored != nil {
			return in.OnStored(tx, &ticket, &msg)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tickets: intake: %w", err)
	}
	return &ticket, nil
}

// companionSQL is the companions' part of the intake statement.
type companionSQL struct {
	ctes   string // ", cmp_name AS (…)" for each companion that writes rows
	counts string // a jsonb object of the rows each wrote, as text
}

// companionRows asks every companion for its rows of the new ticket and adds their parameters to
// args.
func (d *Desk) companionRows(facts NewTicketFacts, args map[string]any) (companionSQL, error) {
	var ctes, counts strings.Builder
	counts.WriteString("jsonb_build_object(")
	for i, c := range d.companions {
		if i > 0 {
			counts.WriteString(", ")
		}
		sql, params, ok := c.Rows(facts)
		if !ok {
			fmt.Fprintf(&counts, "'%s', 0", c.Name)
			continue
		}
		for k, v := range params {
			if _, taken := args[k]; taken {
				return companionSQL{}, fmt.Errorf("companion %s: parameter @%s is taken", c.Name, k)
			}
			args[k] = v
		}
		// Names are checked identifiers (see AddCompanion), never input.
		fmt.Fprintf(&ctes, ", cmp_%s AS (%s)", c.Name, sql)
		fmt.Fprintf(&counts, "'%s', (SELECT count(*) FROM cmp_%s)", c.Name, c.Name)
	}
	counts.WriteString(")::text")
	return companionSQL{ctes: ctes.String(), counts: counts.String()}, nil
}

// Check validates a new ticket without opening it, so that a channel can report the domain's
// complaints together with its own.
func (d *Desk) Check(in NewTicket) error {
	_, err := d.cleanNewTicket(in)
	return err
}

func (d *Desk) cleanNewTicket(in NewTicket) (NewTicket, error) {
	var v ValidationError
	if !in.Channel.Valid() {
		v.Add("channel", "unknown channel")
	}
	var err error
	if in.Customer.Email == "" && in.Customer.Phone == "" {
		v.Add("customer.email", "is required")
	}
	if in.Customer.Email != "" {
		if in.Customer.Email, err = NormalizeEmail(in.Customer.Email); err != nil {
			v.Add("customer.email", err.Error())
		}
	}
	if in.Customer.Phone != "" {
		if in.Customer.Phone, err = NormalizePhone(in.Customer.Phone); err != nil {
			v.Add("customer.phone", err.Error())
		}
	}
	in.Customer.Name = cleanLine(in.Customer.Name)
	if utf8.RuneCountInString(in.Customer.Name) > 200 {
		v.Add("customer.name", "must be at most 200 characters")
	}
	in.Subject = cleanLine(in.Subject)
	switch {
	case in.Subject == "":
		v.Add("subject", "is required")
	case utf8.RuneCountInString(in.Subject) > 250:
		v.Add("subject", "must be at most 250 characters")
	}
	in.Category = cleanLine(in.Category)
	if utf8.RuneCountInString(in.Category) > 60 {
		v.Add("category", "must be at most 60 characters")
	}
	if in.Language != "" {
		lang, err := normalizeLanguage(in.Language)
		if err != nil {
			v.Add("language", err.Error())
		}
		in.Language = lang
	}
	if in.Urgency == 0 {
		in.Urgency = Normal
	}
	if !in.Urgency.Valid() {
		v.Add("urgency", "must be one of low, normal, high, urgent")
	}
	in.Body, in.BodyHTML = d.cleanBody(&v, "body", in.Body, in.BodyHTML)
	d.checkAttachments(&v, in.Attachments)
	return in, v.Err()
}

// cleanBody validates a message body and fills in the plain text of HTML-only messages.
func (d *Desk) cleanBody(v *ValidationError, field, text, rawHTML string) (string, string) {
	var safeHTML string
	if strings.TrimSpace(rawHTML) != "" {
		safeHTML = SanitizeHTML(cleanText(rawHTML))
	}
	text = strings.TrimSpace(cleanText(text))
	if text == "" && safeHTML != "" {
		text = htmlToText(safeHTML)
	}
	switch {
	case text == "":
		v.Add(field, "is required")
	case len(text) > d.limits.MaxBodyBytes || len(safeHTML) > 4*d.limits.MaxBodyBytes:
		v.Add(field, fmt.Sprintf("must be at most %d KB", d.limits.MaxBodyBytes>>10))
	}
	return text, safeHTML
}

func (d *Desk) checkAttachments(v *ValidationError, files []NewAttachment) {
	if len(files) > d.limits.MaxAttachments {
		v.Add("attachments", fmt.Sprintf("at most %d files", d.limits.MaxAttachments))
		return
	}
	for i, f := range files {
		field := fmt.Sprintf("attachments[%d]", i)
		switch {
		case len(f.Data) == 0:
			v.Add(field, "file is empty")
		case int64(len(f.Data)) > d.limits.MaxAttachmentBytes:
			v.Add(field, fmt.Sprintf("file is larger than %d MB", d.limits.MaxAttachmentBytes>>20))
		}
	}
}

type identity struct{ kind, value string }

// resolvedCustomer is the customer an intake belongs to.
type resolvedCustomer struct {
	id      int64
	created bool
	tier    Tier
	// now is the transaction's now(), which the new ticket's created_at will be: read with the
	// lookup, for the SLA's due-time hint (see Desk.SetInitialDue) at no extra round trip.
	now time.Time
}

// resolveCustomer finds the customer owning the contact's email or phone, or creates one. Two
// intakes racing for a new address both try to claim the identity; the unique key lets one win
// and the other discards its fresh customer row and takes the winner's.
func resolveCustomer(tx *gorm.DB, c CustomerContact) (resolvedCustomer, error) {
	ids := c.identities()
	// Up to two identities (email, phone), the email preferred: the second is the first again
	// when there is only one. Looking up and creating is one statement, as intake is the
	// busiest write of the help desk and every statement a round trip.
	second := ids[len(ids)-1]
	var found struct {
		Now        time.Time
		CustomerID int64
		Tier       Tier
		Name       string
		Matched    int
		CreatedID  int64
		Owner      int64
	}
	err := scanRow(tx, &found, tx.Raw(`
		WITH f AS (
			SELECT i.customer_id, coalesce(s.tier, 'new') AS tier, c.name,
				CASE WHEN i.kind = @kind1 AND i.value = @value1 THEN 0 ELSE 1 END AS matched
			FROM customer_identities i JOIN customers c ON c.id = i.customer_id
			LEFT JOIN customer_scores s ON s.customer_id = c.id
			WHERE (i.kind, i.value) IN ((@kind1, @value1), (@kind2, @value2))
			ORDER BY matched LIMIT 1
		), c AS (
			INSERT INTO customers (name) SELECT CAST(@name AS text) WHERE NOT EXISTS (SELECT 1 FROM f)
			RETURNING id
		), i AS (
			INSERT INTO customer_identities (customer_id, kind, value) SELECT id, @kind1, @value1 FROM c
			ON CONFLICT (kind, value) DO NOTHING
			RETURNING customer_id
		)
		SELECT now() AS now, f.customer_id, f.tier, f.name, f.matched, c.id AS created_id,
			coalesce((SELECT customer_id FROM i), 0) AS owner
		FROM (SELECT 1) one LEFT JOIN f ON true LEFT JOIN c ON true`,
		map[string]any{"kind1": ids[0].kind, "value1": ids[0].value, "kind2": second.kind, "value2": second.value, "name": c.Name}))
	if err != nil {
		return resolvedCustomer{}, fmt.Errorf("find or create customer: %w", err)
	}
	switch {
	case found.CustomerID != 0:
		ids = slices.Delete(ids, found.Matched, found.Matched+1)
		if c.Name != "" && found.Name == "" {
			if err := tx.Exec(`UPDATE customers SET name = ?, updated_at = now() WHERE id = ? AND name = ''`, c.Name, found.CustomerID).Error; err != nil {
				return resolvedCustomer{}, fmt.Errorf("update customer name: %w", err)
			}
		}
		return resolvedCustomer{id: found.CustomerID, tier: found.Tier, now: found.Now}, addIdentities(tx, found.CustomerID, ids)
	case found.Owner != 0:
		// A phone that already belongs to someone else stays theirs.
		return resolvedCustomer{id: found.Owner, created: true, tier: TierNew, now: found.Now}, addIdentities(tx, found.Owner, ids[1:])
	}
	// Another intake claimed the identity after this statement looked: give up the fresh row
	// and take the winner's, with what it set.
	if err := tx.Exec(`DELETE FROM customers WHERE id = ?`, found.CreatedID).Error; err != nil {
		return resolvedCustomer{}, fmt.Errorf("discard customer: %w", err)
	}
	winner, err := customerByIdentity(tx, ids[0].kind, ids[0].value)
	if err != nil {
		return resolvedCustomer{}, err
	}
	if winner == 0 {
		return resolvedCustomer{}, errors.New("resolve customer: identity vanished during intake")
	}
	if err := addIdentities(tx, winner, ids[1:]); err != nil {
		return resolvedCustomer{}, err
	}
	if err := tx.Raw(`SELECT coalesce((SELECT tier FROM customer_scores WHERE customer_id = ?), 'new')`, winner).Scan(&found.Tier).Error; err != nil {
		return resolvedCustomer{}, fmt.Errorf("find customer: %w", err)
	}
	return resolvedCustomer{id: winner, tier: found.Tier, now: found.Now}, nil
}

func (c CustomerContact) identities() []identity {
	var ids []identity
	if c.Email != "" {
		ids = append(ids, identity{"email", c.Email})
	}
	if c.Phone != "" {
		ids = append(ids, identity{"phone", c.Phone})
	}
	return ids
}

// addIdentities gives a customer the identities that nobody owns yet.
func addIdentities(tx *gorm.DB, customerID int64, ids []identity) error {
	for _, ident := range ids {
		if err := tx.Exec(`INSERT INTO customer_identities (customer_id, kind, value) VALUES (?, ?, ?)
			ON CONFLICT (kind, value) DO NOTHING`, customerID, ident.kind, ident.value).Error; err != nil {
			return fmt.Errorf("insert identity: %w", err)
		}
	}
	return nil
}

func customerByIdentity(tx *gorm.DB, kind, value string) (int64, error) {
	var id int64
	err := tx.Raw(`SELECT customer_id FROM customer_identities WHERE kind = ? AND value = ?`, kind, value).Scan(&id).Error
	if err != nil {
		return 0, fmt.Errorf("find customer: %w", err)
	}
	return id, nil
}

// scanRow reads the first row of query into dest, as query.Scan(dest) would, for intake's
// statements. Scan hands the query to GORM's recorder, which renders its SQL text with regular
// expressions on every call, logged or not: a twentieth of the API's CPU time at intake.
func scanRow(tx *gorm.DB, dest any, query *gorm.DB) error {
	rows, err := query.Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() {
		if err := tx.ScanRows(rows, dest); err != nil {
			return err
		}
	}
	return rows.Err()
}

// mustExist turns a dangling reference into a validation error on field rather than a foreign
// key failure at commit.
func mustExist(tx *gorm.DB, table string, id int64, field, message string) error {
	var n int64
	// table is one of a few constants from this package, never input.
	if err := tx.Raw(`SELECT count(*) FROM `+table+` WHERE id = ?`, id).Scan(&n).Error; err != nil {
		return fmt.Errorf("check %s: %w", field, err)
	}
	if n == 0 {
		return invalid(field, message)
	}
	return nil
}

// eventRow is an event as jsonb_to_recordset reads it in the intake statement.
type eventRow struct {
	Type            string         `json:"type"`
	Data            map[string]any `json:"data"`
	ActorKind       string         `json:"actor_kind"`
	ActorUserID     *int64         `json:"actor_user_id"`
	ActorCustomerID *int64         `json:"actor_customer_id"`
	actor           Actor
}

func newEventRow(actor Actor, typ string, data map[string]any) eventRow {
	e := eventRow{Type: typ, Data: data, ActorKind: actor.Kind, actor: actor}
	if actor.UserID != 0 {
		e.ActorUserID = &actor.UserID
	}
	if actor.CustomerID != 0 {
		e.ActorCustomerID = &actor.CustomerID
	}
	return e
}

// insertMessage stores a message and its attachments.
func insertMessage(tx *gorm.DB, m *Message, files []NewAttachment) error {
	err := tx.Raw(`INSERT INTO messages (ticket_id, kind, author_user_id, author_customer_id, body_text, body_html)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id, created_at`,
		m.TicketID, m.Kind, m.AuthorUserID, m.AuthorCustomerID, m.BodyText, m.BodyHTML).Row().Scan(&m.ID, &m.CreatedAt)
	if err != nil {
		return fmt.Errorf("insert message: %w", err)
	}
	return storeAttachments(tx, m, files)
}

// storeAttachments stores the files of a stored message. Their bytes go to blobs once per
// distinct content.
func storeAttachments(tx *gorm.DB, m *Message, files []NewAttachment) error {
	for _, f := range files {
		sum := digest(f.Data)
		// GORM expands a slice bound right after "(" as a list, []byte included, so no byte
		// slice comes first in a VALUES list.
		if err := tx.Exec(`INSERT INTO blobs (size, sha256, data) VALUES (?, ?, ?) ON CONFLICT (sha256) DO NOTHING`,
			len(f.Data), sum, f.Data).Error; err != nil {
			return fmt.Errorf("store attachment: %w", err)
		}
		a := Attachment{
			MessageID: m.ID, BlobSHA256: sum, Filename: cleanFilename(f.Filename),
			ContentType: cleanContentType(f.ContentType), Size: int64(len(f.Data)),
			ContentID: cleanLine(f.ContentID), Inline: f.Inline,
		}
		err := tx.Raw(`INSERT INTO attachments (message_id, blob_sha256, filename, content_type, size, content_id, inline)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id, created_at`,
			a.MessageID, a.BlobSHA256, a.Filename, a.ContentType, a.Size, a.ContentID, a.Inline).Row().Scan(&a.ID, &a.CreatedAt)
		if err != nil {
			return fmt.Errorf("insert attachment: %w", err)
		}
		m.Attachments = append(m.Attachments, a)
	}
	return nil
}

// knownCategory accepts a category that some team takes. Categories are defined by the teams
// that handle them, so a ticket never carries a category nobody routes.
func knownCategory(tx *gorm.DB, category string) error {
	known, err := (&Staff{db: tx}).Categories(tx.Statement.Context)
	if err != nil {
		return err
	}
	if !slices.Contains(known, category) {
		if len(known) == 0 {
			return invalid("category", "no categories are defined: give teams the categories they handle first")
		}
		return invalid("category", "unknown category; one of: "+strings.Join(known, ", "))
	}
	return nil
}
