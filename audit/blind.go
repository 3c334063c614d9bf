package audit

import (
	"sync"
	"sync/atomic"
	"time"
)

// BlindWindow is a time the sensor's audit setup was undone until Repair
// put it back: its rules deleted (`auditctl -D`, `augenrules --load`),
// audit disabled, or the audit PID freed under it. The kernel made no
// record of what happened then, or sent it where the sensor was not
// reading, so no count of lost events exists: the window is the loss.
type BlindWindow struct {
	// From is when the setup was undone: the time of the CONFIG_CHANGE
	// record that undid it when one was seen, else the last check that
	// found everything in place (at most a Repair period earlier).
	From time.Time `json:"from"`
	// To is when Repair had put it back.
	To   time.Time `json:"to"`
	What string    `json:"what"`
}

// maxHeldBlind bounds the windows kept until TakeBlindWindows; older ones
// are dropped from the list (BlindWindows still counts them).
const maxHeldBlind = 256

// blindBook keeps the blind windows Repair closes.
type blindBook struct {
	mu       sync.Mutex
	windows  []BlindWindow
	intactAt time.Time // the last time the setup was known in place
	// damageAt is the earliest CONFIG_CHANGE time (unix ns) of a change
	// that undid the setup, since intactAt; 0 for none.
	damageAt atomic.Int64
}

// damaged notes the time of a change that undid the sensor's setup (from
// its CONFIG_CHANGE record); the earliest one since the last check wins.
func (b *blindBook) damaged(at time.Time) {
	n := at.UnixNano()
	for {
		old := b.damageAt.Load()
		if old != 0 && old <= n {
			return
		}
		if b.damageAt.CompareAndSwap(old, n) {
			return
		}
	}
}

// intact notes that a check at t found the setup in place.
func (b *blindBook) intact(t time.Time) {
	b.mu.Lock()
	b.intactAt = t
	b.mu.Unlock()
}

// closeWindow records a window that ends now; from zero means "since the
// setup was undone" (damaged, else the last intact check).
func (b *blindBook) closeWindow(what string, from time.Time) {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if from.IsZero() {
		from = b.intactAt
		if d := b.damageAt.Load(); d != 0 && time.Unix(0, d).After(from) {
			from = time.Unix(0, d)
		}
		if from.IsZero() || from.After(now) {
			from = now
		}
	}
	if len(b.windows) == maxHeldBlind {
		b.windows = append(b.windows[:0], b.windows[1:]...)
	}
	b.windows = append(b.windows, BlindWindow{From: from, To: now, What: what})
	// Put back now: a record of this damage that comes late is older.
	b.intactAt = now
	b.damageAt.Store(0)
}

// noteBlind counts a blind window that ends now (see closeWindow).
func (s *Session) noteBlind(what string, from time.Time) {
	s.blindWindows.Add(1)
	s.blind.closeWindow(what, from)
}

// TakeBlindWindows returns the blind windows closed since the last call,
// oldest first.
func (s *Session) TakeBlindWindows() []BlindWindow {
	s.blind.mu.Lock()
	defer s.blind.mu.Unlock()
	ws := s.blind.windows
	s.blind.windows = nil
	return ws
}

// startAt sets the first intact time (Open's end) once.
func (b *blindBook) startAt(t time.Time) {
	b.mu.Lock()
	if b.intactAt.IsZero() {
		b.intactAt = t
	}
	b.mu.Unlock()
}
