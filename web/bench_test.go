package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/openhelpdesk/helpdesk/internal/database"
	"github.com/openhelpdesk/helpdesk/internal/demo"
	"github.com/openhelpdesk/helpdesk/tickets"
)

// The benchmarks measure whole runs of a fixed size and print their figures next to a baseline
// measured in the same run, so that the comparison holds on any machine. Run them with
// `make bench`; sizes can be changed with HELPDESK_BENCH_* variables.

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// latencies collects request durations from many goroutines.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) percentile(p float64) time.Duration {
	slices.Sort(l.d)
	if len(l.d) == 0 {
		return 0
	}
	return l.d[min(len(l.d)-1, int(float64(len(l.d))*p))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// runClients runs work total times across clients goroutines and returns the wall time.
func runClients(b *testing.B, clients, total int, lat *latencies, work func(i int) error) time.Duration {
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1))
				if i > total || failed.Load() != nil {
					return
				}
				t0 := time.Now()
				if err := work(i); err != nil {
					failed.Store(err)
					return
				}
				lat.add(time.Since(t0))
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// serveOverLoopback runs the app on a real socket with a pool of poolSize connections.
func serveOverLoopback(b *testing.B, poolSize int) (base string, stop func()) {
	pool, err := database.Open(context.Background(), testDSN, database.Options{MaxConns: poolSize, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	a, err := webNew(pool)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go a.Listener(ln)
	return "http://" + ln.Addr().String(), func() { a.Shutdown(); database.Close(pool) }
}

// withToken prepares a request with an API token.
func withToken(token string) func(*http.Request) {
	return func(req *http.Request) { req.Header.Set("Authorization", "Bearer "+token) }
}

func httpClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
}

// BenchmarkTicketIntake drives POST /api/v1/tickets with 32 concurrent clients over loopback, and
// inserts the same rows (customer, identity, ticket, message, two events) with plain SQL over as
// many connections. Target: the API reaches 40% of the plain SQL rate with p99 under 50 ms.
// Each side first runs a few requests per client that are not counted: opening 32 database
// connections and preparing their statements took the first requests of either side 100–300 ms,
// which is start-up, not the steady rate the targets are about.
func BenchmarkTicketIntake(b *testing.B) {
	const clients = 32
	const warmUp = clients * 8
	total := envInt("HELPDESK_BENCH_TICKETS", 20000)
	conns := envInt("HELPDESK_BENCH_CONNS", clients)
	ctx := context.Background()
	run := fmt.Sprintf("%d", time.Now().UnixNano())
	body := func(prefix string, i int) []byte {
		return fmt.Appendf(nil, `{"customer":{"email":"%s.%s.%d@example.com","name":"Bench Customer %d"},"subject":"Cannot log in to my account","body":"Since this morning the login page says my password is wrong, although I reset it twice. Order #%d.","urgency":"normal"}`,
			prefix, run, i, i, i)
	}
	for b.Loop() {
		// The API.
		base, stop := serveOverLoopback(b, conns)
		client := httpClient(clients)
		var apiLat latencies
		postTicket := func(prefix string) func(i int) error {
			return func(i int) error {
				req, _ := http.NewRequest("POST", base+"/api/v1/tickets", bytes.NewReader(body(prefix, i)))
				req.Header.Set("Authorization", "Bearer "+agentToken)
				req.Header.Set("Content-Type", "application/json")
				res, err := client.Do(req)
				if err != nil {
					return err
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 201 {
					return fmt.Errorf("status %d", res.StatusCode)
				}
				return nil
			}
		}
		runClients(b, clients, warmUp, &latencies{}, postTicket("api-warm"))
		apiCPU := startCPU()
		apiWall := runClients(b, clients, total, &apiLat, postTicket("api"))
		apiCPU.stop(total)
		stop()

		// The baseline: the same rows with plain SQL, one transaction per ticket.
		pool, err := pgxpool.New(ctx, testDSN+poolSizeParam(testDSN, conns))
		if err != nil {
			b.Fatal(err)
		}
		insertRows := func(prefix string) func(i int) error {
			return func(i int) error {
				return insertTicketRows(ctx, pool, fmt.Sprintf("%s.%s.%d@example.com", prefix, run, i), i)
			}
		}
		runClients(b, clients, warmUp, &latencies{}, insertRows("sql-warm"))
		sqlCPU := startCPU()
		var sqlLat latencies
		sqlWall := runClients(b, clients, total, &sqlLat, insertRows("sql"))
		sqlCPU.stop(total)
		pool.Close()

		apiRate := float64(total) / apiWall.Seconds()
		sqlRate := float64(total) / sqlWall.Seconds()
		b.ReportMetric(apiRate, "api_tickets/s")
		b.ReportMetric(ms(apiLat.percentile(0.50)), "api_p50_ms")
		b.ReportMetric(ms(apiLat.percentile(0.99)), "api_p99_ms")
		b.ReportMetric(sqlRate, "sql_tickets/s")
		b.ReportMetric(ms(sqlLat.percentile(0.99)), "sql_p99_ms")
		b.ReportMetric(100*apiRate/sqlRate, "api_%_of_sql")
		fmt.Printf("\nticket intake, %d tickets, %d clients, %d database connections\n", total, clients, conns)
		fmt.Printf("  POST /api/v1/tickets  %8.0f tickets/s  p50 %6.2f ms  p90 %6.2f ms  p99 %6.2f ms  max %6.2f ms  CPU/ticket %s\n",
			apiRate, ms(apiLat.percentile(0.5)), ms(apiLat.percentile(0.9)), ms(apiLat.percentile(0.99)), ms(apiLat.percentile(1)), apiCPU)
		fmt.Printf("  plain SQL baseline    %8.0f tickets/s  p50 %6.2f ms  p90 %6.2f ms  p99 %6.2f ms  max %6.2f ms  CPU/ticket %s\n",
			sqlRate, ms(sqlLat.percentile(0.5)), ms(sqlLat.percentile(0.9)), ms(sqlLat.percentile(0.99)), ms(sqlLat.percentile(1)), sqlCPU)
		fmt.Printf("  API / baseline        %8.1f %%   (target >= 40 %%, API p99 < 50 ms)\n", 100*apiRate/sqlRate)
	}
}

// insertTicketRows is the intake benchmark's baseline: the rows of one ticket (customer, identity,
// ticket, message, two events) in one transaction of plain SQL.
func insertTicketRows(ctx context.Context, pool *pgxpool.Pool, address string, i int) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var customerID, ticketID int64
		if err := tx.QueryRow(ctx, `INSERT INTO customers (name) VALUES ($1) RETURNING id`, fmt.Sprintf("Bench Customer %d", i)).Scan(&customerID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO customer_identities (customer_id, kind, value) VALUES ($1, 'email', $2)`, customerID, address); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO tickets (subject, urgency, priority, channel, customer_id) VALUES ('Cannot log in to my account', 2, 2, 'api', $1) RETURNING id`, customerID).Scan(&ticketID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO messages (ticket_id, kind, author_customer_id, body_text) VALUES ($1, 'inbound', $2, 'Since this morning the login page says my password is wrong.')`, ticketID, customerID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO events (actor_kind, ticket_id, customer_id, type, data) VALUES
			('customer', NULL, $2, 'customer.created', '{}'), ('customer', $1, $2, 'ticket.created', '{}')`, ticketID, customerID)
		return err
	})
}

