// Package docker is berth's runtime.UnitDriver on a Docker Engine: each
// unit is one container, named after its spec and labelled with the
// runtime's labels, so that a restarted berthd finds what it started and
// several berth installations share one engine without seeing each
// other's containers.
//
// It talks to the engine through the Docker Engine API client
// (github.com/moby/moby/client), configured from the environment like the
// docker CLI (DOCKER_HOST, DOCKER_API_VERSION, DOCKER_CERT_PATH,
// DOCKER_TLS_VERIFY) and negotiating the API version with the daemon.
//
// A unit's port is published on 127.0.0.1 only, on a host port the engine
// picks: berthd and its router, on the same host, reach it there. Docker
// restarts nothing by itself (no restart policy): Rolling restarts units,
// with back-off, so that restarts stay visible and paced.
//
// Docker has no secret store outside swarm mode: private variables are
// passed in the container's environment like the others, so that anyone
// who may `docker inspect` on the host can read them. They never appear in
// this package's logs or errors.
package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/berthdev/terraform-provider-berth/controlplane/runtime"
)

// DriverName is what Name answers.
const DriverName = "docker"

// Driver runs units as Docker containers. It is safe for concurrent use.
type Driver struct {
	installation string
	cli          *client.Client
	log          *slog.Logger
	pullTimeout  time.Duration

	cpuMu sync.Mutex
	ncpu  int // the engine's CPU count, once known
}

var (
	_ runtime.UnitDriver = (*Driver)(nil)
	_ runtime.UnitLogger = (*Driver)(nil)
	_ runtime.AppLister  = (*Driver)(nil)
)

// Option adjusts a Driver.
type Option func(*config)

type config struct {
	clientOpts  []client.Opt
	log         *slog.Logger
	pullTimeout time.Duration
}

// WithClientOptions adds options to the Docker client, after those taken
// from the environment (client.WithHost to talk to another engine).
func WithClientOptions(opts ...client.Opt) Option {
	return func(c *config) { c.clientOpts = append(c.clientOpts, opts...) }
}

// WithLogger sets where the driver logs (default: nowhere).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.log = l }
}

// WithPullTimeout bounds the pull of an image that is missing on the
// engine (default 5 minutes).
func WithPullTimeout(d time.Duration) Option {
	return func(c *config) { c.pullTimeout = d }
}

// New returns a driver for the installation installationID on the engine
// the environment names (the local socket by default). It does not contact
// the engine: Ping does.
func New(installationID string, opts ...Option) (*Driver, error) {
	if strings.TrimSpace(installationID) == "" {
		return nil, errors.New("docker: an installation id is required")
	}
	cfg := config{pullTimeout: 5 * time.Minute}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.log == nil {
		cfg.log = slog.New(slog.DiscardHandler)
	}
	cli, err := client.New(append([]client.Opt{client.FromEnv}, cfg.clientOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("docker: client: %w", err)
	}
	return &Driver{installation: installationID, cli: cli, log: cfg.log, pullTimeout: cfg.pullTimeout}, nil
}

// Name implements runtime.UnitDriver.
func (d *Driver) Name() string { return DriverName }

// Installation is the installation id the driver works for.
func (d *Driver) Installation() string { return d.installation }

// Client is the Docker client the driver uses (tests clean up with it).
func (d *Driver) Client() *client.Client { return d.cli }

// Close implements runtime.UnitDriver.
func (d *Driver) Close() error { return d.cli.Close() }

// Ping checks that the engine answers, with an error that says where the
// driver looked.
func (d *Driver) Ping(ctx context.Context) error {
	if _, err := d.cli.Ping(ctx, client.PingOptions{}); err != nil {
		return fmt.Errorf("docker: no Docker Engine answers at %s: %w", d.cli.DaemonHost(), err)
	}
	return nil
}

// containerName is what Docker accepts as a container name.
var containerName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// Start implements runtime.UnitDriver.
func (d *Driver) Start(ctx context.Context, spec runtime.UnitSpec) (runtime.Unit, error) {
	if !containerName.MatchString(spec.Name) {
		return runtime.Unit{}, fmt.Errorf("docker: start: %q is not a valid container name", spec.Name)
	}
	if spec.Image == "" {
		return runtime.Unit{}, fmt.Errorf("docker: start %s: no image", spec.Name)
	}
	// A concurrent Start of the same spec may create the container between
	// our look-up and our create: the create then conflicts, and a later
	// round finds it (the engine reserves the name a moment before the
	// container can be looked up by it).
	for attempt := range 20 {
		u, found, err := d.startExisting(ctx, spec.Name)
		if err != nil || found {
			return u, err
		}
		id, err := d.create(ctx, spec)
		if cerrdefs.IsConflict(err) {
			if err := sleep(ctx, time.Duration(attempt+1)*50*time.Millisecond); err != nil {
				return runtime.Unit{}, err
			}
			continue
		}
		if err != nil {
			return runtime.Unit{}, err
		}
		d.log.Info("docker: created unit", "unit", spec.Name, "container", shortID(id), "image", spec.Image)
		if _, err := d.cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
			return runtime.Unit{}, fmt.Errorf("docker: start %s: %w", spec.Name, err)
		}
		return d.Inspect(ctx, id)
	}
	return runtime.Unit{}, fmt.Errorf("docker: start %s: the container name stays in conflict", spec.Name)
}

// startExisting returns the container called name, started, when it
// exists.
func (d *Driver) startExisting(ctx context.Context, name string) (runtime.Unit, bool, error) {
	res, err := d.cli.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return runtime.Unit{}, false, nil
	}
	if err != nil {
		return runtime.Unit{}, false, fmt.Errorf("docker: start %s: %w", name, err)
	}
	c := res.Container
	if c.Config == nil || c.Config.Labels[runtime.LabelInstallation] != d.installation {
		return runtime.Unit{}, true, fmt.Errorf("docker: start %s: the name is taken by a container that is not this installation's (%s)", name, shortID(c.ID))
	}
	if c.State == nil {
		return runtime.Unit{}, true, fmt.Errorf("docker: start %s: container %s has no state", name, shortID(c.ID))
	}
	switch c.State.Status {
	case container.StateRunning:
		return unitFromContainer(c), true, nil
	case container.StateCreated, container.StateExited:
		if _, err := d.cli.ContainerStart(ctx, c.ID, client.ContainerStartOptions{}); err != nil {
			return runtime.Unit{}, true, fmt.Errorf("docker: start %s: %w", name, err)
		}
		d.log.Info("docker: started existing unit", "unit", name, "container", shortID(c.ID))
		u, err := d.Inspect(ctx, c.ID)
		return u, true, err
	default:
		return runtime.Unit{}, true, fmt.Errorf("docker: start %s: container %s is %s", name, shortID(c.ID), c.State.Status)
	}
}

func (d *Driver) create(ctx context.Context, spec runtime.UnitSpec) (string, error) {
	if err := d.ensureImage(ctx, spec.Image); err != nil {
		return "", err
	}
	nanoCPUs, err := d.nanoCPUs(ctx, spec.CPU)
	if err != nil {
		return "", fmt.Errorf("docker: start %s: %w", spec.Name, err)
	}
	env := make([]string, 0, len(spec.Env))
	for _, e := range spec.Env {
		env = append(env, e.Name+"="+e.Value)
	}
	cfg := &container.Config{
		Image:      spec.Image,
		Env:        env,
		Labels:     d.labels(spec),
		StopSignal: "SIGTERM",
	}
	if len(spec.Command) > 0 {
		// The image's CMD is dropped with its entrypoint, as with
		// `docker run --entrypoint`.
		cfg.Entrypoint = slices.Clone(spec.Command)
	}
	host := &container.HostConfig{
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		Resources:     container.Resources{NanoCPUs: nanoCPUs},
	}
	if spec.Memory > 0 {
		host.Memory = spec.Memory
		host.MemorySwap = spec.Memory // no swap on top of the limit
	}
	if spec.Port > 0 {
		port, ok := network.PortFrom(uint16(spec.Port), network.TCP)
		if !ok || spec.Port > 65535 {
			return "", fmt.Errorf("docker: start %s: invalid port %d", spec.Name, spec.Port)
		}
		cfg.ExposedPorts = network.PortSet{port: {}}
		host.PortBindings = network.PortMap{port: {{HostIP: netip.AddrFrom4([4]byte{127, 0, 0, 1})}}}
	}
	res, err := d.cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: spec.Name, Config: cfg, HostConfig: host})
	if cerrdefs.IsNotFound(err) {
		// The image went away between our check and the create.
		return "", fmt.Errorf("%w: %s: %v", runtime.ErrImageUnavailable, spec.Image, err)
	}
	if err != nil {
		return "", fmt.Errorf("docker: create %s: %w", spec.Name, err)
	}
	return res.ID, nil
}

