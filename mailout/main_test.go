package mailout_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/internal/database"
	"github.com/openhelpdesk/helpdesk/internal/testdb"
	"github.com/openhelpdesk/helpdesk/mailin"
	"github.com/openhelpdesk/helpdesk/mailout"
	"github.com/openhelpdesk/helpdesk/tickets"
)

var (
	db     *gorm.DB
	keys   *mailin.Keyring
	unique atomic.Int64
	quiet  = slog.New(slog.DiscardHandler)
)

func TestMain(m *testing.M) {
	os.Exit(testdb.Main(m, func(dsn string) error {
		var err error
		if db, err = database.Open(context.Background(), dsn, database.Options{Logger: quiet}); err != nil {
			return err
		}
		keys, err = mailin.NewKeyring(bytes.Repeat([]byte{5}, 32))
		return err
	}))
}

// received is a message the test SMTP server accepted.
type received struct {
	From string
	To   []string
	Raw  []byte
	Msg  *mail.Message
	Body string
}

// smtpServer is go-smtp's server on a loopback port, keeping what it receives. fail, when set,
// answers a RCPT with an error.
type smtpServer struct {
	addr string
	srv  *smtp.Server

	mu       sync.Mutex
	messages []received
	fail     func(rcpt string) error
	user     string
	password string
}

func newSMTPServer(t testing.TB) *smtpServer {
	t.Helper()
	s := &smtpServer{}
	s.srv = smtp.NewServer(s)
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.MaxMessageBytes = 64 << 20
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	go s.srv.Serve(ln)
	t.Cleanup(func() { s.srv.Close() })
	return s
}

func (s *smtpServer) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{s: s}, nil }

func (s *smtpServer) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.messages...)
}

type smtpSession struct {
	s      *smtpServer
	from   string
	to     []string
	authed bool
}

func (ss *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, password string) error {
		if user != ss.s.user || password != ss.s.password {
			return errors.New("invalid credentials")
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.user != "" && !ss.authed {
		return &smtp.SMTPError{Code: 530, Message: "authentication required"}
	}
	ss.from = from
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	fail := ss.s.fail
	ss.s.mu.Unlock()
	if fail != nil {
		if err := fail(to); err != nil {
			return err
		}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	ss.s.messages = append(ss.s.messages, received{From: ss.from, To: ss.to, Raw: raw, Msg: msg})
	ss.s.mu.Unlock()
	return nil
}

func (ss *smtpSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *smtpSession) Logout() error { return nil }

// addMailbox configures a mailbox sending through the SMTP server at addr.
func addMailbox(t testing.TB, smtpAddr, user, password string) *mailin.Mailbox {
	t.Helper()
	host, port, _ := net.SplitHostPort(smtpAddr)
	var p int
	fmt.Sscan(port, &p)
	n := unique.Add(1)
	m, err := mailin.NewMailboxes(db, keys).Add(context.Background(), mailin.NewMailbox{
		Name: fmt.Sprintf("Support %d", n), Address: fmt.Sprintf("support%d@help.example", n),
		IMAP: mailin.ServerSettings{Host: "127.0.0.1", Port: 1, TLS: mailin.TLSNone, Username: "u", Password: "p"},
		SMTP: mailin.ServerSettings{Host: host, Port: p, TLS: mailin.TLSNone, Username: user, Password: password},
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// newDesk is a desk with the outgoing mail hook, as serve wires it.
func newDesk(ackLimit int) *tickets.Desk {
	desk := tickets.NewDesk(db, tickets.Limits{})
	desk.AddHook(mailout.New(mailout.Options{AckLimit: ackLimit, Logger: quiet,
		TicketURL: func(id int64) string { return fmt.Sprintf("https://help.example/support?t=%d", id) }}).Hook)
	return desk
}

func newSender(opts mailout.SenderOptions) *mailout.Sender {
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	return mailout.NewSender(db, mailin.NewMailboxes(db, keys), opts)
}

// ingest takes raw emails into the desk as the mailbox's IMAP loop would.
func ingest(t testing.TB, desk *tickets.Desk, mbox *mailin.Mailbox, raws ...[]byte) []mailin.Result {
	t.Helper()
	var msgs []mailin.Fetched
	for i, raw := range raws {
		msgs = append(msgs, mailin.Fetched{UID: uint32(unique.Add(1) + int64(i)), Size: int64(len(raw)), Raw: raw})
	}
	res, err := mailin.NewIngester(db, desk, mailin.Options{Logger: quiet}).IngestBatch(context.Background(), mbox, 1, msgs)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func email(prefix string) string { return fmt.Sprintf("%s.%d@example.com", prefix, unique.Add(1)) }

func msgID(prefix string) string {
	return fmt.Sprintf("%s.%d.%d@mail.example.com", prefix, unique.Add(1), time.Now().UnixNano())
}

func simple(from, subject, messageID, body string, headers ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: support@help.example\r\nSubject: %s\r\nDate: Mon, 02 Mar 2026 10:00:00 +0100\r\nMessage-ID: <%s>\r\n", from, subject, messageID)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n")
	return []byte(b.String())
}

func count(t testing.TB, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.Raw(query, args...).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func sendDue(t testing.TB, s *mailout.Sender) mailout.SendStats {
	t.Helper()
	stats, err := s.SendDue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return stats
}

func newAgent(t testing.TB) *tickets.User {
	t.Helper()
	u, err := tickets.NewStaff(db).CreateUser(context.Background(), tickets.SystemActor, tickets.NewUser{Email: email("agent"), Name: "Agent Smith", Role: tickets.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	return u
}
