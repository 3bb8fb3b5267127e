package web

import (
	"fmt"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/limiter"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// access is who may call a route and what guards it.
type access int

const (
	public     access = iota // anyone
	formSubmit               // a public form's POST: a per-IP rate limit (the handler checks CSRF)
	agent                    // staff with an API token, any role
	supervisor               // supervisors and admins
	admin                    // admins only
)

type route struct {
	method  string
	path    string
	access  access
	handler fiber.Handler
}

// routes is the one table of everything the server answers.
func (s *server) routes() []route {
	return []route{
		{"GET", "/healthz", public, s.healthz},
		{"GET", "/readyz", public, s.readyz},
		{"GET", "/static/*", public, s.static},
		{"GET", "/", public, s.home},

		{"GET", "/support", public, s.supportForm},
		{"POST", "/support", formSubmit, s.supportSubmit},
		{"GET", "/support/sent", public, s.supportSent},

		{"GET", "/api/v1/openapi.json", public, s.openAPI},
		{"GET", "/api/v1/me", agent, s.apiMe},
		{"POST", "/api/v1/tickets", agent, s.apiCreateTicket},
		{"GET", "/api/v1/tickets", agent, s.apiListTickets},
		{"GET", "/api/v1/tickets/:id", agent, s.apiGetTicket},
		{"PATCH", "/api/v1/tickets/:id", agent, s.apiUpdateTicket},
		{"POST", "/api/v1/tickets/:id/messages", agent, s.apiAddMessage},
		{"GET", "/api/v1/attachments/:id", agent, s.apiGetAttachment},
		{"GET", "/api/v1/customers", agent, s.apiFindCustomer},
		{"GET", "/api/v1/customers/:id", agent, s.apiGetCustomer},
		{"PATCH", "/api/v1/customers/:id", agent, s.apiUpdateCustomer},
		{"POST", "/api/v1/customers/:id/identities", agent, s.apiAddIdentity},
		{"POST", "/api/v1/customers/:id/merge", supervisor, s.apiMergeCustomer},
		{"GET", "/api/v1/customers/:id/purchases", agent, s.apiListPurchases},
		{"POST", "/api/v1/customers/:id/purchases", supervisor, s.apiAddPurchase},
		{"POST", "/api/v1/purchases/import", supervisor, s.apiImportPurchases},
		{"GET", "/api/v1/settings/customer-value", supervisor, s.apiGetValueSettings},
		{"PUT", "/api/v1/settings/customer-value", admin, s.apiPutValueSettings},
		{"GET", "/api/v1/analytics/customers", supervisor, s.apiCustomerAnalytics},
		{"GET", "/api/v1/users", agent, s.apiListUsers},
		{"POST", "/api/v1/users", admin, s.apiCreateUser},
		{"PATCH", "/api/v1/users/:id", agent, s.apiUpdateUser},
		{"GET", "/api/v1/teams", agent, s.apiListTeams},
		{"POST", "/api/v1/teams", admin, s.apiCreateTeam},
		{"PATCH", "/api/v1/teams/:id", admin, s.apiUpdateTeam},
		{"PUT", "/api/v1/teams/:id/members/:user_id", admin, s.apiAddTeamMember},
		{"DELETE", "/api/v1/teams/:id/members/:user_id", admin, s.apiRemoveTeamMember},
		{"POST", "/api/v1/tokens", agent, s.apiCreateToken},
		{"DELETE", "/api/v1/tokens/:id", agent, s.apiRevokeToken},
	}
}

// mount registers every route behind the guards its access asks for.
func (s *server) mount(app *fiber.App) error {
	limitSubmissions := limiter.New(limiter.Config{
		Max:          s.Config.Form.RateLimit,
		Expiration:   s.Config.Form.RateWindow,
		Storage:      s.HTTPState,
		KeyGenerator: func(c *fiber.Ctx) string { return "form:" + c.IP() },
		LimitReached: s.formRateLimited,
	})
	guards := map[access][]fiber.Handler{
		public: nil,
		// The limit counts before the CSRF check, so that bots without tokens are counted too.
		formSubmit: {limitSubmissions},
		agent:      {s.requireRole(tickets.RoleAgent)},
		supervisor: {s.requireRole(tickets.RoleSupervisor)},
		admin:      {s.requireRole(tickets.RoleAdmin)},
	}
	for _, r := range s.routes() {
		g, ok := guards[r.access]
		if !ok {
			return fmt.Errorf("web: route %s %s has no guard for its access", r.method, r.path)
		}
		app.Add(r.method, r.path, append(g, r.handler)...)
	}
	return nil
}
