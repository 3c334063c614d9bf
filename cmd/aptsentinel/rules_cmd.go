package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aptsentinel/aptsentinel/alert"
	"github.com/aptsentinel/aptsentinel/rules"
)

const rulesListHelp = `Usage: aptsentinel rules list [--rules-dir DIR] [--json]

Lists every loaded rule: id, name, version, source (its file, or "builtin"
for a rule embedded in the binary) and whether it is enabled.

Flags:
`

const rulesCheckHelp = `Usage: aptsentinel rules check FILE...

Parses and compiles rule files (with the shipped rules, so exceptions find
their rule); on the first error prints FILE:LINE:COL: what, and exits 1.
No flags.
`

const rulesTestHelp = `Usage: aptsentinel rules test --events EVENTS.jsonl RULEFILE...

Runs exactly the given rule files over ECS events (one JSON document per
line, sorted by @timestamp; event.category/event.action decide the EQL
event type) and prints each alert as one JSON line, as run does.

Flags:
`

const rulesTail = `
Examples:
  aptsentinel rules list --json
  aptsentinel rules check /etc/aptsentinel/rules.d/*.toml
  aptsentinel rules test --events events.jsonl my_rule.toml

Exit codes: 0 done, 1 a rule or event file is wrong, 2 bad usage.
`

// maxRuleFile bounds a rule file that rules check and rules test read,
// as the rules package bounds the files it loads.
const maxRuleFile = rules.MaxFileSize

// rulesCommand runs `aptsentinel rules ...`.
func rulesCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "aptsentinel rules: want a command: list, check or test (see \"aptsentinel help rules\")\n")
		return 2
	}
	switch args[0] {
	case "list":
		return rulesList(args[1:], stdout, stderr)
	case "check":
		return rulesCheck(args[1:], stdout, stderr)
	case "test":
		return rulesTest(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, rulesUsage())
		return 0
	}
	fmt.Fprintf(stderr, "aptsentinel rules: unknown command %q: want list, check or test (see \"aptsentinel help rules\")\n", args[0])
	return 2
}

// rulesUsage is `aptsentinel help rules`: the three commands' help.
func rulesUsage() string {
	var b strings.Builder
	rulesListFlags().help(&b)
	b.WriteString("\n")
	rulesCheckFlags().help(&b)
	b.WriteString("\n")
	rulesTestFlags().help(&b)
	b.WriteString(rulesTail)
	return b.String()
}

// rulesFlagSet is the flag set of one rules command with its help.
type rulesFlagSet struct {
	*flag.FlagSet
	head string
}

func (f rulesFlagSet) help(w io.Writer) { writeHelp(w, f.FlagSet, f.head, "") }

// parse parses args; done reports whether the command ends here, with
// code. Only rules list takes no positional arguments.
func (f rulesFlagSet) parse(args []string, stdout, stderr io.Writer) (code int, done bool) {
	if err := parseFlags(f.FlagSet, args, f.Name() != "rules list"); err != nil {
		return flagsDone(err, f.Name(), f.fullHelp, stdout, stderr), true
	}
	return 0, false
}

func (f rulesFlagSet) fullHelp(w io.Writer) { writeHelp(w, f.FlagSet, f.head, rulesTail) }

type rulesListOptions struct {
	rulesFlagSet
	dir    *string
	asJSON *bool
}

func rulesListFlags() rulesListOptions {
	f := rulesListOptions{rulesFlagSet: rulesFlagSet{newFlagSet("rules list"), rulesListHelp}}
	f.dir = f.String("rules-dir", rules.LocalDir, "the admins' rule directory")
	f.asJSON = f.Bool("json", false, "print a JSON array")
	return f
}

func rulesCheckFlags() rulesFlagSet {
	return rulesFlagSet{newFlagSet("rules check"), rulesCheckHelp}
}

type rulesTestOptions struct {
	rulesFlagSet
	events *string
}

func rulesTestFlags() rulesTestOptions {
	f := rulesTestOptions{rulesFlagSet: rulesFlagSet{newFlagSet("rules test"), rulesTestHelp}}
	f.events = f.String("events", "", "ECS events, one JSON document per line (- for stdin); required")
	return f
}

// checkRuleFiles refuses what is not a regular rule file of a sane size
// before the rules package reads it whole.
func checkRuleFiles(paths []string) error {
	for _, p := range paths {
		fi, err := os.Stat(p)
		switch {
		case err != nil:
			return err
		case !fi.Mode().IsRegular():
			return fmt.Errorf("%s: %s, not a rule file", p, notRegular(fi.Mode()))
		case fi.Size() > maxRuleFile:
			return fmt.Errorf("%s: %d bytes, larger than a rule file can be (%d)", p, fi.Size(), maxRuleFile)
		}
	}
	return nil
}

