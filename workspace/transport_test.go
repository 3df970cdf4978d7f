package workspace_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/databricks/databricks-sdk-go/service/iam"

	"github.com/dbmon/dbmon/workspace"
	"github.com/dbmon/dbmon/workspace/workspacetest"
)

// fastFailBound is what a user waits at most for dbmon to say that a host
// cannot be reached, whatever --timeout says.
const fastFailBound = 10 * time.Second

// closedPort returns the address of a local port that nothing listens on:
// connecting to it is refused.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// unreachable connects to host with the default timeout (a minute), runs
// doctor and import, and requires each to end with a network ConnectError
// within fastFailBound. It returns the doctor error.
func unreachable(t *testing.T, host string) error {
	t.Helper()
	isolate(t)
	t.Setenv("DATABRICKS_HOST", host)
	t.Setenv("DATABRICKS_TOKEN", workspacetest.Token)
	var doctorErr error
	for _, cmd := range []string{"doctor", "import"} {
		start := time.Now()
		w, err := workspace.Connect(workspace.Options{})
		if err == nil {
			if cmd == "doctor" {
				_, err = workspace.Doctor(context.Background(), w, loadSpec(t, "healthy.yaml"), workspace.DoctorOptions{})
				doctorErr = err
			} else {
				_, err = workspace.Import(context.Background(), w, workspace.ImportOptions{Now: testNow})
			}
		}
		elapsed := time.Since(start)
		var ce *workspace.ConnectError
		if !errors.As(err, &ce) || !ce.Network {
			t.Fatalf("%s: got %v; want a network ConnectError", cmd, err)
		}
		if elapsed > fastFailBound {
			t.Errorf("%s gave up after %s, want at most %s (--timeout is %s)", cmd, elapsed.Round(time.Millisecond), fastFailBound, workspace.DefaultTimeout)
		}
		t.Logf("%s: %s after %s", cmd, err, elapsed.Round(time.Millisecond))
	}
	return doctorErr
}

// A refused connection ends doctor and import within the bound (it took the
// whole --timeout twice, two minutes, before), with the same message.
func TestUnreachableRefusedFailsFast(t *testing.T) {
	host := "https://" + closedPort(t)
	err := unreachable(t, host)
	want := "cannot reach " + host + ": dial tcp " + strings.TrimPrefix(host, "https://") +
		": connect: connection refused; check the host (DATABRICKS_HOST or the profile's host) and your network"
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
}

// A certificate the client does not trust is never retried.
func TestUnreachableTLSFailureFailsFast(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	err := unreachable(t, srv.URL)
	if !strings.HasPrefix(err.Error(), "cannot reach "+srv.URL+": tls: failed to verify certificate: x509: ") {
		t.Errorf("unexpected message: %s", err)
	}
}

// A host that accepts connections and never completes the TLS handshake
// (the SDK's own transport waits 30 s for each attempt and retries).
func TestUnreachableTLSHandshakeHangFailsFast(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	err = unreachable(t, "https://"+l.Addr().String())
	if !strings.Contains(err.Error(), "TLS handshake timeout") {
		t.Errorf("unexpected message: %s", err)
	}
}

// An unknown host (a reserved .invalid name never resolves) fails at once.
func TestUnreachableUnknownHostFailsFast(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var dnsErr *net.DNSError
	if _, err := net.DefaultResolver.LookupHost(ctx, "dbmon-test.invalid"); !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Skipf("no DNS server answers here (lookup: %v); the bound depends on the resolver's own timeout", err)
	}
	err := unreachable(t, "https://dbmon-test.invalid")
	if !strings.HasPrefix(err.Error(), "cannot reach https://dbmon-test.invalid: dial tcp: lookup dbmon-test.invalid") {
		t.Errorf("unexpected message: %s", err)
	}
}

// A 503 comes from a host that is there: the SDK keeps retrying it past the
// fast-fail grace, and the call succeeds once the host recovers.
func TestUnavailableStillRetried(t *testing.T) {
	ws := workspacetest.Healthy(testNow)
	ws.Failures = map[string]*workspacetest.Failure{
		"GET /api/2.0/preview/scim/v2/Me": {Status: 503, Code: "TEMPORARILY_UNAVAILABLE", Message: "No webapps are available to handle your request.", Times: 2},
	}
	w, _ := connect(t, ws)
	start := time.Now()
	me, err := w.CurrentUser.Me(context.Background(), iam.MeRequest{})
	if err != nil {
		t.Fatalf("Me after two 503s: %v", err)
	}
	if me.UserName != ws.User.UserName {
		t.Errorf("Me = %q, want %q", me.UserName, ws.User.UserName)
	}
	if n := countRequests(ws.Requests(), "GET /api/2.0/preview/scim/v2/Me"); n != 3 {
		t.Errorf("Me requested %d times, want 3 (two 503s retried)", n)
	}
	// The SDK waits about 1 s, then 2 s, between the attempts: longer than
	// the grace a refused connection gets.
	if elapsed := time.Since(start); elapsed < 3*time.Second {
		t.Errorf("succeeded after %s; the retries should have taken at least 3 s", elapsed)
	}
}

// A host that answers 503 forever is retried up to --timeout, not cut short
// at the fast-fail bound's grace, and then reported.
func TestUnavailableRetriedUntilTimeout(t *testing.T) {
	ws := workspacetest.Healthy(testNow)
	ws.Failures = map[string]*workspacetest.Failure{
		"GET /api/2.0/preview/scim/v2/Me": {Status: 503, Code: "TEMPORARILY_UNAVAILABLE", Message: "No webapps are available to handle your request."},
	}
	isolate(t)
	srv := ws.Start()
	defer srv.Close()
	t.Setenv("DATABRICKS_HOST", srv.URL)
	t.Setenv("DATABRICKS_TOKEN", workspacetest.Token)
	const timeout = 5 * time.Second
	w, err := workspace.Connect(workspace.Options{Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = w.CurrentUser.Me(context.Background(), iam.MeRequest{})
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("Me succeeded against a host that always answers 503")
	}
	if elapsed < timeout-time.Second || elapsed > timeout+3*time.Second {
		t.Errorf("gave up after %s, want about --timeout (%s)", elapsed.Round(time.Millisecond), timeout)
	}
	if n := countRequests(ws.Requests(), "GET /api/2.0/preview/scim/v2/Me"); n < 3 {
		t.Errorf("Me requested %d times, want at least 3 within %s", n, timeout)
	}
}
