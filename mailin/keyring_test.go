package mailin_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/openhelpdesk/helpdesk/mailin"
	"github.com/openhelpdesk/helpdesk/tickets"
)

// Passwords are stored sealed: the bytes in the database do not hold them, they open only with
// the key, and a rotation (new key, old key kept for reading) reseals them.
func TestMailboxPasswordsAreSealed(t *testing.T) {
	m := addMailbox(t, "127.0.0.1:1", mailboxOpts{})
	var stored []byte
	db.Raw(`SELECT imap_password FROM mailboxes WHERE id = ?`, m.ID).Row().Scan(&stored)
	if len(stored) == 0 || bytes.Contains(stored, []byte(imapPassword)) {
		t.Fatalf("stored password %q", stored)
	}
	boxes := mailin.NewMailboxes(db, keys)
	got, err := boxes.Get(context.Background(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if pw, err := boxes.IMAPPassword(got); err != nil || pw != imapPassword {
		t.Errorf("open: %q %v", pw, err)
	}
	other, _ := mailin.NewKeyring(bytes.Repeat([]byte{9}, 32))
	if _, err := mailin.NewMailboxes(db, other).IMAPPassword(got); err == nil || strings.Contains(err.Error(), imapPassword) {
		t.Errorf("another key opened it: %v", err)
	}
	none, _ := mailin.NewKeyring(nil)
	if _, err := mailin.NewMailboxes(db, none).IMAPPassword(got); !errors.Is(err, mailin.ErrNoKey) {
		t.Errorf("no key: %v", err)
	}

	// Rotation: the new key seals, the old one still opens, Rekey reseals with the new key.
	newKey := bytes.Repeat([]byte{8}, 32)
	rotating, err := mailin.NewKeyring(newKey, testKey)
	if err != nil {
		t.Fatal(err)
	}
	rb := mailin.NewMailboxes(db, rotating)
	if pw, err := rb.IMAPPassword(got); err != nil || pw != imapPassword {
		t.Fatalf("open with the old key during rotation: %v", err)
	}
	if n, err := rb.Rekey(context.Background()); err != nil || n == 0 {
		t.Fatalf("rekey: %d %v", n, err)
	}
	onlyNew, _ := mailin.NewKeyring(newKey)
	resealed, _ := mailin.NewMailboxes(db, onlyNew).Get(context.Background(), m.ID)
	if pw, err := mailin.NewMailboxes(db, onlyNew).IMAPPassword(resealed); err != nil || pw != imapPassword {
		t.Errorf("after rekey the new key alone does not open it: %v", err)
	}
	// Put the test key back for the other tests.
	back, _ := mailin.NewKeyring(testKey, newKey)
	mailin.NewMailboxes(db, back).Rekey(context.Background())
}

func TestAddMailboxValidates(t *testing.T) {
	boxes := mailin.NewMailboxes(db, keys)
	_, err := boxes.Add(context.Background(), mailin.NewMailbox{
		Address: "not an address", IMAP: mailin.ServerSettings{Host: "bad host/x", Port: 70000, TLS: "ssl"},
		AfterImport: mailin.AfterMove, SMTP: mailin.ServerSettings{Password: "x"},
	})
	var v *tickets.ValidationError
	if !errors.As(err, &v) {
		t.Fatalf("err = %v", err)
	}
	for _, field := range []string{"name", "address", "imap.host", "imap.tls", "imap.port", "imap.username", "imap.password", "smtp.host", "smtp.username", "imap.move_to"} {
		if v.Message(field) == "" {
			t.Errorf("no complaint about %s: %v", field, err)
		}
	}
	m := addMailbox(t, "127.0.0.1:1", mailboxOpts{})
	_, err = boxes.Add(context.Background(), mailin.NewMailbox{
		Name: strings.ToUpper(m.Name), Address: "other@help.example",
		IMAP: mailin.ServerSettings{Host: "imap.example.com", Username: "u", Password: "p"},
		SMTP: mailin.ServerSettings{Host: "smtp.example.com"},
	})
	var c *tickets.ConflictError
	if !errors.As(err, &c) || c.Field != "name" {
		t.Errorf("duplicate name: %v", err)
	}
	noKey, _ := mailin.NewKeyring(nil)
	_, err = mailin.NewMailboxes(db, noKey).Add(context.Background(), mailin.NewMailbox{
		Name: "No key", Address: "nokey@help.example",
		IMAP: mailin.ServerSettings{Host: "imap.example.com", Username: "u", Password: "p"},
		SMTP: mailin.ServerSettings{Host: "smtp.example.com"},
	})
	if !errors.As(err, &c) || !strings.Contains(c.Message, "HELPDESK_ENCRYPTION_KEY") {
		t.Errorf("without a key: %v", err)
	}
}
