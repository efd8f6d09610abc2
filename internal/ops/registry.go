package ops

import (
	"maps"

	"github.com/azimuthcd/azimuth/internal/task"
)

// The task kinds this package executes. They are stable strings: stored
// in task rows and sent to delegates. Each feature declares its own kinds
// in its own file (kinds_*.go).
const (
	// KindValidate is the connection test (Harness's VALIDATE task).
	KindValidate task.Kind = "azure.validate"
)

// Registry maps every task kind to its executor. Each call returns a new
// map, which callers may extend (tests).
func Registry() map[task.Kind]Func {
	out := map[task.Kind]Func{KindValidate: Validate}
	for _, part := range []map[task.Kind]Func{engineKinds(), azureKinds(), acrKinds(), aksKinds(), permissionKinds(), stepKinds()} {
		maps.Copy(out, part)
	}
	return out
}
