package web

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/mailin"
	"github.com/openhelpdesk/helpdesk/mailout"
	"github.com/openhelpdesk/helpdesk/tickets"
)

// MailDeps is what the email routes need: the mailboxes, the quarantine, and the database the
// outbox's delivery status is read from.
type MailDeps struct {
	Mailboxes  *mailin.Mailboxes
	Quarantine *mailin.Quarantine
	DB         *gorm.DB
}

// mail returns the email channel, or an error saying it is not set up on this server.
func (s *server) mail() (*MailDeps, error) {
	if s.Mail == nil {
		return nil, &tickets.ConflictError{Field: "email", Message: "the email channel is not set up on this server"}
	}
	return s.Mail, nil
}

type serverJSON struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	TLS      string `json:"tls"`
	Username string `json:"username"`
}

type imapJSON struct {
	serverJSON
	Folder      string `json:"folder"`
	AfterImport string `json:"after_import"`
	MoveTo      string `json:"move_to"`
}

// mailboxJSON never carries a password, sealed or not.
type mailboxJSON struct {
	ID            int64      `json:"id"`
	Name          string     `json:"name"`
	Address       string     `json:"address"`
	TeamID        *int64     `json:"team_id"`
	Enabled       bool       `json:"enabled"`
	IMAP          imapJSON   `json:"imap"`
	SMTP          serverJSON `json:"smtp"`
	UIDValidity   uint32     `json:"uid_validity"`
	LastUID       uint32     `json:"last_uid"`
	LastError     string     `json:"last_error"`
	LastCheckedAt *time.Time `json:"last_checked_at"`
	CreatedAt     time.Time  `json:"created_at"`
}

func newMailboxJSON(m *mailin.Mailbox) mailboxJSON {
	return mailboxJSON{
		ID: m.ID, Name: m.Name, Address: m.Address, TeamID: m.TeamID, Enabled: m.Enabled,
		IMAP: imapJSON{
			serverJSON: serverJSON{Host: m.IMAPHost, Port: m.IMAPPort, TLS: string(m.IMAPTLS), Username: m.IMAPUsername},
			Folder:     m.Folder, AfterImport: string(m.AfterImport), MoveTo: m.MoveTo,
		},
		SMTP:        serverJSON{Host: m.SMTPHost, Port: m.SMTPPort, TLS: string(m.SMTPTLS), Username: m.SMTPUsername},
		UIDValidity: m.UIDValidity, LastUID: m.LastUID, LastError: m.LastError,
		LastCheckedAt: utc(m.LastCheckedAt), CreatedAt: m.CreatedAt.UTC(),
	}
}

type serverRequest struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	TLS      string `json:"tls"`
	Username string `json:"username"`
	Password string `json:"password"`
}

type createMailboxRequest struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	TeamID  *int64 `json:"team_id"`
	IMAP    struct {
		serverRequest
		Folder      string `json:"folder"`
		AfterImport string `json:"after_import"`
		MoveTo      string `json:"move_to"`
	} `json:"imap"`
	SMTP serverRequest `json:"smtp"`
}

func (s *server) apiCreateMailbox(c *fiber.Ctx) error {
	mail, err := s.mail()
	if err != nil {
		return err
	}
	var req createMailboxRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	m, err := mail.Mailboxes.Add(c.UserContext(), mailin.NewMailbox{
		Name: req.Name, Address: req.Address, TeamID: req.TeamID,
		IMAP: mailin.ServerSettings{
			Host: req.IMAP.Host, Port: req.IMAP.Port, TLS: mailin.TLSMode(req.IMAP.TLS),
			Username: req.IMAP.Username, Password: req.IMAP.Password,
		},
		Folder: req.IMAP.Folder, AfterImport: mailin.AfterImport(req.IMAP.AfterImport), MoveTo: req.IMAP.MoveTo,
		SMTP: mailin.ServerSettings{
			Host: req.SMTP.Host, Port: req.SMTP.Port, TLS: mailin.TLSMode(req.SMTP.TLS),
			Username: req.SMTP.Username, Password: req.SMTP.Password,
		},
	})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(newMailboxJSON(m))
}

func (s *server) apiListMailboxes(c *fiber.Ctx) error {
	mail, err := s.mail()
	if err != nil {
		return err
	}
	list, err := mail.Mailboxes.List(c.UserContext())
	if err != nil {
		return err
	}
	out := make([]mailboxJSON, len(list))
	for i := range list {
		out[i] = newMailboxJSON(&list[i])
	}
	return c.JSON(fiber.Map{"items": out})
}

// deliveryJSON is how sending a reply by email went, shown on the message to the agent.
type deliveryJSON struct {
	Status   string     `json:"status"`
	Error    string     `json:"error"`
	Attempts int        `json:"attempts"`
	To       []string   `json:"to"`
	SentAt   *time.Time `json:"sent_at"`
}

// addDeliveries puts the email delivery status on the messages that were sent by email.
func (s *server) addDeliveries(c *fiber.Ctx, d *ticketDetailJSON) error {
	if s.Mail == nil || len(d.Messages) == 0 {
		return nil
	}
	ids := make([]int64, len(d.Messages))
	for i, m := range d.Messages {
		ids[i] = m.ID
	}
	deliveries, err := mailout.Deliveries(c.UserContext(), s.Mail.DB, ids)
	if err != nil {
		return err
	}
	for i := range d.Messages {
		if dl, ok := deliveries[d.Messages[i].ID]; ok {
			d.Messages[i].Delivery = &deliveryJSON{Status: dl.Status, Error: dl.Error, Attempts: dl.Attempts, To: dl.To, SentAt: utc(dl.SentAt)}
		}
	}
	return nil
}
