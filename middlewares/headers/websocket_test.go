package headers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/berthproxy/berth/pkg/middleware"
)

// TestWebSocketThroughProxy sends a WebSocket through the headers middleware
// in front of net/http/httputil's reverse proxy, which hijacks the
// connection through http.ResponseController, and checks that the 101
// response carries the middleware's headers.
func TestWebSocketThroughProxy(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer func() { _ = c.CloseNow() }()
		typ, msg, err := c.Read(r.Context())
		if err != nil {
			return
		}
		_ = c.Write(r.Context(), typ, msg)
	}))
	defer backend.Close()
	target, _ := url.Parse(backend.URL)

	h, err := Factory{}.Build(middleware.BuildContext{}, "h", &Spec{
		FrameDeny:             true,
		CustomResponseHeaders: map[string]string{"X-Via-Headers": "yes"},
	}, httputil.NewSingleHostReverseProxy(target))
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(h)
	defer proxy.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+proxy.URL[len("http"):], nil)
	if err != nil {
		t.Fatalf("dial through the middleware: %v", err)
	}
	defer func() { _ = c.CloseNow() }()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Errorf("status = %d, want 101", resp.StatusCode)
	}
	for k, want := range map[string]string{"X-Frame-Options": "DENY", "X-Via-Headers": "yes"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("101 response %s = %q, want %q", k, got, want)
		}
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	_, msg, err := c.Read(ctx)
	if err != nil || string(msg) != "ping" {
		t.Fatalf("echo = %q, %v", msg, err)
	}
}
