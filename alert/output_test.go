package alert

import (
	"bytes"
	"strings"
	"testing"

	"github.com/aptsentinel/aptsentinel/internal/journaltest"
)

func TestOpenOutputAuto(t *testing.T) {
	var stdout, stderr bytes.Buffer
	cfg := OutputConfig{Name: "auto", Stdout: &stdout, Stderr: &stderr, JournalSocket: t.TempDir() + "/no-socket"}
	out, err := OpenOutput(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if out.Name != "stdout" {
		t.Errorf("auto without a journald socket chose %s, want stdout", out.Name)
	}
	j := journaltest.Start(t)
	cfg.JournalSocket = j.Socket
	out2, err := OpenOutput(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer out2.Close()
	if out2.Name != "journald" {
		t.Errorf("auto with journald at %s chose %s", j.Socket, out2.Name)
	}
	if _, ok := out2.Alerts.(*JournalWriter); !ok {
		t.Errorf("journald output writes alerts with %T", out2.Alerts)
	}
}

func TestOpenOutputRefusesUnknown(t *testing.T) {
	_, err := OpenOutput(OutputConfig{Name: "syslog", Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), `--output "syslog": want one of [auto journald stdout]`) {
		t.Errorf("err = %v, want a refusal naming the choices", err)
	}
}

// TestStdoutOutput: stdout gets the alert line, stderr the logs.
func TestStdoutOutput(t *testing.T) {
	var stdout, stderr bytes.Buffer
	out, err := OpenOutput(OutputConfig{Name: "stdout", Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if err := NewStage(out.Alerts).WriteMatch(testMatch(), Host{ID: "h1", Name: "vm"}); err != nil {
		t.Fatal(err)
	}
	out.Log.Info("ready")
	if lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], `{"@timestamp":`) {
		t.Errorf("stdout %q: want one alert line", stdout.String())
	}
	if !strings.Contains(stderr.String(), `"msg":"ready"`) || strings.Contains(stderr.String(), "@timestamp") {
		t.Errorf("stderr %q: want the log record only", stderr.String())
	}
}
