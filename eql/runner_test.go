package eql

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 24, 12, 0, 0, 0, time.UTC)

func ev(cat, action, id, parent string, at time.Duration) *tev {
	return &tev{cat: cat, action: action, id: id, parent: parent, host: "h", at: t0.Add(at)}
}

func newRunner(t *testing.T, cfg RunnerConfig, srcs ...string) *Runner[tev] {
	t.Helper()
	var qs []*Query[tev]
	for _, s := range srcs {
		q, err := Compile(s, testSchema)
		if err != nil {
			t.Fatalf("compile %q: %v", s, err)
		}
		qs = append(qs, q)
	}
	r, err := NewRunner(qs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// step is one event fed to a runner and the matches it must complete.
type step struct {
	e    *tev
	want int
}

func run(t *testing.T, r *Runner[tev], steps []step) {
	t.Helper()
	for i, s := range steps {
		got := r.Process(s.e)
		if len(got) != s.want {
			t.Fatalf("event %d (%s %s id=%s parent=%s at +%v): %d matches, want %d; stats %+v", i, s.e.cat, s.e.action,
				s.e.id, s.e.parent, s.e.at.Sub(t0), len(got), s.want, r.Stats())
		}
	}
	st := r.Stats()
	if ended := st.Matches + st.Replaced + st.Expired + st.Evicted + st.Until + st.Dropped + uint64(st.Pending); st.Started != ended {
		t.Fatalf("stats do not add up: %+v", st)
	}
}

const seqAB = `sequence by host.id with maxspan=5s
  [process where event.action == "exec"] by process.entity_id
  [network where event.action == "connect"] by process.parent.entity_id`

// TestSequenceMaxspanInclusive: eql-syntax "Sequences / maxspan": events
// within the span, a gap of exactly maxspan included.
func TestSequenceMaxspanInclusive(t *testing.T) {
	for _, tt := range []struct {
		gap  time.Duration
		want int
	}{{0, 1}, {5 * time.Second, 1}, {5*time.Second + time.Millisecond, 0}, {-time.Millisecond, 0}} {
		r := newRunner(t, RunnerConfig{}, seqAB)
		run(t, r, []step{{ev("process", "exec", "s", "apt", 0), 0}, {ev("network", "connect", "c", "s", tt.gap), tt.want}})
	}
}

// TestSequenceReplaceAndClear: one pending sequence per state and key; a
// completed sequence clears it (eql-syntax "Sequences", Elasticsearch's
// sequence state machine).
func TestSequenceReplaceAndClear(t *testing.T) {
	r := newRunner(t, RunnerConfig{}, seqAB)
	run(t, r, []step{
		{ev("process", "exec", "s", "apt", 0), 0},
		{ev("process", "exec", "s", "apt", 3*time.Second), 0}, // replaces, restarts the clock
		{ev("network", "connect", "c", "s", 7*time.Second), 1},
		{ev("network", "connect", "c", "s", 7*time.Second), 0}, // cleared
	})
	if s := r.Stats(); s.Replaced != 1 || s.Matches != 1 {
		t.Errorf("stats %+v", s)
	}
}

// TestSequenceUntil: an until event for the key drops its pending sequences.
func TestSequenceUntil(t *testing.T) {
	r := newRunner(t, RunnerConfig{}, `sequence by process.entity_id with maxspan=1m
	  [process where event.action == "exec"]
	  [network where event.action == "connect"]
	until [process where event.action == "end"]`)
	run(t, r, []step{
		{ev("process", "exec", "a", "", 0), 0},
		{ev("process", "exec", "b", "", 0), 0},
		{ev("process", "end", "a", "", time.Second), 0},
		{ev("network", "connect", "a", "", 2*time.Second), 0},
		{ev("network", "connect", "b", "", 2*time.Second), 1},
	})
	if s := r.Stats(); s.Until != 1 {
		t.Errorf("Until = %d, want 1", s.Until)
	}
}

// TestSequenceRuns: `with runs=3` is the step three times.
func TestSequenceRuns(t *testing.T) {
	r := newRunner(t, RunnerConfig{}, `sequence by process.entity_id with maxspan=10s
	  [process where event.action == "exec"]
	  [network where event.action == "connect"] with runs=3`)
	run(t, r, []step{
		{ev("process", "exec", "a", "", 0), 0},
		{ev("network", "connect", "a", "", 1*time.Second), 0},
		{ev("network", "connect", "a", "", 2*time.Second), 0},
		{ev("network", "connect", "a", "", 3*time.Second), 1},
	})
}

// TestSequencePerStepBy: sequence-level and step-level keys combine.
func TestSequencePerStepBy(t *testing.T) {
	r := newRunner(t, RunnerConfig{}, seqAB)
	other := ev("network", "connect", "c", "s", time.Second)
	other.host = "h2"
	run(t, r, []step{
		{ev("process", "exec", "s", "apt", 0), 0},
		{other, 0}, // same step key, other host
		{ev("network", "connect", "c", "t", time.Second), 0},
		{ev("network", "connect", "c", "s", time.Second), 1},
	})
}

// TestSequenceLateness: a record that arrives late but is stamped inside the
// window completes the sequence; later unrelated events do not expire it
// within the allowed lateness; past it, the state is gone.
func TestSequenceLateness(t *testing.T) {
	r := newRunner(t, RunnerConfig{}, seqAB)
	run(t, r, []step{
		{ev("process", "exec", "s", "apt", 0), 0},
		{ev("process", "exec", "x", "init", 7*time.Second), 0}, // unrelated, 7 s later
		{ev("network", "connect", "c", "s", 4*time.Second), 1}, // arrives now, stamped +4s
	})
	r = newRunner(t, RunnerConfig{Lateness: 10 * time.Second}, seqAB)
	run(t, r, []step{
		{ev("process", "exec", "s", "apt", 0), 0},
		{ev("process", "exec", "x", "init", 15*time.Second+time.Millisecond), 0}, // watermark passes 5s
		{ev("network", "connect", "c", "s", 4*time.Second), 0},
	})
	if s := r.Stats(); s.Expired != 1 {
		t.Errorf("Expired = %d, want 1", s.Expired)
	}
	r = newRunner(t, RunnerConfig{}, seqAB)
	r.Process(ev("process", "exec", "s", "apt", 0))
	r.Expire(t0.Add(5*time.Second + DefaultLateness))
	if r.Stats().Pending != 1 {
		t.Error("Expire dropped a sequence still within its allowed lateness")
	}
	r.Expire(t0.Add(5*time.Second + DefaultLateness + time.Nanosecond))
	if r.Stats().Pending != 0 {
		t.Error("Expire kept a sequence past its allowed lateness")
	}
}

// TestSequenceBounded: the table bound holds under a flood of first events.
func TestSequenceBounded(t *testing.T) {
	r := newRunner(t, RunnerConfig{MaxPending: 10}, seqAB)
	for i := range 100 {
		r.Process(ev("process", "exec", string(rune('a'+i%26))+string(rune('a'+i/26)), "apt", time.Duration(i)))
	}
	if s := r.Stats(); s.Pending != 10 || s.Evicted != 90 {
		t.Fatalf("stats %+v, want 10 pending, 90 evicted", s)
	}
}

// TestEventQuery: a query without sequence matches each event alone.
func TestEventQuery(t *testing.T) {
	r := newRunner(t, RunnerConfig{}, `network where event.action == "connect"`)
	run(t, r, []step{{ev("network", "connect", "a", "", 0), 1}, {ev("process", "connect", "a", "", 0), 0}, {ev("network", "connect", "a", "", 0), 1}})
}

// TestLineage: Endgame EQL's child of / descendant of / event of.
func TestLineage(t *testing.T) {
	r := newRunner(t, RunnerConfig{},
		`network where child of [process where process.name == "apt"]`,
		`network where descendant of [process where process.name == "apt"]`,
		`network where event of [process where process.name == "curl"]`)
	apt := ev("process", "exec", "apt1", "init", 0)
	apt.name = "apt"
	curl := ev("process", "exec", "curl1", "sh1", 0)
	curl.name = "curl"
	child := ev("network", "connect", "x", "apt1", time.Second)
	grandchild := ev("network", "connect", "y", "sh1", time.Second)
	grandchild.anc = []string{"sh1", "apt1"}
	self := ev("network", "connect", "curl1", "sh1", time.Second)
	stranger := ev("network", "connect", "z", "init", time.Second)
	for _, e := range []*tev{apt, curl} {
		if m := r.Process(e); len(m) != 0 {
			t.Fatalf("process event matched %v", m)
		}
	}
	for _, c := range []struct {
		e    *tev
		want []int
	}{{child, []int{0, 1}}, {grandchild, []int{1}}, {self, []int{2}}, {stranger, nil}} {
		var got []int
		for _, m := range r.Process(c.e) {
			got = append(got, m.Query)
		}
		if len(got) != len(c.want) || (len(got) > 0 && got[0] != c.want[0]) {
			t.Errorf("event %s: queries %v, want %v", c.e.id, got, c.want)
		}
	}
}

// TestReloadKeepsState: a query given again keeps its pending sequences.
func TestReloadKeepsState(t *testing.T) {
	q1, _ := Compile(seqAB, testSchema)
	q2, _ := Compile(seqAB, testSchema)
	r, _ := NewRunner([]*Query[tev]{q1, q2}, RunnerConfig{})
	r.Process(ev("process", "exec", "s", "apt", 0))
	if r.Stats().Pending != 2 {
		t.Fatal("want 2 pending")
	}
	r.Reload([]*Query[tev]{q1})
	if s := r.Stats(); s.Pending != 1 || s.Dropped != 1 {
		t.Fatalf("after reload %+v, want 1 pending, 1 dropped", s)
	}
	if m := r.Process(ev("network", "connect", "c", "s", time.Second)); len(m) != 1 || m[0].Query != 0 {
		t.Fatalf("matches %+v, want q1's", m)
	}
}

// TestExcept: an exception is `and not (condition)` on the chosen step.
func TestExcept(t *testing.T) {
	q, _ := Compile(seqAB, testSchema)
	cd, err := CompileCondition(`process.name == "mirror-sync"`, testSchema)
	if err != nil {
		t.Fatal(err)
	}
	qx, err := q.Except(0, cd)
	if err != nil {
		t.Fatal(err)
	}
	e := ev("process", "exec", "s", "apt", 0)
	e.name = "mirror-sync"
	if !q.Matches(0, e) || qx.Matches(0, e) {
		t.Error("exception does not silence step 1")
	}
	if _, err := q.Except(5, cd); err == nil {
		t.Error("exception for step 6 of 2 accepted")
	}
}
