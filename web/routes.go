package web

import (
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/limiter"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// access is who may call a route and what guards it.
type access int

const (
	public         access = iota // anyone
	formSubmit                   // a public form's POST: a per-IP rate limit (the handler checks CSRF)
	agent                        // staff with an API token, any role
	supervisor                   // supervisors and admins
	admin                        // admins only
	beacon                       // a public page's report (a suggestion opened): its own per-IP limit
	signIn                       // the sign-in and password forms' POSTs: a per-IP limit against guessing
	deskPage                     // staff pages, any role, with a session (forms checked for CSRF)
	supervisorPage               // staff pages for supervisors and admins
	adminPage                    // staff pages for admins
	portalPage                   // customer portal pages: a portal session (forms checked for its CSRF token)
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
		{"POST", "/lang", signIn, s.setLanguage},

		{"GET", "/login", public, s.loginForm},
		{"POST", "/login", signIn, s.login},
		{"POST", "/logout", deskPage, s.logout},
		{"GET", "/password/forgot", public, s.passwordForgotForm},
		{"POST", "/password/forgot", signIn, s.passwordForgot},
		{"GET", "/password/reset", public, s.passwordResetForm},
		{"POST", "/password/reset", signIn, s.passwordReset},

		// Desk pages (queue, ticket, customer).
		{"GET", "/desk", deskPage, s.deskHome},
		{"GET", "/desk/queue", deskPage, s.deskQueue},
		{"GET", "/desk/queue/rows", deskPage, s.deskQueueRows},
		{"POST", "/desk/queue/bulk", deskPage, s.deskQueueBulk},
		{"GET", "/desk/customers", deskPage, s.deskCustomerSearch},
		{"GET", "/desk/customers/:id", deskPage, s.deskCustomer},
		{"GET", "/desk/customers/:id/merge", supervisorPage, s.deskCustomerMergeConfirm},
		{"POST", "/desk/customers/:id/merge", supervisorPage, s.deskCustomerMerge},
		{"GET", "/desk/tickets/:id", deskPage, s.deskTicket},
		{"POST", "/desk/tickets/:id", deskPage, s.deskTicketUpdate},
		{"POST", "/desk/tickets/:id/messages", deskPage, s.deskTicketReply},
		{"GET", "/desk/tickets/:id/suggestions", deskPage, s.deskTicketSuggestions},
		{"GET", "/desk/tickets/:id/presence", deskPage, s.deskTicketPresence},
		{"POST", "/desk/tickets/:id/presence", deskPage, s.deskTicketHeartbeat},
		{"GET", "/desk/attachments/:id", deskPage, s.deskAttachment},

		// Supervisor and admin pages.
		{"GET", "/admin", adminPage, s.adminIndex},
		{"GET", "/admin/users", adminPage, s.adminUsers},
		{"POST", "/admin/users", adminPage, s.adminCreateUser},
		{"GET", "/admin/users/:id", adminPage, s.adminUser},
		{"POST", "/admin/users/:id", adminPage, s.adminUpdateUser},
		{"GET", "/admin/teams", adminPage, s.adminTeams},
		{"POST", "/admin/teams", adminPage, s.adminCreateTeam},
		{"POST", "/admin/teams/:id", adminPage, s.adminUpdateTeam},
		{"POST", "/admin/teams/:id/members", adminPage, s.adminAddTeamMember},
		{"POST", "/admin/teams/:id/members/:user_id/remove", adminPage, s.adminRemoveTeamMember},
		{"GET", "/admin/mailboxes", adminPage, s.adminMailboxes},
		{"POST", "/admin/mailboxes", adminPage, s.adminCreateMailbox},
		{"POST", "/admin/mailboxes/test", adminPage, s.adminTestNewMailbox},
		{"POST", "/admin/mailboxes/:id/test", adminPage, s.adminTestMailbox},
		{"GET", "/admin/quarantine", adminPage, s.adminQuarantine},
		{"GET", "/admin/quarantine/:id/raw", adminPage, s.adminQuarantineRaw},
		{"POST", "/admin/quarantine/:id/reprocess", adminPage, s.adminReprocessQuarantine},
		{"GET", "/admin/sla", adminPage, s.adminSLA},
		{"GET", "/admin/sla/calendars/new", adminPage, s.adminNewCalendar},
		{"POST", "/admin/sla/calendars", adminPage, s.adminCreateCalendar},
		{"GET", "/admin/sla/calendars/:id", adminPage, s.adminCalendar},
		{"POST", "/admin/sla/calendars/:id", adminPage, s.adminUpdateCalendar},
		{"POST", "/admin/sla/calendars/:id/import", adminPage, s.adminImportHolidays},
		{"GET", "/admin/sla/policies/new", adminPage, s.adminNewPolicy},
		{"POST", "/admin/sla/policies", adminPage, s.adminCreatePolicy},
		{"GET", "/admin/sla/policies/:id", adminPage, s.adminPolicy},
		{"POST", "/admin/sla/policies/:id", adminPage, s.adminUpdatePolicy},
		{"GET", "/admin/value", adminPage, s.adminValue},
		{"POST", "/admin/value", adminPage, s.adminSaveValue},
		{"GET", "/admin/tokens", adminPage, s.adminTokens},
		{"POST", "/admin/tokens", adminPage, s.adminCreateToken},
		{"POST", "/admin/tokens/:id/revoke", adminPage, s.adminRevokeToken},
		{"GET", "/desk/dashboard", supervisorPage, s.deskDashboard},
		{"GET", "/desk/dashboard.csv", supervisorPage, s.deskDashboardCSV},

		// Customer portal.
		{"GET", "/portal", public, s.portalHome},
		{"POST", "/portal", formSubmit, s.portalRequest},
		{"GET", "/portal/t/:token", public, s.portalOpenLink},
		{"GET", "/portal/tickets", portalPage, s.portalTickets},
		{"GET", "/portal/tickets/:id", portalPage, s.portalTicket},
		{"POST", "/portal/tickets/:id/messages", portalPage, s.portalReply},
		{"GET", "/portal/attachments/:id", portalPage, s.portalAttachment},
		{"POST", "/portal/logout", portalPage, s.portalLogout},

		{"GET", "/kb", public, s.kbIndex},
		{"GET", "/kb/articles/:id", public, s.kbArticle},
		{"POST", "/kb/opened", beacon, s.kbOpened},

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

		{"GET", "/api/v1/kb/suggest", public, s.apiSuggest},
		{"GET", "/api/v1/kb/deflection", supervisor, s.apiDeflection},
		{"GET", "/api/v1/search", agent, s.apiSearch},
		{"GET", "/api/v1/articles", agent, s.apiListArticles},
		{"POST", "/api/v1/articles", agent, s.apiCreateArticle},
		{"GET", "/api/v1/articles/:id", agent, s.apiGetArticle},
		{"PATCH", "/api/v1/articles/:id", agent, s.apiUpdateArticle},
		{"DELETE", "/api/v1/articles/:id", supervisor, s.apiDeleteArticle},
		{"GET", "/api/v1/articles/:id/revisions", agent, s.apiArticleRevisions},
		{"GET", "/api/v1/problems/:id", agent, s.apiGetProblem},
		{"POST", "/api/v1/problems/:id/article", agent, s.apiPromoteProblem},
		{"GET", "/api/v1/tickets/:id/suggestions", agent, s.apiTicketSuggestions},
		{"GET", "/api/v1/mailboxes", admin, s.apiListMailboxes},
		{"POST", "/api/v1/mailboxes", admin, s.apiCreateMailbox},
		{"GET", "/api/v1/quarantine", admin, s.apiListQuarantine},
		{"GET", "/api/v1/quarantine/:id/raw", admin, s.apiQuarantineRaw},
		{"POST", "/api/v1/quarantine/:id/reprocess", admin, s.apiReprocessQuarantine},

		{"GET", "/api/v1/sla/at-risk", agent, s.apiSLAAtRisk},
		{"GET", "/api/v1/sla/metrics", supervisor, s.apiSLAMetrics},
		{"GET", "/api/v1/sla/calendars", supervisor, s.apiListCalendars},
		{"POST", "/api/v1/sla/calendars", admin, s.apiCreateCalendar},
		{"GET", "/api/v1/sla/calendars/:id", supervisor, s.apiGetCalendar},
		{"PUT", "/api/v1/sla/calendars/:id", admin, s.apiUpdateCalendar},
		{"DELETE", "/api/v1/sla/calendars/:id", admin, s.apiDeleteCalendar},
		{"POST", "/api/v1/sla/calendars/:id/holidays/import", admin, s.apiImportHolidays},
		{"GET", "/api/v1/sla/policies", supervisor, s.apiListPolicies},
		{"POST", "/api/v1/sla/policies", admin, s.apiCreatePolicy},
		{"GET", "/api/v1/sla/policies/:id", supervisor, s.apiGetPolicy},
		{"PUT", "/api/v1/sla/policies/:id", admin, s.apiUpdatePolicy},
		{"DELETE", "/api/v1/sla/policies/:id", admin, s.apiDeletePolicy},
		{"GET", "/api/v1/notifications", agent, s.apiListNotifications},
		{"POST", "/api/v1/notifications/read", agent, s.apiReadAllNotifications},
		{"POST", "/api/v1/notifications/:id/read", agent, s.apiReadNotification},
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
	limitBeacons := limiter.New(limiter.Config{
		Max:          60,
		Expiration:   s.Config.Form.RateWindow,
		Storage:      s.HTTPState,
		KeyGenerator: func(c *fiber.Ctx) string { return "beacon:" + c.IP() },
		LimitReached: func(c *fiber.Ctx) error { return c.SendStatus(fiber.StatusTooManyRequests) },
	})
	limitSignIn := limiter.New(limiter.Config{
		Max:          20,
		Expiration:   10 * time.Minute,
		Storage:      s.HTTPState,
		KeyGenerator: func(c *fiber.Ctx) string { return "signin:" + c.IP() },
		LimitReached: func(c *fiber.Ctx) error {
			return s.renderErrorPage(c, fiber.StatusTooManyRequests, s.wordsFor(c).T("error_too_many_signins"))
		},
	})
	guards := map[access][]fiber.Handler{
		signIn:         {limitSignIn},
		deskPage:       {s.requirePage(tickets.RoleAgent)},
		supervisorPage: {s.requirePage(tickets.RoleSupervisor)},
		adminPage:      {s.requirePage(tickets.RoleAdmin)},
		portalPage:     {s.requirePortal},
		public:         nil,
		beacon:         {limitBeacons},
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
