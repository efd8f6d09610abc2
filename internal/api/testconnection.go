package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/azimuthcd/azimuth/internal/access"
	"github.com/azimuthcd/azimuth/internal/conntest"
	"github.com/azimuthcd/azimuth/internal/ops"
)

// connTestRoutes is Harness's connection test.
func (a *API) connTestRoutes() []Route {
	return []Route{{Method: http.MethodPost, Path: "/ng/api/connectors/testConnection/{identifier}",
		Summary: "Test a connector: authenticate, list the subscriptions it sees, record the outcome", handle: a.testConnection}}
}

// testConnection runs the azure.validate task with the connector and
// answers Harness's ConnectorValidationResult plus Azimuth's fields
// (reason, hint, warnings, identity, subscriptions). A test that ran and
// failed — Azure refused the credentials, the connector needs a delegate,
// a secret is missing, the test ran out of time — is a 200 whose data has
// status FAILURE, and it is recorded on the connector like a success. An
// optional JSON or YAML body is passed to the task unchanged as its
// parameters (ops.ValidateParams).
func (a *API) testConnection(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	owner, err := ownerScope(r)
	if err != nil {
		return err
	}
	var params json.RawMessage
	b, err := readBody(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) > 0 {
		if err := decodeBytes(b, mediaType(r), &params); err != nil {
			return err
		}
	}
	var taskParams any
	if len(params) > 0 && !bytes.Equal(bytes.TrimSpace(params), []byte("null")) {
		taskParams = params
	}
	ctx := r.Context()
	if a.tasks == nil {
		// Without an engine nothing can be tested (503), but a request
		// for a connector that does not exist is still answered as such.
		sc, id, err := connectorScope(owner, r.PathValue("identifier"))
		if err != nil {
			return err
		}
		if _, err := a.svc.Connectors.Get(ctx, p, sc, id); err != nil {
			return err
		}
	}
	res, c, runErr := a.runConnectorTask(ctx, p, ConnectorTask{Owner: owner, Ref: r.PathValue("identifier"), Kind: ops.KindValidate, Params: taskParams})
	if c.Doc == nil {
		// The connector could not be loaded (not found, not visible, a
		// bad reference): nothing of it to record.
		return runErr
	}
	v, err := conntest.FromTask(ctx, c.Doc, res, runErr, time.Now())
	if err != nil {
		return err
	}
	if err := conntest.Record(ctx, a.svc.Connectors, p, c.Scope, c.Identifier, c.Status, v); err != nil {
		return err
	}
	a.log.Info("connection test", "connector", c.Identifier, "scope", c.Scope.String(), "status", v.Status, "reason", v.Reason, "task", v.TaskID)
	ok(w, r, v)
	return nil
}
