package gitlabfake

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// certificate is a domain's certificate with what the API shows of it.
// The key is kept so that a later update of the certificate alone can be
// checked against it, as GitLab does; it is never served.
type certificate struct {
	pem      string
	key      string
	source   string // "user_provided" or "gitlab_provided"
	subject  string
	notAfter time.Time
	text     string
}

// autoSSLRenewal is how close to expiry a gitlab-provided certificate gets
// before it is replaced, like GitLab's Let's Encrypt renewal.
const autoSSLRenewal = 30 * 24 * time.Hour

// autoSSLLifetime is how long an issued certificate lasts (Let's Encrypt's).
const autoSSLLifetime = 90 * 24 * time.Hour

// Validation messages GitLab puts under the certificate and key fields.
const (
	msgBadCertificate = "must be a valid PEM certificate"
	msgBadKey         = "must be a valid PEM private key"
	msgKeyMismatch    = "doesn't match the certificate"
)

// parseUserCertificate checks a certificate and key given through the API,
// both non-empty or both empty (none). Problems come back per field, the
// way GitLab's validations word them: a field's format is checked only if
// it is there, and a missing half fails the key-matches check.
func parseUserCertificate(certPEM, keyPEM string) (*certificate, map[string][]string) {
	if certPEM == "" && keyPEM == "" {
		return nil, nil
	}
	errs := map[string][]string{}
	var cert *x509.Certificate
	var key crypto.Signer
	var err error
	if certPEM != "" {
		if cert, err = firstCertificate(certPEM); err != nil {
			errs["certificate"] = append(errs["certificate"], msgBadCertificate)
		}
	}
	if keyPEM != "" {
		if key, err = parseKey(keyPEM); err != nil {
			errs["key"] = append(errs["key"], msgBadKey)
		}
	}
	if len(errs) == 0 && (cert == nil || key == nil || !matches(cert, key)) {
		errs["key"] = append(errs["key"], msgKeyMismatch)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return describe(cert, certPEM, keyPEM, "user_provided"), nil
}

func firstCertificate(s string) (*x509.Certificate, error) {
	b, _ := pem.Decode([]byte(strings.TrimSpace(s)))
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(b.Bytes)
}

func parseKey(s string) (crypto.Signer, error) {
	b, _ := pem.Decode([]byte(strings.TrimSpace(s)))
	if b == nil {
		return nil, errors.New("no PEM block")
	}
	switch b.Type {
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(b.Bytes)
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, err
		}
		if s, ok := k.(crypto.Signer); ok {
			return s, nil
		}
	}
	return nil, fmt.Errorf("unsupported key block %q", b.Type)
}

func matches(c *x509.Certificate, k crypto.Signer) bool {
	pub, ok := k.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(c.PublicKey)
}

// issue plays Let's Encrypt for a domain with auto SSL: a self-signed
// certificate for the name, made by the fake, valid from now.
func issue(name string, now time.Time) (*certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(autoSSLLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
	return describe(cert, certPEM, keyPEM, "gitlab_provided"), nil
}

func describe(c *x509.Certificate, certPEM, keyPEM, source string) *certificate {
	return &certificate{
		pem: certPEM, key: keyPEM, source: source,
		subject: slashName(c.Subject), notAfter: c.NotAfter.UTC(), text: certText(c),
	}
}

// slashName writes a name the way OpenSSL's one-line form does, which is
// what GitLab shows as the subject: "/O=Example, Inc./CN=www.example.test".
func slashName(n pkix.Name) string {
	var b strings.Builder
	for _, rdn := range n.ToRDNSequence() {
		for _, atv := range rdn {
			b.WriteString("/" + attrName(atv.Type.String()) + "=" + fmt.Sprint(atv.Value))
		}
	}
	return b.String()
}

func attrName(oid string) string {
	switch oid {
	case "2.5.4.3":
		return "CN"
	case "2.5.4.6":
		return "C"
	case "2.5.4.7":
		return "L"
	case "2.5.4.8":
		return "ST"
	case "2.5.4.10":
		return "O"
	case "2.5.4.11":
		return "OU"
	}
	return oid
}

// certText is a short human-readable dump in the spirit of GitLab's
// certificate_text (OpenSSL's text form); callers should not parse it.
func certText(c *x509.Certificate) string {
	var b bytes.Buffer
	const when = "Jan _2 15:04:05 2006 GMT"
	fmt.Fprintf(&b, "Certificate:\n    Data:\n        Version: %d (0x%x)\n", c.Version, c.Version-1)
	fmt.Fprintf(&b, "        Serial Number: %x\n", c.SerialNumber)
	fmt.Fprintf(&b, "        Signature Algorithm: %s\n", c.SignatureAlgorithm)
	fmt.Fprintf(&b, "        Issuer: %s\n", c.Issuer)
	fmt.Fprintf(&b, "        Validity\n            Not Before: %s\n            Not After : %s\n",
		c.NotBefore.UTC().Format(when), c.NotAfter.UTC().Format(when))
	fmt.Fprintf(&b, "        Subject: %s\n", c.Subject)
	if len(c.DNSNames) > 0 {
		fmt.Fprintf(&b, "        X509v3 Subject Alternative Name:\n            DNS:%s\n", strings.Join(c.DNSNames, ", DNS:"))
	}
	return b.String()
}
