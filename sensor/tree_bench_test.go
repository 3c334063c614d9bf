package sensor

import (
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/aptsentinel/aptsentinel/audit"
)

// BenchmarkTreeMemory fills a cache of DefaultCacheSize with entities like
// a busy server's (argv of five words, paths, a cwd) and reports the heap
// they hold: the sensor's memory is mostly this cache.
func BenchmarkTreeMemory(b *testing.B) {
	var perEntity, total float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		tree, err := NewTree(testBoot, DefaultCacheSize)
		if err != nil {
			b.Fatal(err)
		}
		for pid := 1; pid <= DefaultCacheSize; pid++ {
			n := strconv.Itoa(pid)
			tree.Put(&Entity{
				PID: pid, PPID: pid / 2, StartTicks: uint64(pid) * 7, Name: "worker-" + n,
				Executable: "/usr/lib/postgresql/15/bin/postgres",
				Args:       []string{"postgres:", "worker", "process", "--id", n},
				Cwd:        "/var/lib/postgresql/15/main", Source: "fork",
			})
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		total = float64(after.HeapAlloc - before.HeapAlloc)
		perEntity = total / float64(tree.Len())
		runtime.KeepAlive(tree)
	}
	b.ReportMetric(perEntity, "B/entity")
	b.ReportMetric(total/(1<<20), "MiB/full-cache")
}

// BenchmarkTreeMemoryWorstCase puts 32,768 entities as costly as the caps
// allow: each with its own argv at audit.DefaultMaxArgBytes (as an exec
// storm of huge argvs leaves them) and a full ancestry. The byte bound
// (DefaultCacheBytes) evicts before the entry bound: the heap figure is
// the cache's bound in bytes, where BenchmarkTreeMemory is a typical host.
func BenchmarkTreeMemoryWorstCase(b *testing.B) {
	var perEntity, total float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		tree, err := NewTree(testBoot, DefaultCacheSize)
		if err != nil {
			b.Fatal(err)
		}
		// A chain of 32 ancestors (init, sshd, a shell, ...) that every
		// entity descends from: each entity's ancestry is full.
		var parent *Entity
		for pid := 100001; pid <= 100032; pid++ {
			p := tree.Put(&Entity{PID: pid, StartTicks: 1, Name: "ancestor", Source: "scan"})
			Link(p, parent)
			parent = p
		}
		for pid := 1; pid <= DefaultCacheSize; pid++ {
			// The argv's bytes plus 16 per argument make the cap.
			big := strings.Repeat(strconv.Itoa(pid%10), audit.DefaultMaxArgBytes-3*16-len("sh")-len("-c"))
			p := tree.Put(&Entity{
				PID: pid, PPID: pid - 1, StartTicks: uint64(pid) * 7, Name: "sh",
				Executable: "/usr/bin/dash", Args: []string{"sh", "-c", big},
				Cwd: "/var/lib/postgresql/15/main", Source: "fork",
			})
			Link(p, parent)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		total = float64(after.HeapAlloc - before.HeapAlloc)
		perEntity = total / float64(tree.Len())
		runtime.KeepAlive(tree)
	}
	b.ReportMetric(perEntity, "B/entity")
	b.ReportMetric(total/(1<<20), "MiB/full-cache")
}
