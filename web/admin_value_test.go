package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/openhelpdesk/helpdesk/tickets"
)

func valueForm(margin string) url.Values {
	f := url.Values{"margin_rate": {margin}, "retention_rate": {"0.8"}, "discount_rate": {"0,1"}, "acquisition_cost": {"25"},
		"vip_share": {"0.05"}, "loyal_min_loyalty": {"70"}, "repeat_min_purchases": {"2"}, "new_days": {"90"}}
	for _, tier := range []string{"new", "occasional", "repeat", "loyal", "vip"} {
		for _, u := range []string{"low", "normal", "high", "urgent"} {
			f.Set("priority_matrix."+tier+"."+u, u)
		}
	}
	return f
}

func TestAdminValueSettings(t *testing.T) {
	ctx := context.Background()
	customers := tickets.NewCustomers(db)
	saved, err := customers.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { customers.SaveSettings(ctx, tickets.SystemActor, saved) })

	admin := signIn(t, tickets.RoleAdmin)
	page := admin.get("/admin/value")
	mustContain(t, "value", page, `name="margin_rate"`, `id="pm-vip-normal"`, "Priority matrix")
	form := valueForm("0.35")
	form.Set("priority_matrix.vip.normal", "urgent")
	form.Set("priority_matrix.loyal.high", "urgent")
	res := admin.post("/admin/value", form)
	if res.status != 303 || res.header.Get("Location") != "/admin/value?ok=value_saved" {
		t.Fatalf("save: %d %s", res.status, res.body)
	}
	got, _ := customers.Settings(ctx)
	if got.MarginRate != 0.35 || got.RetentionRate != 0.8 || got.DiscountRate != 0.1 || got.AcquisitionCost != 25 ||
		got.PriorityMatrix[tickets.TierVIP]["normal"] != "urgent" || got.PriorityMatrix[tickets.TierLoyal]["high"] != "urgent" ||
		len(got.PriorityMatrix[tickets.TierVIP]) != 1 || got.Currency != saved.Currency {
		t.Errorf("saved: %+v", got)
	}
	after := admin.get("/admin/value?ok=value_saved")
	mustContain(t, "after", after, "The settings were saved.", `value="0.35"`)
	if !strings.Contains(string(after.body), `<option value="urgent" selected>`) {
		t.Error("the matrix does not show the saved raise")
	}

	// Bad numbers and a lowering rule: errors next to the fields, values kept.
	bad := valueForm("1.5")
	bad.Set("retention_rate", "lots")
	res = admin.post("/admin/value", bad)
	if res.status != 422 {
		t.Fatalf("bad: %d", res.status)
	}
	errorAfter(t, string(res.body), "v-retention")
	mustContain(t, "bad", res, `value="lots"`, `value="1.5"`)
	bad = valueForm("1.5")
	bad.Set("priority_matrix.vip.high", "low")
	res = admin.post("/admin/value", bad)
	if res.status != 422 {
		t.Fatalf("bad: %d", res.status)
	}
	errorAfter(t, string(res.body), "v-margin")
	if msg := errorAfter(t, string(res.body), "pm-vip-high"); !strings.Contains(msg, "lower") {
		t.Errorf("matrix error %q", msg)
	}
	if got, _ := customers.Settings(ctx); got.MarginRate != 0.35 {
		t.Error("a refused form changed the settings")
	}
}
