package audit

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestAssembleAptChain(t *testing.T) {
	// apt (pid 3117) forks 3118, which runs "sh -c HOOK" as 3119; the shell
	// runs bash (3120), whose connect to 1.1.1.1:80 fails in the empty
	// network namespace. Serial 1457 is apt's connect to the nscd unix
	// socket: no Connect.
	events, errs, a := assembleAll(t, loadRecords(t, "apt-chain.txt"))
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := []string{
		`exec 1456 pid=3117 ppid=3074 comm="apt" exe="/usr/bin/apt" cwd="/tmp/capture" args=["apt" "update" "-o" "Dir::Etc::SourceList=/dev/null" "-o" "Dir::Etc::SourceParts=/nonexistent" "-o" "APT::Update::Pre-Invoke::=bash -c \"exec 3<>/dev/tcp/1.1.1.1/80\"; true"]`,
		`exec 1461 pid=3119 ppid=3118 comm="sh" exe="/usr/bin/dash" cwd="/tmp" args=["sh" "-c" "bash -c \"exec 3<>/dev/tcp/1.1.1.1/80\"; true"]`,
		`exec 1462 pid=3120 ppid=3119 comm="bash" exe="/usr/bin/bash" cwd="/tmp" args=["bash" "-c" "exec 3<>/dev/tcp/1.1.1.1/80"]`,
		`connect 1463 pid=3120 ppid=3119 comm="bash" exe="/usr/bin/bash" dest=1.1.1.1:80 success=false errno=network is unreachable`,
	}
	if got := describeAll(events); !slices.Equal(got, want) {
		t.Errorf("events:\n got %q\nwant %q", got, want)
	}
	e := events[1].(*Exec)
	if wantTime := time.UnixMilli(1795659700760); !e.Time.Equal(wantTime) || e.Subject.UID != 0 || e.Subject.AUID != 4294967295 {
		t.Errorf("sh exec: time %v uid %d auid %d", e.Time, e.Subject.UID, e.Subject.AUID)
	}
	c := events[3].(*Connect)
	if c.Errno != syscall.ENETUNREACH {
		t.Errorf("errno = %d, want ENETUNREACH", c.Errno)
	}
	st := a.Stats()
	if st.Completed != 5 || st.Execs != 3 || st.Connects != 1 || st.OtherSyscalls != 1 || a.InFlight() != 0 {
		t.Errorf("stats = %+v, in flight %d", st, a.InFlight())
	}
}

func TestAssembleConnects(t *testing.T) {
	tests := []struct {
		file    string
		dest    string // "" means no Connect
		success bool
		errno   syscall.Errno
	}{
		{"connect-v4-enetunreach.txt", "8.8.8.8:53", false, syscall.ENETUNREACH},
		{"connect-v4-econnrefused.txt", "127.0.0.1:9", false, syscall.ECONNREFUSED},
		{"connect-einprogress.txt", "127.0.0.1:9", false, syscall.EINPROGRESS},
		{"connect-v6-eaddrnotavail.txt", "[2001:4860:4860::8888]:53", false, syscall.EADDRNOTAVAIL},
		{"connect-v6-loopback.txt", "[::1]:9", false, syscall.ECONNREFUSED},
		{"connect-v4-mapped.txt", "[::ffff:127.0.0.1]:9", false, syscall.ECONNREFUSED},
		{"connect-unix.txt", "", false, 0},
		{"sendto-netlink.txt", "", false, 0}, // sendto(2) with a netlink address: not a connect
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			events, errs, _ := assembleAll(t, loadRecords(t, tt.file))
			if len(errs) != 0 {
				t.Fatalf("errors: %v", errs)
			}
			if tt.dest == "" {
				if len(events) != 0 {
					t.Fatalf("got %q, want no event", describeAll(events))
				}
				return
			}
			if len(events) != 1 {
				t.Fatalf("got %d events, want 1", len(events))
			}
			c, ok := events[0].(*Connect)
			if !ok {
				t.Fatalf("got %T, want *Connect", events[0])
			}
			if c.Dest != netip.MustParseAddrPort(tt.dest) || c.Success != tt.success || c.Errno != tt.errno {
				t.Errorf("got %s, want dest %s success %v errno %v", describe(c), tt.dest, tt.success, tt.errno)
			}
		})
	}
}

