package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// applyConfiguration is what client-go's generated apply configurations
// offer: enough to name the object they describe.
type applyConfiguration interface {
	runtime.ApplyConfiguration
	GetAPIVersion() *string
	GetKind() *string
	GetName() *string
	GetNamespace() *string
}

// appliedMemory lets the operator skip server-side applies that would change
// nothing. For each object it remembers a hash of what it last applied and
// the resourceVersion the API server answered with. If the cached object
// still has that resourceVersion, nobody has written it since, and applying
// the same content again is a no-op that costs a round trip; so it is
// skipped. Any write by anyone (a member deleting or editing the object)
// changes the resourceVersion and the next pass applies again, unless it
// changed the status alone (a ResourceQuota's usage: before, 1.45 applies
// more per Project in make bench): drift repair is unaffected. The memory is lost on restart, which only costs one round
// of applies.
type appliedMemory struct {
	mu   sync.Mutex
	seen map[appliedKey]appliedRecord
}

type appliedKey struct {
	gvk             schema.GroupVersionKind
	namespace, name string
}

type appliedRecord struct {
	hash            [32]byte
	resourceVersion string
	// content is a hash of the object as the cache showed it at
	// resourceVersion, status left out (zero until seen).
	content [32]byte
}

// upToDate reports whether applying ac would be a no-op, using the cache.
func (m *appliedMemory) upToDate(ctx context.Context, c client.Client, key appliedKey, hash [32]byte) bool {
	m.mu.Lock()
	rec, ok := m.seen[key]
	m.mu.Unlock()
	if !ok || rec.hash != hash {
		return false
	}
	obj, err := c.Scheme().New(key.gvk)
	if err != nil {
		return false
	}
	cobj, ok := obj.(client.Object)
	if !ok {
		return false
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: key.namespace, Name: key.name}, cobj); err != nil {
		return false
	}
	if cobj.GetResourceVersion() == rec.resourceVersion {
		if rec.content == ([32]byte{}) {
			if content, ok := contentOf(cobj); ok {
				m.note(key, rec.resourceVersion, content)
			}
		}
		return true
	}
	// Written since, by someone. When only its status changed (a
	// ResourceQuota's usage, which kube-controller-manager updates as the
	// tenant creates things), the apply would still change nothing: move
	// the record on instead of applying again.
	if rec.content == ([32]byte{}) {
		return false
	}
	content, ok := contentOf(cobj)
	if !ok || content != rec.content {
		return false
	}
	m.note(key, cobj.GetResourceVersion(), content)
	return true
}

// note moves key's record to a resourceVersion whose content (status left
// out) is known, unless the record changed meanwhile.
func (m *appliedMemory) note(key appliedKey, resourceVersion string, content [32]byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if rec, ok := m.seen[key]; ok {
		rec.resourceVersion, rec.content = resourceVersion, content
		m.seen[key] = rec
	}
}

// contentOf hashes a cached object without what changes on every write
// (resourceVersion, managedFields), its kind and its status: everything the
// operator applies and anyone else could change, labels and annotations
// included, so drift still means a new apply.
func contentOf(obj client.Object) ([32]byte, bool) {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return [32]byte{}, false
	}
	// The kind is the record's key; a cache may or may not fill it in.
	delete(u, "status")
	delete(u, "apiVersion")
	delete(u, "kind")
	if md, ok := u["metadata"].(map[string]any); ok {
		delete(md, "resourceVersion")
		delete(md, "managedFields")
	}
	b, err := json.Marshal(u)
	if err != nil {
		return [32]byte{}, false
	}
	return sha256.Sum256(b), true
}

func (m *appliedMemory) record(key appliedKey, hash [32]byte, resourceVersion string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil {
		m.seen = map[appliedKey]appliedRecord{}
	}
	m.seen[key] = appliedRecord{hash: hash, resourceVersion: resourceVersion}
}

// recordAnswer records an apply from the server's answer, left in ac: its
// resourceVersion and, read as the cache will show it until someone writes
// the object, its content. So a status writer following at once (a
// ResourceQuota's usage) costs no second apply.
func (m *appliedMemory) recordAnswer(scheme *runtime.Scheme, key appliedKey, hash [32]byte, ac applyConfiguration) {
	obj, err := scheme.New(key.gvk)
	cobj, ok := obj.(client.Object)
	var b []byte
	if err == nil && ok {
		b, err = json.Marshal(ac)
	}
	if err != nil || !ok || json.Unmarshal(b, cobj) != nil {
		m.record(key, hash, resourceVersionOf(ac))
		return
	}
	m.record(key, hash, cobj.GetResourceVersion())
	if content, ok := contentOf(cobj); ok {
		m.note(key, cobj.GetResourceVersion(), content)
	}
}

func (m *appliedMemory) forget(key appliedKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.seen, key)
}

// keyAndHash names the object an apply configuration describes and hashes
// its content.
func keyAndHash(ac applyConfiguration) (appliedKey, [32]byte, error) {
	b, err := json.Marshal(ac)
	if err != nil {
		return appliedKey{}, [32]byte{}, err
	}
	gv, err := schema.ParseGroupVersion(deref(ac.GetAPIVersion()))
	if err != nil {
		return appliedKey{}, [32]byte{}, err
	}
	key := appliedKey{gvk: gv.WithKind(deref(ac.GetKind())), namespace: deref(ac.GetNamespace()), name: deref(ac.GetName())}
	if key.gvk.Kind == "" || key.name == "" {
		return appliedKey{}, [32]byte{}, fmt.Errorf("apply configuration without kind or name: %s", b)
	}
	return key, sha256.Sum256(b), nil
}

// resourceVersionOf reads the resourceVersion that the API server's answer
// left in the apply configuration.
func resourceVersionOf(ac applyConfiguration) string {
	var meta struct {
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
	}
	b, err := json.Marshal(ac)
	if err != nil {
		return ""
	}
	_ = json.Unmarshal(b, &meta)
	return meta.Metadata.ResourceVersion
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
