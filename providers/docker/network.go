package docker

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
)

// env is what choosing an address needs besides the container itself.
type env struct {
	// network is the provider's `network` option.
	network string
	// useBindPortIP routes to the host address a port is published on.
	useBindPortIP bool
	// selfNetworks are the networks of berth's own container, when berth
	// runs in one; nil otherwise.
	selfNetworks map[string]bool
	// lookup finds another container by ID or name, for
	// `network_mode: container:<id>`; it may be nil.
	lookup func(idOrName string) *containerInfo
}

// address is where a container's server listens.
type address struct {
	ip string
	// warning is set when the choice was not obvious, so that users can
	// pin it with a label.
	warning string
}

// chooseAddress picks the IP address berth uses to reach c, in a fixed
// order so that the choice never depends on map order: the container's
// `traefik.docker.network` label, the provider's `network` option, a
// network berth's own container shares with it, its only network, and last
// the first network by name (with a warning that lists the choices).
// `network_mode: host` is reached on 127.0.0.1 and `container:<id>` at that
// container's address.
func chooseAddress(c *containerInfo, labelNetwork string, e env) (address, error) {
	return chooseAddressDepth(c, labelNetwork, e, 0)
}

func chooseAddressDepth(c *containerInfo, labelNetwork string, e env, depth int) (address, error) {
	mode := c.NetworkMode
	switch {
	case mode == "host":
		return address{ip: "127.0.0.1"}, nil
	case strings.HasPrefix(mode, "container:"):
		other := strings.TrimPrefix(mode, "container:")
		var o *containerInfo
		if e.lookup != nil && depth < 3 {
			o = e.lookup(other)
		}
		if o == nil {
			return address{}, fmt.Errorf("uses the network of container %q, which berth cannot see", other)
		}
		return chooseAddressDepth(o, labelNetwork, e, depth+1)
	}
	names := make([]string, 0, len(c.Networks))
	for n, ni := range c.Networks {
		if ni.IP != "" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return address{}, fmt.Errorf("has no network address (network mode %q); attach it to a network berth can reach", mode)
	}
	project := c.Labels[labelComposeProject]
	var warns []string
	for _, want := range []struct{ name, from string }{{labelNetwork, "label \"traefik.docker.network\""}, {e.network, "provider option \"network\""}} {
		if want.name == "" {
			continue
		}
		if n := matchNetwork(names, want.name, project); n != "" {
			return address{ip: c.Networks[n].IP, warning: strings.Join(warns, "; ")}, nil
		}
		warns = append(warns, fmt.Sprintf("network %q from %s is not one of the container's networks (%s)", want.name, want.from, strings.Join(names, ", ")))
	}
	var shared []string
	for _, n := range names {
		if e.selfNetworks[n] || e.selfNetworks[c.Networks[n].ID] {
			shared = append(shared, n)
		}
	}
	switch {
	case len(shared) > 0:
		// A network berth's container is on is the one it can reach.
		return address{ip: c.Networks[shared[0]].IP, warning: strings.Join(warns, "; ")}, nil
	case len(names) == 1:
		return address{ip: c.Networks[names[0]].IP, warning: strings.Join(warns, "; ")}, nil
	}
	warns = append(warns, fmt.Sprintf("is on several networks (%s); using %q, the first by name; set the label \"traefik.docker.network\" or the provider option \"network\" to choose",
		strings.Join(names, ", "), names[0]))
	return address{ip: c.Networks[names[0]].IP, warning: strings.Join(warns, "; ")}, nil
}

// matchNetwork finds want among names, as written or, for a compose
// container, as compose names it ("<project>_<want>").
func matchNetwork(names []string, want, project string) string {
	for _, n := range names {
		if n == want {
			return n
		}
	}
	if project != "" {
		for _, n := range names {
			if n == project+"_"+want {
				return n
			}
		}
	}
	return ""
}

// choosePort picks the container port of a service: the label, else the
// only exposed TCP port, else the lowest one. It fails when the container
// exposes no TCP port and no label names one.
func choosePort(c *containerInfo, labelPort int) (int, error) {
	if labelPort > 0 {
		return labelPort, nil
	}
	lowest := 0
	for _, p := range c.Ports {
		if (p.Proto == "tcp" || p.Proto == "") && (lowest == 0 || p.Port < lowest) {
			lowest = p.Port
		}
	}
	if lowest > 0 {
		return lowest, nil
	}
	return 0, fmt.Errorf("exposes no TCP port; set the label \"traefik.http.services.<name>.loadbalancer.server.port\"")
}

// hostPort returns where port is published on the host, for useBindPortIP.
// An unspecified host address (0.0.0.0, ::) is reached on loopback.
func hostPort(c *containerInfo, port int) (ip string, hp int, ok bool) {
	for _, p := range c.Ports {
		if p.Port == port && p.HostPort > 0 && (p.Proto == "tcp" || p.Proto == "") {
			ip = p.HostIP
			if ip == "" || ip == "0.0.0.0" || ip == "::" {
				ip = "127.0.0.1"
			}
			return ip, p.HostPort, true
		}
	}
	return "", 0, false
}

// hostJoin joins an address and a port for a URL.
func hostJoin(ip string, port int) string { return net.JoinHostPort(ip, strconv.Itoa(port)) }
