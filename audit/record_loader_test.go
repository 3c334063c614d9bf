package audit

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The files in testdata/records are audit records captured from a real
// kernel (Linux 6.18, x86_64), byte-exact, one per line as
//
//	type=<netlink message type> msg=<payload>
//
// The payload is exactly what the kernel sent. It never contains a raw
// newline (the kernel quotes only printable values and hex-encodes the
// rest, kernel/audit.c audit_log_n_untrustedstring), so a newline always
// ends a record.

// loadRecords reads testdata/records/<name>.
func loadRecords(tb testing.TB, name string) []Record {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "records", name))
	if err != nil {
		tb.Fatal(err)
	}
	recs, err := ParseRecordLines(b)
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return recs
}

// assembleAll pushes recs through a fresh Assembler and returns what it
// emitted and the errors Push returned. The argv cap is raised so that the
// decoding of long and split arguments is checked whole; the default cap
// has tests of its own.
func assembleAll(tb testing.TB, recs []Record) ([]Event, []error, *Assembler) {
	tb.Helper()
	a := NewAssembler(AssemblerConfig{MaxArgBytes: 1 << 20})
	var events []Event
	var errs []error
	for _, r := range recs {
		if err := a.Push(r, func(e Event) { events = append(events, e) }); err != nil {
			errs = append(errs, err)
		}
	}
	return events, errs, a
}

func TestLoadRecordsKeepsPayloadExact(t *testing.T) {
	recs := loadRecords(t, "exec-hex-args.txt")
	if len(recs) != 8 {
		t.Fatalf("got %d records, want 8", len(recs))
	}
	if recs[0].Type != TypeSyscall || !bytes.HasPrefix(recs[0].Data, []byte("audit(1795659686.144:8): arch=")) {
		t.Errorf("first record = %d %q", recs[0].Type, recs[0].Data[:40])
	}
	// EOE's payload is the header and its trailing space, nothing else.
	if last := recs[7]; last.Type != TypeEOE || string(last.Data) != "audit(1795659686.144:8): " {
		t.Errorf("last record = %d %q", last.Type, last.Data)
	}
}
