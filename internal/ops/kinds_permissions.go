package ops

import "github.com/azimuthcd/azimuth/internal/task"

// The permission task kinds.
const (
	// KindPermissionsCheck checks a connector's identity's permissions for
	// capabilities at a scope (PermissionsCheck).
	KindPermissionsCheck task.Kind = "permissions.check"
	// KindPermissionsRole generates least-privilege roles (PermissionsRole);
	// it needs no connector.
	KindPermissionsRole task.Kind = "permissions.role"
)

// permissionKinds are the executors of permission checks.
func permissionKinds() map[task.Kind]Func {
	return map[task.Kind]Func{KindPermissionsCheck: PermissionsCheck, KindPermissionsRole: PermissionsRole}
}
