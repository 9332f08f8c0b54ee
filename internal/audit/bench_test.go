package audit

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkDecideParallel measures Decide under parallel load with the
// local file sink and the default 1s fsync interval: each call waits until
// its record was written (write(2)), sharing writes with concurrent calls
// (group commit). Compare runs with benchstat:
//
//	go test ./internal/audit -run '^$' -bench DecideParallel -count 10 -cpu 1,2,8,32 > new.txt
//	benchstat old.txt new.txt
//
// records/write reports how many decisions one write carried on average.
func BenchmarkDecideParallel(b *testing.B) {
	for _, fsync := range []time.Duration{time.Second, 0} {
		name := "fsync=" + fsync.String()
		if fsync == 0 {
			name = "fsync=every-batch"
		}
		b.Run(name, func(b *testing.B) {
			br, err := New(Options{
				Sinks: Sinks{Dir: b.TempDir(), MaxSize: 256 << 20}, Node: "bench", FsyncInterval: fsync,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			})
			if err != nil {
				b.Fatal(err)
			}
			var n atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(8) // 8 × GOMAXPROCS concurrent requests
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ev := sampleEvent(1)
				for pb.Next() {
					ev.RequestID = "bench-" + strconv.FormatInt(n.Add(1), 10)
					if err := br.Decide(context.Background(), ev); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			st := br.Stats()
			if st.Batches > 0 {
				b.ReportMetric(float64(st.Decisions)/float64(st.Batches), "records/write")
			}
			if err := br.Close(context.Background()); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkEncodeRecord is the per-event CPU cost on the request path.
func BenchmarkEncodeRecord(b *testing.B) {
	ev := sampleEvent(1)
	ev.Time = time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeRecord(ev, recordDecision, "node", DefaultMaxRecordBytes); err != nil {
			b.Fatal(err)
		}
	}
}
