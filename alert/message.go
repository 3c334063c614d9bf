package alert

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
)

// A rule's message template (rules.Rule.Message, from the rule file's own
// block) is text with placeholders:
//
//	{{process.name}}        a field of the first matched event, ECS name
//	{{last.process.pid}}    a field of the last matched event
//	{{rule.name}}           a field of the alert's rule.* (id, name, version, severity, ...)
//	{{aptsentinel.tamper.what}} a field of the sensor's own finding (its own rules)
//
// A string is written as is, a number in decimal, an array (process.args)
// as its elements joined by spaces, and an endpoint object
// ({{last.destination}}) as address:port, IPv6 in brackets. A placeholder
// that names no field of the event (unknown, or null in this event) is
// left in the message as written, so a typo shows instead of vanishing;
// a null field of the sensor's own finding (a count it cannot know) is
// written "unknown", with its sibling "reason" in parentheses.
// Each value is cut to maxValueLen bytes: argv can be megabytes.
// Rendering never fails; the JSON encoder escapes whatever the values hold.

// maxValueLen bounds one placeholder's value in the message.
const maxValueLen = 1024

// placeholder delimiters.
const (
	openDelim  = "{{"
	closeDelim = "}}"
)

// renderMessage fills tmpl from a; an empty tmpl gives defaultMessage.
func renderMessage(tmpl string, a *Alert) string {
	if tmpl == "" {
		return defaultMessage(a)
	}
	r := templateFields{a: a}
	var b strings.Builder
	for {
		i := strings.Index(tmpl, openDelim)
		if i < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		j := strings.Index(tmpl[i+len(openDelim):], closeDelim)
		if j < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		b.WriteString(tmpl[:i])
		whole := tmpl[i : i+len(openDelim)+j+len(closeDelim)]
		name := strings.TrimSpace(tmpl[i+len(openDelim) : i+len(openDelim)+j])
		if v, ok := r.value(name); ok {
			b.WriteString(v)
		} else {
			b.WriteString(whole)
		}
		tmpl = tmpl[i+len(whole):]
	}
}

// templateFields looks placeholders up in the alert's first and last event and
// its rule, each turned into a generic JSON tree once, on first use (an
// alert is rare; the template may name any field the event document has).
type templateFields struct {
	a                          *Alert
	first, last, rule, finding map[string]any
}

func (r *templateFields) value(name string) (string, bool) {
	if strings.HasPrefix(name, "aptsentinel.") {
		if r.finding == nil {
			r.finding = map[string]any{"aptsentinel": tree(r.a.Aptsentinel)}
		}
		if v, ok := r.lookupText(r.finding, name); ok {
			return v, true
		}
		return unknownText(r.finding, name)
	}
	if s, found, known := r.fast(name); known {
		if !found {
			return "", false
		}
		return clipValue(s), true
	}
	var doc map[string]any
	switch {
	case strings.HasPrefix(name, "rule."):
		if r.rule == nil {
			r.rule = tree(r.a.Rule)
		}
		doc = map[string]any{"rule": r.rule}
	case strings.HasPrefix(name, "last."):
		if len(r.a.Events) == 0 {
			return "", false
		}
		if r.last == nil {
			r.last = tree(r.a.Events[len(r.a.Events)-1])
		}
		doc, name = r.last, strings.TrimPrefix(name, "last.")
	default:
		if len(r.a.Events) == 0 {
			return "", false
		}
		if r.first == nil {
			r.first = tree(r.a.Events[0])
		}
		doc = r.first
	}
	return r.lookupText(doc, name)
}

func (r *templateFields) lookupText(doc map[string]any, name string) (string, bool) {
	v, ok := lookup(doc, name)
	if !ok {
		return "", false
	}
	s, ok := text(v)
	if !ok {
		return "", false
	}
	return clipValue(s), true
}

// fast answers the names message_fast.go knows without the JSON tree.
func (r *templateFields) fast(name string) (v string, found, known bool) {
	if strings.HasPrefix(name, "rule.") {
		return fastRuleField(&r.a.Rule, name)
	}
	if len(r.a.Events) == 0 {
		return "", false, true
	}
	ev := &r.a.Events[0]
	if rest, ok := strings.CutPrefix(name, "last."); ok {
		ev, name = &r.a.Events[len(r.a.Events)-1], rest
	}
	return fastEventField(ev, name)
}

