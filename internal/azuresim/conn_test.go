package azuresim

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFixRequestLine(t *testing.T) {
	tests := map[string]string{
		"GET /a?$filter=principalId eq 'x' HTTP/1.1\r\n": "GET /a?$filter=principalId%20eq%20'x' HTTP/1.1\r\n",
		"GET /a?b=c HTTP/1.1\r\n":                        "GET /a?b=c HTTP/1.1\r\n",
		"garbage\r\n":                                    "garbage\r\n",
	}
	for in, want := range tests {
		if got := string(fixRequestLine([]byte(in))); got != want {
			t.Errorf("fixRequestLine(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestLenientConnKeepAlive sends, on one connection, a request with a body
// containing a request-like line, then two requests with spaces in their
// targets, and checks the server sees each intact.
func TestLenientConnKeepAlive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		seen []string
	)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Query().Get("$filter")+" "+string(b))
		mu.Unlock()
		w.WriteHeader(204)
	})}
	go func() { _ = srv.Serve(lenientListener{ln}) }()
	defer srv.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body := "x\r\nGET /evil HTTP/1.1\r\n\r\n"
	_, _ = io.WriteString(c, "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body+
		"\r\nGET /a?$filter=a eq 'b' HTTP/1.1\r\nHost: h\r\n\r\n"+
		"GET /a?$filter=atScope() and c eq 'd' HTTP/1.1\r\nHost: h\r\n\r\n")
	br := bufio.NewReader(c)
	for range 3 {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 204 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	want := []string{"POST  " + body, "GET a eq 'b' ", "GET atScope() and c eq 'd' "}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(seen, "|") != strings.Join(want, "|") {
		t.Fatalf("server saw %q", seen)
	}
}

// TestTLSStateSurvivesTheLenientListener: handlers behind listenTLSConfig
// see the TLS state, client certificates included (the Kubernetes API of
// local-account clusters needs them).
func TestTLSStateSurvivesTheLenientListener(t *testing.T) {
	s := StartForTest(t, nil)
	rt := newRouter("test")
	rt.handle(http.MethodGet, "/whoami", "test.whoami", func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			http.Error(w, "no client certificate", 401)
			return
		}
		_, _ = io.WriteString(w, r.TLS.PeerCertificates[0].Subject.CommonName)
	})
	cfg := s.serverTLSConfig()
	cfg.ClientAuth = tls.RequireAnyClientCert
	addr, err := s.listenTLSConfig("test", "whoami", rt, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cert, keyPEM, err := selfSignedRSA("CN=clusterAdmin", time.Now(), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(pemCert(cert), keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.CACertPool(), Certificates: []tls.Certificate{pair}}}}
	resp, err := c.Get("https://" + addr + "/whoami")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "clusterAdmin" {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
}
