package demo

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

func timeOf(micros int64) time.Time { return time.UnixMicro(micros).UTC() }

// fill appends tmpl to sb with its {placeholders} replaced from v, and returns the whole text.
// Unknown placeholders stay as they are, so a typo in a template shows in the output instead of
// vanishing.
func fill(sb *strings.Builder, tmpl string, v *ticketVars) string {
	sb.Reset()
	appendFilled(sb, tmpl, v)
	return sb.String()
}

func appendFilled(sb *strings.Builder, tmpl string, v *ticketVars) {
	for {
		open := strings.IndexByte(tmpl, '{')
		if open < 0 {
			sb.WriteString(tmpl)
			return
		}
		end := strings.IndexByte(tmpl[open:], '}')
		if end < 0 {
			sb.WriteString(tmpl)
			return
		}
		sb.WriteString(tmpl[:open])
		key := tmpl[open+1 : open+end]
		switch key {
		case "first":
			sb.WriteString(v.first)
		case "fullname":
			sb.WriteString(v.full)
		case "agent":
			sb.WriteString(v.agent)
		case "order":
			sb.WriteByte('#')
			sb.WriteString(strconv.Itoa(v.order))
		case "invoice":
			sb.WriteString(v.invoice)
		case "amount":
			euros, cents := strconv.Itoa(v.amount/100), pad(int64(v.amount%100), 2)
			if v.lang == langES {
				sb.WriteString(euros + "," + cents + " €")
			} else {
				sb.WriteString("€" + euros + "." + cents)
			}
		case "device":
			sb.WriteString(v.device)
		case "days":
			sb.WriteString(strconv.Itoa(v.days))
		case "code":
			sb.WriteString(v.code)
		default:
			sb.WriteString(tmpl[open : open+end+1])
		}
		tmpl = tmpl[open+end+1:]
	}
}

// inboundBody is the customer's first message: greeting, the problem, perhaps what they tried,
// a closing and their name.
func inboundBody(rng *rand.Rand, sb *strings.Builder, tp *topic, v *ticketVars, withDetail bool) string {
	sb.Reset()
	appendFilled(sb, pick(rng, customerGreetings[v.lang]), v)
	sb.WriteString("\n\n")
	appendFilled(sb, pick(rng, tp.problems[v.lang]), v)
	if withDetail {
		sb.WriteByte(' ')
		appendFilled(sb, pick(rng, tp.details[v.lang]), v)
	}
	sb.WriteByte(' ')
	appendFilled(sb, pick(rng, customerClosings[v.lang]), v)
	sb.WriteString("\n\n")
	appendFilled(sb, pick(rng, customerSignoffs[v.lang]), v)
	return sb.String()
}

// followUpBody is a later message from the customer.
func followUpBody(rng *rand.Rand, sb *strings.Builder, v *ticketVars) string {
	sb.Reset()
	appendFilled(sb, pick(rng, customerGreetings[v.lang]), v)
	sb.WriteString("\n\n")
	appendFilled(sb, pick(rng, followUps[v.lang]), v)
	sb.WriteString("\n\n")
	appendFilled(sb, pick(rng, customerSignoffs[v.lang]), v)
	return sb.String()
}

// replyBody is an agent's answer; what it says depends on the status it leaves the ticket in.
func replyBody(rng *rand.Rand, sb *strings.Builder, tp *topic, v *ticketVars, next uint8, first bool) string {
	sb.Reset()
	appendFilled(sb, pick(rng, agentGreetings[v.lang]), v)
	sb.WriteString("\n\n")
	if first {
		appendFilled(sb, pick(rng, agentThanks[v.lang]), v)
		sb.WriteByte(' ')
	}
	switch next {
	case stPending:
		appendFilled(sb, pick(rng, askInfo[v.lang]), v)
	case stSolved:
		appendFilled(sb, pick(rng, tp.fixes[v.lang]), v)
		sb.WriteByte(' ')
		appendFilled(sb, pick(rng, closingLines[v.lang]), v)
	default:
		appendFilled(sb, pick(rng, working[v.lang]), v)
	}
	sb.WriteString("\n\n")
	appendFilled(sb, pick(rng, agentSignoffs[v.lang]), v)
	return sb.String()
}

// appendJSONString appends s as a JSON string. The application writes payloads with
// encoding/json; the database stores jsonb, so escaping only has to be valid, not identical.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
