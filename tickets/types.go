package tickets

import (
	"fmt"
	"slices"
)

// Status is where a ticket stands in its life.
type Status string

// The statuses, in the order a ticket usually passes through them.
const (
	StatusNew     Status = "new"     // nobody on our side has touched it
	StatusOpen    Status = "open"    // we are working on it
	StatusPending Status = "pending" // waiting on the customer
	StatusOnHold  Status = "on-hold" // waiting on a third party
	StatusSolved  Status = "solved"  // we believe it is done; the customer can still reopen it
	StatusClosed  Status = "closed"  // final; a new message starts a follow-up ticket
)

// Statuses lists every status.
var Statuses = []Status{StatusNew, StatusOpen, StatusPending, StatusOnHold, StatusSolved, StatusClosed}

// transitions holds where each status may go. Nothing goes back to new, and closed is final, so
// that reports on "first touched" and "closed" stay true.
var transitions = map[Status][]Status{
	StatusNew:     {StatusOpen, StatusPending, StatusOnHold, StatusSolved},
	StatusOpen:    {StatusPending, StatusOnHold, StatusSolved},
	StatusPending: {StatusOpen, StatusOnHold, StatusSolved},
	StatusOnHold:  {StatusOpen, StatusPending, StatusSolved},
	StatusSolved:  {StatusOpen, StatusClosed},
	StatusClosed:  nil,
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// CanBecome reports whether a ticket in status s may move to next.
func (s Status) CanBecome(next Status) bool { return slices.Contains(transitions[s], next) }

// ParseStatus validates a status named by a person or a client.
func ParseStatus(s string) (Status, error) {
	st := Status(s)
	if !st.Valid() {
		return "", fmt.Errorf("unknown status %q (one of new, open, pending, on-hold, solved, closed)", s)
	}
	return st, nil
}

// Level is an urgency or priority: how soon something must happen. Stored as 1..4 so that queues
// sort on an integer.
type Level int16

// The levels, lowest first.
const (
	Low    Level = 1
	Normal Level = 2
	High   Level = 3
	Urgent Level = 4
)

var levelNames = map[Level]string{Low: "low", Normal: "normal", High: "high", Urgent: "urgent"}

// String names the level.
func (l Level) String() string {
	if n, ok := levelNames[l]; ok {
		return n
	}
	return fmt.Sprintf("level(%d)", int16(l))
}

// Valid reports whether l is one of the four levels.
func (l Level) Valid() bool { return l >= Low && l <= Urgent }

// ParseLevel reads a level name.
func ParseLevel(s string) (Level, error) {
	for l, n := range levelNames {
		if n == s {
			return l, nil
		}
	}
	return 0, fmt.Errorf("unknown level %q (one of low, normal, high, urgent)", s)
}

// Channel is how a ticket reached us.
type Channel string

// The channels.
const (
	ChannelWeb   Channel = "web"
	ChannelEmail Channel = "email"
	ChannelAPI   Channel = "api"
	ChannelPhone Channel = "phone"
)

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool {
	return c == ChannelWeb || c == ChannelEmail || c == ChannelAPI || c == ChannelPhone
}

// MessageKind says who wrote a message and who may read it.
type MessageKind string

// The message kinds.
const (
	MessageInbound MessageKind = "inbound" // from the customer
	MessageReply   MessageKind = "reply"   // public answer from staff; the customer gets it
	MessageNote    MessageKind = "note"    // internal; customers never see it
)

// Role is what a staff user may do. Each role includes the ones below it.
type Role string

// The roles, most powerful first.
const (
	RoleAdmin      Role = "admin"
	RoleSupervisor Role = "supervisor"
	RoleAgent      Role = "agent"
)

var roleRank = map[Role]int{RoleAgent: 1, RoleSupervisor: 2, RoleAdmin: 3}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return roleRank[r] > 0 }

// Includes reports whether someone with role r may do what role other may.
func (r Role) Includes(other Role) bool { return roleRank[r] >= roleRank[other] && roleRank[other] > 0 }

// CustomerKind is the relation a customer record stands for.
type CustomerKind string

// The customer kinds, as the CRM model names them.
const (
	KindCustomer CustomerKind = "customer"
	KindProspect CustomerKind = "prospect"
	KindPartner  CustomerKind = "partner"
	KindEmployee CustomerKind = "employee"
	KindSupplier CustomerKind = "supplier"
)

// Valid reports whether k is a known kind.
func (k CustomerKind) Valid() bool {
	switch k {
	case KindCustomer, KindProspect, KindPartner, KindEmployee, KindSupplier:
		return true
	}
	return false
}
