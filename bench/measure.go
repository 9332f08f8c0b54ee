package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
)

const (
	smallKey = "small"
	largeKey = "large"
)

// prepare seeds the objects the GETs read, checks that the proxy returns
// them intact, and warms both sides' connection pools.
func (e *env) prepare(ctx context.Context, res *results) error {
	small := make([]byte, e.cfg.SmallSize)
	if _, err := newGen(int64(len(small))).Read(small); err != nil {
		return err
	}
	if _, err := e.direct.aws.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(smallKey), Body: bytes.NewReader(small),
	}); err != nil {
		return fmt.Errorf("seed %s: %w", smallKey, err)
	}
	if _, err := e.direct.aws.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(largeKey), Body: newGen(e.cfg.LargeSize),
		ContentLength: aws.Int64(e.cfg.LargeSize),
	}); err != nil {
		return fmt.Errorf("seed %s: %w", largeKey, err)
	}
	out, err := e.proxy.aws.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(smallKey)})
	if err != nil {
		return fmt.Errorf("GET %s through the proxy: %w", smallKey, err)
	}
	got, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil {
		return fmt.Errorf("GET %s through the proxy: %w", smallKey, err)
	}
	if !bytes.Equal(got, small) {
		return fmt.Errorf("GET %s through the proxy: %d bytes differ from the %d stored", smallKey, len(got), len(small))
	}
	res.Checks = append(res.Checks, fmt.Sprintf("the %s object read through the proxy is byte-identical to what was stored", formatSize(int64(len(small)))))
	for _, ep := range []*endpoint{e.direct, e.proxy} {
		if _, _, err := keyRound(ctx, ep, smallKey, 10*e.cfg.SmallConc, e.cfg.SmallConc, e.cfg.SmallSize); err != nil {
			return fmt.Errorf("warm-up %s: %w", ep.name, err)
		}
	}
	return nil
}

// measureSmall runs SmallRounds rounds of SmallPerRound 4 KiB GETs per
// endpoint at SmallConc concurrency, alternating the endpoints.
func (e *env) measureSmall(ctx context.Context, res *results) error {
	s := smallResult{Size: e.cfg.SmallSize, Conc: e.cfg.SmallConc, Rounds: e.cfg.SmallRounds, PerRound: e.cfg.SmallPerRound,
		SerialRounds: e.cfg.SerialRounds, SerialPerRound: e.cfg.SerialPerRound}
	var err error
	s.Direct, s.Proxy, s.DirectCPU, s.ProxyCPU, err = e.smallSeries(ctx, e.cfg.SmallRounds, e.cfg.SmallPerRound, e.cfg.SmallConc)
	if err != nil {
		return err
	}
	// One request at a time: the latency the proxy adds when the machine
	// is not saturated by the benchmark itself.
	s.SerialDirect, s.SerialProxy, _, _, err = e.smallSeries(ctx, e.cfg.SerialRounds, e.cfg.SerialPerRound, 1)
	if err != nil {
		return err
	}
	res.Small = &s
	return nil
}

// smallSeries runs rounds of perRound small GETs at conc per endpoint,
// alternating the endpoints, and pools the latencies.
func (e *env) smallSeries(ctx context.Context, rounds, perRound, conc int) (direct, proxy latStats, directCPU, proxyCPU cpuUse, err error) {
	lat := map[string][]time.Duration{}
	elapsed := map[string]time.Duration{}
	cpu := map[string]*cpuUse{"direct": &directCPU, "proxy": &proxyCPU}
	for round := range rounds {
		err := e.both(round, func(ep *endpoint) error {
			var l []time.Duration
			var d time.Duration
			u, err := e.cpuSpent(func() (err error) {
				l, d, err = keyRound(ctx, ep, smallKey, perRound, conc, e.cfg.SmallSize)
				return err
			})
			cpu[ep.name].add(u)
			lat[ep.name] = append(lat[ep.name], l...)
			elapsed[ep.name] += d
			return err
		})
		if err != nil {
			return direct, proxy, directCPU, proxyCPU, err
		}
	}
	return latencyStats(lat["direct"], elapsed["direct"]), latencyStats(lat["proxy"], elapsed["proxy"]), directCPU, proxyCPU, nil
}

