// Package kubetest runs a real Kubernetes control plane for tests: etcd,
// kube-apiserver and kube-controller-manager, built from the Go module
// proxy by the tools module in test/kube/tools (see Build) and started on
// loopback, the way controller-runtime's envtest starts them. There is no
// kubelet and no scheduler: Deployments get ReplicaSets and Pods (the
// controller manager runs), garbage collection follows owner references,
// and Pods stay Pending. Tests assert what the API server holds.
//
// A package's tests share one control plane:
//
//	var env *kubetest.Env
//
//	func TestMain(m *testing.M) { os.Exit(kubetest.Main(m, &env)) }
//
// When the control plane cannot be built or started, Main fails the whole
// package with the reason; it never skips.
package kubetest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

// Users the API server knows (static token file). Admin is in
// system:masters; Berth has no permission until a test binds it a role,
// so that tests prove which permissions berth needs.
const (
	AdminUser = "kubetest-admin"
	BerthUser = "berth"
)

// Env is a running control plane.
type Env struct {
	// Config is an admin's (system:masters) client configuration, and
	// Kubeconfig a kubeconfig file with the same credentials.
	Config     *rest.Config
	Kubeconfig string
	// BerthConfig and BerthKubeconfig authenticate as BerthUser.
	BerthConfig     *rest.Config
	BerthKubeconfig string
	// Host is the API server's https URL.
	Host string

	Binaries  Binaries
	StartTime time.Duration

	dir   string
	keep  bool
	procs []*process
	once  sync.Once
}

// Options tune Start; the zero value is what tests want.
type Options struct {
	// StartTimeout bounds the start of each component (default 2 minutes:
	// the machine may be loaded).
	StartTimeout time.Duration
	// Keep leaves the working directory (logs, etcd data) behind, for
	// debugging; BERTH_KUBE_KEEP=1 sets it.
	Keep bool
}

// Main builds and starts a control plane, stores it in *env, runs the
// package's tests, stops it and returns the exit code for os.Exit. When
// the control plane cannot be built or started it prints why and returns
// 1 without running any test: the suite fails loudly, never skips.
func Main(m *testing.M, env **Env) int {
	// go test kills a test binary that runs longer than -timeout plus a
	// minute, building included: say so before a cold build under a
	// timeout shorter than it may take on a loaded machine.
	if !flag.Parsed() {
		flag.Parse() // as TestMain may; m.Run does not parse again
	}
	if f := flag.Lookup("test.timeout"); f != nil && !Cached() {
		if d, err := time.ParseDuration(f.Value.String()); err == nil && d > 0 && d < 25*time.Minute {
			fmt.Fprintf(os.Stderr, "kubetest: WARNING: the control plane is not built yet and go test's -timeout is %s; the build takes 7 to 8 minutes on two idle cores and more on a loaded machine. If go test kills this package, run `make kube-tools` (no timeout) or pass -timeout 30m.\n", d)
		}
	}
	e, err := Start(Options{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: kubetest: the Kubernetes control plane is not available, so no test of this package can run:\n%v\n", err)
		return 1
	}
	*env = e
	// Ctrl-C or a SIGTERM stop the control plane and remove its files
	// before the process ends (the children die with it anyway).
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		if _, ok := <-sig; ok {
			e.Stop()
			os.Exit(1)
		}
	}()
	code := m.Run()
	signal.Stop(sig)
	close(sig)
	if err := e.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "kubetest: stopping the control plane: %v\n", err)
	}
	return code
}

// Start builds (or finds cached) the binaries and starts etcd,
// kube-apiserver and kube-controller-manager, waiting until each is
// healthy. The caller must Stop the Env.
func Start(opts Options) (*Env, error) {
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 2 * time.Minute
	}
	if os.Getenv("BERTH_KUBE_KEEP") == "1" {
		opts.Keep = true
	}
	bins, err := Build()
	if err != nil {
		return nil, err
	}
	// Free ports are picked before the programs bind them: another process
	// may take one in between. A start that fails is tried again on fresh
	// ports.
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		e, err := start(bins, opts)
		if err == nil {
			return e, nil
		}
		lastErr = err
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	return nil, lastErr
}

var errPortTaken = errors.New("address already in use")

