package audit

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Filter lists of a rule (include/uapi/linux/audit.h AUDIT_FILTER_*), in
// KernelRule.Flags without the prepend bit.
const (
	listTask    = 1
	listExit    = filterExit
	listExclude = 5
)

// Rule field ids and operators used when judging rules
// (include/uapi/linux/audit.h).
const (
	ruleFieldPID     = 0
	ruleFieldArch    = 11
	ruleFieldMsgType = 12
	ruleFieldPerm    = 106 // AUDIT_PERM: a bitmask of AUDIT_PERM_*
	opEqual          = 0x40000000
	opNotEqual       = 0x30000000
)

// Need is one syscall the sensor must see, for one ABI.
type Need struct {
	Arch    uint32 `json:"arch"`
	Syscall int    `json:"syscall"`
	Name    string `json:"name"` // "b64 connect"
}

// Verdicts of Coverage.
const (
	CoveredOurs    = "ours"            // the sensor's own rule records it
	CoveredOther   = "other"           // another rule (the admin's) records it first
	PartlyShadowed = "partly-shadowed" // recorded, but a conditional never/exclude rule hides some
	Shadowed       = "shadowed"        // a never or exclude rule hides it entirely
	Missing        = "missing"         // no rule records it
)

// NeedCoverage says whether one Need is recorded, and which rule decides.
type NeedCoverage struct {
	Need
	Verdict string `json:"verdict"`
	// By is the deciding rule (auditctl-like text), "" for Missing; Partly
	// lists the conditional rules that hide part of it.
	By     string   `json:"by,omitempty"`
	Partly []string `json:"partly,omitempty"`
}

// Seen reports whether records of the need reach a reader at all.
func (c NeedCoverage) Seen() bool { return c.Verdict != Shadowed && c.Verdict != Missing }

// NeedsOf lists the syscalls the sensor's always-rules record.
func NeedsOf(specs []RuleSpec) ([]Need, error) {
	var needs []Need
	for _, spec := range specs {
		w, err := BuildRule(spec)
		if err != nil {
			return nil, err
		}
		r, err := ParseKernelRule(w)
		if err != nil {
			return nil, err
		}
		// Only syscall exit rules can be shadowed by the admin's exit rules;
		// the io_uring list (uring.go) is a list of its own.
		if r.Action != actionAlways || r.Flags&^filterPrepend != filterExit {
			continue
		}
		// A watch (AUDIT_DIR, AUDIT_WATCH) names all syscalls but matches
		// only its inodes: it is not a syscall need, and the admin's
		// syscall rules are not what could shadow it.
		if _, ok := r.Field(fieldDir); ok {
			continue
		}
		if _, ok := r.Field(fieldWatch); ok {
			continue
		}
		arch := uint32(0)
		if f, ok := r.Field(ruleFieldArch); ok {
			arch = f.Value
		}
		for nr := 0; nr < 32*ruleBitmaskWords; nr++ {
			if r.HasSyscall(nr) {
				needs = append(needs, Need{Arch: arch, Syscall: nr, Name: archName(arch) + " " + syscallName(arch, nr)})
			}
		}
	}
	return needs, nil
}

// Rule actions (kernel AUDIT_NEVER, AUDIT_ALWAYS).
const (
	actionNever  = 0
	actionAlways = 2
)

// recordTypes are the record types an exec or connect event needs.
var recordTypes = []uint32{uint32(TypeSyscall), uint32(TypeExecve), uint32(TypeSockaddr), uint32(TypeCwd), uint32(TypeEOE)}

