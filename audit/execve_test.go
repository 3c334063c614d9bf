package audit

import (
	"errors"
	"slices"
	"testing"
)

func TestArgvBuilder(t *testing.T) {
	tests := []struct {
		name    string
		records []string // fields of each EXECVE record, header removed
		max     int
		// truncated: the builder kept a prefix of argv (the cap).
		truncated bool
		want      []string
		err       error
	}{
		{name: "quoted and hex", records: []string{` argc=3 a0="sh" a1="-c" a2=6563686F2068690A`}, want: []string{"sh", "-c", "echo hi\n"}},
		{name: "empty argument", records: []string{` argc=2 a0="x" a1=""`}, want: []string{"x", ""}},
		{name: "split over records", records: []string{` argc=3 a0="a" a1="b"`, `  a2="c"`}, want: []string{"a", "b", "c"}},
		{
			name:    "hex chunks over records",
			records: []string{` argc=2 a0="e" a1_len=12 a1[0]=4142`, `  a1[1]=4344 a1[2]=`, `  a1[3]=4546`},
			want:    []string{"e", "ABCDEF"},
		},
		{
			// Quoted chunks: kernels before 4.8, and 4.8+ when a printable
			// argument does not fit in the rest of a record
			// (kernel/auditsc.c audit_log_execve_info); aN_len counts bytes.
			name:    "quoted chunks",
			records: []string{` argc=2 a0="e" a1_len=6 a1[0]="abc"`, `  a1[1]="def"`},
			want:    []string{"e", "abcdef"},
		},
		{
			// An argument that exactly fills the kernel's 7500-byte buffer
			// ends with an empty chunk.
			name:    "empty last chunk",
			records: []string{` argc=2 a0_len=4 a0[0]=4142 a0[1]= a1="x"`},
			want:    []string{"AB", "x"},
		},
		{name: "missing last argument", records: []string{` argc=3 a0="a" a1="b"`}, want: []string{"a", "b"}, err: ErrArgcMismatch},
		{name: "gap", records: []string{` argc=3 a0="a" a2="c"`}, want: []string{"a"}, err: ErrArgcMismatch},
		{name: "repeated argument", records: []string{` argc=2 a0="a" a0="a"`}, want: []string{"a"}, err: ErrArgcMismatch},
		{name: "beyond argc", records: []string{` argc=1 a0="a" a1="b"`}, want: []string{"a"}, err: ErrMalformed},
		{name: "chunk out of order", records: []string{` argc=1 a0_len=4 a0[1]=4142`}, err: ErrArgcMismatch},
		{name: "chunks longer than declared", records: []string{` argc=1 a0_len=2 a0[0]=4142`}, err: ErrMalformed},
		{name: "chunks shorter than declared", records: []string{` argc=1 a0_len=6 a0[0]=4142`}, err: ErrArgcMismatch},
		{name: "whole argument inside chunks", records: []string{` argc=2 a0_len=6 a0[0]=4142 a1="x"`}, err: ErrArgcMismatch},
		{name: "argc repeated", records: []string{` argc=1`, ` argc=1 a0="a"`}, err: ErrMalformed},
		{name: "argc not first", records: []string{` a0="a" argc=1`}, err: ErrMalformed},
		{name: "argc not a number", records: []string{` argc=x`}, err: ErrMalformed},
		{name: "bad hex", records: []string{` argc=1 a0=4G`}, err: ErrMalformed},
		{name: "odd hex", records: []string{` argc=1 a0=414`}, err: ErrMalformed},
		{name: "unknown key", records: []string{` argc=1 b0="a"`}, err: ErrMalformed},
		{name: "bad chunk key", records: []string{` argc=1 a0_len=2 a0[x]=41`}, err: ErrMalformed},
		// The cap counts argOverhead per argument: 2*16+6 keeps "abcd" and
		// two bytes of "efgh"; the third argument is counted, not kept.
		{name: "capped", records: []string{` argc=3 a0="abcd" a1="efgh" a2=6869`}, max: 38, want: []string{"abcd", "ef"}, truncated: true},
		{name: "capped between arguments", records: []string{` argc=3 a0="abcd" a1="efgh" a2="x"`}, max: 40, want: []string{"abcd", "efgh"}, truncated: true},
		{name: "capped and bad hex after", records: []string{` argc=2 a0="abcd" a1=4G`}, max: 20, want: []string{"abcd"}, truncated: true, err: ErrMalformed},
		{name: "capped and argc short", records: []string{` argc=3 a0="abcd" a1="efgh"`}, max: 20, want: []string{"abcd"}, truncated: true, err: ErrArgcMismatch},
		{name: "no argc", records: nil, err: ErrArgcMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b argvBuilder
			b.reset(tt.max)
			for _, r := range tt.records {
				b.add([]byte(r)) //nolint:errcheck // finish returns the first error
			}
			err := b.finish()
			if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if got := b.args(); !slices.Equal(got, tt.want) {
				t.Errorf("args = %q, want %q", got, tt.want)
			}
			if b.truncated != tt.truncated {
				t.Errorf("truncated = %v, want %v", b.truncated, tt.truncated)
			}
		})
	}
}

func TestParseArgKey(t *testing.T) {
	tests := []struct {
		key   string
		arg   uint64
		kind  argKeyKind
		chunk uint64
		ok    bool
	}{
		{"a0", 0, argWhole, 0, true},
		{"a3001", 3001, argWhole, 0, true},
		{"a1_len", 1, argLen, 0, true},
		{"a1[12]", 1, argChunk, 12, true},
		{"a", 0, 0, 0, false},
		{"argc", 0, 0, 0, false},
		{"a1[", 0, 0, 0, false},
		{"a1[]", 0, 0, 0, false},
		{"a1[2]x", 0, 0, 0, false},
		{"a1_lenx", 0, 0, 0, false},
		{"a99999999999", 0, 0, 0, false},
	}
	for _, tt := range tests {
		arg, kind, chunk, ok := parseArgKey([]byte(tt.key))
		if ok != tt.ok || (ok && (arg != tt.arg || kind != tt.kind || chunk != tt.chunk)) {
			t.Errorf("parseArgKey(%q) = %d %d %d %v", tt.key, arg, kind, chunk, ok)
		}
	}
}
