package mailin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// A probe tries a mail server's settings step by step, so that an admin can see where a
// mailbox fails ("login refused") before or after saving it. Probes only read: they never
// fetch, flag, move or send anything.

// ProbeStepName names a step of a probe.
type ProbeStepName string

// The steps, in the order they happen. A probe stops at the first step that fails.
const (
	StepConnect ProbeStepName = "connect" // TCP (and, in implicit TLS mode, TLS) connection
	StepTLS     ProbeStepName = "tls"     // STARTTLS or the implicit TLS handshake
	StepHello   ProbeStepName = "hello"   // SMTP EHLO
	StepLogin   ProbeStepName = "login"   // IMAP LOGIN or SMTP AUTH
	StepSelect  ProbeStepName = "select"  // IMAP SELECT of the folder
	StepQuit    ProbeStepName = "quit"    // SMTP QUIT
)

// ProbeStep is one step's outcome. Detail is the server's or the network's own words on
// failure; it never holds a password.
type ProbeStep struct {
	Name   ProbeStepName
	OK     bool
	Detail string
}

// ProbeResult is what a probe found.
type ProbeResult struct {
	Addr  string // host:port tried
	Steps []ProbeStep
	// From a successful IMAP SELECT.
	UIDValidity uint32
	Messages    uint32
}

// OK reports whether every step succeeded.
func (r *ProbeResult) OK() bool {
	if len(r.Steps) == 0 {
		return false
	}
	for _, s := range r.Steps {
		if !s.OK {
			return false
		}
	}
	return true
}

// Step records a step's outcome, and returns ok.
func (r *ProbeResult) Step(name ProbeStepName, err error) bool {
	s := ProbeStep{Name: name, OK: err == nil}
	if err != nil {
		s.Detail = ProbeDetail(err)
	}
	r.Steps = append(r.Steps, s)
	return err == nil
}

// ProbeDetail turns a probe error into words an admin can act on.
func ProbeDetail(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "no answer in time"
	}
	msg := err.Error()
	// "dial tcp 127.0.0.1:1: connect: connection refused" → "connection refused"
	if i := strings.LastIndex(msg, ": "); i >= 0 && strings.HasPrefix(msg, "dial ") {
		msg = msg[i+2:]
	}
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return msg
}

// ProbeOptions tune a probe.
type ProbeOptions struct {
	// Timeout bounds the whole probe; default 10 seconds.
	Timeout time.Duration
	// TLSConfig overrides the default (the host's name, TLS 1.2 or later), for tests.
	TLSConfig *tls.Config
}

func (o ProbeOptions) timeout() time.Duration {
	if o.Timeout <= 0 {
		return 10 * time.Second
	}
	return o.Timeout
}

// TLSConfigFor is the TLS configuration a probe of host uses.
func (o ProbeOptions) TLSConfigFor(host string) *tls.Config {
	if o.TLSConfig != nil {
		return o.TLSConfig.Clone()
	}
	return &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
}

// CheckIMAPSettings validates IMAP settings as Add does, filling in the port and TLS defaults,
// so that a probe tries what would be saved. Problems are named imap.host, imap.port, ...
func CheckIMAPSettings(s *ServerSettings) error {
	var v tickets.ValidationError
	checkServer(&v, "imap", s, map[TLSMode]int{TLSImplicit: 993, TLSStartTLS: 143, TLSNone: 143}, true)
	return v.Err()
}

// CheckSMTPSettings is CheckIMAPSettings for the sending side (smtp.host, ...).
func CheckSMTPSettings(s *ServerSettings) error {
	var v tickets.ValidationError
	checkServer(&v, "smtp", s, map[TLSMode]int{TLSImplicit: 465, TLSStartTLS: 587, TLSNone: 25}, false)
	return v.Err()
}

// ProbeIMAP connects to an IMAP server, secures the connection as s.TLS says, logs in and
// selects folder (read-only), reporting each step. s must have passed CheckIMAPSettings.
func ProbeIMAP(ctx context.Context, s ServerSettings, folder string, o ProbeOptions) ProbeResult {
	ctx, cancel := context.WithTimeout(ctx, o.timeout())
	defer cancel()
	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	res := ProbeResult{Addr: addr}
	if folder == "" {
		folder = "INBOX"
	}

	// Dial ourselves, so that connecting and securing are told apart.
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if !res.Step(StepConnect, err) {
		return res
	}
	// Closing the connection ends whatever waits on it when time is up.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	opts := &imapclient.Options{}
	var c *imapclient.Client
	switch s.TLS {
	case TLSImplicit:
		tc := tls.Client(conn, o.TLSConfigFor(s.Host))
		if !res.Step(StepTLS, tc.HandshakeContext(ctx)) {
			conn.Close()
			return res
		}
		c = imapclient.New(tc, opts)
	case TLSStartTLS:
		opts.TLSConfig = o.TLSConfigFor(s.Host)
		c, err = imapclient.NewStartTLS(conn, opts)
		if !res.Step(StepTLS, err) {
			conn.Close()
			return res
		}
	default:
		c = imapclient.New(conn, opts)
	}
	defer c.Close()
	if err := c.WaitGreeting(); err != nil {
		// A server that accepts connections but speaks no IMAP.
		res.Steps[0] = ProbeStep{Name: StepConnect, Detail: "the server did not greet as an IMAP server: " + ProbeDetail(err)}
		return res
	}
	if !res.Step(StepLogin, c.Login(s.Username, s.Password).Wait()) {
		return res
	}
	sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if !res.Step(StepSelect, err) {
		return res
	}
	res.UIDValidity, res.Messages = sel.UIDValidity, sel.NumMessages
	// Say goodbye, but a slow goodbye is not a failure.
	done := make(chan struct{})
	go func() { c.Logout().Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
	return res
}

// ProbeMailbox probes a stored mailbox's IMAP side with its sealed password.
func (s *Mailboxes) ProbeMailbox(ctx context.Context, m *Mailbox, o ProbeOptions) (ProbeResult, error) {
	password, err := s.IMAPPassword(m)
	if err != nil {
		return ProbeResult{}, fmt.Errorf("mailin: probe: %w", err)
	}
	return ProbeIMAP(ctx, ServerSettings{Host: m.IMAPHost, Port: m.IMAPPort, TLS: m.IMAPTLS, Username: m.IMAPUsername, Password: password}, m.Folder, o), nil
}
