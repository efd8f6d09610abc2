package secret

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/store"
)

// Ciphertext layout: the 4-byte prefix "azs1" (format version 1), the data
// key id (4 bytes, big-endian), a 12-byte random nonce, then AES-256-GCM
// output (ciphertext and 16-byte tag).
const (
	prefix     = "azs1"
	headerSize = len(prefix) + 4 + 12
)

// masterKeyID marks material sealed directly by the master key (data keys
// and the check value).
const masterKeyID = 0

// checkPlaintext is sealed under the master key when the keyring is
// created; opening it proves the configured master key is the right one.
const checkPlaintext = "azimuth master key check v1"

// Errors a caller can test for.
var (
	// ErrWrongMasterKey means the configured master key is not the one the
	// database was initialised with.
	ErrWrongMasterKey = errors.New("the master key does not match the one this database's secrets were encrypted with (check value mismatch)")
	// ErrTampered means a ciphertext failed authentication: it was altered,
	// truncated, or copied from another record.
	ErrTampered = errors.New("secret ciphertext failed authentication: it was altered or belongs to another record")
)

// KeyStore is what the keyring needs from the store.
type KeyStore interface {
	KeyringCheck(ctx context.Context) ([]byte, error)
	InitKeyring(ctx context.Context, check []byte, first store.DataKey) error
	DataKeys(ctx context.Context) ([]store.DataKey, error)
	AddDataKey(ctx context.Context, k store.DataKey) error
}

var _ KeyStore = store.Keyring(nil)

// Keyring holds the unwrapped data keys in memory. The active key encrypts;
// every key decrypts. It is safe for concurrent use.
type Keyring struct {
	master cipher.AEAD
	ks     KeyStore
	now    func() time.Time

	mu     sync.RWMutex
	keys   map[uint32]cipher.AEAD
	active uint32
}

