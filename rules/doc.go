// Package rules speaks detection: it defines detection rules as Go data plus
// small predicate functions, and runs them with a streaming sequence engine
// that follows the semantics of Elastic's EQL `sequence` (by join key, with
// maxspan, one pending sequence per key, one alert per completed sequence).
//
// The input is Event (event.go), built by the sensor from audit and /proc
// data; the output is Match, the matched events in sequence order. The
// package imports nothing of this project: data flows audit/, procfs/ ->
// sensor/ -> rules/ -> output.
//
// Rules are not an EQL interpreter: each step of a sequence is a Go filter
// function and a join-key function, written to read like the upstream query
// they reproduce (see aptnetcon.go for "Suspicious APT Package Manager
// Network Connection").
package rules