// cpuUse is the CPU time a benchmark phase took, in this process and on the whole machine (the
// database included), which says more than a rate when other tenants share the machine.
type cpuUse struct{ self, machine time.Duration }

// String says what one ticket cost, once stop has turned the readings into a difference.
func (c *cpuUse) String() string {
	return fmt.Sprintf("%.2f ms (Go %.2f ms)", ms(c.machine), ms(c.self))
}

func startCPU() *cpuUse {
	self, machine := cpuNow()
	return &cpuUse{self, machine}
}

func (c *cpuUse) stop(tickets int) {
	self, machine := cpuNow()
	c.self, c.machine = (self-c.self)/time.Duration(tickets), (machine-c.machine)/time.Duration(tickets)
}

// cpuNow reads this process's CPU time and the machine's busy time (all but idle and iowait).
func cpuNow() (self, machine time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return self, 0
	}
	fields := strings.Fields(strings.SplitN(string(stat), "\n", 2)[0])
	var ticks int64
	for i, f := range fields[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, _ := strconv.ParseInt(f, 10, 64)
		ticks += n
	}
	// /proc/stat counts in USER_HZ, 100 a second on Linux.
	return self, time.Duration(ticks) * 10 * time.Millisecond
}

// poolSizeParam adds pool_max_conns to a DSN of either form.
func poolSizeParam(dsn string, n int) string {
	if bytes.HasPrefix([]byte(dsn), []byte("postgres")) {
		sep := "?"
		if bytes.ContainsRune([]byte(dsn), '?') {
			sep = "&"
		}
		return fmt.Sprintf("%spool_max_conns=%d", sep, n)
	}
	return fmt.Sprintf(" pool_max_conns=%d", n)
}

