package mailin_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/openhelpdesk/helpdesk/mailin"
	"github.com/openhelpdesk/helpdesk/mailout"
	"github.com/openhelpdesk/helpdesk/tickets"
)

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// benchMessage is an email of about 4 KB: a new request from one of a thousand customers.
func benchMessage(run int64, i int) []byte {
	para := "Since this morning the login page says my password is wrong, although I reset it twice. " +
		"I also tried another browser and cleared the cookies, with the same result. Order " + strconv.Itoa(i) + ".\n\n"
	return simple(fmt.Sprintf("Customer %d <bench%d.%d@example.com>", i%1000, run, i%1000), fmt.Sprintf("Bench %d-%d: cannot log in", run, i),
		fmt.Sprintf("bench.%d.%d@mail.example.com", run, i), strings.Repeat(para, 21))
}

// BenchmarkIngestFromDovecot takes 5,000 messages of about 4 KB from a real Dovecot over loopback
// into committed tickets (with acknowledgements queued and each message flagged \Seen), and
// measures the raw IMAP FETCH of the same messages in the same run as the baseline. Target: at
// least 1,000 messages/s end to end on 2 cores. Size: HELPDESK_BENCH_EMAILS.
func BenchmarkIngestFromDovecot(b *testing.B) {
	n := envInt("HELPDESK_BENCH_EMAILS", 5000)
	for b.Loop() {
		dc := startDovecot(b)
		mbox := addMailbox(b, dc.addr, mailboxOpts{})
		run := unique.Add(1)
		raws := make([][]byte, n)
		var bytes int
		for i := range raws {
			raws[i] = benchMessage(run, i)
			bytes += len(raws[i])
		}
		dc.drop(b, raws...)

		// Baseline: fetch every message's body as the ingester does, and nothing else.
		c, err := imapclient.DialInsecure(dc.addr, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Login(imapUser, imapPassword).Wait(); err != nil {
			b.Fatal(err)
		}
		// Dovecot indexes the new Maildir files on the first SELECT; neither side pays for it.
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		fetched := 0
		for lo := 1; lo <= n; lo += 200 {
			msgs, err := c.Fetch(imap.UIDSet{{Start: imap.UID(lo), Stop: imap.UID(min(lo+199, n))}},
				&imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
			if err != nil {
				b.Fatal(err)
			}
			fetched += len(msgs)
		}
		fetchWall := time.Since(start)
		c.Logout().Wait()
		c.Close()
		if fetched != n {
			b.Fatalf("fetched %d of %d", fetched, n)
		}

		// End to end: fetch, parse, thread, open the ticket, queue the acknowledgement, commit,
		// flag \Seen.
		desk := tickets.NewDesk(db, tickets.Limits{})
		desk.AddHook(mailout.New(mailout.Options{AckLimit: 3, Logger: quiet}).Hook)
		r := newRunner(desk, mailin.RunnerOptions{})
		start = time.Now()
		stats, err := r.SyncOnce(context.Background(), mbox.ID)
		ingestWall := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if stats.Tickets != n {
			b.Fatalf("stats %+v", stats)
		}
		fetchRate := float64(n) / fetchWall.Seconds()
		ingestRate := float64(n) / ingestWall.Seconds()
		b.ReportMetric(ingestRate, "msgs/s")
		b.ReportMetric(fetchRate, "fetch_msgs/s")
		b.ReportMetric(100*ingestRate/fetchRate, "ingest_%_of_fetch")
		fmt.Printf("\nemail ingestion from Dovecot over loopback, %d messages of %.1f KB on average\n", n, float64(bytes)/float64(n)/1024)
		fmt.Printf("  IMAP FETCH only (baseline)      %8.0f messages/s  (%.2f s)\n", fetchRate, fetchWall.Seconds())
		fmt.Printf("  into committed tickets          %8.0f messages/s  (%.2f s)  target >= 1,000\n", ingestRate, ingestWall.Seconds())
		fmt.Printf("  end to end / FETCH              %8.1f %%\n", 100*ingestRate/fetchRate)
	}
}
