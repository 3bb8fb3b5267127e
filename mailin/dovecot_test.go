package mailin_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/openhelpdesk/helpdesk/mailin"
)

// dovecot is a real Dovecot serving IMAP on a loopback port, configured in a temporary
// directory, with one user whose mail is a Maildir there.
type dovecot struct {
	addr    string
	maildir string // the user's Maildir (cur, new, tmp)
	uid     int    // owner of the mail files
	gid     int
}

// startDovecot runs Dovecot for the test. Without Dovecot installed the test is skipped, except
// in CI (CI set), where .ci/run installs it and a skip would hide a broken setup.
func startDovecot(t testing.TB) *dovecot {
	t.Helper()
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		for _, p := range []string{"/usr/sbin/dovecot", "/usr/local/sbin/dovecot"} {
			if _, statErr := os.Stat(p); statErr == nil {
				bin, err = p, nil
			}
		}
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("dovecot is not installed (apt-get install dovecot-imapd)")
		}
		t.Skip("dovecot is not installed (apt-get install dovecot-imapd)")
	}
	dir, err := os.MkdirTemp("", "helpdesk-dovecot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// Dovecot's unprivileged processes must be able to enter the directory.
	os.Chmod(dir, 0o755)

	// As root, Dovecot drops privileges to the users its Debian package creates; as anyone
	// else, every process runs as that user.
	loginUser, internalUser, mailUser := currentUser(), currentUser(), currentUser()
	if os.Geteuid() == 0 {
		loginUser, internalUser, mailUser = "dovenull", "dovecot", "dovecot"
	}
	mu, err := user.Lookup(mailUser)
	if err != nil {
		t.Fatalf("dovecot: user %s: %v", mailUser, err)
	}
	uid, _ := strconv.Atoi(mu.Uid)
	gid, _ := strconv.Atoi(mu.Gid)
	mail := filepath.Join(dir, "mail")
	maildir := filepath.Join(mail, imapUser)
	for _, d := range []string{filepath.Join(dir, "run"), filepath.Join(dir, "state"), mail, maildir,
		filepath.Join(maildir, "cur"), filepath.Join(maildir, "new"), filepath.Join(maildir, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chown(d, uid, gid)
	}
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte(imapUser+":{PLAIN}"+imapPassword+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	group := mu.Gid
	if g, err := user.LookupGroupId(mu.Gid); err == nil {
		group = g.Name
	}
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
listen = 127.0.0.1
protocols = imap
first_valid_uid = 1
default_login_user = %[2]s
default_internal_user = %[3]s
default_internal_group = %[6]s
mail_location = maildir:%[1]s/mail/%%u
mail_fsync = never
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/passwd
}
userdb {
  driver = static
  args = uid=%[4]s gid=%[6]s home=%[1]s/mail/%%u
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = %[5]d
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
service stats {
  inet_listener http {
    port = 0
  }
}
protocol imap {
  mail_max_userip_connections = 100
}
`, dir, loginUser, internalUser, mailUser, port, group)
	confPath := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-F", "-c", confPath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dovecot: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			t.Fatalf("dovecot did not start: %v\n%s\n%s", err, out.String(), log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &dovecot{addr: addr, maildir: maildir, uid: uid, gid: gid}
}

func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// drop writes messages straight into the Maildir, as a delivery agent would: much faster than
// APPEND for the benchmark's thousands of messages. Dovecot gives them UIDs on the next SELECT.
func (d *dovecot) drop(t testing.TB, raws ...[]byte) {
	t.Helper()
	host, _ := os.Hostname()
	for i, raw := range raws {
		name := fmt.Sprintf("%d.M%dP%dQ%d.%s", time.Now().Unix(), time.Now().UnixNano()%1000000, os.Getpid(), i, host)
		tmp := filepath.Join(d.maildir, "tmp", name)
		if err := os.WriteFile(tmp, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chown(tmp, d.uid, d.gid)
		if err := os.Rename(tmp, filepath.Join(d.maildir, "new", name)); err != nil {
			t.Fatal(err)
		}
	}
}

// appendIMAP delivers messages over IMAP APPEND, as another mail client would.
func (d *dovecot) appendIMAP(t testing.TB, raws ...[]byte) {
	t.Helper()
	c, err := imapclient.DialInsecure(d.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(imapUser, imapPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	for _, raw := range raws {
		cmd := c.Append("INBOX", int64(len(raw)), nil)
		cmd.Write(raw)
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
}

// Against a real Dovecot: the corpus arrives over APPEND, is taken in once, the messages are
// flagged \Seen, and a message that arrives while the runner idles is taken in through IDLE.
func TestDovecot(t *testing.T) {
	dc := startDovecot(t)
	mbox := addMailbox(t, dc.addr, mailboxOpts{})
	var raws [][]byte
	files := []string{"plain.eml", "iso-2022-jp.eml", "windows-1250.eml", "attachment-nonascii-name.eml", "no-message-id.eml", "missing-from.eml"}
	for _, f := range files {
		raws = append(raws, bytes.ReplaceAll(corpus(t, f), []byte("@mail.example"), fmt.Appendf(nil, ".dc%d@mail.example", mbox.ID)))
	}
	dc.appendIMAP(t, raws...)
	r := newRunner(newDesk(), mailin.RunnerOptions{PollInterval: time.Hour})
	stats := syncOnce(t, r, mbox)
	if stats.Tickets != len(files)-1 || stats.Quarantined != 1 {
		t.Fatalf("stats %+v", stats)
	}
	if again := syncOnce(t, r, mbox); again.Fetched != 0 {
		t.Errorf("second pass fetched %d", again.Fetched)
	}
	for uid, flags := range imapFlags(t, dc.addr, "INBOX") {
		if !hasFlag(flags, imap.FlagSeen) {
			t.Errorf("UID %d not flagged \\Seen", uid)
		}
	}
	var subject string
	db.Raw(`SELECT t.subject FROM tickets t JOIN email_messages e ON e.ticket_id = t.id WHERE e.mailbox_id = ? AND e.from_address = 'taro@example.jp'`, mbox.ID).Scan(&subject)
	if subject != "ログインの問題" {
		t.Errorf("ISO-2022-JP subject through Dovecot: %q", subject)
	}

	// IDLE: Dovecot announces the new message and the runner takes it in.
	db.Exec(`UPDATE mailboxes SET enabled = (id = ?)`, mbox.ID)
	defer db.Exec(`UPDATE mailboxes SET enabled = true`)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	time.Sleep(500 * time.Millisecond)
	idleSubject := fmt.Sprintf("Through IDLE %d", unique.Add(1))
	dc.appendIMAP(t, simple("<"+emailAddr("idle")+">", idleSubject, msgID("idle"), "hello"))
	deadline := time.Now().Add(20 * time.Second)
	for count(t, `SELECT count(*) FROM tickets WHERE subject = ?`, idleSubject) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the message appended during IDLE never arrived")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