// ruleRow is one rule of `rules list --json`.
type ruleRow struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Version int    `json:"version"`
	Source  string `json:"source"`
	Enabled bool   `json:"enabled"`
}

func rulesList(args []string, stdout, stderr io.Writer) int {
	fs := rulesListFlags()
	if code, done := fs.parse(args, stdout, stderr); done {
		return code
	}
	dir, asJSON := fs.dir, fs.asJSON
	if err := checkRulesDir("--rules-dir", *dir, rules.LocalDir); err != nil {
		return flagsDone(err, "rules list", fs.fullHelp, stdout, stderr)
	}
	set, err := rules.Load(rules.LoadConfig{Dirs: []string{*dir}})
	if err != nil {
		fmt.Fprintf(stderr, "aptsentinel rules list: %v\n", err)
		return 1
	}
	rows := make([]ruleRow, 0, len(set.Rules))
	for _, r := range set.Rules {
		_, off := set.Disabled[r.ID]
		rows = append(rows, ruleRow{ID: r.ID, Name: r.Name, Version: r.Version, Source: r.Source, Enabled: !off})
	}
	if *asJSON {
		b, _ := json.MarshalIndent(rows, "", "  ")
		fmt.Fprintln(stdout, string(b))
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tVERSION\tSOURCE\tENABLED")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", r.ID, r.Name, r.Version, r.Source, yesNo(r.Enabled))
	}
	tw.Flush()
	return 0
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func rulesCheck(args []string, stdout, stderr io.Writer) int {
	fs := rulesCheckFlags()
	if code, done := fs.parse(args, stdout, stderr); done {
		return code
	}
	if fs.NArg() == 0 {
		return flagsDone(usageError{"no FILE given"}, "rules check", fs.fullHelp, stdout, stderr)
	}
	if err := checkRuleFiles(fs.Args()); err != nil {
		fmt.Fprintf(stderr, "aptsentinel rules check: %v\n", err)
		return 1
	}
	set, err := rules.Load(rules.LoadConfig{Files: fs.Args()})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	for _, w := range set.Warnings {
		fmt.Fprintf(stderr, "%s:%d:%d: warning: %s\n", w.File, w.Line, w.Col, w.Msg)
	}
	for _, f := range fs.Args() {
		fmt.Fprintf(stdout, "%s: ok\n", f)
	}
	return 0
}

func rulesTest(args []string, stdout, stderr io.Writer) int {
	fs := rulesTestFlags()
	if code, done := fs.parse(args, stdout, stderr); done {
		return code
	}
	events := fs.events
	if *events == "" || fs.NArg() == 0 {
		return flagsDone(usageError{"want --events EVENTS.jsonl and at least one RULEFILE"}, "rules test", fs.fullHelp, stdout, stderr)
	}
	if err := checkRuleFiles(fs.Args()); err != nil {
		fmt.Fprintf(stderr, "aptsentinel rules test: %v\n", err)
		return 1
	}
	set, err := rules.Load(rules.LoadConfig{NoShipped: true, Files: fs.Args()})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	engine, err := rules.NewEngine(set.Enabled(), rules.EngineConfig{})
	if err != nil {
		fmt.Fprintf(stderr, "aptsentinel rules test: %v\n", err)
		return 1
	}
	in := io.Reader(os.Stdin)
	if *events != "-" {
		f, err := os.Open(*events)
		if err != nil {
			fmt.Fprintf(stderr, "aptsentinel rules test: %v\n", err)
			return 1
		}
		defer f.Close()
		in = f
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	var prev time.Time
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		ev, err := rules.EventFromECS(line)
		if err != nil {
			fmt.Fprintf(stderr, "%s:%d: %v\n", *events, n, err)
			return 1
		}
		if ev.Time.Before(prev) {
			fmt.Fprintf(stderr, "%s:%d: @timestamp %s is before the previous event's: sort the events by @timestamp\n",
				*events, n, ev.Time.Format(time.RFC3339Nano))
			return 1
		}
		prev = ev.Time
		for _, m := range engine.Process(&ev) {
			a := alert.New(m, alert.Host{ID: ev.HostID}, ev.Time)
			b, err := a.MarshalLine()
			if err != nil {
				fmt.Fprintf(stderr, "aptsentinel rules test: alert of %s: %v\n", m.Rule.ID, err)
				return 1
			}
			out.Write(append(b, '\n'))
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", *events, err)
		return 1
	}
	fmt.Fprintf(stderr, "%d matches\n", engine.Stats().Matches+engine.Stats().Events)
	return 0
}
