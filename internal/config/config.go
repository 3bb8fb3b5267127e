// Package config reads the help desk's settings from environment variables, with command-line
// flags overriding them, and validates them before anything starts.
package config

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Config is every setting, typed and validated.
type Config struct {
	DatabaseURL string        // DATABASE_URL; empty runs a private cluster under DataDir
	DataDir     string        // HELPDESK_DATA_DIR
	Addr        string        // HELPDESK_ADDR
	BaseURL     string        // HELPDESK_BASE_URL; the address customers and agents reach us at
	AutoMigrate bool          // HELPDESK_AUTO_MIGRATE
	DBMaxConns  int           // HELPDESK_DB_MAX_CONNS
	DBWriters   int           // HELPDESK_DB_WRITERS: transactions writing at once; more wait their turn
	LogLevel    slog.Level    // HELPDESK_LOG_LEVEL
	LogFormat   string        // HELPDESK_LOG_FORMAT: text or json
	AutoClose   time.Duration // HELPDESK_AUTOCLOSE_AFTER; 0 never closes solved tickets
	// SLASweepEvery is how often this node tries to sweep SLA clocks (HELPDESK_SLA_SWEEP_EVERY);
	// one node sweeps at a time. 0 leaves sweeping to other nodes.
	SLASweepEvery time.Duration
	// Proxies whose X-Forwarded-For is believed (HELPDESK_TRUSTED_PROXIES); without them the
	// form's rate limit counts the proxy, not the visitor.
	TrustedProxies []string
	// PortalLinkTTL is how long a portal link in our mails lets its customer in
	// (HELPDESK_PORTAL_LINK_TTL).
	PortalLinkTTL time.Duration
	Form          FormConfig
	Mail          MailConfig
}

// MailConfig tunes the email channel.
type MailConfig struct {
	// EncryptionKey seals mailbox passwords in the database (HELPDESK_ENCRYPTION_KEY, 32 bytes);
	// OldKeys only open what older keys sealed (HELPDESK_ENCRYPTION_OLD_KEYS), during a rotation.
	EncryptionKey   []byte
	OldKeys         [][]byte
	MaxMessageBytes int64         // HELPDESK_MAIL_MAX_MB: larger messages go to quarantine
	PollInterval    time.Duration // HELPDESK_MAIL_POLL_INTERVAL: for servers without IDLE
	AckLimit        int           // HELPDESK_MAIL_ACK_LIMIT: acknowledgements per address per hour; 0 sends none
}

// FormConfig bounds the public support form.
type FormConfig struct {
	RateLimit          int           // HELPDESK_FORM_RATE_LIMIT submissions per IP per window
	RateWindow         time.Duration // HELPDESK_FORM_RATE_WINDOW
	MaxAttachments     int           // HELPDESK_FORM_MAX_ATTACHMENTS
	MaxAttachmentBytes int64         // HELPDESK_FORM_MAX_ATTACHMENT_MB, in bytes
}

// MaxUploadBytes is the largest form body the server reads: every attachment at its largest,
// plus room for the text fields and the multipart framing.
func (f FormConfig) MaxUploadBytes() int64 {
	return int64(f.MaxAttachments)*f.MaxAttachmentBytes + 1<<20
}

// Option documents one setting for flags, README and errors.
type option struct {
	flag, env, def, usage string
	set                   func(c *Config, v string) error
}

