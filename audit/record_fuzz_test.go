package audit

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// seedRecords adds every captured record payload in testdata/records to f
// through add.
func seedRecords(f *testing.F, add func(Record)) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "records", "*.txt"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		for _, r := range loadRecords(f, filepath.Base(file)) {
			add(r)
		}
	}
}

// FuzzParseRecord fuzzes the header parser and the field scanner with the
// value decoders the assembler uses on them.
func FuzzParseRecord(f *testing.F) {
	seedRecords(f, func(r Record) { f.Add(r.Data) })
	f.Fuzz(func(t *testing.T, data []byte) {
		h, fields, err := parseHeader(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("header error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if h.Time.Before(time.Unix(0, 0)) {
			t.Fatalf("time %v before the epoch", h.Time)
		}
		s := newFieldScanner(fields)
		n := 0
		for s.next() {
			n++
			if len(s.f.Key) == 0 || bytes.ContainsAny(s.f.Key, " =") {
				t.Fatalf("bad key %q", s.f.Key)
			}
			appendUntrusted(nil, s.f) //nolint:errcheck // must only not panic
			parseDec(s.f)             //nolint:errcheck
			parseSignedDec(s.f)       //nolint:errcheck
			parseHexUint(s.f)         //nolint:errcheck
			if n > len(fields) {
				t.Fatal("scanner does not advance")
			}
		}
		if s.err != nil && !errors.Is(s.err, ErrMalformed) {
			t.Fatalf("scanner error %v does not wrap ErrMalformed", s.err)
		}
	})
}

// FuzzExecve fuzzes argv reassembly: the fuzzer's bytes are split into
// EXECVE records at newlines.
func FuzzExecve(f *testing.F) {
	for _, file := range []string{"exec-long-arg.txt", "exec-split-args.txt", "exec-hex-args.txt", "apt-chain.txt"} {
		var b strings.Builder
		for _, r := range loadRecords(f, file) {
			if r.Type == TypeExecve {
				_, fields, err := parseHeader(r.Data)
				if err != nil {
					f.Fatal(err)
				}
				b.Write(fields)
				b.WriteByte('\n')
			}
		}
		f.Add(b.String())
	}
	f.Add(" argc=2 a0_len=4 a0[0]=4142 a0[1]= a1=\"x\"")
	f.Add(" argc=2 a0=\"e\" a1_len=6 a1[0]=\"abc\"\n  a1[1]=\"def\"")
	f.Fuzz(func(t *testing.T, in string) {
		// A cap that varies with the input, from tiny to roomy, so that
		// cutting inside and between arguments is explored too.
		limit := 16 + len(in)%(1<<12)
		var b argvBuilder
		b.reset(limit)
		for rec := range strings.SplitSeq(in, "\n") {
			b.add([]byte(rec)) //nolint:errcheck // finish reports it
		}
		err := b.finish()
		args := b.args()
		if err == nil && !b.truncated && len(args) != b.argc {
			t.Fatalf("no error but %d args for argc=%d", len(args), b.argc)
		}
		if err == nil && b.truncated && (len(args) > b.argc || b.count != b.argc) {
			t.Fatalf("truncated: %d kept, %d counted, argc=%d", len(args), b.count, b.argc)
		}
		if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrArgcMismatch) {
			t.Fatalf("error %v wraps none of the package's errors", err)
		}
		total := 0
		for _, a := range args {
			total += len(a) + argOverhead
		}
		if total > limit {
			t.Fatalf("%d argument bytes over the limit %d", total, limit)
		}
	})
}

// FuzzSockaddr fuzzes the raw sockaddr decoder.
func FuzzSockaddr(f *testing.F) {
	seedRecords(f, func(r Record) {
		if r.Type != TypeSockaddr {
			return
		}
		s := newFieldScanner(r.Data[bytes.IndexByte(r.Data, ' '):])
		for s.next() {
			raw, err := appendHex(nil, s.f.Val)
			if err == nil {
				f.Add(raw)
			}
		}
	})
	f.Fuzz(func(t *testing.T, raw []byte) {
		family, dest, err := DecodeSockaddr(raw)
		switch {
		case err == nil:
			if family != FamilyInet && family != FamilyInet6 || !dest.IsValid() {
				t.Fatalf("family %d dest %v without error", family, dest)
			}
			if family == FamilyInet != dest.Addr().Is4() {
				t.Fatalf("family %d gave %v", family, dest)
			}
		case errors.Is(err, ErrNotInet), errors.Is(err, ErrMalformed):
		default:
			t.Fatalf("error %v wraps none of the package's errors", err)
		}
	})
}

// FuzzAssembler pushes fuzzed records, split at newlines as
// "type payload", through an Assembler with small bounds.
func FuzzAssembler(f *testing.F) {
	for _, file := range []string{"apt-chain.txt", "exec-long-arg.txt", "connect-unix.txt", "connect-v4-mapped.txt", "uring-connect-loopback.txt", "uring-connect-sqpoll.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", "records", file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		recs, err := ParseRecordLines(in)
		if err != nil {
			return
		}
		a := NewAssembler(AssemblerConfig{MaxInFlight: 4, MaxArgBytes: 1 << 12})
		// Argc is the announced count or -1 (no EXECVE record, so no
		// arguments), and every Exec whose arguments do not match it is
		// counted in Stats().ArgcMismatch, whichever way it was ended
		// (EOE, eviction, Flush).
		mismatched := uint64(0)
		emit := func(e Event) {
			x, ok := e.(*Exec)
			if !ok {
				return
			}
			if x.Argc < -1 || x.Argc == -1 && len(x.Args) != 0 {
				t.Fatalf("argc %d with %d arguments", x.Argc, len(x.Args))
			}
			if x.Argc != len(x.Args) {
				mismatched++
			}
		}
		for _, r := range recs {
			a.Push(r, emit) //nolint:errcheck // must only not panic
			if a.InFlight() > 4 {
				t.Fatalf("%d events in flight, bound 4", a.InFlight())
			}
		}
		now := time.Unix(1, 0)
		a.Flush(now, emit)
		a.Flush(now.Add(time.Hour), emit)
		if a.InFlight() != 0 {
			t.Fatalf("%d events left after flushing", a.InFlight())
		}
		if got := a.Stats().ArgcMismatch; got != mismatched {
			t.Fatalf("stats count %d argc mismatches, %d were emitted", got, mismatched)
		}
	})
}
