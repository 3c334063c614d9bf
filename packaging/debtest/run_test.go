package debtest

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/audit"
)

const ruleID = "eaef8a35-12e0-4ac0-bc14-81c72b6bd27c"

// installedSensor is the installed binary started as the unit starts it.
type installedSensor struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stdout []string
	stderr []string
	ready  chan struct{}
	done   chan struct{}
	err    error
}

// startAsUnit starts ExecStart of the installed unit under the unit's
// capability bounding set and no_new_privs, minus the capability drop ("" for none, else e.g. "audit_control").
func startAsUnit(t *testing.T, drop string) *installedSensor {
	t.Helper()
	u := readUnit(t, "/lib/systemd/system/aptsentinel.service")
	args := append(u.setprivArgs(t, drop), strings.Fields(u.one(t, "ExecStart"))...)
	s := &installedSensor{cmd: exec.Command("setpriv", args...), ready: make(chan struct{}), done: make(chan struct{})}
	outR, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.collect(outR, &s.stdout, "") }()
	go func() { defer wg.Done(); s.collect(errR, &s.stderr, `"msg":"ready"`) }()
	go func() { wg.Wait(); s.err = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() { s.stop(t) })
	return s
}

func (s *installedSensor) collect(r io.Reader, lines *[]string, readyMark string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var once sync.Once
	for sc.Scan() {
		s.mu.Lock()
		*lines = append(*lines, sc.Text())
		s.mu.Unlock()
		if readyMark != "" && strings.Contains(sc.Text(), readyMark) {
			once.Do(func() { close(s.ready) })
		}
	}
}

func (s *installedSensor) logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.stderr, "\n")
}

// stop sends SIGTERM (systemd's stop) and requires exit 0 within 10 s.
func (s *installedSensor) stop(t *testing.T) {
	t.Helper()
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		if s.err != nil {
			t.Errorf("sensor exit after SIGTERM: %v\n%s", s.err, s.logs())
		}
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		t.Errorf("sensor ignored SIGTERM for 10s\n%s", s.logs())
	}
}

// alert waits for an alert line of the rule and returns it decoded.
func (s *installedSensor) alert(timeout time.Duration) (map[string]any, bool) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, line := range s.stdout {
			var doc map[string]any
			if json.Unmarshal([]byte(line), &doc) == nil && strings.Contains(line, ruleID) {
				s.mu.Unlock()
				return doc, true
			}
		}
		s.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	return nil, false
}

// aptUpdateWithHook runs the real `apt update` offline in a new network
// namespace, with private lists and cache (an update with an empty source
// list would otherwise wipe the host's lists) and an update hook whose
// shell forks bash to connect to a public address: in the namespace the
// connect fails at once with ENETUNREACH and no packet leaves, but it is
// audited. "; true" keeps dash from exec'ing bash in its own place.
func aptUpdateWithHook(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"lists/partial", "cache/archives/partial", "parts"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "sources.list"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	hook := "bash -c 'exec 3<>/dev/tcp/2001:4860:4860::8888/53' 2>/dev/null; true"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "unshare", "-n", "apt", "update", "-q",
		"-o", "Dir::Etc::SourceList="+filepath.Join(dir, "sources.list"),
		"-o", "Dir::Etc::SourceParts="+filepath.Join(dir, "parts"),
		"-o", "Dir::State::Lists="+filepath.Join(dir, "lists"),
		"-o", "Dir::Cache="+filepath.Join(dir, "cache"),
		"-o", "APT::Update::Pre-Invoke::="+hook).CombinedOutput()
	if err != nil {
		t.Fatalf("apt update: %v\n%s", err, out)
	}
}

// TestInstalledSensorDetects installs the package, runs the installed
// sensor exactly as the unit does (ExecStart, capability bounding set,
// no_new_privs) and checks that a real apt hook that connects out raises
// the alert, and that SIGTERM leaves no audit rule and no audit PID.
func TestInstalledSensorDetects(t *testing.T) {
	install(t, debNew)
	before, err := audit.GetStatus()
	if err != nil {
		t.Fatal(err)
	}
	s := startAsUnit(t, "")
	select {
	case <-s.ready:
	case <-s.done:
		t.Fatalf("sensor exited before ready: %v\n%s", s.err, s.logs())
	case <-time.After(30 * time.Second):
		t.Fatalf("sensor not ready after 30s\n%s", s.logs())
	}
	aptUpdateWithHook(t)
	doc, ok := s.alert(10 * time.Second)
	if !ok {
		t.Fatalf("no alert after the hook\n%s", s.logs())
	}
	proc, _ := doc["process"].(map[string]any)
	parent, _ := proc["parent"].(map[string]any)
	if proc["name"] != "sh" || parent["name"] != "apt" {
		t.Errorf("alert process %v (parent %v), want sh with parent apt", proc["name"], parent["name"])
	}
	// The readiness probe and /proc reading work under the unit's limits:
	// the shell's executable comes from /proc/PID/exe (CAP_SYS_PTRACE).
	if exe, _ := proc["executable"].(string); exe == "" {
		t.Errorf("alert without process.executable: %v", proc)
	}
	s.stop(t)
	requireNoAuditRules(t)
	after, err := audit.GetStatus()
	if err != nil {
		t.Fatal(err)
	}
	if after.PID != 0 || after.Enabled != before.Enabled {
		t.Errorf("after stop: audit pid %d enabled %d, want 0 and %d", after.PID, after.Enabled, before.Enabled)
	}
}

// TestInstalledSensorNeedsAuditControl drops CAP_AUDIT_CONTROL from the
// unit's bounding set: the sensor must refuse to start and say why, which
// shows the capability is in the set for a reason.
func TestInstalledSensorNeedsAuditControl(t *testing.T) {
	install(t, debNew)
	s := startAsUnit(t, "audit_control")
	select {
	case <-s.ready:
		t.Fatalf("sensor ready without CAP_AUDIT_CONTROL\n%s", s.logs())
	case <-s.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("sensor neither ready nor exited after 30s\n%s", s.logs())
	}
	if s.err == nil || !strings.Contains(s.logs(), "CAP_AUDIT_CONTROL") {
		t.Errorf("exit %v, logs do not name CAP_AUDIT_CONTROL:\n%s", s.err, s.logs())
	}
	requireNoAuditRules(t)
}
