package ops

import (
	"context"
	"time"

	"github.com/azimuthcd/azimuth/internal/failure"
	"github.com/azimuthcd/azimuth/internal/permission"
)

// PermissionsRoleParams are the parameters of permissions.role: what
// permission.Generate takes (capabilities, scope, role name, assignee,
// Kubernetes namespace and subjects).
type PermissionsRoleParams = permission.GenerateRequest

// PermissionsRole is permissions.role: the least-privilege custom role(s)
// for capabilities at a scope, the az commands that create and assign them
// or the built-in alternative, and for AKS the Kubernetes Role and
// RoleBinding. It is pure and needs no connector; with one, and no
// assignee given, the commands name the connector's identity.
func PermissionsRole(ctx context.Context, env *Env, in Input) (any, error) {
	var p PermissionsRoleParams
	if err := decodeParams(in.Params, &p); err != nil {
		return nil, err
	}
	if p.Assignee == "" && in.Connector != nil {
		if env == nil || env.Azure == nil {
			return nil, failure.New(failure.Internal, "permissions.role: the executor environment has no Azure factory")
		}
		cred, err := env.Azure.Credential(in.Connector, in.Secrets, in.CredentialKey)
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		id, err := cred.Identity(ctx)
		if err != nil {
			return nil, err
		}
		// The connector's identity is a service principal (a managed
		// identity is one too): the commands need no Graph lookup.
		p.Assignee, p.AssigneePrincipalType = id.ObjectID, permission.PrincipalServicePrincipal
		logf(in.Log, "assignee: object %s of application %s in tenant %s", id.ObjectID, id.ApplicationID, id.TenantID)
	}
	plan, err := permission.Generate(p)
	if err != nil {
		return nil, err
	}
	return plan, nil
}

var _ Func = PermissionsRole
