package health

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// checker runs one active check of one server until it is stopped.
type checker struct {
	server *url.URL
	cfg    Config
	status *Status
	logger *zap.Logger
	cancel context.CancelFunc
	done   chan struct{}

	client *http.Client     // http mode
	conn   *grpc.ClientConn // grpc mode

	// ok and bad count consecutive results, for rise and fall.
	ok, bad int
}

func newChecker(server *url.URL, cfg Config, logger *zap.Logger) (*checker, error) {
	c := &checker{server: server, cfg: cfg, status: &Status{}, logger: logger, done: make(chan struct{})}
	target := cfg.target(server)
	if cfg.Mode == "grpc" {
		var creds credentials.TransportCredentials
		if target.Scheme == "https" {
			tc := cfg.TLS
			if tc == nil {
				tc = &tls.Config{}
			}
			creds = credentials.NewTLS(tc)
		} else {
			creds = insecure.NewCredentials()
		}
		conn, err := grpc.NewClient(target.Host, grpc.WithTransportCredentials(creds))
		if err != nil {
			return nil, fmt.Errorf("healthCheck: %v", err)
		}
		c.conn = conn
		return c, nil
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: cfg.Timeout}).DialContext,
		TLSClientConfig:     cfg.TLS,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     2 * cfg.Interval,
	}
	if target.Scheme == "h2c" {
		// An h2c server also speaks HTTP/1.1 for a plain health request
		// in practice; the check asks over HTTP/1.1 on the same port.
		target.Scheme = "http"
	}
	c.client = &http.Client{Transport: tr, Timeout: cfg.Timeout}
	if !cfg.FollowRedirects {
		c.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return c, nil
}

// run checks at once and then every interval, until ctx ends.
func (c *checker) run(ctx context.Context) {
	defer close(c.done)
	t := time.NewTicker(c.cfg.Interval)
	defer t.Stop()
	for {
		c.record(c.check(ctx), time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// record applies one result through the rise/fall thresholds.
func (c *checker) record(err error, now time.Time) {
	if err == nil {
		c.ok, c.bad = c.ok+1, 0
		if !c.status.Up() && c.ok >= c.cfg.Rise && c.status.set(true, now) {
			c.logger.Info("server is up", zap.String("server", c.server.Redacted()))
		}
		return
	}
	c.ok, c.bad = 0, c.bad+1
	if c.status.Up() && c.bad >= c.cfg.Fall && c.status.set(false, now) {
		c.logger.Warn("server is down", zap.String("server", c.server.Redacted()), zap.Error(err))
	}
}

// check runs one check.
func (c *checker) check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	if c.conn != nil {
		resp, err := healthpb.NewHealthClient(c.conn).Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			return err
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("grpc health status %s", resp.GetStatus())
		}
		return nil
	}
	target := c.cfg.target(c.server)
	if target.Scheme == "h2c" {
		target.Scheme = "http"
	}
	req, err := http.NewRequestWithContext(ctx, c.cfg.Method, target.String(), nil)
	if err != nil {
		return err
	}
	for k, v := range c.cfg.Headers {
		req.Header.Set(k, v)
	}
	if c.cfg.Hostname != "" {
		req.Host = c.cfg.Hostname
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	// Reading a bounded amount lets the connection be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	_ = resp.Body.Close()
	if c.cfg.Status != 0 {
		if resp.StatusCode != c.cfg.Status {
			return fmt.Errorf("status %d, want %d", resp.StatusCode, c.cfg.Status)
		}
		return nil
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return errors.New("status " + resp.Status)
	}
	return nil
}

// stop ends the checker and waits for it.
func (c *checker) stop() {
	c.cancel()
	<-c.done
	if c.conn != nil {
		_ = c.conn.Close()
	}
	if c.client != nil {
		c.client.CloseIdleConnections()
	}
}
