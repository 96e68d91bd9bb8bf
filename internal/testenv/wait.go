package testenv

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"time"
)

// Eventually polls check until it returns nil or the timeout passes, and
// returns the last error. Tests use it to wait for controllers, never to
// assert on time.
func Eventually(ctx context.Context, timeout time.Duration, check func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if last = check(); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("still failing after %s: %w", timeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ProbeTLS returns nil once something serves TLS at url (any HTTP answer).
// The certificate is not checked: this only asks whether a server is up.
func ProbeTLS(url string) error {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // a liveness probe, no data
	}}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}
