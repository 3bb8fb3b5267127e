package config_test

import (
	"bytes"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/openhelpdesk/helpdesk/internal/config"
)

func load(env map[string]string, args ...string) (*config.Config, error) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(&bytes.Buffer{})
	return config.Load(fs, args, func(k string) string { return env[k] })
}

func TestDefaults(t *testing.T) {
	c, err := load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DataDir != "./data" || c.DatabaseURL != "" || !c.AutoMigrate ||
		c.BaseURL != "http://127.0.0.1:8080" || c.AutoClose != 96*time.Hour || c.Form.MaxAttachmentBytes != 10<<20 {
		t.Errorf("defaults = %+v", c)
	}
}

func TestFlagsOverrideEnvironment(t *testing.T) {
	c, err := load(map[string]string{"HELPDESK_ADDR": ":9000", "HELPDESK_DATA_DIR": "/var/lib/helpdesk"}, "--addr", "0.0.0.0:7000")
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "0.0.0.0:7000" || c.DataDir != "/var/lib/helpdesk" || c.BaseURL != "http://localhost:7000" {
		t.Errorf("config = %+v", c)
	}
}

// A bad value stops start-up with a message naming where it came from.
func TestBadValuesNameTheirSource(t *testing.T) {
	cases := []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"HELPDESK_ADDR": "8080"}, nil, "HELPDESK_ADDR"},
		{map[string]string{"HELPDESK_ADDR": "localhost:http2"}, nil, "HELPDESK_ADDR"},
		{map[string]string{"HELPDESK_AUTO_MIGRATE": "sometimes"}, nil, "HELPDESK_AUTO_MIGRATE"},
		{map[string]string{"HELPDESK_DB_MAX_CONNS": "0"}, nil, "HELPDESK_DB_MAX_CONNS"},
		{map[string]string{"HELPDESK_DB_WRITERS": "none"}, nil, "HELPDESK_DB_WRITERS"},
		{map[string]string{"HELPDESK_LOG_LEVEL": "loud"}, nil, "HELPDESK_LOG_LEVEL"},
		{map[string]string{"HELPDESK_BASE_URL": "help.example.com"}, nil, "HELPDESK_BASE_URL"},
		{map[string]string{"HELPDESK_TRUSTED_PROXIES": "10.0.0.0/8, nonsense"}, nil, "HELPDESK_TRUSTED_PROXIES"},
		{map[string]string{"HELPDESK_FORM_MAX_ATTACHMENT_MB": "500"}, nil, "HELPDESK_FORM_MAX_ATTACHMENT_MB"},
		{map[string]string{"HELPDESK_AUTOCLOSE_AFTER": "4 days"}, nil, "HELPDESK_AUTOCLOSE_AFTER"},
		{map[string]string{"HELPDESK_SLA_SWEEP_EVERY": "10ms"}, nil, "HELPDESK_SLA_SWEEP_EVERY"},
		{nil, []string{"--sla-sweep-every", "2h"}, "--sla-sweep-every"},
		{nil, []string{"--form-rate-window", "-1m"}, "--form-rate-window"},
		{nil, []string{"--no-such-flag"}, "no-such-flag"},
	}
	for _, tc := range cases {
		_, err := load(tc.env, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: err = %v, want it to name %s", tc.env, tc.args, err, tc.want)
		}
	}
}

func TestSecretsStayOutOfMessagesAndLogs(t *testing.T) {
	env := map[string]string{"DATABASE_URL": "postgres://helpdesk:hunter2@db.example.com/helpdesk", "HELPDESK_ADDR": "bad"}
	_, err := load(env)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v", err)
	}
	delete(env, "HELPDESK_ADDR")
	c, err := load(env)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("start", "config", c)
	if strings.Contains(logs.String(), "hunter2") || !strings.Contains(logs.String(), "db.example.com") {
		t.Errorf("logged config: %s", logs.String())
	}
	// --help must not print values taken from the environment.
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	var help bytes.Buffer
	fs.SetOutput(&help)
	config.Load(fs, []string{"--help"}, func(k string) string { return env[k] })
	if strings.Contains(help.String(), "hunter2") || !strings.Contains(help.String(), "DATABASE_URL") {
		t.Errorf("help output: %s", help.String())
	}
	_, err = load(map[string]string{"DATABASE_URL": "host=db password=hunter2 dbname=x", "HELPDESK_DB_MAX_CONNS": "x"})
	if err == nil || strings.Contains(fmt.Sprint(err), "hunter2") {
		t.Errorf("err = %v", err)
	}
}
