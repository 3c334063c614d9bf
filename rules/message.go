package rules

import (
	"net/netip"
	"strconv"
	"strings"
)

// RenderMessage fills rule m.Rule's message template: {{field.name}} from
// the first event of the match, {{last.field.name}} from the last,
// {{rule.name}}, {{rule.id}} and {{rule.version}} from the rule. A field
// is any name of FieldNames, plus destination.address (ip:port, or "an
// unknown address"). A null or unknown field renders as "?"; an array as
// its elements joined by spaces. It returns "" when the rule has no
// template.
func RenderMessage(m Match) string {
	if m.Rule == nil || m.Rule.Message == "" || len(m.Events) == 0 {
		return ""
	}
	tpl := m.Rule.Message
	var b strings.Builder
	for {
		i := strings.Index(tpl, "{{")
		if i < 0 {
			b.WriteString(tpl)
			return b.String()
		}
		j := strings.Index(tpl[i:], "}}")
		if j < 0 {
			b.WriteString(tpl)
			return b.String()
		}
		b.WriteString(tpl[:i])
		b.WriteString(placeholder(m, strings.TrimSpace(tpl[i+2:i+j])))
		tpl = tpl[i+j+2:]
	}
}

func placeholder(m Match, name string) string {
	switch name {
	case "rule.name":
		return m.Rule.Name
	case "rule.id":
		return m.Rule.ID
	case "rule.version":
		return strconv.Itoa(m.Rule.Version)
	}
	ev := &m.Events[0]
	if rest, ok := strings.CutPrefix(name, "last."); ok {
		ev, name = &m.Events[len(m.Events)-1], rest
	}
	if s, ok := FieldString(ev, name); ok {
		return s
	}
	return "?"
}

// FieldString returns the value of ECS field name of ev as text, and
// whether it is set.
func FieldString(ev *Event, name string) (string, bool) {
	if name == "destination.address" {
		if !ev.Destination.IsValid() {
			return "an unknown address", true
		}
		return netip.AddrPortFrom(ev.Destination.Addr().Unmap(), ev.Destination.Port()).String(), true
	}
	f, ok := fields[name]
	if !ok {
		return "", false
	}
	switch {
	case f.String != nil:
		return f.String(ev)
	case f.Strings != nil:
		ss := f.Strings(ev)
		return strings.Join(ss, " "), len(ss) > 0
	case f.Int != nil:
		n, ok := f.Int(ev)
		return strconv.FormatInt(n, 10), ok
	case f.IP != nil:
		a, ok := f.IP(ev)
		return a.String(), ok
	case f.Bool != nil:
		v, ok := f.Bool(ev)
		return strconv.FormatBool(v), ok
	}
	return "", false
}
