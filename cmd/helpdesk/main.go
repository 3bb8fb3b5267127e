// Command helpdesk runs the help desk: the web server and its workers, database migrations, user
// administration and sample data. Run `helpdesk help` for the commands and settings.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/openhelpdesk/helpdesk/internal/config"
)

// command is one subcommand. run gets the arguments after the command's name.
type command struct {
	name, args, summary string
	run                 func(ctx context.Context, env *env, args []string) error
}

// env is what every command writes to and reads from, so tests can run commands in-process.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

func commands() []command {
	return []command{
		{"serve", "[flags]", "run the web server and background workers", runServe},
		{"migrate", "up|status [flags]", "apply pending database migrations, or list them", runMigrate},
		{"user", "add --email E --name N --role admin|supervisor|agent [--password-env VAR]", "create a staff user and print an API token", runUser},
		{"demo", "[--customers N] [--tickets N]", "fill the database with realistic sample data", runDemo},
		{"reindex", "[flags]", "rebuild this node's search index from scratch; a running serve swaps it in without downtime", runReindex},
		{"import", "purchases FILE [--skip-invalid]", "import customers' purchases from CSV", runImport},
		{"scores", "recompute", "recompute every customer's value scores and tiers", runScores},
		{"ingest", "--once [--no-send]", "read every mailbox once (and send due mail), or until interrupted without --once", runIngest},
		{"mailbox", "add --name N --address A --host H [--port P] [--tls none|starttls|tls] --username U --password-env VAR [--folder F] --smtp-host H [--smtp-port P] [--smtp-tls none|starttls|tls] [--smtp-username U --smtp-password-env VAR] | list", "configure the mailboxes the help desk reads and sends as", runMailbox},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(e.stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, e, args[1:])
		if err == nil || errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(e.stderr, "helpdesk %s: %v\n", c.name, err)
		return 1
	}
	fmt.Fprintf(e.stderr, "helpdesk: unknown command %q\n\n", args[0])
	usage(e.stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: helpdesk <command> [arguments]")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n           %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintln(w, "\nSettings (environment variable, or the flag, which wins):")
	fmt.Fprint(w, config.Usage())
}

// loadConfig parses a command's flags (fs may carry the command's own) over the environment.
func loadConfig(e *env, fs *flag.FlagSet, args []string) (*config.Config, *slog.Logger, error) {
	fs.SetOutput(e.stderr)
	cfg, err := config.Load(fs, args, e.getenv)
	if err != nil {
		return nil, nil, err
	}
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	var h slog.Handler = slog.NewTextHandler(e.stderr, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(e.stderr, opts)
	}
	return cfg, slog.New(h), nil
}