// keyRound performs n GETs of key through ep with conc workers, checking
// each body's size, and returns each request's latency (call to last body
// byte) and the wall time.
func keyRound(ctx context.Context, ep *endpoint, key string, n, conc, size int) ([]time.Duration, time.Duration, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	per := make([][]time.Duration, conc)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range conc {
		per[w] = make([]time.Duration, 0, n/conc+1)
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				t0 := time.Now()
				err := getKey(ctx, ep, key, size)
				d := time.Since(t0)
				if err != nil {
					cancel(err)
					return
				}
				per[w] = append(per[w], d)
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	if err := context.Cause(ctx); err != nil {
		return nil, 0, err
	}
	return slices.Concat(per...), wall, nil
}

// getKey GETs key through ep, reading the body to its end, and checks
// that it is size bytes.
func getKey(ctx context.Context, ep *endpoint, key string, size int) error {
	out, err := ep.aws.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return err
	}
	n, err := io.Copy(io.Discard, out.Body)
	out.Body.Close()
	if err != nil {
		return err
	}
	if n != int64(size) {
		return fmt.Errorf("GET %s: %d bytes, want %d", key, n, size)
	}
	return nil
}

// measurePutAWS: aws-sdk-go-v2 PutObject with a seekable body, the SDK's
// default over plain http (it hashes the body before sending).
func (e *env) measurePutAWS(ctx context.Context, res *results) error {
	t := throughput{
		Key:    "PUT aws-sdk-go-v2",
		Name:   fmt.Sprintf("PUT %s, aws-sdk-go-v2 PutObject (seekable body)", formatSize(e.cfg.LargeSize)),
		Size:   e.cfg.LargeSize,
		Client: "aws-sdk-go-v2 s3.PutObject, SDK defaults, body an io.ReadSeeker generated on the fly",
	}
	return e.measurePut(ctx, res, t, "put-aws-", func(ctx context.Context, ep *endpoint, key string) error {
		_, err := ep.aws.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(key),
			Body: newGen(e.cfg.LargeSize), ContentLength: aws.Int64(e.cfg.LargeSize),
		})
		return err
	})
}

// measurePutMinio: minio-go PutObject with a stream (no seeking), single
// PUT: over http minio-go signs it as aws-chunked with a signature per
// 64 KiB chunk (STREAMING-AWS4-HMAC-SHA256-PAYLOAD).
func (e *env) measurePutMinio(ctx context.Context, res *results) error {
	t := throughput{
		Key:    "PUT minio-go",
		Name:   fmt.Sprintf("PUT %s, minio-go PutObject (stream, single PUT)", formatSize(e.cfg.LargeSize)),
		Size:   e.cfg.LargeSize,
		Client: "minio-go PutObject, DisableMultipart, body a plain io.Reader generated on the fly",
	}
	return e.measurePut(ctx, res, t, "put-minio-", func(ctx context.Context, ep *endpoint, key string) error {
		_, err := ep.minio.PutObject(ctx, bucket, key,
			streamOnly{newGen(e.cfg.LargeSize)}, e.cfg.LargeSize, minio.PutObjectOptions{DisableMultipart: true})
		return err
	})
}

// measurePut runs put against both endpoints (keys prefix+"direct" and
// prefix+"proxy"), records the payload mode the proxy saw, and checks both
// objects came out the same.
func (e *env) measurePut(ctx context.Context, res *results, t throughput, prefix string,
	put func(ctx context.Context, ep *endpoint, key string) error,
) error {
	err := e.repeat(ctx, &t, func(ctx context.Context, ep *endpoint) error {
		err := put(ctx, ep, prefix+ep.name)
		if err == nil && ep == e.proxy {
			t.Mode = ep.rec.lastPut().describe()
		}
		return err
	})
	if err != nil {
		return err
	}
	if err := e.sameObject(ctx, res, prefix+"direct", prefix+"proxy", e.cfg.LargeSize); err != nil {
		return err
	}
	res.Puts = append(res.Puts, t)
	return nil
}

