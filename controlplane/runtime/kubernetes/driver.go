// Package kubernetes is berth's Kubernetes runtime: a runtime.WorkloadDriver
// that runs each proc of an app as a Deployment, its environment in a
// Secret the Deployment reads, and reports the Deployment's Pods as units.
// docs/kubernetes.md describes the mapping; this package keeps it.
//
// Every write is a server-side apply under the field manager "berth", so
// Apply is idempotent: applying the same workload twice changes nothing,
// and a berthd that restarts (or crashed half-way) adopts what it finds by
// its labels instead of creating a second copy.
package kubernetes

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/berthdev/terraform-provider-berth/controlplane/runtime"
)

// NamespaceMode says where a driver puts apps.
type NamespaceMode string

const (
	// OneNamespace puts every app in Options.Namespace.
	OneNamespace NamespaceMode = "one"
	// NamespacePerTeam puts each app in the namespace of its team,
	// Options.NamespacePrefix + the team name, created when missing; apps
	// without a team go to Options.Namespace.
	NamespacePerTeam NamespaceMode = "team"
)

// FieldManager is the server-side apply field manager berth writes as.
const FieldManager = "berth"

// Options configure a Driver.
type Options struct {
	// Installation identifies this berth installation: every object carries
	// it (runtime.LabelInstallation) and the driver sees only its own. It
	// must be a valid label value.
	Installation string
	// Kubeconfig is the path of a kubeconfig file; empty: the in-cluster
	// configuration (berthd running in a Pod). Config, when set, is used
	// instead of both.
	Kubeconfig string
	Config     *rest.Config
	// NamespaceMode is OneNamespace (the default) or NamespacePerTeam.
	NamespaceMode NamespaceMode
	// Namespace is where apps go in OneNamespace mode, and apps without a
	// team in NamespacePerTeam mode (default "berth"). It is created when
	// missing.
	Namespace string
	// NamespacePrefix prefixes team names in NamespacePerTeam mode
	// (default "berth-").
	NamespacePrefix string
	// ProgressDeadline is how long a rollout may make no progress before
	// Apply reports runtime.ErrRolloutFailed (default 10 minutes).
	ProgressDeadline time.Duration
	// Logger receives retries and clean-ups (default: discarded).
	Logger *slog.Logger
}

// RegisterFlags adds the driver's flags to fs, for berthd's --runtime
// kubernetes: --kubeconfig, --kube-namespace, --kube-namespace-mode and
// --kube-namespace-prefix.
func (o *Options) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "kubeconfig file of the cluster apps run in (empty: the in-cluster configuration)")
	fs.StringVar(&o.Namespace, "kube-namespace", "berth", "namespace apps run in (with --kube-namespace-mode team: apps without a team)")
	fs.StringVar((*string)(&o.NamespaceMode), "kube-namespace-mode", string(OneNamespace), "one: every app in --kube-namespace; team: each team's apps in a namespace of its own, --kube-namespace-prefix + the team name")
	fs.StringVar(&o.NamespacePrefix, "kube-namespace-prefix", "berth-", "prefix of team namespaces (--kube-namespace-mode team)")
}

// Driver is the Kubernetes runtime.
type Driver struct {
	opts     Options
	client   kubernetes.Interface
	metadata metadata.Interface
	log      *slog.Logger
}

var _ runtime.WorkloadDriver = (*Driver)(nil)

// New connects to the cluster that opts describes. It does not call the
// API server: a cluster that is down shows in the first Apply.
func New(opts Options) (*Driver, error) {
	if errs := validation.IsValidLabelValue(opts.Installation); opts.Installation == "" || len(errs) > 0 {
		return nil, fmt.Errorf("kubernetes: invalid installation id %q: it must be a label value, at most 63 letters, digits, '-', '_' or '.'", opts.Installation)
	}
	switch opts.NamespaceMode {
	case "":
		opts.NamespaceMode = OneNamespace
	case OneNamespace, NamespacePerTeam:
	default:
		return nil, fmt.Errorf("kubernetes: invalid namespace mode %q: it must be %q or %q", opts.NamespaceMode, OneNamespace, NamespacePerTeam)
	}
	if opts.Namespace == "" {
		opts.Namespace = "berth"
	}
	if errs := validation.IsDNS1123Label(opts.Namespace); len(errs) > 0 {
		return nil, fmt.Errorf("kubernetes: invalid namespace %q: %v", opts.Namespace, errs)
	}
	if opts.NamespacePrefix == "" {
		opts.NamespacePrefix = "berth-"
	}
	if opts.ProgressDeadline <= 0 {
		opts.ProgressDeadline = 10 * time.Minute
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := opts.Config
	if cfg == nil {
		var err error
		if opts.Kubeconfig != "" {
			cfg, err = clientcmd.BuildConfigFromFlags("", opts.Kubeconfig)
		} else {
			cfg, err = rest.InClusterConfig()
			if errors.Is(err, rest.ErrNotInCluster) {
				err = errors.New("not running in a cluster and no kubeconfig given (--kubeconfig)")
			}
		}
		if err != nil {
			return nil, fmt.Errorf("kubernetes: %w", err)
		}
	}
	cfg = rest.CopyConfig(cfg)
	if cfg.UserAgent == "" {
		cfg.UserAgent = "berthd"
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	md, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	return &Driver{opts: opts, client: cs, metadata: md, log: log}, nil
}

// Name is "kubernetes".
func (d *Driver) Name() string { return "kubernetes" }

// Close releases nothing: client-go's connections close when idle.
func (d *Driver) Close() error { return nil }

// namespaceOf is the namespace the apps of team live in.
func (d *Driver) namespaceOf(team string) string {
	if d.opts.NamespaceMode == NamespacePerTeam && team != "" {
		return namespaceName(d.opts.NamespacePrefix, team)
	}
	return d.opts.Namespace
}

// scope is the namespace that lists look in: the one namespace, or all of
// them when each team has its own.
func (d *Driver) scope() string {
	if d.opts.NamespaceMode == NamespacePerTeam {
		return ""
	}
	return d.opts.Namespace
}
