package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-smtp"
)

// mailServers are an in-memory IMAP server and a go-smtp server on loopback ports: the support
// mailbox, and the world our mail goes out to.
type mailServers struct {
	imapAddr, smtpAddr string
	user               *imapmemserver.User

	mu   sync.Mutex
	sent []*mail.Message
}

func startMailServers(t *testing.T) *mailServers {
	t.Helper()
	ms := &mailServers{}
	mem := imapmemserver.New()
	ms.user = imapmemserver.NewUser("support", "imap-pw")
	ms.user.Create("INBOX", nil)
	mem.AddUser(ms.user)
	isrv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: true,
	})
	iln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go isrv.Serve(iln)
	t.Cleanup(func() { isrv.Close() })
	ssrv := smtp.NewServer(ms)
	ssrv.Domain = "localhost"
	sln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ssrv.Serve(sln)
	t.Cleanup(func() { ssrv.Close() })
	ms.imapAddr, ms.smtpAddr = iln.Addr().String(), sln.Addr().String()
	return ms
}

func (ms *mailServers) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSink{ms: ms}, nil }

type smtpSink struct{ ms *mailServers }

func (s *smtpSink) Mail(string, *smtp.MailOptions) error { return nil }
func (s *smtpSink) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *smtpSink) Reset()                               {}
func (s *smtpSink) Logout() error                        { return nil }
func (s *smtpSink) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	s.ms.mu.Lock()
	s.ms.sent = append(s.ms.sent, m)
	s.ms.mu.Unlock()
	return nil
}

