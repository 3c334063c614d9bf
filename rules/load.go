package rules

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/BurntSushi/toml"

	"github.com/aptsentinel/aptsentinel/eql"
)

// shippedFS holds the rule files embedded in the binary; the package also
// installs them read-only to ShippedDir for admins to read.
//
//go:embed shipped/*.toml
var shippedFS embed.FS

// Paths of the rule files on a host.
const (
	// ShippedDir is where the .deb installs the shipped rule files (for
	// reading; the sensor runs the embedded copies).
	ShippedDir = "/usr/share/aptsentinel/rules"
	// LocalDir is the admins' directory: rule files, disables and exceptions.
	LocalDir = "/etc/aptsentinel/rules.d"
	// SourceBuiltin is Rule.Source of an embedded rule.
	SourceBuiltin = "builtin"
)

// FileError is an error at a position of a rule file.
type FileError struct {
	File      string
	Line, Col int // from 1; 0 when unknown
	Msg       string
}

func (e *FileError) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Warning is something a rule file does that works but is likely wrong,
// such as testing a field the sensor never fills.
type Warning = FileError

// fileTOML is the shape of a rule file: Elastic's detection-rules [rule]
// table (unknown keys, [metadata] among them, are ignored), our own
// [aptsentinel] block, and, in rules.d, disable and [[exception]].
type fileTOML struct {
	Rule *struct {
		RuleID      string       `toml:"rule_id"`
		Name        string       `toml:"name"`
		Description string       `toml:"description"`
		Version     int          `toml:"version"`
		RiskScore   int          `toml:"risk_score"`
		Severity    string       `toml:"severity"`
		Type        string       `toml:"type"`
		Language    string       `toml:"language"`
		Query       string       `toml:"query"`
		References  []string     `toml:"references"`
		Threat      []threatTOML `toml:"threat"`
	} `toml:"rule"`
	Aptsentinel struct {
		Message       string   `toml:"message"`
		EventCategory []string `toml:"event_category"`
		EventType     []string `toml:"event_type"`
	} `toml:"aptsentinel"`
	Disable   []string        `toml:"disable"`
	Exception []exceptionTOML `toml:"exception"`
}

type threatTOML struct {
	Framework string `toml:"framework"`
	Tactic    struct {
		ID, Name, Reference string
	} `toml:"tactic"`
	Technique []struct {
		ID, Name, Reference string
		Subtechnique        []struct {
			ID, Name, Reference string
		} `toml:"subtechnique"`
	} `toml:"technique"`
}

type exceptionTOML struct {
	RuleID    string `toml:"rule_id"`
	Step      int    `toml:"step"`
	Condition string `toml:"condition"`
	Reason    string `toml:"reason"`
}

// RuleFile is one parsed rule file: a rule, and (in rules.d) disables and
// exceptions.
type RuleFile struct {
	Path       string
	Rule       *Rule // nil if the file has no [rule]
	Disable    []string
	Exceptions []Exception
	Warnings   []*Warning
	raw        []byte
	// condPos maps each exception to its condition's position mapper.
	condPos []posMapper
}

var validSeverity = []string{"low", "medium", "high", "critical"}

