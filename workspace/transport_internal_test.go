package workspace

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// stuckConn is a connection whose reads block until the test ends, even
// after Close: a TLS handshake over it never returns on its own.
type stuckConn struct {
	net.Conn
	release chan struct{}
}

func (c *stuckConn) Read([]byte) (int, error)    { <-c.release; return 0, errors.New("released") }
func (c *stuckConn) Write(b []byte) (int, error) { return len(b), nil }
func (c *stuckConn) Close() error                { return nil }

// A first request whose TLS handshake neither completes nor returns when
// its connection is closed (so net/http's own handshake timeout cannot end
// it) still fails within connectBound, and every later request at once.
func TestFirstContactBoundsAStuckHandshake(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	ft := &fastFailTransport{}
	ft.once.Do(func() {
		ft.inner = &http.Transport{
			DialContext: func(context.Context, string, string) (net.Conn, error) {
				return &stuckConn{Conn: client, release: release}, nil
			},
		}
	})
	req, err := http.NewRequest("GET", "https://stuck.example/api/2.0/preview/scim/v2/Me", nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = ft.RoundTrip(req)
	elapsed := time.Since(start)
	var unreachable *unreachableError
	if !errors.As(err, &unreachable) || !strings.Contains(unreachable.err.Error(), "TLS handshake timeout") {
		t.Fatalf("got %v; want an unreachableError for a TLS handshake timeout", err)
	}
	if elapsed < connectBound || elapsed > connectBound+2*time.Second {
		t.Errorf("gave up after %s, want about %s", elapsed, connectBound)
	}
	start = time.Now()
	if _, err := ft.RoundTrip(req); !errors.As(err, &unreachable) {
		t.Errorf("second request: got %v; want the same unreachableError", err)
	}
	if elapsed := time.Since(start); elapsed > 100*time.Millisecond {
		t.Errorf("second request took %s; the host is known to be down", elapsed)
	}
}
