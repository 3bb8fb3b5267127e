package demo

import (
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
)

// Statuses, in the order of tickets.Statuses.
const (
	stNew uint8 = iota
	stOpen
	stPending
	stOnHold
	stSolved
	stClosed
)

var statusNames = []string{"new", "open", "pending", "on-hold", "solved", "closed"}

// Message kinds.
const (
	kindInbound uint8 = iota
	kindReply
	kindNote
)

var kindNames = []string{"inbound", "reply", "note"}

// Event types the generator writes, with the payloads the application writes for them.
const (
	evTicketCreated uint8 = iota
	evMessageAdded
	evStatusChanged
	evAssigneeChanged
)

var eventTypes = []string{"ticket.created", "message.added", "ticket.status_changed", "ticket.assignee_changed"}

// Actor kinds.
const (
	actorCustomer uint8 = iota
	actorUser
	actorSystem
)

var actorKinds = []string{"customer", "user", "system"}

// autoCloseAfter mirrors the application's default HELPDESK_AUTOCLOSE_AFTER: solved tickets are
// closed by the system this long after they were solved.
const autoCloseReason = "solved for more than 96h0m0s"

const autoCloseAfter = 96 * microsPerHour

// plannedTicket is one ticket of a batch. Times are unix microseconds, 0 for NULL. References to
// customers, staff and teams are indexes into the loader's slices; ids are looked up when copying.
type plannedTicket struct {
	created, updated, solved, closed int64
	subject                          string
	status                           uint8
	urgency                          int16
	channel                          uint8
	customer                         int32
	assignee                         int32 // -1: none
	team                             int32 // -1: none
}

type plannedMessage struct {
	ticket int32 // index in the batch
	kind   uint8
	author int32 // staff index for replies and notes
	at     int64
	body   string
}

type plannedEvent struct {
	at     int64
	typ    uint8
	actor  uint8
	user   int32 // staff index when actor is a user
	ticket int32 // index in the batch
	// message index in the batch for message.added; for status changes from and to are statuses;
	// for assignee and team changes to is a staff or team index.
	message  int32
	from, to int32
}

// batch is a slice of the tickets with everything that belongs to them.
type batch struct {
	number   int
	first    int // index of the first ticket in the whole run
	tickets  []plannedTicket
	messages []plannedMessage
	events   []plannedEvent
	// Filled in when the batch's ids have been reserved.
	ticketIDs  []int64
	messageIDs []int64
}

// planner holds what all batches share. It is read-only once built, so batches are planned
// concurrently.
type planner struct {
	seed         int64
	total        int
	now          int64
	window       *curve
	customers    []customer
	custCreated  []int64 // customers' creation times, ascending, for picking who could write when
	staff        []staffer
	teamMembers  [][]int32 // staff indexes per team
	supervisors  []int32
	topicWeights []int
}

func newPlanner(seed int64, total int, now int64, window *curve, customers []customer, staff []staffer, nTeams int) *planner {
	p := &planner{seed: seed, total: total, now: now, window: window, customers: customers, staff: staff,
		teamMembers: make([][]int32, nTeams)}
	p.custCreated = make([]int64, len(customers))
	for i := range customers {
		p.custCreated[i] = customers[i].created
	}
	for i, s := range staff {
		for _, t := range s.teams {
			p.teamMembers[t] = append(p.teamMembers[t], int32(i))
		}
		if s.role == "supervisor" {
			p.supervisors = append(p.supervisors, int32(i))
		}
	}
	for _, t := range topics {
		p.topicWeights = append(p.topicWeights, t.weight)
	}
	return p
}

// ticketVars are the details a conversation keeps referring to.
type ticketVars struct {
	lang    int
	first   string
	full    string
	agent   string
	order   int
	invoice string
	amount  int // cents
	device  string
	days    int
	code    string
}

// step is one message after the first in a scripted conversation, with the status the author
// sets along with it (0xff: none, the application's default applies).
type step struct {
	kind   uint8
	status uint8
}

const noStatus = 0xff

// script is a conversation that leads to a final status: the messages after the customer's
// first, and how often it happens relative to the other scripts for that status.
type script struct {
	weight int
	steps  []step
}

