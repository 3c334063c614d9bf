package rules

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// hookFamilyID is the shipped rule "APT hook made a network connection
// (any front end, any descendant)".
const hookFamilyID = "9277f4aa-a226-4a33-83aa-3f35d3f3fcee"

func hookFamilyRule(t testing.TB) *Rule {
	t.Helper()
	r, err := Builtin(hookFamilyID)
	if err != nil {
		t.Fatalf("Builtin(%s): %v", hookFamilyID, err)
	}
	return r
}

// hookEngine runs the hook-family rule and the seed rule side by side, so
// each test can say which of them fires.
func hookEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := NewEngine([]*Rule{hookFamilyRule(t), AptNetcon()}, EngineConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// hookShell is `sh -c HOOK` exec'd by a fork of front end (comm).
func hookShell(frontEnd string, at time.Duration) *Event {
	ev := shellExec("h", "shell", at)
	ev.Process.Parent.Name = frontEnd
	ev.Process.Ancestry = []string{"fe-fork", "fe"}
	ev.Process.Parent.EntityID = "fe-fork"
	return ev
}

// below is a connection to 8.8.8.8 by process id, whose ancestors by
// parent at fork are anc (nearest first; empty: id is the shell itself).
func below(id string, pid int, at time.Duration, anc ...string) *Event {
	ev := connectFrom("h", "x", "8.8.8.8", at)
	ev.Process.EntityID, ev.Process.PID, ev.Process.Ancestry = id, pid, anc
	ev.Process.Parent = Parent{}
	if len(anc) > 0 {
		ev.Process.Parent = Parent{EntityID: anc[0], PID: pid - 1, Name: "parent-of-" + id}
	}
	return ev
}

// byRule counts the matches of each rule id.
func byRule(ms []Match) map[string]int {
	out := map[string]int{}
	for _, m := range ms {
		out[m.Rule.ID]++
	}
	return out
}

func TestHookFamilyMetadata(t *testing.T) {
	r := hookFamilyRule(t)
	checkMeta(t, r, wantMeta{name: "APT hook made a network connection (any front end, any descendant)", version: 1, riskScore: 73, severity: "high", maxspan: 30 * time.Second, steps: 2})
	set, err := Load(LoadConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range set.Enabled() {
		ids = append(ids, r.ID)
	}
	for _, id := range []string{hookFamilyID, AptNetconID} {
		if !slices.Contains(ids, id) {
			t.Errorf("rule %s is not among the enabled shipped rules %v", id, ids)
		}
	}
}

// TestHookFamilyFrontEnds: every front end that runs hooks starts the
// sequence; the seed rule fires only for apt. Anything else does not.
func TestHookFamilyFrontEnds(t *testing.T) {
	for _, fe := range []string{"apt", "apt-get", "aptitude", "aptitude-curses", "unattended-upgr",
		"apt.systemd.dai", "packagekitd", "PK-Backend", "synaptic", "nala", "aptd", "qaptworker3"} {
		t.Run(fe, func(t *testing.T) {
			e := hookEngine(t)
			e.Process(hookShell(fe, 0))
			got := byRule(e.Process(below("curl", 300, time.Second, "shell", "fe-fork", "fe")))
			want := map[string]int{hookFamilyID: 1}
			if fe == "apt" {
				want[AptNetconID] = 1
			}
			if !mapsEqual(got, want) {
				t.Errorf("matches by rule %v, want %v", got, want)
			}
			checkAccounting(t, e)
		})
	}
	for _, fe := range []string{"cron", "bash", "dpkg", "APT", "apt-get2", "unattended-upgrade", "python3", ""} {
		t.Run("not "+fe, func(t *testing.T) {
			e := hookEngine(t)
			e.Process(hookShell(fe, 0))
			if got := e.Process(below("curl", 300, time.Second, "shell", "fe-fork", "fe")); len(got) != 0 {
				t.Errorf("%d matches for a shell of %q", len(got), fe)
			}
		})
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestHookFamilyJoins: the connection of the shell itself, of a child, of
// a grandchild through a double fork, of a deep descendant reparented to
// init (its parent at fork is still in its ancestry); within 30 s.
func TestHookFamilyJoins(t *testing.T) {
	for _, tt := range []struct {
		name string
		conn *Event
		want int
		// lineage is the alert's chain of entity ids, nearest first.
		lineage []string
	}{
		{"exec in place", below("shell", 200, time.Second, "fe-fork", "fe"), 1, []string{"shell"}},
		{"child", below("c", 300, time.Second, "shell", "fe-fork", "fe"), 1, []string{"c", "shell"}},
		{"double fork", below("g", 302, 2*time.Second, "m", "shell", "fe-fork", "fe"), 1, []string{"g", "m", "shell"}},
		{"setsid child after the shell exited", below("s", 301, 2*time.Second, "shell", "fe-fork", "fe"), 1, []string{"s", "shell"}},
		{"deep", below("d", 310, 3*time.Second, "d3", "d2", "d1", "shell", "fe-fork", "fe"), 1, []string{"d", "d3", "d2", "d1", "shell"}},
		{"20 s later", below("c", 300, 20*time.Second, "shell", "fe-fork", "fe"), 1, []string{"c", "shell"}},
		{"30 s later", below("c", 300, 30*time.Second, "shell", "fe-fork", "fe"), 1, []string{"c", "shell"}},
		{"31 s later", below("c", 300, 31*time.Second, "shell", "fe-fork", "fe"), 0, nil},
		{"the front end itself", below("fe-fork", 101, time.Second, "fe"), 0, nil},
		// pid reuse: the shell's pid, another process (another start time,
		// so another entity id) that the shell did not start.
		{"pid of the shell reused", below("shell-reused", 200, time.Second, "cron", "init"), 0, nil},
		{"child of a pid-reused parent", below("c2", 300, time.Second, "shell-reused", "init"), 0, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := hookEngine(t)
			e.Process(hookShell("apt-get", 0))
			ms := e.Process(tt.conn)
			if len(ms) != tt.want {
				t.Fatalf("%d matches, want %d", len(ms), tt.want)
			}
			if tt.want == 0 {
				return
			}
			m := ms[0]
			if m.Rule.ID != hookFamilyID || len(m.Events) != 2 || m.Events[0].Process.EntityID != "shell" || m.Events[1].Process.EntityID != tt.conn.Process.EntityID {
				t.Fatalf("match %s events %+v", m.Rule.ID, m.Events)
			}
			var ids []string
			for _, a := range m.Lineage {
				ids = append(ids, a.EntityID)
			}
			if !slices.Equal(ids, tt.lineage) {
				t.Errorf("lineage %v, want %v", ids, tt.lineage)
			}
			first, last := m.Lineage[0], m.Lineage[len(m.Lineage)-1]
			if first.PID != tt.conn.Process.PID || first.Name != "curl" {
				t.Errorf("lineage starts with %+v, want the connecting curl (pid %d)", first, tt.conn.Process.PID)
			}
			if len(m.Lineage) > 1 && (last.PID != 200 || last.Name != "sh") {
				t.Errorf("lineage ends with %+v, want the hook shell sh (pid 200)", last)
			}
			if len(m.Lineage) > 2 && m.Lineage[1].Name != "parent-of-"+tt.conn.Process.EntityID || len(m.Lineage) > 3 && m.Lineage[2].PID != 0 {
				t.Errorf("lineage %+v: the connecting process's parent is named by the event, the others are left to the sensor", m.Lineage)
			}
		})
	}
}

// TestHookFamilyOneAlertPerShell: however many connections follow, one
// alert; a later hook shell of the same apt run alerts on its own.
func TestHookFamilyOneAlertPerShell(t *testing.T) {
	e := hookEngine(t)
	e.Process(hookShell("apt-get", 0))
	n := 0
	for i, c := range []*Event{
		below("c", 300, time.Second, "shell", "fe-fork", "fe"),
		below("c", 300, 2*time.Second, "shell", "fe-fork", "fe"),
		below("g", 301, 3*time.Second, "c", "shell", "fe-fork", "fe"),
		below("shell", 200, 4*time.Second, "fe-fork", "fe"),
	} {
		ms := e.Process(c)
		if i == 0 && len(ms) != 1 {
			t.Fatalf("first connection: %d matches, want 1", len(ms))
		}
		n += len(ms)
	}
	if n != 1 {
		t.Errorf("%d alerts for one hook shell, want 1", n)
	}
	second := hookShell("apt-get", 5*time.Second)
	second.Process.EntityID, second.Process.PID = "shell2", 400
	e.Process(second)
	if ms := e.Process(below("c3", 401, 6*time.Second, "shell2", "fe-fork", "fe")); len(byRule(ms)) != 1 || byRule(ms)[hookFamilyID] != 1 {
		t.Errorf("second hook shell: matches %v, want one of %s", byRule(ms), hookFamilyID)
	}
	checkAccounting(t, e)
}

// TestHookFamilyExclusions: the seed rule's destination exclusions and
// apt-listbugs; an excluded connection leaves the sequence pending.
func TestHookFamilyExclusions(t *testing.T) {
	e := hookEngine(t)
	e.Process(hookShell("apt-get", 0))
	for _, ip := range []string{"127.0.0.1", "10.1.2.3", "192.168.1.1", "::1", "fe80::1", "0.0.0.0", "::ffff:127.0.0.1", "172.31.0.2"} {
		c := below("c", 300, time.Second, "shell", "fe-fork", "fe")
		c.Destination = netip.AddrPortFrom(netip.MustParseAddr(ip), 80)
		if ms := e.Process(c); len(ms) != 0 {
			t.Errorf("connection to %s matched", ip)
		}
	}
	noAddr := below("c", 300, time.Second, "shell", "fe-fork", "fe")
	noAddr.Destination = netip.AddrPort{}
	if ms := e.Process(noAddr); len(ms) != 0 {
		t.Error("connection without an address matched")
	}
	if ms := e.Process(below("c", 300, 2*time.Second, "shell", "fe-fork", "fe")); len(ms) != 1 {
		t.Errorf("a public connection after excluded ones: %d matches, want 1", len(ms))
	}

	e = hookEngine(t)
	listbugs := hookShell("apt-get", 0)
	listbugs.Process.Args = []string{"/bin/sh", "-c", "/usr/bin/apt-listbugs apt"}
	e.Process(listbugs)
	if ms := e.Process(below("ruby", 300, time.Second, "shell", "fe-fork", "fe")); len(ms) != 0 {
		t.Error("apt-listbugs' hook matched")
	}
	e = hookEngine(t)
	noC := hookShell("apt-get", 0)
	noC.Process.Args = []string{"/bin/sh", "/etc/hook.sh"}
	e.Process(noC)
	if ms := e.Process(below("c", 300, time.Second, "shell", "fe-fork", "fe")); len(ms) != 0 {
		t.Error("a shell without -c matched")
	}
}

// TestHookFamilyLateRecord: a blocking connect() is audited when it fails,
// stamped with its start: a record that arrives after later events but is
// stamped inside the window still alerts (the engine's allowed lateness).
func TestHookFamilyLateRecord(t *testing.T) {
	e := hookEngine(t)
	e.Process(hookShell("apt-get", 0))
	other := connectFrom("h", "nobody", "8.8.8.8", 100*time.Second)
	e.Process(other)
	if ms := e.Process(below("c", 300, 25*time.Second, "shell", "fe-fork", "fe")); len(ms) != 1 {
		t.Errorf("late record stamped at +25 s: %d matches, want 1", len(ms))
	}
}

// TestJoinAlternativesMisuseNamesLineCol: `rules check` (ParseFile) refuses
// a key with alternatives where it cannot join, at its place in the file.
func TestJoinAlternativesMisuseNamesLineCol(t *testing.T) {
	for _, tt := range []struct{ query, want string }{
		{"sequence with maxspan=30s\n  [process where true] by process.entity_id or process.Ext.ancestry\n  [network where true] by process.entity_id", "x.toml:7:27: join key process.entity_id or process.Ext.ancestry"},
		{"sequence by process.Ext.ancestry\n  [process where true]\n  [network where true]", "x.toml:6:13: join key process.Ext.ancestry"},
	} {
		raw := "[rule]\nrule_id = \"x\"\nname = \"x\"\ntype = \"eql\"\nquery = '''\n" + tt.query + "\n'''\n"
		_, err := ParseFile("x.toml", []byte(raw))
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) || !strings.Contains(err.Error(), "after the first") {
			t.Errorf("ParseFile: %v, want %s...", err, tt.want)
		}
	}
	raw := "[rule]\nrule_id = \"x\"\nname = \"x\"\ntype = \"eql\"\nquery = '''\nsequence [process where true] by process.entity_id\n  [network where true] by process.entity_id or process.Ext.ancestry\n'''\n"
	if _, err := ParseFile("x.toml", []byte(raw)); err != nil {
		t.Errorf("a later step's alternatives: %v", err)
	}
}

// BenchmarkHookFamilyLoopbackFlood is issue 9's blinding attempt as the
// engine sees it: every shipped rule, a hook shell pending, and a flood of
// loopback connects from its descendants (each joins the pending shell by
// its ancestry, and the condition turns it away).
func BenchmarkHookFamilyLoopbackFlood(b *testing.B) {
	e := shippedEngine(b)
	e.Process(hookShell("apt", 0))
	flood := below("flooder", 300, time.Second, "m", "shell", "fe-fork", "fe", "sshd", "init")
	flood.Destination = netip.MustParseAddrPort("127.0.0.1:80")
	b.ReportAllocs()
	for b.Loop() {
		if m := e.Process(flood); len(m) != 0 {
			b.Fatalf("%d matches", len(m))
		}
	}
}

// TestLineageNotRelated: no lineage when the first event's process is not
// the last one's own or an ancestor (a seed-style match always is), or
// for a match of one event.
func TestLineageNotRelated(t *testing.T) {
	shell := *hookShell("apt", 0)
	for name, evs := range map[string][]Event{
		"one event":        {shell},
		"stranger":         {shell, *below("x", 9, time.Second, "cron", "init")},
		"no entity":        {shell, *below("", 9, time.Second, "shell")},
		"shell without id": {{Process: Process{PID: 1}}, *below("c", 9, time.Second, "shell")},
	} {
		if l := Lineage(evs); l != nil {
			t.Errorf("%s: lineage %+v, want none", name, l)
		}
	}
	if l := Lineage([]Event{shell, *below("c", 300, time.Second, "shell")}); len(l) != 2 || l[1].Name != "sh" || l[1].PID != 200 {
		t.Errorf("child: lineage %+v", l)
	}
}
