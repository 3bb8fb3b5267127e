package mailin

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime"
	"net/mail"
	"net/textproto"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/jhillyerd/enmime/v2"
	"github.com/jhillyerd/enmime/v2/dsn"

	"github.com/openhelpdesk/helpdesk/tickets"
)

// Class says what kind of sender wrote a message, which decides whether it is acknowledged.
type Class string

// The classes. Only normal mail gets an acknowledgement.
const (
	ClassNormal    Class = "normal"
	ClassAutoReply Class = "auto-reply" // out-of-office, autoresponders, machine-generated notices
	ClassBulk      Class = "bulk"       // mailing lists, newsletters, bulk mail
	ClassBounce    Class = "bounce"     // delivery status notifications
)

// parser trusts a part's declared charset and guesses only when none is declared: guessing
// costs more than the rest of the parse, and overrules senders who said what they meant.
var parser = enmime.NewParser(enmime.DisableCharacterDetection(true))

// Parsed is an email read into what the desk and threading need.
type Parsed struct {
	MessageID  string   // without angle brackets; empty when the message has none
	InReplyTo  string   // the first Message-ID of In-Reply-To
	References []string // oldest first
	Subject    string
	From       mail.Address // Address normalized (lowercase)
	To, Cc     []string     // normalized addresses
	Text       string       // the new text, with quoted history and signature split off
	Quoted     string       // the quoted history and signature, when they could be told apart
	HTML       string       // as received; the desk sanitizes it
	Files      []tickets.NewAttachment
	Class      Class
	// Token is the ticket id from a subject token such as [#1234]; 0 when there is none.
	Token int64
	// Bounce holds what a delivery status notification reports.
	Bounce *Bounce
	// Warnings are problems the parser worked around (a broken boundary, a bad charset).
	Warnings []string
	// Broken is set when the MIME structure could not be read and Text is the raw body; the
	// original then goes along as an attachment.
	Broken bool
}

// Bounce is what a delivery status notification says about mail we sent.
type Bounce struct {
	Failed            []string // recipients whose delivery failed for good
	Status            string   // such as "5.1.1 user unknown"
	OriginalMessageID string   // the Message-ID of the mail that bounced, when the report quotes it
}

// ParseError means a message cannot be read at all; it goes to quarantine.
type ParseError struct{ Reason string }

func (e *ParseError) Error() string { return "cannot parse the message: " + e.Reason }

