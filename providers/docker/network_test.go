package docker

import (
	"strings"
	"testing"
)

func TestChooseAddress(t *testing.T) {
	nets := func(kv ...string) map[string]networkInfo {
		m := map[string]networkInfo{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = networkInfo{ID: "id-" + kv[i], IP: kv[i+1]}
		}
		return m
	}
	other := &containerInfo{ID: "0123456789abcdef", Name: "vpn", Networks: nets("vpnnet", "10.9.0.2")}
	tests := []struct {
		desc     string
		c        *containerInfo
		label    string
		env      env
		wantIP   string
		wantWarn string
		wantErr  string
	}{
		{desc: "only network", c: &containerInfo{Networks: nets("bridge", "172.17.0.2")}, wantIP: "172.17.0.2"},
		{desc: "label wins", c: &containerInfo{Networks: nets("a", "10.0.0.1", "b", "10.0.0.2")}, label: "b", env: env{network: "a"}, wantIP: "10.0.0.2"},
		{desc: "provider option", c: &containerInfo{Networks: nets("a", "10.0.0.1", "b", "10.0.0.2")}, env: env{network: "b"}, wantIP: "10.0.0.2"},
		{desc: "compose prefix", c: &containerInfo{Labels: map[string]string{labelComposeProject: "p"}, Networks: nets("p_front", "10.0.0.1", "p_back", "10.0.0.2")}, label: "back", wantIP: "10.0.0.2"},
		{desc: "label names a missing network", c: &containerInfo{Networks: nets("a", "10.0.0.1")}, label: "zz", wantIP: "10.0.0.1", wantWarn: `network "zz" from label`},
		{desc: "shared with berth", c: &containerInfo{Networks: nets("a", "10.0.0.1", "b", "10.0.0.2")}, env: env{selfNetworks: map[string]bool{"id-b": true}}, wantIP: "10.0.0.2"},
		{desc: "first by name with a warning", c: &containerInfo{Networks: nets("zeta", "10.0.0.1", "alpha", "10.0.0.2")}, wantIP: "10.0.0.2", wantWarn: `several networks (alpha, zeta); using "alpha"`},
		{desc: "host mode", c: &containerInfo{NetworkMode: "host"}, wantIP: "127.0.0.1"},
		{desc: "container mode", c: &containerInfo{NetworkMode: "container:vpn"}, env: env{lookup: func(ref string) *containerInfo {
			if ref == "vpn" {
				return other
			}
			return nil
		}}, wantIP: "10.9.0.2"},
		{desc: "container mode unknown", c: &containerInfo{NetworkMode: "container:gone"}, wantErr: `network of container "gone"`},
		{desc: "no address", c: &containerInfo{NetworkMode: "none", Networks: nets()}, wantErr: "has no network address"},
	}
	for _, test := range tests {
		t.Run(test.desc, func(t *testing.T) {
			if test.c.Labels == nil {
				test.c.Labels = map[string]string{}
			}
			a, err := chooseAddress(test.c, test.label, test.env)
			if test.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), test.wantErr) {
					t.Fatalf("error %v, want %q", err, test.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.ip != test.wantIP {
				t.Errorf("ip %q, want %q", a.ip, test.wantIP)
			}
			if test.wantWarn == "" && a.warning != "" || !strings.Contains(a.warning, test.wantWarn) {
				t.Errorf("warning %q, want %q", a.warning, test.wantWarn)
			}
		})
	}
}

func TestChoosePort(t *testing.T) {
	tests := []struct {
		desc    string
		ports   []portInfo
		label   int
		want    int
		wantErr bool
	}{
		{desc: "label", ports: []portInfo{{Port: 80, Proto: "tcp"}}, label: 8080, want: 8080},
		{desc: "single exposed", ports: []portInfo{{Port: 3000, Proto: "tcp"}}, want: 3000},
		{desc: "lowest of several", ports: []portInfo{{Port: 8443, Proto: "tcp"}, {Port: 8080, Proto: "tcp"}}, want: 8080},
		{desc: "udp is skipped", ports: []portInfo{{Port: 53, Proto: "udp"}, {Port: 8080, Proto: "tcp"}}, want: 8080},
		{desc: "none", wantErr: true},
	}
	for _, test := range tests {
		t.Run(test.desc, func(t *testing.T) {
			got, err := choosePort(&containerInfo{Ports: test.ports}, test.label)
			if (err != nil) != test.wantErr || got != test.want {
				t.Errorf("got %d, %v; want %d (error %v)", got, err, test.want, test.wantErr)
			}
		})
	}
}

func TestHostPort(t *testing.T) {
	c := &containerInfo{Ports: []portInfo{{Port: 80, Proto: "tcp", HostIP: "0.0.0.0", HostPort: 32768}, {Port: 81, Proto: "tcp", HostIP: "192.0.2.1", HostPort: 9000}}}
	for _, test := range []struct {
		desc   string
		port   int
		want   string
		wantOK bool
	}{
		{desc: "unspecified host address is loopback", port: 80, want: "127.0.0.1:32768", wantOK: true},
		{desc: "specific host address", port: 81, want: "192.0.2.1:9000", wantOK: true},
		{desc: "not published", port: 82},
	} {
		t.Run(test.desc, func(t *testing.T) {
			ip, p, ok := hostPort(c, test.port)
			if ok != test.wantOK || ok && hostJoin(ip, p) != test.want {
				t.Errorf("got %s:%d %v, want %s %v", ip, p, ok, test.want, test.wantOK)
			}
		})
	}
}
