package sensor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os/exec"
	"time"

	"github.com/aptsentinel/aptsentinel/audit"
)

// probeBinary is exec'd once at start; its exec event proves that rules are
// installed and records flow from the kernel through the whole pipeline.
// The sensor's own syscalls are excluded from audit, its children's are not.
const probeBinary = "/bin/true"

// startProbe execs the probe and returns a channel that gets an error if
// its event does not come back within the ready timeout (nil once ready).
func (s *sensor) startProbe(ctx context.Context) <-chan error {
	out := make(chan error, 1)
	nonce := make([]byte, 8)
	rand.Read(nonce)
	// The loop owns s.probe (it clears it when the probe comes back); the
	// goroutine gets its own copy.
	probe := "aptsentinel-ready-probe-" + hex.EncodeToString(nonce)
	s.probe = probe
	go func() {
		if err := exec.CommandContext(ctx, probeBinary, probe).Run(); err != nil && ctx.Err() == nil {
			out <- fmt.Errorf("readiness probe: running %s: %w", probeBinary, err)
			return
		}
		t := time.NewTimer(s.cfg.ReadyTimeout)
		defer t.Stop()
		select {
		case <-s.ready:
			out <- nil
		case <-ctx.Done():
		case <-t.C:
			out <- fmt.Errorf("no audit event arrived within %s of installing the rules "+
				"(is another program filtering audit, or is audit disabled by the audit=0 boot parameter?)", s.cfg.ReadyTimeout)
		}
	}()
	return out
}

// checkProbe logs "ready" when the probe's exec comes through, then
// calls the Ready hook.
func (s *sensor) checkProbe(e *audit.Exec) {
	if s.probe == "" || len(e.Args) != 2 || e.Args[1] != s.probe {
		return
	}
	s.probe = ""
	close(s.ready)
	st := s.sess.Stats()
	s.log.Info("ready",
		"version", s.cfg.Version,
		"host_id", s.host.ID,
		"processes", s.tree.Len(),
		"audit_records", st.Messages,
	)
	s.notify("READY=1")
	if s.cfg.Ready != nil {
		s.cfg.Ready()
	}
}
