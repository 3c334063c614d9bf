package eql

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzCompile: no input panics the lexer, parser or compiler; an error
// carries a position inside the text; a compiled query evaluates an event
// without panicking.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		seqAB,
		seqSelfOrDescendant,
		`sequence [process where true] by process.entity_id [network where true] by process.Ext.ancestry or process.parent.entity_id or process.pid`,
		`process where process.name : ("a*", "b?") and not process.args in~ ("x") or length(process.name) > 2`,
		`network where cidrmatch(destination.ip, "10.0.0.0/8", "::1") and child of [process where true]`,
		`sequence by host.id with maxspan=5s [process where true] by process.entity_id with runs=2 until [process where false]`,
		`process where process.name == """raw "x" """ /* c */ // d`,
		`any where startsWith~(process.executable, "/USR") and add(process.pid, -1) >= 0`,
		`process where "\u{1F600}" == process.name`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		q, err := Compile(src, testSchema)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				lines := strings.Count(src, "\n") + 1
				if e.Pos.Line < 1 || e.Pos.Line > lines || e.Pos.Col < 1 || e.Pos.Off > len(src) {
					t.Fatalf("error %v outside the text (%d lines, %d bytes)", err, lines, len(src))
				}
				if utf8.ValidString(src) && e.Pos.Off < len(src) && !utf8.RuneStart(src[e.Pos.Off]) {
					t.Fatalf("error %v points inside a character", err)
				}
			}
			return
		}
		r, err := NewRunner([]*Query[tev]{q}, RunnerConfig{MaxPending: 4})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range []*tev{base(), {}, ev("network", "connect", "a", "b", 0), desc("c", 0, "a", "b")} {
			r.Process(e)
		}
	})
}