// clipValue cuts a value to maxValueLen bytes, on a character boundary.
func clipValue(s string) string {
	if len(s) > maxValueLen {
		s = strings.ToValidUTF8(s[:maxValueLen], "") + "..."
	}
	return s
}

func jsonNumber(n int) json.Number { return json.Number(strconv.Itoa(n)) }

// tree turns a document into maps, slices, strings, json.Numbers and bools.
func tree(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		return map[string]any{}
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if d.Decode(&m) != nil {
		return map[string]any{}
	}
	return m
}

// lookup walks a dotted ECS name ("process.parent.pid") through doc.
func lookup(doc map[string]any, name string) (any, bool) {
	if name == "" {
		return nil, false
	}
	var cur any = doc
	for part := range strings.SplitSeq(name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok || cur == nil {
			return nil, false
		}
	}
	return cur, true
}

// unknownText is the message form of a finding's count that cannot be
// known: the sensor writes it as null beside a "reason" (sensor.LossCount),
// and the message says "unknown (REASON)" rather than the placeholder.
// A name that is not there at all stays a placeholder.
func unknownText(doc map[string]any, name string) (string, bool) {
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return "", false
	}
	var parent map[string]any
	if v, ok := lookup(doc, name[:i]); ok {
		parent, _ = v.(map[string]any)
	}
	if parent == nil {
		return "", false
	}
	if v, present := parent[name[i+1:]]; !present || v != nil {
		return "", false
	}
	if reason, _ := parent["reason"].(string); reason != "" {
		return clipValue("unknown (" + reason + ")"), true
	}
	return "unknown", true
}

// text is a value's form in a message; ok is false for what has none (an
// object other than an endpoint).
func text(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		if v {
			return "true", true
		}
		return "false", true
	case []any:
		parts := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := text(e)
			if !ok {
				return "", false
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, " "), true
	case map[string]any:
		return endpointText(v)
	}
	return "", false
}

// endpointText writes an ECS endpoint ({ip, port}: destination, source) as
// an address:port, as netip writes it ([2001:db8::1]:9).
func endpointText(m map[string]any) (string, bool) {
	ipText, ok := m["ip"].(string)
	if !ok {
		return "", false
	}
	ip, err := netip.ParseAddr(ipText)
	if err != nil {
		return "", false
	}
	port, ok := m["port"].(json.Number)
	if !ok {
		return ip.String(), true
	}
	p, err := port.Int64()
	if err != nil || p < 0 || p > 65535 {
		return "", false
	}
	return netip.AddrPortFrom(ip, uint16(p)).String(), true
}

// defaultMessage is the message of a rule without a template: the rule's
// name, the first event's process and, for a sequence, what its last
// event did.
func defaultMessage(a *Alert) string {
	var b strings.Builder
	b.WriteString(a.Rule.Name)
	if len(a.Events) == 0 {
		return b.String()
	}
	first, last := &a.Events[0], &a.Events[len(a.Events)-1]
	b.WriteString(": ")
	writeProcess(&b, &first.Process)
	if first.Process.Parent.PID != 0 || first.Process.Parent.Name != "" {
		b.WriteString(" run by ")
		b.WriteString(orUnknown(first.Process.Parent.Name))
		b.WriteString(" (pid ")
		b.WriteString(itoa(first.Process.Parent.PID))
		b.WriteString(")")
	}
	if len(a.Events) > 1 {
		b.WriteString(", then ")
		writeProcess(&b, &last.Process)
	}
	b.WriteString(" ")
	b.WriteString(actionText(last.Event.Action))
	if d := last.Destination; d != nil {
		s, _ := endpointText(map[string]any{"ip": d.IP, "port": jsonNumber(int(d.Port))})
		b.WriteString(" to ")
		b.WriteString(s)
	}
	if f := last.File; f != nil {
		b.WriteString(" ")
		b.WriteString(f.Path)
	}
	return b.String()
}

func writeProcess(b *strings.Builder, p *ecsProcess) {
	b.WriteString(orUnknown(p.Name))
	b.WriteString(" (pid ")
	b.WriteString(itoa(p.PID))
	b.WriteString(")")
}

// actionText says an event.action in words.
func actionText(action string) string {
	switch action {
	case "exec":
		return "started"
	case "connection_attempted":
		return "attempted a connection"
	case "":
		return "acted"
	}
	return action
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown process"
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }
