package ops

import (
	"fmt"
	"slices"
	"strings"

	"github.com/azimuthcd/azimuth/internal/connector"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/task"
)

// The seed's rule for script steps: a step whose connector uses a managed
// identity (InheritFromDelegate) runs on a delegate in AKS, chosen by a
// delegate selector, because the identity it inherits is that delegate's;
// with a service principal any delegate may run it. The functions below
// are the rule, for the API (before anything runs) and for the delegate
// hub: Requirements when it queues a task (the claim then only hands it
// to a delegate reporting them), ChooseStepDelegates when it checks that
// a connected delegate can run it and says why none can.

// CapabilityKubernetes is the capability (as a delegate reports it, "true"
// or "false") of running inside a Kubernetes pod.
const CapabilityKubernetes = "kubernetes"

// Requirements are the capabilities a delegate must report as "true" to
// run kind k with connector c: a script step with a managed-identity
// connector needs a delegate in Kubernetes (AKS).
func Requirements(k task.Kind, c *connector.Connector) []string {
	if k == KindStep && usesManagedIdentity(c) {
		return []string{CapabilityKubernetes}
	}
	return nil
}

// RerunSafe reports whether a task of kind k may be run again on another
// delegate when the one running it stops answering. A script step may not:
// a script is not idempotent, and it may have done part of its work.
func RerunSafe(k task.Kind) bool { return k != KindStep }

// StepDelegateOf describes a registered delegate for the rule from its
// tags and the capabilities it reported.
func StepDelegateOf(id, name string, tags []string, caps map[string]string) StepDelegate {
	return StepDelegate{ID: id, Name: name, Tags: tags, Kubernetes: caps[CapabilityKubernetes] == "true", ManagedIdentity: caps["managedIdentity"]}
}

// StepDelegate is what the hub knows of a connected delegate for a step.
type StepDelegate struct {
	ID   string
	Name string
	Tags []string
	// Kubernetes: the delegate runs in a Kubernetes pod (it saw
	// KUBERNETES_SERVICE_HOST); the closest a delegate can tell to "in
	// AKS".
	Kubernetes bool
	// ManagedIdentity is what the delegate reported reaching: "" (none),
	// "imds", "appservice", "workload" (federated token file) or "pod"
	// (AAD pod identity).
	ManagedIdentity string
}

// ReasonStepNeedsSelector and ReasonStepNoAKSDelegate are the codes of
// refused steps.
const (
	ReasonStepNeedsSelector = "StepNeedsDelegateSelector"
	ReasonStepNoAKSDelegate = "StepNoAKSDelegate"
)

// usesManagedIdentity reports whether c inherits a delegate's identity.
func usesManagedIdentity(c *connector.Connector) bool {
	return c != nil && c.CredentialType() == connector.CredentialInherit
}

// stepSelectors are the selectors a step's delegate must carry: the
// step's and the connector's.
// Selectors, like delegate tags, compare case-insensitively.
func stepSelectors(c *connector.Connector, selectors []string) []string {
	out := slices.Clone(selectors)
	if c != nil {
		out = append(out, c.DelegateSelectors()...)
	}
	for i, s := range out {
		out[i] = strings.ToLower(strings.TrimSpace(s))
	}
	out = slices.DeleteFunc(out, func(s string) bool { return s == "" })
	slices.Sort(out)
	return slices.Compact(out)
}

// CheckStepSelectors refuses, before anything runs, a managed-identity
// step that names no delegate selector of its own. The connector's
// selectors (which InheritFromDelegate requires) say which delegates hold
// the identity; the step must also say that it means a delegate in the
// AKS cluster (DOC-AZ: with MSI auth the shell step must select a
// delegate in AKS).
func CheckStepSelectors(c *connector.Connector, selectors []string) error {
	if !usesManagedIdentity(c) || len(selectors) > 0 {
		return nil
	}
	conn := ""
	if s := c.DelegateSelectors(); len(s) > 0 {
		conn = " (the connector's own selectors, " + strings.Join(s, ", ") + ", only say which delegates hold the identity)"
	}
	return failure.New(failure.Invalid,
		"connector %s uses the managed identity of the delegate that runs it (InheritFromDelegate), so a script step with it must run on a delegate inside the AKS cluster whose identity it means, chosen by a delegate selector of the step; this step names none%s",
		c.Identifier, conn).WithCode(ReasonStepNeedsSelector).
		WithHint("%s", "Give the step a selector that only your AKS delegates carry (azimuth run --delegate-selector aks …, delegateSelectors in the API), or use a service-principal connector, which any delegate may use.")
}

// StepDelegateEligible says why d cannot run a step with connector c and
// the step's selectors; nil when it can.
func StepDelegateEligible(c *connector.Connector, selectors []string, d StepDelegate) error {
	want := stepSelectors(c, selectors)
	var missing []string
	for _, s := range want {
		if !slices.ContainsFunc(d.Tags, func(t string) bool { return strings.EqualFold(t, s) }) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("delegate %s lacks the tag(s) %s", d.Name, strings.Join(missing, ", "))
	}
	if !usesManagedIdentity(c) {
		return nil
	}
	if err := CheckStepSelectors(c, selectors); err != nil {
		return err
	}
	if !d.Kubernetes {
		return fmt.Errorf("delegate %s does not run in Kubernetes, and connector %s inherits a managed identity: a script step with it must run on a delegate in AKS", d.Name, c.Identifier)
	}
	return nil
}

// ChooseStepDelegates returns the delegates that may run the step, or an
// error saying for each delegate why it may not.
func ChooseStepDelegates(c *connector.Connector, selectors []string, ds []StepDelegate) ([]StepDelegate, error) {
	if err := CheckStepSelectors(c, selectors); err != nil {
		return nil, err
	}
	var ok []StepDelegate
	var why []string
	for _, d := range ds {
		if err := StepDelegateEligible(c, selectors, d); err != nil {
			why = append(why, err.Error())
			continue
		}
		ok = append(ok, d)
	}
	if len(ok) > 0 {
		return ok, nil
	}
	msg := "no delegate can run this script step"
	if sel := stepSelectors(c, selectors); len(sel) > 0 {
		msg += " (selectors " + strings.Join(sel, ", ") + ")"
	}
	if len(why) > 0 {
		msg += ": " + strings.Join(why, "; ")
	} else {
		msg += ": no delegate is connected"
	}
	code := "NoDelegate"
	if usesManagedIdentity(c) {
		code = ReasonStepNoAKSDelegate
	}
	return nil, failure.New(failure.Unavailable, "%s", msg).WithCode(code).
		WithHint("%s", "Run `azimuth delegate` in the AKS cluster with the step's selectors as its tags.")
}
