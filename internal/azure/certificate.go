package azure

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha1" // SHA-1 thumbprints are how Azure names certificates
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/azimuthcd/azimuth/internal/failure"
)

// CertificateExpiryWarning is how long before its end a certificate gets
// a warning.
const CertificateExpiryWarning = 30 * 24 * time.Hour

// CertificateInfo describes a service principal's certificate: what the
// Azure portal shows of it, and the format it was read from. It holds no
// key material.
type CertificateInfo struct {
	Subject    string    `json:"subject"`
	Issuer     string    `json:"issuer"`
	Thumbprint string    `json:"thumbprint"` // SHA-1, upper-case hex, as the Azure portal shows it
	SHA256     string    `json:"thumbprintSha256"`
	NotBefore  time.Time `json:"notBefore"`
	NotAfter   time.Time `json:"notAfter"`
	Format     string    `json:"format"` // "PEM, PKCS#8 key", "PEM, PKCS#1 key", "PKCS#12"
	KeyBits    int       `json:"keyBits"`
}

// parsedCertificate is a certificate chain (leaf first) and its RSA key.
type parsedCertificate struct {
	chain []*x509.Certificate
	key   *rsa.PrivateKey
	info  CertificateInfo
}

// Conversion commands, one per problem, so a user can fix the file in one step.
const (
	cmdCombine     = "cat cert.pem key.pem > azimuth.pem"
	cmdNewRSA      = `openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 365 -subj "/CN=azimuth" && cat cert.pem key.pem > azimuth.pem`
	cmdDecryptKey  = "openssl pkey -in key.pem -out key-plain.pem"
	cmdPFXToPEM    = "openssl pkcs12 -in cert.pfx -nodes -out azimuth.pem"
	cmdDERCert     = "openssl x509 -inform der -in cert.cer -out cert.pem"
	cmdDERKey      = "openssl pkey -inform der -in key.der -out key.pem"
	formatHelp     = "a PEM file holding the certificate (-----BEGIN CERTIFICATE-----) and its unencrypted RSA private key (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----), or a PKCS#12 (.pfx) file without a password"
	uploadCertHint = "upload the certificate (only its public part) to the app registration"
)

func certFormatError(found, hint string) *Error {
	return newError(ReasonCertificateFormat, failure.Invalid,
		"The connector's certificate secret holds "+found+"; Azimuth needs "+formatHelp+".", hint)
}

// parseCertificate reads a certificate secret: PEM with the certificate and
// an RSA key (PKCS#1 or PKCS#8), or a password-less PKCS#12 (raw or
// base64). Anything else is refused with an error naming what was found
// and the openssl command that converts it.
func parseCertificate(data []byte) (*parsedCertificate, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, certFormatError("nothing (the secret is empty)", "Upload the PEM file as the secret's content: "+cmdCombine+".")
	}
	if bytes.Contains(trimmed, []byte("-----BEGIN ")) {
		return parsePEMCertificate(trimmed)
	}
	// Binary forms are read as they are (their last byte may well be one
	// TrimSpace cuts), and trimmed in case a newline was added to them.
	binary := [][]byte{data}
	if len(trimmed) != len(data) {
		binary = append(binary, trimmed)
	}
	for _, b := range binary {
		if p, ok, err := parsePKCS12(b, "PKCS#12"); ok {
			return p, err
		}
	}
	// Base64 text of a PFX (as some tools and portals export it).
	if dec, err := base64.StdEncoding.DecodeString(string(bytes.Join(bytes.Fields(trimmed), nil))); err == nil && len(dec) > 0 {
		if p, ok, err := parsePKCS12(dec, "PKCS#12, base64-encoded"); ok {
			return p, err
		}
	}
	for _, b := range binary {
		if _, err := x509.ParseCertificate(b); err == nil {
			return nil, certFormatError("a DER (binary) certificate without its private key",
				"Convert it to PEM and add its key: "+cmdDERCert+" && "+cmdCombine+".")
		}
		if _, err := x509.ParsePKCS8PrivateKey(b); err == nil {
			return nil, certFormatError("a DER (binary) private key without its certificate",
				"Convert it to PEM and add the certificate: "+cmdDERKey+" && "+cmdCombine+".")
		}
		if _, err := x509.ParsePKCS1PrivateKey(b); err == nil {
			return nil, certFormatError("a DER (binary) RSA private key without its certificate",
				"Convert it to PEM and add the certificate: "+cmdDERKey+" && "+cmdCombine+".")
		}
	}
	return nil, certFormatError("data that is neither PEM nor PKCS#12 nor DER",
		"Check that the file secret holds the certificate file itself; build one with: "+cmdCombine+".")
}

