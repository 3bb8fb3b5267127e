package mailin_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"gorm.io/gorm"

	"github.com/openhelpdesk/helpdesk/internal/database"
	"github.com/openhelpdesk/helpdesk/internal/testdb"
	"github.com/openhelpdesk/helpdesk/mailin"
	"github.com/openhelpdesk/helpdesk/tickets"
)

var (
	db      *gorm.DB
	testDSN string
	keys    *mailin.Keyring
	unique  atomic.Int64
	quiet   = slog.New(slog.DiscardHandler)
)

// testKey seals the test mailboxes' passwords.
var testKey = bytes.Repeat([]byte{7}, 32)

func TestMain(m *testing.M) {
	if os.Getenv(crashHelperEnv) != "" {
		// This process is the ingester that the crash-safety test kills.
		os.Exit(crashHelper())
	}
	os.Exit(testdb.Main(m, func(dsn string) error {
		testDSN = dsn
		var err error
		if db, err = database.Open(context.Background(), dsn, database.Options{Logger: quiet}); err != nil {
			return err
		}
		keys, err = mailin.NewKeyring(testKey)
		return err
	}))
}

const (
	imapUser     = "support"
	imapPassword = "imap-s3cret-password"
)

// memIMAP is go-imap's in-memory IMAP server on a loopback port.
type memIMAP struct {
	addr   string
	user   *imapmemserver.User
	server *imapserver.Server
}

func newMemIMAP(t testing.TB) *memIMAP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := serveMemIMAP(ln)
	t.Cleanup(func() { s.server.Close() })
	return s
}

func serveMemIMAP(ln net.Listener) *memIMAP {
	mem := imapmemserver.New()
	user := imapmemserver.NewUser(imapUser, imapPassword)
	user.Create("INBOX", nil)
	mem.AddUser(user)
	server := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: true,
		Logger:       discardLogger{},
	})
	go server.Serve(ln)
	return &memIMAP{addr: ln.Addr().String(), user: user, server: server}
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

func (s *memIMAP) deliver(t testing.TB, folder string, raws ...[]byte) {
	t.Helper()
	for _, raw := range raws {
		if _, err := s.user.Append(folder, bytes.NewReader(raw), &imap.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// imapFlags returns the flags of every message in a folder, by UID, as an IMAP client sees them.
func imapFlags(t testing.TB, addr, folder string) map[imap.UID][]imap.Flag {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(imapUser, imapPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	sel, err := c.Select(folder, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	out := map[imap.UID][]imap.Flag{}
	if sel.NumMessages == 0 {
		return out
	}
	all, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range all {
		out[m.UID] = m.Flags
	}
	return out
}

func hasFlag(flags []imap.Flag, f imap.Flag) bool {
	for _, x := range flags {
		if x == f {
			return true
		}
	}
	return false
}

type mailboxOpts struct {
	folder      string
	afterImport mailin.AfterImport
	moveTo      string
	teamID      *int64
}

// addMailbox configures a mailbox on the IMAP server at addr with a unique name and address.
func addMailbox(t testing.TB, addr string, o mailboxOpts) *mailin.Mailbox {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	var p int
	fmt.Sscan(port, &p)
	n := unique.Add(1)
	m, err := mailin.NewMailboxes(db, keys).Add(context.Background(), mailin.NewMailbox{
		Name: fmt.Sprintf("Support %d", n), Address: fmt.Sprintf("support%d@help.example", n), TeamID: o.teamID,
		IMAP:   mailin.ServerSettings{Host: host, Port: p, TLS: mailin.TLSNone, Username: imapUser, Password: imapPassword},
		Folder: o.folder, AfterImport: o.afterImport, MoveTo: o.moveTo,
		SMTP: mailin.ServerSettings{Host: "127.0.0.1", Port: 2525, TLS: mailin.TLSNone},
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newDesk() *tickets.Desk { return tickets.NewDesk(db, tickets.Limits{}) }

func newRunner(desk *tickets.Desk, opts mailin.RunnerOptions) *mailin.Runner {
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	return mailin.NewRunner(db, desk, mailin.NewMailboxes(db, keys), opts)
}

func syncOnce(t testing.TB, r *mailin.Runner, m *mailin.Mailbox) mailin.SyncStats {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stats, err := r.SyncOnce(ctx, m.ID)
	if err != nil {
		t.Fatalf("sync %s: %v", m.Name, err)
	}
	return stats
}

// corpus reads a test email, filling in {{NAME}} placeholders.
func corpus(t testing.TB, name string, vars ...string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "corpus", name))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(vars); i += 2 {
		raw = bytes.ReplaceAll(raw, []byte("{{"+vars[i]+"}}"), []byte(vars[i+1]))
	}
	return raw
}

// simple builds a plain text email.
func simple(from, subject, messageID, body string, headers ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: support@help.example\r\nSubject: %s\r\nDate: Mon, 02 Mar 2026 10:00:00 +0100\r\n", from, subject)
	if messageID != "" {
		fmt.Fprintf(&b, "Message-ID: <%s>\r\n", messageID)
	}
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

func emailAddr(prefix string) string {
	return fmt.Sprintf("%s.%d@example.com", prefix, unique.Add(1))
}

func msgID(prefix string) string {
	return fmt.Sprintf("%s.%d.%d@mail.example.com", prefix, unique.Add(1), time.Now().UnixNano())
}
