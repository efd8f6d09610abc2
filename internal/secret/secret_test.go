package secret_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/azimuthcd/azimuth/internal/scope"
	"github.com/azimuthcd/azimuth/internal/secret"
	"github.com/azimuthcd/azimuth/internal/store"
	"github.com/azimuthcd/azimuth/internal/store/sqlstore"
)

func openStore(t *testing.T) (*sqlstore.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "azimuth.db")
	s, err := sqlstore.Open(context.Background(), sqlstore.Options{URL: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, path
}

func newKeyring(t *testing.T, s secret.KeyStore) (*secret.Keyring, *secret.MasterKey) {
	t.Helper()
	m, err := secret.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	k, err := secret.OpenKeyring(context.Background(), m, s)
	if err != nil {
		t.Fatal(err)
	}
	return k, m
}

var sc = scope.Scope{Account: "acc", Org: "o", Project: "p"}

// TestConfidential: what the store holds is not the plaintext and does not
// contain it (Vault's TestAESGCMBarrier_Confidential), and carries the
// versioned prefix.
func TestConfidential(t *testing.T) {
	s, path := openStore(t)
	k, _ := newKeyring(t, s)
	canary := "canary-" + fmt.Sprint(time.Now().UnixNano())
	ct, id, err := k.Encrypt(secret.NewValue([]byte(canary)), secret.AAD(sc, "x", secret.ValueField))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(ct, []byte("azs1")) || id != 1 {
		t.Fatalf("ciphertext prefix %q, key %d", ct[:4], id)
	}
	if bytes.Contains(ct, []byte(canary)) {
		t.Fatal("ciphertext contains the plaintext")
	}
	ctx := context.Background()
	must(t, s.CreateAccount(ctx, store.Account{Identifier: "acc", Name: "acc", CreatedAt: time.Now()}))
	must(t, s.CreateSecret(ctx, &store.Secret{Scope: sc, Identifier: "x", Name: "x", Type: "SecretText", SecretManager: "m",
		KeyID: id, Ciphertext: ct, CreatedAt: time.Now(), UpdatedAt: time.Now()}))
	_ = s.Close()
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		b, err := os.ReadFile(f)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(canary)) {
			t.Fatalf("%s contains the plaintext", filepath.Base(f))
		}
	}
}

// TestIntegrity flips every one of the first 100 byte positions (and the
// last): each must fail authentication, never yield garbage.
func TestIntegrity(t *testing.T) {
	s, _ := openStore(t)
	k, _ := newKeyring(t, s)
	aad := secret.AAD(sc, "x", secret.ValueField)
	pt := bytes.Repeat([]byte("p"), 120)
	ct, _, err := k.Encrypt(secret.NewValue(pt), aad)
	if err != nil {
		t.Fatal(err)
	}
	positions := []int{len(ct) - 1}
	for i := 0; i < 100; i++ {
		positions = append(positions, i)
	}
	for _, i := range positions {
		bad := append([]byte{}, ct...)
		bad[i] ^= 0x01
		v, err := k.Decrypt(context.Background(), bad, aad)
		if err == nil {
			t.Fatalf("byte %d flipped: decrypted to %d bytes", i, v.Len())
		}
		if !errors.Is(err, secret.ErrTampered) && !strings.Contains(err.Error(), "not in the keyring") {
			t.Fatalf("byte %d flipped: error %v", i, err)
		}
	}
	if _, err := k.Decrypt(context.Background(), ct[:len(ct)-1], aad); !errors.Is(err, secret.ErrTampered) {
		t.Fatalf("truncated: %v", err)
	}
	v, err := k.Decrypt(context.Background(), ct, aad)
	if err != nil || !bytes.Equal(v.Reveal(), pt) {
		t.Fatalf("intact ciphertext: %v", err)
	}
}

