package provider

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"sigs.k8s.io/external-dns/endpoint"
	"sigs.k8s.io/external-dns/pkg/apis/externaldns"
	edprovider "sigs.k8s.io/external-dns/provider"
	"sigs.k8s.io/external-dns/provider/inmemory"
	"sigs.k8s.io/external-dns/provider/pdns"
	"sigs.k8s.io/external-dns/provider/rfc2136"
)

// The providers that can be chosen.
const (
	RFC2136  = "rfc2136"
	PDNS     = "pdns"
	InMemory = "inmemory"
)

// Config chooses and configures a provider. Secrets are read from files
// (a mounted Secret), so they never pass through flags, the process list
// or logs.
type Config struct {
	// Provider is one of RFC2136, PDNS, InMemory.
	Provider string
	// Zones are the zones written to; hostnames outside every zone are not
	// published.
	Zones []string

	// Server is host:port of the DNS server (rfc2136) or the URL of the
	// PowerDNS API (pdns).
	Server string
	// TSIGKeyName and TSIGAlgorithm name the rfc2136 update key;
	// TSIGSecretFile holds its base64 secret.
	TSIGKeyName    string
	TSIGAlgorithm  string
	TSIGSecretFile string
	// BatchSize is how many records go into one rfc2136 update message.
	BatchSize int

	// PDNSServerID is the PowerDNS server id ("localhost" by default);
	// PDNSAPIKeyFile holds the API key.
	PDNSServerID   string
	PDNSAPIKeyFile string
}

// Validate says what is wrong with the configuration, before anything
// connects.
func (c Config) Validate() error {
	var errs []error
	if len(c.Zones) == 0 {
		errs = append(errs, errors.New("at least one zone is needed (--zone)"))
	}
	switch c.Provider {
	case RFC2136:
		if _, _, err := splitHostPort(c.Server); err != nil {
			errs = append(errs, fmt.Errorf("rfc2136 needs --server host:port: %w", err))
		}
		if c.TSIGKeyName == "" || c.TSIGSecretFile == "" {
			errs = append(errs, errors.New("rfc2136 needs --tsig-key-name and --tsig-secret-file (unsigned updates are not supported)"))
		}
	case PDNS:
		if !strings.HasPrefix(c.Server, "http://") && !strings.HasPrefix(c.Server, "https://") {
			errs = append(errs, errors.New("pdns needs --server with the API's URL"))
		}
		if c.PDNSAPIKeyFile == "" {
			errs = append(errs, errors.New("pdns needs --pdns-api-key-file"))
		}
	case InMemory:
	default:
		errs = append(errs, fmt.Errorf("unknown provider %q: choose %s, %s or %s", c.Provider, RFC2136, PDNS, InMemory))
	}
	return errors.Join(errs...)
}

// OwnershipFirst says whether ownership records can be written ahead of
// their record sets: with rfc2136 and pdns a create of a record that exists
// changes nothing; the inmemory provider refuses it (and loses everything
// in a crash anyway).
func (c Config) OwnershipFirst() bool {
	return c.Provider != InMemory
}

// DomainFilter matches the names inside the configured zones.
func (c Config) DomainFilter() *endpoint.DomainFilter {
	return endpoint.NewDomainFilter(c.Zones)
}

// New builds the provider. The rfc2136 provider reads records back with
// zone transfers (AXFR, signed with the same key): without them the plan
// could never update or delete. It writes through rfc2136Writer.
func New(ctx context.Context, c Config) (edprovider.Provider, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	cfg := externaldns.NewConfig()
	filter := c.DomainFilter()
	switch c.Provider {
	case RFC2136:
		host, port, _ := splitHostPort(c.Server)
		secret, err := readSecret(c.TSIGSecretFile)
		if err != nil {
			return nil, err
		}
		cfg.RFC2136Host = []string{host}
		cfg.RFC2136Port = port
		cfg.RFC2136Zone = c.Zones
		cfg.RFC2136TSIGKeyName = c.TSIGKeyName
		cfg.RFC2136TSIGSecret = secret
		cfg.RFC2136TSIGSecretAlg = c.TSIGAlgorithm
		cfg.RFC2136AXFR = true
		cfg.RFC2136MinTTL = 0
		if c.BatchSize > 0 {
			cfg.RFC2136BatchChangeSize = c.BatchSize
		}
		p, err := rfc2136.New(ctx, cfg, filter)
		if err != nil {
			return nil, err
		}
		l, ok := p.(lister)
		if !ok {
			return nil, fmt.Errorf("the rfc2136 provider %T cannot list its zones", p)
		}
		return newRFC2136Writer(groupedRecords{Provider: p, list: l}, c, secret, filter)
	case PDNS:
		key, err := readSecret(c.PDNSAPIKeyFile)
		if err != nil {
			return nil, err
		}
		cfg.PDNSServer = c.Server
		if c.PDNSServerID != "" {
			cfg.PDNSServerID = c.PDNSServerID
		}
		cfg.PDNSAPIKey = key
		p, err := pdns.New(ctx, cfg, filter)
		if err != nil {
			return nil, err
		}
		return quotedTXT{Provider: p}, nil
	default:
		return inmemory.NewInMemoryProvider(inmemory.InMemoryInitZones(c.Zones), inmemory.InMemoryWithDomain(filter)), nil
	}
}

// readSecret reads a secret from a file, trimming the line end a Secret
// created from a literal often carries. The error never holds the secret.
func readSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading secret file: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("secret file %s is empty", path)
	}
	return s, nil
}

func splitHostPort(s string) (string, int, error) {
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	return host, port, nil
}
