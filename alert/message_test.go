package alert

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aptsentinel/aptsentinel/rules"
)

// TestSeedRuleMessage: the seed rule's template gives the message the
// sensor wrote before the alert stage was generic, word for word.
func TestSeedRuleMessage(t *testing.T) {
	m := testMatch()
	want := "Suspicious APT Package Manager Network Connection: sh (pid 3119) run by apt (pid 3118) " +
		"had child bash (pid 3120) attempt a connection to 1.1.1.1:80"
	if got := New(m, Host{}, time.Now()).Message; got != want {
		t.Errorf("message\n got %q\nwant %q", got, want)
	}
	m.Events[1].Destination = netip.MustParseAddrPort("[2001:db8::1]:9")
	if got := New(m, Host{}, time.Now()).Message; !strings.HasSuffix(got, "to [2001:db8::1]:9") {
		t.Errorf("IPv6 destination: %q, want it in brackets with its port", got)
	}
}

func TestMessageTemplate(t *testing.T) {
	m := testMatch()
	m.Events[0].Process.Ancestry = []string{"apt-fork-id", "apt-id"}
	cases := []struct{ tmpl, want string }{
		{"plain text", "plain text"},
		{"{{process.name}}/{{last.process.name}}", "sh/bash"},
		{"{{ process.pid }}", "3119"},
		{"{{rule.id}} v{{rule.version}} {{rule.severity}}", rules.AptNetconID + " v10 medium"},
		{"{{last.process.args}}", "bash -c exec 3<>/dev/tcp/1.1.1.1/80"},
		{"{{process.args_count}}", "3"},
		{"{{last.destination.ip}} port {{last.destination.port}}", "1.1.1.1 port 80"},
		{"{{last.error.code}} {{last.event.outcome}}", "ENETUNREACH failure"},
		{"{{event.action}} then {{last.event.action}}", "exec then connection_attempted"},
		{"{{process.Ext.ancestry}}", "apt-fork-id apt-id"},
		{"{{@timestamp}}", "2026-11-26T02:00:00.760Z"},
		// Unknown, null, object and malformed placeholders stay visible.
		{"{{process.nope}}", "{{process.nope}}"},
		{"{{destination.ip}}", "{{destination.ip}}"}, // the exec event has none
		{"{{process.parent}}", "{{process.parent}}"},
		{"{{}}", "{{}}"},
		{"{{last.}}", "{{last.}}"},
		{"{{rule.}}", "{{rule.}}"},
		{"a {{process.name", "a {{process.name"},
		{"}} {{process.name}} {{", "}} sh {{"},
		{"{{{{process.name}}}}", "{{{{process.name}}}}"},
	}
	for _, c := range cases {
		m.Rule.Message = c.tmpl
		if got := New(m, Host{}, time.Now()).Message; got != c.want {
			t.Errorf("%q: got %q, want %q", c.tmpl, got, c.want)
		}
	}
}

// TestMessageValueBounded: one placeholder cannot make the message as
// long as an argv (up to MAX_ARG_STRLEN per argument).
func TestMessageValueBounded(t *testing.T) {
	m := testMatch()
	m.Events[0].Process.Args = []string{"sh", "-c", strings.Repeat("é", 100_000)}
	m.Rule.Message = "{{process.args}}"
	got := New(m, Host{}, time.Now()).Message
	if len(got) > maxValueLen+3 || !strings.HasSuffix(got, "...") || !utf8.ValidString(got) {
		t.Errorf("message of %d bytes (valid UTF-8 %v), want at most %d ending in ...", len(got), utf8.ValidString(got), maxValueLen+3)
	}
}

// TestAnyRuleAlert: a rule other than the seed, with one event and no
// template, still gives a full alert and a message saying what happened.
func TestAnyRuleAlert(t *testing.T) {
	r := &rules.Rule{ID: "9277f4aa-a226-4a33-83aa-3f35d3f3fcee", Name: "APT hook made a network connection", Version: 1, Severity: "high", RiskScore: 73}
	ev := testMatch().Events[1]
	ev.Process.Ancestry = []string{"shell-id", "apt-fork-id"}
	a := New(rules.Match{Rule: r, Events: []rules.Event{ev}}, Host{ID: "h1"}, time.Now())
	want := "APT hook made a network connection: bash (pid 3120) run by sh (pid 3119) attempted a connection to 1.1.1.1:80"
	if a.Message != want {
		t.Errorf("message %q, want %q", a.Message, want)
	}
	line, err := a.MarshalLine()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Event struct {
			Category, Type []string
			Severity       int
		}
		Rule    struct{ ID, Version, Severity string }
		Process struct {
			PID int
			Ext struct{ Ancestry []string }
		}
		Destination *struct{ IP string }
		Events      []json.RawMessage
	}
	if err := json.Unmarshal(line, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Rule.ID != r.ID || doc.Rule.Version != "1" || doc.Event.Severity != 73 || doc.Process.PID != 3120 ||
		doc.Destination == nil || doc.Destination.IP != "1.1.1.1" || len(doc.Events) != 1 ||
		strings.Join(doc.Process.Ext.Ancestry, ",") != "shell-id,apt-fork-id" ||
		strings.Join(doc.Event.Category, ",") != "network" || strings.Join(doc.Event.Type, ",") != "start,connection" {
		t.Errorf("alert %s", line)
	}
	// The seed rule's two events: each category and type once, in order.
	b := New(testMatch(), Host{}, time.Now())
	if strings.Join(b.Event.Category, ",") != "process,network" || strings.Join(b.Event.Type, ",") != "start,connection" {
		t.Errorf("seed alert category %v type %v", b.Event.Category, b.Event.Type)
	}
	// No events, no rule: no panic, still one JSON document.
	if _, err := New(rules.Match{}, Host{}, time.Now()).MarshalLine(); err != nil {
		t.Error(err)
	}
}

