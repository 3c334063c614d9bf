package rules

import (
	"fmt"
	"testing"
	"time"
)

// modelEngine is a deliberately naive implementation of the engine's
// semantics for AptNetcon (a map and linear scans), used as the oracle of
// FuzzEngine.
type modelEngine struct {
	max     int
	seq     int
	entries map[seqKey]modelEntry
	newest  time.Time // newest event time seen: the expiry watermark
}

// seqKey is the model's join key: host.id and the step's entity id.
type seqKey struct {
	host, join string
}

type modelEntry struct {
	first    *Event
	deadline time.Time
	seq      int // insertion order, the tie-break among equal deadlines
}

func (m *modelEngine) expire(now time.Time) {
	for k, en := range m.entries {
		if en.deadline.Before(now) {
			delete(m.entries, k)
		}
	}
}

// process returns the first event of the sequence ev completes, or nil.
func (m *modelEngine) process(ev *Event) *Event {
	if ev.Time.After(m.newest) {
		m.newest = ev.Time
	}
	m.expire(m.newest)
	var done *Event
	if isRemoteConnectAttempt(ev) && ev.Process.Parent.EntityID != "" {
		k := seqKey{ev.HostID, ev.Process.Parent.EntityID}
		if en, ok := m.entries[k]; ok && !ev.Time.Before(en.first.Time) {
			delete(m.entries, k)
			done = en.first
		}
	}
	if isAptHookShell(ev) && ev.Process.EntityID != "" {
		k := seqKey{ev.HostID, ev.Process.EntityID}
		if old, ok := m.entries[k]; ok {
			if ev.Time.Before(old.first.Time) {
				return done
			}
			delete(m.entries, k)
		}
		if len(m.entries) >= m.max {
			var oldestKey seqKey
			oldest := modelEntry{seq: -1}
			for k, en := range m.entries {
				if oldest.seq < 0 || en.deadline.Before(oldest.deadline) ||
					(en.deadline.Equal(oldest.deadline) && en.seq < oldest.seq) {
					oldestKey, oldest = k, en
				}
			}
			delete(m.entries, oldestKey)
		}
		m.seq++
		m.entries[k] = modelEntry{first: ev, deadline: ev.Time.Add(5 * time.Second), seq: m.seq}
	}
	return done
}

// fuzzEvent decodes one event from 3 bytes: kind, host and entity, and a
// signed time step of 100ms units (time may go backwards).
func fuzzEvent(b []byte, id int, now *time.Time) (ev *Event, expireOnly bool) {
	*now = now.Add(time.Duration(int8(b[2])) * 100 * time.Millisecond)
	host := fmt.Sprint("h", b[1]&1)
	entity := fmt.Sprint("e", (b[1]>>1)%4)
	at := now.Sub(t0)
	switch b[0] % 7 {
	case 0:
		ev = shellExec(host, entity, at)
	case 1:
		ev = connectFrom(host, entity, "8.8.8.8", at)
	case 2:
		ev = connectFrom(host, entity, "::ffff:127.0.0.1", at)
	case 3:
		ev = shellExec(host, entity, at)
		ev.Process.Parent.Name = "dpkg"
	case 4:
		ev = shellExec(host, entity, at)
		ev.Process.Args = []string{"sh", "-c", "/usr/bin/apt-listbugs apt"}
	case 5:
		ev = connectFrom(host, entity, "2001:db8::1", at)
		ev.Process.Executable = "/usr/bin/apt-listbugs"
	case 6:
		return &Event{Time: *now}, true
	}
	ev.Process.PID = id // a unique id per event, to recognise it in matches
	return ev, false
}

func FuzzEngine(f *testing.F) {
	f.Add([]byte{2, 0, 0, 0, 1, 1, 10, 1, 1, 0})
	f.Add([]byte{0, 0, 0, 0, 0, 2, 0, 0, 2, 0, 0, 2, 1, 0, 50, 1, 2, 0, 6, 0, 100})
	f.Add([]byte{1, 0, 0, 0, 0, 5, 1, 0, 0, 1, 0, 0, 0, 0, 0x80, 1, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 1 {
			return
		}
		max := 1 + int(data[0]%8)
		data = data[1:]
		// The compiled seed rule is immutable (no lineage state), so one copy
		// serves every run; the engine's state is fresh each time.
		e, err := NewEngine([]*Rule{seed}, EngineConfig{MaxPending: max, Lateness: NoLateness})
		if err != nil {
			t.Fatal(err)
		}
		model := &modelEngine{max: max, entries: map[seqKey]modelEntry{}}
		matchedFirst := map[int]bool{}
		now := t0
		for i := 0; i+3 <= len(data); i += 3 {
			ev, expireOnly := fuzzEvent(data[i:i+3], i, &now)
			if expireOnly {
				e.Expire(ev.Time)
				model.expire(ev.Time)
				continue
			}
			got := e.Process(ev)
			want := model.process(ev)
			if len(got) > 1 || (len(got) == 1) != (want != nil) {
				t.Fatalf("event %d: engine %d matches, model match=%v", i, len(got), want != nil)
			}
			if len(got) == 1 {
				m := got[0]
				first, second := m.Events[0], m.Events[1]
				if first.Process.PID != want.Process.PID {
					t.Fatalf("event %d: engine matched first event %d, model %d", i, first.Process.PID, want.Process.PID)
				}
				if span := second.Time.Sub(first.Time); span < 0 || span > 5*time.Second {
					t.Fatalf("event %d: match spans %v", i, span)
				}
				if first.HostID != second.HostID || first.Process.EntityID != second.Process.Parent.EntityID {
					t.Fatalf("event %d: match joins %s/%s with %s/%s", i, first.HostID,
						first.Process.EntityID, second.HostID, second.Process.Parent.EntityID)
				}
				if !isAptHookShell(&first) || !isRemoteConnectAttempt(&second) {
					t.Fatalf("event %d: matched events fail their filters", i)
				}
				if matchedFirst[first.Process.PID] {
					t.Fatalf("event %d: first event %d matched twice", i, first.Process.PID)
				}
				matchedFirst[first.Process.PID] = true
			}
			if s := e.Stats(); s.Pending != len(model.entries) || s.Pending > max {
				t.Fatalf("event %d: engine pending %d, model %d, bound %d", i, s.Pending, len(model.entries), max)
			}
			checkAccounting(t, e)
		}
	})
}
