package mailin_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/openhelpdesk/helpdesk/mailin"
)

// Every email of the corpus parses into what an agent should read: the sender, the subject and
// body in UTF-8 whatever the charset, the new text apart from the quoted history, attachments
// with their names, and the class that decides whether it is acknowledged.
func TestParseCorpus(t *testing.T) {
	tests := []struct {
		file       string
		from       string
		subject    string
		text       string // contained in the new text
		notInText  string // must not be in the new text (quoted history, signature)
		quoted     string // contained in the quoted part
		html       string // contained in the HTML
		class      mailin.Class
		files      []string // attachment names
		messageID  string
		inReplyTo  string
		token      int64
		broken     bool
		parseError string
	}{
		{file: "plain.eml", from: "ana@example.com", subject: "Cannot log in", text: "I cannot log in since yesterday", class: mailin.ClassNormal, messageID: "plain.1@mail.example.com"},
		{file: "alternative.eml", subject: "Invoice question", text: "120 € instead of 100 €", html: "<b>wrong amount</b>", class: mailin.ClassNormal},
		{file: "html-only.eml", subject: "Order not delivered", text: "has not arrived", notInText: "color:red", html: "<p>My order", class: mailin.ClassNormal},
		{file: "iso-2022-jp.eml", from: "taro@example.jp", subject: "ログインの問題", text: "ログインできません。パスワードが違うと表示されます。", class: mailin.ClassNormal},
		{file: "windows-1250.eml", from: "petr@example.cz", subject: "Přihlášení", text: "Žluťoučký kůň úpěl ďábelské ódy", class: mailin.ClassNormal},
		{file: "shift-jis.eml", subject: "配送について", text: "注文した商品がまだ届いていません", class: mailin.ClassNormal},
		{file: "utf8-subject.eml", from: "jose@example.es", subject: "Problema con la facturación — ¡urgente!", text: "La factura está mal.", class: mailin.ClassNormal},
		{file: "attachment-nonascii-name.eml", text: "Adjunto el contrato", files: []string{"contrato señor niño.pdf", "presupuesto_ñandu.csv"}, class: mailin.ClassNormal},
		{file: "inline-image.eml", text: "See the screenshot", html: `cid:shot1@mail.example.com`, files: []string{"attachment-1.png"}, class: mailin.ClassNormal},
		{file: "no-message-id.eml", text: "has no Message-ID", messageID: "", class: mailin.ClassNormal},
		{file: "duplicate-message-id-b.eml", messageID: "dup.1@mail.example.com", class: mailin.ClassNormal},
		{file: "broken-boundary.eml", text: "The boundary in the header is not the one used here.", broken: true, class: mailin.ClassNormal},
		{file: "missing-from.eml", parseError: "no From address"},
		{file: "auto-reply-auto-submitted.eml", class: mailin.ClassAutoReply},
		{file: "auto-reply-x-autoreply.eml", class: mailin.ClassAutoReply},
		{file: "auto-reply-x-autorespond.eml", class: mailin.ClassAutoReply},
		{file: "auto-reply-precedence-auto-reply.eml", class: mailin.ClassAutoReply},
		{file: "auto-reply-x-auto-response-suppress.eml", class: mailin.ClassAutoReply},
		{file: "auto-reply-return-path-null.eml", class: mailin.ClassAutoReply},
		{file: "bounce-dsn.eml", class: mailin.ClassBounce, from: "mailer-daemon@mx.help.example"},
		{file: "mailing-list.eml", class: mailin.ClassBulk},
		{file: "apple-mail-reply.eml", text: "It works again", notInText: "resetting your password", quoted: "Please try resetting", token: 4242, class: mailin.ClassNormal},
		{file: "outlook-reply.eml", text: "can I change my user name", notInText: "Please try", quoted: "Sent: Monday", html: "One more question", token: 4242, class: mailin.ClassNormal},
		{file: "gmail-reply.eml", text: "Still broken", notInText: "Acme Ltd", quoted: "Acme Ltd", inReplyTo: "out.1@help.example", class: mailin.ClassNormal},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			p, err := mailin.Parse(corpus(t, tt.file, "TICKET", "4242", "OUTBOUND_ID", "out.1@help.example"))
			if tt.parseError != "" {
				var pe *mailin.ParseError
				if !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.parseError) {
					t.Fatalf("err = %v, want a ParseError about %q", err, tt.parseError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			check := func(what, got, want string, contains bool) {
				t.Helper()
				if want == "" {
					return
				}
				if (contains && !strings.Contains(got, want)) || (!contains && got != want) {
					t.Errorf("%s = %q, want %q", what, got, want)
				}
			}
			check("from", p.From.Address, tt.from, false)
			check("subject", p.Subject, tt.subject, false)
			check("text", p.Text, tt.text, true)
			check("quoted", p.Quoted, tt.quoted, true)
			check("html", p.HTML, tt.html, true)
			check("in-reply-to", p.InReplyTo, tt.inReplyTo, false)
			if tt.notInText != "" && strings.Contains(p.Text, tt.notInText) {
				t.Errorf("text %q holds %q", p.Text, tt.notInText)
			}
			if tt.class != "" && p.Class != tt.class {
				t.Errorf("class = %s, want %s", p.Class, tt.class)
			}
			if tt.file != "duplicate-message-id-b.eml" || tt.messageID != "" {
				check("message-id", p.MessageID, tt.messageID, false)
			}
			if tt.file == "no-message-id.eml" && p.MessageID != "" {
				t.Errorf("message-id = %q, want none", p.MessageID)
			}
			if p.Token != tt.token {
				t.Errorf("token = %d, want %d", p.Token, tt.token)
			}
			if p.Broken != tt.broken {
				t.Errorf("broken = %v, want %v", p.Broken, tt.broken)
			}
			if tt.files != nil {
				var names []string
				for _, f := range p.Files {
					names = append(names, f.Filename)
				}
				if strings.Join(names, "|") != strings.Join(tt.files, "|") {
					t.Errorf("files = %q, want %q", names, tt.files)
				}
			}
		})
	}
}