// ParseFile parses and compiles one rule file; name is how errors name it
// (its path, or "builtin:NAME"). Errors are *FileError with the line and
// column in the file, also for an error inside the query string.
func ParseFile(name string, raw []byte) (*RuleFile, error) {
	var t fileTOML
	md, err := toml.NewDecoder(bytes.NewReader(raw)).Decode(&t)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &FileError{File: name, Line: pe.Position.Line, Col: max(pe.Position.Col, 1), Msg: pe.Message}
		}
		return nil, &FileError{File: name, Line: 1, Col: 1, Msg: err.Error()}
	}
	f := &RuleFile{Path: name, raw: raw, Disable: t.Disable}
	for _, k := range md.Undecoded() {
		if len(k) > 0 && (k[0] == "aptsentinel" || k[0] == "exception" || k[0] == "disable") {
			line, col := keyPos(raw, k[len(k)-1], 0)
			return nil, &FileError{File: name, Line: line, Col: col, Msg: fmt.Sprintf("unknown key %s", k)}
		}
	}
	if t.Rule != nil {
		r, warns, err := buildRule(name, raw, &t)
		if err != nil {
			return nil, err
		}
		f.Rule, f.Warnings = r, warns
	}
	for i, ex := range t.Exception {
		line, col := nthKeyPos(raw, "condition", i)
		if ex.RuleID == "" || ex.Condition == "" {
			l, c := nthKeyPos(raw, "[[exception]]", i)
			return nil, &FileError{File: name, Line: l, Col: c, Msg: "an [[exception]] needs rule_id and condition"}
		}
		if ex.Step < 0 {
			return nil, &FileError{File: name, Line: line, Col: col, Msg: fmt.Sprintf("exception step %d: want 1 or more, or 0 for every step", ex.Step)}
		}
		m := newPosMapper(raw, nthKeyOffset(raw, "condition", i), "condition", ex.Condition)
		cd, err := eql.CompileCondition(ex.Condition, Schema)
		if err != nil {
			return nil, m.fileError(name, err)
		}
		for _, w := range cd.Warnings {
			f.Warnings = append(f.Warnings, m.fileError(name, w))
		}
		f.Exceptions = append(f.Exceptions, Exception{
			RuleID: ex.RuleID, Step: ex.Step, Condition: ex.Condition, Reason: ex.Reason,
			Source: fmt.Sprintf("%s:%d", name, line),
		})
		f.condPos = append(f.condPos, m)
	}
	if t.Rule == nil && len(t.Exception) == 0 && len(t.Disable) == 0 {
		return nil, &FileError{File: name, Line: 1, Col: 1, Msg: "no [rule], disable or [[exception]]: not a rule file"}
	}
	return f, nil
}

