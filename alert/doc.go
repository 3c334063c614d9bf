// Package alert is the last stage of the pipeline: it turns a rules.Match
// of any rule into one ECS alert document (alert.go, ecs.go, message.go)
// and delivers it as a JSON line to stdout or as a native journal entry
// (writer.go, journal.go), the output `aptsentinel run --output` chooses
// (output.go).
//
// Data flows audit/, procfs/ -> sensor/ -> rules/ -> alert/: the package
// imports rules for the match and nothing of the sensor. The sensor hands
// each match to a Stage (stage.go), which builds, marshals and writes it.
//
// Reading order: alert.go (the document), ecs.go (one matched event as an
// ECS event), message.go (the rule's message template), stage.go, then
// the writers.
package alert
