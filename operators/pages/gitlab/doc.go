// Package gitlab is the pages operator's edge to GitLab: the few REST
// calls it makes, through the GitLab Go client, with GitLab's answers
// turned into errors the operator can act on.
//
// The client's own retries are off, and so is its limiter's blocking:
// a reconcile never sleeps inside a request. A 429 closes a gate for the
// time GitLab asks (Retry-After, or RateLimit-Reset), during which every
// call fails at once with a RateLimited error instead of reaching GitLab;
// the operator requeues the site for when the gate opens. A 5xx or a
// network failure is Unavailable, retried by the operator with backoff
// and jitter. The token is only ever in the request header: never in an
// error, a log line or a status.
package gitlab
