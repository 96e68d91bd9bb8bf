package controllers

import (
	"context"

	"github.com/atrium-dev/atrium/operators/volumes/cinder"
)

// Cinder is the operator's edge to OpenStack; *cinder.Client is the real
// one.
type Cinder interface {
	Get(ctx context.Context, id string) (*cinder.Volume, error)
	List(ctx context.Context, match map[string]string) ([]*cinder.Volume, error)
	Create(ctx context.Context, r cinder.CreateRequest) (*cinder.Volume, error)
	Extend(ctx context.Context, id string, size int) error
	SetMetadata(ctx context.Context, id string, md map[string]string) error
	Delete(ctx context.Context, id string) error
	Snapshot(ctx context.Context, id string) (*cinder.Snapshot, error)
	// InUseExtend says whether the cloud extends attached volumes.
	InUseExtend() bool
	// Hold keeps a turn of the pacing for the next call of ctx's object
	// (cinder.For), or says with a Gated error how long to wait for one.
	Hold(ctx context.Context) error
}
