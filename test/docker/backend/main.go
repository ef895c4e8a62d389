// Command backend is the test server of berth's Docker end-to-end tests: a
// static binary in an image FROM scratch. It answers its hostname, delays
// answers by ?delay=DURATION, reports the Host it was asked for, and has a
// health endpoint the tests switch with /health/ok and /health/fail. On
// SIGTERM it keeps serving for SHUTDOWN_DELAY (as a well-behaved app does
// while the proxy takes it out of rotation), then shuts down gracefully.
//
// `backend -check` is its own HEALTHCHECK: it exits 0 if /health answers
// 200.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	check := flag.Bool("check", false, "exit 0 if the local /health answers 200")
	flag.Parse()
	addr := ":80"
	if a := os.Getenv("ADDR"); a != "" {
		addr = a
	}
	if *check {
		resp, err := (&http.Client{Timeout: 2 * time.Second}).Get("http://127.0.0.1" + addr + "/health")
		if err != nil || resp.StatusCode != 200 {
			os.Exit(1)
		}
		os.Exit(0)
	}
	host, _ := os.Hostname()
	var healthy atomic.Bool
	healthy.Store(os.Getenv("START_UNHEALTHY") == "")
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
		if !healthy.Load() {
			http.Error(w, "unhealthy", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/health/ok", func(w http.ResponseWriter, _ *http.Request) { healthy.Store(true) })
	mux.HandleFunc("/health/fail", func(w http.ResponseWriter, _ *http.Request) { healthy.Store(false) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if d, err := time.ParseDuration(r.URL.Query().Get("delay")); err == nil && d > 0 {
			time.Sleep(d)
		}
		w.Header().Set("X-Host", host)
		fmt.Fprintf(w, "%s %s\n", host, r.Host)
	})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		delay := time.Second
		if d, err := time.ParseDuration(os.Getenv("SHUTDOWN_DELAY")); err == nil {
			delay = d
		}
		time.Sleep(delay)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
