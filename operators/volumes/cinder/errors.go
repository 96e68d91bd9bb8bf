package cinder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/gophercloud/gophercloud/v2"
)

// Reason says what kind of failure an Error is.
type Reason string

const (
	// NotFound: Cinder has no such volume or snapshot in the project (or
	// it is another project's, which Cinder hides the same way).
	NotFound Reason = "NotFound"
	// QuotaExceeded: the project's Cinder quota refused a create or an
	// extend (413). Asking again changes nothing until the quota does.
	QuotaExceeded Reason = "QuotaExceeded"
	// RateLimited: Cinder (or a gateway in front of it) said 429, or the
	// gate is closed since it did.
	RateLimited Reason = "RateLimited"
	// Invalid: Cinder refused the request as it stands (400): an unknown
	// type or zone, a volume in the wrong status for the action.
	Invalid Reason = "Invalid"
	// Forbidden: the credentials may not do this (401 after
	// re-authentication, 403).
	Forbidden Reason = "Forbidden"
	// Unavailable: Cinder or Keystone failed (5xx), timed out, or could not
	// be reached. A create that ends so may or may not have happened.
	Unavailable Reason = "Unavailable"
)

// Error is a failed OpenStack call.
type Error struct {
	Reason Reason
	// Status is the HTTP status, 0 when no answer came back.
	Status int
	// RetryAfter is how long to wait before asking again (RateLimited),
	// when the answer said.
	RetryAfter time.Duration
	// Message is Cinder's message, or what went wrong on the way.
	Message string
}

func (e *Error) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("Cinder answered %d (%s): %s", e.Status, e.Reason, e.Message)
	}
	return fmt.Sprintf("Cinder %s: %s", e.Reason, e.Message)
}

// ReasonOf returns the Reason of an OpenStack error, or "" for others.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// IsNotFound says Cinder answered that the object does not exist: the one
// answer that means "absent". Every other failure means "unknown".
func IsNotFound(err error) bool { return ReasonOf(err) == NotFound }

// Gated says the call never left: the client's own pacing, or the gate
// closed since Cinder's last 429, kept it back. Nothing was asked of
// Cinder, so nothing about the volume is known or changed.
func Gated(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Reason == RateLimited && e.Status == 0
}

// Transient says whether asking again later may succeed, and how long to
// wait at least (0: the caller's backoff decides).
func Transient(err error) (time.Duration, bool) {
	var e *Error
	if !errors.As(err, &e) {
		return 0, false
	}
	switch e.Reason {
	case RateLimited:
		return e.RetryAfter, true
	case Unavailable:
		return 0, true
	}
	return 0, false
}

// classify turns a gophercloud failure into an *Error.
func classify(err error, now time.Time) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	var code gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &code) {
		out := &Error{Status: code.Actual, Message: message(code.Body)}
		switch {
		case code.Actual == http.StatusNotFound:
			out.Reason = NotFound
		case code.Actual == http.StatusRequestEntityTooLarge:
			out.Reason = QuotaExceeded
		case code.Actual == http.StatusTooManyRequests:
			out.Reason = RateLimited
			out.RetryAfter = retryAfter(code.ResponseHeader, now)
		case code.Actual == http.StatusBadRequest || code.Actual == http.StatusConflict:
			out.Reason = Invalid
		case code.Actual == http.StatusUnauthorized || code.Actual == http.StatusForbidden:
			out.Reason = Forbidden
		default:
			out.Reason = Unavailable
		}
		return out
	}
	var nerr net.Error
	if errors.As(err, &nerr) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Reason: Unavailable, Message: "no answer: " + err.Error()}
	}
	// Anything else (a connection reset, an EOF, a malformed answer) is
	// as unknown as a timeout: the request may have been carried out.
	return &Error{Reason: Unavailable, Message: err.Error()}
}

// message is the text of a Cinder error body: {"<kind>": {"message": …}}.
func message(body []byte) string {
	var doc map[string]struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &doc) == nil {
		for _, v := range doc {
			if v.Message != "" {
				return v.Message
			}
		}
	}
	if len(body) > 200 {
		body = body[:200]
	}
	return string(body)
}

// retryAfter reads Retry-After in seconds or as an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
