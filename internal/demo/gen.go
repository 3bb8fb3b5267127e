package demo

import (
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
)

// Random streams: each part of the data draws from its own stream of the seed, so that changing
// how many staff there are does not reshuffle every ticket, and so that ticket batches can be
// generated independently and in parallel yet the same for a given seed.
const (
	streamStaff     = 1
	streamCustomers = 2
	streamTickets   = 1 << 32 // + batch number
)

func newRand(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), stream*0x9E3779B97F4A7C15+1))
}

// pickWeighted returns an index into weights with probability proportional to its weight.
func pickWeighted(rng *rand.Rand, weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := rng.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

// Customer kinds and how common each is among the people who write to a help desk.
var (
	customerKinds       = []string{"customer", "prospect", "partner", "supplier", "employee"}
	customerKindWeights = []int{86, 6, 3, 2, 3}
)

// customer is what the generator keeps of each customer: enough to write their tickets, and small
// enough to hold for every customer of a large run.
type customer struct {
	id       int64
	created  int64 // unix microseconds
	given    uint16
	sur1     uint16
	sur2     int16 // second surname (Spanish style), or -1
	names    uint8 // which language the names come from
	lang     uint8 // which language they write in
	kind     uint8
	org      int16 // index into organizations, or -1
	phone    bool
	style    uint8 // how their email address is formed
	domain   uint8
	channel0 uint8 // channel of their first contact
}

func (c *customer) givenName() name { return givenNames[c.names][c.given] }

func (c *customer) fullName() string {
	s := givenNames[c.names][c.given].text + " " + surnames[c.names][c.sur1].text
	if c.sur2 >= 0 {
		s += " " + surnames[c.names][c.sur2].text
	}
	return s
}

// email forms a plausible address. The customer id, unique in the database, keeps addresses from
// colliding with those of an earlier run, and the domain is always one reserved for documentation.
func (c *customer) email() string {
	g := givenNames[c.names][c.given].ascii
	s := surnames[c.names][c.sur1].ascii
	id := strconv.FormatInt(c.id, 10)
	var local string
	switch c.style {
	case 0:
		local = g + "." + s + "." + id
	case 1:
		local = g[:1] + s + id
	case 2:
		local = g + "." + id
	default:
		local = s + "." + g + "." + id
	}
	if c.org >= 0 {
		return local + "@" + organizations[c.org].slug + ".example.com"
	}
	return local + "@" + mailDomains[c.domain]
}

// phoneNumber forms a mobile number in the normalized form intake stores (+ and digits): Spanish
// (+34 6xx xxx xxx) or British (+44 7xxx xxxxxx). The digits are a bijection of the customer id,
// so numbers look random but two customers never share one while ids stay below 10^8.
func (c *customer) phoneNumber() string {
	if c.lang == langES {
		n := (c.id*48271 + 31415926) % 100_000_000
		return "+346" + pad(n, 8)
	}
	n := (c.id*69621 + 271828182) % 1_000_000_000
	return "+447" + pad(n, 9)
}

func pad(n int64, width int) string {
	s := strconv.FormatInt(n, 10)
	if len(s) < width {
		s = strings.Repeat("0", width-len(s)) + s
	}
	return s
}

// genCustomers draws n customers whose ids are ids. About a third were already customers before
// the window the tickets span (an import from an older system); the rest arrive with the same
// rhythm as tickets. The result is sorted by creation time, which ticket generation relies on.
func genCustomers(seed int64, ids []int64, window *curve, windowStart, now int64) []customer {
	rng := newRand(seed, streamCustomers)
	n := len(ids)
	early := max(1, n*3/10)
	if early > n {
		early = n
	}
	earliest := windowStart - 2*365*microsPerDay
	cs := make([]customer, n)
	for j := range cs {
		c := &cs[j]
		c.id = ids[j]
		if j < early {
			c.created = earliest + int64((float64(j)+rng.Float64())/float64(early)*float64(windowStart-earliest))
		} else {
			c.created = window.at((float64(j-early) + rng.Float64()) / float64(n-early))
		}
		c.created = min(c.created, now)
		c.names = uint8(rng.IntN(2))
		// Most people write in the language their name suggests; some do not.
		c.lang = c.names
		if rng.IntN(100) < 12 {
			c.lang = 1 - c.names
		}
		c.given = uint16(rng.IntN(len(givenNames[c.names])))
		c.sur1 = uint16(rng.IntN(len(surnames[c.names])))
		c.sur2 = -1
		if c.names == langES && rng.IntN(2) == 0 {
			c.sur2 = int16(rng.IntN(len(surnames[c.names])))
		}
		c.kind = uint8(pickWeighted(rng, customerKindWeights))
		c.org = -1
		if customerKinds[c.kind] == "partner" || customerKinds[c.kind] == "supplier" || rng.IntN(100) < 30 {
			c.org = int16(rng.IntN(len(organizations)))
		}
		if customerKinds[c.kind] == "employee" {
			c.org = -1
		}
		c.phone = rng.IntN(100) < 30
		c.style = uint8(rng.IntN(4))
		c.domain = uint8(rng.IntN(len(mailDomains)))
		c.channel0 = uint8(pickWeighted(rng, channelWeights))
	}
	// Jitter can put two neighbours a hair out of order; tickets pick customers by binary search.
	sort.SliceStable(cs, func(a, b int) bool { return cs[a].created < cs[b].created })
	return cs
}

// staffer is a generated agent or supervisor.
type staffer struct {
	id      int64
	name    string
	email   string
	given   string
	role    string
	created int64
	teams   []int
}

// genStaff draws n staff users: mostly agents, one supervisor per six or so. Never admins: a demo
// database must not hand anyone the keys. Each team gets at least one member, and some people
// work in two teams.
func genStaff(seed int64, ids []int64, nTeams int, now int64) []staffer {
	rng := newRand(seed, streamStaff)
	n := len(ids)
	supervisors := 0
	if n >= 3 {
		supervisors = max(1, n/6)
	}
	staff := make([]staffer, n)
	for i := range staff {
		s := &staff[i]
		lang := rng.IntN(2)
		g := pick(rng, givenNames[lang])
		sn := pick(rng, surnames[lang])
		s.id = ids[i]
		s.given = g.text
		s.name = g.text + " " + sn.text
		s.email = g.ascii + "." + sn.ascii + "." + strconv.FormatInt(ids[i], 10) + "@example.com"
		s.role = "agent"
		if i < supervisors {
			s.role = "supervisor"
		}
		// Staff accounts predate the year of tickets.
		s.created = now - 365*microsPerDay - int64(rng.IntN(60))*microsPerDay - int64(rng.IntN(int(microsPerDay)))
		s.teams = []int{i % nTeams}
		if s.role == "supervisor" || rng.IntN(4) == 0 {
			if other := rng.IntN(nTeams); other != s.teams[0] {
				s.teams = append(s.teams, other)
			}
		}
	}
	for t := range nTeams {
		if n > 0 && n < nTeams && t >= n {
			staff[t%n].teams = append(staff[t%n].teams, t)
		}
	}
	return staff
}
