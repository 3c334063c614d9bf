package main

import (
	"context"
	"testing"
	"time"

	"github.com/aptsentinel/aptsentinel/internal/apttest"
	"github.com/aptsentinel/aptsentinel/procfs"
	"github.com/aptsentinel/aptsentinel/sensor"
)

// TestE2EAptRunningBeforeSensor: apt is already running its first hook when
// the sensor starts, so the forked apt that runs the hooks is known only
// from the /proc scan; the second hook's shell, started after, connects.
// The alert must name that parent "apt", and every entity id in it must be
// what /proc gives for the same process: scan, fork events and a later
// /proc read agree.
func TestE2EAptRunningBeforeSensor(t *testing.T) {
	requireE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	apt := apttest.Command(ctx, t, "apt",
		"-o", apttest.PreInvoke("sleep 2"),
		// The shell sleeps after its child connected, so its /proc entry
		// is still there when the test reads it.
		"-o", apttest.PreInvoke(connectHook("1.1.1.1", 8080)+"; sleep 3"))
	if err := apt.Start(); err != nil {
		t.Fatal(err)
	}
	aptDone := make(chan error, 1)
	go func() { aptDone <- apt.Wait() }()
	defer func() {
		if err := <-aptDone; err != nil {
			t.Errorf("apt: %v", err)
		}
	}()
	time.Sleep(500 * time.Millisecond) // apt forked its hook runner, hook 1 sleeps

	s := startSensor(t)
	alerts := s.waitAlerts(1, 10*time.Second)
	if len(alerts) != 1 {
		t.Fatalf("%d alerts, want 1; logs:\n%s", len(alerts), s.logText())
	}
	a := alerts[0]
	if field(a.doc, "process.parent.name") != "apt" {
		t.Errorf("parent name %v, want apt (known from the /proc scan)", field(a.doc, "process.parent.name"))
	}
	fs, err := procfs.NewFS("/proc")
	if err != nil {
		t.Fatal(err)
	}
	boot, err := fs.BootID()
	if err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"process", "process.parent"} {
		pid := int(field(a.doc, who+".pid").(float64))
		st, err := fs.Proc(pid).Stat()
		if err != nil {
			t.Errorf("%s (pid %d) is gone before the test could read it: %v", who, pid, err)
			continue
		}
		if want := sensor.EntityID(boot, pid, st.StartTime); field(a.doc, who+".entity_id") != want {
			t.Errorf("%s.entity_id = %v, /proc gives %s", who, field(a.doc, who+".entity_id"), want)
		}
	}
}
