package connector

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func benchDecode(b *testing.B, body []byte, mediaType string, wantErr bool) {
	b.Helper()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		c, err := Decode(body, mediaType)
		if (err != nil) != wantErr {
			b.Fatalf("err = %v", err)
		}
		if err == nil {
			c.Normalize()
			if err := c.Validate(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func readTestdata(b *testing.B, name string) []byte {
	body, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		b.Fatal(err)
	}
	return body
}

func BenchmarkDecodeJSON(b *testing.B) {
	benchDecode(b, readTestdata(b, "canonical.json"), "application/json", false)
}

func BenchmarkDecodeYAML(b *testing.B) {
	benchDecode(b, readTestdata(b, "manual_certificate.yaml"), "application/yaml", false)
}

func BenchmarkRejectBillionLaughs(b *testing.B) {
	benchDecode(b, billionLaughs(), "application/yaml", true)
}

func BenchmarkRejectAmplifiedAliases(b *testing.B) {
	benchDecode(b, amplified(), "application/yaml", true)
}

func BenchmarkRejectDeepJSON(b *testing.B) {
	benchDecode(b, bytes.Repeat([]byte("["), MaxDocumentSize), "application/json", true)
}

func BenchmarkRejectDeepYAML(b *testing.B) {
	benchDecode(b, append([]byte("connector: "), bytes.Repeat([]byte("["), MaxDocumentSize-16)...), "application/yaml", true)
}

func BenchmarkEncode(b *testing.B) {
	c, err := Decode(readTestdata(b, "manual_certificate.yaml"), "")
	if err != nil {
		b.Fatal(err)
	}
	c.Normalize()
	for _, format := range []string{FormatJSON, FormatYAML} {
		b.Run(format, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Encode(c, format); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRejectLargeYAML is the costliest YAML body under the size cap: a
// flat list of one-character values, refused on the value count.
func BenchmarkRejectLargeYAML(b *testing.B) {
	body := append([]byte("connector: ["), bytes.Repeat([]byte("0,"), (MaxDocumentSize-16)/2)...)
	body = append(body, ']')
	if len(body) > MaxDocumentSize {
		b.Fatal("over the cap")
	}
	benchDecode(b, body, "application/yaml", true)
}

// BenchmarkRejectLargeJSON is the same for JSON.
func BenchmarkRejectLargeJSON(b *testing.B) {
	body := append([]byte(`{"connector":[`), bytes.Repeat([]byte("0,"), (MaxDocumentSize-32)/2)...)
	body = append(body, []byte("0]}")...)
	if len(body) > MaxDocumentSize {
		b.Fatal("over the cap")
	}
	benchDecode(b, body, "application/json", true)
}

// BenchmarkRejectLargeYAMLUnderTheScan is the costliest YAML body the
// structure scan lets through: just under maxYAMLIndicators separators.
func BenchmarkRejectLargeYAMLUnderTheScan(b *testing.B) {
	body := append([]byte("connector: ["), bytes.Repeat([]byte("0,"), maxYAMLIndicators-10)...)
	body = append(body, ']')
	benchDecode(b, body, "application/yaml", true)
}
