package proxy

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestWebSocketEcho(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, msg, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if err := c.Write(r.Context(), typ, msg); err != nil {
				return
			}
		}
	}))
	defer backend.Close()
	p := newTestPool(t)
	front := frontFor(t, p, Target{URL: mustURL(t, backend.URL)}, TransportOptions{})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(front.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, msg := range []string{"hello", strings.Repeat("x", 30000), "bye"} {
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_, got, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != msg {
			t.Fatalf("echo of %d bytes came back as %d bytes", len(msg), len(got))
		}
	}
	if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatal(err)
	}
}

func TestUpgradeDeclinedIsNormalResponse(t *testing.T) {
	backend := newCountingBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "Upgrade not forwarded", 500)
			return
		}
		http.Error(w, "no thanks", http.StatusForbidden)
	}))
	p := newTestPool(t)
	front := frontFor(t, p, Target{URL: mustURL(t, backend.URL)}, TransportOptions{})
	for i := 0; i < 2; i++ {
		resp := rawRoundTrip(t, strings.TrimPrefix(front.URL, "http://"),
			"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d, want 403", resp.StatusCode)
		}
		resp.Body.Close()
	}
	if n := backend.conns.Load(); n != 2 {
		t.Fatalf("upgrade requests used %d upstream connections, want a fresh one each (2)", n)
	}
}

// TestClientGoneClosesUpstream checks that a client leaving mid-body makes
// the proxy drop the upstream connection instead of draining or pooling it.
func TestClientGoneClosesUpstream(t *testing.T) {
	backendDone := make(chan error, 1)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("x", 16<<10))
		for {
			if _, err := w.Write(chunk); err != nil {
				backendDone <- err
				return
			}
			w.(http.Flusher).Flush()
			time.Sleep(time.Millisecond)
		}
	}))
	defer backend.Close()
	p := newTestPool(t)
	front := frontFor(t, p, Target{URL: mustURL(t, backend.URL)}, TransportOptions{})
	resp, err := front.Client().Get(front.URL)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1000)
	if _, err := resp.Body.Read(buf); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	front.CloseClientConnections()
	select {
	case <-backendDone:
	case <-time.After(5 * time.Second):
		t.Fatal("backend still writing 5s after the client left")
	}
}
