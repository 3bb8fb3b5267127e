package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/openhelpdesk/helpdesk/mailin"
	"github.com/openhelpdesk/helpdesk/tickets"
)

// runMailbox adds or lists the mailboxes the help desk reads and sends as. Passwords are read
// from environment variables named on the command line, never from the command line itself.
func runMailbox(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || (args[0] != "add" && args[0] != "list") {
		return errors.New("say what to do: helpdesk mailbox add --name N --host H ... | helpdesk mailbox list")
	}
	if args[0] == "list" {
		return listMailboxes(ctx, e, args[1:])
	}
	fs := flag.NewFlagSet("mailbox add", flag.ContinueOnError)
	name := fs.String("name", "", "a name for the mailbox, such as Support (required)")
	address := fs.String("address", "", "the support address customers write to, such as support@example.com (required)")
	host := fs.String("host", "", "IMAP server host (required)")
	port := fs.Int("port", 0, "IMAP port (default 993 with tls, 143 otherwise)")
	tlsMode := fs.String("tls", "tls", "IMAP connection security: none, starttls or tls")
	username := fs.String("username", "", "IMAP user name (required)")
	passwordEnv := fs.String("password-env", "", "name of the environment variable holding the IMAP password (required)")
	folder := fs.String("folder", "INBOX", "IMAP folder to read")
	after := fs.String("after-import", "seen", "what to do with a message once it is taken in: seen, move:FOLDER or none")
	team := fs.Int64("team", 0, "id of the team new tickets from this mailbox go to")
	smtpHost := fs.String("smtp-host", "", "SMTP server host for outgoing mail (required)")
	smtpPort := fs.Int("smtp-port", 0, "SMTP port (default 465 with tls, 587 with starttls, 25 with none)")
	smtpTLS := fs.String("smtp-tls", "tls", "SMTP connection security: none, starttls or tls")
	smtpUser := fs.String("smtp-username", "", "SMTP user name, if the server wants a login")
	smtpPasswordEnv := fs.String("smtp-password-env", "", "name of the environment variable holding the SMTP password")
	cfg, logger, err := loadConfig(e, fs, args[1:])
	if err != nil {
		return err
	}
	in := mailin.NewMailbox{
		Name: *name, Address: *address, Folder: *folder,
		IMAP: mailin.ServerSettings{Host: *host, Port: *port, TLS: mailin.TLSMode(*tlsMode), Username: *username},
		SMTP: mailin.ServerSettings{Host: *smtpHost, Port: *smtpPort, TLS: mailin.TLSMode(*smtpTLS), Username: *smtpUser},
	}
	if *team != 0 {
		in.TeamID = team
	}
	action, moveTo, _ := strings.Cut(*after, ":")
	in.AfterImport, in.MoveTo = mailin.AfterImport(action), moveTo
	// Read from the environment so that passwords stay out of shell history and process lists.
	if *passwordEnv == "" {
		return errors.New("--password-env: name the environment variable that holds the IMAP password")
	}
	if in.IMAP.Password = e.getenv(*passwordEnv); in.IMAP.Password == "" {
		return fmt.Errorf("--password-env %s: that environment variable is empty or not set", *passwordEnv)
	}
	if *smtpPasswordEnv != "" {
		if in.SMTP.Password = e.getenv(*smtpPasswordEnv); in.SMTP.Password == "" {
			return fmt.Errorf("--smtp-password-env %s: that environment variable is empty or not set", *smtpPasswordEnv)
		}
	}
	keys, err := mailin.NewKeyring(cfg.Mail.EncryptionKey, cfg.Mail.OldKeys...)
	if err != nil {
		return err
	}
	if !keys.CanSeal() {
		return errors.New("HELPDESK_ENCRYPTION_KEY is not set: mailbox passwords are stored encrypted with it (make one with: openssl rand -base64 32)")
	}
	odb, err := openCurrentDB(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer odb.Close()
	m, err := mailin.NewMailboxes(odb.DB, keys).Add(ctx, in)
	if err != nil {
		return describeMailboxError(err)
	}
	fmt.Fprintf(e.stdout, "Added mailbox %s <%s> (id %d): reading %s on %s:%d (%s), sending through %s:%d (%s).\n",
		m.Name, m.Address, m.ID, m.Folder, m.IMAPHost, m.IMAPPort, m.IMAPTLS, m.SMTPHost, m.SMTPPort, m.SMTPTLS)
	return nil
}

// mailboxFlags maps the domain's field names to the flags a person typed.
var mailboxFlags = map[string]string{
	"imap.host": "--host", "imap.port": "--port", "imap.tls": "--tls", "imap.username": "--username",
	"imap.password": "--password-env", "imap.after_import": "--after-import", "imap.move_to": "--after-import",
	"smtp.host": "--smtp-host", "smtp.port": "--smtp-port", "smtp.tls": "--smtp-tls",
	"smtp.username": "--smtp-username", "smtp.password": "--smtp-password-env", "team_id": "--team",
}

func describeMailboxError(err error) error {
	flagOf := func(field string) string {
		if f, ok := mailboxFlags[field]; ok {
			return f
		}
		return "--" + field
	}
	var invalid *tickets.ValidationError
	if errors.As(err, &invalid) {
		msg := "invalid input:"
		for _, f := range invalid.Fields {
			msg += fmt.Sprintf("\n  %s %s", flagOf(f.Field), f.Message)
		}
		return errors.New(msg)
	}
	var conflict *tickets.ConflictError
	if errors.As(err, &conflict) {
		return fmt.Errorf("%s: %s", flagOf(conflict.Field), conflict.Message)
	}
	return err
}

func listMailboxes(ctx context.Context, e *env, args []string) error {
	cfg, logger, err := loadConfig(e, flag.NewFlagSet("mailbox list", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	odb, err := openCurrentDB(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer odb.Close()
	list, err := mailin.NewMailboxes(odb.DB, nil).List(ctx)
	if err != nil {
		return err
	}
	for _, m := range list {
		status := "ok"
		if m.LastError != "" {
			status = "error: " + m.LastError
		}
		if m.LastCheckedAt == nil {
			status = "not checked yet"
		}
		fmt.Fprintf(e.stdout, "%d\t%s\t%s\t%s:%d/%s\tUID %d\t%s\n", m.ID, m.Name, m.Address, m.IMAPHost, m.IMAPPort, m.Folder, m.LastUID, status)
	}
	return nil
}
