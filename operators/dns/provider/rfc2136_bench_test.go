package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"sigs.k8s.io/external-dns/endpoint"
	"sigs.k8s.io/external-dns/pkg/apis/externaldns"
	"sigs.k8s.io/external-dns/plan"
	edprovider "sigs.k8s.io/external-dns/provider"
	"sigs.k8s.io/external-dns/provider/rfc2136"

	"github.com/atrium-dev/atrium/internal/bind"
)

// BenchmarkWrite compares the library's rfc2136 writes with rfc2136Writer's
// on a cold start's changes: 10,000 A record sets and their ownership
// records, in messages of 200 records, each op into a fresh BIND. Besides
// the time it reports the CPU this process spent (cpu-ms/op), which the
// DNS server's share of the machine does not blur.
//
//	go test ./operators/dns/provider -run - -bench Write -benchtime 3x -count 3
func BenchmarkWrite(b *testing.B) {
	if !bind.Installed() {
		b.Skip("named is not installed")
	}
	// As the operator runs: external-dns logs warnings and errors only.
	logrus.SetLevel(logrus.WarnLevel)
	defer logrus.SetLevel(logrus.InfoLevel)
	const n = 10000
	var creates []*endpoint.Endpoint
	for i := range n {
		h := fmt.Sprintf("h%05d.bench.example.test", i)
		creates = append(creates,
			endpoint.NewEndpointWithTTL(h, "A", 300, "192.0.2.10"),
			endpoint.NewEndpointWithTTL("_atrium-a."+h, "TXT", 300, fmt.Sprintf(`"heritage=external-dns,external-dns/owner=member-bench,external-dns/resource=ingress/ns/i%d"`, i)))
	}
	for _, which := range []string{"library", "ours"} {
		b.Run(which, func(b *testing.B) {
			ctx := context.Background()
			var cpu time.Duration
			b.StopTimer()
			for range b.N {
				srv, err := bind.Start(ctx, bind.Options{Zones: []string{"bench.example.test"}})
				if err != nil {
					b.Fatal(err)
				}
				secret := filepath.Join(b.TempDir(), "tsig")
				if err := os.WriteFile(secret, []byte(srv.KeySecret), 0o600); err != nil {
					b.Fatal(err)
				}
				c := Config{Provider: RFC2136, Zones: []string{"bench.example.test"}, Server: srv.Addr, TSIGKeyName: srv.KeyName,
					TSIGAlgorithm: bind.KeyAlgorithm, TSIGSecretFile: secret, BatchSize: 200}
				var p edprovider.Provider
				if which == "ours" {
					p, err = New(ctx, c)
				} else {
					cfg := externaldns.NewConfig()
					cfg.RFC2136Host, cfg.RFC2136Port, cfg.RFC2136Zone = []string{"127.0.0.1"}, srv.Port, c.Zones
					cfg.RFC2136TSIGKeyName, cfg.RFC2136TSIGSecret, cfg.RFC2136TSIGSecretAlg = srv.KeyName, srv.KeySecret, c.TSIGAlgorithm
					cfg.RFC2136AXFR, cfg.RFC2136MinTTL, cfg.RFC2136BatchChangeSize = true, 0, c.BatchSize
					p, err = rfc2136.New(ctx, cfg, c.DomainFilter())
				}
				if err != nil {
					b.Fatal(err)
				}
				cpu0 := processCPU()
				b.StartTimer()
				err = p.ApplyChanges(ctx, &plan.Changes{Create: creates})
				b.StopTimer()
				cpu += processCPU() - cpu0
				_ = srv.Close()
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