// Coverage judges, for each need, what the loaded rules do with it.
// Exit rules are first-match (kernel/auditsc.c audit_filter_syscall): the
// first rule whose syscall mask, arch and fields match decides. A rule
// with more fields than arch and key matches only some calls, so it
// decides only for those: a conditional never rule hides part, a
// conditional always rule lets the rest fall through. A task,never rule
// turns syscall auditing off for the tasks it matches (audit_filter_task),
// and any exclude rule drops the record types it matches, whatever its
// action (kernel/auditfilter.c audit_filter, AUDIT_FILTER_EXCLUDE).
// Rules with the sensor's key are the sensor's: its own never rule (its
// own pid) is no shadow.
func Coverage(list []KernelRule, needs []Need, key string) []NeedCoverage {
	out := make([]NeedCoverage, 0, len(needs))
	for _, n := range needs {
		c := NeedCoverage{Need: n, Verdict: Missing}
		for _, r := range list {
			switch r.list() {
			case listTask:
				if r.Action == actionNever && r.Key() != key {
					if r.conditional() {
						c.Partly = append(c.Partly, RuleText(r))
					} else {
						c.Verdict, c.By = Shadowed, RuleText(r)
					}
				}
			case listExclude:
				if r.Key() != key && r.excludesAny() {
					if r.conditional() {
						c.Partly = append(c.Partly, RuleText(r))
					} else {
						c.Verdict, c.By = Shadowed, RuleText(r)
					}
				}
			}
		}
		if c.Verdict == Shadowed {
			out = append(out, c)
			continue
		}
		for _, r := range list {
			if r.list() != listExit || !r.HasSyscall(n.Syscall) || !r.archMatches(n.Arch) {
				continue
			}
			ours := r.Key() == key
			switch {
			case ours && r.Action == actionAlways:
				c.Verdict, c.By = CoveredOurs, RuleText(r)
			case ours:
				continue // the exclusion of the sensor's own pid
			case r.conditional() && r.Action == actionNever:
				c.Partly = append(c.Partly, RuleText(r))
				continue
			case r.conditional():
				continue
			case r.Action == actionNever:
				c.Verdict, c.By = Shadowed, RuleText(r)
			default:
				c.Verdict, c.By = CoveredOther, RuleText(r)
			}
			break
		}
		if len(c.Partly) > 0 && (c.Verdict == CoveredOurs || c.Verdict == CoveredOther) {
			c.Verdict = PartlyShadowed
		}
		out = append(out, c)
	}
	return out
}

// NotSeen returns the needs whose records do not (or not all) reach a
// reader: shadowed, partly shadowed or missing.
func NotSeen(cov []NeedCoverage) []NeedCoverage {
	var out []NeedCoverage
	for _, c := range cov {
		if c.Verdict != CoveredOurs && c.Verdict != CoveredOther {
			out = append(out, c)
		}
	}
	return out
}

func (r KernelRule) list() uint32 { return r.Flags &^ filterPrepend }

// archMatches reports whether the rule can match syscalls of arch: a rule
// without arch= applies its mask to every ABI's numbers.
func (r KernelRule) archMatches(arch uint32) bool {
	for _, f := range r.Fields {
		if f.Field != ruleFieldArch {
			continue
		}
		switch f.Op {
		case opEqual:
			if f.Value != arch {
				return false
			}
		case opNotEqual:
			if f.Value == arch {
				return false
			}
		}
	}
	return true
}

// conditional reports whether the rule has fields besides arch and key,
// so that it matches only some calls.
func (r KernelRule) conditional() bool {
	for _, f := range r.Fields {
		switch f.Field {
		case ruleFieldArch, fieldFilterKey:
		case ruleFieldMsgType:
			if r.list() != listExclude {
				return true
			}
		default:
			return true
		}
	}
	return false
}

// excludesAny reports whether an exclude rule may drop a record type the
// sensor needs: it has no msgtype= (it drops by other fields) or one
// that matches a needed type.
func (r KernelRule) excludesAny() bool {
	had := false
	for _, f := range r.Fields {
		if f.Field != ruleFieldMsgType {
			continue
		}
		had = true
		if f.Op == opEqual && slices.Contains(recordTypes, f.Value) {
			return true
		}
		if f.Op != opEqual {
			return true // a range or inequality: may cover ours
		}
	}
	return !had
}