func buildRule(name string, raw []byte, t *fileTOML) (*Rule, []*Warning, error) {
	tr := t.Rule
	at := func(key, format string, args ...any) error {
		line, col := keyPos(raw, key, 0)
		return &FileError{File: name, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case tr.RuleID == "":
		return nil, nil, at("[rule]", "[rule] needs rule_id")
	case tr.Name == "":
		return nil, nil, at("rule_id", "rule %s needs a name", tr.RuleID)
	case tr.Type == TypeSensor && tr.Query != "":
		return nil, nil, at("query", "rule %s is of type %q: the sensor raises it, it takes no query", tr.RuleID, TypeSensor)
	case tr.Query == "" && tr.Type != TypeSensor:
		return nil, nil, at("rule_id", "rule %s needs a query", tr.RuleID)
	case tr.Type != "" && tr.Type != TypeEQL && tr.Type != TypeSensor:
		return nil, nil, at("type", "rule type %q is not supported: only %s (or %s for the sensor's own rules)", tr.Type, TypeEQL, TypeSensor)
	case tr.Language != "" && tr.Language != "eql":
		return nil, nil, at("language", "query language %q is not supported: only eql", tr.Language)
	case tr.Severity != "" && !slices.Contains(validSeverity, tr.Severity):
		return nil, nil, at("severity", "severity %q: want one of %v", tr.Severity, validSeverity)
	case tr.RiskScore < 0 || tr.RiskScore > 100:
		return nil, nil, at("risk_score", "risk_score %d: want 0 to 100", tr.RiskScore)
	case tr.Version < 0:
		return nil, nil, at("version", "version %d: want 1 or more", tr.Version)
	}
	if tr.Type == TypeSensor {
		return sensorRule(name, raw, t), nil, nil
	}
	m := newPosMapper(raw, tableKeyOffset(raw, "[rule]", "query"), "query", tr.Query)
	q, err := eql.Compile(tr.Query, Schema)
	if err != nil {
		return nil, nil, m.fileError(name, err)
	}
	var warns []*Warning
	for _, w := range q.Warnings {
		warns = append(warns, m.fileError(name, w))
	}
	r := ruleMeta(name, raw, t)
	r.Type, r.MaxSpan, r.Query, r.QueryText = TypeEQL, q.MaxSpan, q, tr.Query
	return r, warns, nil
}

// sensorRule is a TypeSensor rule: metadata and message only.
func sensorRule(name string, raw []byte, t *fileTOML) *Rule {
	r := ruleMeta(name, raw, t)
	r.Type = TypeSensor
	return r
}

// ruleMeta fills everything of a rule but its query.
func ruleMeta(name string, raw []byte, t *fileTOML) *Rule {
	tr := t.Rule
	r := &Rule{
		ID: tr.RuleID, Name: tr.Name, Description: strings.TrimSpace(tr.Description),
		Severity: tr.Severity, Version: max(tr.Version, 1), RiskScore: tr.RiskScore,
		References:    tr.References,
		Message:       t.Aptsentinel.Message,
		AlertCategory: t.Aptsentinel.EventCategory, AlertType: t.Aptsentinel.EventType,
		Source: name,
	}
	if r.Severity == "" {
		r.Severity = "medium"
	}
	for _, th := range tr.Threat {
		out := Threat{Framework: th.Framework, Tactic: Tactic(th.Tactic)}
		for _, tq := range th.Technique {
			tech := Technique{ID: tq.ID, Name: tq.Name, Reference: tq.Reference}
			for _, s := range tq.Subtechnique {
				tech.Subtechniques = append(tech.Subtechniques, Subtechnique(s))
			}
			out.Techniques = append(out.Techniques, tech)
		}
		r.Threat = append(r.Threat, out)
	}
	sum := sha256.Sum256(raw)
	r.fingerprint = hex.EncodeToString(sum[:])
	return r
}

// MaxFileSize bounds a rule file: a rule is a few KiB, and a huge file
// dropped into rules.d by mistake must be refused, not read until memory
// runs out.
const MaxFileSize = 1 << 20

// LoadFile reads and parses one rule file. Only a regular file of at most
// MaxFileSize is read: a named pipe in rules.d would otherwise hang the
// sensor's start or reload, a device feed it without end.
func LoadFile(path string) (*RuleFile, error) {
	raw, err := readRuleFile(path)
	if err != nil {
		return nil, &FileError{File: path, Msg: err.Error()}
	}
	return ParseFile(path, raw)
}

func readRuleFile(path string) ([]byte, error) {
	// O_NONBLOCK: opening a named pipe for reading blocks until a writer
	// comes; the check below refuses it once open.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	raw, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > MaxFileSize {
		return nil, fmt.Errorf("larger than a rule file can be (%d bytes)", MaxFileSize)
	}
	return raw, nil
}