func start(bins Binaries, opts Options) (_ *Env, err error) {
	begin := time.Now()
	dir, err := os.MkdirTemp("", "berth-kube-")
	if err != nil {
		return nil, fmt.Errorf("kubetest: %w", err)
	}
	e := &Env{Binaries: bins, dir: dir, keep: opts.Keep}
	defer func() {
		if err != nil {
			e.stop()
		}
	}()
	if opts.Keep {
		fmt.Fprintf(os.Stderr, "kubetest: keeping %s\n", dir)
	}

	p, err := writePKI(dir)
	if err != nil {
		return nil, fmt.Errorf("kubetest: certificates: %w", err)
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdClient, etcdPeer, apiPort := ports[0], ports[1], ports[2]

	// etcd: one member on loopback, no fsync (test data).
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(etcdClient)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(etcdPeer)
	etcd, err := e.run("etcd", bins.Etcd,
		"--name=kubetest",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL,
		"--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=kubetest="+peerURL,
		"--unsafe-no-fsync=true",
		"--log-level=warn",
	)
	if err != nil {
		return nil, err
	}
	plain := &http.Client{Timeout: 5 * time.Second}
	if err := waitHealthy(etcd, plain, etcdURL+"/health", `"health":"true"`, opts.StartTimeout); err != nil {
		return nil, err
	}

	// kube-apiserver: secure port only, static tokens, RBAC.
	adminToken, kcmToken, berthToken := token(), token(), token()
	tokens := filepath.Join(dir, "tokens.csv")
	tokenFile := fmt.Sprintf("%s,%s,%s-uid,\"system:masters\"\n%s,system:kube-controller-manager,kcm-uid\n%s,%s,%s-uid\n",
		adminToken, AdminUser, AdminUser, kcmToken, berthToken, BerthUser, BerthUser)
	if err := os.WriteFile(tokens, []byte(tokenFile), 0o600); err != nil {
		return nil, fmt.Errorf("kubetest: %w", err)
	}
	e.Host = "https://127.0.0.1:" + strconv.Itoa(apiPort)
	api, err := e.run("kube-apiserver", bins.APIServer,
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(apiPort),
		"--tls-cert-file="+p.servingCert,
		"--tls-private-key-file="+p.servingKey,
		"--cert-dir="+filepath.Join(dir, "apiserver-certs"),
		"--token-auth-file="+tokens,
		"--authorization-mode=RBAC",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--allow-privileged=true",
		"--service-account-issuer="+e.Host,
		"--service-account-key-file="+p.saPub,
		"--service-account-signing-key-file="+p.saKey,
		// As envtest: without the ServiceAccount admission plugin a Pod
		// needs no "default" service account to exist first.
		"--disable-admission-plugins=ServiceAccount",
		"--profiling=false",
	)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.caPEM)
	secure := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if err := waitHealthy(api, secure, e.Host+"/readyz", "ok", opts.StartTimeout); err != nil {
		return nil, err
	}

	config := func(tok string) *rest.Config {
		return &rest.Config{Host: e.Host, BearerToken: tok, TLSClientConfig: rest.TLSClientConfig{CAData: p.caPEM}, QPS: 100, Burst: 200}
	}
	e.Config, e.BerthConfig = config(adminToken), config(berthToken)
	if e.Kubeconfig, err = writeKubeconfig(dir, "admin", e.Host, p.caCert, adminToken); err != nil {
		return nil, err
	}
	if e.BerthKubeconfig, err = writeKubeconfig(dir, "berth", e.Host, p.caCert, berthToken); err != nil {
		return nil, err
	}
	kcmConfig, err := writeKubeconfig(dir, "controller-manager", e.Host, p.caCert, kcmToken)
	if err != nil {
		return nil, err
	}

	// kube-controller-manager: the controllers berth's objects need, each
	// with its own service account as kubeadm runs it, no HTTPS port of
	// its own (tests run side by side) and no leader election.
	kcm, err := e.run("kube-controller-manager", bins.ControllerManager,
		"--kubeconfig="+kcmConfig,
		"--authentication-kubeconfig="+kcmConfig,
		"--authorization-kubeconfig="+kcmConfig,
		"--secure-port=0",
		"--leader-elect=false",
		"--use-service-account-credentials=true",
		"--service-account-private-key-file="+p.saKey,
		"--root-ca-file="+p.caCert,
		"--controllers=deployment-controller,replicaset-controller,garbage-collector-controller,serviceaccount-controller,serviceaccount-token-controller,namespace-controller,root-ca-certificate-publisher-controller",
		"--concurrent-deployment-syncs=5",
		"--concurrent-replicaset-syncs=5",
		"--concurrent-gc-syncs=5",
		"--profiling=false",
	)
	if err != nil {
		return nil, err
	}
	if err := waitControllers(kcm, secure, e.Host, adminToken, opts.StartTimeout); err != nil {
		return nil, err
	}
	e.StartTime = time.Since(begin)
	fmt.Fprintf(os.Stderr, "kubetest: control plane (etcd %s, kube-apiserver and kube-controller-manager %s) up at %s in %s\n",
		EtcdVersion, KubeVersion, e.Host, e.StartTime.Round(10*time.Millisecond))
	return e, nil
}