func TestAssembleExecArguments(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, args []string)
	}{
		{"exec-long-arg.txt", func(t *testing.T, args []string) {
			// /bin/echo with one 9000-byte argument: a1_len=18000 and three
			// hex chunks over three EXECVE records.
			if len(args) != 2 || args[0] != "/bin/echo" || args[1] != strings.Repeat("A", 9000) {
				t.Errorf("args = %d %q...", len(args), clipArgs(args))
			}
		}},
		{"exec-split-args.txt", func(t *testing.T, args []string) {
			// printf with 3000 arguments over 11 EXECVE records; arguments
			// cut at a record boundary continue in aN[k]= chunks.
			want := []string{"/usr/bin/printf", `%s\n`}
			for i := 1; i <= 3000; i++ {
				want = append(want, fmt.Sprintf("split-argument-%d", i))
			}
			if !slices.Equal(args, want) {
				for i := range min(len(args), len(want)) {
					if args[i] != want[i] {
						t.Fatalf("args[%d] = %q, want %q (len %d)", i, args[i], want[i], len(args))
					}
				}
				t.Fatalf("len(args) = %d, want %d", len(args), len(want))
			}
		}},
		{"exec-hex-args.txt", func(t *testing.T, args []string) {
			want := []string{"/bin/echo", "has space", `quote"d`, "new\nline", "-c"}
			if !slices.Equal(args, want) {
				t.Errorf("args = %q, want %q", args, want)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			events, errs, a := assembleAll(t, loadRecords(t, tt.file))
			if len(errs) != 0 {
				t.Fatalf("errors: %v", errs)
			}
			if len(events) != 1 {
				t.Fatalf("got %d events", len(events))
			}
			e := events[0].(*Exec)
			if e.Argc != len(e.Args) || a.Stats().ArgcMismatch != 0 {
				t.Errorf("argc %d, %d args", e.Argc, len(e.Args))
			}
			tt.check(t, e.Args)
		})
	}
}