func (ms *mailServers) deliver(t *testing.T, raw string) {
	t.Helper()
	if _, err := ms.user.Append("INBOX", strings.NewReader(raw), &imap.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitSent waits for the n-th message sent (1-based) and returns it.
func (ms *mailServers) waitSent(t *testing.T, n int) *mail.Message {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ms.mu.Lock()
		if len(ms.sent) >= n {
			m := ms.sent[n-1]
			ms.mu.Unlock()
			return m
		}
		ms.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("mail %d was never sent", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func mailVars(ms *mailServers) map[string]string {
	return map[string]string{
		"DATABASE_URL":            testDSN,
		"HELPDESK_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)),
		"IMAP_PASSWORD":           "imap-pw",
		// go-imap's memory server announces during IDLE only what arrives after IDLE began; a
		// message delivered in the moment between our NOOP and IDLE waits for this timer.
		"HELPDESK_MAIL_POLL_INTERVAL": "2s",
	}
}

func addMailboxCmd(t *testing.T, ms *mailServers, vars map[string]string, address string) {
	t.Helper()
	host, port, _ := net.SplitHostPort(ms.imapAddr)
	shost, sport, _ := net.SplitHostPort(ms.smtpAddr)
	code, out, errs := runCmd(context.Background(), vars, "mailbox", "add", "--name", "Support "+address, "--address", address,
		"--host", host, "--port", port, "--tls", "none", "--username", "support", "--password-env", "IMAP_PASSWORD",
		"--folder", "INBOX", "--smtp-host", shost, "--smtp-port", sport, "--smtp-tls", "none")
	if code != 0 || !strings.Contains(out, "Added mailbox") {
		t.Fatalf("mailbox add: %d %s %s", code, out, errs)
	}
	if strings.Contains(out+errs, "imap-pw") {
		t.Error("the command printed the password")
	}
}

func TestMailboxAddRefusesBadInput(t *testing.T) {
	ms := startMailServers(t)
	vars := mailVars(ms)
	code, _, errs := runCmd(context.Background(), vars, "mailbox", "add", "--name", "X", "--address", "nope", "--host", "imap.example.com",
		"--tls", "ssl", "--username", "u", "--password-env", "IMAP_PASSWORD", "--smtp-host", "smtp.example.com")
	if code == 0 || !strings.Contains(errs, "--address") || !strings.Contains(errs, "--tls") {
		t.Errorf("bad input: %d %s", code, errs)
	}
	code, _, errs = runCmd(context.Background(), vars, "mailbox", "add", "--name", "X", "--address", "x@example.com", "--host", "h",
		"--username", "u", "--password-env", "NOT_SET", "--smtp-host", "s")
	if code == 0 || !strings.Contains(errs, "NOT_SET") {
		t.Errorf("unset password variable: %d %s", code, errs)
	}
	delete(vars, "HELPDESK_ENCRYPTION_KEY")
	code, _, errs = runCmd(context.Background(), vars, "mailbox", "add", "--name", "X", "--address", "x@example.com", "--host", "h",
		"--username", "u", "--password-env", "IMAP_PASSWORD", "--smtp-host", "s")
	if code == 0 || !strings.Contains(errs, "HELPDESK_ENCRYPTION_KEY") {
		t.Errorf("without a key: %d %s", code, errs)
	}
	vars["HELPDESK_ENCRYPTION_KEY"] = "c2hvcnQ="
	if code, _, errs := runCmd(context.Background(), vars, "mailbox", "list"); code == 0 || !strings.Contains(errs, "32 bytes") || strings.Contains(errs, "c2hvcnQ=") {
		t.Errorf("a short key: %d %s", code, errs)
	}
}

// helpdesk ingest --once reads the mailbox, opens the ticket and sends the acknowledgement.
func TestIngestOnce(t *testing.T) {
	ms := startMailServers(t)
	vars := mailVars(ms)
	address := fmt.Sprintf("once%d@help.example", time.Now().UnixNano())
	addMailboxCmd(t, ms, vars, address)
	ms.deliver(t, "From: Ana <ana.once@example.com>\r\nTo: "+address+"\r\nSubject: Printer on fire\r\nMessage-ID: <once.1@example.com>\r\n\r\nHelp!\r\n")
	code, out, errs := runCmd(context.Background(), vars, "ingest", "--once")
	if code != 0 || !strings.Contains(out, "1 fetched, 1 new tickets") || !strings.Contains(out, "mail sent: 1") {
		t.Fatalf("ingest: %d\n%s\n%s", code, out, errs)
	}
	ack := ms.waitSent(t, 1)
	if ack.Header.Get("Auto-Submitted") != "auto-replied" || !strings.Contains(ack.Header.Get("Subject"), "[#") {
		t.Errorf("ack headers: %v", ack.Header)
	}
	if code, out, _ := runCmd(context.Background(), vars, "ingest", "--once"); code != 0 || !strings.Contains(out, "0 fetched") {
		t.Errorf("second run: %d %s", code, out)
	}
}

// The whole loop through `helpdesk serve`: a customer emails the mailbox, gets an
// acknowledgement, receives the agent's reply in the same thread, answers it, and the answer
// lands on the same ticket, where the agent sees the reply was delivered.
func TestServeEmailConversation(t *testing.T) {
	ms := startMailServers(t)
	vars := mailVars(ms)
	address := fmt.Sprintf("serve%d@help.example", time.Now().UnixNano())
	addMailboxCmd(t, ms, vars, address)
	_, out, _ := runCmd(context.Background(), vars, "user", "add", "--email", fmt.Sprintf("mailagent%d@example.com", time.Now().UnixNano()), "--name", "Mail Agent", "--role", "agent")
	token := lastLine(out)
	srv := startServe(t, vars)
	defer srv.shutdown(t)

	customer := fmt.Sprintf("lucia%d@example.com", time.Now().UnixNano())
	ms.deliver(t, "From: Lucía <"+customer+">\r\nTo: "+address+"\r\nSubject: Cannot log in\r\nMessage-ID: <serve.first@example.com>\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n\r\nThe page says my password is wrong.\r\n")
	ack := ms.waitSent(t, 1)
	if ack.Header.Get("In-Reply-To") != "<serve.first@example.com>" || ack.Header.Get("Auto-Submitted") != "auto-replied" {
		t.Errorf("ack: %v", ack.Header)
	}
	_, found := api(t, "GET", srv.base+"/api/v1/customers?email="+customer, token, nil)
	ticketID := int64(found["tickets"].([]any)[0].(map[string]any)["id"].(float64))

	status, _ := api(t, "POST", fmt.Sprintf("%s/api/v1/tickets/%d/messages", srv.base, ticketID), token, map[string]any{"kind": "reply", "body": "Please reset your password."})
	if status != 201 {
		t.Fatalf("reply: %d", status)
	}
	reply := ms.waitSent(t, 2)
	ourID := reply.Header.Get("Message-Id")
	if reply.Header.Get("In-Reply-To") != "<serve.first@example.com>" || !strings.Contains(reply.Header.Get("Subject"), fmt.Sprintf("[#%d]", ticketID)) {
		t.Errorf("reply: %v", reply.Header)
	}

	ms.deliver(t, "From: Lucía <"+customer+">\r\nTo: "+address+"\r\nSubject: Re: Cannot log in\r\nMessage-ID: <serve.answer@example.com>\r\n"+
		"In-Reply-To: "+ourID+"\r\nReferences: <serve.first@example.com> "+ourID+"\r\n\r\nIt works now, thank you!\r\n\r\n> Please reset your password.\r\n")
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, detail := api(t, "GET", fmt.Sprintf("%s/api/v1/tickets/%d", srv.base, ticketID), token, nil)
		msgs, _ := detail["messages"].([]any)
		if len(msgs) == 3 {
			last := msgs[2].(map[string]any)
			if last["kind"] != "inbound" || last["body"] != "It works now, thank you!" {
				t.Errorf("the answer: %v", last)
			}
			delivery, _ := msgs[1].(map[string]any)["delivery"].(map[string]any)
			if delivery["status"] != "sent" {
				t.Errorf("the reply's delivery: %v", delivery)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the answer never reached ticket %d: %v", ticketID, detail)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if strings.Contains(srv.stderr.String(), "imap-pw") {
		t.Error("serve logged the mailbox password")
	}
}
