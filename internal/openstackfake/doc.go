// Package openstackfake is a stateful fake of the OpenStack APIs a Cinder
// volume operator uses — Keystone v3 token issue (password and application
// credential) and Cinder v3 volumes, snapshots and quotas — so that the
// operator is driven by the real client library (gophercloud v2) in tests
// rather than by hand-written mocks that agree with whatever the operator
// happens to send.
//
// Start serves an instance on loopback; seed it with AddProject, AddUser,
// AddApplicationCredential, AddVolumeType, AddAvailabilityZone, AddVolume,
// AddSnapshot (or AddSnapshotWith), Attach, Detach and SetQuota, then point
// gophercloud at IdentityURL:
//
//	fake := openstackfake.Start()
//	defer fake.Close()
//	p := fake.AddProject("demo")
//	id, secret := fake.AddApplicationCredential(p, "operator")
//	provider, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
//		IdentityEndpoint:            fake.IdentityURL,
//		ApplicationCredentialID:     id,
//		ApplicationCredentialSecret: secret,
//		AllowReauth:                 true,
//	})
//
// # What it answers like OpenStack
//
// Keystone puts the token in X-Subject-Token and lists the same server under
// "block-storage" and "volumev3" (public, RegionOne) at
// /volume/v3/{project_id}. Tokens last WithTokenTTL (an hour by default)
// and expires_at says so; every Cinder call needs a known, unexpired
// X-Auth-Token, else 401 with WWW-Authenticate (gophercloud with
// AllowReauth then gets a new token and retries), for the project in the
// path, else 403; another project's volume or snapshot is 404 as Cinder
// has it. The versions document (unauthenticated, as in Cinder) is served
// at /volume/v3/ and at the project endpoint so that gophercloud's
// utils.GetSupportedMicroversions finds min and max.
// OpenStack-API-Version: volume 3.x is honoured, echoed, and refused with
// 406 above the maximum.
//
// Volumes go creating → available and extending → available (or back to
// in-use); snapshots go creating → available. A transient status settles
// after WithSettleReads reads (a get, or appearing in a list answer), or
// once WithSettleAfter has passed since the transition began, whichever
// comes first, or at once on Step; FailTransition makes it land in error
// or error_extending. Settling is lazy, on observation, and exact: with
// WithSettleReads(-1) and WithSettleAfter(d) every observation before d
// shows the transient status and every one from d on the settled one.
//
// Lists (GET /volumes/detail, /volumes, /snapshots/detail, /snapshots)
// filter (volumes: metadata, name, status, availability_zone; snapshots:
// volume_id, name, status, metadata), sort (created_at then id, both
// descending, unless sort=key:dir says otherwise), and page as Cinder
// does: limit, marker, offset, at most WithMaxPageSize items a page
// (osapi_max_limit, 1000), and a {volumes,snapshots}_links "next" link
// whenever a page is full — so gophercloud's AllPages ends on a short or
// empty page. An unknown marker is 404. The /volumes and /snapshots
// summaries carry Cinder's shorter bodies.
//
// A snapshot needs an available volume, or in-use with force (from
// microversion 3.66 without); a volume made from a snapshot or a source
// volume takes its size, zone and type unless given, and is refused (400)
// smaller than the source or in another zone (cloned_volume_same_az). A
// volume with snapshots is not deleted unless cascade=true; an in-use or
// transient one never. Snapshots count against the gigabytes quota;
// creates, extends and snapshots beyond it are 413 with Cinder's overLimit
// body and Retry-After: 0, so a caller can tell quota from other failures
// with gophercloud.ResponseCodeIs(err, 413).
//
// Metadata keys and values are checked against Cinder's schema (keys of
// 1–255 characters from [a-zA-Z0-9-_:. /], values up to 255; else 400).
// The gophercloud v2 calls and what they reach:
//
//   - volumes.Create / snapshots.Create with Metadata: the initial metadata.
//   - volumes.Update with Metadata: PUT /volumes/{id}, replaces all of it
//     (gophercloud leaves an empty map out, so it cannot clear metadata).
//   - no gophercloud call exists for /volumes/{id}/metadata; through the
//     ServiceClient, GET reads it, POST merges into it and PUT replaces it
//     (PUT with {} clears), each answering the whole metadata after.
//   - snapshots.UpdateMetadata: PUT /snapshots/{id}/metadata, replaces
//     (GET and POST there work as for volumes).
//   - volumes.List with ListOpts.Metadata: a filter every pair must match;
//     snapshots.ListOpts has none, but the API's metadata filter is served.
//
// Faults: FailNext, RateLimitNext (429 with Retry-After) and SetLatency
// act before the request is processed, as a proxy in front of the cloud
// would; LoseResponseNext processes the request in full and then drops
// the connection (the client sees EOF), LoseResponseNextWith answers a
// gateway status such as 504 instead. Count gives requests per route
// (the Route constants); Log lists them without headers, query or bodies.
//
// # Not modelled
//
// Tokens are never revoked (ExpireTokens ages them all) and only the
// password and application credential methods exist; deletes are
// immediate (no "deleting" status); attachments are seeded (Attach,
// Detach), not made through the API; there are no volume types or
// availability zones APIs, no per-key metadata calls
// (/metadata/{key}), no volume actions but os-extend, no backups,
// groups, transfers or image metadata, no limit on the number of
// snapshots (their gigabytes do count), no with_count, and no scheduler —
// an unknown type or zone is a 400/404 like Cinder's. Sort keys are limited to id,
// created_at, updated_at, name, status, size (and availability_zone for
// volumes); other Cinder columns are refused.
package openstackfake
