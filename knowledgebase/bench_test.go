package knowledgebase_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openhelpdesk/helpdesk/internal/config"
	"github.com/openhelpdesk/helpdesk/internal/demo"
	"github.com/openhelpdesk/helpdesk/knowledgebase"
	"github.com/openhelpdesk/helpdesk/tickets"
	"github.com/openhelpdesk/helpdesk/web"
)

// BenchmarkKnowledgeBase indexes HELPDESK_BENCH_KB_DOCS documents (default 100,000: published
// articles of a few hundred words in English and Spanish, and a year of tickets from the demo
// loader, most of them solved) and prints:
//
//   - the documents/s of a full build (`helpdesk reindex`: read from PostgreSQL, build the
//     documents, index) next to Bleve alone batch-indexing the same documents from memory into an
//     index of the same mapping, in the same run (target: at least 70% of it);
//   - the documents/s of the change feed bringing every one of them up to date;
//   - search and suggestion latency in process (target: p99 under 10 ms), and
//     GET /api/v1/kb/suggest over loopback HTTP (target: p99 under 15 ms).
//
// The benchmark imports web for the HTTP figure only; the package itself never does.
func BenchmarkKnowledgeBase(b *testing.B) {
	ctx := context.Background()
	want := envInt("HELPDESK_BENCH_KB_DOCS", 100_000)
	articles := max(want/50, 10)
	loadCorpus(b, want, articles)
	var docs int
	db.Raw(`SELECT (SELECT count(*) FROM kb_articles WHERE state = 'published') + (SELECT count(*) FROM tickets)`).Scan(&docs)
	var published, problems int
	db.Raw(`SELECT count(*) FROM kb_articles WHERE state = 'published'`).Scan(&published)
	db.Raw(`SELECT count(*) FROM tickets WHERE status IN ('solved', 'closed')`).Scan(&problems)

	for b.Loop() {
		dir := b.TempDir()
		quiet := slog.New(slog.DiscardHandler)

		// Ours: a full build from PostgreSQL.
		stats, err := knowledgebase.Reindex(ctx, db, filepath.Join(dir, "ours"), quiet)
		if err != nil {
			b.Fatal(err)
		}
		ourRate := float64(stats.Documents) / stats.Duration.Seconds()

		// The baseline: Bleve alone, the same documents from memory, the same batches.
		start := time.Now()
		ids, fields, isPublic, err := knowledgebase.BenchDocs(ctx, db)
		if err != nil {
			b.Fatal(err)
		}
		readDur := time.Since(start)
		raw, rawPub, err := knowledgebase.NewBenchIndexes(filepath.Join(dir, "raw"))
		if err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		for i := 0; i < len(ids); i += knowledgebase.BuildPage {
			batch, pubBatch := raw.NewBatch(), rawPub.NewBatch()
			for j := i; j < min(i+knowledgebase.BuildPage, len(ids)); j++ {
				if err := batch.Index(ids[j], fields[j]); err != nil {
					b.Fatal(err)
				}
				if isPublic[j] {
					if err := pubBatch.Index(ids[j], fields[j]); err != nil {
						b.Fatal(err)
					}
				}
			}
			if pubBatch.Size() > 0 {
				if err := rawPub.Batch(pubBatch); err != nil {
					b.Fatal(err)
				}
			}
			if err := raw.Batch(batch); err != nil {
				b.Fatal(err)
			}
		}
		rawDur := time.Since(start)
		raw.Close()
		rawPub.Close()
		ids, fields, isPublic = nil, nil, nil
		rawRate := float64(stats.Documents) / rawDur.Seconds()

		// The node takes the built index in and merges it into one segment, as serve does.
		kb, err := knowledgebase.Open(ctx, db, knowledgebase.Options{Dir: filepath.Join(dir, "ours"), Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		if err := kb.Sync(ctx); err != nil {
			b.Fatal(err)
		}
		for t0 := time.Now(); kb.Status().Segments > 2 && time.Since(t0) < 5*time.Minute; {
			time.Sleep(50 * time.Millisecond)
		}

		// Queries, one at a time, in process.
		var staff, faceted, public latencies
		rng := rand.New(rand.NewPCG(1, 2))
		const queries = 3000
		for i := range queries {
			q := benchQueries[rng.IntN(len(benchQueries))]
			t0 := time.Now()
			switch i % 3 {
			case 0:
				_, err = kb.Search(ctx, knowledgebase.Query{Text: q})
				staff.add(time.Since(t0))
			case 1:
				_, err = kb.Search(ctx, knowledgebase.Query{Text: q, Facets: true})
				faceted.add(time.Since(t0))
			default:
				_, err = kb.Suggest(ctx, q, "", 5)
				public.add(time.Since(t0))
			}
			if err != nil {
				b.Fatal(err)
			}
		}

		// Suggestions over HTTP, as the support form's script asks for them: customers typing at
		// a steady 100 requests a second in all, from 8 connections.
		base, stop := serveKB(b, kb)
		const clients, requests, rate = 8, 3000, 100
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
		var overHTTP latencies
		var next atomic.Int64
		var failed atomic.Value
		var wg sync.WaitGroup
		httpStart := time.Now()
		for range clients {
			wg.Go(func() {
				for {
					i := int(next.Add(1))
					if i > requests || failed.Load() != nil {
						return
					}
					// Request i is due at i/rate seconds; a late one goes at once.
					time.Sleep(time.Until(httpStart.Add(time.Duration(i) * time.Second / rate)))
					q := benchQueries[i%len(benchQueries)]
					t0 := time.Now()
					res, err := client.Get(base + "/api/v1/kb/suggest?q=" + url.QueryEscape(q))
					if err == nil {
						io.Copy(io.Discard, res.Body)
						res.Body.Close()
						if res.StatusCode != 200 {
							err = fmt.Errorf("status %d", res.StatusCode)
						}
					}
					if err != nil {
						failed.Store(err)
						return
					}
					overHTTP.add(time.Since(t0))
				}
			})
		}
		wg.Wait()
		httpDur := time.Since(httpStart)
		stop()
		// The change feed: every document changes once, and the node catches up.
		if err := db.Exec(`INSERT INTO kb_feed (kind, doc_id)
			SELECT 'article', id FROM kb_articles WHERE state = 'published' UNION ALL SELECT 'ticket', id FROM tickets`).Error; err != nil {
			b.Fatal(err)
		}
		applied := kb.Status().Applied
		start = time.Now()
		if err := kb.Sync(ctx); err != nil {
			b.Fatal(err)
		}
		feedDur := time.Since(start)
		feedRate := float64(kb.Status().Applied-applied) / feedDur.Seconds()
		kb.Close()
		if err, _ := failed.Load().(error); err != nil {
			b.Fatal(err)
		}

		b.ReportMetric(ourRate, "build_docs/s")
		b.ReportMetric(rawRate, "bleve_docs/s")
		b.ReportMetric(100*ourRate/rawRate, "build_%_of_bleve")
		b.ReportMetric(feedRate, "feed_docs/s")
		b.ReportMetric(ms(staff.percentile(0.99)), "search_p99_ms")
		b.ReportMetric(ms(faceted.percentile(0.99)), "search_facets_p99_ms")
		b.ReportMetric(ms(public.percentile(0.99)), "suggest_p99_ms")
		b.ReportMetric(ms(overHTTP.percentile(0.99)), "http_suggest_p99_ms")
		fmt.Printf("\nknowledge base, %d documents (%d published articles, %d tickets of which %d solved or closed)\n",
			stats.Documents, published, docs-published, problems)
		fmt.Printf("  full build from PostgreSQL   %8.0f docs/s  (%s)\n", ourRate, stats.Duration.Round(time.Millisecond))
		fmt.Printf("  Bleve alone, same documents  %8.0f docs/s  (%s)\n", rawRate, rawDur.Round(time.Millisecond))
		fmt.Printf("  build / Bleve alone          %8.1f %%   (target >= 70 %%)\n", 100*ourRate/rawRate)
		fmt.Printf("  reading them from PostgreSQL %8.0f docs/s  (%s, no indexing)\n", float64(stats.Documents)/readDur.Seconds(), readDur.Round(time.Millisecond))
		fmt.Printf("  change feed, every doc once  %8.0f docs/s  (%s)\n", feedRate, feedDur.Round(time.Millisecond))
		fmt.Printf("  search (staff)               p50 %6.2f ms  p99 %6.2f ms  (%d queries, target p99 < 10 ms)\n", ms(staff.percentile(0.5)), ms(staff.percentile(0.99)), queries/3)
		fmt.Printf("  search (staff, facets)       p50 %6.2f ms  p99 %6.2f ms  (%d queries)\n", ms(faceted.percentile(0.5)), ms(faceted.percentile(0.99)), queries/3)
		fmt.Printf("  suggest (in process)         p50 %6.2f ms  p99 %6.2f ms  (%d queries, target p99 < 10 ms)\n", ms(public.percentile(0.5)), ms(public.percentile(0.99)), queries/3)
		fmt.Printf("  GET /api/v1/kb/suggest       p50 %6.2f ms  p99 %6.2f ms  (%d requests over %d connections at %.0f req/s, target p99 < 15 ms)\n",
			ms(overHTTP.percentile(0.5)), ms(overHTTP.percentile(0.99)), requests, clients, float64(requests)/httpDur.Seconds())
	}
}

// benchQueries are what customers and agents type: whole words, typos, words cut short while
// typing, Spanish and English.
var benchQueries = []string{
	"cannot log in", "password reset email", "reset link expired", "refund", "invoice wrong amount",
	"order not delivered", "tracking number", "damaged package", "cancel subscription", "primter not working",
	"pasword", "accont locked", "charged twice", "return label", "change delivery address",
	"no puedo iniciar sesión", "no puedo inic", "contraseña", "contrasena caducado", "factura duplicada",
	"devolución del pedido", "pedido no ha llegado", "cobro dos veces", "impresoras", "cancelar suscripción",
	"envío retrasado", "reembolso", "numero de seguimiento", "how do I change my passw", "la factura de marz",
}

// loadCorpus fills the database up to want documents: n articles of our own, the rest tickets
// from the demo loader.
func loadCorpus(b *testing.B, want, n int) {
	ctx := context.Background()
	var have int
	db.Raw(`SELECT count(*) FROM kb_articles WHERE state = 'published' AND category LIKE 'bench-%'`).Scan(&have)
	if have < n {
		insertArticles(b, n-have)
	}
	var docs int
	db.Raw(`SELECT (SELECT count(*) FROM kb_articles WHERE state = 'published') + (SELECT count(*) FROM tickets)`).Scan(&docs)
	if docs < want {
		start := time.Now()
		res, err := demo.Load(ctx, testDSN, demo.Options{Customers: max(1, (want-docs)/10), Tickets: want - docs, Purchases: -1, Seed: 11, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		fmt.Printf("\nloaded %d tickets, %d messages in %s\n", res.Tickets, res.Messages, time.Since(start).Round(time.Second))
	}
}

// Sentences articles are made of, per locale.
var articleSentences = map[string][]string{
	"en": {
		"Open the sign-in page and choose Forgot password to receive a reset link by email.",
		"The reset link works for one hour; after that, ask for a new one.",
		"After five failed attempts we lock the account for fifteen minutes to keep it safe.",
		"Refunds reach your card within five to ten working days after we receive the return.",
		"You can download every invoice from the Billing page of your account.",
		"If an order is charged twice, the second charge is usually a pre-authorisation that disappears in a few days.",
		"Parcels travel with our courier, and the tracking number is in the shipping confirmation email.",
		"When a parcel arrives damaged, take a photo of the box and the product before you throw anything away.",
		"Returns are free within thirty days; print the return label from the order page.",
		"To change the delivery address, edit the order before it is marked as shipped.",
		"Two-step verification sends a six-digit code to your phone every time you sign in from a new device.",
		"Clear the browser cache or try a private window when a page does not load as it should.",
		"The mobile app and the website share the same account and the same password.",
		"You can cancel your subscription at any time; it stays active until the end of the period you paid for.",
		"Printers connected by USB need the driver from the manufacturer's website.",
	},
	"es": {
		"Abre la página de inicio de sesión y elige He olvidado mi contraseña para recibir un enlace por correo.",
		"El enlace para restablecer la contraseña caduca a la hora; después, pide uno nuevo.",
		"Tras cinco intentos fallidos bloqueamos la cuenta durante quince minutos para protegerla.",
		"Los reembolsos llegan a tu tarjeta entre cinco y diez días laborables después de recibir la devolución.",
		"Puedes descargar todas las facturas desde la página de Facturación de tu cuenta.",
		"Si un pedido se cobra dos veces, el segundo cargo suele ser una preautorización que desaparece en unos días.",
		"Los paquetes viajan con nuestra empresa de mensajería y el número de seguimiento está en el correo de envío.",
		"Si un paquete llega dañado, haz una foto de la caja y del producto antes de tirar nada.",
		"Las devoluciones son gratuitas durante treinta días; imprime la etiqueta desde la página del pedido.",
		"Para cambiar la dirección de entrega, modifica el pedido antes de que aparezca como enviado.",
		"La verificación en dos pasos envía un código de seis cifras a tu móvil cada vez que entras desde un dispositivo nuevo.",
		"Borra la caché del navegador o prueba una ventana privada si una página no carga bien.",
		"La aplicación y la web comparten la misma cuenta y la misma contraseña.",
		"Puedes cancelar tu suscripción cuando quieras; sigue activa hasta el final del periodo pagado.",
		"Las impresoras conectadas por USB necesitan el controlador de la web del fabricante.",
	},
}

var articleTitles = map[string][]string{
	"en": {"Reset your password", "Account locked", "Refunds", "Invoices", "Double charges", "Tracking a parcel", "Damaged parcels",
		"Returns", "Delivery address", "Two-step verification", "Pages that do not load", "The mobile app", "Subscriptions", "Printers"},
	"es": {"Restablecer la contraseña", "Cuenta bloqueada", "Reembolsos", "Facturas", "Cobros duplicados", "Seguimiento del paquete",
		"Paquetes dañados", "Devoluciones", "Dirección de entrega", "Verificación en dos pasos", "Páginas que no cargan",
		"La aplicación", "Suscripciones", "Impresoras"},
}

// insertArticles writes n published articles of 8 to 30 sentences (150 to 600 words) in bulk.
func insertArticles(b *testing.B, n int) {
	u, err := tickets.NewStaff(db).CreateUser(context.Background(), tickets.SystemActor, tickets.NewUser{
		Email: fmt.Sprintf("bench.writer.%d@example.com", time.Now().UnixNano()), Name: "Bench Writer", Role: tickets.RoleSupervisor,
	})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, uint64(n)))
	for done := 0; done < n; {
		var sql strings.Builder
		sql.WriteString(`INSERT INTO kb_articles (author_id, title, body, body_html, body_text, category, locale, state, visibility) VALUES `)
		var args []any
		for i := 0; i < 500 && done < n; i, done = i+1, done+1 {
			locale := []string{"en", "es"}[rng.IntN(2)]
			sentences := articleSentences[locale]
			var body strings.Builder
			for range 8 + rng.IntN(23) {
				body.WriteString(sentences[rng.IntN(len(sentences))])
				body.WriteByte(' ')
			}
			text := strings.TrimSpace(body.String())
			title := articleTitles[locale][rng.IntN(len(articleTitles[locale]))] + " " + strconv.Itoa(done)
			if i > 0 {
				sql.WriteString(", ")
			}
			sql.WriteString("(?, ?, ?, ?, ?, ?, ?, 'published', ?)")
			args = append(args, u.ID, title, text, "<p>"+text+"</p>", text, "bench-"+locale, locale, []string{"public", "public", "internal"}[rng.IntN(3)])
		}
		if err := db.Exec(sql.String(), args...).Error; err != nil {
			b.Fatal(err)
		}
	}
}

// serveKB serves the web app with kb on a loopback socket.
func serveKB(b *testing.B, kb *knowledgebase.Base) (string, func()) {
	cfg, err := config.Load(flag.NewFlagSet("bench", flag.ContinueOnError), nil, func(string) string { return "" })
	if err != nil {
		b.Fatal(err)
	}
	desk := tickets.NewDesk(db, tickets.Limits{})
	app, err := web.New(web.Deps{
		Config: cfg, DB: db, Desk: desk, Customers: tickets.NewCustomers(db), Staff: tickets.NewStaff(db),
		Purchases: tickets.NewPurchases(desk), Knowledge: kb, SigningKey: []byte("0123456789abcdef0123456789abcdef"),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go app.Listener(ln)
	return "http://" + ln.Addr().String(), func() { app.Shutdown() }
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// latencies collects durations.
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
	l.mu.Lock()
	defer l.mu.Unlock()
	slices.Sort(l.d)
	if len(l.d) == 0 {
		return 0
	}
	return l.d[min(len(l.d)-1, int(float64(len(l.d))*p))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
