package ops

import "github.com/azimuthcd/azimuth/internal/task"

// engineKinds are the executors of diagnostics (diag.*) and script steps.
func engineKinds() map[task.Kind]Func { return nil }
