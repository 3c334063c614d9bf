package eql

import (
	"strings"
	"testing"
	"time"
)

// The aptsentinel extension: a later step's join key with alternatives
// (`by a or b`) or a multi-valued field joins the pending sequence of any
// of its values. seqSelfOrDescendant is how rule 9277f4aa uses it: the
// hook shell's own connection (it exec'd the command in place: same
// entity) or any descendant's (the shell is in its ancestry).
const seqSelfOrDescendant = `sequence by host.id with maxspan=30s
  [process where event.action == "exec"] by process.entity_id
  [network where event.action == "connect"] by process.entity_id or process.Ext.ancestry`

func desc(id string, at time.Duration, anc ...string) *tev {
	e := ev("network", "connect", id, "", at)
	if len(anc) > 0 {
		e.parent = anc[0]
	}
	e.anc = anc
	return e
}

func TestJoinAnySelfOrDescendant(t *testing.T) {
	for _, tt := range []struct {
		name string
		conn *tev
		want int
	}{
		{"the shell itself (exec in place)", desc("s", time.Second), 1},
		{"child", desc("c", time.Second, "s", "apt"), 1},
		{"grandchild by double fork", desc("g", time.Second, "m", "s", "apt"), 1},
		{"deep, reparented", desc("d", 2*time.Second, "x4", "x3", "x2", "x1", "s", "apt"), 1},
		{"20 s later", desc("c", 20*time.Second, "s", "apt"), 1},
		{"exactly 30 s later (maxspan is inclusive)", desc("c", 30*time.Second, "s", "apt"), 1},
		{"31 s later", desc("c", 31*time.Second, "s", "apt"), 0},
		{"a sibling of the shell", desc("b", time.Second, "apt"), 0},
		// pid reuse: a stranger with the shell's pid has another entity id
		// and the shell is not among its ancestors.
		{"pid reused by a stranger", desc("s'", time.Second, "cron", "init"), 0},
		{"no entity, no ancestry", desc("", time.Second), 0},
		{"before the shell", desc("c", -time.Second, "s", "apt"), 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRunner(t, RunnerConfig{}, seqSelfOrDescendant)
			run(t, r, []step{{ev("process", "exec", "s", "apt", 0), 0}, {tt.conn, tt.want}})
		})
	}
}

// TestJoinAnyOncePerShell: the sequence completes once; a second, third
// connection of the same or another descendant finds nothing pending.
func TestJoinAnyOncePerShell(t *testing.T) {
	r := newRunner(t, RunnerConfig{}, seqSelfOrDescendant)
	run(t, r, []step{
		{ev("process", "exec", "s", "apt", 0), 0},
		{desc("c", time.Second, "s", "apt"), 1},
		{desc("c", 2*time.Second, "s", "apt"), 0},
		{desc("s", 3*time.Second, "apt"), 0},
		{desc("g", 4*time.Second, "c", "s", "apt"), 0},
	})
	if s := r.Stats(); s.Matches != 1 || s.Pending != 0 {
		t.Errorf("stats %+v, want 1 match and nothing pending", s)
	}
}

// TestJoinAnyNestedShells: a connection below two pending hook shells (a
// hook that runs apt-get, whose own hook connects) completes both, the
// nearer first; each shell's sequence is its own.
func TestJoinAnyNestedShells(t *testing.T) {
	r := newRunner(t, RunnerConfig{}, seqSelfOrDescendant)
	run(t, r, []step{
		{ev("process", "exec", "outer", "apt", 0), 0},
		{ev("process", "exec", "inner", "apt-get", time.Second), 0},
	})
	got := r.Process(desc("c", 2*time.Second, "inner", "apt-get", "outer", "apt"))
	if len(got) != 2 || got[0].Events[0].id != "inner" || got[1].Events[0].id != "outer" {
		t.Fatalf("matches %+v, want inner's then outer's", got)
	}
	for _, m := range got {
		if m.Events[1].id != "c" {
			t.Errorf("last event %q, want the connection", m.Events[1].id)
		}
	}
}

