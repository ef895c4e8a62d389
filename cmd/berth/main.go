// Command berth is a container-aware dynamic reverse proxy. It reads its
// static configuration (Traefik's shape) from a file, BERTH_*/TRAEFIK_*
// environment variables and flags, watches its providers, and routes.
//
//	berth [flags]          run the proxy
//	berth check PATH...    validate static and dynamic configuration files
//	berth version          print the version
//	berth healthcheck      ask a running berth's /ping (for HEALTHCHECK)
package main

import (
	"fmt"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Environ()))
}

func run(args, environ []string) int {
	if len(args) > 0 && !isFlag(args[0]) {
		switch args[0] {
		case "version":
			fmt.Printf("berth %s\n", version)
			return 0
		case "check":
			return check(args[1:], environ, os.Stdout)
		case "healthcheck":
			return healthcheck(args[1:], environ, os.Stderr)
		case "help":
			usage(os.Stdout)
			return 0
		default:
			fmt.Fprintf(os.Stderr, "berth: unknown command %q\n", args[0])
			usage(os.Stderr)
			return 2
		}
	}
	for _, a := range args {
		if a == "--help" || a == "-h" {
			usage(os.Stdout)
			return 0
		}
	}
	return serve(args, environ)
}

func isFlag(s string) bool { return len(s) > 0 && s[0] == '-' }

func usage(w *os.File) {
	fmt.Fprint(w, `Usage:
  berth [--configFile=FILE] [--section.option=value ...]   run the proxy
  berth check PATH...                                      validate configuration files (static or dynamic)
  berth version                                            print the version
  berth healthcheck [same flags as the running berth]      exit 0 if its /ping answers 200

Flags, BERTH_* / TRAEFIK_* environment variables and the file use Traefik's
static configuration keys, e.g. --entryPoints.web.address=:80
--providers.file.directory=/etc/berth --ping=true. See docs/configuration.md.
`)
}