// BenchmarkListOpenTickets loads HELPDESK_BENCH_LIST_TICKETS tickets (default 1,000,000) and reads
// GET /api/v1/tickets?status=open pages, the first and deeper ones by cursor, next to the same
// query in plain SQL. Target: p99 under 20 ms.
func BenchmarkListOpenTickets(b *testing.B) {
	ctx := context.Background()
	want := envInt("HELPDESK_BENCH_LIST_TICKETS", 1_000_000)
	var have int
	db.Raw(`SELECT count(*) FROM tickets`).Scan(&have)
	if have < want {
		start := time.Now()
		res, err := demo.Load(ctx, testDSN, demo.Options{Customers: max(1, (want-have)/10), Tickets: want - have, Seed: 7, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		fmt.Printf("\nloaded %d tickets, %d messages in %s\n", res.Tickets, res.Messages, time.Since(start).Round(time.Second))
	}
	var open int
	db.Raw(`SELECT count(*) FROM tickets WHERE status = 'open'`).Scan(&open)

	// Cursors spread over the whole listing, to read deep pages as well as the first.
	var cursorIDs []int64
	db.Raw(`SELECT id FROM tickets WHERE status = 'open' ORDER BY random() LIMIT 200`).Scan(&cursorIDs)
	const clients, total = 8, 4000
	for b.Loop() {
		base, stop := serveOverLoopback(b, 20)
		client := httpClient(clients)
		var apiLat latencies
		apiWall := runClients(b, clients, total, &apiLat, func(i int) error {
			url := base + "/api/v1/tickets?status=open&limit=25"
			if i%2 == 0 && len(cursorIDs) > 0 {
				url += "&cursor=" + tickets.EncodeCursor(cursorIDs[i%len(cursorIDs)])
			}
			return getOK(client, url, withToken(agentToken))
		})
		stop()

		pool, err := pgxpool.New(ctx, testDSN+poolSizeParam(testDSN, clients))
		if err != nil {
			b.Fatal(err)
		}
		var sqlLat latencies
		sqlWall := runClients(b, clients, total, &sqlLat, func(i int) error {
			before := int64(1 << 62)
			if i%2 == 0 && len(cursorIDs) > 0 {
				before = cursorIDs[i%len(cursorIDs)]
			}
			rows, err := pool.Query(ctx, `SELECT * FROM tickets WHERE status = 'open' AND id < $1 ORDER BY id DESC LIMIT 26`, before)
			if err != nil {
				return err
			}
			for rows.Next() {
			}
			rows.Close()
			return rows.Err()
		})
		pool.Close()

		b.ReportMetric(ms(apiLat.percentile(0.50)), "api_p50_ms")
		b.ReportMetric(ms(apiLat.percentile(0.99)), "api_p99_ms")
		b.ReportMetric(ms(sqlLat.percentile(0.99)), "sql_p99_ms")
		fmt.Printf("\nlist open tickets, %d tickets (%d open), %d requests, %d clients\n", max(have, want), open, total, clients)
		fmt.Printf("  GET /api/v1/tickets?status=open  %7.0f req/s  p50 %6.2f ms  p99 %6.2f ms  (target p99 < 20 ms)\n",
			float64(total)/apiWall.Seconds(), ms(apiLat.percentile(0.5)), ms(apiLat.percentile(0.99)))
		fmt.Printf("  plain SQL baseline               %7.0f req/s  p50 %6.2f ms  p99 %6.2f ms\n",
			float64(total)/sqlWall.Seconds(), ms(sqlLat.percentile(0.5)), ms(sqlLat.percentile(0.99)))
	}
}

// BenchmarkGetCustomer reads GET /api/v1/customers/{id} for random customers among 1,000,000 with
// 5,000,000 purchases (target: p99 under 10 ms), next to the same reads in plain SQL.
func BenchmarkGetCustomer(b *testing.B) {
	ctx := context.Background()
	customers := envInt("HELPDESK_BENCH_CUSTOMERS", 1_000_000)
	purchases := envInt("HELPDESK_BENCH_PURCHASES", 5_000_000)
	var have, havePurchases int
	db.Raw(`SELECT count(*) FROM customers`).Scan(&have)
	db.Raw(`SELECT count(*) FROM purchases`).Scan(&havePurchases)
	if have < customers || havePurchases < purchases {
		start := time.Now()
		res, err := demo.Load(ctx, testDSN, demo.Options{Customers: max(1, customers-have), Tickets: max(1, (customers-have)/5),
			Purchases: max(1, purchases-havePurchases), Seed: 13, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := testDesk().RecomputeAll(ctx); err != nil {
			b.Fatal(err)
		}
		fmt.Printf("\nloaded %d customers and %d purchases, and scored everyone, in %s\n", res.Customers, res.Purchases, time.Since(start).Round(time.Second))
	}
	var ids []int64
	db.Raw(`SELECT customer_id FROM customer_scores TABLESAMPLE SYSTEM (1) LIMIT 2000`).Scan(&ids)
	if len(ids) == 0 {
		b.Fatal("no scored customers")
	}
	const clients, total = 8, 4000
	for b.Loop() {
		base, stop := serveOverLoopback(b, 20)
		client := httpClient(clients)
		var apiLat latencies
		apiWall := runClients(b, clients, total, &apiLat, func(i int) error {
			return getOK(client, fmt.Sprintf("%s/api/v1/customers/%d", base, ids[i%len(ids)]), withToken(agentToken))
		})
		stop()

		pool, err := pgxpool.New(ctx, testDSN+poolSizeParam(testDSN, clients))
		if err != nil {
			b.Fatal(err)
		}
		var sqlLat latencies
		sqlWall := runClients(b, clients, total, &sqlLat, func(i int) error {
			id := ids[i%len(ids)]
			for _, q := range []string{
				`SELECT * FROM customers WHERE id = $1`,
				`SELECT * FROM customer_identities WHERE customer_id = $1 ORDER BY id`,
				`SELECT count(*) FROM tickets WHERE customer_id = $1`,
				`SELECT * FROM tickets WHERE customer_id = $1 ORDER BY id DESC LIMIT 50`,
				`SELECT * FROM customer_scores WHERE customer_id = $1`,
				`SELECT count(*) FROM purchases WHERE customer_id = $1`,
				`SELECT * FROM purchases WHERE customer_id = $1 ORDER BY purchased_at DESC, id DESC LIMIT 20`,
			} {
				rows, err := pool.Query(ctx, q, id)
				if err != nil {
					return err
				}
				for rows.Next() {
				}
				rows.Close()
			}
			return nil
		})
		pool.Close()
		b.ReportMetric(ms(apiLat.percentile(0.50)), "api_p50_ms")
		b.ReportMetric(ms(apiLat.percentile(0.99)), "api_p99_ms")
		b.ReportMetric(ms(sqlLat.percentile(0.99)), "sql_p99_ms")
		fmt.Printf("\ncustomer record, %d customers, %d requests, %d clients\n", max(have, customers), total, clients)
		fmt.Printf("  GET /api/v1/customers/{id}   %7.0f req/s  p50 %6.2f ms  p99 %6.2f ms  (target p99 < 10 ms)\n",
			float64(total)/apiWall.Seconds(), ms(apiLat.percentile(0.5)), ms(apiLat.percentile(0.99)))
		fmt.Printf("  plain SQL, the same reads    %7.0f req/s  p50 %6.2f ms  p99 %6.2f ms\n",
			float64(total)/sqlWall.Seconds(), ms(sqlLat.percentile(0.5)), ms(sqlLat.percentile(0.99)))
	}
}
