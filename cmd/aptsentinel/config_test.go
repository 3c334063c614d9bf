package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigFile(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		args    []string
		wantErr string
		check   func(o *runOptions) bool
	}{
		{name: "settings apply", file: "# comment\n\ncache-size = 4096\nlog-level = \"debug\"\n",
			check: func(o *runOptions) bool { return o.cacheSize == 4096 && o.logLevel == "debug" }},
		{name: "command line wins", file: "cache-size = 4096\n", args: []string{"--cache-size", "128"},
			check: func(o *runOptions) bool { return o.cacheSize == 128 }},
		{name: "unknown setting", file: "cache_size = 4096\n", wantErr: `:1: unknown setting "cache_size"`},
		{name: "no equals", file: "\ncache-size 4096\n", wantErr: `:2: want "name = value"`},
		{name: "bad value", file: "cache-size = lots\n", wantErr: `:1: cache-size = "lots"`},
		{name: "validated like flags, named by line", file: "cache-size = 3\n", wantErr: ":1: cache-size 3: want at least 64"},
		{name: "log level named by line", file: "\nlog-level = loud\n", wantErr: `:2: log-level "loud": want debug`},
		{name: "rules dir named by line", file: "rules-dir = /nonexistent/rules.d\n", wantErr: ":1: rules-dir /nonexistent/rules.d: no such file"},
		{name: "a refused command-line value is named by flag", file: "cache-size = 4096\n", args: []string{"--cache-size", "3"},
			wantErr: "--cache-size 3: want at least 64"},
		{name: "duplicate", file: "output = stdout\noutput = stdout\n", wantErr: `:2: "output" is already set on line 1`},
		{name: "no recursion", file: "config = /etc/other\n", wantErr: `unknown setting "config"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "aptsentinel.conf")
			if err := os.WriteFile(path, []byte(tt.file), 0o644); err != nil {
				t.Fatal(err)
			}
			o := runFlags()
			err := o.parse(append([]string{"--config", path}, tt.args...))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(o) {
				t.Fatalf("err = %v, options %+v", err, o)
			}
		})
	}
	o := runFlags()
	if err := o.parse([]string{"--config", os.DevNull}); err != nil {
		t.Errorf("--config /dev/null: %v, want the empty config", err)
	}
	o = runFlags()
	if err := o.parse([]string{"--config", "/nonexistent/aptsentinel.conf"}); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing config file: err = %v", err)
	}
}

// FuzzConfigFile: no config file makes applyConfigFile or run's checks
// panic; one that applies yields options that pass them.
func FuzzConfigFile(f *testing.F) {
	for _, seed := range []string{
		"", "# c\n\ncache-size = 4096\n", "log-level = 'debug'\n", "output=stdout\noutput=stdout\n",
		"audit-key = a b\n", "backlog-wait = -1s\n", "config = x\n", "= 1\n", "\x00\xff\n", "lateness = \"1h\"",
	} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "fuzz.conf")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		o := runFlags()
		if err := o.parse([]string{"--config", path}); err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("a multi-line refusal: %q", err)
			}
			return
		}
		if o.cacheSize < 64 || o.auditKey == "" || o.backlogWait < 0 {
			t.Errorf("accepted options out of range: %+v", o)
		}
	})
}
