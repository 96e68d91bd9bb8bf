package openstackfake

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
)

func TestSnapshotLifecycle(t *testing.T) {
	fake := Start()
	defer fake.Close()
	p := fake.AddProject("demo")
	vol := fake.AddVolume(p, VolumeSeed{Size: 3})
	c := cinder(t, fake, p)
	c.Microversion = "3.41"
	ctx := context.Background()
	sn, err := snapshots.Create(ctx, c, snapshots.CreateOpts{
		VolumeID: vol, Name: "snap-1", Description: "before upgrade", Metadata: map[string]string{"atrium.dev/claim": "ns/data"},
	}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if sn.Status != "creating" || sn.Size != 3 || sn.VolumeID != vol || sn.Description != "before upgrade" || sn.Metadata["atrium.dev/claim"] != "ns/data" || sn.ProjectID != p || sn.UserID == "" {
		t.Fatalf("created %+v", sn)
	}
	for _, want := range []string{"creating", "available"} {
		got, err := snapshots.Get(ctx, c, sn.ID).Extract()
		if err != nil || got.Status != want {
			t.Fatalf("status %+v %v, want %s", got, err, want)
		}
		if want == "available" && got.Progress != "100%" {
			t.Fatalf("progress %q", got.Progress)
		}
	}

	// Lists: detail has the extended attributes, the summary has not;
	// both filter by volume.
	other := fake.AddSnapshotWith(fake.AddVolume(p, VolumeSeed{}), SnapshotSeed{Name: "other", Metadata: map[string]string{"k": "v"}})
	for _, detail := range []bool{true, false} {
		list := snapshots.List
		if detail {
			list = snapshots.ListDetail
		}
		pages, err := list(c, snapshots.ListOpts{VolumeID: vol}).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := snapshots.ExtractSnapshots(pages)
		if len(got) != 1 || got[0].ID != sn.ID || (got[0].ProjectID != "") != detail {
			t.Fatalf("detail %v: %+v", detail, got)
		}
	}
	// gophercloud's ListOpts has no metadata filter; Cinder's API has.
	pages, err := snapshots.ListDetail(c, rawSnapshotQuery("?metadata="+url.QueryEscape("{'k':'v'}"))).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := snapshots.ExtractSnapshots(pages); len(got) != 1 || got[0].ID != other {
		t.Fatalf("metadata filter: %+v", got)
	}
	// Paged, every snapshot once.
	for range 3 {
		fake.AddSnapshot(vol, "more")
	}
	pages, err = snapshots.ListDetail(c, snapshots.ListOpts{Limit: 2}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := snapshots.ExtractSnapshots(pages)
	seen := map[string]bool{}
	for _, s := range got {
		seen[s.ID] = true
	}
	if len(got) != 5 || len(seen) != 5 {
		t.Fatalf("paged snapshots: %d, %d distinct", len(got), len(seen))
	}

	// Update and metadata: PUT replaces.
	name := "renamed"
	if _, err := snapshots.Update(ctx, c, sn.ID, snapshots.UpdateOpts{Name: &name}).Extract(); err != nil {
		t.Fatal(err)
	}
	md, err := snapshots.UpdateMetadata(ctx, c, sn.ID, snapshots.UpdateMetadataOpts{Metadata: map[string]any{"new": "1"}}).ExtractMetadata()
	if err != nil || len(md) != 1 || md["new"] != "1" {
		t.Fatalf("metadata %v %v", md, err)
	}
	if s, _ := snapshots.Get(ctx, c, sn.ID).Extract(); s.Name != name || len(s.Metadata) != 1 {
		t.Fatalf("after update %+v", s)
	}

	// A volume with snapshots cannot be deleted; with cascade it can.
	if err := volumes.Delete(ctx, c, vol, nil).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Fatalf("delete with snapshots: %v, want 400", err)
	}
	if err := snapshots.Delete(ctx, c, sn.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if _, err := snapshots.Get(ctx, c, sn.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("deleted snapshot: %v", err)
	}
	if err := volumes.Delete(ctx, c, vol, volumes.DeleteOpts{Cascade: true}).ExtractErr(); err != nil {
		t.Fatalf("cascade: %v", err)
	}
	pages, _ = snapshots.ListDetail(c, snapshots.ListOpts{VolumeID: vol}).AllPages(ctx)
	if got, _ := snapshots.ExtractSnapshots(pages); len(got) != 0 {
		t.Fatalf("cascade left %d snapshots", len(got))
	}
}

type rawSnapshotQuery string

func (q rawSnapshotQuery) ToSnapshotListQuery() (string, error) { return string(q), nil }

func TestSnapshotRefusals(t *testing.T) {
	fake := Start(WithSettleReads(-1), WithMaxMicroversion("3.70"))
	defer fake.Close()
	p := fake.AddProject("demo")
	inUse := fake.AddVolume(p, VolumeSeed{Size: 2, AttachedTo: "server-1"})
	c := cinder(t, fake, p)
	ctx := context.Background()

	_, err := snapshots.Create(ctx, c, snapshots.CreateOpts{VolumeID: inUse}).Extract()
	if !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Fatalf("in-use without force: %v, want 400", err)
	}
	sn, err := snapshots.Create(ctx, c, snapshots.CreateOpts{VolumeID: inUse, Force: true}).Extract()
	if err != nil {
		t.Fatalf("in-use with force: %v", err)
	}
	c.Microversion = "3.66"
	if _, err := snapshots.Create(ctx, c, snapshots.CreateOpts{VolumeID: inUse}).Extract(); err != nil {
		t.Fatalf("in-use at 3.66: %v", err)
	}
	c.Microversion = ""
	if _, err := snapshots.Create(ctx, c, snapshots.CreateOpts{VolumeID: "nope"}).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("unknown volume: %v, want 404", err)
	}
	// A creating snapshot can neither be deleted nor made a volume of.
	if err := snapshots.Delete(ctx, c, sn.ID).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Fatalf("delete creating: %v, want 400", err)
	}
	if _, err := volumes.Create(ctx, c, volumes.CreateOpts{SnapshotID: sn.ID}, nil).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Fatalf("volume from creating snapshot: %v, want 400", err)
	}
	// A failed snapshot lands in error and can be deleted.
	fake.FailTransition(sn.ID)
	fake.Step()
	if s := fake.SnapshotStatus(sn.ID); s != "error" {
		t.Fatalf("failed snapshot is %s", s)
	}
	if err := snapshots.Delete(ctx, c, sn.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}

	// Snapshots count against the gigabytes quota.
	fake.SetQuota(p, 5, -1) // 2G volume + 2G snapshot (the 3.66 one) in use
	_, err = snapshots.Create(ctx, c, snapshots.CreateOpts{VolumeID: inUse, Force: true}).Extract()
	var unexpected gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &unexpected) || unexpected.Actual != http.StatusRequestEntityTooLarge {
		t.Fatalf("over quota: %v, want 413", err)
	}
}

