// Package openstackfake is a stateful fake of the OpenStack APIs a Cinder
// volume operator uses — Keystone v3 token issue (password and application
// credential) and Cinder v3 volumes, snapshots and quotas — so that the
// operator is driven by the real client library (gophercloud v2) in tests
// rather than by hand-written mocks that agree with whatever the operator
// happens to send.
//
// Start serves an instance on loopback; seed it with AddProject, AddUser,
// AddApplicationCredential, AddVolumeType, AddAvailabilityZone, AddVolume,
// AddSnapshot and SetQuota, then point gophercloud at IdentityURL:
//
//	fake := openstackfake.Start()
//	defer fake.Close()
//	p := fake.AddProject("demo")
//	id, secret := fake.AddApplicationCredential(p, "operator")
//	provider, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
//		IdentityEndpoint:            fake.IdentityURL,
//		ApplicationCredentialID:     id,
//		ApplicationCredentialSecret: secret,
//	})
//
// # What it answers like OpenStack
//
// Keystone puts the token in X-Subject-Token and lists the same server under
// "block-storage" and "volumev3" (public, RegionOne) at
// /volume/v3/{project_id}. Every Cinder call needs a known X-Auth-Token,
// else 401, for the project in the path, else 403; another project's volume
// is 404 as Cinder has it. The versions document (unauthenticated, as in
// Cinder) is served at /volume/v3/ and at the project endpoint so that
// gophercloud's utils.GetSupportedMicroversions finds min and max.
// OpenStack-API-Version: volume 3.x is honoured, echoed, and refused with
// 406 above the maximum.
//
// Volumes go creating → available and extending → available (or back to
// in-use) after WithSettleReads reads of the volume, or at once on Step;
// FailTransition makes the pending transition land in error or
// error_extending; FailNext, RateLimitNext and SetLatency inject faults.
// Creates and extends beyond the project's quota are 413 with Cinder's
// overLimit body and Retry-After: 0, so a caller can tell quota from
// other failures with gophercloud.ResponseCodeIs(err, 413).
//
// # Not modelled
//
// Tokens last an hour and are never revoked; deletes are immediate (no "deleting" status);
// attachments are seeded (Attach), not made through the API; there is no
// pagination, no volume types or availability zones API, and no
// scheduler — an unknown type or zone is a 400/404 like Cinder's.
package openstackfake
