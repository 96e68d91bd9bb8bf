package policy

import (
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// namespaceCache keeps the Namespaces fed through AddData, so that
// namespaceSelector works for requests that do not carry their Namespace, as
// in Gatekeeper. The framework calls Add before writing the inventory and
// Remove after deleting from it; reviews read it concurrently.
type namespaceCache struct {
	mu         sync.RWMutex
	namespaces map[string]*corev1.Namespace
}

func newNamespaceCache() *namespaceCache {
	return &namespaceCache{namespaces: map[string]*corev1.Namespace{}}
}

var namespaceGVK = corev1.SchemeGroupVersion.WithKind("Namespace")

// Add keeps object if it is a Namespace and ignores anything else. object is
// the caller's map (ProcessData's output), so it is copied by the conversion.
func (c *namespaceCache) Add(_ []string, object interface{}) error {
	m, ok := object.(map[string]interface{})
	if !ok {
		return nil
	}
	u := &unstructured.Unstructured{Object: m}
	if u.GroupVersionKind().GroupKind() != namespaceGVK.GroupKind() {
		return nil
	}
	ns := &corev1.Namespace{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, ns); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.namespaces[ns.Name] = ns
	return nil
}

// Remove forgets the Namespace stored under key, an inventory key as built by
// inventoryKey; keys of other objects are ignored.
func (c *namespaceCache) Remove(key []string) {
	name, ok := namespaceNameFromKey(key)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.namespaces, name)
}

// get returns the cached Namespace called name, or nil. The result is shared:
// callers must not modify it.
func (c *namespaceCache) get(name string) *corev1.Namespace {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.namespaces[name]
}

// namespaceNameFromKey recognises the inventory key of a Namespace,
// ["cluster", "v1", "Namespace", name].
func namespaceNameFromKey(key []string) (string, bool) {
	want := clusterKey(namespaceGVK, "")
	if len(key) != len(want) {
		return "", false
	}
	for i := range len(want) - 1 {
		if key[i] != want[i] {
			return "", false
		}
	}
	return key[len(key)-1], true
}

// clusterKey and namespacedKey are where Gatekeeper's templates look for
// synced objects: data.inventory.cluster[groupversion][kind][name] and
// data.inventory.namespace[namespace][groupversion][kind][name].
func clusterKey(gvk schema.GroupVersionKind, name string) []string {
	return []string{"cluster", gvk.GroupVersion().String(), gvk.Kind, name}
}

func namespacedKey(namespace string, gvk schema.GroupVersionKind, name string) []string {
	return []string{"namespace", namespace, gvk.GroupVersion().String(), gvk.Kind, name}
}