// TestMoveIntegrity: a ciphertext copied to another record (scope,
// identifier or field) does not decrypt (Vault's MoveIntegrityV2).
func TestMoveIntegrity(t *testing.T) {
	s, _ := openStore(t)
	k, _ := newKeyring(t, s)
	ct, _, err := k.Encrypt(secret.NewValue([]byte("v")), secret.AAD(sc, "x", secret.ValueField))
	if err != nil {
		t.Fatal(err)
	}
	for _, aad := range [][]byte{
		secret.AAD(sc, "y", secret.ValueField),
		secret.AAD(scope.Scope{Account: "acc", Org: "o", Project: "q"}, "x", secret.ValueField),
		secret.AAD(scope.Scope{Account: "acc", Org: "o"}, "x", secret.ValueField),
		secret.AAD(scope.Scope{Account: "other", Org: "o", Project: "p"}, "x", secret.ValueField),
		secret.AAD(sc, "x", "file"),
		// Length prefixes keep "o"+"px" and "op"+"x" apart.
		secret.AAD(scope.Scope{Account: "acc", Org: "op", Project: ""}, "x", secret.ValueField),
	} {
		if _, err := k.Decrypt(context.Background(), ct, aad); !errors.Is(err, secret.ErrTampered) {
			t.Fatalf("moved ciphertext decrypted (err %v)", err)
		}
	}
}

// TestUnique: the same plaintext encrypts to distinct ciphertexts and nonces.
func TestUnique(t *testing.T) {
	s, _ := openStore(t)
	k, _ := newKeyring(t, s)
	aad := secret.AAD(sc, "x", secret.ValueField)
	seen := map[string]bool{}
	nonces := map[string]bool{}
	for i := 0; i < 10000; i++ {
		ct, _, err := k.Encrypt(secret.NewValue([]byte("same")), aad)
		if err != nil {
			t.Fatal(err)
		}
		seen[string(ct)] = true
		nonces[string(ct[8:20])] = true
	}
	if len(seen) != 10000 || len(nonces) != 10000 {
		t.Fatalf("%d distinct ciphertexts, %d distinct nonces of 10000", len(seen), len(nonces))
	}
}

// TestWrongMasterKey: a database refuses any master key but its own, with
// a clear error, and rejects malformed keys.
func TestWrongMasterKey(t *testing.T) {
	s, _ := openStore(t)
	newKeyring(t, s)
	other, _ := secret.GenerateMasterKey()
	_, err := secret.OpenKeyring(context.Background(), other, s)
	if !errors.Is(err, secret.ErrWrongMasterKey) {
		t.Fatalf("wrong key accepted: %v", err)
	}
	for _, text := range []string{"", "not base64!", "c2hvcnQ=", strings.Repeat("QUFB", 20)} {
		if _, err := secret.ParseMasterKey([]byte(text)); err == nil {
			t.Fatalf("ParseMasterKey(%q) accepted", text)
		}
	}
}

func TestMasterKeyFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "master.key")
	k1, created, err := secret.LoadOrCreateMasterKeyFile(p)
	if err != nil || !created {
		t.Fatal(created, err)
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %o", fi.Mode().Perm())
	}
	k2, created, err := secret.LoadOrCreateMasterKeyFile(p)
	if err != nil || created || !bytes.Equal(k1.Encode(), k2.Encode()) {
		t.Fatal("second load did not return the same key", created, err)
	}
	must(t, os.Chmod(p, 0o644))
	if _, err := secret.LoadMasterKeyFile(p); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable key accepted: %v", err)
	}
	if _, err := secret.LoadMasterKeyFile(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing file: %v", err)
	}
}