func TestAssembleInterleavedEvents(t *testing.T) {
	// Serials 3 and 4 (tr and head of one pipeline) arrive interleaved.
	events, errs, _ := assembleAll(t, loadRecords(t, "exec-interleaved.txt"))
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	want := []string{
		`exec 3 pid=2781 ppid=2779 comm="tr" exe="/usr/bin/tr" cwd="/tmp/capture" args=["tr" "\\0" "A"]`,
		`exec 4 pid=2780 ppid=2779 comm="head" exe="/usr/bin/head" cwd="/tmp/capture" args=["head" "-c" "9000" "/dev/zero"]`,
	}
	if got := describeAll(events); !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestAssemblePassesOverStandaloneRecords(t *testing.T) {
	recs := append(loadRecords(t, "config-change.txt"),
		Record{Type: 1100, Data: []byte("audit(1795659684.684:9): pid=1 uid=0 msg='op=login res=success'")},
		Record{Type: TypeReplace, Data: []byte{0xd3, 0x0b, 0, 0}}) // binary payload
	events, errs, a := assembleAll(t, recs)
	if len(events) != 0 || len(errs) != 0 || a.InFlight() != 0 {
		t.Fatalf("events %v errs %v in flight %d", events, errs, a.InFlight())
	}
	st := a.Stats()
	if st.PassedOver[TypeConfig] != 2 || st.PassedOver[1100] != 1 || st.PassedOver[TypeReplace] != 1 || st.Records != 4 {
		t.Errorf("stats = %+v", st)
	}
}

func TestAssembleToleratesTrailingNUL(t *testing.T) {
	var recs []Record
	for _, r := range loadRecords(t, "connect-v4-econnrefused.txt") {
		recs = append(recs, Record{Type: r.Type, Data: append(slices.Clone(r.Data), 0)})
	}
	events, errs, _ := assembleAll(t, recs)
	if len(errs) != 0 || len(events) != 1 || events[0].(*Connect).Subject.Exe != "/usr/bin/bash" {
		t.Errorf("events %q errs %v", describeAll(events), errs)
	}
}

func TestAssembleDoesNotKeepRecordData(t *testing.T) {
	// The caller reuses its receive buffer: scribble over each record after
	// Push and check the event is intact.
	var events []Event
	a := NewAssembler(AssemblerConfig{})
	for _, r := range loadRecords(t, "apt-chain.txt") {
		buf := slices.Clone(r.Data)
		if err := a.Push(Record{Type: r.Type, Data: buf}, func(e Event) { events = append(events, e) }); err != nil {
			t.Fatal(err)
		}
		for i := range buf {
			buf[i] = 'X'
		}
	}
	e := events[1].(*Exec)
	if e.Subject.Exe != "/usr/bin/dash" || e.Cwd != "/tmp" || e.Args[2] != `bash -c "exec 3<>/dev/tcp/1.1.1.1/80"; true` {
		t.Errorf("event changed with the buffer: %s", describe(e))
	}
}

// TestAssembleClassifiesByNumber checks arch/syscall classification on
// synthetic records in the kernel's format (no i386 or arm64 capture here):
// it does not depend on the rule key.
func TestAssembleClassifiesByNumber(t *testing.T) {
	const execve = `argc=2 a0="sh" a1="-c"`
	const v4 = `saddr=02000050010101010000000000000000`
	tests := []struct {
		name    string
		syscall string
		aux     []Record // after SYSCALL, before EOE
		want    string   // "exec", "connect" or ""
	}{
		{"x86_64 execve", `arch=c000003e syscall=59 success=yes exit=0 a0=1`, execveRec(execve), "exec"},
		{"x86_64 execveat", `arch=c000003e syscall=322 success=yes exit=0 a0=1`, execveRec(execve), "exec"},
		{"x86_64 failed execve", `arch=c000003e syscall=59 success=no exit=-2 a0=1`, execveRec(execve), ""},
		{"x86_64 connect", `arch=c000003e syscall=42 success=yes exit=0 a0=3`, sockaddrRec(v4), "connect"},
		{"x86_64 sendto", `arch=c000003e syscall=44 success=yes exit=0 a0=3`, sockaddrRec(v4), ""},
		{"i386 execve", `arch=40000003 syscall=11 success=yes exit=0 a0=1`, execveRec(execve), "exec"},
		{"i386 execveat", `arch=40000003 syscall=358 success=yes exit=0 a0=1`, execveRec(execve), "exec"},
		{"i386 connect", `arch=40000003 syscall=362 success=no exit=-101 a0=3`, sockaddrRec(v4), "connect"},
		{"i386 socketcall connect", `arch=40000003 syscall=102 success=no exit=-115 a0=3`, sockaddrRec(v4), "connect"},
		{"i386 socketcall sendto", `arch=40000003 syscall=102 success=yes exit=0 a0=b`, sockaddrRec(v4), ""},
		{"i386 number 59 is not execve", `arch=40000003 syscall=59 success=yes exit=0 a0=1`, execveRec(execve), ""},
		{"aarch64 execve", `arch=c00000b7 syscall=221 success=yes exit=0 a0=1`, execveRec(execve), "exec"},
		{"aarch64 execveat", `arch=c00000b7 syscall=281 success=yes exit=0 a0=1`, execveRec(execve), "exec"},
		{"aarch64 connect", `arch=c00000b7 syscall=203 success=no exit=-101 a0=3`, sockaddrRec(v4), "connect"},
		{"aarch64 number 42 is not connect", `arch=c00000b7 syscall=42 success=yes exit=0 a0=3`, sockaddrRec(v4), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := []Record{{TypeSyscall, []byte("audit(1.000:7): " + tt.syscall +
				` items=1 ppid=1 pid=2 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="x" exe="/x" key="other"`)}}
			recs = append(recs, tt.aux...)
			recs = append(recs, Record{TypeEOE, []byte("audit(1.000:7): ")})
			events, errs, _ := assembleAll(t, recs)
			if len(errs) != 0 {
				t.Fatal(errs)
			}
			got := ""
			if len(events) == 1 {
				got = strings.Fields(describe(events[0]))[0]
			}
			if got != tt.want || len(events) > 1 {
				t.Errorf("got %q, want %q", describeAll(events), tt.want)
			}
		})
	}
}

