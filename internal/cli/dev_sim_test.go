package cli

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/config"
)

// `azimuth dev --retest-interval 0` turns background re-tests off (the
// simulator's part used to put the 30-minute default back over a 0);
// without the flag dev re-tests every 30 minutes, as the server does.
func TestDevRetestIntervalFlag(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want time.Duration
	}{
		{"off", []string{"--retest-interval", "0"}, 0},
		{"given", []string{"--retest-interval", "5m"}, 5 * time.Minute},
		{"default", nil, config.DefaultRetestInterval},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan time.Duration, 1)
			devParts = append(devParts, DevPart{Name: "retest probe", Order: 1000, After: func(_ context.Context, env *DevEnv) error {
				got <- env.Server.Retester().Interval
				return nil
			}})
			t.Cleanup(func() {
				devParts = slices.DeleteFunc(devParts, func(p DevPart) bool { return p.Name == "retest probe" })
			})
			args := append([]string{"dev", "--dir", filepath.Join(t.TempDir(), "dev"), "--listen", "127.0.0.1:0"}, tc.args...)
			stop, _ := start(t, args...)
			select {
			case d := <-got:
				if d != tc.want {
					t.Errorf("re-test interval %v, want %v", d, tc.want)
				}
			case <-time.After(60 * time.Second):
				_, _, stderr := stop()
				t.Fatalf("dev did not come up: %s", stderr)
			}
			if code, _, stderr := stop(); code != 0 {
				t.Fatalf("dev exit %d: %s", code, stderr)
			}
		})
	}
}