// parsePKCS12 decodes a password-less PFX. ok is false when data is not
// PKCS#12 at all.
func parsePKCS12(data []byte, format string) (*parsedCertificate, bool, error) {
	key, leaf, cas, err := pkcs12.DecodeChain(data, "")
	switch {
	case errors.Is(err, pkcs12.ErrIncorrectPassword):
		return nil, true, certFormatError("a password-protected PKCS#12 (.pfx) file",
			"Azimuth stores no certificate passwords; export it without one: "+cmdPFXToPEM+" (it asks for the password; add -legacy for old 3DES files with OpenSSL 3), then upload azimuth.pem.")
	case err != nil:
		var nie pkcs12.NotImplementedError
		if errors.As(err, &nie) {
			return nil, true, certFormatError("a PKCS#12 (.pfx) file of a kind Azimuth cannot read ("+string(nie)+")",
				"Convert it to PEM: "+cmdPFXToPEM+".")
		}
		if noKeyPKCS12(data) {
			return nil, true, certFormatError("a PKCS#12 (.pfx) file with certificates but no private key",
				"Export the certificate with its private key: openssl pkcs12 -export -in cert.pem -inkey key.pem -out cert.pfx -passout pass:")
		}
		return nil, false, nil
	}
	p, perr := assemble([]*x509.Certificate{leaf}, cas, key, format)
	return p, true, perr
}

// noKeyPKCS12 reports whether data is a password-less PKCS#12 file that
// holds certificates only.
func noKeyPKCS12(data []byte) bool {
	if certs, err := pkcs12.DecodeTrustStore(data, ""); err == nil && len(certs) > 0 {
		return true
	}
	//lint:ignore SA1019 only the bags' types are read, never a key
	blocks, err := pkcs12.ToPEM(data, "")
	if err != nil {
		return false
	}
	for _, b := range blocks {
		if strings.Contains(b.Type, "PRIVATE KEY") {
			return false
		}
	}
	return true
}

func parsePEMCertificate(data []byte) (*parsedCertificate, error) {
	var certs []*x509.Certificate
	var key crypto.PrivateKey
	var keyFormat string
	var other []string
	rest := data
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, certFormatError("a CERTIFICATE block that does not parse ("+err.Error()+")",
					"Re-export the certificate as PEM: "+cmdDERCert+".")
			}
			certs = append(certs, c)
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				return nil, certFormatError("a PRIVATE KEY block that does not parse as PKCS#8",
					"Re-export the key: openssl pkey -in key.pem -out key-pkcs8.pem.")
			}
			if key != nil {
				return nil, certFormatError("more than one private key", "Keep only the key of the certificate registered on the app: "+cmdCombine+".")
			}
			key, keyFormat = k, "PKCS#8 key"
		case "RSA PRIVATE KEY":
			if _, enc := blk.Headers["DEK-Info"]; enc || strings.Contains(blk.Headers["Proc-Type"], "ENCRYPTED") {
				return nil, certFormatError("a password-protected (encrypted) RSA private key",
					"Azimuth stores no key passwords; decrypt the key: openssl rsa -in key.pem -out key-plain.pem, then "+strings.ReplaceAll(cmdCombine, "key.pem", "key-plain.pem")+".")
			}
			k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
			if err != nil {
				return nil, certFormatError("an RSA PRIVATE KEY block that does not parse as PKCS#1",
					"Re-export the key: openssl pkey -in key.pem -out key-pkcs8.pem.")
			}
			if key != nil {
				return nil, certFormatError("more than one private key", "Keep only the key of the certificate registered on the app: "+cmdCombine+".")
			}
			key, keyFormat = k, "PKCS#1 key"
		case "ENCRYPTED PRIVATE KEY":
			return nil, certFormatError("a password-protected (encrypted PKCS#8) private key",
				"Azimuth stores no key passwords; decrypt the key: "+cmdDecryptKey+" (it asks for the password), then "+strings.ReplaceAll(cmdCombine, "key.pem", "key-plain.pem")+".")
		case "EC PRIVATE KEY":
			return nil, certFormatError("an EC (elliptic-curve) private key",
				"Entra ID signs client assertions for certificates with RSA keys only; create an RSA certificate and register it on the app: "+cmdNewRSA+".")
		case "OPENSSH PRIVATE KEY":
			return nil, certFormatError("an OpenSSH private key, not an X.509 certificate and key",
				"Create an RSA certificate and register it on the app: "+cmdNewRSA+".")
		case "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST":
			other = append(other, "a certificate signing request")
		case "PUBLIC KEY", "RSA PUBLIC KEY":
			other = append(other, "a public key")
		case "PKCS7":
			other = append(other, "a PKCS#7 bundle")
		default:
			other = append(other, "a "+blk.Type+" block")
		}
	}
	if len(certs) == 0 && key == nil {
		found := "PEM without a certificate or a private key"
		if len(other) > 0 {
			found = strings.Join(other, " and ") + " but no certificate or private key"
		}
		return nil, certFormatError(found, "Put the certificate and its private key in one file: "+cmdCombine+".")
	}
	switch k := key.(type) {
	case nil:
		return nil, certFormatError(fmt.Sprintf("%s without its private key", plural(len(certs), "a certificate", "certificates")),
			"Append the private key of the certificate registered on the app: "+cmdCombine+".")
	case *ecdsa.PrivateKey:
		return nil, certFormatError("an EC (elliptic-curve) private key (PKCS#8)",
			"Entra ID signs client assertions for certificates with RSA keys only; create an RSA certificate and register it on the app: "+cmdNewRSA+".")
	case ed25519.PrivateKey:
		return nil, certFormatError("an Ed25519 private key",
			"Entra ID signs client assertions for certificates with RSA keys only; create an RSA certificate and register it on the app: "+cmdNewRSA+".")
	case *rsa.PrivateKey:
		if len(certs) == 0 {
			return nil, certFormatError("an RSA private key without its certificate",
				"Prepend the certificate registered on the app: "+cmdCombine+".")
		}
		return assemble(certs[:1], certs[1:], k, "PEM, "+keyFormat)
	default:
		return nil, certFormatError(fmt.Sprintf("a private key of type %T", k), "Create an RSA certificate: "+cmdNewRSA+".")
	}
}