// TestRotate: entries written before and after a rotation both read back,
// from this keyring and from a second one (another replica) that reloads.
func TestRotate(t *testing.T) {
	s, _ := openStore(t)
	k, m := newKeyring(t, s)
	ctx := context.Background()
	aad := secret.AAD(sc, "x", secret.ValueField)
	before, id1, _ := k.Encrypt(secret.NewValue([]byte("before")), aad)
	replica, err := secret.OpenKeyring(ctx, m, s)
	must(t, err)
	id2, err := k.Rotate(ctx)
	must(t, err)
	if id1 != 1 || id2 != 2 || k.ActiveKeyID() != 2 {
		t.Fatalf("ids %d %d active %d", id1, id2, k.ActiveKeyID())
	}
	after, idA, _ := k.Encrypt(secret.NewValue([]byte("after")), aad)
	if idA != 2 {
		t.Fatalf("new data under key %d", idA)
	}
	// The replica has not reloaded yet: it still encrypts with key 1 (still
	// readable) and picks up key 2 the first time it meets it.
	if replica.ActiveKeyID() != 1 {
		t.Fatal("replica changed without a reload")
	}
	for _, ct := range [][]byte{before, after} {
		for _, kr := range []*secret.Keyring{k, replica} {
			if _, err := kr.Decrypt(ctx, ct, aad); err != nil {
				t.Fatal(err)
			}
		}
	}
	if replica.ActiveKeyID() != 2 {
		t.Fatal("replica did not pick up the new key")
	}
	// A reopened keyring (restart) reads both.
	k3, err := secret.OpenKeyring(ctx, m, s)
	must(t, err)
	for _, ct := range [][]byte{before, after} {
		if _, err := k3.Decrypt(ctx, ct, aad); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReencrypt(t *testing.T) {
	s, _ := openStore(t)
	k, _ := newKeyring(t, s)
	ctx := context.Background()
	must(t, s.CreateAccount(ctx, store.Account{Identifier: "acc", Name: "acc", CreatedAt: time.Now()}))
	acc := scope.Scope{Account: "acc"}
	for i := 0; i < 700; i++ {
		id := fmt.Sprintf("s%d", i)
		ct, kid, err := k.Encrypt(secret.NewValue([]byte("v-"+id)), secret.AAD(acc, id, secret.ValueField))
		must(t, err)
		must(t, s.CreateSecret(ctx, &store.Secret{Scope: acc, Identifier: id, Name: id, Type: "SecretText", SecretManager: "m",
			KeyID: kid, Ciphertext: ct, CreatedAt: time.Now(), UpdatedAt: time.Now()}))
	}
	_, err := k.Rotate(ctx)
	must(t, err)
	res, err := k.Reencrypt(ctx, s)
	must(t, err)
	if res.Reencrypted != 700 || res.KeyID != 2 {
		t.Fatalf("result %+v", res)
	}
	counts, _ := s.CountSecretsByKey(ctx)
	if counts[1] != 0 || counts[2] != 700 {
		t.Fatalf("counts %v", counts)
	}
	for _, i := range []int{0, 499, 699} {
		id := fmt.Sprintf("s%d", i)
		x, err := s.GetSecret(ctx, acc, id)
		must(t, err)
		v, err := k.Decrypt(ctx, x.Ciphertext, secret.AAD(acc, id, secret.ValueField))
		if err != nil || string(v.Reveal()) != "v-"+id {
			t.Fatalf("%s after re-encryption: %v", id, err)
		}
	}
	// Idempotent: a second pass has nothing to do.
	res, err = k.Reencrypt(ctx, s)
	if err != nil || res.Reencrypted != 0 {
		t.Fatalf("second pass %+v %v", res, err)
	}
}

// TestValueRedacts: a Value never prints, logs or marshals its plaintext.
func TestValueRedacts(t *testing.T) {
	const canary = "s3cr3t-canary"
	v := secret.NewValue([]byte(canary))
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("x", "v", v, "p", &v)
	j, _ := json.Marshal(struct{ V secret.Value }{v})
	out := strings.Join([]string{
		fmt.Sprint(v), fmt.Sprintf("%v %+v %#v %s %q %x", v, v, v, v, v, v), fmt.Sprintf("%v", &v),
		buf.String(), string(j),
	}, "\n")
	if strings.Contains(out, canary) || strings.Contains(out, fmt.Sprintf("%x", canary)) {
		t.Fatalf("plaintext leaked:\n%s", out)
	}
	var back struct{ V secret.Value }
	must(t, json.Unmarshal([]byte(`{"V":"`+canary+`"}`), &back))
	if string(back.V.Reveal()) != canary {
		t.Fatal("UnmarshalJSON lost the value")
	}
	m, _ := secret.GenerateMasterKey()
	if s := fmt.Sprintf("%v %#v %s", m, m, m); strings.Contains(s, string(m.Encode())) {
		t.Fatal("master key printed")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
