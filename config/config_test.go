package config

import (
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

func build(t *testing.T) resmap.ResMap {
	t.Helper()
	opts := krusty.MakeDefaultOptions()
	m, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), "default")
	if err != nil {
		t.Fatalf("kustomize build config/default: %v", err)
	}
	return m
}

// index lists the built objects by "Kind/namespace/name".
func index(t *testing.T, m resmap.ResMap) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, r := range m.Resources() {
		obj, err := r.Map()
		if err != nil {
			t.Fatal(err)
		}
		out[r.GetKind()+"/"+r.GetNamespace()+"/"+r.GetName()] = obj
	}
	return out
}

func TestDefaultBuildHoldsTogether(t *testing.T) {
	objs := index(t, build(t))
	for _, want := range []string{
		"Namespace//atrium-system",
		"CustomResourceDefinition//projects.tenancy.atrium.dev",
		"CustomResourceDefinition//projecttiers.tenancy.atrium.dev",
		"ClusterRole//atrium:self-provisioner",
		"ClusterRoleBinding//atrium:self-provisioners",
		"ClusterRole//atrium:platform-admin",
		"Deployment/atrium-system/atrium-projects",
		"Deployment/atrium-system/atrium-projects-webhook",
		"MutatingWebhookConfiguration//atrium-projects",
		"ValidatingWebhookConfiguration//atrium-projects",
		"Deployment/atrium-system/atrium-hostnames",
		"Deployment/atrium-system/atrium-dns",
		"ConfigMap/atrium-system/atrium-dns",
		"ValidatingWebhookConfiguration//atrium-hostnames",
		"ConfigMap/atrium-system/atrium-cluster",
		"Issuer/atrium-system/atrium-selfsigned",
		"Deployment/atrium-system/atrium-myprojects",
		"APIService//v1alpha1.access.tenancy.atrium.dev",
	} {
		if objs[want] == nil {
			t.Errorf("missing %s", want)
		}
	}
	for key, obj := range objs {
		if strings.HasSuffix(key, "/system") || strings.Contains(key, "/system/") {
			t.Errorf("%s still in the placeholder namespace \"system\"", key)
		}
		kind := strings.SplitN(key, "/", 2)[0]
		switch kind {
		case "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration":
			checkWebhooks(t, key, obj, objs)
		case "Deployment":
			checkDeployment(t, key, obj, objs)
		case "APIService":
			checkAPIService(t, key, obj, objs)
		}
	}
}

// checkWebhooks: every webhook calls a Service that the build contains, and
// the CA is injected from the Certificate that the build contains.
func checkWebhooks(t *testing.T, key string, obj map[string]any, objs map[string]map[string]any) {
	meta := obj["metadata"].(map[string]any)
	ann, _ := meta["annotations"].(map[string]any)
	from, _ := ann["cert-manager.io/inject-ca-from"].(string)
	cert := objs["Certificate/"+from]
	if cert == nil {
		t.Errorf("%s: inject-ca-from %q names no Certificate in the build", key, from)
	} else {
		ns := strings.SplitN(from, "/", 2)[0]
		issuer, _ := cert["spec"].(map[string]any)["issuerRef"].(map[string]any)["name"].(string)
		if objs["Issuer/"+ns+"/"+issuer] == nil {
			t.Errorf("%s: Certificate %s names Issuer %q, which is not in the build", key, from, issuer)
		}
	}
	for _, w := range obj["webhooks"].([]any) {
		wh := w.(map[string]any)
		svc := wh["clientConfig"].(map[string]any)["service"].(map[string]any)
		ref := "Service/" + svc["namespace"].(string) + "/" + svc["name"].(string)
		if objs[ref] == nil {
			t.Errorf("%s: webhook %s calls %s, which is not in the build", key, wh["name"], ref)
		}
		if wh["name"] == "vnamespace.tenancy.atrium.dev" && wh["objectSelector"] == nil {
			t.Errorf("%s: the namespace webhook must select only tenant namespaces", key)
		}
		// A webhook that only warns fails open; every other fails closed.
		want := "Fail"
		if advisory[wh["name"].(string)] {
			want = "Ignore"
		}
		if wh["failurePolicy"] != want {
			t.Errorf("%s: webhook %s failurePolicy %v, want %s", key, wh["name"], wh["failurePolicy"], want)
		}
	}
}

// advisory are the webhooks that never refuse, only warn.
var advisory = map[string]bool{"wprojecttier.tenancy.atrium.dev": true}

// checkAPIService: the aggregated API is served by a Service of the build,
// through the port the Service has, with the CA of a Certificate of the
// build whose names are the ones the API server checks
// (<service>.<namespace>.svc).
func checkAPIService(t *testing.T, key string, obj map[string]any, objs map[string]map[string]any) {
	svc := obj["spec"].(map[string]any)["service"].(map[string]any)
	name, ns := svc["name"].(string), svc["namespace"].(string)
	service := objs["Service/"+ns+"/"+name]
	if service == nil {
		t.Errorf("%s: Service %s/%s not in the build", key, ns, name)
		return
	}
	found := false
	for _, p := range service["spec"].(map[string]any)["ports"].([]any) {
		found = found || p.(map[string]any)["port"] == svc["port"]
	}
	if !found {
		t.Errorf("%s: Service %s/%s has no port %v", key, ns, name, svc["port"])
	}
	ann, _ := obj["metadata"].(map[string]any)["annotations"].(map[string]any)
	from, _ := ann["cert-manager.io/inject-ca-from"].(string)
	cert := objs["Certificate/"+from]
	if cert == nil {
		t.Errorf("%s: inject-ca-from %q names no Certificate in the build", key, from)
		return
	}
	names, _ := cert["spec"].(map[string]any)["dnsNames"].([]any)
	want := name + "." + ns + ".svc"
	found = false
	for _, n := range names {
		found = found || n == want
	}
	if !found {
		t.Errorf("%s: Certificate %s does not name %s", key, from, want)
	}
}

// checkDeployment: its ServiceAccount exists and is bound to a ClusterRole
// of the same name (the one generated from the component's markers).
func checkDeployment(t *testing.T, key string, obj map[string]any, objs map[string]map[string]any) {
	ns := obj["metadata"].(map[string]any)["namespace"].(string)
	spec := obj["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	sa, _ := spec["serviceAccountName"].(string)
	if objs["ServiceAccount/"+ns+"/"+sa] == nil {
		t.Errorf("%s: ServiceAccount %s/%s not in the build", key, ns, sa)
		return
	}
	crb := objs["ClusterRoleBinding//"+sa]
	if crb == nil || objs["ClusterRole//"+sa] == nil {
		t.Errorf("%s: no ClusterRole and ClusterRoleBinding %s", key, sa)
		return
	}
	bound := false
	for _, s := range crb["subjects"].([]any) {
		sub := s.(map[string]any)
		if sub["kind"] == "ServiceAccount" && sub["name"] == sa && sub["namespace"] == ns {
			bound = true
		}
	}
	if !bound {
		t.Errorf("%s: ClusterRoleBinding %s does not bind %s/%s", key, sa, ns, sa)
	}
}
