package workspace

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/databricks/databricks-sdk-go/config"
)

// The SDK retries every request that fails with "connection refused" or
// "i/o timeout" until its retry timeout, so a typo in the host name used to
// cost the whole --timeout for each request (two minutes for doctor). A host
// that cannot be reached at all is not going to answer a retry a minute
// later; these bounds end such a failure within 10 s while throttling (429)
// and unavailable (503/504) answers, which come from a host that is there,
// keep the SDK's retries up to --timeout.
const (
	// unreachableGrace is how long a refused or timed-out connection is
	// retried (by the SDK, with its backoff) before dbmon gives up: long
	// enough for a proxy or load balancer that is restarting.
	unreachableGrace = 3 * time.Second
	// dialTimeout and tlsHandshakeTimeout bound one attempt to connect;
	// the SDK's own transport waits 30 s for each.
	dialTimeout         = 5 * time.Second
	tlsHandshakeTimeout = 5 * time.Second
	// connectBound is how long a request to a host that has not answered
	// yet waits for a connection, whatever happens below it. net/http's
	// own bounds do not always hold: in one CI run a host that accepted
	// connections and never answered the handshake held each request for
	// the whole minute of --timeout, although the handshake timeout (5 s)
	// was what it finally reported. Waiting on the request's context
	// returns even when the dial goroutine is stuck.
	connectBound = 6 * time.Second
)

// fastFailTransport is the HTTP transport of every client Connect makes. It
// passes requests to an ordinary transport and, until the host has answered
// once, turns a connection failure into an error the SDK does not retry: at
// once for an unknown host or a TLS failure, which waiting cannot fix, and
// after unreachableGrace of failed attempts for a refused or timed-out
// connection. From then on every request fails at once with that error, so
// the SDK's host metadata discovery and the first API call do not each wait.
// Once the host has answered, a connection failure is a blip of a host that
// exists, and the SDK retries it up to --timeout as before.
type fastFailTransport struct {
	cfg *config.Config // read on first use, after the SDK resolved it

	once  sync.Once
	inner http.RoundTripper

	mu       sync.Mutex
	answered bool
	// failingSince is when the first attempt of the current run of failed
	// connections started; zero when none failed yet.
	failingSince time.Time
	// down is the failure dbmon gave up on; nil while still trying.
	down error
}

func (t *fastFailTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.once.Do(func() { t.inner = newInnerTransport(t.cfg.InsecureSkipVerify) })
	t.mu.Lock()
	down := t.down
	t.mu.Unlock()
	if down != nil {
		return nil, &unreachableError{err: down}
	}
	t.mu.Lock()
	answered := t.answered
	t.mu.Unlock()
	start := time.Now()
	var resp *http.Response
	var err error
	if answered {
		resp, err = t.inner.RoundTrip(req)
	} else {
		resp, err = t.firstContact(req)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err == nil {
		t.answered = true
		return resp, nil
	}
	kind := connectFailure(err)
	if t.answered || kind == notConnectFailure {
		return nil, err
	}
	if t.failingSince.IsZero() {
		t.failingSince = start
	}
	if kind == retryBriefly && time.Since(t.failingSince) < unreachableGrace {
		return nil, err
	}
	t.down = err
	return nil, &unreachableError{err: err}
}

// firstContact sends req with the connection phase bounded by
// connectBound: if no connection is established by then, the request's
// context is cancelled and the error says which phase did not finish.
func (t *fastFailTransport) firstContact(req *http.Request) (*http.Response, error) {
	var connected, handshaking atomic.Bool
	trace := &httptrace.ClientTrace{
		TLSHandshakeStart: func() { handshaking.Store(true) },
		GotConn:           func(httptrace.GotConnInfo) { connected.Store(true) },
	}
	ctx, cancel := context.WithCancelCause(httptrace.WithClientTrace(req.Context(), trace))
	timeout := &connectTimeoutError{after: connectBound}
	timer := time.AfterFunc(connectBound, func() {
		if !connected.Load() {
			timeout.handshake = handshaking.Load()
			cancel(timeout)
		}
	})
	resp, err := t.inner.RoundTrip(req.WithContext(ctx))
	timer.Stop()
	if err != nil {
		cancel(nil)
		if context.Cause(ctx) == timeout {
			return nil, timeout
		}
		return nil, err
	}
	// The body is read after RoundTrip returns: cancel only once it is closed.
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: func() { cancel(nil) }}
	return resp, nil
}

// connectTimeoutError is a connection that did not complete within
// connectBound.
type connectTimeoutError struct {
	after     time.Duration
	handshake bool // the TCP connection was made, the TLS handshake was not
}

func (e *connectTimeoutError) Error() string {
	if e.handshake {
		return fmt.Sprintf("TLS handshake timeout: the host did not complete it within %s", e.after)
	}
	return fmt.Sprintf("no connection within %s", e.after)
}

type cancelOnClose struct {
	io.ReadCloser
	cancel func()
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// newInnerTransport is the SDK's default transport with shorter connection
// bounds. Setting Config.HTTPTransport replaces the SDK's transport, so the
// insecure_skip_verify setting is applied here.
func newInnerTransport(insecure bool) *http.Transport {
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   dialTimeout,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          20,
		MaxIdleConnsPerHost:   20,
		IdleConnTimeout:       180 * time.Second,
		TLSHandshakeTimeout:   tlsHandshakeTimeout,
		ExpectContinueTimeout: 1 * time.Second,
		TLSClientConfig:       &tls.Config{InsecureSkipVerify: insecure},
	}
}

type failureKind int

const (
	notConnectFailure failureKind = iota
	retryBriefly                  // refused, timed out: retried for unreachableGrace
	giveUpNow                     // unknown host, bad certificate: never retried
)

// connectFailure classifies an error of the transport: did the request fail
// before it reached an HTTP server?
func connectFailure(err error) failureKind {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsNotFound {
			return giveUpNow
		}
		return retryBriefly
	}
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalidErr x509.CertificateInvalidError
	var recordErr tls.RecordHeaderError
	var alert tls.AlertError
	if errors.As(err, &certErr) || errors.As(err, &unknownAuth) || errors.As(err, &hostErr) ||
		errors.As(err, &invalidErr) || errors.As(err, &recordErr) || errors.As(err, &alert) {
		return giveUpNow
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && (opErr.Op == "dial" || opErr.Op == "proxyconnect") {
		return retryBriefly
	}
	var timeout *connectTimeoutError
	if errors.As(err, &timeout) {
		return retryBriefly
	}
	// net/http's handshake timeout is an unexported type.
	if strings.Contains(err.Error(), "TLS handshake timeout") {
		return retryBriefly
	}
	return notConnectFailure
}

// unreachableError carries a connection failure past the SDK's retry loop,
// which retries any error whose text contains "connection refused" or
// "i/o timeout": its own text avoids those words, and reason() shows the
// wrapped error, so the user reads the same message as before.
type unreachableError struct{ err error }

func (e *unreachableError) Error() string { return "host unreachable, not retried" }
func (e *unreachableError) Unwrap() error { return e.err }
