package shipped

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/atrium-dev/atrium/internal/procs"
	"github.com/atrium-dev/atrium/internal/testenv"
)

// Cluster is what a pod needs of the cluster it runs on: a client that
// reads its ConfigMaps and Secrets (as the kubelet does) and its
// ServiceAccount's token.
type Cluster interface {
	client.Reader
	ServiceAccountKubeConfig(namespace, name string) ([]byte, error)
}

// Pod is one replica of a Deployment, running as a local process.
type Pod struct {
	Name string
	// Ports maps each port the container declares (ports and probes) to
	// the loopback port the process listens on instead: every pod of a
	// cluster has its own network, processes here share one.
	Ports map[int32]int
	// Args are the arguments the process runs with, after the
	// substitutions a kubelet makes and the local mappings.
	Args []string
	// Dir holds the pod's mounted files and its kubeconfig.
	Dir string

	proc      *procs.Process
	readiness *corev1.HTTPGetAction
}

// podOptions say where a pod's files go and what runs.
type podOptions struct {
	cluster  Cluster
	dep      *appsv1.Deployment
	name     string
	binDir   string
	dir      string
	logDir   string
	onExit   func(p *procs.Process, err error)
	extraEnv []string
}

// startPod starts one replica of the Deployment's first container.
func startPod(ctx context.Context, o podOptions) (*Pod, error) {
	spec := o.dep.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		return nil, fmt.Errorf("Deployment %s: one container expected, found %d", o.dep.Name, len(spec.Containers))
	}
	c := spec.Containers[0]
	ns := o.dep.Namespace
	p := &Pod{Name: o.name, Dir: o.dir, Ports: map[int32]int{}}
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return nil, err
	}
	// The container's view of the pod network, mapped to free ports.
	for _, port := range declaredPorts(c) {
		local, err := testenv.FreePort()
		if err != nil {
			return nil, err
		}
		p.Ports[port] = local
	}
	env, err := containerEnv(ctx, o.cluster, ns, o.name, c)
	if err != nil {
		return nil, fmt.Errorf("pod %s: %w", o.name, err)
	}
	mounts, err := mountVolumes(ctx, o.cluster, ns, spec.Volumes, c.VolumeMounts, o.dir)
	if err != nil {
		return nil, fmt.Errorf("pod %s: %w", o.name, err)
	}
	// In a pod the ServiceAccount's token comes mounted; here it comes as
	// the kubeconfig client-go falls back to.
	sa := spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	kubeconfig, err := o.cluster.ServiceAccountKubeConfig(ns, sa)
	if err != nil {
		return nil, fmt.Errorf("pod %s: %w", o.name, err)
	}
	kubeconfigPath := filepath.Join(o.dir, "serviceaccount.kubeconfig")
	if err := os.WriteFile(kubeconfigPath, kubeconfig, 0o600); err != nil {
		return nil, err
	}
	lookup := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		lookup[k] = v
	}
	if len(c.Command) > 0 {
		// The images' entrypoint is the component's binary, which is what
		// runs here; a command would run something else.
		return nil, fmt.Errorf("Deployment %s: a container command is not played here; give arguments only", o.dep.Name)
	}
	for _, a := range c.Args {
		p.Args = append(p.Args, localArg(expand(a, lookup), mounts, p.Ports))
	}
	procEnv := append([]string{"KUBECONFIG=" + kubeconfigPath, "HOME=" + o.dir, "PATH=" + os.Getenv("PATH")}, env...)
	procEnv = append(procEnv, o.extraEnv...)
	if c.ReadinessProbe != nil && c.ReadinessProbe.HTTPGet != nil {
		p.readiness = c.ReadinessProbe.HTTPGet
	}
	bin := filepath.Join(o.binDir, Binary(c.Image))
	p.proc, err = procs.StartWithEnv(o.name, bin, p.Args, procEnv, o.logDir, o.onExit)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Process is the pod's process.
func (p *Pod) Process() *procs.Process { return p.proc }

// Port is the loopback port standing for a port the container declares.
func (p *Pod) Port(containerPort int32) int { return p.Ports[containerPort] }

