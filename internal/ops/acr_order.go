package ops

import "strings"

// Tag orders of acr.tags.
const (
	// OrderTimeDesc is newest first by last update time (the default).
	OrderTimeDesc = "timedesc"
	// OrderTimeAsc is oldest first by last update time.
	OrderTimeAsc = "timeasc"
	// OrderName is the registry's name order (byte-wise ascending).
	OrderName = "name"
	// OrderVersion is highest version first: names compared by runs of
	// digits as numbers and the rest as text ("v1.10" after "v1.9"), the
	// order Harness sorts tags in. It needs every tag before the first
	// can be given, so it reads the whole repository.
	OrderVersion = "version"
)

// parseOrder checks an order, accepting a few spellings.
func parseOrder(s string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "timedesc", "newest", "time":
		return OrderTimeDesc, true
	case "timeasc", "oldest":
		return OrderTimeAsc, true
	case "name", "lexical", "none":
		return OrderName, true
	case "version", "alphanumeric", "alphanum", "semver":
		return OrderVersion, true
	}
	return "", false
}

// compareAlphanum compares a and b by runs: runs of digits as numbers
// (leading zeros ignored, then the shorter run first), other runs byte by
// byte. It is the "Alphanum" ordering; ties fall back to the byte order so
// the order is total.
func compareAlphanum(a, b string) int {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		da, db := asciiDigit(a[i]), asciiDigit(b[j])
		if da && db {
			si, sj := i, j
			for i < len(a) && asciiDigit(a[i]) {
				i++
			}
			for j < len(b) && asciiDigit(b[j]) {
				j++
			}
			na, nb := strings.TrimLeft(a[si:i], "0"), strings.TrimLeft(b[sj:j], "0")
			if len(na) != len(nb) {
				return cmpSign(len(na) - len(nb))
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			continue
		}
		if da != db || a[i] != b[j] {
			return cmpSign(int(a[i]) - int(b[j]))
		}
		i++
		j++
	}
	switch {
	case i < len(a):
		return 1
	case j < len(b):
		return -1
	}
	return strings.Compare(a, b)
}

func asciiDigit(c byte) bool { return c >= '0' && c <= '9' }

func cmpSign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