// A volume made from a snapshot lands in the snapshot's volume's zone,
// with its type, and at least its size; another zone is refused.
func TestVolumeFromSnapshot(t *testing.T) {
	fake := Start()
	defer fake.Close()
	fake.AddAvailabilityZone("az-2")
	fake.AddVolumeType("fast")
	p := fake.AddProject("demo")
	src := fake.AddVolume(p, VolumeSeed{Size: 4, Zone: "az-2", VolumeType: "fast"})
	snap := fake.AddSnapshot(src, "base")
	c := cinder(t, fake, p)
	ctx := context.Background()

	v, err := volumes.Create(ctx, c, volumes.CreateOpts{SnapshotID: snap}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if v.AvailabilityZone != "az-2" || v.Size != 4 || v.VolumeType != "fast" || v.SnapshotID != snap {
		t.Fatalf("from snapshot %+v", v)
	}
	if v, err := volumes.Create(ctx, c, volumes.CreateOpts{SnapshotID: snap, Size: 6, AvailabilityZone: "az-2"}, nil).Extract(); err != nil || v.Size != 6 {
		t.Fatalf("larger: %+v %v", v, err)
	}
	for name, opts := range map[string]volumes.CreateOpts{
		"other zone":   {SnapshotID: snap, AvailabilityZone: "nova"},
		"smaller":      {SnapshotID: snap, Size: 3},
		"both sources": {SnapshotID: snap, SourceVolID: src},
	} {
		if _, err := volumes.Create(ctx, c, opts, nil).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
			t.Fatalf("%s: %v, want 400", name, err)
		}
	}
	// A clone follows the same rules.
	if v, err := volumes.Create(ctx, c, volumes.CreateOpts{SourceVolID: src}, nil).Extract(); err != nil || v.AvailabilityZone != "az-2" || v.Size != 4 {
		t.Fatalf("clone %+v %v", v, err)
	}
	if _, err := volumes.Create(ctx, c, volumes.CreateOpts{SourceVolID: src, AvailabilityZone: "nova"}, nil).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Fatalf("clone in another zone: %v, want 400", err)
	}
	// Another project's snapshot is not found.
	theirs := fake.AddProject("theirs")
	hidden := fake.AddSnapshot(fake.AddVolume(theirs, VolumeSeed{}), "hidden")
	if _, err := volumes.Create(ctx, c, volumes.CreateOpts{SnapshotID: hidden}, nil).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("other project's snapshot: %v, want 404", err)
	}
	pages, _ := snapshots.ListDetail(c, nil).AllPages(ctx)
	got, _ := snapshots.ExtractSnapshots(pages)
	if len(got) != 1 || !slices.ContainsFunc(got, func(s snapshots.Snapshot) bool { return s.ID == snap }) {
		t.Fatalf("listed %+v", got)
	}
}