// Ready probes the container's readiness probe, as the kubelet does; a
// pod without one is ready while its process runs.
func (p *Pod) Ready() bool {
	if p.proc.Exited() {
		return false
	}
	if p.readiness == nil {
		return true
	}
	port := int32(p.readiness.Port.IntValue())
	scheme := "http"
	if p.readiness.Scheme == corev1.URISchemeHTTPS {
		scheme = "https"
	}
	url := fmt.Sprintf("%s://127.0.0.1:%d%s", scheme, p.Ports[port], p.readiness.Path)
	// Like the kubelet, an HTTPS probe does not verify the certificate.
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // a readiness probe, as the kubelet's
	}}
	resp, err := hc.Get(url)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 400
}

// declaredPorts are the ports the container declares and its probes use.
func declaredPorts(c corev1.Container) []int32 {
	seen := map[int32]bool{}
	for _, p := range c.Ports {
		seen[p.ContainerPort] = true
	}
	for _, probe := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		if probe != nil && probe.HTTPGet != nil && probe.HTTPGet.Port.IntValue() > 0 {
			seen[int32(probe.HTTPGet.Port.IntValue())] = true
		}
	}
	var out []int32
	for p := range seen {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// containerEnv resolves the container's environment as the kubelet does:
// literal values, the pod's own fields, its container's resources, and
// keys of ConfigMaps and Secrets
// (a missing one keeps the pod from starting unless it is optional).
func containerEnv(ctx context.Context, c Cluster, ns, podName string, ctr corev1.Container) ([]string, error) {
	var out []string
	vars := map[string]string{}
	for _, e := range ctr.Env {
		v := expand(e.Value, vars)
		if src := e.ValueFrom; src != nil {
			var err error
			var ok bool
			switch {
			case src.FieldRef != nil:
				switch src.FieldRef.FieldPath {
				case "metadata.namespace":
					v, ok = ns, true
				case "metadata.name":
					v, ok = podName, true
				default:
					return nil, fmt.Errorf("env %s: field %s is not played here", e.Name, src.FieldRef.FieldPath)
				}
			case src.ResourceFieldRef != nil:
				v, err = resourceField(ctr, src.ResourceFieldRef)
				ok = err == nil
				if err != nil {
					err = fmt.Errorf("env %s: %w", e.Name, err)
				}
			case src.ConfigMapKeyRef != nil:
				r := src.ConfigMapKeyRef
				v, ok, err = configMapKey(ctx, c, ns, r.Name, r.Key)
				if err == nil && !ok && (r.Optional == nil || !*r.Optional) {
					err = fmt.Errorf("env %s: ConfigMap %s/%s has no key %s", e.Name, ns, r.Name, r.Key)
				}
			case src.SecretKeyRef != nil:
				r := src.SecretKeyRef
				v, ok, err = secretKey(ctx, c, ns, r.Name, r.Key)
				if err == nil && !ok && (r.Optional == nil || !*r.Optional) {
					err = fmt.Errorf("env %s: Secret %s/%s has no key %s", e.Name, ns, r.Name, r.Key)
				}
			default:
				return nil, fmt.Errorf("env %s: this kind of source is not played here", e.Name)
			}
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		vars[e.Name] = v
		out = append(out, e.Name+"="+v)
	}
	return out, nil
}

func configMapKey(ctx context.Context, c Cluster, ns, name, key string) (string, bool, error) {
	cm := &corev1.ConfigMap{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, cm); err != nil {
		return "", false, fmt.Errorf("ConfigMap %s/%s: %w", ns, name, err)
	}
	v, ok := cm.Data[key]
	return v, ok, nil
}

func secretKey(ctx context.Context, c Cluster, ns, name, key string) (string, bool, error) {
	s := &corev1.Secret{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s); err != nil {
		return "", false, fmt.Errorf("Secret %s/%s: %w", ns, name, err)
	}
	v, ok := s.Data[key]
	return string(v), ok, nil
}

// mountVolumes writes each mounted ConfigMap and Secret under dir, at the
// mount path, and returns the mount paths with their local directories,
// longest first.
func mountVolumes(ctx context.Context, c Cluster, ns string, volumes []corev1.Volume, mounts []corev1.VolumeMount, dir string) ([][2]string, error) {
	byName := map[string]corev1.Volume{}
	for _, v := range volumes {
		byName[v.Name] = v
	}
	var out [][2]string
	for _, m := range mounts {
		v, ok := byName[m.Name]
		if !ok {
			return nil, fmt.Errorf("volume mount %s names no volume", m.Name)
		}
		local := filepath.Join(dir, "mounts", filepath.FromSlash(m.MountPath))
		if err := os.MkdirAll(local, 0o700); err != nil {
			return nil, err
		}
		files := map[string][]byte{}
		switch {
		case v.Secret != nil:
			s := &corev1.Secret{}
			err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: v.Secret.SecretName}, s)
			if err != nil && !(v.Secret.Optional != nil && *v.Secret.Optional) {
				return nil, fmt.Errorf("volume %s: Secret %s/%s: %w (the pod would not start)", v.Name, ns, v.Secret.SecretName, err)
			}
			files = s.Data
		case v.ConfigMap != nil:
			cm := &corev1.ConfigMap{}
			err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: v.ConfigMap.Name}, cm)
			if err != nil && !(v.ConfigMap.Optional != nil && *v.ConfigMap.Optional) {
				return nil, fmt.Errorf("volume %s: ConfigMap %s/%s: %w (the pod would not start)", v.Name, ns, v.ConfigMap.Name, err)
			}
			for k, s := range cm.Data {
				files[k] = []byte(s)
			}
		case v.EmptyDir != nil:
		default:
			return nil, fmt.Errorf("volume %s: this kind of volume is not played here", v.Name)
		}
		for k, b := range files {
			if err := os.WriteFile(filepath.Join(local, k), b, 0o600); err != nil {
				return nil, err
			}
		}
		out = append(out, [2]string{m.MountPath, local})
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i][0]) > len(out[j][0]) })
	return out, nil
}

