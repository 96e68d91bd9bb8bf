package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/atrium-dev/atrium/internal/components"
)

func main() {
	var o Options
	flag.StringVar(&o.Root, "root", ".", "The repository (where .ko.yaml is).")
	flag.StringVar(&o.Ko, "ko", "bin/ko", "The ko binary (hack/tools.sh ko builds it).")
	flag.StringVar(&o.Out, "out", "bin/images", "Where the OCI layout (without -registry) and kustomization.yaml are written.")
	flag.StringVar(&o.Registry, "registry", "", "Push the images to <registry>/<component> (such as registry.example.org/atrium/operators-volumes) instead of writing an OCI layout; ko reads the credentials of a docker config (ko login).")
	flag.StringVar(&o.Base, "base", "", "Base image reference, such as gcr.io/distroless/static:nonroot; by default the static nonroot base built here (hack/images/base).")
	platforms := flag.String("platforms", "linux/amd64,linux/arm64", "The images' platforms, comma-separated.")
	flag.StringVar(&o.Stamp.Version, "version", "", "Version to stamp (hack/version.sh version).")
	flag.StringVar(&o.Stamp.Revision, "revision", "", "Git revision to stamp (hack/version.sh revision).")
	flag.StringVar(&o.Stamp.BuildDate, "build-date", "", "Build date to stamp, RFC 3339 (hack/version.sh date); also the images' creation time.")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: images [flags] [component folder ...] (every component of internal/components by default)\n")
		flag.PrintDefaults()
	}
	flag.Parse()

	var err error
	if o.Platforms, err = ParsePlatforms(*platforms); err != nil {
		fail(err)
	}
	o.Components = Every()
	if flag.NArg() > 0 {
		o.Components = nil
		for _, folder := range flag.Args() {
			c, err := byFolder(filepath.Clean(folder))
			if err != nil {
				fail(err)
			}
			o.Components = append(o.Components, c)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	imgs, err := Build(ctx, o)
	if err != nil {
		fail(err)
	}
	where := filepath.Join(o.Out, Layout)
	if o.Registry != "" {
		where = o.Registry
	}
	fmt.Printf("%d images (%s) in %s, pinned by %s:\n", len(imgs), *platforms, where, filepath.Join(o.Out, Kustomization))
	for _, img := range imgs {
		fmt.Printf("  %-30s %s\n", img.Component.Image(), img.Ref.DigestStr())
	}
}

func byFolder(folder string) (components.Component, error) {
	for _, c := range Every() {
		if c.Folder == folder {
			return c, nil
		}
	}
	return components.Component{}, fmt.Errorf("%s is no component of internal/components", folder)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "images:", err)
	os.Exit(1)
}
