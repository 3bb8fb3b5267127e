package mailout_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/openhelpdesk/helpdesk/mailin"
	"github.com/openhelpdesk/helpdesk/mailout"
)

func smtpProbeSettings(t *testing.T, addr, user, password string, mode mailin.TLSMode) mailin.ServerSettings {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	s := mailin.ServerSettings{Host: host, Port: p, TLS: mode, Username: user, Password: password}
	if err := mailin.CheckSMTPSettings(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func probeSteps(r mailin.ProbeResult) string {
	var out []string
	for _, s := range r.Steps {
		mark := "ok"
		if !s.OK {
			mark = "failed"
		}
		out = append(out, string(s.Name)+":"+mark)
	}
	return strings.Join(out, " ")
}

func TestProbeSMTP(t *testing.T) {
	ctx := context.Background()
	srv := newSMTPServer(t)
	srv.user, srv.password = "sender", "smtp-pass-word"

	res := mailout.ProbeSMTP(ctx, smtpProbeSettings(t, srv.addr, "sender", "smtp-pass-word", mailin.TLSNone), "help.example", mailin.ProbeOptions{})
	if !res.OK() || probeSteps(res) != "connect:ok hello:ok login:ok quit:ok" {
		t.Fatalf("good settings: %s %+v", probeSteps(res), res)
	}

	res = mailout.ProbeSMTP(ctx, smtpProbeSettings(t, srv.addr, "sender", "not it", mailin.TLSNone), "help.example", mailin.ProbeOptions{})
	if res.OK() || probeSteps(res) != "connect:ok hello:ok login:failed" || res.Steps[2].Detail == "" || strings.Contains(res.Steps[2].Detail, "not it") {
		t.Fatalf("wrong password: %s %+v", probeSteps(res), res)
	}

	// This server has no TLS: asking for STARTTLS fails at that step.
	res = mailout.ProbeSMTP(ctx, smtpProbeSettings(t, srv.addr, "sender", "smtp-pass-word", mailin.TLSStartTLS), "help.example", mailin.ProbeOptions{})
	if res.OK() || probeSteps(res) != "connect:ok tls:failed" || !strings.Contains(res.Steps[1].Detail, "STARTTLS") {
		t.Fatalf("no STARTTLS: %s %+v", probeSteps(res), res)
	}

	// A probe never sends mail.
	if got := srv.received(); len(got) != 0 {
		t.Errorf("the probe sent %d messages", len(got))
	}
}

func TestProbeSMTPWithoutLogin(t *testing.T) {
	srv := newSMTPServer(t)
	res := mailout.ProbeSMTP(context.Background(), smtpProbeSettings(t, srv.addr, "", "", mailin.TLSNone), "", mailin.ProbeOptions{})
	if !res.OK() || probeSteps(res) != "connect:ok hello:ok quit:ok" {
		t.Fatalf("no credentials: %s %+v", probeSteps(res), res)
	}
}

func TestProbeSMTPNothingListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	res := mailout.ProbeSMTP(context.Background(), smtpProbeSettings(t, addr, "sender", "pw", mailin.TLSNone), "help.example", mailin.ProbeOptions{})
	if res.OK() || probeSteps(res) != "connect:failed" || !strings.Contains(res.Steps[0].Detail, "refused") {
		t.Fatalf("nothing listening: %s %+v", probeSteps(res), res)
	}
}
