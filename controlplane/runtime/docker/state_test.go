package docker

import (
	"net/netip"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"github.com/berthdev/terraform-provider-berth/controlplane/runtime"
)

func TestUnitState(t *testing.T) {
	for _, c := range []struct {
		st    container.State
		state runtime.UnitState
		code  int
		msg   string
	}{
		{container.State{Status: container.StateCreated}, runtime.UnitPending, 0, ""},
		{container.State{Status: container.StateRunning, Running: true}, runtime.UnitRunning, 0, ""},
		{container.State{Status: container.StateExited, ExitCode: 1}, runtime.UnitExited, 1, "exited with code 1"},
		{container.State{Status: container.StateExited, ExitCode: 0}, runtime.UnitExited, 0, "exited with code 0"},
		{container.State{Status: container.StateExited, ExitCode: 137, OOMKilled: true}, runtime.UnitExited, 137, "killed: out of memory"},
		{container.State{Status: container.StateExited, ExitCode: 137}, runtime.UnitExited, 137, "killed by signal 9 (exit code 137)"},
		{container.State{Status: container.StateExited, ExitCode: 127, Error: "exec: \"/nope\": not found"}, runtime.UnitExited, 127, "could not start: exec: \"/nope\": not found"},
		{container.State{Status: container.StateDead, ExitCode: 2}, runtime.UnitExited, 2, "exited with code 2 (container dead)"},
		{container.State{Status: container.StatePaused}, runtime.UnitError, 0, "paused"},
		{container.State{Status: container.StateRemoving}, runtime.UnitStopping, 0, ""},
	} {
		state, code, msg := unitState(c.st)
		if state != c.state || code != c.code || msg != c.msg {
			t.Errorf("%+v: got %s %d %q, want %s %d %q", c.st, state, code, msg, c.state, c.code, c.msg)
		}
	}
}

func TestAddress(t *testing.T) {
	p := network.MustParsePort("8080/tcp")
	exposedOnly := network.MustParsePort("9090/tcp")
	ports := network.PortMap{
		exposedOnly: nil,
		p:           {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "49153"}},
	}
	if got := address(ports); got != "127.0.0.1:49153" {
		t.Fatalf("address = %q", got)
	}
	if got := address(network.PortMap{p: {{HostPort: "5"}}}); got != "127.0.0.1:5" {
		t.Fatalf("address without host ip = %q", got)
	}
	if got := address(nil); got != "" {
		t.Fatalf("address of nothing = %q", got)
	}
}

func TestUnitFromContainerLabels(t *testing.T) {
	u := unitFromContainer(container.InspectResponse{
		ID: "abc", Name: "/berth-x-web-2-12345678",
		Config: &container.Config{Labels: map[string]string{
			runtime.LabelAppID: "a1", runtime.LabelApp: "x", runtime.LabelProc: "web",
			runtime.LabelIndex: "2", runtime.LabelRelease: "7", runtime.LabelRevision: "r",
		}},
		State: &container.State{Status: container.StateExited, ExitCode: 3, StartedAt: "2026-01-02T03:04:05.5Z", FinishedAt: "0001-01-01T00:00:00Z"},
	})
	if u.Name != "berth-x-web-2-12345678" || u.AppID != "a1" || u.Index != 2 || u.Release != 7 || u.Revision != "r" ||
		u.State != runtime.UnitExited || u.ExitCode != 3 || u.StartedAt.IsZero() || !u.FinishedAt.IsZero() {
		t.Fatalf("unit = %+v", u)
	}
	if u := unitFromContainer(container.InspectResponse{Config: &container.Config{Labels: map[string]string{runtime.LabelIndex: "x"}}}); u.Index != -1 || u.State != runtime.UnitError {
		t.Fatalf("unparseable = %+v", u)
	}
}

func TestTailBuffer(t *testing.T) {
	b := tailBuffer{max: 5}
	b.Write([]byte("abc"))
	b.Write([]byte("defg"))
	if string(b.b) != "cdefg" {
		t.Fatalf("tail = %q", b.b)
	}
}
