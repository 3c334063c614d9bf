package audit

import (
	"bytes"
	"fmt"
	"strconv"
	"time"
)

// ConfigChange is one AUDIT_CONFIG_CHANGE (1305) record, joined with the
// SYSCALL record of the same serial when the kernel wrote one: that record
// names the process that made the change (the CONFIG_CHANGE record itself
// carries only auid and ses; kernel/audit.c audit_log_config_change,
// kernel/auditfilter.c audit_log_rule_change). The changer's SYSCALL record
// is missing when a `never` rule covers its syscall, or when the sensor
// made the change itself (its own pid is excluded).
type ConfigChange struct {
	Time   time.Time
	Serial uint64

	// Op is "add_rule", "remove_rule", "set" and so on; for op=set the
	// setting is in Setting ("audit_enabled", "audit_pid",
	// "audit_backlog_limit", ...) with its new Value and Old value.
	Op           string
	Setting      string
	Value, Old   uint64
	HaveValueOld bool
	Key          string // rule key, for rule changes
	List         int    // filter list of a rule change (4 = exit), -1 if absent
	Result       int    // res=: 1 done, 0 refused

	AUID, Ses uint32

	// From the SYSCALL record, when HaveProcess.
	HaveProcess bool
	PID, PPID   int
	Comm, Exe   string
}

// ParseConfigChange decodes the text of a CONFIG_CHANGE record. Unknown
// fields are ignored: kernels add fields (subj=, old-enabled=) over time.
func ParseConfigChange(data []byte) (ConfigChange, error) {
	h, fields, err := parseHeader(trimRecordEnd(data))
	if err != nil {
		return ConfigChange{}, fmt.Errorf("audit: CONFIG_CHANGE: %w", err)
	}
	c := ConfigChange{Time: h.Time, Serial: h.Serial, List: -1, Result: -1, AUID: unsetID, Ses: unsetID}
	sc := newFieldScanner(fields)
	for sc.next() {
		f := sc.f
		switch k := string(f.Key); k {
		case "op":
			c.Op = string(f.Val)
		case "key":
			if f.Quoted {
				c.Key = string(f.Val)
			} else if !isPlaceholder(f.Val) {
				// A key the kernel hex-encoded (it held a separator).
				b, err := appendHex(nil, f.Val)
				if err != nil {
					return c, fmt.Errorf("audit: CONFIG_CHANGE key: %w", err)
				}
				c.Key = string(b)
			}
		case "list":
			n, err := strconv.Atoi(string(f.Val))
			if err != nil {
				return c, fmt.Errorf("audit: CONFIG_CHANGE list=%q: %w", clip(f.Val), ErrMalformed)
			}
			c.List = n
		case "res":
			n, err := strconv.Atoi(string(f.Val))
			if err != nil {
				return c, fmt.Errorf("audit: CONFIG_CHANGE res=%q: %w", clip(f.Val), ErrMalformed)
			}
			c.Result = n
		case "auid":
			n, err := parseID(f)
			if err != nil {
				return c, err
			}
			c.AUID = n
		case "ses":
			n, err := parseID(f)
			if err != nil {
				return c, err
			}
			c.Ses = n
		case "old":
			n, err := parseDec(f)
			if err != nil {
				return c, err
			}
			c.Old, c.HaveValueOld = n, true
		default:
			// op=set writes "NAME=VALUE old=OLD" (audit_log_config_change).
			if bytes.HasPrefix(f.Key, []byte("audit_")) || bytes.HasPrefix(f.Key, []byte("backlog_")) {
				n, err := parseDec(f)
				if err != nil {
					return c, err
				}
				c.Setting, c.Value = k, n
			}
		}
	}
	if sc.err != nil {
		return c, fmt.Errorf("audit: CONFIG_CHANGE: %w", sc.err)
	}
	if c.Op == "" {
		return c, fmt.Errorf("audit: CONFIG_CHANGE without op=: %w", ErrMalformed)
	}
	return c, nil
}

// unsetID is (uid_t)-1: auid and ses of a task with no login session.
const unsetID = 4294967295

