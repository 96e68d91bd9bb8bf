package server

import (
	"context"
	"fmt"
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/healthz"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	"k8s.io/component-base/compatibility"
	"k8s.io/component-base/metrics/legacyregistry"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	accessv1 "github.com/atrium-dev/atrium/apis/access/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
	"github.com/atrium-dev/atrium/internal/version"
)

// Scheme and Codecs serve the access API and the meta types every API
// server answers with.
var (
	Scheme = runtime.NewScheme()
	Codecs = serializer.NewCodecFactory(Scheme)
)

func init() {
	if err := accessv1.AddToScheme(Scheme); err != nil {
		panic(err)
	}
	metav1.AddToGroupVersion(Scheme, schema.GroupVersion{Version: "v1"})
	unversioned := schema.GroupVersion{Group: "", Version: "v1"}
	Scheme.AddUnversionedTypes(unversioned, &metav1.Status{}, &metav1.APIVersions{}, &metav1.APIGroupList{}, &metav1.APIGroup{}, &metav1.APIResourceList{})
}

// Options are the server's serving, authentication and authorization
// settings, as the generic API server's flags.
type Options struct {
	SecureServing  *genericoptions.SecureServingOptionsWithLoopback
	Authentication *genericoptions.DelegatingAuthenticationOptions
	Authorization  *genericoptions.DelegatingAuthorizationOptions
}

// NewOptions are the defaults: HTTPS on 9445, the caller's identity from
// the aggregation layer's front proxy (or a bearer token) checked with the
// cluster, every request authorized by the cluster's RBAC; health
// endpoints open, as the kubelet probes them without credentials.
func NewOptions() *Options {
	o := &Options{
		SecureServing:  genericoptions.NewSecureServingOptions().WithLoopback(),
		Authentication: genericoptions.NewDelegatingAuthenticationOptions(),
		Authorization:  genericoptions.NewDelegatingAuthorizationOptions(),
	}
	o.SecureServing.BindPort = 9445
	o.SecureServing.ServerCert.PairName = "tls"
	o.Authorization.AlwaysAllowPaths = []string{"/healthz", "/readyz", "/livez"}
	return o
}

// RegisterBuildInfo exports atrium_build_info on the server's /metrics,
// which the generic API server serves from component-base's
// legacyregistry (not controller-runtime's registry: this binary runs no
// manager).
func RegisterBuildInfo() error {
	return version.Register(legacyregistry.Registerer())
}

// Run serves the API until ctx is done. projects must be a started cache
// holding Projects; the server is ready once it has synced.
func Run(ctx context.Context, o *Options, projects cache.Cache, kubeconfig string) error {
	changes, err := projects.GetInformer(ctx, &tenancyv1.Project{}, cache.BlockUntilSynced(false))
	if err != nil {
		return err
	}
	if o.Authentication.RemoteKubeConfigFile == "" {
		o.Authentication.RemoteKubeConfigFile = kubeconfig
	}
	if o.Authorization.RemoteKubeConfigFile == "" {
		o.Authorization.RemoteKubeConfigFile = kubeconfig
	}
	cfg := genericapiserver.NewRecommendedConfig(Codecs)
	// The Kubernetes release whose generic API server this is built from.
	cfg.EffectiveVersion = compatibility.NewEffectiveVersionFromString("1.36.3", "", "")
	namer := openapinamer.NewDefinitionNamer(Scheme)
	cfg.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(openAPIDefinitions, namer)
	cfg.OpenAPIConfig.Info.Title, cfg.OpenAPIConfig.Info.Version = "Atrium myprojects", accessv1.GroupVersion.Version
	cfg.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(openAPIDefinitions, namer)
	cfg.OpenAPIV3Config.Info.Title, cfg.OpenAPIV3Config.Info.Version = "Atrium myprojects", accessv1.GroupVersion.Version
	if err = o.SecureServing.ApplyTo(&cfg.SecureServing, &cfg.LoopbackClientConfig); err != nil {
		return fmt.Errorf("serving: %w", err)
	}
	if err := o.Authentication.ApplyTo(&cfg.Authentication, cfg.SecureServing, cfg.OpenAPIConfig); err != nil {
		return fmt.Errorf("authentication: %w", err)
	}
	if err := o.Authorization.ApplyTo(&cfg.Authorization); err != nil {
		return fmt.Errorf("authorization: %w", err)
	}
	synced := healthz.NamedCheck("projects-cache", func(r *http.Request) error {
		if !projects.WaitForCacheSync(r.Context()) {
			return fmt.Errorf("the Projects cache has not synced")
		}
		return nil
	})
	cfg.ReadyzChecks = append(cfg.ReadyzChecks, synced)
	if err := RegisterBuildInfo(); err != nil {
		return err
	}
	srv, err := cfg.Complete().New("atrium-myprojects", genericapiserver.NewEmptyDelegate())
	if err != nil {
		return err
	}
	group := genericapiserver.NewDefaultAPIGroupInfo(accessv1.GroupVersion.Group, Scheme, metav1.ParameterCodec, Codecs)
	group.VersionedResourcesStorageMap[accessv1.GroupVersion.Version] = map[string]rest.Storage{
		accessv1.Resource: &Storage{Projects: projects, Changes: changes},
	}
	if err := srv.InstallAPIGroup(&group); err != nil {
		return err
	}
	return srv.PrepareRun().RunWithContext(ctx)
}
