package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

// A script step's kubeconfig holds no credential. Its user entry runs
// `azimuth kube-token` as a client-go exec credential plugin, which asks
// the process running the step (the delegate) for an ExecCredential over
// a unix socket in the step's private directory. The delegate answers
// with a fresh Entra token for the cluster's server application, obtained
// with the connector's credential and refreshed before it expires (Entra
// clusters), or with the local account's credential it got from Azure
// (local-account clusters). The socket lives only as long as the step.

// KubeTokenSocketEnv names the socket in the plugin's environment (set by
// the kubeconfig's exec env).
const KubeTokenSocketEnv = "AZIMUTH_KUBE_TOKEN_SOCKET"

// KubeTokenCommand is the subcommand of the azimuth binary that is the
// plugin.
const KubeTokenCommand = "kube-token"

const (
	execCredentialAPIVersion = "client.authentication.k8s.io/v1beta1"
	kubeTokenPath            = "/v1beta1/exec-credential"
)

type execCredential struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Status     *execCredStatus `json:"status"`
}

type execCredStatus struct {
	ExpirationTimestamp   *time.Time `json:"expirationTimestamp,omitempty"`
	Token                 string     `json:"token,omitempty"`
	ClientCertificateData string     `json:"clientCertificateData,omitempty"`
	ClientKeyData         string     `json:"clientKeyData,omitempty"`
}

// kubeCredentialSource produces the step's ExecCredential status.
type kubeCredentialSource func(ctx context.Context) (*execCredStatus, error)

// kubeTokenServer serves ExecCredentials on a unix socket.
type kubeTokenServer struct {
	srv    *http.Server
	ln     net.Listener
	served chan struct{}
}

// startKubeTokenServer listens on path (0600, in the step's 0700
// directory) and serves src until stop.
func startKubeTokenServer(path string, src kubeCredentialSource, log *slog.Logger, requests *atomic.Int64) (*kubeTokenServer, error) {
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on the step's token socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("restrict the step's token socket: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+kubeTokenPath, func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
		defer cancel()
		st, err := src(ctx)
		if err != nil {
			log.Warn("kube-token: no credential for the step", "err", err)
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if requests != nil {
			requests.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(execCredential{APIVersion: execCredentialAPIVersion, Kind: "ExecCredential", Status: st})
	})
	s := &kubeTokenServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, ln: ln, served: make(chan struct{})}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

func (s *kubeTokenServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	<-s.served
}

// KubeTokenPlugin is `azimuth kube-token`: it asks the step's process for
// an ExecCredential over the socket named by $AZIMUTH_KUBE_TOKEN_SOCKET and
// prints it for kubectl.
func KubeTokenPlugin(ctx context.Context, socket string, stdout io.Writer) error {
	if socket == "" {
		return errors.New("kube-token is kubectl's credential plugin inside an Azimuth script step: " + KubeTokenSocketEnv + " is not set (it is only set by the kubeconfig of a running step)")
	}
	client := &http.Client{Timeout: 70 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://step"+kubeTokenPath, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("kube-token: the step that wrote this kubeconfig is not running any more (%w)", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("kube-token: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("kube-token: the step could not get a credential: %s", body)
	}
	_, err = stdout.Write(body)
	return err
}
