package failure

import (
	"context"
	"errors"
)

func kindOfStd(err error) Kind {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return Timeout
	case errors.Is(err, context.Canceled):
		return Canceled
	}
	return Internal
}
