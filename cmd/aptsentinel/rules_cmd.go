package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/aptsentinel/aptsentinel/alert"
	"github.com/aptsentinel/aptsentinel/rules"
)

const rulesUsage = `Usage:
  aptsentinel rules list [--rules-dir DIR] [--json]
      every loaded rule: id, name, version, source (its file, or "builtin"
      for a rule embedded in the binary) and whether it is enabled
  aptsentinel rules check FILE...
      parse and compile rule files (with the shipped rules, so exceptions
      find their rule); on the first error print FILE:LINE:COL: what, exit 1
  aptsentinel rules test --events EVENTS.jsonl RULEFILE...
      run exactly the given rule files over ECS events (one JSON document per
      line, sorted by @timestamp; event.category/event.action decide the EQL
      event type) and print each alert as one JSON line, as run does
`

// rulesCommand runs `aptsentinel rules ...`.
func rulesCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, rulesUsage)
		return 2
	}
	switch args[0] {
	case "list":
		return rulesList(args[1:], stdout, stderr)
	case "check":
		return rulesCheck(args[1:], stdout, stderr)
	case "test":
		return rulesTest(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, rulesUsage)
		return 0
	}
	fmt.Fprintf(stderr, "aptsentinel rules: unknown command %q\n\n%s", args[0], rulesUsage)
	return 2
}

func rulesFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("rules "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, rulesUsage) }
	return fs
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
	fs := rulesFlags("list", stderr)
	dir := fs.String("rules-dir", rules.LocalDir, "admins' rule directory")
	asJSON := fs.Bool("json", false, "print a JSON array")
	if err := fs.Parse(args); err != nil {
		return exitFlag(err)
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

func exitFlag(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

func rulesCheck(args []string, stdout, stderr io.Writer) int {
	fs := rulesFlags("check", stderr)
	if err := fs.Parse(args); err != nil {
		return exitFlag(err)
	}
	if fs.NArg() == 0 {
		fmt.Fprintf(stderr, "aptsentinel rules check: no FILE given\n")
		return 2
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
	fs := rulesFlags("test", stderr)
	events := fs.String("events", "", "ECS events, one JSON document per line (- for stdin)")
	if err := fs.Parse(args); err != nil {
		return exitFlag(err)
	}
	if *events == "" || fs.NArg() == 0 {
		fmt.Fprintf(stderr, "aptsentinel rules test: want --events EVENTS.jsonl and at least one RULEFILE\n")
		return 2
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
