package web

// RouteRule is one row of the route table as the authorization tests see it.
type RouteRule struct {
	Method, Path string
	// Needs is who may call it: "anyone", "token:agent|supervisor|admin",
	// "session:agent|supervisor|admin" or "portal" (a customer's portal session).
	Needs string
}

// RouteRules lists the route table, so that the tests try every route with every kind of
// caller, including routes added after the tests were written.
func RouteRules() []RouteRule {
	needs := map[access]string{
		public: "anyone", formSubmit: "anyone", beacon: "anyone", signIn: "anyone",
		agent: "token:agent", supervisor: "token:supervisor", admin: "token:admin",
		deskPage: "session:agent", supervisorPage: "session:supervisor", adminPage: "session:admin",
		portalPage: "portal",
	}
	var out []RouteRule
	for _, r := range (&server{}).routes() {
		n, ok := needs[r.access]
		if !ok {
			panic("export_test.go: no rule for an access level; add it")
		}
		out = append(out, RouteRule{r.method, r.path, n})
	}
	return out
}
