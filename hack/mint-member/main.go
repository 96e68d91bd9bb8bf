// Command mint-member mints a member cluster's identities at the hub, in
// one command: it applies config/hub/member to the hub with the cluster's
// name as prefix and label (the ServiceAccounts <cluster>-hostnames and
// <cluster>-dns of atrium-fleet, bound to their hub roles), asks the hub's
// TokenRequest API for a token of each, and writes the Secrets the
// member's Deployments mount (atrium-hub-kubeconfig,
// atrium-dns-hub-kubeconfig, or the names the cluster's values give),
// ready for `kubectl apply -f` on the member:
//
//	go run ./hack/mint-member --hub-kubeconfig hub.kubeconfig \
//	    --cluster-env docs/examples/fleet/member-1/cluster.env \
//	    --server https://hub.example.org:6443 > member-1-hub-secrets.yaml
//	kubectl --context member-1 apply -f member-1-hub-secrets.yaml
//
// Run it again before the tokens expire (--duration, 30 days by default):
// the identities are applied again unchanged, new tokens are issued, and the
// components read the new token from the updated Secret within a minute or
// two, without a restart (each kubeconfig names its token by file). See
// docs/install.md.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	fleetv1 "github.com/atrium-dev/atrium/apis/fleet/v1alpha1"
	"github.com/atrium-dev/atrium/internal/components"
	"github.com/atrium-dev/atrium/internal/fleet"
	"github.com/atrium-dev/atrium/internal/manager"
)

// FieldManager is who applies the identities at the hub.
const FieldManager = "atrium-mint-member"

// DefaultDuration is how long a token is asked to last: long enough that
// renewing is a monthly chore, short enough that a leaked kubeconfig (a
// member's backup, a Secret read by mistake) stops working on its own.
const DefaultDuration = 30 * 24 * time.Hour

// Options say which member to mint and how its components reach the hub.
type Options struct {
	// Hub is the hub's admin config, which applies the identities and
	// requests their tokens.
	Hub *rest.Config
	// Cluster is the member's name in the fleet (its --cluster-name).
	Cluster string
	// Secrets are the names of the member's Secrets by hub identity
	// (components.Hub.Identity); an identity not named gets its
	// component's default (components.Hub.Secret).
	Secrets map[string]string
	// Server and CAData are the hub's API server as the member reaches
	// it: Hub's when empty.
	Server string
	CAData []byte
	// Duration is how long each token should last; the hub may cap it
	// (its --service-account-max-token-expiration).
	Duration time.Duration
	// Namespace is where the member's components run.
	Namespace string
}

// Minted is one identity's Secret, with when its token expires.
type Minted struct {
	Secret  *corev1.Secret
	Expires time.Time
}

func main() {
	hubKubeconfig := flag.String("hub-kubeconfig", os.Getenv("KUBECONFIG"), "An admin's kubeconfig of the hub.")
	hubContext := flag.String("context", "", "The hub's context in --hub-kubeconfig (its current context when empty).")
	cluster := flag.String("cluster", "", "The member's name in the fleet (its --cluster-name); or give --cluster-env.")
	clusterEnv := flag.String("cluster-env", "", "The member's cluster.env (docs/install.md): its name and the names of its hub kubeconfig Secrets.")
	server := flag.String("server", "", "The hub's API server URL as the member reaches it (the hub kubeconfig's when empty).")
	caFile := flag.String("certificate-authority", "", "The CA certificate of the hub's API server as the member sees it (the hub kubeconfig's when empty).")
	duration := flag.Duration("duration", DefaultDuration, "How long each token lasts (the hub may cap it); mint again before then.")
	namespace := flag.String("namespace", fleet.Namespace, "The member's namespace of the components.")
	out := flag.String("o", "-", "Where the Secrets go (- for standard output).")
	flag.Parse()
	if err := run(*hubKubeconfig, *hubContext, *cluster, *clusterEnv, *server, *caFile, *duration, *namespace, *out); err != nil {
		fmt.Fprintln(os.Stderr, "mint-member:", err)
		os.Exit(1)
	}
}

