package tickets

import (
	"encoding/json"
	"fmt"
	"time"
)

// User is a member of staff.
type User struct {
	ID           int64
	Email        string
	Name         string
	Role         Role
	PasswordHash *string
	CreatedAt    time.Time
	DisabledAt   *time.Time
	// Routing: what the agent can take and how much of it.
	Languages        Strings
	Categories       Strings
	MaxActiveTickets int
	HandlesVIP       bool `gorm:"column:handles_vip"`
	Available        bool
	LastAssignedAt   *time.Time
	Locale           string // "en", "es", or "" to follow the browser
}

// Team is a group of users that a ticket can be given to as a whole.
type Team struct {
	ID         int64
	Name       string
	Categories Strings // the ticket categories this team takes
	CreatedAt  time.Time
	MemberIDs  []int64 `gorm:"-"`
}

// Customer is the one record of a person or company we serve.
type Customer struct {
	ID           int64
	Name         string
	Kind         CustomerKind
	Organization string
	ExternalID   *string
	Notes        string
	Attributes   json.RawMessage `gorm:"type:jsonb"` // custom fields, a JSON object
	FirstSeenAt  time.Time
	MergedIntoID *int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
	Identities   []Identity `gorm:"foreignKey:CustomerID"`
}

// Identity is an address or phone number that belongs to one customer.
type Identity struct {
	ID         int64
	CustomerID int64
	Kind       string // "email" or "phone"
	Value      string
	CreatedAt  time.Time
}

// TableName keeps the table name explicit.
func (Identity) TableName() string { return "customer_identities" }

// Ticket is one problem a customer brought to us.
type Ticket struct {
	ID         int64
	Subject    string
	Status     Status
	Urgency    Level
	Priority   Level
	Channel    Channel
	CustomerID int64
	AssigneeID *int64
	TeamID     *int64
	Category   string
	Language   string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	SolvedAt   *time.Time
	ClosedAt   *time.Time
}

// Ref is the reference customers quote, and the token in the subjects of our emails.
func (t *Ticket) Ref() string { return Ref(t.ID) }

// Ref formats a ticket id as its reference.
func Ref(id int64) string { return fmt.Sprintf("#%d", id) }

// Message is one entry in a ticket's conversation.
type Message struct {
	ID               int64
	TicketID         int64
	Kind             MessageKind
	AuthorUserID     *int64
	AuthorCustomerID *int64
	BodyText         string
	// BodyHTML is already sanitized; it is safe to put in a page.
	BodyHTML    string
	CreatedAt   time.Time
	Attachments []Attachment `gorm:"foreignKey:MessageID"`
}

// Attachment describes a file that came with a message. The bytes live in blobs.
type Attachment struct {
	ID          int64
	MessageID   int64
	BlobSHA256  []byte `gorm:"column:blob_sha256"`
	Filename    string
	ContentType string
	Size        int64
	ContentID   string
	Inline      bool
	CreatedAt   time.Time
}

// blob is the stored content of an attachment.
type blob struct {
	SHA256 []byte `gorm:"column:sha256;primaryKey"`
	Size   int64
	Data   []byte
}

func (blob) TableName() string { return "blobs" }

// Event is one entry of the audit trail: who did what to which ticket or customer, and when.
type Event struct {
	ID              int64
	CreatedAt       time.Time
	ActorKind       string
	ActorUserID     *int64
	ActorCustomerID *int64
	TicketID        *int64
	CustomerID      *int64
	Type            string
	Data            json.RawMessage `gorm:"type:jsonb"`
}

// Event types.
const (
	EventTicketCreated    = "ticket.created"
	EventCustomerCreated  = "customer.created"
	EventMessageAdded     = "message.added"
	EventStatusChanged    = "ticket.status_changed"
	EventPriorityChanged  = "ticket.priority_changed"
	EventAssigneeChanged  = "ticket.assignee_changed"
	EventTeamChanged      = "ticket.team_changed"
	EventSubjectChanged   = "ticket.subject_changed"
	EventUserCreated      = "user.created"
	EventTokenCreated     = "token.created"
	EventTokenRevoked     = "token.revoked"
	EventTeamCreated      = "team.created"
	EventTeamMemberAdded  = "team.member_added"
	EventTeamMemberRemove = "team.member_removed"
	EventSettingsChanged  = "settings.changed"
	EventTierChanged      = "customer.tier_changed"
	EventCustomerUpdated  = "customer.updated"
	EventCustomersMerged  = "customer.merged"
	EventIdentityAdded    = "customer.identity_added"
	EventPurchaseAdded    = "customer.purchase_added"
	EventPurchasesImport  = "purchases.imported"
	EventUserUpdated      = "user.updated"
	EventTeamUpdated      = "team.updated"
	EventPasswordChanged  = "user.password_changed"
)

// Actor is who causes a change: a member of staff, a customer, or the system itself.
type Actor struct {
	Kind       string // "user", "customer" or "system"
	UserID     int64
	CustomerID int64
}

// StaffActor is a change made by user id.
func StaffActor(id int64) Actor { return Actor{Kind: "user", UserID: id} }

// CustomerActor is a change made by customer id.
func CustomerActor(id int64) Actor { return Actor{Kind: "customer", CustomerID: id} }

// SystemActor is a change made by the help desk itself (sweeps, rules).
var SystemActor = Actor{Kind: "system"}
