package delegate

import (
	"context"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/azimuthcd/azimuth/internal/cloud"
	"github.com/azimuthcd/azimuth/internal/protocol"
)

// imdsAddr is the instance metadata service's address.
const imdsAddr = "169.254.169.254:80"

// DetectCapabilities finds what this host offers: a managed identity
// (an App Service style endpoint named by the environment or the cloud
// override, else IMDS if it answers within a second) and whether it runs
// inside Kubernetes. override may be nil; getenv is os.Getenv outside
// tests.
func DetectCapabilities(ctx context.Context, override *cloud.Override, appService *cloud.AppServiceEndpoint, getenv func(string) string) protocol.Capabilities {
	c := protocol.Capabilities{Kubernetes: getenv("KUBERNETES_SERVICE_HOST") != "", OS: runtime.GOOS, Arch: runtime.GOARCH}
	switch {
	case appService != nil || (override != nil && override.AppService != nil):
		c.ManagedIdentity = "appService"
	case imdsAnswers(ctx, override):
		c.ManagedIdentity = "imds"
	}
	return c
}

// imdsAnswers probes IMDS (through the override's dial map, as the Azure
// factory reaches it): any HTTP answer means it is there.
func imdsAnswers(ctx context.Context, o *cloud.Override) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	d := &net.Dialer{Timeout: time.Second}
	tr := &http.Transport{Proxy: nil, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if o != nil {
			if to, ok := o.Hosts[addr]; ok {
				addr = to
			}
		}
		return d.DialContext(ctx, network, addr)
	}}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+imdsAddr+"/metadata/identity/oauth2/token?api-version=2018-02-01", nil)
	if err != nil {
		return false
	}
	req.Header.Set("Metadata", "true")
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return true
}
