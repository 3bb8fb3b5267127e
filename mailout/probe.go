package mailout

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/openhelpdesk/helpdesk/mailin"
)

// ProbeSMTP connects to an SMTP server, secures the connection as s.TLS says, greets it as
// heloDomain, logs in when s has a username, and quits. It never sends a message: no MAIL
// command is ever given. s must have passed mailin.CheckSMTPSettings.
func ProbeSMTP(ctx context.Context, s mailin.ServerSettings, heloDomain string, o mailin.ProbeOptions) mailin.ProbeResult {
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if heloDomain == "" {
		heloDomain = "localhost"
	}
	addr := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	res := mailin.ProbeResult{Addr: addr}

	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if !res.Step(mailin.StepConnect, err) {
		return res
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	var c *smtp.Client
	switch s.TLS {
	case mailin.TLSImplicit:
		tc := tls.Client(conn, o.TLSConfigFor(s.Host))
		if !res.Step(mailin.StepTLS, tc.HandshakeContext(ctx)) {
			conn.Close()
			return res
		}
		c = smtp.NewClient(tc)
	case mailin.TLSStartTLS:
		c, err = smtp.NewClientStartTLS(conn, o.TLSConfigFor(s.Host))
		if !res.Step(mailin.StepTLS, err) {
			conn.Close()
			return res
		}
	default:
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	c.CommandTimeout = timeout
	err = c.Hello(heloDomain)
	var smtpErr *smtp.SMTPError
	if s.TLS == mailin.TLSStartTLS && err != nil && !errors.As(err, &smtpErr) {
		// The handshake happens on the first command after STARTTLS.
		res.Steps[len(res.Steps)-1] = mailin.ProbeStep{Name: mailin.StepTLS, Detail: mailin.ProbeDetail(err)}
		return res
	}
	if !res.Step(mailin.StepHello, err) {
		return res
	}
	if s.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			res.Step(mailin.StepLogin, errors.New("the server offers no login (AUTH) on this connection"))
			return res
		}
		if !res.Step(mailin.StepLogin, c.Auth(sasl.NewPlainClient("", s.Username, s.Password))) {
			return res
		}
	}
	res.Step(mailin.StepQuit, c.Quit())
	return res
}

// heloDomainOf is the domain part of a mailbox address, which mailout greets servers as.
func heloDomainOf(address string) string {
	_, domain, _ := strings.Cut(address, "@")
	return domain
}

// ProbeMailbox probes a stored mailbox's SMTP side with its sealed password.
func ProbeMailbox(ctx context.Context, boxes *mailin.Mailboxes, m *mailin.Mailbox, o mailin.ProbeOptions) (mailin.ProbeResult, error) {
	password, err := boxes.SMTPPassword(m)
	if err != nil {
		return mailin.ProbeResult{}, err
	}
	return ProbeSMTP(ctx, mailin.ServerSettings{Host: m.SMTPHost, Port: m.SMTPPort, TLS: m.SMTPTLS, Username: m.SMTPUsername, Password: password},
		heloDomainOf(m.Address), o), nil
}
