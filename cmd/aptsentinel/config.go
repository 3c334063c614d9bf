package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
)

// applyConfigFile sets the flags named in the config file at path, except
// those given on the command line (they win). The format is one
// "name = value" per line, name being a flag of `run` without dashes; blank
// lines and lines starting with # are ignored. Anything else is refused
// with the file, line and what is wrong: a typo in a security tool's
// configuration must not pass silently.
func applyConfigFile(fs *flag.FlagSet, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" {
			return fmt.Errorf("config %s:%d: want \"name = value\", got %q", path, n, line)
		}
		f := fs.Lookup(name)
		if f == nil || name == "config" {
			return fmt.Errorf("config %s:%d: unknown setting %q (settings are the flags of \"aptsentinel help run\")", path, n, name)
		}
		if prev, dup := seen[name]; dup {
			return fmt.Errorf("config %s:%d: %q is already set on line %d", path, n, name, prev)
		}
		seen[name] = n
		if onCommandLine[name] {
			continue
		}
		if err := fs.Set(name, unquote(value)); err != nil {
			return fmt.Errorf("config %s:%d: %s = %q: %v", path, n, name, value, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

// unquote strips one pair of matching double or single quotes.
func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}
