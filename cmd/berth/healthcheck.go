package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/berthproxy/berth/pkg/staticconf"
)

// healthcheck asks the running berth's /ping on its ping entrypoint and
// exits 0 on 200, for a container HEALTHCHECK. It takes the same flags as
// the running instance so that it finds the same address.
func healthcheck(args, environ []string, errOut io.Writer) int {
	static, _, err := staticconf.Load(args, environ)
	if err != nil {
		fmt.Fprintf(errOut, "berth healthcheck: %v\n", err)
		return 1
	}
	if static.Ping == nil {
		fmt.Fprintln(errOut, "berth healthcheck: ping is not enabled (add --ping=true)")
		return 1
	}
	ep, ok := static.EntryPoints[static.Ping.EntryPoint]
	if !ok {
		fmt.Fprintf(errOut, "berth healthcheck: ping entrypoint %q does not exist\n", static.Ping.EntryPoint)
		return 1
	}
	host, port, err := net.SplitHostPort(strings.TrimSuffix(ep.Address, "/tcp"))
	if err != nil {
		fmt.Fprintf(errOut, "berth healthcheck: entrypoint address %q: %v\n", ep.Address, err)
		return 1
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + net.JoinHostPort(host, port) + "/ping")
	if err != nil {
		fmt.Fprintf(errOut, "berth healthcheck: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(errOut, "berth healthcheck: /ping answered %s\n", resp.Status)
		return 1
	}
	fmt.Fprintln(errOut, "OK")
	return 0
}