func (d *Driver) labels(spec runtime.UnitSpec) map[string]string {
	return map[string]string{
		runtime.LabelInstallation: d.installation,
		runtime.LabelAppID:        spec.AppID,
		runtime.LabelApp:          spec.App,
		runtime.LabelProc:         spec.Proc,
		runtime.LabelIndex:        strconv.Itoa(spec.Index),
		runtime.LabelRelease:      strconv.Itoa(spec.Release),
		runtime.LabelRevision:     spec.Revision,
	}
}

// nanoCPUs turns a cpu allowance in cores into a CFS quota (NanoCPUs): a
// hard cap, the same meaning a Kubernetes cpu limit has, rather than
// relative shares that limit nothing on an idle host. The engine refuses a
// quota above its CPU count, so an allowance larger than the host is
// capped to the host. 0 means no limit.
func (d *Driver) nanoCPUs(ctx context.Context, cores int) (int64, error) {
	if cores <= 0 {
		return 0, nil
	}
	d.cpuMu.Lock()
	defer d.cpuMu.Unlock()
	if d.ncpu == 0 {
		info, err := d.cli.Info(ctx, client.InfoOptions{})
		if err != nil {
			return 0, fmt.Errorf("engine info: %w", err)
		}
		d.ncpu = max(info.Info.NCPU, 1)
	}
	return int64(min(cores, d.ncpu)) * 1e9, nil
}

// ensureImage pulls image when the engine does not have it.
func (d *Driver) ensureImage(ctx context.Context, image string) error {
	_, err := d.cli.ImageInspect(ctx, image)
	if err == nil {
		return nil
	}
	if !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("docker: inspect image %s: %w", image, err)
	}
	d.log.Info("docker: pulling image", "image", image)
	pctx, cancel := context.WithTimeout(ctx, d.pullTimeout)
	defer cancel()
	err = d.pull(pctx, image)
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("%w: %s is not on the engine and cannot be pulled: %v", runtime.ErrImageUnavailable, image, err)
	}
	return nil
}

func (d *Driver) pull(ctx context.Context, image string) error {
	resp, err := d.cli.ImagePull(ctx, image, client.ImagePullOptions{})
	if err != nil {
		return err
	}
	defer resp.Close()
	return resp.Wait(ctx)
}

// Stop implements runtime.UnitDriver: SIGTERM, grace (rounded up to whole
// seconds, as the engine counts), SIGKILL, then remove.
func (d *Driver) Stop(ctx context.Context, id string, grace time.Duration) error {
	res, err := d.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("docker: stop %s: %w", shortID(id), err)
	}
	c := res.Container
	if !d.ours(c) {
		return nil // another installation's: not ours to see
	}
	name := strings.TrimPrefix(c.Name, "/")
	if c.State != nil && (c.State.Running || c.State.Paused || c.State.Restarting) {
		secs := int((grace + time.Second - 1) / time.Second)
		_, err := d.cli.ContainerStop(ctx, c.ID, client.ContainerStopOptions{Timeout: &secs})
		if err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("docker: stop %s: %w", name, err)
		}
	}
	_, err = d.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	switch {
	case err == nil, cerrdefs.IsNotFound(err):
	case cerrdefs.IsConflict(err):
		// A removal is already in progress: wait for it to end.
		if err := d.waitGone(ctx, c.ID); err != nil {
			return fmt.Errorf("docker: remove %s: %w", name, err)
		}
	default:
		return fmt.Errorf("docker: remove %s: %w", name, err)
	}
	d.log.Info("docker: stopped unit", "unit", name, "container", shortID(c.ID))
	return nil
}