// scripts are the conversations by final status. The status changes follow the application's
// rules: a reply to a new ticket opens it, a customer's message reopens a pending, on-hold or
// solved ticket. Most tickets are settled by the first answer; the weights keep the average near
// 1.8 messages and 1.6 status changes after the first message, because every row written costs
// load time (an event row carries three foreign keys to check).
var scripts = map[uint8][]script{
	stOpen: {
		{3, []step{{kindReply, noStatus}}},
		{2, []step{{kindReply, noStatus}, {kindInbound, noStatus}}},
		{1, []step{{kindNote, noStatus}, {kindReply, noStatus}}},
		{1, []step{{kindReply, stPending}, {kindInbound, noStatus}, {kindNote, noStatus}}},
		{1, []step{{kindReply, noStatus}, {kindInbound, noStatus}, {kindReply, noStatus}}},
	},
	stPending: {
		{3, []step{{kindReply, stPending}}},
		{1, []step{{kindNote, noStatus}, {kindReply, stPending}}},
		{1, []step{{kindReply, stPending}, {kindInbound, noStatus}, {kindReply, stPending}}},
	},
	stOnHold: {
		{2, []step{{kindNote, stOnHold}}},
		{2, []step{{kindReply, noStatus}, {kindNote, stOnHold}}},
		{1, []step{{kindReply, stPending}, {kindInbound, noStatus}, {kindNote, stOnHold}}},
	},
	stSolved: {
		{5, []step{{kindReply, stSolved}}},
		{1, []step{{kindNote, noStatus}, {kindReply, stSolved}}},
		{1, []step{{kindReply, noStatus}, {kindReply, stSolved}}},
		{2, []step{{kindReply, stPending}, {kindInbound, noStatus}, {kindReply, stSolved}}},
		{1, []step{{kindReply, noStatus}, {kindInbound, noStatus}, {kindReply, stSolved}}},
	},
}

// scriptWeights holds the weights of scripts, for pickWeighted.
var scriptWeights = func() map[uint8][]int {
	w := map[uint8][]int{}
	for st, ss := range scripts {
		for _, s := range ss {
			w[st] = append(w[st], s.weight)
		}
	}
	return w
}()

// plan generates batch number b, tickets [first, first+n) of the run.
func (p *planner) plan(b, first, n int) *batch {
	rng := newRand(p.seed, streamTickets+uint64(b))
	bt := &batch{number: b, first: first,
		tickets:  make([]plannedTicket, 0, n),
		messages: make([]plannedMessage, 0, 3*n),
		events:   make([]plannedEvent, 0, 6*n),
	}
	var sb strings.Builder
	for i := first; i < first+n; i++ {
		p.planTicket(rng, bt, i, &sb)
	}
	return bt
}