func run(hubKubeconfig, hubContext, cluster, clusterEnv, server, caFile string, duration time.Duration, namespace, out string) error {
	o := Options{Cluster: cluster, Server: server, Duration: duration, Namespace: namespace, Secrets: map[string]string{}}
	if clusterEnv != "" {
		values, err := readEnv(clusterEnv)
		if err != nil {
			return err
		}
		if o.Cluster != "" && o.Cluster != values["name"] {
			return fmt.Errorf("--cluster %s, but %s names cluster %s", o.Cluster, clusterEnv, values["name"])
		}
		o.Cluster = values["name"]
		for _, c := range components.All {
			if c.Hub != nil && values[SecretKey(c.Hub)] != "" {
				o.Secrets[c.Hub.Identity] = values[SecretKey(c.Hub)]
			}
		}
	}
	if o.Cluster == "" {
		return fmt.Errorf("give --cluster or --cluster-env")
	}
	if caFile != "" {
		b, err := os.ReadFile(caFile)
		if err != nil {
			return err
		}
		o.CAData = b
	}
	var err error
	o.Hub, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: hubKubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: hubContext}).ClientConfig()
	if err != nil {
		return fmt.Errorf("hub kubeconfig: %w", err)
	}
	minted, err := Mint(context.Background(), o)
	if err != nil {
		return err
	}
	w := io.Writer(os.Stdout)
	if out != "-" {
		f, err := os.OpenFile(out, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	if err := Write(w, minted); err != nil {
		return err
	}
	for _, m := range minted {
		fmt.Fprintf(os.Stderr, "Secret %s/%s: %s, token expires %s\n", m.Secret.Namespace, m.Secret.Name,
			m.Secret.Annotations[IdentityAnnotation], m.Expires.Format(time.RFC3339))
	}
	return nil
}

// SecretKey is the key of cluster.env (ConfigMap atrium-cluster) that
// names the Secret of a hub identity's kubeconfig.
func SecretKey(h *components.Hub) string { return h.Identity + "-hub-kubeconfig-secret" }

// Annotations on each Secret: whose token it holds and until when.
const (
	IdentityAnnotation = "fleet.atrium.dev/identity"
	ExpiresAnnotation  = "fleet.atrium.dev/token-expires"
)

// Mint applies the member's identities to the hub, registers its
// MemberCluster when it is not yet, and returns a Secret for each identity, holding a kubeconfig of that identity (key kubeconfig) and its
// token (key token, which the kubeconfig names as a file beside it).
func Mint(ctx context.Context, o Options) ([]Minted, error) {
	if o.Duration <= 0 {
		o.Duration = DefaultDuration
	}
	if o.Namespace == "" {
		o.Namespace = fleet.Namespace
	}
	if o.Server == "" {
		o.Server = o.Hub.Host
	}
	if o.CAData == nil {
		o.CAData = o.Hub.CAData
		if len(o.CAData) == 0 && o.Hub.CAFile != "" {
			b, err := os.ReadFile(o.Hub.CAFile)
			if err != nil {
				return nil, err
			}
			o.CAData = b
		}
	}
	c, err := client.New(o.Hub, client.Options{Scheme: manager.Scheme()})
	if err != nil {
		return nil, err
	}
	ids, err := fleet.BuildMember(o.Cluster)
	if err != nil {
		return nil, err
	}
	for _, u := range ids.All() {
		if err := c.Patch(ctx, u, client.Apply, client.ForceOwnership, client.FieldOwner(FieldManager)); err != nil {
			return nil, fmt.Errorf("applying %s %s at the hub: %w", u.GetKind(), u.GetName(), err)
		}
	}
	// The member's registration, which its components report to: made
	// when missing, an existing one (its spec the admin's) left alone.
	mc := &fleetv1.MemberCluster{ObjectMeta: metav1.ObjectMeta{Name: o.Cluster}}
	if err := c.Create(ctx, mc); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("registering MemberCluster %s at the hub: %w", o.Cluster, err)
	}
	var out []Minted
	for _, comp := range components.All {
		if comp.Hub == nil {
			continue
		}
		account := comp.Hub.Account(o.Cluster)
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: fleet.HubNamespace, Name: account}}
		seconds := int64(o.Duration / time.Second)
		tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &seconds}}
		if err := c.SubResource("token").Create(ctx, sa, tr); err != nil {
			return nil, fmt.Errorf("token for %s/%s: %w", fleet.HubNamespace, account, err)
		}
		kubeconfig, err := kubeconfigOf(o, account)
		if err != nil {
			return nil, err
		}
		name := o.Secrets[comp.Hub.Identity]
		if name == "" {
			name = comp.Hub.Secret
		}
		expires := tr.Status.ExpirationTimestamp.UTC()
		out = append(out, Minted{Expires: expires, Secret: &corev1.Secret{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{
				Namespace: o.Namespace, Name: name,
				Labels: map[string]string{"app.kubernetes.io/part-of": "atrium", "fleet.atrium.dev/cluster": o.Cluster},
				Annotations: map[string]string{
					IdentityAnnotation: "system:serviceaccount:" + fleet.HubNamespace + ":" + account,
					ExpiresAnnotation:  expires.Format(time.RFC3339),
				},
			},
			Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{"kubeconfig": kubeconfig, "token": []byte(tr.Status.Token)},
		}})
	}
	return out, nil
}

// kubeconfigOf is the kubeconfig of a hub identity: the hub as the member
// reaches it, and the token read from the file "token" beside the
// kubeconfig (client-go reads it again every minute, so a renewed token is
// taken up without a restart).
func kubeconfigOf(o Options, account string) ([]byte, error) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["hub"] = &clientcmdapi.Cluster{Server: o.Server, CertificateAuthorityData: o.CAData}
	cfg.AuthInfos[account] = &clientcmdapi.AuthInfo{TokenFile: "token"}
	cfg.Contexts["hub"] = &clientcmdapi.Context{Cluster: "hub", AuthInfo: account}
	cfg.CurrentContext = "hub"
	return clientcmd.Write(*cfg)
}

// Write writes the Secrets as one YAML stream for `kubectl apply -f`.
func Write(w io.Writer, minted []Minted) error {
	for _, m := range minted {
		b, err := yaml.Marshal(m.Secret)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "---\n# The kubeconfig of %s at the hub; the token expires %s.\n%s",
			m.Secret.Annotations[IdentityAnnotation], m.Secret.Annotations[ExpiresAnnotation], b); err != nil {
			return err
		}
	}
	return nil
}

// readEnv reads a cluster.env: key=value lines, # comments.
func readEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s: %q is no key=value line", path, line)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, sc.Err()
}
