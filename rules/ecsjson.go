package rules

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"time"
)

// EventFromECS builds an Event from one ECS JSON document, nested
// ({"process":{"name":...}}) or with dotted keys ({"process.name":...}),
// as `aptsentinel rules test` reads them and as alerts list their events.
// event.action, or else event.category, decides the EQL event type; a
// category that contradicts the action is refused.
func EventFromECS(doc []byte) (Event, error) {
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		return Event{}, fmt.Errorf("not a JSON object: %w", err)
	}
	flat := map[string]any{}
	flatten("", m, flat)
	var ev Event
	ts, _ := flat["@timestamp"].(string)
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return Event{}, fmt.Errorf("@timestamp %q: want RFC 3339", ts)
	}
	ev.Time = t
	str := func(k string) string { s, _ := flat[k].(string); return s }
	ev.Action = str("event.action")
	cat := str("event.category")
	if cs, ok := flat["event.category"].([]any); ok && len(cs) > 0 {
		cat, _ = cs[0].(string)
	}
	if ev.Action == "" {
		switch cat {
		case CategoryProcess:
			ev.Action = ActionExec
		case CategoryNetwork:
			ev.Action = ActionConnectionAttempt
		case CategoryFile:
			ev.Action = ActionCreation
		default:
			return Event{}, fmt.Errorf("event.category %q: want process, network or file (or an event.action)", cat)
		}
	}
	if cat != "" && cat != ev.Category() {
		return Event{}, fmt.Errorf("event.category %q does not fit event.action %q (%s)", cat, ev.Action, ev.Category())
	}
	ev.HostID = str("host.id")
	ev.Outcome = str("event.outcome")
	ev.Errno = str("error.code")
	p := &ev.Process
	p.PID, err = intField(flat, "process.pid")
	if err != nil {
		return Event{}, err
	}
	p.EntityID, p.Name, p.Executable = str("process.entity_id"), str("process.name"), str("process.executable")
	p.WorkingDir = str("process.working_directory")
	p.Args = strList(flat["process.args"])
	p.Ancestry = strList(flat["process.Ext.ancestry"])
	if uid := str("process.user.id"); uid != "" {
		u, err := strconv.ParseUint(uid, 10, 32)
		if err != nil {
			return Event{}, fmt.Errorf("process.user.id %q: not a uid", uid)
		}
		p.UID = uint32(u)
	}
	if p.Parent.PID, err = intField(flat, "process.parent.pid"); err != nil {
		return Event{}, err
	}
	p.Parent.EntityID, p.Parent.Name = str("process.parent.entity_id"), str("process.parent.name")
	p.Parent.Executable = str("process.parent.executable")
	p.Parent.Args = strList(flat["process.parent.args"])
	if ip := str("destination.ip"); ip != "" {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return Event{}, fmt.Errorf("destination.ip %q: not an address", ip)
		}
		port, err := intField(flat, "destination.port")
		if err != nil || port < 0 || port > 65535 {
			return Event{}, fmt.Errorf("destination.port: want 0-65535")
		}
		ev.Destination = netip.AddrPortFrom(a, uint16(port))
	}
	ev.File.Path = str("file.path")
	return ev, nil
}

func flatten(prefix string, m map[string]any, out map[string]any) {
	for k, v := range m {
		if prefix != "" {
			k = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok {
			flatten(k, sub, out)
			continue
		}
		out[k] = v
	}
}

func intField(flat map[string]any, k string) (int, error) {
	switch v := flat[k].(type) {
	case nil:
		return 0, nil
	case float64:
		if v != float64(int(v)) {
			return 0, fmt.Errorf("%s %v: not an integer", k, v)
		}
		return int(v), nil
	case string:
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("%s %q: not an integer", k, v)
		}
		return n, nil
	}
	return 0, fmt.Errorf("%s: not a number", k)
}

func strList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
