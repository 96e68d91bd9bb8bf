package controllers_test

import "github.com/atrium-dev/atrium/operators/volumes/cinder"

type (
	cinderCreate = cinder.CreateRequest
	cinderVolume = cinder.Volume
)
