package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/internal/apttest"
	"github.com/aptsentinel/aptsentinel/internal/audittest"
	"github.com/aptsentinel/aptsentinel/internal/ecstest"
	"github.com/aptsentinel/aptsentinel/internal/proctest"
	"github.com/aptsentinel/aptsentinel/internal/testenv"
)

// The end-to-end tests build the real binary and run it against the real
// kernel, the real apt and a real hook. They need root, kernel audit, the
// proc connector, apt, bash and unshare. Outside CI a missing piece skips
// them; under CI=true it fails them: CI must not go green untested.

var sensorBin string // built once by TestMain

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "aptsentinel-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// 0755: TestE2ENotRoot runs the binary as nobody.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sensorBin = filepath.Join(dir, "aptsentinel")
	build := exec.Command("go", "build", "-o", sensorBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building aptsentinel:", err)
		os.Exit(1)
	}
	audittest.Main(func() int {
		defer os.RemoveAll(dir)
		return m.Run()
	})
}

// requireE2E ends the test (testenv.Require) when the machine cannot run
// the end-to-end path, naming what is missing.
func requireE2E(t *testing.T) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	for _, tool := range []string{"apt", "apt-get", "bash", "unshare"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		testenv.Require(t, "the end-to-end path", errors.New(strings.Join(missing, ", ")+" missing"))
	}
	if _, err := os.Stat("/proc/self/loginuid"); err != nil {
		testenv.SkipKernelFeature(t, "syscall auditing (CONFIG_AUDITSYSCALL)", "stat /proc/self/loginuid", err)
	}
}

// sensorProc is a running `aptsentinel run --output stdout`.
type sensorProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	mu     sync.Mutex
	alerts []alertLine
	// own are the sensor's own alerts (tamper, loss: e2e_own_alerts_test.go),
	// kept apart so the detection tests count only theirs.
	own []alertLine
	// aside are the alerts of the rules in asideRules: rules of the APT
	// family that fire on the same apt runs as the seed rule, kept apart
	// so that the seed rule's tests count only theirs; ruleAlerts finds them.
	aside  []alertLine
	logs   []string
	newAl  chan struct{}
	done   chan struct{}
	status error
}

type alertLine struct {
	raw      string
	received time.Time
	doc      map[string]any
}

// startSensor starts the sensor and waits for its "ready" log record. The
// sensor is stopped with SIGTERM at cleanup, and must exit 0.
func startSensor(t *testing.T, extra ...string) *sensorProc {
	t.Helper()
	s := &sensorProc{t: t, newAl: make(chan struct{}, 1), done: make(chan struct{})}
	s.cmd = exec.Command(sensorBin, append([]string{"run", "--output", "stdout"}, extra...)...)
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		s.readAlerts(stdout)
	}()
	go func() {
		defer wg.Done()
		s.readLogs(stderr, ready)
	}()
	go func() {
		wg.Wait()
		s.status = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() { s.stop() })
	select {
	case <-ready:
	case <-s.done:
		t.Fatalf("sensor exited before ready: %v\nlogs:\n%s", s.status, s.logText())
	case <-time.After(30 * time.Second):
		t.Fatalf("sensor not ready after 30s; logs:\n%s", s.logText())
	}
	return s
}

func (s *sensorProc) readAlerts(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := alertLine{raw: sc.Text(), received: time.Now()}
		if err := json.Unmarshal(sc.Bytes(), &line.doc); err != nil {
			s.t.Errorf("alert line is not JSON: %v: %q", err, sc.Text())
			continue
		}
		s.mu.Lock()
		switch id, _ := field(line.doc, "rule.id").(string); {
		case isOwnAlert(line):
			s.own = append(s.own, line)
		case asideRules[id]:
			s.aside = append(s.aside, line)
		default:
			s.alerts = append(s.alerts, line)
		}
		s.mu.Unlock()
		select {
		case s.newAl <- struct{}{}:
		default:
		}
	}
}

func (s *sensorProc) readLogs(r io.Reader, ready chan struct{}) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	once := sync.Once{}
	for sc.Scan() {
		s.mu.Lock()
		s.logs = append(s.logs, sc.Text())
		s.mu.Unlock()
		var rec struct{ Msg string }
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "ready" {
			once.Do(func() { close(ready) })
		}
	}
}

func (s *sensorProc) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.logs, "\n")
}

// stop sends SIGTERM and checks the sensor exits 0 within 10s.
func (s *sensorProc) stop() {
	if !proctest.Stop(s.cmd.Process, s.done, 10*time.Second) {
		s.t.Errorf("sensor did not stop within 10s of SIGTERM; logs:\n%s", s.logText())
		return
	}
	if s.status != nil {
		s.t.Errorf("sensor exit: %v; logs:\n%s", s.status, s.logText())
	}
}

// alertCount returns how many alerts arrived so far.
func (s *sensorProc) alertCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.alerts)
}

// waitAlerts waits until at least n alerts arrived, or the timeout.
func (s *sensorProc) waitAlerts(n int, timeout time.Duration) []alertLine {
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		if len(s.alerts) >= n {
			out := append([]alertLine(nil), s.alerts...)
			s.mu.Unlock()
			return out
		}
		s.mu.Unlock()
		select {
		case <-s.newAl:
		case <-deadline:
			s.mu.Lock()
			defer s.mu.Unlock()
			return append([]alertLine(nil), s.alerts...)
		}
	}
}

// asideRules are the rule ids whose alerts go to sensorProc.aside; each
// rule's own test file adds its id (in an init function).
var asideRules = map[string]bool{}

// aptRun, preInvoke, connectHook and field are shared helpers, named for
// these tests.
var (
	field       = ecstest.Field
	aptRun      = apttest.Update
	preInvoke   = apttest.PreInvoke
	connectHook = apttest.ConnectHook
)

// everyAlert returns the alerts of every rule (the sensor's own and those
// kept aside included) received in [from, to), in the order they came.
func (s *sensorProc) everyAlert(from, to time.Time) []alertLine {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []alertLine
	for _, list := range [][]alertLine{s.own, s.alerts, s.aside} {
		for _, a := range list {
			if !a.received.Before(from) && a.received.Before(to) {
				out = append(out, a)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].received.Before(out[j].received) })
	return out
}
