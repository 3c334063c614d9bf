package procfs

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// statTail is fields 3..22 and a few more of a real stat line.
const statTail = " S 1 6693 4083 0 -1 4194304 138 0 0 0 0 0 0 0 20 0 1 0 48201 2990080 419\n"

func TestParseStat(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Stat
	}{
		{"plain", "42 (sleep)" + statTail, Stat{PID: 42, Comm: "sleep", State: 'S', PPID: 1, Flags: 4194304, StartTime: 48201}},
		{"spaces and parens", "42 (a b) (c)" + statTail, Stat{PID: 42, Comm: "a b) (c", State: 'S', PPID: 1, Flags: 4194304, StartTime: 48201}},
		{"only a close paren", "42 ())" + statTail, Stat{PID: 42, Comm: ")", State: 'S', PPID: 1, Flags: 4194304, StartTime: 48201}},
		{"empty comm", "42 ()" + statTail, Stat{PID: 42, State: 'S', PPID: 1, Flags: 4194304, StartTime: 48201}},
		{"starttime last, no newline", "42 (x) S 1 6693 4083 0 -1 4194304 138 0 0 0 0 0 0 0 20 0 1 0 7", Stat{PID: 42, Comm: "x", State: 'S', PPID: 1, Flags: 4194304, StartTime: 7}},
		{"kernel thread", "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 24 0 0\n", Stat{PID: 2, Comm: "kthreadd", State: 'S', Flags: 2129984, StartTime: 24}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStat([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("ParseStat = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseStatRefusesBadInput(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"empty", "", "no (comm)"},
		{"no parens", "42 sleep S 1", "no (comm)"},
		{"close before open", "42 )x( S 1", "no (comm)"},
		{"bad pid", "4x2 (sleep)" + statTail, "bad pid"},
		{"zero pid", "0 (sleep)" + statTail, "bad pid"},
		{"nothing after comm", "42 (sleep)", "no space after comm"},
		{"truncated", "42 (sleep) S 1 2 3", "field 7 missing"},
		{"bad state", "42 (sleep) SS 1 6693 4083 0 -1 4194304 138 0 0 0 0 0 0 0 20 0 1 0 48201", "bad state"},
		{"negative ppid", "42 (sleep) S -1 6693 4083 0 -1 4194304 138 0 0 0 0 0 0 0 20 0 1 0 48201", "bad ppid"},
		{"starttime overflow", "42 (sleep) S 1 6693 4083 0 -1 4194304 138 0 0 0 0 0 0 0 20 0 1 0 18446744073709551616", "bad starttime"},
		{"double space", "42 (sleep) S  1 6693 4083 0 -1 4194304 138 0 0 0 0 0 0 0 20 0 1 0 48201", "field 4 missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseStat([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseStat(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
			}
		})
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("42 (a b) (c)" + statTail))
	f.Add([]byte("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 24 0 0\n"))
	f.Add([]byte("42 ()"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseStat(b)
		if err != nil {
			return
		}
		// Whatever parses must have come from a "(comm)" in the input.
		if s.PID <= 0 || !strings.Contains(string(b), "("+s.Comm+")") {
			t.Errorf("ParseStat(%q) = %+v: pid or comm not from the input", b, s)
		}
	})
}

func TestParseCmdline(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"kernel thread", "", nil},
		{"one arg", "sleep\x00", []string{"sleep"}},
		{"args", "sh\x00-c\x00echo hi\x00", []string{"sh", "-c", "echo hi"}},
		{"empty last arg", "sh\x00-c\x00\x00", []string{"sh", "-c", ""}},
		{"empty only arg", "\x00", []string{""}},
		{"rewritten without NUL", "nginx: worker process", []string{"nginx: worker process"}},
		{"rewritten with padding", "title\x00\x00\x00", []string{"title", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseCmdline([]byte(tt.in)); !slices.Equal(got, tt.want) {
				t.Errorf("ParseCmdline(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzParseCmdline(f *testing.F) {
	f.Add([]byte("sh\x00-c\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		args := ParseCmdline(b)
		// Joining back must give the input minus one terminating NUL.
		joined := strings.Join(args, "\x00")
		if want := strings.TrimSuffix(string(b), "\x00"); joined != want {
			t.Errorf("ParseCmdline(%q) = %q does not join back", b, args)
		}
	})
}

func TestParseStatus(t *testing.T) {
	in := "Name:\tsh\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t6712\nPid:\t6712\nPPid:\t6708\n" +
		"Uid:\t1000\t1001\t1002\t1003\nGid:\t0\t0\t0\t0\n"
	got, err := ParseStatus([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := Status{Name: "sh", TGID: 6712, PPID: 6708, UID: 1000, EUID: 1001}
	if got != want {
		t.Errorf("ParseStatus = %+v, want %+v", got, want)
	}
}

func TestParseStatusRefusesBadInput(t *testing.T) {
	tests := []struct{ name, in, wantErr string }{
		{"no uid", "Name:\tsh\n", "no Uid line"},
		{"short uid", "Uid:\t0\t0\n", "2 ids"},
		{"bad uid", "Uid:\tx\t0\t0\t0\n", "bad real uid"},
		{"uid overflow", "Uid:\t4294967296\t0\t0\t0\n", "bad real uid"},
		{"bad ppid", "PPid:\t-3\nUid:\t0\t0\t0\t0\n", "bad PPid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseStatus([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseStatus error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte("Name:\tsh\nTgid:\t1\nPPid:\t0\nUid:\t0\t0\t0\t0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseStatus(b)
		if err == nil && !strings.Contains(string(b), "Uid:") {
			t.Errorf("ParseStatus(%q) = %+v without a Uid line", b, s)
		}
	})
}

func TestCheckUUID(t *testing.T) {
	good := []string{"c88c098d-c458-4e61-a9b6-31c65a1a25ae", "C88C098D-C458-4E61-A9B6-31C65A1A25AE"}
	bad := []string{"", "c88c098d-c458-4e61-a9b6-31c65a1a25a", "c88c098dxc458-4e61-a9b6-31c65a1a25ae",
		"g88c098d-c458-4e61-a9b6-31c65a1a25ae", "c88c098d-c458-4e61-a9b6-31c65a1a25ae0"}
	for _, s := range good {
		if err := checkUUID([]byte(s)); err != nil {
			t.Errorf("checkUUID(%q) = %v, want nil", s, err)
		}
	}
	for _, s := range bad {
		if err := checkUUID([]byte(s)); err == nil {
			t.Errorf("checkUUID(%q) = nil, want an error", s)
		}
	}
}

func FuzzCheckUUID(f *testing.F) {
	f.Add([]byte("c88c098d-c458-4e61-a9b6-31c65a1a25ae"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if checkUUID(b) == nil && len(b) != 36 {
			t.Errorf("checkUUID accepted %q of length %d", b, len(b))
		}
	})
}

func TestTicks(t *testing.T) {
	tests := []struct {
		ticks uint64
		d     time.Duration
	}{
		{0, 0},
		{1, 10 * time.Millisecond},
		{48201, 482*time.Second + 10*time.Millisecond},
	}
	for _, tt := range tests {
		if got := TicksToDuration(tt.ticks); got != tt.d {
			t.Errorf("TicksToDuration(%d) = %v, want %v", tt.ticks, got, tt.d)
		}
		if got := DurationToTicks(tt.d); got != tt.ticks {
			t.Errorf("DurationToTicks(%v) = %d, want %d", tt.d, got, tt.ticks)
		}
	}
	// Rounding down, as the kernel's nsec_to_clock_t does.
	if got := DurationToTicks(19999999 * time.Nanosecond); got != 1 {
		t.Errorf("DurationToTicks(19.999999ms) = %d, want 1", got)
	}
	if got := DurationToTicks(-time.Second); got != 0 {
		t.Errorf("DurationToTicks(-1s) = %d, want 0", got)
	}
}