// syscallProcess reads pid, ppid, comm and exe of a SYSCALL record.
func syscallProcess(data []byte) (pid, ppid int, comm, exe string, ok bool) {
	_, fields, err := parseHeader(trimRecordEnd(data))
	if err != nil {
		return 0, 0, "", "", false
	}
	sc := newFieldScanner(fields)
	var b []byte
	for sc.next() {
		f := sc.f
		switch string(f.Key) {
		case "pid":
			n, err := parseDec(f)
			if err != nil {
				return 0, 0, "", "", false
			}
			pid = int(n)
		case "ppid":
			n, err := parseDec(f)
			if err != nil {
				return 0, 0, "", "", false
			}
			ppid = int(n)
		case "comm":
			if b, err = appendUntrusted(b[:0], f); err == nil {
				comm = string(b)
			}
		case "exe":
			if b, err = appendUntrusted(b[:0], f); err == nil {
				exe = string(b)
			}
		}
	}
	return pid, ppid, comm, exe, pid != 0
}

// configWait is how long a CONFIG_CHANGE waits for its SYSCALL record;
// both are written within one syscall, so a second is plenty.
const configWait = time.Second

// configCollector joins CONFIG_CHANGE records with their SYSCALL record.
// It sees every record the session delivers, but does work only for type
// 1305 and for the SYSCALL/EOE records of serials it holds. One syscall
// may make many changes (auditctl -D removes every rule in one request:
// one CONFIG_CHANGE each, one SYSCALL record for all).
type configCollector struct {
	open  map[uint64]*configGroup
	order []uint64 // serials in arrival order, for flush
}

type configGroup struct {
	born    time.Time
	changes []ConfigChange
}

// maxConfigGroups bounds what the collector holds.
const maxConfigGroups = 1024

func newConfigCollector() *configCollector {
	return &configCollector{open: map[uint64]*configGroup{}}
}

// push takes one record; complete changes go to emit.
func (c *configCollector) push(r Record, now time.Time, emit func(ConfigChange)) error {
	switch {
	case r.Type == TypeConfig:
		cc, err := ParseConfigChange(r.Data)
		if err != nil {
			return err
		}
		g := c.open[cc.Serial]
		if g == nil {
			if len(c.open) >= maxConfigGroups {
				c.flush(time.Time{}, emit)
			}
			g = &configGroup{born: now}
			c.open[cc.Serial] = g
			c.order = append(c.order, cc.Serial)
		}
		g.changes = append(g.changes, cc)
	case len(c.open) == 0:
	case r.Type == TypeSyscall || r.Type == TypeEOE:
		n, ok := serialOf(r.Data)
		if !ok {
			return nil
		}
		g := c.open[n]
		if g == nil {
			return nil
		}
		if r.Type == TypeSyscall {
			pid, ppid, comm, exe, ok := syscallProcess(r.Data)
			for i := range g.changes {
				cc := &g.changes[i]
				cc.PID, cc.PPID, cc.Comm, cc.Exe, cc.HaveProcess = pid, ppid, comm, exe, ok
			}
			return nil
		}
		c.emitGroup(n, emit)
	}
	return nil
}

func (c *configCollector) emitGroup(n uint64, emit func(ConfigChange)) {
	g := c.open[n]
	delete(c.open, n)
	for i, s := range c.order {
		if s == n {
			c.order = append(c.order[:i], c.order[i+1:]...)
			break
		}
	}
	if g == nil {
		return
	}
	for _, cc := range g.changes {
		emit(cc)
	}
	emit(ConfigChange{Serial: n, Op: opGroupEnd})
}

// opGroupEnd marks the end of one syscall's changes in what the collector
// emits, so a judge can fold the many removals of one `auditctl -D` into
// one report.
const opGroupEnd = "(end)"

// flush emits the changes older than configWait at now (all of them when
// now is zero).
func (c *configCollector) flush(now time.Time, emit func(ConfigChange)) {
	for len(c.order) > 0 {
		n := c.order[0]
		if g := c.open[n]; g != nil && !now.IsZero() && now.Sub(g.born) < configWait {
			return // the rest are younger
		}
		c.emitGroup(n, emit)
	}
}
