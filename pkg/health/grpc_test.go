package health

import (
	"net"
	"net/url"
	"testing"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/berthproxy/berth/pkg/config"
)

func nopLogger() *zap.Logger { return zap.NewNop() }

func TestGRPCCheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	go func() { _ = gs.Serve(ln) }()
	defer gs.Stop()

	u, _ := url.Parse("h2c://" + ln.Addr().String())
	cfg, err := FromConfig(&config.HealthCheck{Mode: "grpc"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := newChecker(u, cfg, nopLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.conn.Close() }()
	if err := c.check(t.Context()); err != nil {
		t.Fatalf("serving: %v", err)
	}
	hs.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	if err := c.check(t.Context()); err == nil {
		t.Fatal("NOT_SERVING passed")
	}
}
