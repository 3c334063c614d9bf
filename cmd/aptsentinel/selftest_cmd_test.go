package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSelftestFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string // "" accepted
	}{
		{nil, ""},
		{[]string{"--timeout", "2s", "--verbose"}, ""},
		{[]string{"--timeout", "1ns"}, ""},
		{[]string{"--timeout", "0"}, "--timeout"},
		{[]string{"--timeout", "-1s"}, "--timeout"},
		{[]string{"--timeout", "6m"}, "--timeout"},
		{[]string{"--timeout", "soon"}, "timeout"},
		{[]string{"--frobnicate"}, "frobnicate"},
		{[]string{"now"}, "unexpected argument"},
	}
	for _, c := range cases {
		err := selftestFlags().parse(c.args)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: %v", c.args, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q: %v, want an error naming %q", c.args, err, c.want)
		}
		if c.want == "" {
			continue // a valid command line would run the self-test
		}
		var stderr bytes.Buffer
		if code := realMain(append([]string{"selftest"}, c.args...), io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 naming %q", c.args, code, stderr.String(), c.want)
		}
	}
	var help bytes.Buffer
	if code := realMain([]string{"help", "selftest"}, &help, io.Discard); code != 0 {
		t.Errorf("help selftest: exit %d", code)
	}
	for _, want := range []string{"--timeout", "network namespace", "nothing leaves the host", "Exit codes: 0 PASS, 1 FAIL", "journal", "0700"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("help selftest does not say %q:\n%s", want, help.String())
		}
	}
}

// TestSensorOutput: selftest learns a running sensor's output from its
// command line and config file, as run reads them.
func TestSensorOutput(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "aptsentinel.conf")
	if err := os.WriteFile(conf, []byte("output = journald\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// run's default output is auto: journald when its socket exists.
	defer func(s string) { journalSocket = s }(journalSocket)
	journalSocket = filepath.Join(dir, "no-journald-socket")
	cases := []struct {
		args    []string
		want    string
		wantErr bool
	}{
		{[]string{"--config", conf}, "journald", false},
		{[]string{"--output", "stdout", "--config", conf}, "stdout", false},
		{[]string{"--config", filepath.Join(dir, "missing")}, "", true},
		{nil, "stdout", false},
		{[]string{"--frobnicate"}, "", true},
	}
	for _, c := range cases {
		got, err := sensorOutput(c.args)
		if got != c.want || (err != nil) != c.wantErr {
			t.Errorf("%q: %q, %v; want %q (error %v)", c.args, got, err, c.want, c.wantErr)
		}
	}
}
