package server

import (
	extensionsopenapi "k8s.io/apiextensions-apiserver/pkg/generated/openapi"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/validation/spec"

	accessv1 "github.com/atrium-dev/atrium/apis/access/v1alpha1"
)

// openAPIDefinitions describe the served kinds, which the generic API
// server needs for server-side apply's type information and `kubectl
// explain`, beside the meta types (taken from a Kubernetes API server's
// generated definitions).
func openAPIDefinitions(ref common.ReferenceCallback) map[string]common.OpenAPIDefinition {
	defs := extensionsopenapi.GetOpenAPIDefinitions(ref)
	str := func(desc string) spec.Schema {
		return spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{"string"}, Description: desc}}
	}
	refTo := func(name, desc string) spec.Schema {
		return spec.Schema{SchemaProps: spec.SchemaProps{Ref: ref(name), Description: desc}}
	}
	objectMeta, listMeta := metav1.ObjectMeta{}.OpenAPIModelName(), metav1.ListMeta{}.OpenAPIModelName()
	myProject := accessv1.MyProject{}.OpenAPIModelName()
	defs[myProject] = common.OpenAPIDefinition{
		Schema: spec.Schema{SchemaProps: spec.SchemaProps{
			Description: "A Project the requesting user belongs to, with their role in it.",
			Type:        []string{"object"},
			Properties: map[string]spec.Schema{
				"apiVersion":  str("APIVersion of this object."),
				"kind":        str("Kind of this object: MyProject."),
				"metadata":    refTo(objectMeta, "The Project's name, UID, labels and creation time."),
				"role":        str("The highest role the user holds in the Project, directly or through a group: Owner, Admin, Member or Viewer."),
				"owner":       str("The Project's owner."),
				"tier":        str("The Project's tier."),
				"displayName": str("The Project's display name."),
				"ready":       str("The status of the Project's Ready condition: True, False or Unknown."),
				"reason":      str("The reason of the Project's Ready condition."),
			},
			Required: []string{"role"},
		}},
		Dependencies: []string{objectMeta},
	}
	defs[accessv1.MyProjectList{}.OpenAPIModelName()] = common.OpenAPIDefinition{
		Schema: spec.Schema{SchemaProps: spec.SchemaProps{
			Description: "The Projects the requesting user belongs to.",
			Type:        []string{"object"},
			Properties: map[string]spec.Schema{
				"apiVersion": str("APIVersion of this object."),
				"kind":       str("Kind of this object: MyProjectList."),
				"metadata":   refTo(listMeta, "List metadata."),
				"items": {SchemaProps: spec.SchemaProps{
					Type:  []string{"array"},
					Items: &spec.SchemaOrArray{Schema: &spec.Schema{SchemaProps: spec.SchemaProps{Ref: ref(myProject)}}},
				}},
			},
			Required: []string{"items"},
		}},
		Dependencies: []string{listMeta, myProject},
	}
	return defs
}
