package workspace

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/databricks/databricks-sdk-go"
	"github.com/databricks/databricks-sdk-go/apierr"
	"github.com/databricks/databricks-sdk-go/config"
)

// Options says how to reach the workspace. Everything else comes from the
// SDK's unified authentication: DATABRICKS_HOST, DATABRICKS_TOKEN (or another
// DATABRICKS_* method), then ~/.databrickscfg.
type Options struct {
	// Profile names a ~/.databrickscfg profile; empty uses the environment
	// or the DEFAULT profile.
	Profile string
	// Timeout bounds each request together with the SDK's retries of
	// throttled (429) and unavailable (503, 504) responses. Zero means one
	// minute. A host that refuses connections, does not exist or fails the
	// TLS handshake is given up on within 10 s whatever the timeout.
	Timeout time.Duration
}

// DefaultTimeout is the retry budget of one request when Options.Timeout is
// zero. The SDK's own default, five minutes, is long to wait for a typo in
// a host name.
const DefaultTimeout = time.Minute

// Connect builds a workspace client. It does not contact the workspace
// beyond the SDK's host metadata discovery; the first API call
// authenticates.
func Connect(opts Options) (*databricks.WorkspaceClient, error) {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	secs := int((timeout + time.Second - 1) / time.Second)
	cfg := &databricks.Config{Profile: opts.Profile, RetryTimeoutSeconds: secs}
	cfg.HTTPTransport = &fastFailTransport{cfg: (*config.Config)(cfg)}
	if opts.Profile != "" {
		// The SDK ignores a missing ~/.databrickscfg even when a profile
		// was asked for; say so instead of "no credentials".
		path := os.Getenv("DATABRICKS_CONFIG_FILE")
		if path == "" {
			path = "~/.databrickscfg"
		}
		if _, err := config.LoadFile(path); errors.Is(err, fs.ErrNotExist) {
			return nil, &ConnectError{Err: fmt.Errorf("profile %s: %s does not exist", opts.Profile, path)}
		}
	}
	w, err := databricks.NewWorkspaceClient(cfg)
	if err != nil {
		return nil, &ConnectError{Host: cfg.Host, Err: err}
	}
	return w, nil
}

// ConnectError is a failure to authenticate to the workspace or to reach
// it at all: nothing else can be checked.
type ConnectError struct {
	Host string
	Err  error
	// Network is true when the host could not be reached.
	Network bool
}

func (e *ConnectError) Error() string {
	host := e.Host
	if host == "" {
		host = "the workspace"
	}
	if e.Network {
		return fmt.Sprintf("cannot reach %s: %s; check the host (DATABRICKS_HOST or the profile's host) and your network", host, reason(e.Err))
	}
	if e.Host == "" {
		return fmt.Sprintf("cannot authenticate: %s; set DATABRICKS_HOST and DATABRICKS_TOKEN or use --profile", reason(e.Err))
	}
	return fmt.Sprintf("cannot authenticate to %s: %s; set DATABRICKS_HOST and DATABRICKS_TOKEN or use --profile", host, reason(e.Err))
}

func (e *ConnectError) Unwrap() error { return e.Err }

// fatal reports whether err means the workspace cannot be used at all: the
// host is unreachable or the credentials are rejected. Such an error ends a
// doctor run; any other error is the finding of one check.
func fatal(host string, err error) *ConnectError {
	if err == nil {
		return nil
	}
	var apiErr *apierr.APIError
	if errors.As(err, &apiErr) {
		if apiErr.StatusCode == 401 {
			return &ConnectError{Host: host, Err: err}
		}
		return nil
	}
	if isNetwork(err) {
		return &ConnectError{Host: host, Err: err, Network: true}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &ConnectError{Host: host, Err: err, Network: true}
	}
	// Anything else that is not an API answer comes from the SDK's
	// configuration or credential providers.
	return &ConnectError{Host: host, Err: err}
}

func isNetwork(err error) bool {
	var ue *url.Error
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &ue) || errors.As(err, &ne) || errors.As(err, &oe)
}

// reason shortens an SDK error to the part a person can act on.
func reason(err error) string {
	var apiErr *apierr.APIError
	if errors.As(err, &apiErr) {
		msg := strings.TrimSpace(apiErr.Message)
		if msg == "" {
			msg = apiErr.ErrorCode
		}
		return fmt.Sprintf("%s (HTTP %d)", msg, apiErr.StatusCode)
	}
	var unreachable *unreachableError
	if errors.As(err, &unreachable) {
		return unreachable.err.Error()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "failed during request visitor: ")
	switch {
	case strings.Contains(msg, "cannot configure default credentials"):
		return "no credentials found: no token, OAuth client or usable profile is configured"
	case strings.Contains(msg, "has no") && strings.Contains(msg, "profile configured"):
		if i := strings.Index(msg, ". Config:"); i >= 0 {
			msg = msg[:i]
		}
		return strings.TrimPrefix(strings.TrimPrefix(msg, "resolve: "), "validate: ")
	}
	// The SDK appends the resolved configuration ("Config: host=..., Env:
	// ..."); it repeats what the user set and hides the cause.
	if i := strings.Index(msg, ". Config:"); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

// apiStatus returns the HTTP status of an API error, or 0.
func apiStatus(err error) int {
	var apiErr *apierr.APIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode
	}
	return 0
}
