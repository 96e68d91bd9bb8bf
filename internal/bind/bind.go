package bind

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"
)

// KeyAlgorithm is the TSIG algorithm of the server's update key.
const KeyAlgorithm = "hmac-sha256"

// Options describe the server to start.
type Options struct {
	// Zones are the zones the server is primary for; each accepts updates
	// and transfers signed with the server's TSIG key.
	Zones []string
	// Dir holds the configuration, zone files and journals. Empty means a
	// new temporary directory, removed by Close.
	Dir string
	// Port is the UDP and TCP port on 127.0.0.1; 0 picks a free one.
	Port int
}

// Server is one named process on loopback.
type Server struct {
	// Addr is host:port of the server.
	Addr string
	// Port is the server's port.
	Port int
	// KeyName and KeySecret are the TSIG key allowed to update and transfer
	// the zones (the secret base64-encoded, as named.conf has it).
	KeyName   string
	KeySecret string
	// Zones are the zones served.
	Zones []string

	dir     string
	tempDir bool
	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	stderr  *bytes.Buffer
}

// Installed reports whether named can be run here.
func Installed() bool {
	_, err := exec.LookPath("named")
	return err == nil
}

// Start writes a configuration and starts named with it, returning once the
// server answers for its zones.
func Start(ctx context.Context, o Options) (*Server, error) {
	if _, err := exec.LookPath("named"); err != nil {
		return nil, fmt.Errorf("named (Debian package bind9) is not installed; `make tools` installs it: %w", err)
	}
	if len(o.Zones) == 0 {
		return nil, errors.New("bind: at least one zone is needed")
	}
	var err error
	s := &Server{KeyName: "atrium-dns", Zones: o.Zones, dir: o.Dir}
	if s.dir == "" {
		if s.dir, err = os.MkdirTemp("", "atrium-bind-"); err != nil {
			return nil, err
		}
		s.tempDir = true
	} else if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, err
	}
	if s.Port = o.Port; s.Port == 0 {
		if s.Port, err = freePort(); err != nil {
			return nil, err
		}
	}
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	s.KeySecret = base64.StdEncoding.EncodeToString(secret)
	if err := s.writeZones(); err != nil {
		return nil, err
	}
	if err := s.writeConfig(false); err != nil {
		return nil, err
	}
	if err := s.Restart(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// writeZones writes the initial zone file of each zone: SOA, NS and the
// name server's address. Updates go to each zone's journal beside it.
func (s *Server) writeZones() error {
	for _, z := range s.Zones {
		z = strings.TrimSuffix(z, ".")
		zone := fmt.Sprintf("$TTL 60\n@ IN SOA ns.%[1]s. hostmaster.%[1]s. 1 3600 600 86400 60\n@ IN NS ns.%[1]s.\nns IN A 127.0.0.1\n", z)
		if err := os.WriteFile(filepath.Join(s.dir, z+".zone"), []byte(zone), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writeConfig writes named.conf. With refuseUpdates the zones still answer
// and transfer but refuse every update, as a server under maintenance or
// with a revoked key would.
func (s *Server) writeConfig(refuseUpdates bool) error {
	var conf strings.Builder
	fmt.Fprintf(&conf, `options {
	directory %q;
	listen-on port %d { 127.0.0.1; };
	listen-on-v6 { none; };
	pid-file none;
	session-keyfile none;
	recursion no;
	notify no;
	dnssec-validation no;
	allow-query { any; };
	max-journal-size 64m;
};
key %q { algorithm %s; secret %q; };
controls { };
`, s.dir, s.Port, s.KeyName, KeyAlgorithm, s.KeySecret)
	update := fmt.Sprintf("key %q;", s.KeyName)
	if refuseUpdates {
		update = "none;"
	}
	for _, z := range s.Zones {
		z = strings.TrimSuffix(z, ".")
		fmt.Fprintf(&conf, "zone %q { type primary; file %q; allow-update { %s }; allow-transfer { key %q; }; };\n", z, z+".zone", update, s.KeyName)
	}
	return os.WriteFile(filepath.Join(s.dir, "named.conf"), []byte(conf.String()), 0o644)
}

// RefuseUpdates restarts named with updates refused (or allowed again);
// the zones keep their records and keep answering.
func (s *Server) RefuseUpdates(ctx context.Context, refuse bool) error {
	if err := s.Stop(); err != nil {
		return err
	}
	if err := s.writeConfig(refuse); err != nil {
		return err
	}
	return s.Restart(ctx)
}

// Restart starts named again after Stop (or the first time), on the same
// port and with the zones as they were: updates are kept in the journals.
func (s *Server) Restart(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("bind: already running")
	}
	// -g: foreground, log to stderr; -n 1: one worker, this runs beside the
	// API servers on a small machine.
	cmd := exec.Command("named", "-g", "-n", "1", "-c", filepath.Join(s.dir, "named.conf"))
	cmd.Dir = s.dir
	s.stderr = &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = s.stderr, s.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting named: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-exited:
			s.cmd = nil
			return fmt.Errorf("named exited at start:\n%s", s.stderr.String())
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if s.answersLocked() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("named did not answer within 30s:\n%s", s.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// answersLocked reports whether every zone's SOA is served.
func (s *Server) answersLocked() bool {
	c := &dns.Client{Timeout: 500 * time.Millisecond}
	for _, z := range s.Zones {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(z), dns.TypeSOA)
		r, _, err := c.Exchange(m, s.Addr)
		if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
			return false
		}
	}
	return true
}

// Stop stops named (SIGTERM, then SIGKILL); Restart starts it again.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
	s.cmd = nil
	return nil
}

// Close stops named and removes a temporary directory.
func (s *Server) Close() error {
	err := s.Stop()
	if s.tempDir {
		_ = os.RemoveAll(s.dir)
	}
	return err
}

// Log returns what named printed since its last start.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stderr == nil {
		return ""
	}
	return s.stderr.String()
}

