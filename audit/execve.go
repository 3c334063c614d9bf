package audit

import (
	"errors"
	"fmt"
)

// ErrArgcMismatch is wrapped by the error reported when the arguments
// reassembled from an event's EXECVE records are not the argc= the kernel
// announced: a record was lost (backlog overflow, a failed audit_log_start)
// or the records are out of order. The Exec is still emitted, with the
// arguments that were read and Argc set to what the kernel said.
var ErrArgcMismatch = errors.New("EXECVE arguments do not match argc")

// ErrArgsTooLong was reported when an event's arguments exceeded
// AssemblerConfig.MaxArgBytes. Arguments past the cap are now dropped and
// flagged (Exec.ArgsTruncated) instead; no error wraps it any more.
var ErrArgsTooLong = errors.New("EXECVE arguments exceed the configured limit")

// argOverhead is what one kept argument costs beyond its bytes: the string
// header of Exec.Args. The cap counts it, so a million empty arguments cost
// no more than a few long ones.
const argOverhead = 16

// argvBuilder reassembles argv from the EXECVE records of one event, in the
// format of kernel/auditsc.c audit_log_execve_info:
//
//	argc=3 a0="sh" a1="-c" a2=6563686F      whole arguments, quoted or hex
//	a1_len=18000 a1[0]=4141... a1[1]=41...  one argument in chunks, which
//	                                        continue in the next record
//
// The first record starts with argc=; the others continue where the
// previous one stopped. aN_len is the length of the argument as written in
// the records (hex digits, or bytes of a quoted string), so it is checked
// against the chunks. Arguments must come in order with no gaps: anything
// else means a record was lost, and the builder stops at the first error.
//
// The builder keeps at most maxBytes of arguments (see argOverhead), in
// order: the arguments that fit whole, then a prefix of the one that
// crosses the cap; the rest are read, checked and counted, not kept. Rules
// test leading arguments (a hook shell's "-c" is argv[1]), so a huge last
// argument costs its own tail only.
type argvBuilder struct {
	argc  int    // -1 until argc= is read
	buf   []byte // decoded arguments kept, back to back
	ends  []int  // ends[i] is where kept argument i ends in buf
	count int    // arguments read, kept or not

	keeping   bool // the argument being read is kept (maybe cut)
	full      bool // the cap is reached: nothing more is kept
	truncated bool // an argument was cut or dropped

	chunked   bool   // argument len(ends) is being built from aN[k]= chunks
	nextChunk uint64 // the k expected in the next aN[k]=
	declLen   uint64 // the aN_len= of the chunked argument
	seenLen   uint64 // encoded length of the chunks read so far

	maxBytes int
	err      error
}

func (b *argvBuilder) reset(maxBytes int) {
	b.argc = -1
	b.buf = b.buf[:0]
	b.ends = b.ends[:0]
	b.count = 0
	b.keeping, b.full, b.truncated = false, false, false
	b.chunked = false
	b.nextChunk, b.declLen, b.seenLen = 0, 0, 0
	b.maxBytes = maxBytes
	b.err = nil
}

// add reads the fields of one EXECVE record. After the first error it
// ignores further records of the event and keeps returning that error.
func (b *argvBuilder) add(fields []byte) error {
	if b.err != nil {
		return b.err
	}
	s := newFieldScanner(fields)
	first := true
	for s.next() {
		if err := b.addField(s.f, first); err != nil {
			b.err = err
			return err
		}
		first = false
	}
	if s.err != nil {
		b.err = s.err
	}
	return b.err
}

func (b *argvBuilder) addField(f field, firstInRecord bool) error {
	if string(f.Key) == "argc" {
		if b.argc >= 0 || !firstInRecord {
			return fmt.Errorf("%w: EXECVE argc= repeated or not first", ErrMalformed)
		}
		n, err := parseDec(f)
		if err != nil {
			return err
		}
		// MAX_ARG_STRINGS (include/uapi/linux/binfmts.h) bounds argc.
		if n > 0x7fffffff {
			return fmt.Errorf("%w: EXECVE argc=%d is above MAX_ARG_STRINGS", ErrMalformed, n)
		}
		b.argc = int(n)
		return nil
	}
	if b.argc < 0 {
		return fmt.Errorf("%w: EXECVE record without a preceding argc=", ErrMalformed)
	}
	arg, kind, chunk, ok := parseArgKey(f.Key)
	if !ok {
		return fmt.Errorf("%w: EXECVE field %q is not aN=, aN_len= or aN[k]=", ErrMalformed, clip(f.Key))
	}
	if arg >= uint64(b.argc) {
		return fmt.Errorf("%w: EXECVE a%d beyond argc=%d", ErrMalformed, arg, b.argc)
	}
	switch kind {
	case argWhole:
		if err := b.closeChunks(); err != nil {
			return err
		}
		if arg != uint64(b.count) {
			return b.outOfOrder(f.Key)
		}
		b.beginArg()
		if err := b.appendValue(f); err != nil {
			return err
		}
		b.endArg()
	case argLen:
		if err := b.closeChunks(); err != nil {
			return err
		}
		if arg != uint64(b.count) {
			return b.outOfOrder(f.Key)
		}
		n, err := parseDec(f)
		if err != nil {
			return err
		}
		b.beginArg()
		b.chunked, b.nextChunk, b.declLen, b.seenLen = true, 0, n, 0
	case argChunk:
		if !b.chunked || arg != uint64(b.count) || chunk != b.nextChunk {
			return b.outOfOrder(f.Key)
		}
		if err := b.appendValue(f); err != nil {
			return err
		}
		b.nextChunk++
		b.seenLen += uint64(len(f.Val))
		if b.seenLen > b.declLen {
			return fmt.Errorf("%w: EXECVE a%d chunks are longer than a%d_len=%d", ErrMalformed, arg, arg, b.declLen)
		}
	}
	return nil
}

