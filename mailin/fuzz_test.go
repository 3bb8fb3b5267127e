package mailin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the parser and the pure parts of threading (the cited
// Message-IDs, the subject token, the quote splitter): none of them may panic, and what they
// return must be safe to store.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "corpus", "*.eml"))
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte("Subject: [#12] x\r\nIn-Reply-To: <a@b> <c@d>\r\nReferences: <<>> <x\r\n\r\n> q"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := Parse(raw)
		DedupeKey("", raw)
		quickMessageID(raw)
		peekHeaders(raw)
		if err != nil {
			return
		}
		for _, id := range citedIDs(p) {
			if id == "" || strings.ContainsAny(id, " \t\r\n") {
				t.Errorf("cited id %q", id)
			}
		}
		if p.From.Address == "" {
			t.Error("parsed without a sender")
		}
		SplitQuoted(p.Text)
		subjectToken(p.Subject)
	})
}