// TestJoinAnyKeepsOtherKeys: the sequence's other keys (host.id) must still
// be equal.
func TestJoinAnyKeepsOtherKeys(t *testing.T) {
	r := newRunner(t, RunnerConfig{}, seqSelfOrDescendant)
	other := desc("c", time.Second, "s")
	other.host = "h2"
	run(t, r, []step{{ev("process", "exec", "s", "apt", 0), 0}, {other, 0}, {desc("c", time.Second, "s"), 1}})
}

// TestJoinAnyMultiValuedField: a multi-valued field alone is a key with
// many values too; the condition is still required.
func TestJoinAnyMultiValuedField(t *testing.T) {
	r := newRunner(t, RunnerConfig{}, `sequence with maxspan=5s
	  [process where event.action == "exec"] by process.entity_id
	  [network where destination.ip != null] by process.Ext.ancestry`)
	noIP := desc("c", time.Second, "s")
	withIP := desc("c", time.Second, "s")
	withIP.ip = base().ip
	run(t, r, []step{
		{ev("process", "exec", "s", "apt", 0), 0},
		{desc("s", time.Second), 0}, // self is not in its own ancestry
		{noIP, 0},
		{withIP, 1},
	})
	if s := r.Stats(); s.Unkeyed != 0 {
		t.Errorf("Unkeyed = %d: a keyed event was counted as unkeyed", s.Unkeyed)
	}
	r.Process(&tev{cat: "network", host: "h", ip: base().ip, at: t0.Add(2 * time.Second)})
	if s := r.Stats(); s.Unkeyed != 1 {
		t.Errorf("Unkeyed = %d after an event with no value for the key, want 1", s.Unkeyed)
	}
}

func TestJoinAnyRefused(t *testing.T) {
	for _, tt := range []struct{ src, pos, msg string }{
		{`sequence [process where true] by process.entity_id or process.Ext.ancestry [process where true] by process.entity_id`, "1:34", "only join a step after the first"},
		{`sequence by process.Ext.ancestry [process where true] [process where true]`, "1:13", "only join a step after the first"},
		{`sequence [process where true] by process.entity_id [process where true] by process.entity_id
		  until [process where true] by process.entity_id or process.parent.entity_id`, "2:35", "only join a step after the first"},
		{`sequence [process where true] by process.entity_id, host.id [process where true] by process.Ext.ancestry, process.entity_id or host.id`, "1:107", "only one key"},
		{`sequence [process where true] by process.entity_id [process where true] by process.entity_id or`, "1:96", "want a field name after or"},
		{`sequence [process where true] by process.entity_id [process where true] by process.entity_id or "x"`, "1:97", "want a field name after or"},
		{`sequence [process where true] by process.entity_id [process where true] by process.entity_id or process.args, host.id`, "1:52", "same number of join keys"},
	} {
		t.Run(tt.src, func(t *testing.T) {
			_, err := Compile(tt.src, testSchema)
			if err == nil {
				t.Fatalf("compiled; want an error with %q", tt.msg)
			}
			if !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), tt.pos+":") {
				t.Errorf("error %q, want %s: ...%s...", err, tt.pos, tt.msg)
			}
		})
	}
}

// An unknown field among alternatives warns, as anywhere else, and gives
// no values; the known ones still join.
func TestJoinAnyUnknownAlternative(t *testing.T) {
	q, err := Compile(`sequence [process where true] by process.entity_id [network where true] by process.nosuch or process.entity_id`, testSchema)
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Warnings) != 1 || !strings.Contains(q.Warnings[0].Error(), "process.nosuch") {
		t.Errorf("warnings %v, want one for process.nosuch", q.Warnings)
	}
	r, err := NewRunner([]*Query[tev]{q}, RunnerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	run(t, r, []step{{ev("process", "exec", "s", "", 0), 0}, {desc("s", time.Second), 1}})
}

func BenchmarkJoinAnyDeepAncestry(b *testing.B) {
	q, err := Compile(seqSelfOrDescendant, testSchema)
	if err != nil {
		b.Fatal(err)
	}
	r, err := NewRunner([]*Query[tev]{q}, RunnerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	anc := make([]string, 32)
	for i := range anc {
		anc[i] = "a" + strings.Repeat("x", i)
	}
	conn := desc("c", time.Second, anc...)
	r.Process(ev("process", "exec", "s", "apt", 0))
	b.ReportAllocs()
	for b.Loop() {
		r.Process(conn)
	}
}