func FuzzMessageTemplate(f *testing.F) {
	for _, s := range []string{"{{process.name}}", "{{last.destination}} {{rule.name}}", "{{", "}}{{a.b.c}}", "{{last.process.args}}"} {
		f.Add(s)
	}
	m := testMatch()
	f.Fuzz(func(t *testing.T, tmpl string) {
		m.Rule.Message = tmpl
		a := New(m, Host{}, time.Now())
		if tmpl != "" && !strings.Contains(tmpl, "{{") && a.Message != tmpl {
			t.Errorf("template without placeholders %q changed to %q", tmpl, a.Message)
		}
	})
}

// TestFastFieldsAgreeWithTree: every name the fast path knows gives what
// the generic JSON tree gives, on full, partial and empty events.
func TestFastFieldsAgreeWithTree(t *testing.T) {
	names := []string{"@timestamp", "event.action", "event.outcome", "process.pid", "process.entity_id",
		"process.name", "process.executable", "process.command_line", "process.args_count", "process.parent.pid",
		"process.parent.entity_id", "process.parent.name", "process.parent.executable", "host.id",
		"destination", "destination.ip", "destination.port", "network.type", "error.code"}
	m := testMatch()
	ipv6 := m.Events[1]
	ipv6.Destination = netip.MustParseAddrPort("[2001:db8::1]:9")
	events := []rules.Event{m.Events[0], m.Events[1], ipv6, {}, {Action: rules.ActionConnectionAttempt}}
	for i := range events {
		ev := newECSEvent(&events[i])
		doc := tree(ev)
		for _, name := range names {
			fast, fastOK, known := fastEventField(&ev, name)
			if !known {
				t.Fatalf("%s: not known to the fast path", name)
			}
			var slow string
			v, slowOK := lookup(doc, name)
			if slowOK {
				slow, slowOK = text(v)
			}
			if fastOK != slowOK || (fastOK && fast != slow) {
				t.Errorf("event %d, %s: fast %q %v, tree %q %v", i, name, fast, fastOK, slow, slowOK)
			}
		}
	}
	for _, r := range []*rules.Rule{m.Rule, {}} {
		a := New(rules.Match{Rule: r}, Host{}, time.Now())
		doc := map[string]any{"rule": tree(a.Rule)}
		for _, name := range []string{"rule.id", "rule.name", "rule.version", "rule.severity"} {
			fast, fastOK, known := fastRuleField(&a.Rule, name)
			v, slowOK := lookup(doc, name)
			slow, _ := text(v)
			if !known || fast != slow || fastOK != slowOK {
				t.Errorf("rule %q, %s: fast %q %v, tree %q %v", r.ID, name, fast, fastOK, slow, slowOK)
			}
		}
	}
}

// TestMessageNullFindingCount: a loss count that cannot be known is null
// with a reason in the document; the message says "unknown (reason)", not
// the template's placeholder. A name not in the finding stays visible.
func TestMessageNullFindingCount(t *testing.T) {
	m := rules.Match{Rule: &rules.Rule{ID: rules.LossRuleID, Name: "Sensor lost kernel audit events",
		Message: "kernel lost {{aptsentinel.losses.kernel_lost.count}}, gaps {{aptsentinel.losses.serial_gaps.count}}, " +
			"blind {{aptsentinel.losses.blind.count}}, {{aptsentinel.losses.nope.count}} {{aptsentinel.losses.serial_gaps.nope}}"},
		Events: []rules.Event{{Action: rules.ActionEventsLost}}}
	// As the sensor hands it over: typed values (sensor.LossCount), null count.
	type count struct {
		Count  *uint64 `json:"count"`
		Reason string  `json:"reason,omitempty"`
	}
	n := uint64(3)
	m.Finding = map[string]any{"losses": map[string]count{
		"kernel_lost": {Reason: "reading the kernel's audit status failed: EPERM"},
		"serial_gaps": {Count: &n},
		"blind":       {},
	}}
	want := "kernel lost unknown (reading the kernel's audit status failed: EPERM), gaps 3, blind unknown, " +
		"{{aptsentinel.losses.nope.count}} {{aptsentinel.losses.serial_gaps.nope}}"
	if got := New(m, Host{}, time.Now()).Message; got != want {
		t.Errorf("message\n got %q\nwant %q", got, want)
	}
}
