package audit

import (
	"testing"

	"github.com/elastic/go-libaudit/v2/auparse"
)

// aptShellEvent returns the records of the real exec of "sh -c HOOK" by a
// fork of apt (serial 1461): SYSCALL, BPRM_FCAPS, EXECVE, CWD, PATH x2,
// PROCTITLE, EOE.
func aptShellEvent(tb testing.TB) []Record {
	tb.Helper()
	var out []Record
	for _, r := range loadRecords(tb, "apt-chain.txt") {
		h, _, err := parseHeader(r.Data)
		if err != nil {
			tb.Fatal(err)
		}
		if h.Serial == 1461 {
			out = append(out, r)
		}
	}
	if len(out) != 8 {
		tb.Fatalf("serial 1461 has %d records, want 8", len(out))
	}
	return out
}

// BenchmarkAssembleExec is the per-event hot path: eight records in, one
// *Exec out.
func BenchmarkAssembleExec(b *testing.B) {
	recs := aptShellEvent(b)
	a := NewAssembler(AssemblerConfig{})
	var n int
	emit := func(Event) { n++ }
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range recs {
			if err := a.Push(r, emit); err != nil {
				b.Fatal(err)
			}
		}
	}
	if n == 0 {
		b.Fatal("no event emitted")
	}
}

// BenchmarkAssembleSkippedSyscall is an event the sensor does not want (a
// sendto with a netlink address): it should cost little.
func BenchmarkAssembleSkippedSyscall(b *testing.B) {
	recs := loadRecords(b, "sendto-netlink.txt")[1:] // without the CONFIG_CHANGE
	a := NewAssembler(AssemblerConfig{})
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range recs {
			if err := a.Push(r, func(Event) { b.Fatal("emitted") }); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkLibauditExec is go-libaudit v2.6.2's parser on the same seven
// records: auparse.Parse and Data() (fields parsed with a regexp) for each;
// aucoalesce would add its own work on top.
func BenchmarkLibauditExec(b *testing.B) {
	recs := aptShellEvent(b)
	strs := make([]string, len(recs))
	for i, r := range recs {
		strs[i] = string(r.Data)
	}
	b.ReportAllocs()
	for b.Loop() {
		var args map[string]string
		for i, r := range recs {
			if r.Type == TypeEOE {
				continue
			}
			m, err := auparse.Parse(auparse.AuditMessageType(r.Type), strs[i])
			if err != nil {
				b.Fatal(err)
			}
			data, err := m.Data()
			if err != nil {
				b.Fatal(err)
			}
			if r.Type == TypeExecve {
				args = data
			}
		}
		if args["a1"] != "-c" {
			b.Fatal(args)
		}
	}
}
