// Package config holds berth's configuration as plain data: the static
// configuration read once at start (entrypoints, providers, API, logs) and the
// dynamic configuration that providers send as full snapshots (routers,
// services, middlewares, TLS certificates). It has no behaviour beyond
// defaults and small helpers; decoding lives in pkg/decode and pkg/dynamic,
// compilation in pkg/routing.
package config

import "fmt"

// Issue is one problem found in configuration. It always names where it came
// from (Source) so that a user can go straight to the file line or container
// label at fault.
type Issue struct {
	// Source is where the problem is: "dynamic.yml:14:7" or
	// `container "shop-web-1" label "traefik.http.routers.web.rule"`.
	Source string `json:"source,omitempty"`
	// Provider is the provider that reported the problem ("file", "docker").
	Provider string `json:"provider,omitempty"`
	// Kind is the kind of object concerned: "router", "service",
	// "middleware", "tls", "file", "label", "entrypoint", "static".
	Kind string `json:"kind,omitempty"`
	// Object is the qualified name of the object the problem disables or
	// concerns ("web@file"), when there is one.
	Object string `json:"object,omitempty"`
	// Key and Value are the configuration key and the offending value.
	Key   string `json:"key,omitempty"`
	Value string `json:"value,omitempty"`
	// Msg says what is wrong and, where possible, what would be valid.
	Msg string `json:"message"`
	// Fatal is true when the object could not be built and is disabled; a
	// non-fatal issue is a warning and the object still works.
	Fatal bool `json:"fatal"`
}

// Error formats the issue the way users see it in logs and in `berth check`.
func (i Issue) Error() string {
	s := ""
	if i.Source != "" {
		s = i.Source + ": "
	}
	if i.Object != "" {
		s += i.Kind + " \"" + i.Object + "\": "
	}
	if i.Key != "" {
		s += fmt.Sprintf("%q", i.Key)
		if i.Value != "" {
			s += fmt.Sprintf(" = %q", i.Value)
		}
		s += ": "
	}
	return s + i.Msg
}

// String is Error; it lets an Issue print itself in %v.
func (i Issue) String() string { return i.Error() }

// HasFatal reports whether any issue in the list is fatal.
func HasFatal(issues []Issue) bool {
	for _, i := range issues {
		if i.Fatal {
			return true
		}
	}
	return false
}
