package gitlab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"
)

// Reason says what kind of failure an Error is.
type Reason string

const (
	// NotFound: GitLab has no such object, or hides it from the token.
	NotFound Reason = "NotFound"
	// Forbidden: the token may not do this (403).
	Forbidden Reason = "Forbidden"
	// Unauthorized: GitLab does not accept the token (401).
	Unauthorized Reason = "Unauthorized"
	// Taken: the domain is already another project's (or this one's).
	Taken Reason = "Taken"
	// Invalid: GitLab refused the request as malformed (400, 422): a
	// certificate that does not match its key, a bad domain.
	Invalid Reason = "Invalid"
	// RateLimited: GitLab said 429, or the gate is closed since it did.
	RateLimited Reason = "RateLimited"
	// Unavailable: GitLab failed (5xx), timed out or could not be reached.
	Unavailable Reason = "Unavailable"
)

// Error is a failed GitLab call.
type Error struct {
	Reason Reason
	// Status is GitLab's HTTP status, 0 when none came back.
	Status int
	// RetryAfter is how long to wait before asking again (RateLimited).
	RetryAfter time.Duration
	// Message is GitLab's message, or what went wrong on the way.
	Message string
}

func (e *Error) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("GitLab answered %d %s: %s", e.Status, e.Reason, e.Message)
	}
	return fmt.Sprintf("GitLab %s: %s", e.Reason, e.Message)
}

// ReasonOf returns the Reason of a GitLab error, or "" for other errors.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// Transient reports whether asking again later may succeed, and how soon
// at the earliest.
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

// classify turns the client's result into an Error.
func classify(resp *gl.Response, err error, now time.Time) error {
	if err == nil {
		return nil
	}
	var own *Error
	if errors.As(err, &own) {
		return own
	}
	if errors.Is(err, gl.ErrNotFound) {
		// The client answers every 404 with this, without GitLab's body.
		return &Error{Reason: NotFound, Status: http.StatusNotFound, Message: "not found"}
	}
	var er *gl.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return &Error{Reason: Unavailable, Message: "no answer in time"}
		}
		return &Error{Reason: Unavailable, Message: scrub(err.Error())}
	}
	status := er.Response.StatusCode
	e := &Error{Status: status, Message: message(er.Body)}
	switch {
	case status == http.StatusTooManyRequests:
		e.Reason, e.RetryAfter = RateLimited, retryAfter(er.Response.Header, now)
	case status >= 500:
		e.Reason = Unavailable
	case status == http.StatusNotFound:
		e.Reason = NotFound
	case status == http.StatusForbidden:
		e.Reason = Forbidden
	case status == http.StatusUnauthorized:
		e.Reason = Unauthorized
	case status == http.StatusConflict || strings.Contains(e.Message, "already been taken"):
		e.Reason = Taken
	default:
		e.Reason = Invalid
	}
	return e
}

// message reads GitLab's error body: {"message": "..."}, {"message":
// {"field": ["..."]}} or {"error": "..."}.
func message(body []byte) string {
	var b struct {
		Message json.RawMessage `json:"message"`
		Error   string          `json:"error"`
	}
	if json.Unmarshal(body, &b) != nil {
		return strings.TrimSpace(string(body))
	}
	var s string
	if json.Unmarshal(b.Message, &s) == nil && s != "" {
		return s
	}
	var fields map[string][]string
	if json.Unmarshal(b.Message, &fields) == nil && len(fields) > 0 {
		var parts []string
		for f, msgs := range fields {
			for _, m := range msgs {
				parts = append(parts, f+" "+m)
			}
		}
		return strings.Join(parts, "; ")
	}
	if b.Error != "" {
		return b.Error
	}
	return strings.TrimSpace(string(body))
}

// retryAfter is how long GitLab asks to wait: Retry-After in seconds (or
// an HTTP date), else RateLimit-Reset (a Unix time), else a minute.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s >= 0 {
			return time.Duration(s) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0)
		}
	}
	if v := h.Get("RateLimit-Reset"); v != "" {
		if s, err := strconv.ParseInt(v, 10, 64); err == nil {
			return max(time.Unix(s, 0).Sub(now), 0)
		}
	}
	return time.Minute
}

// scrub keeps a transport error's words but drops anything after a "?"
// in a URL, so that no query string reaches a log.
func scrub(s string) string {
	if i := strings.IndexByte(s, '?'); i >= 0 {
		if j := strings.IndexAny(s[i:], " \""); j >= 0 {
			return s[:i] + s[i+j:]
		}
		return s[:i]
	}
	return s
}
