package docker

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
)

// containerInfo is what the provider keeps of one container: the parts of
// `docker inspect` that its labels, address and health depend on. It is
// plain data so that tests and `berth check --compose` can make one without
// an engine.
type containerInfo struct {
	ID   string
	Name string // without the leading "/"
	// Labels are all of the container's labels.
	Labels map[string]string
	// Running is false for created, exited and dead containers.
	Running bool
	Paused  bool
	// Health is the HEALTHCHECK status: "" (no health check), "starting",
	// "healthy" or "unhealthy".
	Health string
	// NetworkMode is HostConfig.NetworkMode: "bridge", "host", "none",
	// "container:<id>" or a network name.
	NetworkMode string
	// Networks maps each network the container is on to its address there.
	Networks map[string]networkInfo
	// Ports are the container's exposed ports with their host bindings,
	// sorted by number.
	Ports []portInfo
	// Draining is set when the container was sent its stop signal: it
	// takes no new requests while it shuts down.
	Draining bool
}

// networkInfo is one network a container is attached to.
type networkInfo struct {
	ID string
	IP string // IPv4 if any, else IPv6
}

// portInfo is one exposed port and the first host binding of it, if any.
type portInfo struct {
	Port     int
	Proto    string
	HostIP   string
	HostPort int
}

// serving reports whether the container may receive new requests: it runs,
// is not paused or stopping, and is healthy if it has a health check.
func (c *containerInfo) serving() bool {
	return c.Running && !c.Paused && !c.Draining && (c.Health == "" || c.Health == "healthy")
}

// fromInspect converts an inspect answer.
func fromInspect(r container.InspectResponse) *containerInfo {
	c := &containerInfo{Networks: map[string]networkInfo{}}
	if r.ContainerJSONBase != nil {
		c.ID = r.ID
		c.Name = strings.TrimPrefix(r.Name, "/")
		if s := r.State; s != nil {
			c.Running = s.Running && !s.Restarting
			c.Paused = s.Paused
			if s.Health != nil && s.Health.Status != "none" {
				c.Health = string(s.Health.Status)
			}
		}
		if r.HostConfig != nil {
			c.NetworkMode = string(r.HostConfig.NetworkMode)
		}
	}
	if r.Config != nil {
		c.Labels = r.Config.Labels
		for p := range r.Config.ExposedPorts {
			c.addPort(p.Int(), p.Proto(), "", 0)
		}
	}
	if ns := r.NetworkSettings; ns != nil {
		for name, ep := range ns.Networks {
			if ep == nil {
				continue
			}
			ip := ep.IPAddress
			if ip == "" {
				ip = ep.GlobalIPv6Address
			}
			c.Networks[name] = networkInfo{ID: ep.NetworkID, IP: ip}
		}
		for p, bindings := range ns.Ports {
			hostIP, hostPort := "", 0
			for _, b := range bindings {
				if n, err := strconv.Atoi(b.HostPort); err == nil {
					hostIP, hostPort = b.HostIP, n
					break
				}
			}
			c.addPort(p.Int(), p.Proto(), hostIP, hostPort)
		}
	}
	if c.Labels == nil {
		c.Labels = map[string]string{}
	}
	sort.Slice(c.Ports, func(i, j int) bool {
		if c.Ports[i].Port != c.Ports[j].Port {
			return c.Ports[i].Port < c.Ports[j].Port
		}
		return c.Ports[i].Proto < c.Ports[j].Proto
	})
	return c
}

// addPort records an exposed port, merging a binding into an entry that
// ExposedPorts already made.
func (c *containerInfo) addPort(port int, proto, hostIP string, hostPort int) {
	if port <= 0 {
		return
	}
	for i := range c.Ports {
		if c.Ports[i].Port == port && c.Ports[i].Proto == proto {
			if hostPort != 0 {
				c.Ports[i].HostIP, c.Ports[i].HostPort = hostIP, hostPort
			}
			return
		}
	}
	c.Ports = append(c.Ports, portInfo{Port: port, Proto: proto, HostIP: hostIP, HostPort: hostPort})
}

// inspector is the part of the Docker client the provider reads
// containers with; tests replace it.
type inspector interface {
	ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
}

// inspect asks the engine about one container.
func inspect(ctx context.Context, cli inspector, id string) (*containerInfo, error) {
	r, err := cli.ContainerInspect(ctx, id)
	if err != nil {
		return nil, err
	}
	return fromInspect(r), nil
}
