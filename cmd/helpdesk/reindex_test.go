package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// suggest asks a running serve for suggestions and returns their titles.
func suggest(t *testing.T, base, q string) []string {
	t.Helper()
	res, err := http.Get(base + "/api/v1/kb/suggest?q=" + url.QueryEscape(q))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("suggest: %d", res.StatusCode)
	}
	var out struct{ Items []struct{ Title string } }
	json.NewDecoder(res.Body).Decode(&out)
	var titles []string
	for _, it := range out.Items {
		titles = append(titles, it.Title)
	}
	return titles
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 30s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// serve keeps its search index current from the change feed, and `helpdesk reindex` builds a new
// one that the running serve swaps in while it goes on answering.
func TestServeSearchAndReindex(t *testing.T) {
	dataDir := t.TempDir()
	vars := map[string]string{"DATABASE_URL": testDSN, "HELPDESK_DATA_DIR": dataDir}
	srv := startServe(t, vars)
	defer srv.shutdown(t)
	code, out, errs := runCmd(context.Background(), vars, "user", "add", "--email", "kb-editor@example.com", "--name", "KB Editor", "--role", "supervisor")
	if code != 0 {
		t.Fatalf("user add: %s", errs)
	}
	token := lastLine(out)
	status, body := api(t, "POST", srv.base+"/api/v1/articles", token, map[string]any{
		"title": "Restablecer la contraseña del router", "body": "Mantén pulsado el botón de reinicio del router diez segundos.",
		"locale": "es", "state": "published",
	})
	if status != 201 {
		t.Fatalf("create article: %d %v", status, body)
	}
	waitFor(t, "the article reaches serve's index", func() bool {
		return strings.Join(suggest(t, srv.base, "contraseña del router"), "|") == "Restablecer la contraseña del router"
	})
	current := func() string {
		b, _ := os.ReadFile(filepath.Join(dataDir, "search", "CURRENT"))
		return strings.TrimSpace(string(b))
	}
	before := current()

	code, out, errs = runCmd(context.Background(), map[string]string{"DATABASE_URL": testDSN, "HELPDESK_DATA_DIR": dataDir}, "reindex")
	if code != 0 || !strings.Contains(out, "Indexed") {
		t.Fatalf("reindex: %d %s %s", code, out, errs)
	}
	after := current()
	if after == before || after == "" {
		t.Fatalf("CURRENT: %q then %q", before, after)
	}
	waitFor(t, "serve swaps the new index in and drops the old one", func() bool {
		_, err := os.Stat(filepath.Join(dataDir, "search", before))
		// Search answers throughout.
		return os.IsNotExist(err) && len(suggest(t, srv.base, "router")) == 1
	})

	code, out, _ = runCmd(context.Background(), map[string]string{"DATABASE_URL": testDSN, "HELPDESK_DATA_DIR": dataDir}, "reindex", "--all-nodes")
	if code != 0 || !strings.Contains(out, "every serve process") {
		t.Errorf("reindex --all-nodes: %d %s", code, out)
	}
	waitFor(t, "serve rebuilds on request", func() bool { return current() != after && len(suggest(t, srv.base, "router")) == 1 })
}