// OpenKeyring checks the master key against the database and loads the
// data keys, creating the keyring (check value and data key 1) on first use.
func OpenKeyring(ctx context.Context, master *MasterKey, ks KeyStore) (*Keyring, error) {
	if master == nil {
		return nil, errors.New("no master key")
	}
	m, err := newAEAD(master.k)
	if err != nil {
		return nil, err
	}
	k := &Keyring{master: m, ks: ks, now: time.Now, keys: map[uint32]cipher.AEAD{}}
	check, err := ks.KeyringCheck(ctx)
	if errors.Is(err, store.ErrNotFound) {
		err = k.initialise(ctx)
		if errors.Is(err, store.ErrDuplicate) { // another replica was first
			check, err = ks.KeyringCheck(ctx)
		} else if err == nil {
			check, err = ks.KeyringCheck(ctx)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open keyring: %w", err)
	}
	pt, err := k.open(m, masterKeyID, check, []byte("azimuth/keyring-check"))
	if err != nil || string(pt) != checkPlaintext {
		return nil, ErrWrongMasterKey
	}
	if err := k.Reload(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *Keyring) initialise(ctx context.Context) error {
	check, err := k.seal(k.master, masterKeyID, []byte(checkPlaintext), []byte("azimuth/keyring-check"))
	if err != nil {
		return err
	}
	dk, err := k.newDataKey(1)
	if err != nil {
		return err
	}
	return k.ks.InitKeyring(ctx, check, dk)
}

func (k *Keyring) newDataKey(id uint32) (store.DataKey, error) {
	raw := make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		return store.DataKey{}, fmt.Errorf("generate data key: %w", err)
	}
	wrapped, err := k.seal(k.master, masterKeyID, raw, dataKeyAAD(id))
	if err != nil {
		return store.DataKey{}, err
	}
	return store.DataKey{ID: id, Wrapped: wrapped, Active: true, CreatedAt: k.now()}, nil
}

func dataKeyAAD(id uint32) []byte { return fmt.Appendf(nil, "azimuth/data-key/%d", id) }

// Reload reads the data keys from the store: a server picks up a key
// another replica (or `operator rotate-key --offline`) installed.
func (k *Keyring) Reload(ctx context.Context) error {
	dks, err := k.ks.DataKeys(ctx)
	if err != nil {
		return fmt.Errorf("load data keys: %w", err)
	}
	keys := make(map[uint32]cipher.AEAD, len(dks))
	var active uint32
	for _, dk := range dks {
		raw, err := k.open(k.master, masterKeyID, dk.Wrapped, dataKeyAAD(dk.ID))
		if err != nil {
			return fmt.Errorf("unwrap data key %d: %w", dk.ID, ErrWrongMasterKey)
		}
		a, err := newAEAD(raw)
		if err != nil {
			return fmt.Errorf("data key %d: %w", dk.ID, err)
		}
		keys[dk.ID] = a
		if dk.Active {
			active = dk.ID
		}
	}
	if active == 0 {
		return errors.New("load data keys: the keyring has no active key")
	}
	k.mu.Lock()
	k.keys, k.active = keys, active
	k.mu.Unlock()
	return nil
}

// ActiveKeyID is the key new ciphertext is made with.
func (k *Keyring) ActiveKeyID() uint32 {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.active
}

// KeyIDs lists the loaded keys, oldest first.
func (k *Keyring) KeyIDs() []uint32 {
	k.mu.RLock()
	defer k.mu.RUnlock()
	ids := make([]uint32, 0, len(k.keys))
	for id := range k.keys {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// Rotate installs a new active data key and returns its id. Older keys stay
// in the keyring so older ciphertext still decrypts; Reencrypt moves it to
// the new key. Safe to run while the server serves: encryptions that began
// under the previous key remain readable.
func (k *Keyring) Rotate(ctx context.Context) (uint32, error) {
	for attempt := 0; attempt < 5; attempt++ {
		if err := k.Reload(ctx); err != nil {
			return 0, err
		}
		ids := k.KeyIDs()
		next := ids[len(ids)-1] + 1
		dk, err := k.newDataKey(next)
		if err != nil {
			return 0, err
		}
		err = k.ks.AddDataKey(ctx, dk)
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrDuplicate) {
			continue // another process rotated at the same moment: try the next id
		}
		if err != nil {
			return 0, fmt.Errorf("rotate: %w", err)
		}
		if err := k.Reload(ctx); err != nil {
			return 0, err
		}
		return next, nil
	}
	return 0, errors.New("rotate: gave up after 5 concurrent rotations")
}

// AAD is the additional data binding a ciphertext to its record: the
// secret's scope, identifier and field. Fields are length-prefixed.
func AAD(sc scope.Scope, identifier, field string) []byte {
	b := []byte("azimuth/secret/v1")
	for _, s := range []string{sc.Account, sc.Org, sc.Project, identifier, field} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return b
}

// Encrypt seals v under the active key, bound to aad. It returns the
// ciphertext and the key id used.
func (k *Keyring) Encrypt(v Value, aad []byte) ([]byte, uint32, error) {
	k.mu.RLock()
	id, a := k.active, k.keys[k.active]
	k.mu.RUnlock()
	ct, err := k.seal(a, id, v.b, aad)
	return ct, id, err
}

// Decrypt opens ct, which must be bound to aad. A key id the keyring does
// not hold yet triggers one reload (a key another replica just installed).
func (k *Keyring) Decrypt(ctx context.Context, ct, aad []byte) (Value, error) {
	id, err := keyIDOf(ct)
	if err != nil {
		return Value{}, err
	}
	k.mu.RLock()
	a, ok := k.keys[id]
	k.mu.RUnlock()
	if !ok {
		if err := k.Reload(ctx); err != nil {
			return Value{}, err
		}
		k.mu.RLock()
		a, ok = k.keys[id]
		k.mu.RUnlock()
		if !ok {
			return Value{}, fmt.Errorf("secret was encrypted with data key %d, which is not in the keyring", id)
		}
	}
	pt, err := k.open(a, id, ct, aad)
	if err != nil {
		return Value{}, err
	}
	return Value{b: pt}, nil
}

// KeyIDOf reports which data key made ct.
func KeyIDOf(ct []byte) (uint32, error) { return keyIDOf(ct) }

func keyIDOf(ct []byte) (uint32, error) {
	if len(ct) < headerSize+16 {
		return 0, fmt.Errorf("%w (too short)", ErrTampered)
	}
	if string(ct[:len(prefix)]) != prefix {
		return 0, fmt.Errorf("%w (unknown format prefix)", ErrTampered)
	}
	return binary.BigEndian.Uint32(ct[len(prefix):]), nil
}

func (k *Keyring) seal(a cipher.AEAD, id uint32, pt, aad []byte) ([]byte, error) {
	out := make([]byte, headerSize, headerSize+len(pt)+a.Overhead())
	copy(out, prefix)
	binary.BigEndian.PutUint32(out[len(prefix):], id)
	nonce := out[len(prefix)+4 : headerSize]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("generate nonce: %w", err)
	}
	// The header (prefix and key id) is authenticated too.
	return a.Seal(out, nonce, pt, append(append([]byte{}, out[:len(prefix)+4]...), aad...)), nil
}

func (k *Keyring) open(a cipher.AEAD, id uint32, ct, aad []byte) ([]byte, error) {
	got, err := keyIDOf(ct)
	if err != nil {
		return nil, err
	}
	if got != id {
		return nil, ErrTampered
	}
	nonce := ct[len(prefix)+4 : headerSize]
	pt, err := a.Open(nil, nonce, ct[headerSize:], append(append([]byte{}, ct[:len(prefix)+4]...), aad...))
	if err != nil {
		return nil, ErrTampered
	}
	return pt, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("key must be %d bytes, found %d", KeySize, len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}
