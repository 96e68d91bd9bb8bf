package openstackfake

import (
	"context"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
)

// A fixed creating delay: with read settling off, every observation
// before the delay shows creating and every one after shows available,
// whether it is a get or a list, however often the caller polls.
func TestSettleAfterIsAFixedDelay(t *testing.T) {
	const d = 300 * time.Millisecond
	fake := Start(WithSettleReads(-1), WithSettleAfter(d))
	defer fake.Close()
	p := fake.AddProject("demo")
	c := cinder(t, fake, p)
	ctx := context.Background()
	start := time.Now()
	v, err := volumes.Create(ctx, c, volumes.CreateOpts{Size: 1}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		got, err := volumes.Get(ctx, c, v.ID).Extract()
		if err != nil {
			t.Fatal(err)
		}
		pages, err := volumes.List(c, volumes.ListOpts{}).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		listed, _ := volumes.ExtractVolumes(pages)
		if time.Since(start) >= d {
			break // too slow a machine to tell; the checks below still hold
		}
		if got.Status != "creating" || listed[0].Status != "creating" {
			t.Fatalf("before the delay: get %s, list %s", got.Status, listed[0].Status)
		}
	}
	time.Sleep(time.Until(start.Add(d)))
	pages, err := volumes.List(c, volumes.ListOpts{}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	listed, _ := volumes.ExtractVolumes(pages)
	if len(listed) != 1 || listed[0].Status != "available" {
		t.Fatalf("a list after the delay shows %+v", listed)
	}
	if fake.VolumeStatus(v.ID) != "available" {
		t.Fatal("VolumeStatus does not show settling by time")
	}
	// The settled status is dated when it was due, not when noticed.
	if up := listed[0].UpdatedAt.Sub(listed[0].CreatedAt); up < d || up > d+time.Millisecond {
		t.Fatalf("updated_at is %v after created_at, want %v", up, d)
	}

	// An extend and a snapshot settle the same way.
	start = time.Now()
	if err := volumes.ExtendSize(ctx, c, v.ID, volumes.ExtendSizeOpts{NewSize: 2}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	sn, err := snapshots.Create(ctx, c, snapshots.CreateOpts{VolumeID: fake.AddVolume(p, VolumeSeed{})}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	vs, ss := fake.VolumeStatus(v.ID), fake.SnapshotStatus(sn.ID)
	if time.Since(start) < d && (vs != "extending" || ss != "creating") {
		t.Fatalf("right after: %s, %s", vs, ss)
	}
	time.Sleep(d) // from after both began
	got, _ := volumes.Get(ctx, c, v.ID).Extract()
	gotSn, _ := snapshots.Get(ctx, c, sn.ID).Extract()
	if got.Status != "available" || got.Size != 2 || gotSn.Status != "available" {
		t.Fatalf("after the delay: volume %s %dG, snapshot %s", got.Status, got.Size, gotSn.Status)
	}
}

// Either condition settles: reads before the time, or time before the
// reads.
func TestSettleReadsOrTimeWhicheverFirst(t *testing.T) {
	fake := Start(WithSettleReads(1), WithSettleAfter(time.Hour))
	defer fake.Close()
	p := fake.AddProject("demo")
	c := cinder(t, fake, p)
	ctx := context.Background()
	v, _ := volumes.Create(ctx, c, volumes.CreateOpts{Size: 1}, nil).Extract()
	for _, want := range []string{"creating", "available"} {
		if got, _ := volumes.Get(ctx, c, v.ID).Extract(); got.Status != want {
			t.Fatalf("read settling: %s, want %s", got.Status, want)
		}
	}

	fake2 := Start(WithSettleReads(100), WithSettleAfter(50*time.Millisecond))
	defer fake2.Close()
	p2 := fake2.AddProject("demo")
	c2 := cinder(t, fake2, p2)
	v2, _ := volumes.Create(ctx, c2, volumes.CreateOpts{Size: 1}, nil).Extract()
	time.Sleep(50 * time.Millisecond)
	if got, _ := volumes.Get(ctx, c2, v2.ID).Extract(); got.Status != "available" {
		t.Fatalf("time settling: %s", got.Status)
	}
}

// A list reads the volumes it returns, and only those.
func TestListReadsOnlyWhatItReturns(t *testing.T) {
	fake := Start(WithSettleReads(1))
	defer fake.Close()
	p := fake.AddProject("demo")
	c := cinder(t, fake, p)
	ctx := context.Background()
	older, _ := volumes.Create(ctx, c, volumes.CreateOpts{Size: 1, Name: "older"}, nil).Extract()
	time.Sleep(time.Millisecond)
	newer, _ := volumes.Create(ctx, c, volumes.CreateOpts{Size: 1, Name: "newer"}, nil).Extract()
	page, err := volumes.List(c, volumes.ListOpts{Limit: 1}).AllPages(ctx) // walks both pages
	if err != nil {
		t.Fatal(err)
	}
	listed, _ := volumes.ExtractVolumes(page)
	if len(listed) != 2 || listed[0].ID != newer.ID || listed[0].Status != "creating" {
		t.Fatalf("listed %+v", listed)
	}
	// Each has been read once: the next read of either settles it.
	for _, id := range []string{older.ID, newer.ID} {
		if got, _ := volumes.Get(ctx, c, id).Extract(); got.Status != "available" {
			t.Fatalf("%s after one list read: %s", got.Name, got.Status)
		}
	}

	// A status filter sees the status a read would show, and a volume
	// it leaves out is not read.
	v, _ := volumes.Create(ctx, c, volumes.CreateOpts{Size: 1}, nil).Extract()
	page, _ = volumes.List(c, volumes.ListOpts{Status: "available"}).AllPages(ctx)
	if listed, _ = volumes.ExtractVolumes(page); len(listed) != 2 {
		t.Fatalf("available: %d volumes", len(listed))
	}
	if got, _ := volumes.Get(ctx, c, v.ID).Extract(); got.Status != "creating" {
		t.Fatalf("a volume the filter left out was read: %s", got.Status)
	}
}
