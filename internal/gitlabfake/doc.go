// Package gitlabfake is a stateful fake of the GitLab REST API (v4) subset
// that a GitLab Pages operator uses — users, projects and their (inherited)
// members, Pages settings and Pages domains with their verification and
// certificates — so that the operator is driven by the real client library
// (gitlab.com/gitlab-org/api/client-go) in unit, envtest and e2e tests and
// in the local fleet.
//
// Start serves an empty instance on loopback; seed it with AddUser,
// AddGroup, AddProject, AddGroupMember, AddProjectMember and AddDomain, or
// from YAML with LoadSeed (docs/examples/gitlab/seed.yaml), and point the
// client at it:
//
//	fake := gitlabfake.Start(gitlabfake.WithDNSServer("127.0.0.1:5353"))
//	defer fake.Close()
//	_, token := fake.AddUser("atrium-pages-bot", true)
//	client, err := gitlab.NewClient(token, gitlab.WithBaseURL(fake.URL))
//
// # What it answers like GitLab
//
// Every route needs a known token (PRIVATE-TOKEN, Authorization: Bearer or
// private_token=), else 401. A private project is 404 "Project Not Found"
// to a user who is neither a member (directly or through an ancestor
// group, the highest role winning) nor an administrator. Editing the project and everything
// Pages needs Maintainer; the instance-wide domain list needs an
// administrator. Domain names are unique in the instance, stored in lower
// case; a taken one is 400 {"message":{"domain":["has already been
// taken"]}}. Lists are paginated with GitLab's headers and Link, so the
// client's Response.NextPage and gitlab.Scan walk them.
//
// Verification (PUT /projects/:id/pages/domains/:domain/verify, which the
// client reaches through NewRequest and Do) looks for the TXT record
// "gitlab-pages-verification-code=<code>" at
// _gitlab-pages-verification-code.<domain> (or at the domain) through the
// Resolver; success enables the domain for 7 days by the clock, failure
// unverifies it and leaves enabled_until. A verified domain with auto SSL
// gets a self-signed certificate, made by the fake, on its next read.
//
// The fake simplifies where a Pages operator cannot tell: it deploys no
// Pages, keeps one setting of a project (pages_access_level), serves only
// the routes listed in router.go, and wants a token even where GitLab lets
// anonymous requests read public projects.
//
// # Faults, and the client's own retries
//
// AddFault answers matching requests with 429 (with GitLab's Retry-After
// and RateLimit-* headers) or a 5xx; SetRateLimit throttles like GitLab's
// rate limits; SetLatency slows every request; ClearFaults ends all three.
// Count, Counts, Total and Requests show what reached the fake (tokens
// never kept), ResetCounts starts over.
//
// The client retries on its own: with its defaults it resends a request up
// to 5 times on 429 (waiting until RateLimit-Reset) and on 5xx other than
// 501 (waiting 0.7–0.9s and more), before the caller sees anything. A test
// that wants a fault to reach the code under test, or that counts requests,
// builds the client with gitlab.WithoutRetries() (or
// gitlab.WithCustomRetryMax(0)); an operator that does its own requeueing
// should do the same in production, so that a throttled reconcile gives its
// worker back instead of sleeping in it. The client also paces itself from
// the RateLimit-Limit header of the first response it ever gets: the fake
// sends that header only on 429s, as a self-managed GitLab does.
package gitlabfake