// measureGet: aws-sdk-go-v2 GetObject of the large object, body copied to
// io.Discard.
func (e *env) measureGet(ctx context.Context, res *results) error {
	t := throughput{
		Key:    "GET",
		Name:   fmt.Sprintf("GET %s, aws-sdk-go-v2 GetObject", formatSize(e.cfg.LargeSize)),
		Size:   e.cfg.LargeSize,
		Client: "aws-sdk-go-v2 s3.GetObject, SDK defaults, body io.Copy to io.Discard",
		Mode:   "response body streamed; SDK default response checksum validation (WhenSupported)",
	}
	err := e.repeat(ctx, &t, func(ctx context.Context, ep *endpoint) error {
		out, err := ep.aws.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(largeKey)})
		if err != nil {
			return err
		}
		n, err := io.Copy(io.Discard, out.Body)
		out.Body.Close()
		if err != nil {
			return err
		}
		if n != e.cfg.LargeSize {
			return fmt.Errorf("GET %s: %d bytes, want %d", largeKey, n, e.cfg.LargeSize)
		}
		return nil
	})
	if err != nil {
		return err
	}
	res.Gets = append(res.Gets, t)
	return nil
}

// repeat runs op LargeReps times per endpoint, alternating which goes
// first, recording MB/s and the CPU time the proxy and MinIO spent.
func (e *env) repeat(ctx context.Context, t *throughput, op func(context.Context, *endpoint) error) error {
	for rep := range e.cfg.LargeReps {
		err := e.both(rep, func(ep *endpoint) error {
			octx, cancel := context.WithTimeout(ctx, 10*time.Minute)
			defer cancel()
			u, err := e.cpuSpent(func() error { return op(octx, ep) })
			if err != nil {
				return err
			}
			mbps := float64(t.Size) / u.Wall.Seconds() / 1e6
			if ep == e.proxy {
				t.Proxy = append(t.Proxy, mbps)
				t.ProxyCPU.add(u)
			} else {
				t.Direct = append(t.Direct, mbps)
				t.DirectCPU.add(u)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// sameObject checks, directly on MinIO, that the objects written directly
// and through the proxy have the expected size and the same ETag (the same
// content, for single PUTs).
func (e *env) sameObject(ctx context.Context, res *results, directKey, proxyKey string, size int64) error {
	var etags [2]string
	for i, k := range []string{directKey, proxyKey} {
		h, err := e.direct.aws.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
		if err != nil {
			return fmt.Errorf("HEAD %s: %w", k, err)
		}
		if n := aws.ToInt64(h.ContentLength); n != size {
			return fmt.Errorf("%s holds %d bytes, want %d", k, n, size)
		}
		etags[i] = aws.ToString(h.ETag)
	}
	if etags[0] != etags[1] {
		return fmt.Errorf("%s (ETag %s) differs from %s (ETag %s)", proxyKey, etags[1], directKey, etags[0])
	}
	res.Checks = append(res.Checks, fmt.Sprintf("%s written through the proxy has the same size and ETag (%s) as %s written directly", proxyKey, etags[1], directKey))
	for _, k := range []string{directKey, proxyKey} {
		_, _ = e.direct.aws.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
	}
	return nil
}

// measureRSS streams RSSSize bytes through the proxy twice (minio-go single
// streaming-signed PUT, then an aws-sdk-go-v2 multipart upload) while
// sampling the proxy's VmRSS every 50 ms.
func (e *env) measureRSS(ctx context.Context, res *results) error {
	size := e.cfg.RSSSize
	uploads := []struct {
		name, mode string
		fn         func(ctx context.Context) error
	}{
		{
			name: "minio-go PutObject, single streaming-signed PUT",
			fn: func(ctx context.Context) error {
				_, err := e.proxy.minio.PutObject(ctx, bucket, "rss-minio", streamOnly{newGen(size)}, size,
					minio.PutObjectOptions{DisableMultipart: true})
				return err
			},
		},
		{
			name: fmt.Sprintf("aws-sdk-go-v2 multipart upload, %s parts, %d in flight", formatSize(e.cfg.RSSPartSize), e.cfg.RSSConc),
			fn: func(ctx context.Context) error {
				return multipartUpload(ctx, e.proxy.aws, "rss-aws", size, e.cfg.RSSPartSize, e.cfg.RSSConc)
			},
		},
	}
	pid := e.lakegate.pid()
	for _, u := range uploads {
		baseline, _, err := procStatus(pid)
		if err != nil {
			return err
		}
		r := rssResult{Name: u.name, Bytes: size, Baseline: baseline}
		r.HWMReset = resetHWM(pid) == nil
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				if rss, _, err := procStatus(pid); err == nil {
					r.Samples++
					r.Peak = max(r.Peak, rss)
				}
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		}()
		octx, cancel := context.WithTimeout(ctx, 20*time.Minute)
		t0 := time.Now()
		err = u.fn(octx)
		r.Elapsed = time.Since(t0)
		cancel()
		close(stop)
		<-done
		if err != nil {
			return fmt.Errorf("%s: %w", u.name, err)
		}
		if _, hwm, err := procStatus(pid); err == nil {
			r.HWM = hwm
			r.Peak = max(r.Peak, hwm)
		}
		r.Mode = e.proxy.rec.lastPut().describe()
		res.RSS = append(res.RSS, r)
	}
	for _, k := range []string{"rss-minio", "rss-aws"} {
		h, err := e.direct.aws.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
		if err != nil {
			return fmt.Errorf("HEAD %s: %w", k, err)
		}
		if n := aws.ToInt64(h.ContentLength); n != size {
			return fmt.Errorf("%s holds %d bytes, want %d", k, n, size)
		}
		_, _ = e.direct.aws.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
	}
	res.Checks = append(res.Checks, fmt.Sprintf("both %s objects uploaded through the proxy for the memory test have their full size", formatSize(size)))
	return nil
}

// multipartUpload uploads size generated bytes as parts of partSize, conc
// at a time, each part body seekable (the SDK hashes it over http).
func multipartUpload(ctx context.Context, c *s3.Client, key string, size, partSize int64, conc int) (err error) {
	cmu, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_, _ = c.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{
				Bucket: aws.String(bucket), Key: aws.String(key), UploadId: cmu.UploadId,
			})
		}
	}()
	nparts := int((size + partSize - 1) / partSize)
	parts := make([]types.CompletedPart, nparts)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= nparts || ctx.Err() != nil {
					return
				}
				off := int64(i) * partSize
				n := min(partSize, size-off)
				out, err := c.UploadPart(ctx, &s3.UploadPartInput{
					Bucket: aws.String(bucket), Key: aws.String(key), UploadId: cmu.UploadId,
					PartNumber: aws.Int32(int32(i + 1)), Body: &genReader{base: off, size: n}, ContentLength: aws.Int64(n),
				})
				if err != nil {
					cancel(fmt.Errorf("part %d: %w", i+1, err))
					return
				}
				parts[i] = types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String(key), UploadId: cmu.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return fmt.Errorf("complete: %w", err)
	}
	return nil
}

// latencyStats summarises request latencies; elapsed is the wall time the
// requests took, for the request rate.
func latencyStats(l []time.Duration, elapsed time.Duration) latStats {
	s := latStats{N: len(l), Elapsed: elapsed}
	if len(l) == 0 || elapsed <= 0 {
		return s
	}
	l = slices.Clone(l)
	slices.Sort(l)
	s.P50, s.P90, s.P99, s.Max = percentile(l, 50), percentile(l, 90), percentile(l, 99), l[len(l)-1]
	s.RPS = float64(len(l)) / elapsed.Seconds()
	return s
}

// percentile is the nearest-rank percentile of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}
