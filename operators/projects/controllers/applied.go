package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"reflect"
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
// nothing. For each object it remembers one digest: of the hash of what it
// last applied together with the content (contentOf) of the object the
// API server answered with. If the cached object still has that content,
// applying the same again is a no-op that costs a round trip; so it is
// skipped. Any write by anyone to what the operator applies or could
// apply (a member editing a rule, a label, an owner reference) changes
// the content and the next pass applies again; a deleted object is not in
// the cache, and is applied again. A write to the status alone (a
// ResourceQuota's usage, written by kube-controller-manager right after
// the quota is made) leaves the content as it was and costs no apply
// (before: 1.45 applies more per Project in make bench). The memory is
// lost on restart, which only costs one round of applies.
//
// The cache keeps each owned object's content digest in its view
// (ownedView), so the comparison reads neither the object's spec nor a
// copy of it, and an entry costs 64 bytes and the map's overhead,
// whatever the object holds.
type appliedMemory struct {
	mu   sync.Mutex
	seen map[[32]byte][32]byte
}

type appliedKey struct {
	gvk             schema.GroupVersionKind
	namespace, name string
}

// id is the memory's key of an object: a digest, so that an entry holds
// no strings.
func (k appliedKey) id() [32]byte {
	return sha256.Sum256([]byte(k.gvk.Group + "/" + k.gvk.Version + "/" + k.gvk.Kind + "/" + k.namespace + "/" + k.name))
}

// applied is what the memory keeps of an apply: the hash of the applied
// configuration with the content the server answered.
func applied(hash, content [32]byte) [32]byte {
	return sha256.Sum256(append(hash[:], content[:]...))
}

// upToDate reports whether applying ac would be a no-op, using the cache.
func (m *appliedMemory) upToDate(ctx context.Context, c client.Client, key appliedKey, hash [32]byte) bool {
	m.mu.Lock()
	rec, ok := m.seen[key.id()]
	m.mu.Unlock()
	if !ok {
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
	content, ok := cachedContent(cobj)
	return ok && applied(hash, content) == rec
}

// contentOf hashes an object without what changes on every write
// (resourceVersion, managedFields), its kind and its status: everything the
// operator applies and anyone else could change, labels and annotations
// included, so drift still means a new apply. It hashes the typed object's
// own JSON (a shallow copy with those fields cleared), not an unstructured map:
// the cache calls it on every object it receives (ownedView), and the map
// made 7.7 KB of garbage a ResourceQuota where the copy makes 1.6 KB
// (BenchmarkContentOf).
func contentOf(obj client.Object) ([32]byte, bool) {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return [32]byte{}, false
	}
	// A shallow copy: only fields of the copy itself are cleared.
	cp := reflect.New(v.Elem().Type())
	cp.Elem().Set(v.Elem())
	c, ok := cp.Interface().(client.Object)
	if !ok {
		return [32]byte{}, false
	}
	// The kind is the record's key; a cache may or may not fill it in.
	c.GetObjectKind().SetGroupVersionKind(schema.GroupVersionKind{})
	c.SetResourceVersion("")
	c.SetManagedFields(nil)
	if status := cp.Elem().FieldByName("Status"); status.IsValid() && status.CanSet() {
		status.SetZero()
	}
	b, err := json.Marshal(c)
	if err != nil {
		return [32]byte{}, false
	}
	return sha256.Sum256(b), true
}

// record remembers an apply of hash whose object, as the server answered,
// has the given content.
func (m *appliedMemory) record(key appliedKey, hash, content [32]byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil {
		m.seen = map[[32]byte][32]byte{}
	}
	m.seen[key.id()] = applied(hash, content)
}

// recordAnswer records an apply from the server's answer, left in ac: the
// object as the cache will show it until someone writes it. So a status
// writer following at once (a ResourceQuota's usage) costs no second
// apply. An answer it cannot read is not recorded: the next pass applies.
func (m *appliedMemory) recordAnswer(scheme *runtime.Scheme, key appliedKey, hash [32]byte, ac applyConfiguration) {
	obj, err := scheme.New(key.gvk)
	cobj, ok := obj.(client.Object)
	var b []byte
	if err == nil && ok {
		b, err = json.Marshal(ac)
	}
	if err != nil || !ok || json.Unmarshal(b, cobj) != nil {
		m.forget(key)
		return
	}
	content, ok := contentOf(cobj)
	if !ok {
		m.forget(key)
		return
	}
	m.record(key, hash, content)
}

func (m *appliedMemory) forget(key appliedKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.seen, key.id())
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

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
