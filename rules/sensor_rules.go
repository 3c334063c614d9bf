package rules

// The sensor's own rules (DESIGN.md, the APT rule family): shipped as rule
// files of TypeSensor (shipped/sensor_*.toml), raised by the sensor from
// its own state rather than matched by the engine.
const (
	// TamperRuleID is "Sensor audit configuration tampered with".
	TamperRuleID = "5dafd08a-7e57-4cf0-8adc-bb9c515fcda4"
	// LossRuleID is "Sensor lost kernel audit events".
	LossRuleID = "451de76b-3bbf-44ab-a70f-2f005b703327"
)

// Actions of the events the sensor makes for its own rules' alerts.
const (
	// ActionAuditConfigChange is a change of the kernel audit
	// configuration made against the sensor; the event's process is the
	// process that made it.
	ActionAuditConfigChange = "audit_config_changed"
	// ActionEventsLost is a loss report; the event's process is the sensor.
	ActionEventsLost = "audit_events_lost"
)