func TestParseInlineImage(t *testing.T) {
	p, err := mailin.Parse(corpus(t, "inline-image.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Files) != 1 || !p.Files[0].Inline || p.Files[0].ContentID != "shot1@mail.example.com" || p.Files[0].ContentType != "image/png" {
		t.Fatalf("inline image: %+v", p.Files)
	}
	if string(p.Files[0].Data[1:4]) != "PNG" {
		t.Errorf("image bytes were not decoded from base64: %q", p.Files[0].Data[:8])
	}
}

func TestParseBounce(t *testing.T) {
	p, err := mailin.Parse(corpus(t, "bounce-dsn.eml", "TICKET", "1000", "OUTBOUND_ID", "hd.1.abc@help.example"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Bounce == nil || len(p.Bounce.Failed) != 1 || p.Bounce.Failed[0] != "nobody@example.net" ||
		p.Bounce.OriginalMessageID != "hd.1.abc@help.example" || !strings.Contains(p.Bounce.Status, "5.1.1") {
		t.Fatalf("bounce = %+v", p.Bounce)
	}
}

func TestSplitQuoted(t *testing.T) {
	tests := []struct {
		name, in, fresh, quoted string
	}{
		{"plain", "Hello\nthere", "Hello\nthere", ""},
		{"gmail", "Thanks!\n\nOn Mon, Mar 2, 2026 at 3:00 PM Ana <a@x.com> wrote:\n> old", "Thanks!", "On Mon, Mar 2, 2026 at 3:00 PM Ana <a@x.com> wrote:\n> old"},
		{"gmail wrapped", "Thanks!\n\nOn Mon, Mar 2, 2026 at 3:00 PM Ana Maria Lopez <\nana@x.com> wrote:\n> old", "Thanks!", "On Mon, Mar 2, 2026 at 3:00 PM Ana Maria Lopez <\nana@x.com> wrote:\n> old"},
		{"spanish", "Gracias\n\nEl lun, 2 mar 2026 a las 15:00, Ana escribió:\n> viejo", "Gracias", "El lun, 2 mar 2026 a las 15:00, Ana escribió:\n> viejo"},
		{"french", "Merci\nLe lun. 2 mars 2026 à 15:00, Ana a écrit :\n> ancien", "Merci", "Le lun. 2 mars 2026 à 15:00, Ana a écrit :\n> ancien"},
		{"german", "Danke\nAm 02.03.2026 um 15:00 schrieb Ana <a@x.de>:\n> alt", "Danke", "Am 02.03.2026 um 15:00 schrieb Ana <a@x.de>:\n> alt"},
		{"outlook", "Yes\n\nFrom: Support <s@x.com>\nSent: Monday\nTo: Ana\n\nold", "Yes", "From: Support <s@x.com>\nSent: Monday\nTo: Ana\n\nold"},
		{"original message", "Ok\n-----Original Message-----\nold", "Ok", "-----Original Message-----\nold"},
		{"signature", "Body\n-- \nAna\nAcme", "Body", "-- \nAna\nAcme"},
		{"mobile", "Body\n\nSent from my iPhone", "Body", "Sent from my iPhone"},
		{"trailing quotes", "Answer\n> q1\n> q2", "Answer", "> q1\n> q2"},
		{"inline answers stay", "> q1\nanswer 1\n> q2\nanswer 2", "> q1\nanswer 1\n> q2\nanswer 2", ""},
		{"only a quote", "> everything quoted", "> everything quoted", ""},
		{"a From line in the text", "From: my phone I cannot log in\nhelp", "From: my phone I cannot log in\nhelp", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fresh, quoted := mailin.SplitQuoted(tt.in)
			if fresh != tt.fresh || quoted != tt.quoted {
				t.Errorf("SplitQuoted(%q) = %q, %q; want %q, %q", tt.in, fresh, quoted, tt.fresh, tt.quoted)
			}
		})
	}
}