func TestAssembleReportsArgcMismatch(t *testing.T) {
	// The second EXECVE record of serial 5 is lost: argv stops at a gap.
	recs := loadRecords(t, "exec-long-arg.txt")
	var lossy []Record
	for i, r := range recs {
		if i == 3 { // a1[1]=
			continue
		}
		lossy = append(lossy, r)
	}
	events, errs, a := assembleAll(t, lossy)
	if len(errs) != 1 || !errors.Is(errs[0], ErrArgcMismatch) {
		t.Fatalf("errs = %v, want one ErrArgcMismatch", errs)
	}
	if len(events) != 1 {
		t.Fatalf("got %d events, want the Exec with what was read", len(events))
	}
	e := events[0].(*Exec)
	if e.Argc != 2 || len(e.Args) != 1 || e.Args[0] != "/bin/echo" || a.Stats().ArgcMismatch != 1 {
		t.Errorf("argc %d args %q stats %+v", e.Argc, clipArgs(e.Args), a.Stats())
	}

	// No EXECVE record at all.
	var noExecve []Record
	for _, r := range recs {
		if r.Type != TypeExecve {
			noExecve = append(noExecve, r)
		}
	}
	events, errs, _ = assembleAll(t, noExecve)
	if len(errs) != 1 || !errors.Is(errs[0], ErrArgcMismatch) || len(events) != 1 || events[0].(*Exec).Argc != -1 {
		t.Errorf("without EXECVE: events %q errs %v", describeAll(events), errs)
	}
}

func TestAssembleMalformedRecords(t *testing.T) {
	recs := loadRecords(t, "connect-v4-enetunreach.txt")
	tests := []struct {
		name    string
		replace int // index of the record to replace
		data    string
	}{
		{"bad header", 0, "audit(1795659686.156-21): arch=c000003e"},
		{"bad pid", 0, `audit(1795659686.156:21): arch=c000003e syscall=42 success=no exit=-101 a0=3 ppid=1 pid=x1`},
		{"no pid", 0, `audit(1795659686.156:21): arch=c000003e syscall=42 success=no exit=-101 a0=3 ppid=1`},
		{"short saddr", 1, `audit(1795659686.156:21): saddr=020000`},
		{"odd saddr", 1, `audit(1795659686.156:21): saddr=0200005`},
		{"quoted saddr", 1, `audit(1795659686.156:21): saddr="02000050010101010000000000000000"`},
		{"unterminated comm", 0, `audit(1795659686.156:21): arch=c000003e syscall=42 success=no exit=-101 a0=3 ppid=1 pid=2 comm="bash`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := slices.Clone(recs)
			rs[tt.replace] = Record{Type: rs[tt.replace].Type, Data: []byte(tt.data)}
			events, errs, a := assembleAll(t, rs)
			if len(errs) != 1 || !errors.Is(errs[0], ErrMalformed) {
				t.Fatalf("errs = %v, want one ErrMalformed", errs)
			}
			if len(events) != 0 || a.Stats().Malformed != 1 {
				t.Errorf("events %q stats %+v", describeAll(events), a.Stats())
			}
		})
	}
}

