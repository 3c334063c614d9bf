package audit

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/elastic/go-libaudit/v2/rule"
	"github.com/elastic/go-libaudit/v2/rule/flags"
)

// DefaultKey is the key of every rule the sensor installs, so an operator can
// find and remove them (auditctl -l, auditctl -D -k aptsentinel).
const DefaultKey = "aptsentinel"

// maxKeyLen is AUDIT_MAX_KEY_LEN (include/uapi/linux/audit.h).
const maxKeyLen = 256

// RuleSpec is one rule to install: its auditctl text and, for b32 rules, the
// kernel feature it depends on.
type RuleSpec struct {
	Text string
	// Prepend puts the rule at the head of its list (auditctl -A).
	Prepend bool
	// Optional: if the kernel refuses the rule, Open leaves it out and
	// logs why instead of failing. The b32 rules are optional: whether the
	// kernel takes them is the probe (Features.Compat32).
	Optional bool
}

// SensorRules returns the rules the sensor needs on a kernel with features f,
// in install order, and a sentence for each rule it had to leave out.
//
// The first rule keeps the sensor's own syscalls out: exit-list rules are
// first-match (kernel/auditsc.c audit_filter_syscall stops at the first rule
// that matches), so a "never" rule for our pid must be at the head of the
// list, ahead of rules someone else installed. No success filter anywhere:
// failed attempts matter (a connect that fails with ENETUNREACH is still an
// attempt).
func SensorRules(key string, ownPID int, f Features) (rules []RuleSpec, skipped []string) {
	k := " -k " + key
	rules = append(rules, RuleSpec{Text: "-A exit,never -F pid=" + strconv.Itoa(ownPID) + k, Prepend: true})

	exec64 := "execve"
	if f.Execveat {
		exec64 += ",execveat"
	} else {
		skipped = append(skipped, "execveat (kernel older than 3.19)")
	}
	rules = append(rules,
		RuleSpec{Text: "-a always,exit -F arch=b64 -S " + exec64 + k},
		RuleSpec{Text: "-a always,exit -F arch=b64 -S connect" + k},
	)
	rules = append(rules, fastOpenRules("b64", k, false)...)
	// io_uring connects (uring.go): kernels older than 5.16 refuse the
	// filter list, and there they go unseen.
	rules = append(rules, RuleSpec{Text: uringRulePrefix + "connect" + k, Optional: true})
	// Files made in apt's configuration directory (file.go). A path watch
	// (AUDIT_WATCH) on the directory matches a syscall whose PARENT item is
	// the directory's inode (kernel/audit_watch.c), that is every name made
	// in it, with the write and attribute classes of -p wa. It is not
	// auditctl's -w DIR/ (AUDIT_DIR, an audit_tree over the whole subtree):
	// apt reads no subdirectory, and removing a tree rule has the kernel
	// prune it asynchronously, which lost a serial around the audit PID
	// handover (TestHandOverAndReclaim). Without the directory there is no
	// apt to plant a hook for. The rule names the syscalls that make a name
	// (file.go): without -S a watch rule is checked at the exit of every
	// syscall, which slowed a connect flood enough that records were lost
	// (TestE2EFloodThenCallOut: 9-16 lost with it, 0 without).
	if fi, err := os.Stat(WatchedDir); err == nil && fi.IsDir() {
		rules = append(rules, RuleSpec{Text: "-a always,exit -F arch=b64 -S " + nameMakers64 +
			" -F path=" + WatchedDir + " -F perm=wa" + k})
	} else {
		skipped = append(skipped, "the file watch on "+WatchedDir+" (no such directory)")
	}

	if !f.Compat32 {
		return rules, append(skipped, "all b32 rules (not an x86_64 kernel)")
	}
	// exec32 mirrors exec64: execveat came to both ABIs in 3.19.
	rules = append(rules, RuleSpec{Text: "-a always,exit -F arch=b32 -S " + exec64 + k, Optional: true})
	if f.Connect32 {
		rules = append(rules, RuleSpec{Text: "-a always,exit -F arch=b32 -S connect" + k, Optional: true})
		rules = append(rules, fastOpenRules("b32", k, true)...)
	} else {
		skipped = append(skipped, "b32 connect and TCP Fast Open sends (i386 syscalls 362, 369, 370 need kernel 4.3)")
	}
	// i386 programs mostly connect through socketcall(2); a0 == 3 is
	// SYS_CONNECT (include/uapi/linux/net.h), the filter keeps the other
	// socket calls out.
	rules = append(rules, RuleSpec{Text: "-a always,exit -F arch=b32 -S socketcall -F a0=3" + k, Optional: true})
	return rules, skipped
}