// RuleText writes a kernel rule in auditctl's words, enough to recognise
// it in `auditctl -l`.
func RuleText(r KernelRule) string {
	var b strings.Builder
	act := map[uint32]string{actionNever: "never", 1: "possible", actionAlways: "always"}[r.Action]
	if act == "" {
		act = strconv.FormatUint(uint64(r.Action), 10)
	}
	lst := map[uint32]string{0: "user", listTask: "task", 2: "entry", 3: "watch", listExit: "exit", listExclude: "exclude", 6: "filesystem", 7: "io_uring"}[r.list()]
	if lst == "" {
		lst = strconv.FormatUint(uint64(r.list()), 10)
	}
	fmt.Fprintf(&b, "-a %s,%s", act, lst)
	arch := uint32(0)
	for _, f := range r.Fields {
		if f.Field == ruleFieldArch && f.Op == opEqual {
			arch = f.Value
			fmt.Fprintf(&b, " -F arch=%s", archName(arch))
		}
	}
	if r.list() == listExit {
		n, all := 0, true
		var names []string
		for nr := 0; nr < 32*ruleBitmaskWords; nr++ {
			if r.HasSyscall(nr) {
				n++
				names = append(names, syscallName(arch, nr))
			} else {
				all = false
			}
		}
		switch {
		case all:
			b.WriteString(" -S all")
		case n > 32*ruleBitmaskWords-64:
			b.WriteString(" -S all")
		case n > 8:
			fmt.Fprintf(&b, " -S (%d syscalls)", n)
		case n > 0:
			b.WriteString(" -S " + strings.Join(names, ","))
		}
	}
	for _, f := range r.Fields {
		switch f.Field {
		case ruleFieldArch, fieldFilterKey:
			continue
		}
		v := strconv.FormatUint(uint64(f.Value), 10)
		switch {
		case f.Str != "" || isStringField(f.Field):
			v = f.Str
		case f.Field == ruleFieldPerm:
			v = permText(f.Value)
		}
		fmt.Fprintf(&b, " -F %s%s%s", fieldName(f.Field), opName(f.Op), v)
	}
	if k := r.Key(); k != "" {
		b.WriteString(" -k " + strings.ReplaceAll(k, string(rune(keySeparator)), ","))
	}
	return b.String()
}

// permText writes a perm= bitmask as auditctl -l does (rwxa, in that
// order; auditctl's audit_print_perm), so -p wa reads "wa", not "10".
func permText(mask uint32) string {
	var b []byte
	for _, p := range []struct {
		bit  uint32
		name byte
	}{{4, 'r'}, {2, 'w'}, {1, 'x'}, {8, 'a'}} { // AUDIT_PERM_READ, _WRITE, _EXEC, _ATTR
		if mask&p.bit != 0 {
			b = append(b, p.name)
		}
	}
	if rest := mask &^ 0xf; rest != 0 || len(b) == 0 {
		// Bits auditctl has no letter for: the number, not a wrong word.
		return strconv.FormatUint(uint64(mask), 10)
	}
	return string(b)
}

func archName(arch uint32) string {
	switch arch {
	case ArchX8664:
		return "b64"
	case ArchI386:
		return "b32"
	case ArchAArch64:
		return "aarch64"
	case 0:
		return "any"
	}
	return fmt.Sprintf("%#x", arch)
}

// syscallName names the syscalls the sensor uses (syscalls.go); others
// are numbers. A rule without arch= is written by auditctl with the
// machine's numbers, so it reads as b64 here.
func syscallName(arch uint32, nr int) string {
	names := map[int]string{59: "execve", 322: "execveat", 42: "connect", 44: "sendto", 46: "sendmsg", 307: "sendmmsg"}
	switch arch {
	case ArchI386:
		names = map[int]string{11: "execve", 358: "execveat", 362: "connect", 102: "socketcall",
			369: "sendto", 370: "sendmsg", 345: "sendmmsg"}
	case ArchAArch64:
		names = map[int]string{221: "execve", 281: "execveat", 203: "connect"}
	}
	if s, ok := names[nr]; ok {
		return s
	}
	return strconv.Itoa(nr)
}

func fieldName(id uint32) string {
	names := map[uint32]string{ruleFieldPID: "pid", 1: "uid", 2: "euid", 5: "gid", 9: "auid", 18: "ppid",
		ruleFieldArch: "arch", ruleFieldMsgType: "msgtype", 103: "exit", 104: "success", 105: "path", ruleFieldPerm: "perm", 107: "dir",
		112: "exe", 200: "a0", 201: "a1", 202: "a2", 203: "a3"}
	if s, ok := names[id]; ok {
		return s
	}
	return fmt.Sprintf("field%d", id)
}

func opName(op uint32) string {
	switch op {
	case opEqual:
		return "="
	case opNotEqual:
		return "!="
	case 0x10000000:
		return "<"
	case 0x20000000:
		return ">"
	case 0x50000000:
		return "<="
	case 0x60000000:
		return ">="
	case 0x08000000:
		return "&"
	case 0x48000000:
		return "&="
	}
	return fmt.Sprintf("(op %#x)", op)
}
