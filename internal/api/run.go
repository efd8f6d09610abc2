package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/service"
	"github.com/azimuthcd/azimuth/internal/task"
)

// Tasks runs tasks: the engine. Run submits spec, waits for its end and
// returns its result. A task that ran and failed is a Result with status
// FAILED and an Error (err nil); err is for a task that could not be run at
// all (no eligible delegate, bad spec, ctx done).
type Tasks interface {
	Run(ctx context.Context, spec task.Spec) (*task.Result, error)
}

// ConnectorTask is a request to run one task kind with a connector.
type ConnectorTask struct {
	// Owner is the request's scope; Ref is Harness's connectorRef
	// ("id", "org.id", "account.id") seen from it.
	Owner scope.Scope
	Ref   string
	Kind  task.Kind
	// Params are the kind's parameters; they are encoded as JSON.
	Params any
	// Selectors are a step's delegate selectors, ANDed with the
	// connector's own.
	Selectors []string
	// Use, when set, is an act with the connector's credential (a script
	// step, a kubeconfig, registry credentials): the connector is taken
	// with Connectors.Use (editor role, audited) instead of Get (read).
	Use *service.ConnectorUse
	// ID, when set, is the task's id (a step's, so its log can be followed
	// while it runs); empty gives a new one.
	ID string
}

// connectorScope returns where the connector named by ref lives, seen from
// owner. An unprefixed identifier names a connector at owner's own scope.
func connectorScope(owner scope.Scope, ref string) (scope.Scope, string, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return scope.Scope{}, "", &failure.Error{Kind: failure.Invalid, Fields: []failure.FieldError{{Field: "connectorRef", Message: "connectorRef is required"}}}
	}
	if !strings.Contains(ref, ".") {
		return owner, ref, nil
	}
	r, err := scope.ParseRef(ref)
	if err != nil {
		return scope.Scope{}, "", &failure.Error{Kind: failure.Invalid, Fields: []failure.FieldError{{Field: "connectorRef", Message: fmt.Sprintf("%q is not a connector reference: %s", ref, failureText(err))}}}
	}
	target, err := r.Resolve(owner)
	if err != nil {
		return scope.Scope{}, "", &failure.Error{Kind: failure.Invalid, Fields: []failure.FieldError{{Field: "connectorRef", Message: failureText(err)}}}
	}
	return target, r.Identifier, nil
}

func failureText(err error) string {
	if fe, ok := failure.As(err); ok && fe.Message != "" {
		return fe.Message
	}
	return err.Error()
}

// runConnectorTask loads the connector, runs the task through the engine and
// returns its result with the connector it used. It fails when the task
// could not be run; a task that ran and failed is returned as a result.
func (a *API) runConnectorTask(ctx context.Context, p access.Principal, t ConnectorTask) (*task.Result, service.Connector, error) {
	sc, id, err := connectorScope(t.Owner, t.Ref)
	if err != nil {
		return nil, service.Connector{}, err
	}
	var c service.Connector
	if t.Use != nil {
		c, err = a.svc.Connectors.Use(ctx, p, sc, id, *t.Use)
	} else {
		c, err = a.svc.Connectors.Get(ctx, p, sc, id)
	}
	if err != nil {
		return nil, service.Connector{}, err
	}
	if a.tasks == nil {
		return nil, c, failure.New(failure.Unavailable, "this server runs no task engine")
	}
	var params json.RawMessage
	if t.Params != nil {
		if params, err = json.Marshal(t.Params); err != nil {
			return nil, c, fmt.Errorf("encode %s parameters: %w", t.Kind, err)
		}
	}
	res, err := a.tasks.Run(ctx, task.Spec{
		ID:               t.ID,
		Kind:             t.Kind,
		Scope:            c.Scope,
		Owner:            t.Owner,
		Connector:        c.Doc,
		ConnectorVersion: c.Version,
		Params:           params,
		Selectors:        t.Selectors,
		Requester:        p.KeyID,
	})
	if err != nil {
		return nil, c, err
	}
	return res, c, nil
}

// runConnectorOp runs a task and decodes its output into out; a failed task
// becomes its failure (kind, reason, message, hint).
func (a *API) runConnectorOp(ctx context.Context, p access.Principal, t ConnectorTask, out any) (*task.Result, error) {
	res, _, err := a.runConnectorTask(ctx, p, t)
	if err != nil {
		return nil, err
	}
	if res.Status != task.Succeeded {
		if res.Error != nil {
			return res, res.Error.Failure()
		}
		return res, failure.New(failure.Internal, "task %s ended %s", res.TaskID, res.Status)
	}
	if out != nil && len(res.Output) > 0 {
		if err := json.Unmarshal(res.Output, out); err != nil {
			return res, fmt.Errorf("decode %s output: %w", t.Kind, err)
		}
	}
	return res, nil
}

// ownerScope is the request's scope from its query parameters.
func ownerScope(r *http.Request) (scope.Scope, error) { return queryScope(r) }
