package web_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/openhelpdesk/helpdesk/tickets"
)

func TestAdminCalendar(t *testing.T) {
	admin := signIn(t, tickets.RoleAdmin)
	admin.get("/admin/sla/calendars/new")
	name := fmt.Sprintf("Madrid office %d", unique.Add(1))
	form := url.Values{"name": {name}, "timezone": {"Europe/Madrid"},
		"hours.mon": {"09:00-13:00, 14:00-18:00"}, "hours.fri": {"09:00-15:00"}, "hours.sat": {"22:00-06:00"},
		"holidays": {"2026-12-25 Navidad\n2027-01-01\n"}}
	res := admin.post("/admin/sla/calendars", form)
	if res.status != 303 || !strings.HasSuffix(res.header.Get("Location"), "?ok=calendar_added") {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	path := strings.TrimSuffix(res.header.Get("Location"), "?ok=calendar_added")
	page := admin.get(res.header.Get("Location"))
	mustContain(t, "calendar", page, "The calendar was added.", `value="09:00-13:00, 14:00-18:00"`, `value="22:00-06:00"`,
		"2026-12-25 Navidad\n2027-01-01", `value="Europe/Madrid"`)
	var id int64
	fmt.Sscanf(path, "/admin/sla/calendars/%d", &id)
	var cal struct {
		Hours struct {
			Mon []struct{ From, To string }
			Sat []struct {
				From, To  string
				Overnight bool
			}
		}
		WeeklyBusinessMinutes int64 `json:"weekly_business_minutes"`
	}
	call(t, "GET", fmt.Sprintf("/api/v1/sla/calendars/%d", id), supervisorToken, nil).json(t, &cal)
	if len(cal.Hours.Mon) != 2 || cal.Hours.Mon[1].From != "14:00" || len(cal.Hours.Sat) != 1 || !cal.Hours.Sat[0].Overnight ||
		cal.WeeklyBusinessMinutes != (8+6+8)*60 {
		t.Errorf("stored calendar: %+v", cal)
	}
	mustContain(t, "list", admin.get("/admin/sla"), name, "Europe/Madrid", "09:00-13:00, 14:00-18:00")

	// Bad input: each error next to its field, everything typed kept.
	bad := url.Values{"name": {name + " bis"}, "timezone": {"Mars/Olympus"}, "hours.mon": {"9 to 5"},
		"hours.tue": {"09:00-25:00"}, "hours.wed": {"09:00-17:00"}, "holidays": {"2026-13-45 Never"}}
	res = admin.post(path, bad)
	if res.status != 422 {
		t.Fatalf("bad: %d", res.status)
	}
	b := string(res.body)
	if msg := errorAfter(t, b, "cal-mon"); !strings.Contains(msg, "start-end") {
		t.Errorf("mon: %q", msg)
	}
	res = admin.post(path, url.Values{"name": {name + " bis"}, "timezone": {"Mars/Olympus"}, "hours.tue": {"09:00-25:00"}, "holidays": {"2026-13-45 Never"}})
	b = string(res.body)
	if msg := errorAfter(t, b, "cal-tz"); !strings.Contains(msg, "Mars/Olympus") {
		t.Errorf("timezone: %q", msg)
	}
	errorAfter(t, b, "cal-tue")
	errorAfter(t, b, "cal-holidays")
	mustContain(t, "bad", res, `value="09:00-25:00"`, "2026-13-45 Never", `value="Mars/Olympus"`)

	// Holidays from an iCalendar file.
	ics := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:1@test\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:20260106\r\nSUMMARY:Reyes\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	admin.get(path)
	res = adminUpload(t, admin, path+"/import", "ics", "festivos.ics", ics)
	if res.status != 303 || !strings.Contains(res.header.Get("Location"), "ok=holidays_imported&added=1") {
		t.Fatalf("import: %d %s %s", res.status, res.header.Get("Location"), res.body)
	}
	imp := admin.get(res.header.Get("Location"))
	mustContain(t, "imported", imp, "Holidays imported: 1 new dates.", "2026-01-06 Reyes")
	res = adminUpload(t, admin, path+"/import", "ics", "broken.ics", "this is not a calendar")
	if res.status != 422 {
		t.Fatalf("bad file: %d", res.status)
	}
	errorAfter(t, string(res.body), "cal-ics")
}

// adminUpload posts one file as a multipart form with the page's token.
func adminUpload(t *testing.T, v *visitor, path, field, filename, content string) response {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("_csrf", v.csrf)
	fw, _ := w.CreateFormFile(field, filename)
	fw.Write([]byte(content))
	w.Close()
	req := httptest.NewRequest("POST", path, &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return v.do(req)
}

func TestAdminPolicy(t *testing.T) {
	admin := signIn(t, tickets.RoleAdmin)
	page := admin.get("/admin/sla/policies/new")
	if page.status != 200 {
		t.Fatalf("new: %d", page.status)
	}
	var calID int64
	db.Raw(`SELECT min(id) FROM sla_calendars`).Scan(&calID)
	name := fmt.Sprintf("Urgent VIP %d", unique.Add(1))
	form := url.Values{"name": {name}, "position": {"900000"}, "priorities": {"urgent", "high"}, "tiers": {"vip"},
		"calendar_id":                    {fmt.Sprint(calID)},
		"targets.first_response.minutes": {"30"}, "targets.first_response.business": {"on"},
		"targets.resolution.minutes": {"480"}, "targets.resolution.pause_on": {"pending"},
		"warn_percent": {"80"}, "on_warning.notify": {"on"}, "on_breach.notify": {"on"}, "on_breach.raise_priority": {"on"},
		"notify_in_business_hours": {"on"}}
	res := admin.post("/admin/sla/policies", form)
	if res.status != 303 || res.header.Get("Location") != "/admin/sla?ok=policy_saved" {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	var id int64
	db.Raw(`SELECT id FROM sla_policies WHERE name = ?`, name).Scan(&id)
	var p struct {
		Priorities []string
		Tiers      []string
		Targets    map[string]struct {
			Minutes  int
			Business bool
			PauseOn  []string `json:"pause_on"`
		}
		WarnPercent int `json:"warn_percent"`
		OnBreach    struct {
			RaisePriority bool `json:"raise_priority"`
		} `json:"on_breach"`
	}
	call(t, "GET", fmt.Sprintf("/api/v1/sla/policies/%d", id), supervisorToken, nil).json(t, &p)
	fr, rs := p.Targets["first_response"], p.Targets["resolution"]
	if strings.Join(p.Priorities, ",") != "high,urgent" || strings.Join(p.Tiers, ",") != "vip" || fr.Minutes != 30 || !fr.Business ||
		rs.Minutes != 480 || rs.Business || strings.Join(rs.PauseOn, ",") != "pending" || len(p.Targets) != 2 || p.WarnPercent != 80 || !p.OnBreach.RaisePriority {
		t.Errorf("stored policy: %+v", p)
	}
	list := admin.get("/admin/sla?ok=policy_saved")
	mustContain(t, "list", list, "The policy was saved.", name, "30 min")

	// The edit form shows what was saved.
	edit := admin.get(fmt.Sprintf("/admin/sla/policies/%d", id))
	mustContain(t, "edit", edit, `id="pol-prio-urgent" name="priorities" value="urgent" type="checkbox" checked`,
		`name="targets.resolution.minutes" type="number" min="1" value="480"`, `id="pol-resolution-pause-pending" name="targets.resolution.pause_on" value="pending" type="checkbox" checked`)

	// Errors next to fields, values kept.
	bad := url.Values{"name": {""}, "position": {"1"}, "calendar_id": {fmt.Sprint(calID)}, "targets.first_response.minutes": {"-5"},
		"warn_percent": {"150"}, "tiers": {"vip"}}
	res = admin.post(fmt.Sprintf("/admin/sla/policies/%d", id), bad)
	if res.status != 422 {
		t.Fatalf("bad: %d %s", res.status, res.body)
	}
	b := string(res.body)
	errorAfter(t, b, "pol-name")
	errorAfter(t, b, "pol-warn")
	if !strings.Contains(b, `id="pol-first_response-error"`) {
		t.Error("no error next to the first response target")
	}
	mustContain(t, "bad", res, `value="-5"`, `value="150"`)
	call(t, "GET", fmt.Sprintf("/api/v1/sla/policies/%d", id), supervisorToken, nil).json(t, &p)
	if p.WarnPercent != 80 {
		t.Error("a refused form changed the policy")
	}
}
