package kubernetes

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/berthdev/terraform-provider-berth/controlplane/runtime"
)

// Units reports the Pods of an app (every app of this installation when
// appID is empty) as units, sorted by app, proc and index. A proc's Pods
// are numbered by age (the oldest is index 0), since Pods have no index
// of their own.
func (d *Driver) Units(ctx context.Context, appID string) ([]runtime.Unit, error) {
	set := map[string]string{runtime.LabelInstallation: d.opts.Installation}
	if appID != "" {
		set[runtime.LabelAppID] = labelValue(appID)
	}
	var pods *corev1.PodList
	err := d.retry(ctx, "list pods", func() error {
		var err error
		pods, err = d.client.CoreV1().Pods(d.scope()).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(set).String()})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("kubernetes: listing pods: %w", err)
	}
	items := pods.Items
	slices.SortFunc(items, func(a, b corev1.Pod) int {
		return cmp.Or(
			cmp.Compare(a.Labels[runtime.LabelAppID], b.Labels[runtime.LabelAppID]),
			cmp.Compare(a.Labels[runtime.LabelProc], b.Labels[runtime.LabelProc]),
			a.CreationTimestamp.Compare(b.CreationTimestamp.Time),
			cmp.Compare(a.Name, b.Name),
		)
	})
	units := make([]runtime.Unit, 0, len(items))
	index := 0
	for i := range items {
		if i > 0 && (items[i].Labels[runtime.LabelAppID] != items[i-1].Labels[runtime.LabelAppID] ||
			items[i].Labels[runtime.LabelProc] != items[i-1].Labels[runtime.LabelProc]) {
			index = 0
		}
		u := unitOf(&items[i])
		u.Index = index
		index++
		units = append(units, u)
	}
	slices.SortStableFunc(units, func(a, b runtime.Unit) int {
		return cmp.Or(cmp.Compare(a.App, b.App), cmp.Compare(a.AppID, b.AppID), cmp.Compare(a.Proc, b.Proc), cmp.Compare(a.Index, b.Index))
	})
	return units, nil
}

// Reasons a container waits for that mean it cannot run as it is.
var unrunnable = map[string]bool{
	"ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true,
	"CreateContainerConfigError": true, "CreateContainerError": true, "RunContainerError": true,
}

// unitOf maps a Pod to a unit: its phase to the unit's state, its IP and
// the proc's container port to the address.
func unitOf(p *corev1.Pod) runtime.Unit {
	u := runtime.Unit{
		ID:       p.Namespace + "/" + p.Name,
		Name:     p.Name,
		AppID:    valueOf(p.Labels, p.Annotations, runtime.LabelAppID),
		App:      valueOf(p.Labels, p.Annotations, runtime.LabelApp),
		Proc:     valueOf(p.Labels, p.Annotations, runtime.LabelProc),
		Revision: p.Annotations[AnnotationRevision],
	}
	u.Release, _ = strconv.Atoi(p.Labels[runtime.LabelRelease])
	if p.Status.StartTime != nil {
		u.StartedAt = p.Status.StartTime.Time
	}
	var cs *corev1.ContainerStatus
	if len(p.Status.ContainerStatuses) > 0 {
		cs = &p.Status.ContainerStatuses[0]
	}
	switch p.Status.Phase {
	case corev1.PodPending:
		u.State = runtime.UnitPending
		if cs != nil && cs.State.Waiting != nil {
			u.Message = cs.State.Waiting.Reason
			if unrunnable[cs.State.Waiting.Reason] {
				u.State = runtime.UnitError
				u.Message += ": " + cs.State.Waiting.Message
			}
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				u.Message = c.Reason + ": " + c.Message
			}
		}
	case corev1.PodRunning:
		u.State = runtime.UnitRunning
		if cs != nil {
			switch {
			case cs.State.Running != nil:
				u.StartedAt = cs.State.Running.StartedAt.Time
			case cs.State.Waiting != nil:
				// Restarting (CrashLoopBackOff): it ran and exited.
				u.State = runtime.UnitExited
				u.Message = cs.State.Waiting.Reason
				if t := cs.LastTerminationState.Terminated; t != nil {
					u.ExitCode = int(t.ExitCode)
					u.FinishedAt = t.FinishedAt.Time
				}
			}
		}
		if port := containerPort(p); p.Status.PodIP != "" && port > 0 {
			u.Address = net.JoinHostPort(p.Status.PodIP, strconv.Itoa(port))
		}
	case corev1.PodSucceeded, corev1.PodFailed:
		u.State = runtime.UnitExited
		u.Message = p.Status.Reason
		if cs != nil && cs.State.Terminated != nil {
			u.ExitCode = int(cs.State.Terminated.ExitCode)
			u.FinishedAt = cs.State.Terminated.FinishedAt.Time
		}
	default:
		u.State = runtime.UnitError
		u.Message = "pod phase " + string(p.Status.Phase) + ": " + p.Status.Message
	}
	if p.DeletionTimestamp != nil {
		u.Message = "terminating"
	}
	return u
}

