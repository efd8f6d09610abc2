package cloud

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strings"
)

// Override is the server-level (and delegate-level) cloud override file. It is
// written by the Azure simulator and read by `azimuth server --cloud-config`
// and `azimuth delegate --cloud-config`. It is never part of a connector.
//
//	{
//	  "clouds": {"AZURE": {"authorityHost": "https://127.0.0.1:41001/", ...}},
//	  "caBundle": "-----BEGIN CERTIFICATE-----\n...",
//	  "hosts": {"demoacr.azurecr.io:443": "127.0.0.1:41007", "169.254.169.254:80": "127.0.0.1:41010"},
//	  "appService": {"endpoint": "http://127.0.0.1:41011/msi/token", "header": "..."}
//	}
type Override struct {
	// Clouds replaces the endpoints of the clouds it names; others keep
	// their real endpoints.
	Clouds map[Name]Endpoints `json:"clouds"`
	// CABundle is PEM; its certificates are trusted in addition to the
	// system roots for every Azure call.
	CABundle string `json:"caBundle,omitempty"`
	// Hosts redirects dials: "host:port" -> "ip:port". Used for registry
	// login servers with real-looking names and for the IMDS address.
	Hosts map[string]string `json:"hosts,omitempty"`
	// AppService, when set, is the App Service managed-identity endpoint
	// (IDENTITY_ENDPOINT / IDENTITY_HEADER) of the host this process
	// simulates. Only delegates use it.
	AppService *AppServiceEndpoint `json:"appService,omitempty"`
}

// AppServiceEndpoint is the App Service managed-identity protocol's endpoint.
type AppServiceEndpoint struct {
	Endpoint string `json:"endpoint"`
	Header   string `json:"header"`
}

// LogValue-friendly summary without the CA bundle or the identity header.
func (o *Override) String() string {
	if o == nil {
		return "cloud override: none"
	}
	var b strings.Builder
	b.WriteString("cloud override:")
	for _, n := range Names() {
		if e, ok := o.Clouds[n]; ok {
			fmt.Fprintf(&b, " %s(login=%s arm=%s)", n, e.AuthorityHost, e.ResourceManager)
		}
	}
	for _, h := range sortedHosts(o.Hosts) {
		fmt.Fprintf(&b, " %s->%s", h, o.Hosts[h])
	}
	return b.String()
}

// Validate checks every cloud's endpoints, the CA bundle and the host map.
func (o *Override) Validate() error {
	for n, e := range o.Clouds {
		if _, ok := builtin[n]; !ok {
			return fmt.Errorf("cloud override: unknown cloud %q", n)
		}
		if err := e.Validate(); err != nil {
			return fmt.Errorf("cloud override: %s: %w", n, err)
		}
	}
	if o.CABundle != "" {
		if _, err := o.CertPool(); err != nil {
			return err
		}
	}
	for from, to := range o.Hosts {
		if _, _, err := net.SplitHostPort(from); err != nil {
			return fmt.Errorf("cloud override: hosts key %q must be host:port: %w", from, err)
		}
		if _, _, err := net.SplitHostPort(to); err != nil {
			return fmt.Errorf("cloud override: hosts value %q must be host:port: %w", to, err)
		}
	}
	return nil
}

// CertPool returns the system roots plus the CA bundle.
func (o *Override) CertPool() (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if o == nil || o.CABundle == "" {
		return pool, nil
	}
	if !pool.AppendCertsFromPEM([]byte(o.CABundle)) {
		return nil, fmt.Errorf("cloud override: caBundle holds no PEM certificate")
	}
	return pool, nil
}

// Endpoints returns the endpoints of cloud n, overridden where o says so.
func (o *Override) Endpoints(n Name) (Endpoints, error) {
	if o != nil {
		if e, ok := o.Clouds[n]; ok {
			return e, nil
		}
	}
	e, ok := builtin[n]
	if !ok {
		return Endpoints{}, fmt.Errorf("unknown Azure environment %q", n)
	}
	return e, nil
}

// Load reads and validates an override file.
func Load(path string) (*Override, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read cloud override: %w", err)
	}
	var o Override
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, fmt.Errorf("parse cloud override %s: %w", path, err)
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return &o, nil
}

// Write stores the override at path with mode 0600.
func (o *Override) Write(path string) error {
	b, err := json.MarshalIndent(o, "", "  ")
	if err != nil {
		return fmt.Errorf("encode cloud override: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write cloud override: %w", err)
	}
	return nil
}
