// loadgen sends one HTTPS request over and over from a few keep-alive connections and
// reports each request's latency: the client the bench drives a door with when its
// baseline has no client at all (bench/README.md, "Token issuance"). A Node client on
// the same two cores cost ~0.25 ms of CPU per request, as much as half of what the
// operator spends on a token; this one costs a fraction of that, so the figure is the
// door's and not the client's.
//
//	loadgen < spec.json   prints {"completed":…,"seconds":…,"latenciesMs":[…],"cpuMs":…}
//
// The spec comes on stdin, not as arguments, because its headers carry credentials.
// Closed loop: `concurrency` workers each send the next request when their last one is
// answered, until `count` requests have been sent or `durationMs` has passed. The first
// answer with another status, or without `expectBody` in it, stops the run; it is
// reported as `failure` with the requests completed before it.
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type spec struct {
	URL          string            `json:"url"`
	Method       string            `json:"method"`
	Headers      map[string]string `json:"headers"`
	Body         string            `json:"body"`
	CA           string            `json:"ca"`
	Concurrency  int               `json:"concurrency"`
	Count        int64             `json:"count"`
	DurationMs   int               `json:"durationMs"`
	ExpectStatus int               `json:"expectStatus"`
	ExpectBody   string            `json:"expectBody"`
}

type result struct {
	Completed   int       `json:"completed"`
	Seconds     float64   `json:"seconds"`
	LatenciesMs []float64 `json:"latenciesMs"`
	CPUMs       float64   `json:"cpuMs"`
	Failure     string    `json:"failure,omitempty"`
}

func main() {
	var s spec
	if err := json.NewDecoder(os.Stdin).Decode(&s); err != nil {
		fail("reading the load spec (JSON) from stdin: %v", err)
	}
	if s.URL == "" || s.Concurrency < 1 || s.Count < 1 || s.DurationMs < 1 || s.ExpectStatus == 0 {
		fail("the load spec needs url, concurrency ≥ 1, count ≥ 1, durationMs ≥ 1 and expectStatus")
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(s.CA)) {
		fail("the load spec's ca holds no PEM certificate")
	}
	client := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: roots},
			MaxConnsPerHost:     s.Concurrency,
			MaxIdleConnsPerHost: s.Concurrency,
			DisableCompression:  true,
		},
	}

	var (
		sent    atomic.Int64
		failed  atomic.Bool
		failure string // written once, by the worker that set failed; read after wg.Wait
		wg      sync.WaitGroup
	)
	latencies := make([][]float64, s.Concurrency)
	start := time.Now()
	deadline := start.Add(time.Duration(s.DurationMs) * time.Millisecond)
	for w := range s.Concurrency {
		wg.Go(func() {
			for !failed.Load() && time.Now().Before(deadline) && sent.Add(1) <= s.Count {
				began := time.Now()
				if err := send(client, &s); err != nil {
					if !failed.Swap(true) {
						failure = err.Error()
					}
					return
				}
				latencies[w] = append(latencies[w], float64(time.Since(began).Microseconds())/1000)
			}
		})
	}
	wg.Wait()
	out := result{Seconds: time.Since(start).Seconds(), Failure: failure, LatenciesMs: []float64{}}
	for _, l := range latencies {
		out.LatenciesMs = append(out.LatenciesMs, l...)
	}
	out.Completed = len(out.LatenciesMs)
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err == nil {
		out.CPUMs = float64(usage.Utime.Nano()+usage.Stime.Nano()) / 1e6
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail("writing the result: %v", err)
	}
}

// send makes one request and checks its answer.
func send(client *http.Client, s *spec) error {
	req, err := http.NewRequest(s.Method, s.URL, strings.NewReader(s.Body))
	if err != nil {
		return err
	}
	for name, value := range s.Headers {
		req.Header.Set(name, value)
	}
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	if res.StatusCode != s.ExpectStatus || !bytes.Contains(body, []byte(s.ExpectBody)) {
		return fmt.Errorf("%s %s answered %d: %.500s", s.Method, s.URL, res.StatusCode, body)
	}
	return nil
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadgen: "+format+"\n", args...)
	os.Exit(2)
}
