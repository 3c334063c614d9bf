package audit

import "testing"

func TestGapCounter(t *testing.T) {
	tests := []struct {
		name    string
		serials []uint64
		want    uint64
	}{
		{"in order, records repeat a serial", []uint64{10, 10, 10, 11, 11, 12}, 0},
		{"one event missing", []uint64{10, 11, 13}, 1},
		{"overtaken, then late", []uint64{10, 12, 11, 13}, 0},
		{"several missing, one late", []uint64{1, 5, 3, 6}, 2},
		{"a long jump", []uint64{1, 1 + 3*gapWindow}, 3*gapWindow - 1},
		{"late after a long jump is taken back", []uint64{1, 1 + 3*gapWindow, 3 * gapWindow}, 3*gapWindow - 2},
		{"too old to tell", []uint64{1, 2, 2 + 2*gapWindow, 1}, 2*gapWindow - 1},
		{"a second record of an old event does not count", []uint64{1, 3, 2, 2, 2}, 0},
	}
	for _, tt := range tests {
		var g gapCounter
		for _, s := range tt.serials {
			g.see(s)
		}
		if g.missing != tt.want {
			t.Errorf("%s: %d missing, want %d", tt.name, g.missing, tt.want)
		}
	}
}

func TestRecordSerial(t *testing.T) {
	for in, want := range map[string]uint64{
		"audit(1795659700.760:1461): arch=c000003e": 1461,
		"audit(1.000:7):": 7,
	} {
		if got, ok := recordSerial([]byte(in)); !ok || got != want {
			t.Errorf("%q: %d %v, want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "audit(", "audit(1.000:x):", "audit(1.000:12", "type=1300"} {
		if _, ok := recordSerial([]byte(in)); ok {
			t.Errorf("%q: ok", in)
		}
	}
}

func FuzzRecordSerial(f *testing.F) {
	f.Add([]byte("audit(1795659700.760:1461): arch=c000003e"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var g gapCounter
		if s, ok := recordSerial(b); ok {
			g.see(s)
			g.see(s + 2)
			if g.missing != 1 && s+2 > s {
				t.Fatalf("serial %d: %d missing after skipping one", s, g.missing)
			}
		}
	})
}
