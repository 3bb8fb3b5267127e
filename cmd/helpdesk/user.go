package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// runUser creates a member of staff. The API token goes alone on the last line of output, so that
// scripts can take it with `tail -n1`.
func runUser(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return errors.New("say what to do: helpdesk user add --email E --name N --role admin|supervisor|agent [--password-env VAR]")
	}
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	email := fs.String("email", "", "the user's email address (required)")
	name := fs.String("name", "", "the user's name (required)")
	role := fs.String("role", "", "admin, supervisor or agent (required)")
	passwordEnv := fs.String("password-env", "", "name of an environment variable holding a login password")
	cfg, logger, err := loadConfig(e, fs, args[1:])
	if err != nil {
		return err
	}
	var password string
	if *passwordEnv != "" {
		// Read from the environment, never from a flag, so the password stays out of shell
		// history and process listings.
		password = e.getenv(*passwordEnv)
		if password == "" {
			return fmt.Errorf("--password-env %s: that environment variable is empty or not set", *passwordEnv)
		}
	}
	odb, err := openCurrentDB(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer odb.Close()
	staff := tickets.NewStaff(odb.DB)
	u, err := staff.CreateUser(ctx, tickets.SystemActor, tickets.NewUser{Email: *email, Name: *name, Role: tickets.Role(*role), Password: password})
	if err != nil {
		return describe(err)
	}
	secret, _, err := staff.CreateToken(ctx, tickets.SystemActor, u.ID, "created by helpdesk user add")
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Created %s %s <%s> (id %d).\n", u.Role, u.Name, u.Email, u.ID)
	if password != "" {
		fmt.Fprintln(e.stdout, "They can sign in with the password from", *passwordEnv+".")
	} else {
		// Nobody has a password yet on a fresh install, and mail may not be set up: the
		// set-password link goes to whoever ran the command.
		reset, _, err := staff.StartPasswordReset(ctx, u.Email)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "To choose a password and sign in, open within %s:\n%s/password/reset?token=%s\n",
			tickets.PasswordResetTTL, cfg.BaseURL, url.QueryEscape(reset))
	}
	fmt.Fprintln(e.stdout, "API token (shown once; keep it secret):")
	fmt.Fprintln(e.stdout, secret)
	return nil
}

// describe turns validation errors into the flag names a person typed.
func describe(err error) error {
	var invalid *tickets.ValidationError
	if errors.As(err, &invalid) {
		msg := ""
		for _, f := range invalid.Fields {
			flagName := "--" + f.Field
			if f.Field == "password" {
				flagName = "--password-env"
			}
			msg += fmt.Sprintf("\n  %s %s", flagName, f.Message)
		}
		return errors.New("invalid input:" + msg)
	}
	var conflict *tickets.ConflictError
	if errors.As(err, &conflict) {
		return fmt.Errorf("--%s: %s", conflict.Field, conflict.Message)
	}
	return err
}
