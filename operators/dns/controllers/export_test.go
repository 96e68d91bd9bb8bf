package controllers

// OwnershipName lets the package's black-box tests look up ownership
// records by the name the operator gives them.
var OwnershipName = ownershipName

// SyncedWhenStored lets the black-box tests check the zone controller's
// sources.
var SyncedWhenStored = syncedWhenStored
