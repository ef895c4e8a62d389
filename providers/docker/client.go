package docker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/client"
)

// engine is the part of the Docker API the provider uses: read-only
// endpoints only (/_ping, /containers/json, /containers/{id}/json,
// /events), so that it works behind a read-only socket proxy.
type engine interface {
	Ping(ctx context.Context) (types.Ping, error)
	ContainerList(ctx context.Context, options container.ListOptions) ([]container.Summary, error)
	ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
	Events(ctx context.Context, options events.ListOptions) (<-chan events.Message, <-chan error)
	Close() error
}

// newEngine connects to the engine the options name: `endpoint` (a unix
// socket, or tcp:// with optional TLS), or DOCKER_HOST and the other
// DOCKER_* variables when endpoint is empty. The API version is negotiated,
// so that one berth works with old and new engines.
func newEngine(o endpointOptions) (engine, error) {
	opts := []client.Opt{client.WithAPIVersionNegotiation(), client.WithUserAgent("berth")}
	if o.TLS != nil && strings.HasPrefix(o.Endpoint, "tcp://") {
		cfg, err := tlsConfig(o)
		if err != nil {
			return nil, err
		}
		opts = append(opts, client.WithHTTPClient(&http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}))
	}
	if o.Endpoint == "" {
		opts = append(opts, client.FromEnv)
	} else {
		opts = append(opts, client.WithHost(o.Endpoint))
	}
	if o.Username != "" || o.Password != "" {
		auth := base64.StdEncoding.EncodeToString([]byte(o.Username + ":" + o.Password))
		opts = append(opts, client.WithHTTPHeaders(map[string]string{"Authorization": "Basic " + auth}))
	}
	c, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker provider: endpoint %q: %w", o.Endpoint, err)
	}
	return c, nil
}

// endpointOptions are the connection options of config.DockerProvider.
type endpointOptions struct {
	Endpoint, Username, Password string
	TLS                          *tlsOptions
}

type tlsOptions struct {
	CA, Cert, Key      string
	InsecureSkipVerify bool
}

// tlsConfig loads the client certificate and CA for a tcp:// endpoint.
func tlsConfig(o endpointOptions) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.TLS.InsecureSkipVerify} //nolint:gosec // the user's explicit choice
	if o.TLS.CA != "" {
		pem, err := os.ReadFile(o.TLS.CA)
		if err != nil {
			return nil, fmt.Errorf("docker provider: tls.ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("docker provider: tls.ca %q holds no PEM certificate", o.TLS.CA)
		}
		cfg.RootCAs = pool
	}
	if o.TLS.Cert != "" || o.TLS.Key != "" {
		cert, err := tls.LoadX509KeyPair(o.TLS.Cert, o.TLS.Key)
		if err != nil {
			return nil, fmt.Errorf("docker provider: tls.cert/tls.key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
