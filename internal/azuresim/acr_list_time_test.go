package azuresim

import (
	"testing"
	"time"
)

// TestAppendACRTime: the tag pages' time encoder writes what
// AppendFormat(acrTimeLayout) writes.
func TestAppendACRTime(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2024, 2, 1, 9, 0, 0, 0, time.UTC), time.Date(2024, 2, 1, 9, 3, 4, 123456789, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 99, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2024, 7, 1, 1, 0, 0, 500, time.FixedZone("x", 3*3600)), time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		if got, want := string(appendACRTime(nil, tm)), tm.UTC().Format(acrTimeLayout); got != want {
			t.Errorf("%v: %s, want %s", tm, got, want)
		}
	}
}
