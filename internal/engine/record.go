package engine

import (
	"context"

	"github.com/azimuthcd/azimuth/internal/task"
)

// Recorder keeps a record of the tasks the server runs itself, so the
// task list shows them next to the ones delegates ran (the delegate hub
// records those as it dispatches them).
type Recorder interface {
	RecordLocal(ctx context.Context, spec task.Spec, res *task.Result)
}

// SetRecorder installs the recorder of server-run tasks.
func (e *Engine) SetRecorder(r Recorder) { e.recorder = r }
