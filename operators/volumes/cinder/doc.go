// Package cinder is the volumes operator's one edge to OpenStack: Keystone
// v3 authentication (application credentials or clouds.yaml) and the Block
// Storage v3 calls the operator makes, through gophercloud v2.
//
// Three rules hold here so that the controllers cannot get them wrong:
//
//   - The microversion is negotiated from the endpoint's versions document
//     (never assumed): the client speaks the highest version both sides
//     know, and InUseExtend says whether the cloud can grow an attached
//     volume (3.42).
//   - Nothing is retried inside a call (gophercloud retries nothing unless
//     told to, and is not told to): a failure comes back at once as an
//     *Error whose Reason says what it was, so a reconcile never blocks and
//     the controller decides when to come back. A 429 closes a gate for
//     its Retry-After, so that no other volume asks Cinder in the meantime.
//     Only the client's own pace (QPS, Burst) is waited for, within the
//     request timeout: a turn comes within a few workers' requests.
//   - Credentials are never logged: they live in the provider client only,
//     and errors carry Cinder's message and status, never a request.
package cinder