func (d *Driver) waitGone(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		_, err := d.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if cerrdefs.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

// Inspect implements runtime.UnitDriver.
func (d *Driver) Inspect(ctx context.Context, id string) (runtime.Unit, error) {
	res, err := d.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return runtime.Unit{}, fmt.Errorf("docker: unit %s: %w", shortID(id), runtime.ErrNotFound)
	}
	if err != nil {
		return runtime.Unit{}, fmt.Errorf("docker: inspect %s: %w", shortID(id), err)
	}
	if !d.ours(res.Container) {
		return runtime.Unit{}, fmt.Errorf("docker: unit %s: %w", shortID(id), runtime.ErrNotFound)
	}
	return unitFromContainer(res.Container), nil
}

func (d *Driver) ours(c container.InspectResponse) bool {
	return c.Config != nil && c.Config.Labels[runtime.LabelInstallation] == d.installation
}

// List implements runtime.UnitDriver.
func (d *Driver) List(ctx context.Context) ([]runtime.Unit, error) {
	return d.list(ctx, "")
}

// ListApp implements runtime.AppLister.
func (d *Driver) ListApp(ctx context.Context, appID string) ([]runtime.Unit, error) {
	if appID == "" {
		return nil, errors.New("docker: list: no app id")
	}
	return d.list(ctx, appID)
}

func (d *Driver) list(ctx context.Context, appID string) ([]runtime.Unit, error) {
	f := d.filters()
	if appID != "" {
		f.Add("label", runtime.LabelAppID+"="+appID)
	}
	res, err := d.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("docker: list: %w", err)
	}
	// The list's summaries lack exit codes and times: inspect each.
	units := make([]runtime.Unit, 0, len(res.Items))
	for _, s := range res.Items {
		u, err := d.Inspect(ctx, s.ID)
		if errors.Is(err, runtime.ErrNotFound) {
			continue // removed since the list
		}
		if err != nil {
			return nil, err
		}
		units = append(units, u)
	}
	slices.SortFunc(units, compareUnits)
	return units, nil
}

func (d *Driver) filters() client.Filters {
	return make(client.Filters).Add("label", runtime.LabelInstallation+"="+d.installation)
}

func compareUnits(a, b runtime.Unit) int {
	for _, c := range []int{
		strings.Compare(a.AppID, b.AppID),
		strings.Compare(a.Proc, b.Proc),
		a.Index - b.Index,
		strings.Compare(a.Name, b.Name),
	} {
		if c != 0 {
			return c
		}
	}
	return strings.Compare(a.ID, b.ID)
}

// Watch implements runtime.UnitDriver with the engine's event stream,
// narrowed to this installation's containers starting, dying and being
// removed. When the stream breaks (the engine restarted) Watch reconnects
// and sends an Event with no AppID, since anything may have changed in
// between. The channel closes when ctx ends.
func (d *Driver) Watch(ctx context.Context) (<-chan runtime.Event, error) {
	f := d.filters().Add("type", string(events.ContainerEventType)).
		Add("event", string(events.ActionStart), string(events.ActionDie), string(events.ActionDestroy))
	sub := func() client.EventsResult {
		return d.cli.Events(ctx, client.EventsListOptions{Filters: f.Clone()})
	}
	if err := d.Ping(ctx); err != nil {
		return nil, err
	}
	// Events returns once the engine answered the subscription: what
	// happens after Watch returns is seen.
	first := sub()
	out := make(chan runtime.Event, 64)
	go func() {
		defer close(out)
		send := func(e runtime.Event) bool {
			select {
			case out <- e:
				return true
			case <-ctx.Done():
				return false
			}
		}
		res, wait := first, time.Second
		for {
			err := d.pump(ctx, res, send)
			if ctx.Err() != nil {
				return
			}
			d.log.Warn("docker: event stream broke; reconnecting", "err", err, "in", wait)
			if sleep(ctx, wait) != nil {
				return
			}
			wait = min(2*wait, 30*time.Second)
			res = sub()
			if !send(runtime.Event{Kind: "resync"}) {
				return
			}
		}
	}()
	return out, nil
}