// containerPort is the port of the proc's container (0: none).
func containerPort(p *corev1.Pod) int {
	for _, c := range p.Spec.Containers {
		for _, port := range c.Ports {
			if port.Name == portName {
				return int(port.ContainerPort)
			}
		}
	}
	return 0
}

// Watch reports changes of this installation's Pods and Deployments until
// ctx ends, when it closes the channel. Events wake the reconciler up;
// when it falls behind, events are dropped (it reads the state afresh
// anyway). The informers behind it list and watch again on their own
// after a broken connection.
func (d *Driver) Watch(ctx context.Context) (<-chan runtime.Event, error) {
	sel := labels.SelectorFromSet(map[string]string{runtime.LabelInstallation: d.opts.Installation}).String()
	factory := informers.NewSharedInformerFactoryWithOptions(d.client, 10*time.Minute,
		informers.WithNamespace(d.scope()),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = sel }))
	events := make(chan runtime.Event, 256)
	send := func(kind string, obj any) {
		if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tomb.Obj
		}
		m, err := metaAccessor(obj)
		if err != nil {
			return
		}
		ev := runtime.Event{AppID: valueOf(m.GetLabels(), m.GetAnnotations(), runtime.LabelAppID), Kind: kind}
		if _, ok := obj.(*corev1.Pod); ok {
			ev.UnitID = m.GetNamespace() + "/" + m.GetName()
		}
		select {
		case events <- ev:
		default:
		}
	}
	handler := func(prefix string) cache.ResourceEventHandlerFuncs {
		return cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { send(prefix+"create", obj) },
			UpdateFunc: func(_, obj any) { send(prefix+"update", obj) },
			DeleteFunc: func(obj any) { send(prefix+"destroy", obj) },
		}
	}
	pods := factory.Core().V1().Pods().Informer()
	deps := factory.Apps().V1().Deployments().Informer()
	// Only the labels, annotations and status matter here: drop the rest
	// (managed fields) from the informers' caches.
	strip := func(obj any) (any, error) {
		if m, err := metaAccessor(obj); err == nil {
			m.SetManagedFields(nil)
		}
		return obj, nil
	}
	if err := pods.SetTransform(strip); err != nil {
		return nil, err
	}
	if err := deps.SetTransform(strip); err != nil {
		return nil, err
	}
	if _, err := pods.AddEventHandler(handler("")); err != nil {
		return nil, err
	}
	if _, err := deps.AddEventHandler(handler("deployment-")); err != nil {
		return nil, err
	}
	factory.Start(ctx.Done())
	go func() {
		<-ctx.Done()
		factory.Shutdown() // waits for the informers' goroutines: no send after close
		close(events)
	}()
	return events, nil
}

func metaAccessor(obj any) (metav1.Object, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("kubernetes: %T has no object meta", obj)
	}
	return m, nil
}
