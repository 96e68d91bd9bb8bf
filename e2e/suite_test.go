package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/atrium-dev/atrium/internal/bind"
	atriumfleet "github.com/atrium-dev/atrium/internal/fleet"
	"github.com/atrium-dev/atrium/internal/gitlabfake"
	"github.com/atrium-dev/atrium/internal/openstackfake"
	"github.com/atrium-dev/atrium/internal/pdnsfake"
	"github.com/atrium-dev/atrium/internal/procs"
	"github.com/atrium-dev/atrium/internal/testenv"
	"github.com/atrium-dev/atrium/internal/version"
)

// fleet is what the suite runs: a hub and one member running every
// component of config/ (through the overlay e2e/testdata/member) from its
// Deployment, as its ServiceAccount, with the shipped RBAC.
type fleet struct {
	*atriumfleet.Fleet
	env *testenv.Env
	hub *testenv.Env
	// member is the one member cluster.
	member *atriumfleet.Member
	// dns is the fleet's name server, primary for dnsZone.
	dns *bind.Server
	// pdnsMember is a second member whose DNS operator writes a PowerDNS
	// (the API fake, pdns) serving dnsZone too.
	pdnsMember *atriumfleet.Member
	pdns       *pdnsfake.Server
	// gitlab is the fleet's GitLab (the fake), verifying Pages domains
	// against dns; gitlabToken is its Pages bot's token.
	gitlab      *gitlabfake.Server
	gitlabToken string
	// cloud is the fleet's OpenStack (the fake): one project that both
	// members' volumes operators use, each with its own application
	// credential, so that a volume of one cluster is visible to the other.
	cloud        *openstackfake.Server
	cloudProject string
	// cloudSecrets are the members' application credential secrets, which
	// no log may hold.
	cloudSecrets []string
}

// pagesFront is where the members' Pages sites are routed.
const pagesFront = "pages.gitlab.atrium.test"

// memberName is the member cluster's name in the fleet.
const memberName = "member-e2e"

// pdnsMemberName and pdnsAPIKey are the PowerDNS member's.
const (
	pdnsMemberName = "member-pdns"
	pdnsAPIKey     = "e2e-pdns-key"
)

// dnsZone is the zone the member's DNS operator publishes in: the domain
// the example tiers allow.
const dnsZone = "web.atrium.test"

// The suite's fleet runs binaries stamped as this release (the upgrade
// test's old build); what each component reports at the hub.
const (
	suiteVersion = "v0.0.0-e2e-old"
	// suiteRevision is a commit as the release process stamps it (the
	// hub shows its first 12 characters).
	suiteRevision = "e2e0000000000000000000000000000000000001"
)

var f *fleet

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "atrium-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	f, err = startFleet(tmp)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		keepLogs(filepath.Join(tmp, "logs"))
		return 1
	}
	defer f.stop()
	code := m.Run()
	if code != 0 {
		keepLogs(f.LogDir)
	}
	return code
}

// keepLogs keeps the component logs where a person can read them.
func keepLogs(dir string) {
	keep := filepath.Join(os.TempDir(), "atrium-e2e-logs")
	_ = os.RemoveAll(keep)
	if err := os.Rename(dir, keep); err == nil {
		fmt.Fprintln(os.Stderr, "component logs kept in", keep)
	}
}

// stop stops whatever of the fleet runs.
func (fl *fleet) stop() {
	if fl.Fleet != nil {
		fl.Fleet.Stop()
	}
	if fl.dns != nil {
		_ = fl.dns.Close()
	}
	if fl.pdns != nil {
		fl.pdns.Close()
	}
	if fl.gitlab != nil {
		fl.gitlab.Close()
	}
	if fl.cloud != nil {
		fl.cloud.Close()
	}
}

func startFleet(tmp string) (_ *fleet, err error) {
	fl := &fleet{}
	defer func() {
		if err != nil {
			fl.stop()
		}
	}()
	ctx := context.Background()
	if fl.dns, err = bind.Start(ctx, bind.Options{Zones: []string{dnsZone}, Dir: filepath.Join(tmp, "bind")}); err != nil {
		return nil, err
	}
	fl.pdns = pdnsfake.Start(pdnsAPIKey, "localhost", dnsZone)
	fl.gitlab = gitlabfake.Start(gitlabfake.WithDNSServer(fl.dns.Addr))
	if fl.gitlabToken, err = seedGitLab(fl.gitlab); err != nil {
		return nil, err
	}
	// One GitLab for the fleet, as in production; each member has the
	// bot's token in its own Secret.
	pagesConfig := map[string]string{"gitlab-url": fl.gitlab.URL, "pages-front": pagesFront}
	pagesCredentials := map[string][]byte{"token": []byte(fl.gitlabToken)}
	fl.cloud = openstackfake.Start()
	fl.cloudProject = fl.cloud.AddProject("atrium-fleet")
	volumesConfig := map[string]string{"cloud": "atrium", "default-availability-zone": "nova"}
	volumesCredentials := func(member string) map[string][]byte {
		id, secret := fl.cloud.AddApplicationCredential(fl.cloudProject, member+"-volumes")
		fl.cloudSecrets = append(fl.cloudSecrets, secret)
		return map[string][]byte{"clouds.yaml": []byte(fl.cloud.CloudsYAML("atrium", id, secret))}
	}
	fl.Fleet, err = atriumfleet.Start(ctx, atriumfleet.Options{
		Kustomization: "e2e/testdata/member",
		Dir:           tmp,
		// Stamped as a release is, so that the upgrade test goes from
		// one stamped version to another.
		LDFlags:    version.LDFlags(suiteVersion, suiteRevision, version.Unknown),
		HubObjects: []string{"e2e/testdata/hub/domainpolicy.yaml"},
		ExtraCRDs:  []string{testenv.StandInCRDs},
		Members: []atriumfleet.MemberOptions{{
			Name: memberName,
			ConfigMaps: map[string]map[string]string{"atrium-dns": {
				"provider": "rfc2136", "zone": dnsZone, "server": fl.dns.Addr,
				"tsig-key-name": fl.dns.KeyName, "default-targets": "192.0.2.80",
			}, "atrium-pages": pagesConfig, "atrium-volumes": volumesConfig},
			Secrets: map[string]map[string][]byte{
				"atrium-dns-credentials":     {"tsig-secret": []byte(fl.dns.KeySecret)},
				"atrium-pages-credentials":   pagesCredentials,
				"atrium-volumes-credentials": volumesCredentials(memberName),
			},
			Objects: atriumfleet.ExampleTiers,
		}, {
			Name: pdnsMemberName,
			ConfigMaps: map[string]map[string]string{"atrium-dns": {
				"provider": "pdns", "zone": dnsZone, "server": fl.pdns.URL, "default-targets": "192.0.2.80",
			}, "atrium-pages": pagesConfig, "atrium-volumes": volumesConfig},
			Secrets: map[string]map[string][]byte{
				"atrium-dns-credentials":     {"pdns-api-key": []byte(pdnsAPIKey)},
				"atrium-pages-credentials":   pagesCredentials,
				"atrium-volumes-credentials": volumesCredentials(pdnsMemberName),
			},
			Objects: atriumfleet.ExampleTiers,
		}},
		OnExit: func(p *procs.Process, err error) {
			fmt.Fprintf(os.Stderr, "%s exited unexpectedly: %v\n%s\n", p.Name, err, p.Tail(30))
		},
	})
	if err != nil {
		return nil, err
	}
	fl.hub, fl.member, fl.pdnsMember = fl.Hub, fl.Members[0], fl.Members[1]
	fl.env = fl.member.Env
	return fl, nil
}
