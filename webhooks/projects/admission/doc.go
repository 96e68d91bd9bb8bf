// Package admission holds the Project admission webhooks: defaulting (the
// requester becomes the owner), validation (names, subjects, tiers, limits,
// adoption, owner hand-over) and deletion protection for Projects and their
// namespaces.
package admission
