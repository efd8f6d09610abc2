package engine

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Mask is what replaces a secret value in task logs and errors.
const Mask = "**************"

// minMasked is the shortest fragment masked: shorter ones (a one-letter
// line of a multi-line value) would mask ordinary text everywhere.
const minMasked = 4

// Masker replaces secret values in text: each value as it is and each
// line of a multi-line value, each of them also in its quoted forms (JSON
// as encoding/json writes it, with <, > and & escaped, and without that
// escaping; Go's strconv.Quote) and its base64 encodings (standard and
// URL, padded or not).
type Masker struct {
	needles []string // longest first, so a value masks before its parts
}

// NewMasker builds a masker for values.
func NewMasker(values [][]byte) *Masker {
	set := map[string]bool{}
	add := func(s string) {
		s = strings.TrimSpace(s)
		if len(s) >= minMasked {
			set[s] = true
		}
	}
	forms := func(s string) {
		add(s)
		for _, q := range quotedForms(s) {
			add(q)
		}
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			add(enc.EncodeToString([]byte(s)))
		}
	}
	for _, v := range values {
		if len(v) == 0 {
			continue
		}
		s := string(v)
		forms(s)
		if lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n"); len(lines) > 1 {
			for _, line := range lines {
				forms(line)
				forms(strings.TrimSpace(line))
			}
		}
	}
	m := &Masker{needles: make([]string, 0, len(set))}
	for s := range set {
		m.needles = append(m.needles, s)
	}
	sort.Slice(m.needles, func(i, j int) bool {
		if len(m.needles[i]) != len(m.needles[j]) {
			return len(m.needles[i]) > len(m.needles[j])
		}
		return m.needles[i] < m.needles[j]
	})
	return m
}

// quotedForms are s inside quotes, without the quotes: as encoding/json
// writes it (escaping <, > and &), as JSON without that escaping, and as
// strconv.Quote writes it. Forms equal to s are left out.
func quotedForms(s string) []string {
	var out []string
	keep := func(q string) {
		if len(q) >= 2 && q[0] == '"' && q[len(q)-1] == '"' {
			if q = q[1 : len(q)-1]; q != s {
				out = append(out, q)
			}
		}
	}
	if b, err := json.Marshal(s); err == nil {
		keep(string(b))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(s) == nil {
		keep(strings.TrimSuffix(buf.String(), "\n"))
	}
	keep(strconv.Quote(s))
	return out
}

// Mask returns s with every secret fragment replaced.
func (m *Masker) Mask(s string) string {
	if m == nil {
		return s
	}
	for _, n := range m.needles {
		if strings.Contains(s, n) {
			s = strings.ReplaceAll(s, n, Mask)
		}
	}
	return s
}

// Writer returns a writer that masks what it is given line by line before
// passing it to w: a value split across two writes is still masked, because
// nothing is passed on before its line ends (or Flush is called).
func (m *Masker) Writer(w io.Writer) *MaskWriter { return &MaskWriter{m: m, w: w} }

// MaskWriter is a line-buffered masking writer, safe for concurrent use.
type MaskWriter struct {
	m   *Masker
	w   io.Writer
	mu  sync.Mutex
	buf []byte
}

// maxLine bounds the buffered partial line; a longer one is masked and
// passed on in pieces.
const maxLine = 64 << 10

func (mw *MaskWriter) Write(p []byte) (int, error) {
	mw.mu.Lock()
	defer mw.mu.Unlock()
	mw.buf = append(mw.buf, p...)
	for {
		i := bytes.IndexByte(mw.buf, '\n')
		if i < 0 {
			break
		}
		if _, err := io.WriteString(mw.w, mw.m.Mask(string(mw.buf[:i]))+"\n"); err != nil {
			return 0, err
		}
		mw.buf = mw.buf[i+1:]
	}
	if len(mw.buf) > maxLine {
		if _, err := io.WriteString(mw.w, mw.m.Mask(string(mw.buf))); err != nil {
			return 0, err
		}
		mw.buf = nil
	}
	return len(p), nil
}

// Flush passes on a last partial line.
func (mw *MaskWriter) Flush() error {
	mw.mu.Lock()
	defer mw.mu.Unlock()
	if len(mw.buf) == 0 {
		return nil
	}
	_, err := io.WriteString(mw.w, mw.m.Mask(string(mw.buf)))
	mw.buf = nil
	return err
}

func marshalOutput(out any) (json.RawMessage, error) {
	if out == nil {
		return nil, nil
	}
	if raw, ok := out.(json.RawMessage); ok {
		return raw, nil
	}
	return json.Marshal(out)
}
