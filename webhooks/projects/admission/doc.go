// Package admission holds the Project admission webhooks: defaulting (the
// requester becomes the owner), validation (names, subjects, tiers, limits,
// adoption, owner hand-over) and deletion protection for Projects and their
// namespaces; and the validation of OpenStackVolumes against the storage
// their Project's tier offers.
package admission