// varRef is a $(VAR) reference in a container's arguments or environment.
var varRef = regexp.MustCompile(`\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// expand substitutes $(VAR) as the kubelet does: defined variables are
// replaced, undefined references stay as written, $$ is a literal $.
func expand(s string, vars map[string]string) string {
	return varRef.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		if v, ok := vars[m[2:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// listenAddr is a flag value that is a listen address (":8080",
// "0.0.0.0:8080") or a bare port ("9443").
var listenAddr = regexp.MustCompile(`^(?:(0\.0\.0\.0|)(:))?([0-9]{1,5})$`)

// localArg maps an argument from the pod's view to the process's: paths
// under a mount to the mount's local folder, and declared ports to their
// loopback stand-ins.
func localArg(arg string, mounts [][2]string, ports map[int32]int) string {
	name, value, isFlag := strings.Cut(arg, "=")
	if !isFlag || !strings.HasPrefix(name, "-") {
		return arg
	}
	for _, m := range mounts {
		if value == m[0] || strings.HasPrefix(value, m[0]+"/") {
			return name + "=" + m[1] + strings.TrimPrefix(value, m[0])
		}
	}
	if g := listenAddr.FindStringSubmatch(value); g != nil {
		port, _ := strconv.Atoi(g[3])
		if local, ok := ports[int32(port)]; ok {
			if g[2] == ":" {
				return name + "=127.0.0.1:" + strconv.Itoa(local)
			}
			return name + "=" + strconv.Itoa(local)
		}
	}
	return arg
}

// resourceField is a container's request or limit in units of the
// divisor (1 unless given), rounded up, as the kubelet gives it. Without a
// limit the kubelet gives the node's allocatable amount, which a process
// here does not have: that is an error.
func resourceField(ctr corev1.Container, ref *corev1.ResourceFieldSelector) (string, error) {
	if ref.ContainerName != "" && ref.ContainerName != ctr.Name {
		return "", fmt.Errorf("resources of container %s are not played here", ref.ContainerName)
	}
	kind, name, _ := strings.Cut(ref.Resource, ".")
	list := ctr.Resources.Limits
	if kind == "requests" {
		list = ctr.Resources.Requests
	} else if kind != "limits" {
		return "", fmt.Errorf("resource %s is not played here", ref.Resource)
	}
	q, ok := list[corev1.ResourceName(name)]
	if !ok {
		return "", fmt.Errorf("the container has no %s (the kubelet would give the node's allocatable)", ref.Resource)
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	d := divisor.MilliValue()
	return strconv.FormatInt((q.MilliValue()+d-1)/d, 10), nil
}