// assemble checks the key (RSA, matching a certificate) and orders the
// chain leaf first.
func assemble(first, rest []*x509.Certificate, key any, format string) (*parsedCertificate, error) {
	var rk *rsa.PrivateKey
	switch k := key.(type) {
	case *rsa.PrivateKey:
		rk = k
	case nil:
		return nil, certFormatError("a "+format+" file without a private key",
			"Export the certificate with its private key: openssl pkcs12 -export -in cert.pem -inkey key.pem -out cert.pfx -passout pass:")
	default:
		return nil, certFormatError(fmt.Sprintf("a %s file whose private key is not RSA (%s)", format, keyKind(k)),
			"Entra ID signs client assertions for certificates with RSA keys only; create an RSA certificate and register it on the app: "+cmdNewRSA+".")
	}
	all := append(append([]*x509.Certificate{}, first...), rest...)
	leaf := -1
	for i, c := range all {
		if pub, ok := c.PublicKey.(*rsa.PublicKey); ok && pub.Equal(&rk.PublicKey) {
			leaf = i
			break
		}
	}
	if leaf < 0 {
		return nil, certFormatError("a certificate and a private key that do not belong together",
			"Pair the certificate registered on the app with its own key: "+cmdCombine+" (compare: openssl x509 -noout -modulus -in cert.pem | sha256sum; openssl rsa -noout -modulus -in key.pem | sha256sum).")
	}
	chain := append([]*x509.Certificate{all[leaf]}, append(all[:leaf:leaf], all[leaf+1:]...)...)
	return &parsedCertificate{chain: chain, key: rk, info: describe(chain[0], format, rk.N.BitLen())}, nil
}

func describe(c *x509.Certificate, format string, bits int) CertificateInfo {
	s1 := sha1.Sum(c.Raw) // a thumbprint, not a security decision
	s256 := sha256.Sum256(c.Raw)
	return CertificateInfo{
		Subject:    c.Subject.String(),
		Issuer:     c.Issuer.String(),
		Thumbprint: strings.ToUpper(hex.EncodeToString(s1[:])),
		SHA256:     strings.ToUpper(hex.EncodeToString(s256[:])),
		NotBefore:  c.NotBefore.UTC(),
		NotAfter:   c.NotAfter.UTC(),
		Format:     format,
		KeyBits:    bits,
	}
}

func keyKind(k any) string {
	switch k.(type) {
	case *ecdsa.PrivateKey:
		return "EC"
	case ed25519.PrivateKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", k)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// checkCertificateDates applies the certificate's own dates: an expired
// or not yet valid certificate fails; one ending within
// CertificateExpiryWarning gets a warning.
func checkCertificateDates(info CertificateInfo, appID string, now time.Time) (*Warning, error) {
	switch {
	case now.After(info.NotAfter):
		return nil, newError(ReasonCertificateExpired, failure.Invalid,
			fmt.Sprintf("The connector's certificate (thumbprint %s, %s) expired on %s.", info.Thumbprint, info.Subject, info.NotAfter.Format(time.RFC3339)),
			fmt.Sprintf("Create a new certificate, %s %s and update the connector's certificate secret: %s; az ad app credential reset --id %s --cert @cert.pem --append.",
				uploadCertHint, appID, cmdNewRSA, appID))
	case now.Before(info.NotBefore):
		return nil, newError(ReasonCertificateNotYetValid, failure.Invalid,
			fmt.Sprintf("The connector's certificate (thumbprint %s) is valid only from %s.", info.Thumbprint, info.NotBefore.Format(time.RFC3339)),
			"Use a certificate that is valid now, or check this machine's clock (date -u).")
	case info.NotAfter.Sub(now) < CertificateExpiryWarning:
		days := int(info.NotAfter.Sub(now).Hours() / 24)
		return &Warning{
			Reason: ReasonCertificateExpiresSoon,
			Message: fmt.Sprintf("The connector's certificate (thumbprint %s) expires on %s, in %s.",
				info.Thumbprint, info.NotAfter.Format(time.RFC3339), plural(days, "1 day", "days")),
			Hint: fmt.Sprintf("Create a new certificate before then, %s %s (az ad app credential reset --id %s --cert @cert.pem --append) and update the connector's certificate secret.",
				uploadCertHint, appID, appID),
		}, nil
	}
	return nil, nil
}
