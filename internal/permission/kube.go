package permission

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Kubernetes RBAC equivalents of AKS data actions, for clusters that
// authorise with Kubernetes RBAC (Harness's documentation gives a Role and
// RoleBinding for an Entra group as the example).

// KubeRule is a Kubernetes RBAC policy rule.
type KubeRule struct {
	APIGroups     []string `yaml:"apiGroups" json:"apiGroups"`
	Resources     []string `yaml:"resources" json:"resources"`
	ResourceNames []string `yaml:"resourceNames,omitempty" json:"resourceNames,omitempty"`
	Verbs         []string `yaml:"verbs" json:"verbs"`
}

// verbs of each data-action suffix.
var kubeVerbs = map[string][]string{
	"read":   {"get", "list", "watch"},
	"write":  {"create", "update", "patch"},
	"delete": {"delete"},
}

// clusterScoped are the Kubernetes resources that live outside
// namespaces among those the catalogue can name; a Role cannot grant them,
// a ClusterRole must.
var clusterScoped = map[string]bool{
	"/namespaces": true, "/nodes": true, "/persistentvolumes": true, "/componentstatuses": true,
	"storage.k8s.io/storageclasses": true, "rbac.authorization.k8s.io/clusterroles": true,
	"rbac.authorization.k8s.io/clusterrolebindings": true,
}

// KubeRules maps AKS data actions
// (Microsoft.ContainerService/managedClusters/[group/]resource/read|write|delete)
// to Kubernetes RBAC rules, split into namespaced ones (for a Role) and
// cluster-scoped ones (for a ClusterRole). Rules are merged per API group
// and verb set and sorted.
func KubeRules(dataActions []string) (namespaced, cluster []KubeRule, err error) {
	prefix := strings.ToLower(aksClusters) + "/"
	type key struct{ group, resource string }
	verbs := map[key][]string{}
	for _, a := range dataActions {
		if !strings.HasPrefix(strings.ToLower(a), prefix) {
			return nil, nil, fmt.Errorf("%q is not a Kubernetes data action of an AKS cluster", a)
		}
		parts := strings.Split(a[len(prefix):], "/")
		if len(parts) < 2 || len(parts) > 3 {
			return nil, nil, fmt.Errorf("%q has no Kubernetes RBAC equivalent here", a)
		}
		vs, ok := kubeVerbs[strings.ToLower(parts[len(parts)-1])]
		if !ok || slices.Contains(parts, "*") {
			return nil, nil, fmt.Errorf("%q has no Kubernetes RBAC equivalent here", a)
		}
		k := key{resource: parts[len(parts)-2]}
		if len(parts) == 3 {
			k.group = parts[0]
		}
		for _, v := range vs {
			if !slices.Contains(verbs[k], v) {
				verbs[k] = append(verbs[k], v)
			}
		}
	}
	// Merge resources sharing a group and a verb set.
	type rkey struct{ group, verbs string }
	merged := map[rkey]*KubeRule{}
	clusterMerged := map[rkey]*KubeRule{}
	order := []string{"get", "list", "watch", "create", "update", "patch", "delete"}
	for k, vs := range verbs {
		sort.Slice(vs, func(i, j int) bool { return slices.Index(order, vs[i]) < slices.Index(order, vs[j]) })
		rk := rkey{k.group, strings.Join(vs, ",")}
		m := merged
		if clusterScoped[k.group+"/"+k.resource] {
			m = clusterMerged
		}
		r := m[rk]
		if r == nil {
			r = &KubeRule{APIGroups: []string{k.group}, Verbs: vs}
			m[rk] = r
		}
		r.Resources = append(r.Resources, k.resource)
	}
	flatten := func(m map[rkey]*KubeRule) []KubeRule {
		var out []KubeRule
		for _, r := range m {
			sort.Strings(r.Resources)
			out = append(out, *r)
		}
		sort.Slice(out, func(i, j int) bool {
			if out[i].APIGroups[0] != out[j].APIGroups[0] {
				return out[i].APIGroups[0] < out[j].APIGroups[0]
			}
			if len(out[i].Verbs) != len(out[j].Verbs) {
				return len(out[i].Verbs) > len(out[j].Verbs)
			}
			return out[i].Resources[0] < out[j].Resources[0]
		})
		return out
	}
	return flatten(merged), flatten(clusterMerged), nil
}

type kubeMeta struct {
	Name      string `yaml:"name"`
	Namespace string `yaml:"namespace,omitempty"`
}

type kubeRoleRef struct {
	APIGroup string `yaml:"apiGroup"`
	Kind     string `yaml:"kind"`
	Name     string `yaml:"name"`
}

