package audit

import (
	"testing"
	"time"
)

// TestBlindBookWindows: a window starts at the change's CONFIG_CHANGE
// time when one was seen after the last intact check, else at that
// check; it ends when closed, and a late record of it does not stretch
// the next window back.
func TestBlindBookWindows(t *testing.T) {
	var b blindBook
	t0 := time.Now().Add(-10 * time.Second)
	b.startAt(t0)
	b.startAt(t0.Add(time.Second)) // only once
	b.intact(t0.Add(2 * time.Second))

	// No record seen: from the last intact check.
	b.closeWindow("the sensor's rules removed", time.Time{})
	// The record of the change, after the intact check: from it.
	b.intact(t0.Add(3 * time.Second))
	b.damaged(t0.Add(3500 * time.Millisecond))
	b.damaged(t0.Add(3200 * time.Millisecond)) // earliest wins
	b.damaged(t0.Add(3900 * time.Millisecond))
	b.closeWindow("audit disabled", time.Time{})
	// A record older than the last repair (it came late): ignored.
	b.damaged(t0.Add(3300 * time.Millisecond))
	closedAt := time.Now()
	b.closeWindow("the sensor's rules removed", time.Time{})
	// An explicit start (the sensor moving its own rules).
	b.closeWindow("moved", t0.Add(9*time.Second))

	ws := b.windows
	if len(ws) != 4 {
		t.Fatalf("%d windows, want 4: %+v", len(ws), ws)
	}
	for i, want := range []time.Time{t0.Add(2 * time.Second), t0.Add(3200 * time.Millisecond), {}, t0.Add(9 * time.Second)} {
		if i == 2 {
			if ws[2].From.Before(ws[1].To) || ws[2].From.After(closedAt) {
				t.Errorf("window 3 from %v: want after the previous repair %v", ws[2].From, ws[1].To)
			}
			continue
		}
		if !ws[i].From.Equal(want) {
			t.Errorf("window %d from %v, want %v", i+1, ws[i].From, want)
		}
		if ws[i].To.Before(ws[i].From) {
			t.Errorf("window %d ends before it starts: %+v", i+1, ws[i])
		}
	}
	for range maxHeldBlind + 10 {
		b.closeWindow("x", time.Time{})
	}
	if len(b.windows) != maxHeldBlind {
		t.Errorf("%d windows held, want at most %d", len(b.windows), maxHeldBlind)
	}
}
