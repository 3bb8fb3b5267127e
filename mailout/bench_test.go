package mailout_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/openhelpdesk/helpdesk/mailout"
	"github.com/openhelpdesk/helpdesk/tickets"
)

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// BenchmarkOutbound queues 1,000 agent replies (through the desk, as the API does) and measures
// how fast the sender delivers them to a local go-smtp server, next to a plain go-smtp client
// sending the same number of messages of the same size over as many connections. Size:
// HELPDESK_BENCH_REPLIES.
func BenchmarkOutbound(b *testing.B) {
	n := envInt("HELPDESK_BENCH_REPLIES", 1000)
	const workers = 4
	ctx := context.Background()
	for b.Loop() {
		srv := newSMTPServer(b)
		mbox := addMailbox(b, srv.addr, "", "")
		desk := newDesk(0)
		agent := newAgent(b)
		body := strings.Repeat("Thank you for writing. Please reset your password from the login page and try again. ", 20)
		var ticketIDs []int64
		for i := range n {
			tk, err := desk.Intake(ctx, tickets.NewTicket{Channel: tickets.ChannelEmail, Customer: tickets.CustomerContact{Email: email("out")},
				Subject: fmt.Sprintf("Outbound %d", i), Body: "help"})
			if err != nil {
				b.Fatal(err)
			}
			ticketIDs = append(ticketIDs, tk.ID)
		}
		for _, id := range ticketIDs {
			if _, err := desk.AddStaffMessage(ctx, id, tickets.StaffMessage{Kind: tickets.MessageReply, AuthorID: agent.ID, Body: body}); err != nil {
				b.Fatal(err)
			}
		}
		if got := count(b, `SELECT count(*) FROM outbox WHERE status = 'queued' AND mailbox_id = ?`, mbox.ID); got != int64(n) {
			b.Fatalf("%d queued", got)
		}

		sender := newSender(mailout.SenderOptions{Workers: workers})
		start := time.Now()
		st, err := sender.SendDue(ctx)
		sendWall := time.Since(start)
		if err != nil || st.Sent != n {
			b.Fatalf("sent %+v %v", st, err)
		}
		var size int
		for _, m := range srv.received() {
			size += len(m.Raw)
		}
		raw := srv.received()[0].Raw

		// Baseline: the same number of messages straight from a go-smtp client.
		start = time.Now()
		var wg sync.WaitGroup
		per := n / workers
		for w := range workers {
			wg.Go(func() {
				c, err := smtp.Dial(srv.addr)
				if err != nil {
					b.Error(err)
					return
				}
				defer c.Close()
				for i := range per + (n%workers)*btoi(w == 0) {
					if err := c.SendMail(mbox.Address, []string{fmt.Sprintf("base%d.%d@example.com", w, i)}, strings.NewReader(string(raw))); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		baseWall := time.Since(start)

		sendRate := float64(n) / sendWall.Seconds()
		baseRate := float64(n) / baseWall.Seconds()
		b.ReportMetric(sendRate, "msgs/s")
		b.ReportMetric(baseRate, "smtp_only_msgs/s")
		fmt.Printf("\noutbound replies to a local go-smtp server, %d messages of %.1f KB, %d connections\n", n, float64(size)/float64(n)/1024, workers)
		fmt.Printf("  outbox -> SMTP (claim, compose, send, mark)  %8.0f messages/s  (%.2f s)\n", sendRate, sendWall.Seconds())
		fmt.Printf("  go-smtp client only (baseline)               %8.0f messages/s  (%.2f s)\n", baseRate, baseWall.Seconds())
		fmt.Printf("  outbox / baseline                            %8.1f %%\n", 100*sendRate/baseRate)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
