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
//
// Choices where the upstream text leaves room, each tested:
//   - An IPv4-mapped IPv6 destination (::ffff:127.0.0.1) is judged as the
//     IPv4 address it carries, and an IPv6 zone is ignored; otherwise a
//     connect() through an AF_INET6 socket would bypass the loopback and
//     private-range exclusions (destination.go).
//   - An event whose join key is empty (the sensor could not tell its
//     entity id) never starts or joins a sequence: joining two unknowns
//     would link unrelated processes. Such events are counted
//     (EngineStats.Unkeyed), not dropped silently.
//   - Time is the events' own time. Pending sequences expire when an event
//     later than their deadline arrives or on Engine.Expire; an event
//     delivered more than maxspan late is therefore not joined.
//   - Of two first events for the same key, the later timestamp wins, also
//     when they arrive out of order.
package rules