// DedupeKey returns what identifies a message for deduplication: its Message-ID, or the hash of
// its raw bytes when it has none.
func DedupeKey(messageID string, raw []byte) string {
	if messageID != "" {
		return messageID
	}
	sum := sha256.Sum256(raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Parse reads a raw message. It works around what it can (bad charsets, broken boundaries,
// HTML-only bodies) and fails only when no sender or no content can be found.
func Parse(raw []byte) (*Parsed, error) {
	env, err := parser.ReadEnvelope(bytes.NewReader(raw))
	if err != nil {
		return nil, &ParseError{Reason: err.Error()}
	}
	p := &Parsed{
		MessageID:  firstID(env.GetHeader("Message-Id")),
		InReplyTo:  firstID(env.GetHeader("In-Reply-To")),
		References: allIDs(env.GetHeader("References")),
		Subject:    oneLine(env.GetHeader("Subject")),
	}
	if p.Subject == "" {
		p.Subject = "(no subject)"
	}
	p.Token = subjectToken(p.Subject)
	from, err := sender(env)
	if err != nil {
		return nil, err
	}
	p.From = from
	p.To = addresses(env, "To")
	p.Cc = addresses(env, "Cc")

	severe := false
	for _, e := range env.Errors {
		p.Warnings = append(p.Warnings, e.Error())
		severe = severe || e.Severe
	}
	p.HTML = strings.ToValidUTF8(env.HTML, "\uFFFD")
	text := strings.ToValidUTF8(env.Text, "\uFFFD")
	p.Text, p.Quoted = SplitQuoted(text)
	if p.HTML != "" {
		p.HTML = stripQuotedHTML(p.HTML)
	}
	p.Files = files(env)
	if strings.TrimSpace(p.Text) == "" && strings.TrimSpace(p.HTML) == "" {
		switch body := rawBody(raw); {
		case len(p.Files) == 0 && strings.TrimSpace(body) != "":
			// The MIME structure yielded nothing (a boundary that never appears, say), yet
			// the message has a body: show it as it came rather than lose it.
			p.Text, p.Broken = clip(body, 256<<10), true
			p.Warnings = append(p.Warnings, "the MIME structure could not be read; the body is shown as it came")
		case severe && len(p.Files) == 0:
			return nil, &ParseError{Reason: "no readable content: " + strings.Join(p.Warnings, "; ")}
		default:
			p.Text = "(no text)"
		}
	}
	p.Class = classify(env, p)
	if p.Class == ClassBounce {
		p.Bounce = readBounce(env)
	}
	return p, nil
}

// rawBody returns what follows the header block, as valid UTF-8.
func rawBody(raw []byte) string {
	s := string(raw)
	for _, sep := range []string{"\r\n\r\n", "\n\n"} {
		if i := strings.Index(s, sep); i >= 0 {
			return strings.ToValidUTF8(strings.ReplaceAll(s[i+len(sep):], "\r\n", "\n"), "\uFFFD")
		}
	}
	return ""
}

// sender is the From address, else Sender, else the envelope's Return-Path.
func sender(env *enmime.Envelope) (mail.Address, error) {
	for _, h := range []string{"From", "Sender"} {
		list, err := env.AddressList(h)
		if err != nil || len(list) == 0 {
			continue
		}
		a := list[0]
		addr, err := tickets.NormalizeEmail(a.Address)
		if err != nil {
			return mail.Address{}, &ParseError{Reason: fmt.Sprintf("%s %q is not an address we could answer", h, a.Address)}
		}
		return mail.Address{Name: oneLine(a.Name), Address: addr}, nil
	}
	if rp := firstID(env.GetHeader("Return-Path")); rp != "" {
		if addr, err := tickets.NormalizeEmail(rp); err == nil {
			return mail.Address{Address: addr}, nil
		}
	}
	return mail.Address{}, &ParseError{Reason: "no From address"}
}

func addresses(env *enmime.Envelope, header string) []string {
	list, err := env.AddressList(header)
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range list {
		if addr, err := tickets.NormalizeEmail(a.Address); err == nil && !contains(out, addr) {
			out = append(out, addr)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// files collects attachments and inline parts with content. Parts that carry nothing are
// dropped: there is nothing to keep.
func files(env *enmime.Envelope) []tickets.NewAttachment {
	var out []tickets.NewAttachment
	seen := map[*enmime.Part]bool{}
	add := func(p *enmime.Part, inline bool) {
		if seen[p] || len(p.Content) == 0 {
			return
		}
		seen[p] = true
		cid := strings.Trim(strings.TrimSpace(p.ContentID), "<>")
		ct := p.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		if p.Charset != "" && strings.HasPrefix(ct, "text/") {
			// enmime has already turned text parts into UTF-8.
			ct = mime.FormatMediaType(ct, map[string]string{"charset": "utf-8"})
		}
		out = append(out, tickets.NewAttachment{
			Filename:    filename(p, len(out)+1),
			ContentType: ct,
			Data:        p.Content,
			ContentID:   cid,
			Inline:      inline || (cid != "" && p.Disposition != "attachment"),
		})
	}
	for _, p := range env.Attachments {
		add(p, false)
	}
	for _, p := range env.Inlines {
		add(p, true)
	}
	for _, p := range env.OtherParts {
		add(p, false)
	}
	return out
}

func filename(p *enmime.Part, n int) string {
	if name := strings.TrimSpace(p.FileName); name != "" {
		return name
	}
	base := "attachment-" + strconv.Itoa(n)
	if p.ContentType == "message/rfc822" {
		return base + ".eml"
	}
	if exts, _ := mime.ExtensionsByType(p.ContentType); len(exts) > 0 {
		return base + exts[len(exts)-1]
	}
	if _, sub, ok := strings.Cut(p.ContentType, "/"); ok && sub != "" && !strings.ContainsAny(sub, " ;/") {
		return base + "." + path.Base(sub)
	}
	return base
}

var tokenRE = regexp.MustCompile(`\[#(\d{1,15})\]`)

// subjectToken finds our ticket token, such as [#1234], in a subject.
func subjectToken(subject string) int64 {
	m := tokenRE.FindStringSubmatch(subject)
	if m == nil {
		return 0
	}
	id, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0
	}
	return id
}

// Token is the subject token of a ticket: "[#1234]".
func Token(ticketID int64) string { return "[" + tickets.Ref(ticketID) + "]" }

// firstID returns the first <...> identifier of a header, or the trimmed value when it has no
// angle brackets. Identifiers with spaces are not identifiers.
func firstID(h string) string {
	ids := allIDs(h)
	if len(ids) > 0 {
		return ids[0]
	}
	h = strings.TrimSpace(h)
	if h == "" || strings.ContainsAny(h, " \t\r\n<>") || len(h) > 900 {
		return ""
	}
	return h
}

// allIDs returns every <...> identifier of a header, in order, without duplicates.
func allIDs(h string) []string {
	var ids []string
	for {
		start := strings.IndexByte(h, '<')
		if start < 0 {
			return ids
		}
		end := strings.IndexByte(h[start:], '>')
		if end < 0 {
			return ids
		}
		id := strings.TrimSpace(h[start+1 : start+end])
		h = h[start+end+1:]
		if id != "" && len(id) <= 900 && !strings.ContainsAny(id, " \t\r\n") && !contains(ids, id) {
			ids = append(ids, id)
		}
		if len(ids) >= 100 {
			return ids
		}
	}
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ToValidUTF8(s, "\uFFFD")), " ")
}

// classify tells auto-replies, bulk mail and bounces from mail a person wrote, by the headers
// RFC 3834, RFC 2919 and the common mail programs set.
func classify(env *enmime.Envelope, p *Parsed) Class {
	h := func(name string) string { return strings.ToLower(strings.TrimSpace(env.GetHeader(name))) }
	ct := strings.ToLower(env.Root.ContentType)
	reportType := strings.ToLower(env.Root.ContentTypeParams["report-type"])
	local, _, _ := strings.Cut(p.From.Address, "@")
	switch {
	case ct == "multipart/report" && (reportType == "delivery-status" || reportType == ""):
		return ClassBounce
	case (local == "mailer-daemon" || local == "postmaster") && h("Return-Path") != "" && firstID(h("Return-Path")) == "":
		return ClassBounce
	case local == "mailer-daemon":
		return ClassBounce
	}
	if as := h("Auto-Submitted"); as != "" && as != "no" {
		return ClassAutoReply
	}
	for _, name := range []string{"X-Autoreply", "X-Autorespond", "X-Autogenerated", "X-Autoreply-From", "X-Mail-Autoreply", "X-Fc-Machinegenerated"} {
		if h(name) != "" {
			return ClassAutoReply
		}
	}
	if suppress := h("X-Auto-Response-Suppress"); suppress != "" {
		for _, v := range strings.Split(suppress, ",") {
			switch strings.TrimSpace(v) {
			case "all", "oof", "autoreply":
				return ClassAutoReply
			}
		}
	}
	for _, name := range []string{"Precedence", "X-Precedence"} {
		switch h(name) {
		case "auto_reply":
			return ClassAutoReply
		case "bulk", "junk", "list":
			return ClassBulk
		}
	}
	if h("List-Id") != "" || h("List-Unsubscribe") != "" || h("List-Post") != "" {
		return ClassBulk
	}
	// A null reverse path (Return-Path: <>) is how RFC 3834 responders send.
	if rp := env.GetHeader("Return-Path"); strings.TrimSpace(rp) == "<>" {
		return ClassAutoReply
	}
	return ClassNormal
}

// readBounce reads the failed recipients and the original Message-ID out of a delivery status
// notification, as far as the report gives them.
func readBounce(env *enmime.Envelope) *Bounce {
	b := &Bounce{}
	if report, err := dsn.ParseReport(env.Root); err == nil && report != nil {
		for _, r := range report.DeliveryStatus.RecipientDSNs {
			if !dsn.IsFailed(r) {
				continue
			}
			_, addr, _ := strings.Cut(r.Get("Final-Recipient"), ";")
			if a, err := tickets.NormalizeEmail(strings.Trim(strings.TrimSpace(addr), "<>")); err == nil {
				b.Failed = append(b.Failed, a)
			}
			if b.Status == "" {
				b.Status = strings.TrimSpace(r.Get("Status") + " " + r.Get("Diagnostic-Code"))
			}
		}
	}
	// The report quotes the original message or its headers; its Message-ID is ours.
	_ = env.Root.DepthMatchAll(func(part *enmime.Part) bool {
		if b.OriginalMessageID != "" {
			return false
		}
		if part.ContentType == "message/rfc822" || part.ContentType == "text/rfc822-headers" || part.ContentType == "message/rfc822-headers" {
			b.OriginalMessageID = quotedMessageID(part.Content)
		}
		return false
	})
	return b
}

func quotedMessageID(content []byte) string {
	// The quoted part may hold only headers; the blank line ends them either way.
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(bytes.Clone(content), "\r\n\r\n"...))))
	h, err := r.ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return ""
	}
	return firstID(h.Get("Message-Id"))
}