var options = []option{
	{"database-url", "DATABASE_URL", "", "PostgreSQL URL; empty runs a private cluster under the data dir", func(c *Config, v string) error {
		c.DatabaseURL = v
		return nil
	}},
	{"data-dir", "HELPDESK_DATA_DIR", "./data", "directory for the private PostgreSQL cluster and other local state", func(c *Config, v string) error {
		if strings.TrimSpace(v) == "" {
			return errors.New("must not be empty")
		}
		c.DataDir = v
		return nil
	}},
	{"addr", "HELPDESK_ADDR", "127.0.0.1:8080", "host:port to listen on", func(c *Config, v string) error {
		_, port, err := net.SplitHostPort(v)
		if err != nil {
			return errors.New("must be host:port, such as 127.0.0.1:8080 or :8080")
		}
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			return errors.New("port must be a number from 0 to 65535")
		}
		c.Addr = v
		return nil
	}},
	{"base-url", "HELPDESK_BASE_URL", "", "public URL of the help desk, used in links we send (default http://ADDR)", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("must be an http or https URL such as https://help.example.com")
		}
		c.BaseURL = strings.TrimRight(v, "/")
		return nil
	}},
	{"auto-migrate", "HELPDESK_AUTO_MIGRATE", "true", "apply pending migrations when serve starts", func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("must be true or false")
		}
		c.AutoMigrate = b
		return nil
	}},
	{"db-max-conns", "HELPDESK_DB_MAX_CONNS", "20", "database connections per process", positiveInt(func(c *Config, n int) { c.DBMaxConns = n })},
	{"db-writers", "HELPDESK_DB_WRITERS", strconv.Itoa(4 * runtime.GOMAXPROCS(0)), "ticket transactions per process writing at once (default 4 per CPU); more wait their turn, first come, first served", positiveInt(func(c *Config, n int) { c.DBWriters = n })},
	{"log-level", "HELPDESK_LOG_LEVEL", "info", "debug, info, warn or error", func(c *Config, v string) error {
		return c.LogLevel.UnmarshalText([]byte(v))
	}},
	{"log-format", "HELPDESK_LOG_FORMAT", "text", "text or json", func(c *Config, v string) error {
		if v != "text" && v != "json" {
			return errors.New("must be text or json")
		}
		c.LogFormat = v
		return nil
	}},
	{"sla-sweep-every", "HELPDESK_SLA_SWEEP_EVERY", "30s", "how often to look for SLA warnings and breaches (0: never on this node)", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || (d > 0 && d < time.Second) || d > time.Hour {
			return errors.New("must be a duration from 1s to 1h, such as 30s, or 0")
		}
		c.SLASweepEvery = d
		return nil
	}},
	{"autoclose-after", "HELPDESK_AUTOCLOSE_AFTER", "96h", "close tickets solved this long ago (0 never)", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return errors.New("must be a duration such as 96h, or 0")
		}
		c.AutoClose = d
		return nil
	}},
	{"trusted-proxies", "HELPDESK_TRUSTED_PROXIES", "", "comma-separated IPs or CIDRs of reverse proxies", func(c *Config, v string) error {
		c.TrustedProxies = nil
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
				return fmt.Errorf("%q is not an IP address or CIDR", p)
			}
			c.TrustedProxies = append(c.TrustedProxies, p)
		}
		return nil
	}},
	{"portal-link-ttl", "HELPDESK_PORTAL_LINK_TTL", "720h", "how long a customer portal link in our mails works, such as 720h (30 days)", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 10*time.Minute || d > 365*24*time.Hour {
			return errors.New("must be a duration from 10m to 8760h (a year), such as 720h")
		}
		c.PortalLinkTTL = d
		return nil
	}},
	{"form-rate-limit", "HELPDESK_FORM_RATE_LIMIT", "10", "support form submissions per IP per window", positiveInt(func(c *Config, n int) { c.Form.RateLimit = n })},
	{"form-rate-window", "HELPDESK_FORM_RATE_WINDOW", "10m", "window of the form's rate limit", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return errors.New("must be a positive duration such as 10m")
		}
		c.Form.RateWindow = d
		return nil
	}},
	{"form-max-attachments", "HELPDESK_FORM_MAX_ATTACHMENTS", "5", "files per support form submission", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 20 {
			return errors.New("must be a whole number from 0 to 20")
		}
		c.Form.MaxAttachments = n
		return nil
	}},
	{"form-max-attachment-mb", "HELPDESK_FORM_MAX_ATTACHMENT_MB", "10", "largest file on the support form, in MB", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 25 {
			return errors.New("must be a whole number from 1 to 25")
		}
		c.Form.MaxAttachmentBytes = int64(n) << 20
		return nil
	}},
	{"encryption-key", "HELPDESK_ENCRYPTION_KEY", "", "32 random bytes in base64 (openssl rand -base64 32) that seal mailbox passwords", func(c *Config, v string) error {
		if v == "" {
			c.Mail.EncryptionKey = nil
			return nil
		}
		key, err := parseKey(v)
		if err != nil {
			return err
		}
		c.Mail.EncryptionKey = key
		return nil
	}},
	{"encryption-old-keys", "HELPDESK_ENCRYPTION_OLD_KEYS", "", "comma-separated earlier encryption keys, read during a key rotation", func(c *Config, v string) error {
		c.Mail.OldKeys = nil
		for i, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part == "" {
				continue
			}
			key, err := parseKey(part)
			if err != nil {
				return fmt.Errorf("key %d: %w", i+1, err)
			}
			c.Mail.OldKeys = append(c.Mail.OldKeys, key)
		}
		return nil
	}},
	{"mail-max-mb", "HELPDESK_MAIL_MAX_MB", "25", "largest email taken in, in MB; larger ones go to quarantine", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return errors.New("must be a whole number from 1 to 100")
		}
		c.Mail.MaxMessageBytes = int64(n) << 20
		return nil
	}},
	{"mail-poll-interval", "HELPDESK_MAIL_POLL_INTERVAL", "1m", "how often to check a mailbox whose server lacks IDLE", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			return errors.New("must be a duration of at least 1s, such as 1m")
		}
		c.Mail.PollInterval = d
		return nil
	}},
	{"mail-ack-limit", "HELPDESK_MAIL_ACK_LIMIT", "3", "acknowledgements sent to one address per hour (0 sends none)", func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1000 {
			return errors.New("must be a whole number from 0 to 1000")
		}
		c.Mail.AckLimit = n
		return nil
	}},
}