func (p *planner) planTicket(rng *rand.Rand, bt *batch, i int, sb *strings.Builder) {
	ti := int32(len(bt.tickets))
	created := p.window.at((float64(i) + rng.Float64()) / float64(p.total))
	created = min(created, p.now)
	age := p.now - created

	// Anyone who was a customer by then may write; recent customers most likely, as a new
	// customer usually arrives with a question.
	k := sort.Search(len(p.custCreated), func(j int) bool { return p.custCreated[j] > created })
	k = max(k, 1)
	u := rng.Float64()
	ci := k - 1 - int(float64(k)*u*u)
	ci = min(max(ci, 0), k-1)
	c := &p.customers[ci]

	tp := &topics[pickWeighted(rng, p.topicWeights)]
	v := ticketVars{
		lang:   int(c.lang),
		first:  c.givenName().text,
		full:   c.fullName(),
		order:  4_000_000 + rng.IntN(6_000_000),
		amount: 990 + rng.IntN(49_000),
		device: pick(rng, devices[c.lang]),
		days:   3 + rng.IntN(12),
		code:   pick(rng, errorCodes),
	}
	year := strconv.Itoa(timeOf(created).Year())
	if v.lang == langES {
		v.invoice = "F" + year + "-" + pad(int64(rng.IntN(100_000)), 5)
	} else {
		v.invoice = "INV-" + year + "-" + pad(int64(rng.IntN(100_000)), 5)
	}

	t := plannedTicket{
		created:  created,
		subject:  fill(sb, pick(rng, tp.subjects[v.lang]), &v),
		urgency:  int16(pickWeighted(rng, urgencyWeights) + 1),
		channel:  uint8(pickWeighted(rng, channelWeights)),
		customer: int32(ci),
		assignee: -1,
		team:     -1,
	}
	if channelNames[t.channel] == "phone" && !c.phone {
		t.channel = 0 // email: they can hardly have phoned from a number we don't have
	}

	// Final status: what is still in progress depends on how old the ticket is.
	final := stSolved
	if rng.Float64() < activeShare(age) {
		if age < microsPerDay {
			final = uint8(pickWeighted(rng, []int{45, 30, 18, 7}))
		} else {
			final = uint8(pickWeighted(rng, []int{8, 40, 37, 15}))
		}
	}

	// Routing: intake puts the ticket in the topic's team (the form's department, the mailbox it
	// came to), now and then in another one; a few new tickets still wait to be triaged.
	team := tp.team
	if rng.IntN(100) < 12 {
		team = rng.IntN(len(p.teamMembers))
	}
	if len(p.teamMembers[team]) > 0 && (final != stNew || rng.IntN(100) < 80) {
		t.team = int32(team)
	}
	switch {
	case t.team < 0:
		final = stNew // nobody could have worked on it
	case final != stNew && rng.IntN(100) < 96:
		t.assignee = pick(rng, p.teamMembers[team])
	}
	bt.events = append(bt.events, plannedEvent{at: created, typ: evTicketCreated, actor: actorCustomer, ticket: ti, user: -1})
	bt.messages = append(bt.messages, plannedMessage{ticket: ti, kind: kindInbound, author: -1, at: created,
		body: inboundBody(rng, sb, tp, &v, rng.IntN(100) < 75)})

	if final == stNew {
		t.status = stNew
		t.updated = created
		bt.tickets = append(bt.tickets, t)
		return
	}

	// Who writes for us: the assignee, or someone of the team covering for nobody in particular.
	replier := t.assignee
	if replier < 0 {
		replier = pick(rng, p.teamMembers[t.team])
	}
	v.agent = p.staff[replier].given

	script := scripts[final][pickWeighted(rng, scriptWeights[final])].steps
	// Lay the conversation out in time.
	times := make([]int64, len(script))
	at := created
	prev := kindInbound
	for s, st := range script {
		switch {
		case s == 0 && st.kind != kindInbound:
			at += delay(rng, 2*microsPerHour, 3*microsPerMinute, 3*microsPerDay)
		case st.kind == kindInbound:
			at += delay(rng, 8*microsPerHour, 10*microsPerMinute, 4*microsPerDay)
		case st.kind == kindNote:
			at += delay(rng, 40*microsPerMinute, 2*microsPerMinute, microsPerDay)
		case prev == kindNote:
			at += delay(rng, microsPerHour, 5*microsPerMinute, microsPerDay)
		default:
			at += delay(rng, 3*microsPerHour, 10*microsPerMinute, 2*microsPerDay)
		}
		times[s] = at
		prev = st.kind
	}
	assignAt := created + int64((0.1+0.8*rng.Float64())*float64(times[0]-created))
	// Nothing may happen after now: squeeze the conversation of a young ticket into its age.
	last := times[len(times)-1]
	limit := p.now - microsPerMinute
	if last > limit {
		span := max(limit-created, 0)
		scale := float64(span) / float64(last-created)
		for s := range times {
			times[s] = created + int64(float64(times[s]-created)*scale)
		}
		assignAt = created + int64(float64(assignAt-created)*scale)
		last = times[len(times)-1]
	}

	// Assignment comes before the first answer: by a supervisor, or the agent taking it.
	if t.assignee >= 0 {
		user := t.assignee
		if len(p.supervisors) > 0 && rng.IntN(100) < 40 {
			user = pick(rng, p.supervisors)
		}
		bt.events = append(bt.events, plannedEvent{at: assignAt, typ: evAssigneeChanged, actor: actorUser, user: user, ticket: ti, from: -1, to: t.assignee})
	}

	status := stNew
	firstReply := true
	for s, st := range script {
		mi := int32(len(bt.messages))
		m := plannedMessage{ticket: ti, kind: st.kind, author: replier, at: times[s]}
		next := status
		switch st.kind {
		case kindInbound:
			m.author = -1
			if status == stPending || status == stOnHold || status == stSolved {
				next = stOpen
			}
			m.body = followUpBody(rng, sb, &v)
		case kindReply:
			switch {
			case st.status != noStatus:
				next = st.status
			case status == stNew:
				next = stOpen
			}
			m.body = replyBody(rng, sb, tp, &v, next, firstReply)
			firstReply = false
		case kindNote:
			if st.status != noStatus {
				next = st.status
			}
			if len(p.supervisors) > 0 && rng.IntN(100) < 25 {
				m.author = pick(rng, p.supervisors)
			}
			if next == stOnHold {
				m.body = pick(rng, holdNotes)
			} else {
				m.body = pick(rng, notes)
			}
		}
		bt.messages = append(bt.messages, m)
		ev := plannedEvent{at: m.at, typ: evMessageAdded, actor: actorUser, user: m.author, ticket: ti, message: mi}
		if st.kind == kindInbound {
			ev.actor, ev.user = actorCustomer, -1
		}
		bt.events = append(bt.events, ev)
		if next != status {
			ev.typ, ev.from, ev.to = evStatusChanged, int32(status), int32(next)
			bt.events = append(bt.events, ev)
			if next == stSolved {
				t.solved = m.at
			}
			status = next
		}
	}
	t.status = status
	t.updated = last
	if status == stSolved {
		// The auto-close sweep runs every few minutes; a ticket solved long enough ago is closed.
		closeAt := t.solved + autoCloseAfter + int64(rng.IntN(int(10*microsPerMinute)))
		if closeAt <= p.now {
			t.status, t.closed, t.updated = stClosed, closeAt, closeAt
			bt.events = append(bt.events, plannedEvent{at: closeAt, typ: evStatusChanged, actor: actorSystem, user: -1, ticket: ti, from: int32(stSolved), to: int32(stClosed)})
		}
	}
	bt.tickets = append(bt.tickets, t)
}
