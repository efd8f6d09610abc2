package secret

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// KeySize is the size of the master key and of every data key: AES-256.
const KeySize = 32

// MasterKey protects the keyring. It lives outside the database (a file,
// base64 of 32 random bytes) so that a copy of the database alone reveals
// nothing. It redacts itself everywhere.
type MasterKey struct{ k []byte }

// ParseMasterKey decodes the base64 text of a master key file. Whitespace
// around it is ignored.
func ParseMasterKey(text []byte) (*MasterKey, error) {
	t := bytes.TrimSpace(text)
	if len(t) == 0 {
		return nil, errors.New("master key is empty: expected the base64 encoding of 32 random bytes")
	}
	k := make([]byte, base64.StdEncoding.DecodedLen(len(t)))
	n, err := base64.StdEncoding.Decode(k, t)
	if err != nil {
		return nil, errors.New("master key is not valid base64: expected the base64 encoding of 32 random bytes (e.g. `head -c 32 /dev/urandom | base64`)")
	}
	if n != KeySize {
		return nil, fmt.Errorf("master key must be %d bytes, found %d: expected the base64 encoding of 32 random bytes", KeySize, n)
	}
	return &MasterKey{k: k[:n]}, nil
}

// LoadMasterKeyFile reads a master key file. It refuses a file others can
// read or write, saying how to fix it.
func LoadMasterKeyFile(path string) (*MasterKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("master key file %s does not exist: create one with `head -c 32 /dev/urandom | base64 > %s && chmod 600 %s`", path, path, path)
		}
		return nil, fmt.Errorf("master key file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("master key file %s has mode %04o: it must be readable by its owner only (chmod 600 %s)", path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("master key file: %w", err)
	}
	k, err := ParseMasterKey(b)
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	return k, nil
}

// GenerateMasterKey returns a new random master key.
func GenerateMasterKey() (*MasterKey, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("generate master key: %w", err)
	}
	return &MasterKey{k: k}, nil
}

// LoadOrCreateMasterKeyFile is for dev mode only: it reads path, or
// creates it (mode 0600, never overwriting) with a new key.
func LoadOrCreateMasterKeyFile(path string) (k *MasterKey, created bool, err error) {
	if _, err := os.Stat(path); err == nil {
		k, err := LoadMasterKeyFile(path)
		return k, false, err
	}
	k, err = GenerateMasterKey()
	if err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("create master key directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("create master key file: %w", err)
	}
	_, werr := f.Write(append([]byte(base64.StdEncoding.EncodeToString(k.k)), '\n'))
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		return nil, false, fmt.Errorf("write master key file: %w", err)
	}
	return k, true, nil
}

// Encode returns the base64 text of the key, for writing a key file in
// tests and tools.
func (m *MasterKey) Encode() []byte { return []byte(base64.StdEncoding.EncodeToString(m.k)) }

func (*MasterKey) String() string       { return redacted }
func (*MasterKey) GoString() string     { return "secret.MasterKey(" + redacted + ")" }
func (*MasterKey) LogValue() slog.Value { return slog.StringValue(redacted) }