// parseKey reads a 32-byte key written in standard or URL-safe base64.
func parseKey(v string) ([]byte, error) {
	v = strings.TrimSpace(v)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(v); err == nil {
			if len(key) != 32 {
				return nil, fmt.Errorf("must be 32 bytes, not %d: make one with openssl rand -base64 32", len(key))
			}
			return key, nil
		}
	}
	return nil, errors.New("must be base64, such as the output of openssl rand -base64 32")
}

func positiveInt(set func(*Config, int)) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return errors.New("must be a whole number above 0")
		}
		set(c, n)
		return nil
	}
}

// Load reads the environment, then the flags in args (parsed on fs, which may carry the
// subcommand's own flags too), and returns the validated settings. An invalid value is an error
// naming the variable or flag it came from.
func Load(fs *flag.FlagSet, args []string, getenv func(string) string) (*Config, error) {
	c := &Config{}
	values := make(map[string]*string, len(options))
	for _, o := range options {
		v := o.def
		if env := getenv(o.env); env != "" {
			v = env
		}
		if err := o.set(c, v); err != nil {
			return nil, fmt.Errorf("%s=%q: %w", o.env, mask(o.env, v), err)
		}
		// The flag's default stays empty so that --help never prints a value taken from the
		// environment, such as a database password.
		values[o.flag] = fs.String(o.flag, "", o.usage+" ("+o.env+", default "+strconv.Quote(o.def)+")")
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	for _, o := range options {
		explicit := false
		fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == o.flag })
		if !explicit {
			continue
		}
		if err := o.set(c, *values[o.flag]); err != nil {
			return nil, fmt.Errorf("--%s=%q: %w", o.flag, mask(o.env, *values[o.flag]), err)
		}
	}
	if c.BaseURL == "" {
		host, port, _ := net.SplitHostPort(c.Addr)
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "localhost"
		}
		c.BaseURL = "http://" + net.JoinHostPort(host, port)
	}
	return c, nil
}

// FromEnv is Load with the process's environment and no flags.
func FromEnv() (*Config, error) {
	return Load(flag.NewFlagSet("helpdesk", flag.ContinueOnError), nil, os.Getenv)
}

func mask(env, v string) string {
	switch env {
	case "DATABASE_URL":
		return redactURL(v)
	case "HELPDESK_ENCRYPTION_KEY", "HELPDESK_ENCRYPTION_OLD_KEYS":
		return "xxxxx"
	}
	return v
}

// redactURL hides the password in a database URL or keyword/value string.
func redactURL(v string) string {
	if u, err := url.Parse(v); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		return u.String()
	}
	fields := strings.Fields(v)
	for i, f := range fields {
		if strings.HasPrefix(f, "password=") {
			fields[i] = "password=xxxxx"
		}
	}
	return strings.Join(fields, " ")
}

// LogValue prints the settings with secrets masked, so start-up can log what it runs with.
func (c *Config) LogValue() slog.Value {
	db := "private cluster in " + c.DataDir
	if c.DatabaseURL != "" {
		db = redactURL(c.DatabaseURL)
	}
	return slog.GroupValue(
		slog.String("database", db),
		slog.String("addr", c.Addr),
		slog.String("base_url", c.BaseURL),
		slog.Bool("auto_migrate", c.AutoMigrate),
		slog.Int("db_max_conns", c.DBMaxConns),
		slog.Int("db_writers", c.DBWriters),
		slog.Duration("autoclose_after", c.AutoClose),
		slog.Duration("sla_sweep_every", c.SLASweepEvery),
		slog.Any("trusted_proxies", c.TrustedProxies),
		slog.Int("form_rate_limit", c.Form.RateLimit),
		slog.Duration("form_rate_window", c.Form.RateWindow),
		slog.Bool("encryption_key_set", len(c.Mail.EncryptionKey) > 0),
		slog.Int("encryption_old_keys", len(c.Mail.OldKeys)),
		slog.Int64("mail_max_mb", c.Mail.MaxMessageBytes>>20),
		slog.Duration("mail_poll_interval", c.Mail.PollInterval),
		slog.Int("mail_ack_limit", c.Mail.AckLimit),
	)
}

// Usage writes the table of settings for --help.
func Usage() string {
	var b strings.Builder
	for _, o := range options {
		def := o.def
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(&b, "  %-32s --%-24s %s (default %s)\n", o.env, o.flag, o.usage, def)
	}
	return b.String()
}
