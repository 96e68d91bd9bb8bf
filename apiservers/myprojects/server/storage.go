package server

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	accessv1 "github.com/atrium-dev/atrium/apis/access/v1alpha1"
	tenancyv1 "github.com/atrium-dev/atrium/apis/tenancy/v1alpha1"
)

// Storage answers list, get and watch of myprojects for the requesting
// user from a cache of the Projects. It stores nothing.
type Storage struct {
	// Projects reads Projects (a cache kept by the server).
	Projects client.Reader
	// Changes is the cache's informer of Projects, which watches follow;
	// nil serves no watch.
	Changes cache.Informer
}

var (
	_ rest.Storage              = &Storage{}
	_ rest.Scoper               = &Storage{}
	_ rest.Lister               = &Storage{}
	_ rest.Getter               = &Storage{}
	_ rest.SingularNameProvider = &Storage{}
	_ rest.Watcher              = &Storage{}
)

func (s *Storage) New() runtime.Object     { return &accessv1.MyProject{} }
func (s *Storage) NewList() runtime.Object { return &accessv1.MyProjectList{} }
func (s *Storage) Destroy()                {}
func (s *Storage) NamespaceScoped() bool   { return false }
func (s *Storage) GetSingularName() string { return "myproject" }

// List returns the Projects the user belongs to, sorted by name; label
// selectors and a metadata.name field selector narrow it as for any list.
func (s *Storage) List(ctx context.Context, options *metainternalversion.ListOptions) (runtime.Object, error) {
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return nil, apierrors.NewUnauthorized("no user")
	}
	var projects tenancyv1.ProjectList
	if err := s.Projects.List(ctx, &projects); err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	lsel, fsel, err := selectors(options)
	if err != nil {
		return nil, err
	}
	out := &accessv1.MyProjectList{}
	var newest uint64
	for i := range projects.Items {
		p := &projects.Items[i]
		newest = max(newest, resourceVersion(p))
		role, ok := RoleOf(p, u)
		if !ok || !lsel.Matches(labels.Set(p.Labels)) || !fsel.Matches(fields.Set{"metadata.name": p.Name}) {
			continue
		}
		out.Items = append(out.Items, *View(p, role))
	}
	// The newest change among all Projects: a watch from here sends what
	// changes after this list.
	out.ResourceVersion = strconv.FormatUint(newest, 10)
	sort.Slice(out.Items, func(i, j int) bool { return out.Items[i].Name < out.Items[j].Name })
	return out, nil
}

// selectors are a list's label and field selectors; only metadata.name can
// be selected by field.
func selectors(options *metainternalversion.ListOptions) (labels.Selector, fields.Selector, error) {
	lsel, fsel := labels.Everything(), fields.Everything()
	if options != nil && options.LabelSelector != nil {
		lsel = options.LabelSelector
	}
	if options != nil && options.FieldSelector != nil {
		fsel = options.FieldSelector
		for _, r := range fsel.Requirements() {
			if r.Field != "metadata.name" {
				return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("field selector %q: only metadata.name is supported", r.Field))
			}
		}
	}
	return lsel, fsel, nil
}

// resourceVersion is a Project's resourceVersion as a number (the API
// server's are etcd revisions), 0 when it is not one.
func resourceVersion(p *tenancyv1.Project) uint64 {
	n, _ := strconv.ParseUint(p.ResourceVersion, 10, 64)
	return n
}

// Get returns one Project the user belongs to; one they do not belong to
// is NotFound, so its existence is not given away.
func (s *Storage) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return nil, apierrors.NewUnauthorized("no user")
	}
	notFound := apierrors.NewNotFound(accessv1.GroupVersion.WithResource(accessv1.Resource).GroupResource(), name)
	p := &tenancyv1.Project{}
	if err := s.Projects.Get(ctx, client.ObjectKey{Name: name}, p); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, notFound
		}
		return nil, apierrors.NewInternalError(err)
	}
	role, ok := RoleOf(p, u)
	if !ok {
		return nil, notFound
	}
	return View(p, role), nil
}

// columns are what `kubectl get myprojects` shows.
var columns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: "The Project's name, also its namespace's."},
	{Name: "Role", Type: "string", Description: "Your role in the Project: Owner, Admin, Member or Viewer."},
	{Name: "Owner", Type: "string", Description: "The Project's owner."},
	{Name: "Tier", Type: "string", Description: "The Project's tier."},
	{Name: "Ready", Type: "string", Description: "The Project's Ready condition."},
	{Name: "Display Name", Type: "string", Priority: 1, Description: "The Project's display name."},
	{Name: "Age", Type: "date", Description: "Time since the Project was created."},
}

// ConvertToTable renders MyProjects for kubectl.
func (s *Storage) ConvertToTable(_ context.Context, obj runtime.Object, _ runtime.Object) (*metav1.Table, error) {
	t := &metav1.Table{ColumnDefinitions: columns}
	row := func(p *accessv1.MyProject) metav1.TableRow {
		return metav1.TableRow{
			Cells:  []any{p.Name, string(p.Role), p.Owner, p.Tier, string(p.Ready), p.DisplayName, translateAge(p.CreationTimestamp)},
			Object: runtime.RawExtension{Object: p},
		}
	}
	switch o := obj.(type) {
	case *accessv1.MyProject:
		t.Rows = []metav1.TableRow{row(o)}
	case *accessv1.MyProjectList:
		t.ResourceVersion = o.ResourceVersion
		for i := range o.Items {
			t.Rows = append(t.Rows, row(&o.Items[i]))
		}
	default:
		return nil, fmt.Errorf("cannot render %T as a table", obj)
	}
	return t, nil
}

func translateAge(t metav1.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(time.Since(t.Time))
}
