package controllers

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	storagev1 "github.com/atrium-dev/atrium/apis/storage/v1alpha1"
	"github.com/atrium-dev/atrium/operators/volumes/cinder"
)

func TestReusableAnswers(t *testing.T) {
	v := &storagev1.OpenStackVolume{ObjectMeta: metav1.ObjectMeta{UID: "u1", Generation: 1}, Spec: storagev1.OpenStackVolumeSpec{SizeGiB: 2}}
	ours := map[string]string{storagev1.MetaUID: "u1"}
	for _, c := range []struct {
		name string
		vol  cinder.Volume
		want bool
	}{
		{"available at its size", cinder.Volume{Status: "available", Size: 2, Metadata: ours}, true},
		{"in use, larger", cinder.Volume{Status: "in-use", Size: 3, Metadata: ours}, true},
		{"creating: polled, never reused", cinder.Volume{Status: "creating", Size: 2, Metadata: ours}, false},
		{"extending", cinder.Volume{Status: "extending", Size: 2, Metadata: ours}, false},
		{"smaller than asked: to extend", cinder.Volume{Status: "available", Size: 1, Metadata: ours}, false},
		{"in error", cinder.Volume{Status: "error", Size: 2, Metadata: ours}, false},
		{"another object's", cinder.Volume{Status: "available", Size: 2, Metadata: map[string]string{storagev1.MetaUID: "u2"}}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := reusable(v, &c.vol); got != c.want {
				t.Fatalf("reusable = %v, want %v", got, c.want)
			}
		})
	}
}

func TestRecentAnswer(t *testing.T) {
	r := &VolumeReconciler{AnswerTTL: time.Minute}
	v := &storagev1.OpenStackVolume{ObjectMeta: metav1.ObjectMeta{UID: "u1", Generation: 1}, Spec: storagev1.OpenStackVolumeSpec{SizeGiB: 1}}
	vol := &cinder.Volume{ID: "vol-1", Status: "available", Size: 1, Metadata: map[string]string{storagev1.MetaUID: "u1"}}
	if r.recent(v, "vol-1") != nil {
		t.Fatal("an answer before Cinder was asked")
	}
	r.remember(v, vol)
	if got := r.recent(v, "vol-1"); got == nil || got.ID != "vol-1" {
		t.Fatalf("recent = %+v, want the remembered answer", got)
	}
	if r.recent(v, "vol-2") != nil {
		t.Fatal("an answer about another volume id")
	}
	grown := v.DeepCopy()
	grown.Generation = 2
	if r.recent(grown, "vol-1") != nil {
		t.Fatal("an answer taken for an older spec")
	}
	r.unlearn(v.UID)
	if r.recent(v, "vol-1") != nil {
		t.Fatal("an answer after the operator changed the volume")
	}
	r.remember(v, vol)
	r.remember(v, &cinder.Volume{ID: "vol-1", Status: "extending", Size: 1, Metadata: vol.Metadata})
	if r.recent(v, "vol-1") != nil {
		t.Fatal("a settled answer outlived a busy one")
	}
	r.AnswerTTL = time.Nanosecond
	r.remember(v, vol)
	time.Sleep(time.Millisecond)
	if r.recent(v, "vol-1") != nil {
		t.Fatal("an answer older than AnswerTTL")
	}
	off := &VolumeReconciler{}
	off.remember(v, vol)
	if off.recent(v, "vol-1") != nil {
		t.Fatal("an answer with AnswerTTL 0")
	}
}

// A listing's answer stands for its own time to live, and never over
// what was learnt of the volume after the listing began: a read that found
// it gone, or the operator's own change.
func TestListedAnswer(t *testing.T) {
	r := &VolumeReconciler{AnswerTTL: time.Second}
	v := &storagev1.OpenStackVolume{ObjectMeta: metav1.ObjectMeta{UID: "u1", Generation: 1}, Spec: storagev1.OpenStackVolumeSpec{SizeGiB: 1}}
	vol := &cinder.Volume{ID: "vol-1", Status: "available", Size: 1, Metadata: map[string]string{storagev1.MetaUID: "u1"}}
	listedAt := time.Now()
	if !r.keepListed(v, vol, listedAt, time.Minute) || r.recent(v, "vol-1") == nil {
		t.Fatal("a listing's answer about a settled volume does not stand")
	}
	if r.keepListed(v, &cinder.Volume{ID: "vol-1", Status: "error", Size: 1, Metadata: vol.Metadata}, time.Now(), time.Minute) || r.recent(v, "vol-1") != nil {
		t.Fatal("a listing that found the volume in error left the settled answer standing")
	}

	// Gone since the listing began: the listing says nothing more.
	listedAt = time.Now()
	time.Sleep(time.Millisecond)
	r.unlearn(v.UID)
	if r.keepListed(v, vol, listedAt, time.Minute) || r.recent(v, "vol-1") != nil {
		t.Fatal("a listing older than what the operator learnt since stood for the volume")
	}
	// Read since the listing began: the read's answer stays, with its own
	// time to live.
	listedAt = time.Now()
	time.Sleep(time.Millisecond)
	r.AnswerTTL = time.Nanosecond
	r.remember(v, vol)
	time.Sleep(time.Millisecond)
	if !r.keepListed(v, vol, listedAt, time.Minute) {
		t.Fatal("a settled read after the listing was not taken as reusable")
	}
	if r.recent(v, "vol-1") != nil {
		t.Fatal("a listing replaced a newer read")
	}

	// A listing's answer expires.
	r2 := &VolumeReconciler{}
	if !r2.keepListed(v, vol, time.Now(), time.Nanosecond) {
		t.Fatal("a listing's answer with a time to live was not kept")
	}
	time.Sleep(time.Millisecond)
	if r2.recent(v, "vol-1") != nil {
		t.Fatal("a listing's answer outlived its time to live")
	}
	if r2.keepListed(v, vol, time.Now(), 0) {
		t.Fatal("a listing's answer kept with no time to live")
	}
}
