package sensor

// The service manager is told two things (sd_notify(3), through
// Config.Notify): READY=1 when the readiness probe came back, and
// WATCHDOG=1 on every tick of the event loop, once a second. The ping is
// sent by the loop itself, after the tick's work, never by a goroutine of
// its own: a loop stuck in a handler or a blocked alert writer stops the
// pings, and systemd (WatchdogSec= in the unit) restarts the sensor.

// notify sends one state; a failure is logged when it starts and when it
// ends, not every second.
func (s *sensor) notify(state string) {
	if s.cfg.Notify == nil {
		return
	}
	err := s.cfg.Notify(state)
	switch {
	case err != nil && !s.notifyFailing:
		s.notifyFailing = true
		s.log.Warn("cannot notify the service manager", "state", state, "err", err.Error())
	case err == nil && s.notifyFailing:
		s.notifyFailing = false
		s.log.Info("notifying the service manager again", "state", state)
	}
}

// watchdogPing is called on the event loop's tick.
func (s *sensor) watchdogPing() {
	if s.cfg.Watchdog {
		s.notify("WATCHDOG=1")
	}
}
