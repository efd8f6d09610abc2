package connector

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/azimuthcd/azimuth/internal/failure"
)

// FuzzDecode: no input panics or fails without a kind, and whatever Decode
// accepts, Encode writes in both formats and Decode reads back to the same
// connector. The seeds are the golden inputs; testdata/fuzz/FuzzDecode
// holds hostile ones (alias bombs, deep nesting, duplicate keys, ...) and
// is replayed by plain go test.
func FuzzDecode(f *testing.F) {
	for _, in := range []string{"canonical.json", "manual_certificate.yaml", "inherit_user.yaml", "inherit_system_usgov.yaml", "platform_secret_china.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", in))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "")
		f.Add(b, "application/yaml")
	}
	f.Add([]byte(`{"connector":{"spec":{"credential":{"type":"ManualConfig","spec":{"auth":{"type":"Certificate","spec":{"certificateRef":"ORG.x"}}}}}}}`), "application/json")
	f.Fuzz(func(t *testing.T, body []byte, mediaType string) {
		c, err := Decode(body, mediaType)
		if err != nil {
			if _, ok := failure.As(err); !ok {
				t.Fatalf("error without a kind: %v", err)
			}
			return
		}
		c.Normalize()
		_ = c.Validate()
		_ = c.CheckSecretScopes(c.Scope("acc"))
		for _, format := range []string{FormatJSON, FormatYAML} {
			out, err := Encode(c, format)
			if err != nil {
				t.Fatalf("Encode(%s): %v", format, err)
			}
			if len(out) > MaxDocumentSize {
				continue // escapes can grow a document past the cap
			}
			back, err := Decode(out, "")
			if err != nil {
				t.Fatalf("%s export refused: %v\n%s", format, err, out)
			}
			if !reflect.DeepEqual(back, c) {
				t.Fatalf("%s export reads back as\n%#v\nwant\n%#v\n%s", format, back, c, out)
			}
		}
	})
}
