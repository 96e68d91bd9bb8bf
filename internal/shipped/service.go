package shipped

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Service stands for a Kubernetes Service in front of a Deployment: it
// listens on a loopback port and sends each connection to one of the
// Deployment's ready replicas in turn, as kube-proxy does with a Service's
// ready endpoints. Replicas that fail their readiness probe get no
// connections.
type Service struct {
	Name string
	ln   net.Listener
	dep  *Deployment
	// target is the container port connections go to.
	target int32

	mu    sync.Mutex
	ready []*Pod
	next  int
	stop  context.CancelFunc
	conns map[net.Conn]struct{}
}

// Expose serves svc (a shipped Service selecting the Deployment's pods) on
// port of 127.0.0.1.
func Expose(svc *corev1.Service, dep *Deployment, port int) (*Service, error) {
	if len(svc.Spec.Ports) != 1 {
		return nil, fmt.Errorf("Service %s: one port expected", svc.Name)
	}
	target, err := containerPort(dep, svc.Spec.Ports[0].TargetPort)
	if err != nil {
		return nil, fmt.Errorf("Service %s: %w", svc.Name, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{Name: svc.Name, ln: ln, dep: dep, target: target, stop: cancel, conns: map[net.Conn]struct{}{}}
	s.probe()
	go s.probeLoop(ctx)
	go s.serve()
	return s, nil
}

// containerPort resolves a Service's targetPort (a number or a port name)
// against the Deployment's container.
func containerPort(dep *Deployment, target intstr.IntOrString) (int32, error) {
	if target.Type == intstr.Int {
		return target.IntVal, nil
	}
	for _, p := range dep.Spec.Spec.Template.Spec.Containers[0].Ports {
		if p.Name == target.StrVal {
			return p.ContainerPort, nil
		}
	}
	return 0, fmt.Errorf("no container port named %q", target.StrVal)
}

// Addr is where clients connect.
func (s *Service) Addr() string { return s.ln.Addr().String() }

// Close stops serving and drops open connections.
func (s *Service) Close() {
	s.stop()
	_ = s.ln.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		_ = c.Close()
	}
}

func (s *Service) probeLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(250 * time.Millisecond):
			s.probe()
		}
	}
}

func (s *Service) probe() {
	var ready []*Pod
	for _, p := range s.dep.Pods() {
		if p.Ready() {
			ready = append(ready, p)
		}
	}
	s.mu.Lock()
	s.ready = ready
	s.mu.Unlock()
}

// pick returns the ready replicas starting with the next in turn.
func (s *Service) pick() []*Pod {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.ready)
	out := make([]*Pod, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, s.ready[(s.next+i)%n])
	}
	s.next++
	return out
}

func (s *Service) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.forward(c)
	}
}

func (s *Service) forward(c net.Conn) {
	var backend net.Conn
	for _, p := range s.pick() {
		b, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(p.Port(s.target)), time.Second)
		if err == nil {
			backend = b
			break
		}
	}
	if backend == nil {
		// No ready endpoint: the connection is refused, as for a Service
		// without endpoints.
		_ = c.Close()
		return
	}
	s.mu.Lock()
	s.conns[c], s.conns[backend] = struct{}{}, struct{}{}
	s.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(backend, c)
	go pipe(c, backend)
	<-done
	_ = c.Close()
	_ = backend.Close()
	s.mu.Lock()
	delete(s.conns, c)
	delete(s.conns, backend)
	s.mu.Unlock()
}
