package ops

import (
	"time"

	"github.com/azimuthcd/azimuth/internal/connector"
	"github.com/azimuthcd/azimuth/internal/task"
)

// KindStep is a script step: a bash script run on a delegate with the
// cluster's kubeconfig as ${HARNESS_KUBE_CONFIG_PATH}.
const KindStep task.Kind = "step.script"

// Script steps' time bounds: a step's own timeout defaults to
// StepDefaultTimeout and may be at most StepMaxTimeout; the task's
// (engine.Timeouts) is StepTaskTimeout, which leaves room to report.
const (
	StepDefaultTimeout = 10 * time.Minute
	StepMaxTimeout     = time.Hour
	StepTaskTimeout    = StepMaxTimeout + 5*time.Minute
)

// stepKinds are the executors of script steps.
func stepKinds() map[task.Kind]Func {
	return map[task.Kind]Func{KindStep: Step}
}

// DelegateOnly reports whether a kind must run on a delegate, whatever
// its connector says: script steps run arbitrary code, never inside the
// server.
func DelegateOnly(k task.Kind) bool { return k == KindStep }

// CheckPlacement refuses, before a task is dispatched, what its kind's
// rules forbid: a managed-identity script step without a selector of its
// own (CheckStepSelectors).
func CheckPlacement(k task.Kind, c *connector.Connector, selectors []string) error {
	if k == KindStep {
		return CheckStepSelectors(c, selectors)
	}
	return nil
}
