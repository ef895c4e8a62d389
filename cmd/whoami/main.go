// Command whoami is a tiny HTTP server that answers with who it is and what
// it received. berth's demo and end-to-end tests run it as a backend, in a
// container built FROM scratch or as a plain process.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"sort"
	"strings"
)

func main() {
	addr := flag.String("addr", envOr("WHOAMI_ADDR", ":80"), "listen address")
	name := flag.String("name", envOr("WHOAMI_NAME", ""), "name to report (default: hostname)")
	flag.Parse()
	if *name == "" {
		*name, _ = os.Hostname()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		fmt.Fprintf(&b, "Name: %s\n", *name)
		fmt.Fprintf(&b, "%s %s %s\n", r.Method, r.RequestURI, r.Proto)
		fmt.Fprintf(&b, "Host: %s\n", r.Host)
		fmt.Fprintf(&b, "RemoteAddr: %s\n", r.RemoteAddr)
		keys := make([]string, 0, len(r.Header))
		for k := range r.Header {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			for _, v := range r.Header[k] {
				fmt.Fprintf(&b, "%s: %s\n", k, v)
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Whoami", *name)
		_, _ = w.Write([]byte(b.String()))
	})
	log.Printf("whoami %q listening on %s", *name, *addr)
	log.Fatal(http.ListenAndServe(*addr, mux))
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