// pump forwards one subscription's events until it breaks.
func (d *Driver) pump(ctx context.Context, res client.EventsResult, send func(runtime.Event) bool) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-res.Err:
			if err == nil {
				err = io.EOF
			}
			return err
		case m := <-res.Messages:
			if !send(runtime.Event{AppID: m.Actor.Attributes[runtime.LabelAppID], UnitID: m.Actor.ID, Kind: string(m.Action)}) {
				return ctx.Err()
			}
		}
	}
}

// LogTail implements runtime.UnitLogger.
func (d *Driver) LogTail(ctx context.Context, id string, lines int) (string, error) {
	if _, err := d.Inspect(ctx, id); err != nil {
		return "", err
	}
	rc, err := d.cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: strconv.Itoa(max(lines, 1))})
	if err != nil {
		return "", fmt.Errorf("docker: logs %s: %w", shortID(id), err)
	}
	defer rc.Close()
	var buf tailBuffer
	buf.max = 4096
	if _, err := stdcopy.StdCopy(&buf, &buf, rc); err != nil {
		return "", fmt.Errorf("docker: logs %s: %w", shortID(id), err)
	}
	return strings.TrimRight(string(buf.b), "\n"), nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	b   []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = slices.Delete(t.b, 0, over)
	}
	return len(p), nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// unitFromContainer maps an inspected container to a Unit.
func unitFromContainer(c container.InspectResponse) runtime.Unit {
	var labels map[string]string
	if c.Config != nil {
		labels = maps.Clone(c.Config.Labels)
	}
	u := runtime.Unit{
		ID:       c.ID,
		Name:     strings.TrimPrefix(c.Name, "/"),
		AppID:    labels[runtime.LabelAppID],
		App:      labels[runtime.LabelApp],
		Proc:     labels[runtime.LabelProc],
		Index:    atoiOr(labels[runtime.LabelIndex], -1),
		Release:  atoiOr(labels[runtime.LabelRelease], 0),
		Revision: labels[runtime.LabelRevision],
	}
	st := c.State
	if st == nil {
		u.State, u.Message = runtime.UnitError, "the engine reports no state"
		return u
	}
	u.StartedAt = parseTime(st.StartedAt)
	u.FinishedAt = parseTime(st.FinishedAt)
	u.State, u.ExitCode, u.Message = unitState(*st)
	if u.State == runtime.UnitRunning && c.NetworkSettings != nil {
		u.Address = address(c.NetworkSettings.Ports)
	}
	return u
}

// unitState maps a container's state to a unit's state, exit code and
// message.
func unitState(st container.State) (runtime.UnitState, int, string) {
	switch st.Status {
	case container.StateCreated, container.StateRestarting:
		return runtime.UnitPending, 0, ""
	case container.StateRunning:
		return runtime.UnitRunning, 0, ""
	case container.StatePaused:
		return runtime.UnitError, 0, "paused"
	case container.StateRemoving:
		return runtime.UnitStopping, st.ExitCode, ""
	case container.StateExited, container.StateDead:
		return runtime.UnitExited, st.ExitCode, exitMessage(st)
	}
	return runtime.UnitError, st.ExitCode, fmt.Sprintf("unknown container state %q", st.Status)
}

func exitMessage(st container.State) string {
	var msg string
	switch code := st.ExitCode; {
	case st.OOMKilled:
		msg = "killed: out of memory"
	case st.Error != "":
		msg = "could not start: " + st.Error
	case code > 128 && code < 160:
		msg = fmt.Sprintf("killed by signal %d (exit code %d)", code-128, code)
	default:
		msg = fmt.Sprintf("exited with code %d", code)
	}
	if st.Status == container.StateDead {
		msg += " (container dead)"
	}
	return msg
}

// address is host:port of the one published tcp port.
func address(ports network.PortMap) string {
	keys := slices.SortedFunc(maps.Keys(ports), func(a, b network.Port) int { return int(a.Num()) - int(b.Num()) })
	for _, p := range keys {
		if p.Proto() != network.TCP {
			continue
		}
		for _, b := range ports[p] {
			if b.HostPort == "" {
				continue
			}
			host := "127.0.0.1"
			if b.HostIP.IsValid() && !b.HostIP.IsUnspecified() {
				host = b.HostIP.String()
			}
			return net.JoinHostPort(host, b.HostPort)
		}
	}
	return ""
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t
}

func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}