type kubeSubject struct {
	APIGroup string `yaml:"apiGroup"`
	Kind     string `yaml:"kind"`
	Name     string `yaml:"name"`
}

type kubeObject struct {
	APIVersion string        `yaml:"apiVersion"`
	Kind       string        `yaml:"kind"`
	Metadata   kubeMeta      `yaml:"metadata"`
	Rules      []KubeRule    `yaml:"rules,omitempty"`
	RoleRef    *kubeRoleRef  `yaml:"roleRef,omitempty"`
	Subjects   []kubeSubject `yaml:"subjects,omitempty"`
}

const rbacGroup = "rbac.authorization.k8s.io"

// confineToNamespace narrows cluster-scoped rules to what a Role in
// namespace can grant: reading the namespace object itself. Kubernetes
// authorises GET /api/v1/namespaces/{ns} with the namespace set to {ns},
// so a Role there may allow "get" on "namespaces" named {ns}. The rest
// (listing or watching every namespace, other cluster-scoped resources)
// needs a ClusterRole over the whole cluster: kept only when clusterWide,
// else returned as left out.
func confineToNamespace(namespace string, namespaced, cluster []KubeRule, clusterWide bool) (role, clusterRole []KubeRule, leftOut []string) {
	role = namespaced
	for _, r := range cluster {
		if slices.Equal(r.APIGroups, []string{""}) && slices.Contains(r.Resources, "namespaces") && slices.Contains(r.Verbs, "get") {
			role = append(role, KubeRule{APIGroups: []string{""}, Resources: []string{"namespaces"}, ResourceNames: []string{namespace}, Verbs: []string{"get"}})
		}
		if clusterWide {
			clusterRole = append(clusterRole, r)
			continue
		}
		for _, res := range r.Resources {
			verbs := r.Verbs
			if res == "namespaces" {
				verbs = slices.DeleteFunc(slices.Clone(verbs), func(v string) bool { return v == "get" })
			}
			if len(verbs) > 0 {
				leftOut = append(leftOut, fmt.Sprintf("%s on %s", strings.Join(verbs, ", "), qualified(r.APIGroups[0], res)))
			}
		}
	}
	return role, clusterRole, leftOut
}

func qualified(group, resource string) string {
	if group == "" {
		return resource
	}
	return resource + "." + group
}

// kubernetesManifests renders the Role and RoleBinding in namespace that
// grant dataActions to subjects, reading the namespace itself included;
// with clusterWide, also a ClusterRole and ClusterRoleBinding for the
// cluster-scoped rest (listing every namespace). leftOut names what was
// not granted without clusterWide.
func kubernetesManifests(name, namespace string, subjects []Subject, dataActions []string, clusterWide bool) (yamlDocs string, leftOut []string, err error) {
	namespaced, cluster, err := KubeRules(dataActions)
	if err != nil {
		return "", nil, err
	}
	namespaced, cluster, leftOut = confineToNamespace(namespace, namespaced, cluster, clusterWide)
	var subs []kubeSubject
	for _, s := range subjects {
		subs = append(subs, kubeSubject{APIGroup: rbacGroup, Kind: s.Kind, Name: s.Name})
	}
	var objs []kubeObject
	if len(namespaced) > 0 {
		objs = append(objs,
			kubeObject{APIVersion: rbacGroup + "/v1", Kind: "Role", Metadata: kubeMeta{Name: name, Namespace: namespace}, Rules: namespaced},
			kubeObject{APIVersion: rbacGroup + "/v1", Kind: "RoleBinding", Metadata: kubeMeta{Name: name, Namespace: namespace},
				RoleRef: &kubeRoleRef{APIGroup: rbacGroup, Kind: "Role", Name: name}, Subjects: subs})
	}
	if len(cluster) > 0 {
		cname := name + "-cluster"
		objs = append(objs,
			kubeObject{APIVersion: rbacGroup + "/v1", Kind: "ClusterRole", Metadata: kubeMeta{Name: cname}, Rules: cluster},
			kubeObject{APIVersion: rbacGroup + "/v1", Kind: "ClusterRoleBinding", Metadata: kubeMeta{Name: cname + "-" + namespace},
				RoleRef: &kubeRoleRef{APIGroup: rbacGroup, Kind: "ClusterRole", Name: cname}, Subjects: subs})
	}
	var b bytes.Buffer
	for i, o := range objs {
		if i > 0 {
			b.WriteString("---\n")
		}
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		if err := enc.Encode(o); err != nil {
			return "", nil, fmt.Errorf("render %s: %w", o.Kind, err)
		}
		if err := enc.Close(); err != nil {
			return "", nil, fmt.Errorf("render %s: %w", o.Kind, err)
		}
	}
	return b.String(), leftOut, nil
}