func TestAssemblerFlushEndsIncompleteEvents(t *testing.T) {
	recs := loadRecords(t, "apt-chain.txt")
	var noEOE []Record
	for _, r := range recs {
		if r.Type != TypeEOE {
			noEOE = append(noEOE, r)
		}
	}
	a := NewAssembler(AssemblerConfig{MaxAge: time.Second})
	var events []Event
	emit := func(e Event) { events = append(events, e) }
	for _, r := range noEOE {
		if err := a.Push(r, emit); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Unix(1000, 0)
	a.Flush(t0, emit) // first sight: nothing is old yet
	a.Flush(t0.Add(999*time.Millisecond), emit)
	if len(events) != 0 || a.InFlight() != 5 {
		t.Fatalf("flushed too early: %d events, %d in flight", len(events), a.InFlight())
	}
	a.Flush(t0.Add(time.Second), emit)
	if a.InFlight() != 0 || a.Stats().Flushed != 5 {
		t.Fatalf("in flight %d, stats %+v", a.InFlight(), a.Stats())
	}
	// Events without EOE that have all they need are still emitted.
	if len(events) != 4 {
		t.Errorf("flush emitted %q, want the 3 execs and the connect", describeAll(events))
	}
}

func TestAssemblerEvictsOldestWhenFull(t *testing.T) {
	a := NewAssembler(AssemblerConfig{MaxInFlight: 2})
	var events []Event
	emit := func(e Event) { events = append(events, e) }
	for _, serial := range []int{10, 11, 12} {
		r := Record{TypeSyscall, fmt.Appendf(nil, `audit(1.000:%d): arch=c000003e syscall=42 success=no exit=-101 a0=3 ppid=1 pid=2 comm="c" exe="/c"`, serial)}
		if err := a.Push(r, emit); err != nil {
			t.Fatal(err)
		}
	}
	if a.InFlight() != 2 || a.Stats().Evicted != 1 {
		t.Fatalf("in flight %d stats %+v", a.InFlight(), a.Stats())
	}
	// Serial 10 was evicted: its EOE is late, 11 still completes.
	for _, serial := range []int{10, 11} {
		if err := a.Push(Record{TypeEOE, fmt.Appendf(nil, "audit(1.000:%d): ", serial)}, emit); err != nil {
			t.Fatal(err)
		}
	}
	if st := a.Stats(); st.LateEOE != 1 || st.Completed != 1 || st.NoSyscall != 0 {
		t.Errorf("stats %+v", st)
	}
}

func execveRec(fields string) []Record {
	return []Record{{TypeExecve, []byte("audit(1.000:7): " + fields)}}
}

func sockaddrRec(fields string) []Record {
	return []Record{{TypeSockaddr, []byte("audit(1.000:7): " + fields)}}
}

// describe renders an event on one line for comparison in tests.
func describe(e Event) string {
	switch e := e.(type) {
	case *Exec:
		p := e.Subject
		return fmt.Sprintf("exec %d pid=%d ppid=%d comm=%q exe=%q cwd=%q args=%s", e.Serial, p.PID, p.PPID, p.Comm, p.Exe, e.Cwd, quoteArgs(e.Args))
	case *Connect:
		p := e.Subject
		return fmt.Sprintf("connect %d pid=%d ppid=%d comm=%q exe=%q dest=%s success=%v errno=%v", e.Serial, p.PID, p.PPID, p.Comm, p.Exe, e.Dest, e.Success, e.Errno)
	}
	return fmt.Sprintf("%T", e)
}

func describeAll(events []Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, describe(e))
	}
	return out
}

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = fmt.Sprintf("%q", a)
	}
	return "[" + strings.Join(q, " ") + "]"
}

// clipArgs shortens arguments for failure messages.
func clipArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = clip([]byte(a))
	}
	return out
}