// nameMakers64 are the x86_64 syscalls that make a name in a directory,
// the ones file.go turns into creation and rename events.
const nameMakers64 = "open,openat,openat2,creat,rename,renameat,renameat2,link,linkat,symlink,symlinkat,mknod,mknodat"

// RefusedRule is an optional rule the kernel did not take, and its answer.
type RefusedRule struct {
	Text string
	Err  error
}

// addRules adds the rules in order and returns the wire form of those the
// kernel took. An optional rule the kernel refuses is left out and
// returned; any other failure is the error.
func addRules(c *client, specs []RuleSpec, wires [][]byte) (kept [][]byte, refused []RefusedRule, err error) {
	for i, w := range wires {
		if err := c.addRule(w); err != nil {
			if !specs[i].Optional {
				return kept, refused, err
			}
			refused = append(refused, RefusedRule{Text: specs[i].Text, Err: err})
			continue
		}
		kept = append(kept, w)
	}
	return kept, refused, nil
}

// fastOpenRules audits the sends that open a TCP connection (TCP Fast
// Open, MSG_FASTOPEN in the flags argument: a3 of sendto and sendmmsg, a2
// of sendmsg); the bit-mask filter keeps every other send out, so DNS
// over UDP and every write to a connected socket cost nothing.
func fastOpenRules(arch, k string, optional bool) []RuleSpec {
	flag := "&" + "0x" + strconv.FormatUint(MsgFastOpen, 16)
	return []RuleSpec{
		{Text: "-a always,exit -F arch=" + arch + " -S sendto,sendmmsg -F a3" + flag + k, Optional: optional},
		{Text: "-a always,exit -F arch=" + arch + " -S sendmsg -F a2" + flag + k, Optional: optional},
	}
}

// BuildRule turns one rule into audit_rule_data wire format with go-libaudit.
// go-libaudit's Build ignores -A, so the AUDIT_FILTER_PREPEND bit is set here
// (kernel/auditfilter.c audit_to_entry_common reads it from the flags).
func BuildRule(spec RuleSpec) ([]byte, error) {
	if strings.HasPrefix(spec.Text, uringRulePrefix) {
		return buildURingRule(spec.Text)
	}
	r, err := flags.Parse(spec.Text)
	if err != nil {
		return nil, fmt.Errorf("audit: parse rule %q: %w", spec.Text, err)
	}
	wire, err := rule.Build(r)
	if err != nil {
		return nil, fmt.Errorf("audit: build rule %q: %w", spec.Text, err)
	}
	if spec.Prepend {
		fl := binary.NativeEndian.Uint32(wire[0:4])
		binary.NativeEndian.PutUint32(wire[0:4], fl|filterPrepend)
	}
	return []byte(wire), nil
}

// checkKey refuses keys the kernel would refuse or that could not be matched
// exactly.
func checkKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("audit: rule key is empty")
	case len(key) > maxKeyLen:
		return fmt.Errorf("audit: rule key is %d bytes, the kernel allows %d", len(key), maxKeyLen)
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c <= ' ' || c == '"' || c == 0x7f || c == keySeparator {
			return fmt.Errorf("audit: rule key %q has byte %#x at %d: use printable characters without spaces or quotes", key, c, i)
		}
	}
	return nil
}

// Layout of struct audit_rule_data (include/uapi/linux/audit.h): flags,
// action, field_count, mask[64], fields[64], values[64], fieldflags[64],
// buflen, then buf with the string values back to back.
const (
	ruleBitmaskWords = 64 // AUDIT_BITMASK_SIZE
	ruleMaxFields    = 64 // AUDIT_MAX_FIELDS
	ruleOffMask      = 12
	ruleOffFields    = ruleOffMask + 4*ruleBitmaskWords
	ruleOffValues    = ruleOffFields + 4*ruleMaxFields
	ruleOffFlags     = ruleOffValues + 4*ruleMaxFields
	ruleOffBufLen    = ruleOffFlags + 4*ruleMaxFields
	ruleHeaderLen    = ruleOffBufLen + 4
)

// RuleField is one field of a kernel rule: AUDIT_* field id, operator,
// value, and for string fields the string (Value is then its length).
type RuleField struct {
	Field, Op, Value uint32
	Str              string
}

// KernelRule is a rule as the kernel lists it.
type KernelRule struct {
	Flags  uint32 // filter list, with AUDIT_FILTER_PREPEND if it was prepended
	Action uint32 // AUDIT_NEVER 0, AUDIT_POSSIBLE 1, AUDIT_ALWAYS 2
	Mask   [ruleBitmaskWords]uint32
	Fields []RuleField
	// Wire is the rule exactly as listed; AUDIT_DEL_RULE takes it back as is.
	Wire []byte
}