// closeChunks ends the chunked argument being built, if any, once a field
// of another argument (or the end of the event) shows it is complete. It
// does not end it when the chunks reach aN_len: the kernel can still write
// an empty last chunk, for an argument that exactly fills its buffer.
func (b *argvBuilder) closeChunks() error {
	if !b.chunked {
		return nil
	}
	if b.seenLen != b.declLen {
		return fmt.Errorf("%w: EXECVE argument %d has %d of a%d_len=%d", ErrArgcMismatch, b.count, b.seenLen, b.count, b.declLen)
	}
	b.chunked = false
	b.endArg()
	return nil
}

func (b *argvBuilder) outOfOrder(key []byte) error {
	return fmt.Errorf("%w: EXECVE %q out of order (expected argument %d)", ErrArgcMismatch, clip(key), b.count)
}

// room is how many more argument bytes the cap allows, counting the
// header of the argument being read.
func (b *argvBuilder) room() int {
	if b.maxBytes <= 0 {
		return int(^uint(0) >> 1)
	}
	return b.maxBytes - len(b.buf) - argOverhead*(len(b.ends)+1)
}

// beginArg decides whether the next argument is kept: only while even its
// header fits.
func (b *argvBuilder) beginArg() {
	b.keeping = !b.full && b.room() >= 0
	if !b.keeping {
		b.full, b.truncated = true, true
	}
}

func (b *argvBuilder) endArg() {
	if b.keeping {
		b.ends = append(b.ends, len(b.buf))
	}
	b.keeping = false
	b.count++
}

func (b *argvBuilder) appendValue(f field) error {
	if !f.Quoted && len(f.Val)%2 != 0 {
		return fmt.Errorf("EXECVE %q: %w: hex value has an odd length %d", clip(f.Key), ErrMalformed, len(f.Val))
	}
	if !b.keeping || b.full {
		// Not kept, but still checked: a record that does not parse means
		// the event is not what the kernel wrote.
		if !f.Quoted && !isHex(f.Val) {
			return fmt.Errorf("EXECVE %q: %w: hex value has a non-hex digit", clip(f.Key), ErrMalformed)
		}
		return nil
	}
	var err error
	if f.Quoted {
		b.buf = append(b.buf, f.Val...)
	} else {
		b.buf, err = appendHex(b.buf, f.Val)
		if err != nil {
			return fmt.Errorf("EXECVE %q: %w", clip(f.Key), err)
		}
	}
	if r := b.room(); r < 0 {
		// Cut inside this argument: keep its prefix, drop everything after.
		b.buf = b.buf[:len(b.buf)+r]
		b.full, b.truncated = true, true
	}
	return nil
}

func isHex(h []byte) bool {
	for _, c := range h {
		if _, ok := unhex(c); !ok {
			return false
		}
	}
	return true
}

// finish checks that argc arguments were read. It returns the first error
// of the event, if any.
func (b *argvBuilder) finish() error {
	if b.err != nil {
		return b.err
	}
	if b.argc < 0 {
		return fmt.Errorf("%w: no argc= read", ErrArgcMismatch)
	}
	if err := b.closeChunks(); err != nil {
		b.err = err
		return err
	}
	if b.count != b.argc {
		return fmt.Errorf("%w: argc=%d but %d arguments read", ErrArgcMismatch, b.argc, b.count)
	}
	return nil
}

// args returns the kept arguments as strings sharing one allocation; with
// truncated set they are a prefix of argv, the last maybe cut.
func (b *argvBuilder) args() []string {
	if len(b.ends) == 0 {
		return nil
	}
	all := string(b.buf)
	out := make([]string, len(b.ends))
	start := 0
	for i, end := range b.ends {
		out[i] = all[start:end]
		start = end
	}
	return out
}

type argKeyKind uint8

const (
	argWhole argKeyKind = iota // aN
	argLen                     // aN_len
	argChunk                   // aN[k]
)

// parseArgKey splits an EXECVE key: "a12" -> 12, argWhole; "a1_len" -> 1,
// argLen; "a1[3]" -> 1, argChunk, 3.
func parseArgKey(k []byte) (arg uint64, kind argKeyKind, chunk uint64, ok bool) {
	if len(k) < 2 || k[0] != 'a' {
		return 0, 0, 0, false
	}
	arg, i, ok := scanUint(k, 1)
	if !ok || arg > 0x7fffffff {
		return 0, 0, 0, false
	}
	rest := k[i:]
	switch {
	case len(rest) == 0:
		return arg, argWhole, 0, true
	case string(rest) == "_len":
		return arg, argLen, 0, true
	case rest[0] == '[' && rest[len(rest)-1] == ']':
		chunk, j, ok := scanUint(rest, 1)
		if !ok || j != len(rest)-1 {
			return 0, 0, 0, false
		}
		return arg, argChunk, chunk, true
	}
	return 0, 0, 0, false
}
