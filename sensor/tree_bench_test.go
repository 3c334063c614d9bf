package sensor

import (
	"runtime"
	"strconv"
	"testing"
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
			tree.Put(&Proc{
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
