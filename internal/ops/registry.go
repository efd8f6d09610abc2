package ops

import "github.com/azimuthcd/azimuth/internal/task"

// The task kinds this package executes. They are stable strings: stored
// in task rows and sent to delegates.
const (
	// KindValidate is the connection test (Harness's VALIDATE task).
	KindValidate task.Kind = "azure.validate"
)

// Registry maps every task kind to its executor. Each call returns a new
// map, which callers may extend (tests, kinds of later issues).
func Registry() map[task.Kind]Func {
	return map[task.Kind]Func{
		KindValidate: Validate,
	}
}
