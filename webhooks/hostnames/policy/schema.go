package policy

import (
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
)

// matchSchema is the OpenAPI schema of a constraint's spec.match. The
// framework builds each template's constraint CRD with it and rejects
// constraints that do not validate or that carry fields it does not name, so
// a typo such as "excludedNamespace" fails AddConstraint instead of silently
// matching everything.
func matchSchema() apiextensions.JSONSchemaProps {
	return object(map[string]apiextensions.JSONSchemaProps{
		"kinds": arrayOf(object(map[string]apiextensions.JSONSchemaProps{
			"apiGroups": arrayOf(str()),
			"kinds":     arrayOf(str()),
		})),
		"scope":              enum(scopeAll, scopeCluster, scopeNamespaced),
		"namespaces":         arrayOf(wildcardSchema(namespacePattern)),
		"excludedNamespaces": arrayOf(wildcardSchema(namespacePattern)),
		"labelSelector":      labelSelectorSchema(),
		"namespaceSelector":  labelSelectorSchema(),
		"name":               wildcardSchema(namePattern),
		"source":             enum(sourceAll, sourceOriginal, sourceGenerated),
	})
}

// labelSelectorSchema describes a metav1.LabelSelector.
func labelSelectorSchema() apiextensions.JSONSchemaProps {
	s := str()
	expression := object(map[string]apiextensions.JSONSchemaProps{
		"key":      str(),
		"operator": enum("In", "NotIn", "Exists", "DoesNotExist"),
		"values":   arrayOf(str()),
	})
	expression.Required = []string{"key", "operator"}
	return object(map[string]apiextensions.JSONSchemaProps{
		"matchLabels": {
			Type:                 "object",
			AdditionalProperties: &apiextensions.JSONSchemaPropsOrBool{Allows: true, Schema: &s},
		},
		"matchExpressions": arrayOf(expression),
	})
}

// Names with an optional leading and/or trailing "*". namespacePattern is
// Gatekeeper's; namePattern also allows dots, which Gatekeeper's does not,
// because objects here are often named after hostnames.
const (
	namespacePattern = `^\*?[-:a-z0-9]*\*?$`
	namePattern      = `^\*?[-.:a-z0-9]*\*?$`
)

func wildcardSchema(pattern string) apiextensions.JSONSchemaProps {
	s := str()
	s.Pattern = pattern
	return s
}

func object(props map[string]apiextensions.JSONSchemaProps) apiextensions.JSONSchemaProps {
	return apiextensions.JSONSchemaProps{Type: "object", Properties: props}
}

func arrayOf(item apiextensions.JSONSchemaProps) apiextensions.JSONSchemaProps {
	return apiextensions.JSONSchemaProps{
		Type:  "array",
		Items: &apiextensions.JSONSchemaPropsOrArray{Schema: &item},
	}
}

func str() apiextensions.JSONSchemaProps {
	return apiextensions.JSONSchemaProps{Type: "string"}
}

func enum(values ...string) apiextensions.JSONSchemaProps {
	s := str()
	for _, v := range values {
		s.Enum = append(s.Enum, apiextensions.JSON(v))
	}
	return s
}
