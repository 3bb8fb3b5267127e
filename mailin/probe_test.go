package mailin_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openhelpdesk/helpdesk/mailin"
)

func probeSettings(t *testing.T, addr, password string, mode mailin.TLSMode) mailin.ServerSettings {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	s := mailin.ServerSettings{Host: host, Port: p, TLS: mode, Username: imapUser, Password: password}
	if err := mailin.CheckIMAPSettings(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func stepNames(r mailin.ProbeResult) string {
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

func TestProbeIMAP(t *testing.T) {
	ctx := context.Background()
	srv := newMemIMAP(t)
	srv.deliver(t, "INBOX", []byte("From: a@example.com\r\nSubject: one\r\n\r\nhi\r\n"), []byte("From: b@example.com\r\nSubject: two\r\n\r\nhi\r\n"))

	res := mailin.ProbeIMAP(ctx, probeSettings(t, srv.addr, imapPassword, mailin.TLSNone), "INBOX", mailin.ProbeOptions{})
	if !res.OK() || stepNames(res) != "connect:ok login:ok select:ok" || res.Messages != 2 || res.UIDValidity == 0 {
		t.Fatalf("good settings: %s %+v", stepNames(res), res)
	}
	// The probe only looks: nothing was flagged.
	for uid, flags := range imapFlags(t, srv.addr, "INBOX") {
		if len(flags) != 0 {
			t.Errorf("message %d got flags %v", uid, flags)
		}
	}

	res = mailin.ProbeIMAP(ctx, probeSettings(t, srv.addr, "wrong password", mailin.TLSNone), "INBOX", mailin.ProbeOptions{})
	if res.OK() || stepNames(res) != "connect:ok login:failed" || res.Steps[1].Detail == "" {
		t.Fatalf("wrong password: %s %+v", stepNames(res), res)
	}
	if strings.Contains(res.Steps[1].Detail, "wrong password") {
		t.Error("the detail quotes the password")
	}

	res = mailin.ProbeIMAP(ctx, probeSettings(t, srv.addr, imapPassword, mailin.TLSNone), "No Such Folder", mailin.ProbeOptions{})
	if res.OK() || stepNames(res) != "connect:ok login:ok select:failed" {
		t.Fatalf("missing folder: %s", stepNames(res))
	}
}

func TestProbeIMAPNothingListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	res := mailin.ProbeIMAP(context.Background(), probeSettings(t, addr, imapPassword, mailin.TLSNone), "INBOX", mailin.ProbeOptions{})
	if res.OK() || stepNames(res) != "connect:failed" || !strings.Contains(res.Steps[0].Detail, "refused") {
		t.Fatalf("nothing listening: %s %+v", stepNames(res), res)
	}
}

// A server that accepts the connection and never answers costs the probe its timeout, no more.
func TestProbeIMAPSilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	start := time.Now()
	res := mailin.ProbeIMAP(context.Background(), probeSettings(t, ln.Addr().String(), imapPassword, mailin.TLSNone), "INBOX", mailin.ProbeOptions{Timeout: 500 * time.Millisecond})
	if res.OK() || time.Since(start) > 5*time.Second {
		t.Fatalf("silent server: %s after %v", stepNames(res), time.Since(start))
	}
}

func TestProbeIMAPImplicitTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := serveMemIMAP(tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}}))
	t.Cleanup(func() { srv.server.Close() })
	s := probeSettings(t, srv.addr, imapPassword, mailin.TLSImplicit)

	res := mailin.ProbeIMAP(context.Background(), s, "INBOX", mailin.ProbeOptions{TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}})
	if !res.OK() || stepNames(res) != "connect:ok tls:ok login:ok select:ok" {
		t.Fatalf("trusted certificate: %s %+v", stepNames(res), res)
	}
	// Without trusting the certificate, the probe says the handshake failed, and why.
	res = mailin.ProbeIMAP(context.Background(), s, "INBOX", mailin.ProbeOptions{})
	if res.OK() || stepNames(res) != "connect:ok tls:failed" || !strings.Contains(res.Steps[1].Detail, "certificate") {
		t.Fatalf("untrusted certificate: %s %+v", stepNames(res), res)
	}
}

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "probe test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	parsed, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(parsed)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}