// Stop stops the control plane (controller manager, API server, etcd, in
// that order) and removes its working directory. Calling it again does
// nothing.
func (e *Env) Stop() error {
	var err error
	e.once.Do(func() { err = e.stop() })
	return err
}

func (e *Env) stop() error {
	for i := len(e.procs) - 1; i >= 0; i-- {
		e.procs[i].stop()
	}
	if e.keep {
		return nil
	}
	return os.RemoveAll(e.dir)
}

// Dir is the control plane's working directory (logs, etcd data).
func (e *Env) Dir() string { return e.dir }

// Logs returns the last n bytes of a component's output ("etcd",
// "kube-apiserver", "kube-controller-manager"), for a failing test.
func (e *Env) Logs(name string, n int) string {
	b, _ := os.ReadFile(filepath.Join(e.dir, name+".log"))
	return tail(string(b), n)
}

type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

func (e *Env) run(name, path string, args ...string) (*process, error) {
	log := filepath.Join(e.dir, name+".log")
	f, err := os.Create(log)
	if err != nil {
		return nil, fmt.Errorf("kubetest: %w", err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Dir = e.dir
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("kubetest: starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, log: log, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	e.procs = append(e.procs, p)
	return p, nil
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// failure explains why p did not come up, with the end of its log.
func (p *process) failure(what string) error {
	b, _ := os.ReadFile(p.log)
	out := tail(string(b), 3000)
	err := fmt.Errorf("kubetest: %s %s; the end of its output (%s):\n%s", p.name, what, p.log, out)
	if bytes.Contains(b, []byte("address already in use")) {
		return fmt.Errorf("%w (%w)", err, errPortTaken)
	}
	return err
}

func (p *process) stop() {
	if p.exited() {
		return
	}
	signalGroup(p.cmd.Process, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		signalGroup(p.cmd.Process, syscall.SIGKILL)
		<-p.done
	}
}

// waitHealthy polls url until it answers 200 with a body containing want,
// p exits, or timeout passes.
func waitHealthy(p *process, c *http.Client, url, want string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		if p.exited() {
			return p.failure(fmt.Sprintf("exited (%v) before it was healthy", p.err))
		}
		resp, err := c.Get(url)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(string(body), want) {
				return nil
			}
			last = fmt.Sprintf("%s: %d %s", url, resp.StatusCode, tail(string(body), 300))
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return p.failure(fmt.Sprintf("was not healthy after %s (last answer: %s)", timeout, last))
}

// waitControllers waits until the controller manager works: its service
// account controller creates the "default" service account of the
// "default" namespace once its informers have synced.
func waitControllers(p *process, c *http.Client, host, adminToken string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	url := host + "/api/v1/namespaces/default/serviceaccounts/default"
	var last string
	for time.Now().Before(deadline) {
		if p.exited() {
			return p.failure(fmt.Sprintf("exited (%v) before its controllers ran", p.err))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := c.Do(req)
		if err == nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				cancel()
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		cancel()
		time.Sleep(200 * time.Millisecond)
	}
	return p.failure(fmt.Sprintf("did not run its controllers within %s (no default service account; last answer: %s)", timeout, last))
}

// freePorts finds n free loopback ports (held open together so that they
// differ, then released for the programs to bind).
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("kubetest: no free loopback port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func writeKubeconfig(dir, name, host, caFile, tok string) (string, error) {
	path := filepath.Join(dir, name+".kubeconfig")
	content := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kubetest
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: %s
  user:
    token: %s
contexts:
- name: kubetest
  context:
    cluster: kubetest
    user: %s
current-context: kubetest
`, host, caFile, name, tok, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		return "", fmt.Errorf("kubetest: %w", err)
	}
	return path, nil
}
