package mailin_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/openhelpdesk/helpdesk/internal/database"
	"github.com/openhelpdesk/helpdesk/mailin"
	"github.com/openhelpdesk/helpdesk/tickets"
)

const crashHelperEnv = "MAILIN_CRASH_HELPER"

// crashHelper is the ingester the crash test kills: it reads one mailbox until nothing is new,
// and with MAILIN_CRASH_POINT=point:n sends itself SIGKILL the n-th time ingestion reaches that
// point.
func crashHelper() int {
	ctx := context.Background()
	var err error
	if db, err = database.Open(ctx, os.Getenv("MAILIN_CRASH_DSN"), database.Options{Logger: quiet}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if keys, err = mailin.NewKeyring(testKey); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	id, _ := strconv.ParseInt(os.Getenv("MAILIN_CRASH_MAILBOX"), 10, 64)
	r := newRunner(tickets.NewDesk(db, tickets.Limits{}), mailin.RunnerOptions{})
	mailin.SetBatchMessages(r, 30)
	if point, nth, ok := strings.Cut(os.Getenv("MAILIN_CRASH_POINT"), ":"); ok {
		n, _ := strconv.Atoi(nth)
		var left atomic.Int64 // a split batch reaches the points from two goroutines
		left.Store(int64(n))
		mailin.SetCrashHook(r, func(p string) {
			if p == point {
				if left.Add(-1) == 0 {
					syscall.Kill(os.Getpid(), syscall.SIGKILL)
					time.Sleep(time.Minute)
				}
			}
		})
	}
	for {
		stats, err := r.SyncOnce(ctx, id)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sync:", err)
			return 1
		}
		if stats.Fetched == 0 {
			return 0
		}
	}
}

// The ingester is killed with SIGKILL at many points while it takes in a few hundred messages
// (inside a batch, just before a commit, between a commit and flagging, and at random moments),
// restarted each time, and in the end every message is in exactly once and flagged \Seen.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the ingester many times")
	}
	srv := newMemIMAP(t)
	mbox := addMailbox(t, srv.addr, mailboxOpts{})
	const n = 300
	run := unique.Add(1)
	for i := range n {
		id := msgID("crash")
		if i%10 == 0 {
			id = "" // deduplicated by the hash of the raw message
		}
		srv.deliver(t, "INBOX", simple(fmt.Sprintf("Customer %d <crash%d.%d@example.com>", i, run, i%40),
			fmt.Sprintf("Crash %d-%d", run, i), id, fmt.Sprintf("Message %d of the crash test.", i)))
	}

	start := func(point string, killAfter time.Duration) (killed bool, out string) {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashHelperEnv+"=1", "MAILIN_CRASH_DSN="+testDSN,
			"MAILIN_CRASH_MAILBOX="+strconv.FormatInt(mbox.ID, 10), "MAILIN_CRASH_POINT="+point)
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stderr, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if killAfter > 0 {
			timer := time.AfterFunc(killAfter, func() { cmd.Process.Signal(syscall.SIGKILL) })
			defer timer.Stop()
		}
		err := cmd.Wait()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
				return true, stderr.String()
			}
			t.Fatalf("ingester failed: %v\n%s", err, stderr.String())
		}
		if err != nil {
			t.Fatal(err)
		}
		return false, stderr.String()
	}

	plan := []string{
		"after-message:3", "before-commit:1", "after-commit:1", "after-message:17", "before-commit:2",
		"after-commit:2", "after-message:40", "after-commit:3", "before-commit:3", "after-message:1",
		"before-checkpoint:1", "before-checkpoint:2",
	}
	kills := 0
	for _, point := range plan {
		if killed, _ := start(point, 0); killed {
			kills++
		}
	}
	rng := rand.New(rand.NewPCG(uint64(run), 3))
	for range 6 {
		if killed, _ := start("", time.Duration(50+rng.IntN(400))*time.Millisecond); killed {
			kills++
		}
	}
	if killed, out := start("", 0); killed {
		t.Fatalf("the last run was killed:\n%s", out)
	}
	if kills < len(plan)/2 {
		t.Errorf("only %d runs were killed; the test did not crash the ingester often", kills)
	}

	prefix := fmt.Sprintf("Crash %d-%%", run)
	if got := count(t, `SELECT count(*) FROM email_messages WHERE mailbox_id = ?`, mbox.ID); got != n {
		t.Errorf("%d email records, want %d", got, n)
	}
	if got := count(t, `SELECT count(*) FROM tickets WHERE subject LIKE ?`, prefix); got != n {
		t.Errorf("%d tickets, want %d", got, n)
	}
	if got := count(t, `SELECT count(DISTINCT subject) FROM tickets WHERE subject LIKE ?`, prefix); got != n {
		t.Errorf("%d distinct tickets, want %d", got, n)
	}
	if got := count(t, `SELECT count(*) FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE t.subject LIKE ?`, prefix); got != n {
		t.Errorf("%d messages, want %d (one per email)", got, n)
	}
	if got := count(t, `SELECT last_uid FROM mailboxes WHERE id = ?`, mbox.ID); got != n {
		t.Errorf("checkpoint at UID %d, want %d", got, n)
	}
	unseen := 0
	for _, flags := range imapFlags(t, srv.addr, "INBOX") {
		if !hasFlag(flags, imap.FlagSeen) {
			unseen++
		}
	}
	if unseen != 0 {
		t.Errorf("%d messages are not flagged \\Seen after the last run", unseen)
	}
	t.Logf("%d of %d runs killed", kills, len(plan)+6)
}
