package audit

import (
	"errors"
	"testing"
	"time"
)

func TestParseHeader(t *testing.T) {
	tests := []struct {
		in     string
		time   time.Time
		serial uint64
		rest   string
		bad    bool
	}{
		{in: "audit(1795659700.760:1461): arch=c000003e", time: time.UnixMilli(1795659700760), serial: 1461, rest: " arch=c000003e"},
		{in: "audit(1795659700.760:1468):  a294=\"x\"", time: time.UnixMilli(1795659700760), serial: 1468, rest: "  a294=\"x\""},
		{in: "audit(1795659686.132:3): ", time: time.UnixMilli(1795659686132), serial: 3, rest: " "},
		{in: "audit(0.000:0):", time: time.Unix(0, 0), serial: 0, rest: ""},
		{in: "audit(1.5:3): ", bad: true},                      // milliseconds are always 3 digits
		{in: "audit(1.0000:3): ", bad: true},                   // ... not 4
		{in: "audit(.000:3): ", bad: true},                     // no seconds
		{in: "audit(1.000:): ", bad: true},                     // no serial
		{in: "audit(1.000:3) ", bad: true},                     // no colon after ')'
		{in: "audit(1.000:3", bad: true},                       // truncated
		{in: "audit(1.000:18446744073709551616): ", bad: true}, // serial overflows
		{in: "audit(99999999999999999999.000:3): ", bad: true},
		{in: "type=1300 audit(1.000:3): ", bad: true},
		{in: "", bad: true},
	}
	for _, tt := range tests {
		h, rest, err := parseHeader([]byte(tt.in))
		if tt.bad {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("parseHeader(%q) err = %v, want ErrMalformed", tt.in, err)
			}
			continue
		}
		if err != nil || !h.Time.Equal(tt.time) || h.Serial != tt.serial || string(rest) != tt.rest {
			t.Errorf("parseHeader(%q) = %v %d %q %v", tt.in, h.Time, h.Serial, rest, err)
		}
	}
}

func TestIsSyscallEventType(t *testing.T) {
	for typ, want := range map[uint16]bool{
		TypeSyscall: true, TypeExecve: true, TypeEOE: true, TypeProctitle: true, 1399: true,
		TypeConfig: false, TypeReplace: false, 1100: false, 1299: false, 1400: false, 1000: false,
	} {
		if got := isSyscallEventType(typ); got != want {
			t.Errorf("isSyscallEventType(%d) = %v", typ, got)
		}
	}
}
