package azure

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/azimuthcd/azimuth/internal/connector"
	"github.com/azimuthcd/azimuth/internal/failure"
)

// testCA issues certificates for the format table.
type testCA struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(48 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{key: key, cert: cert}
}

func (ca *testCA) issue(t *testing.T, pub any, cn string) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func TestCertificateFormats(t *testing.T) {
	ca := newTestCA(t)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	leaf := ca.issue(t, &rsaKey.PublicKey, "azimuth-sp")
	ecLeaf := ca.issue(t, &ecKey.PublicKey, "azimuth-ec")
	edLeaf := ca.issue(t, edKey.Public(), "azimuth-ed")

	certPEM := pemBlock("CERTIFICATE", leaf.Raw)
	caPEM := pemBlock("CERTIFICATE", ca.cert.Raw)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	pkcs8PEM := pemBlock("PRIVATE KEY", pkcs8)
	pkcs1PEM := pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey))
	ecSEC1, _ := x509.MarshalECPrivateKey(ecKey)
	ecPKCS8, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	edPKCS8, _ := x509.MarshalPKCS8PrivateKey(edKey)
	otherPKCS8, _ := x509.MarshalPKCS8PrivateKey(otherKey)
	//lint:ignore SA1019 legacy encrypted PEM is exactly what users bring
	legacyEnc, err := x509.EncryptPEMBlock(rand.Reader, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey), []byte("pw"), x509.PEMCipherAES256)
	if err != nil {
		t.Fatal(err)
	}
	pfxPassword, _ := pkcs12.Modern.Encode(rsaKey, leaf, nil, "s3cret")
	pfxEC, _ := pkcs12.Modern.Encode(ecKey, ecLeaf, nil, "")
	pfxTrust, _ := pkcs12.Passwordless.EncodeTrustStore([]*x509.Certificate{leaf}, "")
	pfxChain, _ := pkcs12.Modern.Encode(rsaKey, leaf, []*x509.Certificate{ca.cert}, "")
	cat := func(bs ...[]byte) []byte {
		var out []byte
		for _, b := range bs {
			out = append(out, b...)
		}
		return out
	}

	ok := []struct {
		name, format string
		data         []byte
	}{
		{"certificate then PKCS#8 key", "PEM, PKCS#8 key", cat(certPEM, pkcs8PEM)},
		{"PKCS#1 key then certificate", "PEM, PKCS#1 key", cat(pkcs1PEM, certPEM)},
		{"CA first, then leaf and key (chain)", "PEM, PKCS#8 key", cat(caPEM, certPEM, pkcs8PEM)},
		{"Windows line ends and surrounding text", "PEM, PKCS#8 key", []byte("Bag Attributes\r\n" + strings.ReplaceAll(string(cat(certPEM, pkcs8PEM)), "\n", "\r\n"))},
		{"PKCS#12 with its chain, empty password", "PKCS#12", pfxChain},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parseCertificate(tc.data)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if !p.chain[0].Equal(leaf) || !p.key.Equal(rsaKey) || p.info.Format != tc.format {
				t.Fatalf("leaf %s, format %q", p.chain[0].Subject, p.info.Format)
			}
			if p.info.Thumbprint == "" || len(p.info.Thumbprint) != 40 || p.info.Subject != "CN=azimuth-sp" {
				t.Fatalf("info %+v", p.info)
			}
		})
	}

	bad := []struct {
		name       string
		data       []byte
		found, cmd string // in the message; in the hint
	}{
		{"empty", []byte(" \n"), "empty", "cat cert.pem key.pem"},
		{"EC key (SEC1)", cat(pemBlock("CERTIFICATE", ecLeaf.Raw), pemBlock("EC PRIVATE KEY", ecSEC1)), "EC (elliptic-curve) private key", "openssl req -x509 -newkey rsa:2048"},
		{"EC key (PKCS#8)", cat(pemBlock("CERTIFICATE", ecLeaf.Raw), pemBlock("PRIVATE KEY", ecPKCS8)), "EC (elliptic-curve) private key", "openssl req -x509 -newkey rsa:2048"},
		{"Ed25519 key", cat(pemBlock("CERTIFICATE", edLeaf.Raw), pemBlock("PRIVATE KEY", edPKCS8)), "Ed25519", "openssl req -x509 -newkey rsa:2048"},
		{"encrypted PKCS#8 key", cat(certPEM, pemBlock("ENCRYPTED PRIVATE KEY", []byte{1, 2, 3})), "password-protected (encrypted PKCS#8)", "openssl pkey -in key.pem -out key-plain.pem"},
		{"encrypted legacy RSA key", cat(certPEM, pem.EncodeToMemory(legacyEnc)), "password-protected (encrypted) RSA", "openssl rsa -in key.pem -out key-plain.pem"},
		{"certificate without key", certPEM, "a certificate without its private key", "cat cert.pem key.pem"},
		{"two certificates without key", cat(certPEM, caPEM), "2 certificates without its private key", "cat cert.pem key.pem"},
		{"key without certificate", pkcs8PEM, "RSA private key without its certificate", "cat cert.pem key.pem"},
		{"certificate and a key of another", cat(certPEM, pemBlock("PRIVATE KEY", otherPKCS8)), "do not belong together", "-modulus"},
		{"two keys", cat(certPEM, pkcs8PEM, pkcs1PEM), "more than one private key", "cat cert.pem key.pem"},
		{"password-protected PFX", pfxPassword, "password-protected PKCS#12", "openssl pkcs12 -in cert.pfx -nodes"},
		{"PFX with an EC key", pfxEC, "not RSA (EC)", "openssl req -x509 -newkey rsa:2048"},
		{"PFX without a key", pfxTrust, "PKCS#12", "openssl pkcs12"},
		{"DER certificate", leaf.Raw, "DER (binary) certificate", "openssl x509 -inform der"},
		{"DER PKCS#8 key", pkcs8, "DER (binary) private key", "openssl pkey -inform der"},
		{"DER PKCS#1 key", x509.MarshalPKCS1PrivateKey(rsaKey), "DER (binary) RSA private key", "openssl pkey -inform der"},
		{"certificate signing request", pemBlock("CERTIFICATE REQUEST", []byte{1}), "certificate signing request", "cat cert.pem key.pem"},
		{"public key", pemBlock("PUBLIC KEY", []byte{1}), "a public key", "cat cert.pem key.pem"},
		{"OpenSSH key", pemBlock("OPENSSH PRIVATE KEY", []byte{1}), "OpenSSH private key", "openssl req -x509"},
		{"garbage", []byte("this is not a certificate"), "neither PEM nor PKCS#12 nor DER", "cat cert.pem key.pem"},
		{"corrupt certificate block", cat(pemBlock("CERTIFICATE", []byte{0x30, 0x01}), pkcs8PEM), "does not parse", "openssl x509"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseCertificate(tc.data)
			e, ok := AsError(err)
			if !ok || e.Reason != ReasonCertificateFormat || !failure.Is(err, failure.Invalid) {
				t.Fatalf("want a CertificateFormat error, got %v", err)
			}
			if !strings.Contains(e.Message, tc.found) {
				t.Errorf("message %q does not say %q", e.Message, tc.found)
			}
			if !strings.Contains(e.Hint, tc.cmd) {
				t.Errorf("hint %q does not give %q", e.Hint, tc.cmd)
			}
			mustNotContain(t, "message", e.Message+e.Hint, string(pkcs8PEM), "s3cret")
		})
	}
}