// Shipped returns the rules embedded in the binary, Source "builtin".
func Shipped() ([]*Rule, error) {
	names, err := fs.Glob(shippedFS, "shipped/*.toml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []*Rule
	for _, n := range names {
		raw, err := shippedFS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		f, err := ParseFile(SourceBuiltin+":"+filepath.Base(n), raw)
		if err != nil {
			return nil, fmt.Errorf("shipped rule file: %w", err)
		}
		if f.Rule == nil {
			return nil, fmt.Errorf("shipped rule file %s has no [rule]", n)
		}
		f.Rule.Source = SourceBuiltin
		out = append(out, f.Rule)
	}
	return out, nil
}

// ShippedFiles returns the embedded rule files by base name, for tests and
// packaging checks.
func ShippedFiles() (map[string][]byte, error) {
	names, err := fs.Glob(shippedFS, "shipped/*.toml")
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, n := range names {
		b, err := shippedFS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out[filepath.Base(n)] = b
	}
	return out, nil
}

// Set is the loaded rule set: every rule with whether it runs.
type Set struct {
	Rules    []*Rule
	Disabled map[string]string // rule id -> FILE that disabled it
	Warnings []*Warning
}

// Enabled returns the rules that run, in load order; never nil, so a set
// with every rule disabled runs no rule rather than the defaults.
func (s *Set) Enabled() []*Rule {
	out := []*Rule{}
	for _, r := range s.Rules {
		if _, off := s.Disabled[r.ID]; !off {
			out = append(out, r)
		}
	}
	return out
}

// LoadConfig says where rules come from.
type LoadConfig struct {
	// NoShipped leaves the embedded rules out (rules test runs exactly the
	// files it is given).
	NoShipped bool
	// Dirs are read in order, each *.toml in name order; a rule with the id
	// of an earlier one replaces it. A missing directory is no error.
	Dirs []string
	// Files are read after Dirs, in order.
	Files []string
}

// Load loads the shipped rules and the admins' files, applies disables and
// exceptions, and compiles everything. It fails on the first file that does
// not compile, naming FILE:LINE:COL, so a reload keeps the running set.
func Load(cfg LoadConfig) (*Set, error) {
	set := &Set{Disabled: map[string]string{}}
	if !cfg.NoShipped {
		rs, err := Shipped()
		if err != nil {
			return nil, err
		}
		set.Rules = rs
	}
	var paths []string
	for _, d := range cfg.Dirs {
		ms, err := filepath.Glob(filepath.Join(d, "*.toml"))
		if err != nil {
			return nil, fmt.Errorf("rules dir %s: %w", d, err)
		}
		sort.Strings(ms)
		paths = append(paths, ms...)
	}
	paths = append(paths, cfg.Files...)
	var files []*RuleFile
	for _, p := range paths {
		f, err := LoadFile(p)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
		set.Warnings = append(set.Warnings, f.Warnings...)
		if f.Rule == nil {
			continue
		}
		if i := slices.IndexFunc(set.Rules, func(r *Rule) bool { return r.ID == f.Rule.ID }); i >= 0 {
			if set.Rules[i].Source != SourceBuiltin {
				return nil, &FileError{File: p, Line: 1, Col: 1, Msg: fmt.Sprintf("rule %s is already defined in %s", f.Rule.ID, set.Rules[i].Source)}
			}
			set.Rules[i] = f.Rule
		} else {
			set.Rules = append(set.Rules, f.Rule)
		}
	}
	for _, f := range files {
		for _, id := range f.Disable {
			set.Disabled[id] = f.Path
		}
		for i, ex := range f.Exceptions {
			if err := set.except(f, i, ex); err != nil {
				return nil, err
			}
		}
	}
	return set, nil
}

// except compiles exception ex into its rule.
func (s *Set) except(f *RuleFile, i int, ex Exception) error {
	line, col := nthKeyPos(f.raw, "rule_id", i+boolInt(f.Rule != nil))
	ri := slices.IndexFunc(s.Rules, func(r *Rule) bool { return r.ID == ex.RuleID })
	if ri < 0 {
		return &FileError{File: f.Path, Line: line, Col: col, Msg: fmt.Sprintf("exception for rule %s, which is not loaded", ex.RuleID)}
	}
	r := *s.Rules[ri]
	if r.Query == nil {
		return &FileError{File: f.Path, Line: line, Col: col, Msg: fmt.Sprintf("exception for rule %s, which the sensor raises itself: it has no query to except from (disable it by id instead)", ex.RuleID)}
	}
	cd, err := eql.CompileCondition(ex.Condition, Schema)
	if err != nil {
		return f.condPos[i].fileError(f.Path, err)
	}
	q, err := r.Query.Except(ex.Step-1, cd)
	if err != nil {
		return &FileError{File: f.Path, Line: line, Col: col, Msg: err.Error()}
	}
	r.Query = q
	r.Exceptions = append(slices.Clip(r.Exceptions), ex)
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d\x00%s", r.fingerprint, ex.Step, ex.Condition)))
	r.fingerprint = hex.EncodeToString(sum[:])
	s.Rules[ri] = &r
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