// HasSyscall reports whether syscall number nr is in the rule's mask.
func (r KernelRule) HasSyscall(nr int) bool {
	if nr < 0 || nr >= 32*ruleBitmaskWords {
		return false
	}
	return r.Mask[nr/32]&(1<<(nr%32)) != 0
}

// Key returns the rule's key string ("" if it has none). Several keys of one
// rule are joined by AUDIT_KEY_SEPARATOR (0x01).
func (r KernelRule) Key() string {
	for _, f := range r.Fields {
		if f.Field == fieldFilterKey {
			return f.Str
		}
	}
	return ""
}

// Field returns the first field with id and whether there was one.
func (r KernelRule) Field(id uint32) (RuleField, bool) {
	for _, f := range r.Fields {
		if f.Field == id {
			return f, true
		}
	}
	return RuleField{}, false
}

// isStringField reports whether a field's value is a length into buf
// (kernel/auditfilter.c audit_data_to_entry: the cases that call
// audit_unpack_string).
func isStringField(id uint32) bool {
	switch id {
	case 13, 14, 15, 16, 17, // AUDIT_SUBJ_USER .. AUDIT_SUBJ_CLR
		19, 20, 21, 22, 23, // AUDIT_OBJ_USER .. AUDIT_OBJ_LEV_HIGH
		105, 107, 112, // AUDIT_WATCH, AUDIT_DIR, AUDIT_EXE
		fieldFilterKey:
		return true
	}
	return false
}

// ParseKernelRule decodes one audit_rule_data. It checks every length, so
// any input gives a rule or an error, never a panic.
func ParseKernelRule(b []byte) (KernelRule, error) {
	if len(b) < ruleHeaderLen {
		return KernelRule{}, fmt.Errorf("audit: rule data: %d bytes, header needs %d", len(b), ruleHeaderLen)
	}
	u32 := func(off int) uint32 { return binary.NativeEndian.Uint32(b[off:]) }
	r := KernelRule{Flags: u32(0), Action: u32(4), Wire: b}
	count := u32(8)
	if count > ruleMaxFields {
		return KernelRule{}, fmt.Errorf("audit: rule data: field_count %d > %d", count, ruleMaxFields)
	}
	for i := range r.Mask {
		r.Mask[i] = u32(ruleOffMask + 4*i)
	}
	bufLen := u32(ruleOffBufLen)
	buf := b[ruleHeaderLen:]
	if uint64(bufLen) > uint64(len(buf)) {
		return KernelRule{}, fmt.Errorf("audit: rule data: buflen %d but %d bytes follow", bufLen, len(buf))
	}
	buf = buf[:bufLen]
	r.Fields = make([]RuleField, count)
	for i := range r.Fields {
		f := RuleField{Field: u32(ruleOffFields + 4*i), Value: u32(ruleOffValues + 4*i), Op: u32(ruleOffFlags + 4*i)}
		if isStringField(f.Field) {
			if uint64(f.Value) > uint64(len(buf)) {
				return KernelRule{}, fmt.Errorf("audit: rule data: field %d string of %d bytes, %d left in buf", i, f.Value, len(buf))
			}
			f.Str = string(buf[:f.Value])
			buf = buf[f.Value:]
		}
		r.Fields[i] = f
	}
	return r, nil
}

// ListRules returns the kernel's audit rules (all keys) in list order.
func ListRules() ([]KernelRule, error) {
	c, err := dialClient()
	if err != nil {
		return nil, err
	}
	defer c.close()
	return listKernelRules(c)
}

func listKernelRules(c *client) ([]KernelRule, error) {
	wires, err := c.listRules()
	if err != nil {
		return nil, err
	}
	rules := make([]KernelRule, 0, len(wires))
	for _, w := range wires {
		r, err := ParseKernelRule(w)
		if err != nil {
			return nil, fmt.Errorf("audit: list rules: %w", err)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// DeleteRulesByKey removes every audit rule whose key is exactly key (a rule
// carrying several keys is left alone: it is not only ours) and returns how
// many it removed. Rules of other keys survive.
func DeleteRulesByKey(key string) (int, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	c, err := dialClient()
	if err != nil {
		return 0, err
	}
	defer c.close()
	return deleteRulesByKey(c, key)
}

func deleteRulesByKey(c *client, key string) (int, error) {
	rules, err := listKernelRules(c)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range rules {
		if r.Key() != key {
			continue
		}
		if err := c.deleteRule(r.Wire); err != nil {
			return n, fmt.Errorf("audit: delete rules with key %q: %w", key, err)
		}
		n++
	}
	return n, nil
}