func TestCertificateDates(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	info := CertificateInfo{Thumbprint: "AB", Subject: "CN=x", NotBefore: now.Add(-24 * time.Hour)}
	tests := []struct {
		name     string
		notAfter time.Time
		reason   Reason
		warn     bool
	}{
		{"valid for long", now.Add(90 * 24 * time.Hour), "", false},
		{"31 days left", now.Add(31 * 24 * time.Hour), "", false},
		{"29 days left", now.Add(29 * 24 * time.Hour), "", true},
		{"one hour left", now.Add(time.Hour), "", true},
		{"expired", now.Add(-time.Second), ReasonCertificateExpired, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := info
			in.NotAfter = tc.notAfter
			w, err := checkCertificateDates(in, certApp, now)
			if tc.reason != "" {
				if e, ok := AsError(err); !ok || e.Reason != tc.reason {
					t.Fatalf("want %s, got %v", tc.reason, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (w != nil) != tc.warn {
				t.Fatalf("warning %+v, want %v", w, tc.warn)
			}
			if w != nil && (w.Reason != ReasonCertificateExpiresSoon || !strings.Contains(w.Message, tc.notAfter.Format(time.RFC3339)) || !strings.Contains(w.Hint, certApp)) {
				t.Fatalf("warning %+v", w)
			}
		})
	}
	in := info
	in.NotBefore, in.NotAfter = now.Add(time.Hour), now.Add(48*time.Hour)
	if _, err := checkCertificateDates(in, certApp, now); err == nil {
		t.Fatal("not yet valid: want an error")
	} else if e, _ := AsError(err); e.Reason != ReasonCertificateNotYetValid {
		t.Fatalf("reason %s", e.Reason)
	}
}

// A certificate 10 days from its end works and carries a warning; the
// same cached credential fails once the certificate's date has passed.
func TestCertificateExpiryThroughFactory(t *testing.T) {
	s := startSim(t)
	clock := time.Now()
	f := newFactory(t, s.Override(), func(o *Options) { o.Now = func() time.Time { return clock } })
	c := certConnector("soon", certApp, tenantID)
	sec := map[string][]byte{connector.PathCertificateRef: certPEM(t, s, "soon")}
	cred, err := f.Credential(c, sec, "v1")
	if err != nil {
		t.Fatal(err)
	}
	ws := cred.Warnings()
	if len(ws) != 1 || ws[0].Reason != ReasonCertificateExpiresSoon || !strings.Contains(ws[0].Message, "in 9 days") && !strings.Contains(ws[0].Message, "in 10 days") {
		t.Fatalf("warnings %+v", ws)
	}
	if err := authenticate(t, f, c, sec); err != nil {
		t.Fatalf("an expiring certificate still works: %v", err)
	}
	clock = clock.Add(11 * 24 * time.Hour)
	_, err = f.Credential(c, sec, "v1")
	if e, ok := AsError(err); !ok || e.Reason != ReasonCertificateExpired {
		t.Fatalf("after its end: %v", err)
	}
}

// A binary PKCS#12 file is read as it is: trimming whitespace, right for
// PEM and base64 text, would cut a PFX whose last byte happens to be one
// (about one random key in forty).
func TestPKCS12EndingInWhitespaceByte(t *testing.T) {
	ca := newTestCA(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	// The file ends with the key bag's attributes, which carry the
	// certificate's hash: another certificate, another last byte.
	var pfx []byte
	for i := 0; i < 2000 && pfx == nil; i++ {
		b, err := pkcs12.Passwordless.Encode(key, ca.issue(t, &key.PublicKey, "azimuth"), nil, "")
		if err != nil {
			t.Fatal(err)
		}
		if last := b[len(b)-1]; strings.ContainsRune(" \t\n\v\f\r", rune(last)) {
			pfx = b
		}
	}
	if pfx == nil {
		t.Fatal("no PKCS#12 file ending in a whitespace byte was made")
	}
	p, err := parseCertificate(pfx)
	if err != nil {
		t.Fatalf("a PKCS#12 file ending in byte %#x: %v", pfx[len(pfx)-1], err)
	}
	if p.info.Format != "PKCS#12" {
		t.Fatalf("format %q", p.info.Format)
	}
}
