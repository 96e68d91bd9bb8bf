// Package imagefs reads an image's file system for the tests of
// hack/images and hack/images/base, which both check what an image holds.
package imagefs

import (
	"archive/tar"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// Walk calls visit with the header and contents of each entry of img's
// flattened file system (mutate.Extract), in order, and returns the first
// error met reading it.
func Walk(img v1.Image, visit func(h *tar.Header, contents []byte)) error {
	rc := mutate.Extract(img)
	defer rc.Close()
	return Tar(rc, visit)
}

// Tar calls visit with the header and contents of each entry of the
// tarball r, in order, and returns the first error met reading it.
func Tar(r io.Reader, visit func(h *tar.Header, contents []byte)) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		visit(h, b)
	}
}
