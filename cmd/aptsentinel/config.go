package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// applyConfigFile sets the flags named in the config file at path, except
// those given on the command line (they win), and returns where each
// value it set came from ("PATH:LINE", by flag name), for a later check to
// name. The format is one "name = value" per line, name being a flag of
// `run` without dashes; blank lines and lines starting with # are ignored.
// Anything else is refused with the file, line and what is wrong: a typo
// in a security tool's configuration must not pass silently.
func applyConfigFile(fs *flag.FlagSet, path string) (map[string]string, error) {
	b, err := readConfigFile(path)
	if err != nil {
		return nil, err
	}
	from := map[string]string{}
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
			return nil, fmt.Errorf("config %s:%d: want \"name = value\", got %.80q", path, n, line)
		}
		f := fs.Lookup(name)
		if f == nil || name == "config" {
			return nil, fmt.Errorf("config %s:%d: unknown setting %.80q (settings are the flags of \"aptsentinel help run\")", path, n, name)
		}
		if prev, dup := seen[name]; dup {
			return nil, fmt.Errorf("config %s:%d: %q is already set on line %d", path, n, name, prev)
		}
		seen[name] = n
		if onCommandLine[name] {
			continue
		}
		if err := fs.Set(name, unquote(value)); err != nil {
			return nil, fmt.Errorf("config %s:%d: %s = %.80q: %v", path, n, name, value, err)
		}
		from[name] = fmt.Sprintf("%s:%d", path, n)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return from, nil
}

// maxConfigFile bounds the config file, a few dozen lines: a device or a
// huge file named by mistake is refused, not read until memory runs out
// (--config /dev/zero did that).
const maxConfigFile = 64 << 10

// readConfigFile reads the config file at path if it is a regular text
// file of at most maxConfigFile bytes; /dev/null is the empty config.
func readConfigFile(path string) ([]byte, error) {
	if path == os.DevNull {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("config %s: %s, want a file of \"name = value\" lines", path, notRegular(fi.Mode()))
	}
	b, err := io.ReadAll(io.LimitReader(f, maxConfigFile+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("config: %w", err)
	case len(b) > maxConfigFile:
		return nil, fmt.Errorf("config %s: larger than %d bytes: not a config file", path, maxConfigFile)
	case bytes.IndexByte(b, 0) >= 0:
		return nil, fmt.Errorf("config %s: binary (a NUL byte), want \"name = value\" lines", path)
	}
	return b, nil
}

// notRegular names what a file that is not a regular file is.
func notRegular(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return "not a regular file"
}

// unquote strips one pair of matching double or single quotes.
func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}
