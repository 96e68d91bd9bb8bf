// Command projects serves the Project admission webhooks: the requester
// becomes the owner, names, tiers and per-user limits are checked, adoption
// of an existing namespace needs its admin, and protected Projects stay;
// and OpenStackVolume admission: what a Project's tier offers of storage.
package main