// Lookup asks the server for name's records of type qtype (dns.TypeA, …)
// and returns their data as text: addresses, CNAME targets without the
// trailing dot, TXT strings joined.
func (s *Server) Lookup(name string, qtype uint16) ([]string, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	c := &dns.Client{Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, s.Addr)
	if err != nil {
		return nil, err
	}
	if r.Rcode != dns.RcodeSuccess && r.Rcode != dns.RcodeNameError {
		return nil, fmt.Errorf("%s %s: %s", name, dns.TypeToString[qtype], dns.RcodeToString[r.Rcode])
	}
	var out []string
	for _, rr := range r.Answer {
		if rr.Header().Rrtype != qtype {
			continue
		}
		switch v := rr.(type) {
		case *dns.A:
			out = append(out, v.A.String())
		case *dns.AAAA:
			out = append(out, v.AAAA.String())
		case *dns.CNAME:
			out = append(out, strings.TrimSuffix(v.Target, "."))
		case *dns.TXT:
			out = append(out, strings.Join(v.Txt, ""))
		default:
			out = append(out, rr.String())
		}
	}
	return out, nil
}

// Update sends one signed dynamic update: inserts and removals of whole
// RRsets, written as zone-file lines ("www.example.test. 60 IN A 10.0.0.1").
// Tests use it to play an administrator editing the zone by hand.
func (s *Server) Update(zone string, insert, remove []string) error {
	m := new(dns.Msg)
	m.SetUpdate(dns.Fqdn(zone))
	for _, line := range insert {
		rr, err := dns.NewRR(line)
		if err != nil {
			return err
		}
		m.Insert([]dns.RR{rr})
	}
	for _, line := range remove {
		rr, err := dns.NewRR(line)
		if err != nil {
			return err
		}
		m.RemoveRRset([]dns.RR{rr})
	}
	m.SetTsig(dns.Fqdn(s.KeyName), dns.HmacSHA256, 300, time.Now().Unix())
	c := &dns.Client{Timeout: 5 * time.Second, Net: "tcp", TsigSecret: map[string]string{dns.Fqdn(s.KeyName): s.KeySecret}}
	r, _, err := c.Exchange(m, s.Addr)
	if err != nil {
		return err
	}
	if r.Rcode != dns.RcodeSuccess {
		return fmt.Errorf("update refused: %s", dns.RcodeToString[r.Rcode])
	}
	return nil
}

// freePort returns a port free for TCP and UDP on 127.0.0.1.
func freePort() (int, error) {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		_ = u.Close()
		return port, nil
	}
	return 0, errors.New("bind: no free port")
}
