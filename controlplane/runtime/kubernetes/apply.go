package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/berthdev/terraform-provider-berth/controlplane/runtime"
)

var applyOptions = metav1.ApplyOptions{FieldManager: FieldManager, Force: true}

// Apply makes the cluster run w: the proc's Secret, then its Deployment,
// then the Secret's owner reference to the Deployment. It returns once the
// API server holds them; the Deployment controller rolls the Pods (surge
// 1, unavailable 0) and Units tells how far it got. When the Deployment
// of this very revision made no progress within the progress deadline,
// Apply returns an error wrapping runtime.ErrRolloutFailed; the old Pods
// keep serving.
//
// Objects are found by labels, not remembered: copies of the proc left
// elsewhere (another namespace after a team change, another name after a
// rename) are removed once the new ones are applied, so one Deployment and
// one Secret run a proc.
func (d *Driver) Apply(ctx context.Context, w runtime.Workload) error {
	if w.AppID == "" || w.Proc == "" || w.App == "" {
		return errors.New("kubernetes: a workload needs an app id, an app name and a proc")
	}
	if w.Image == "" {
		return fmt.Errorf("kubernetes: %s/%s: no image", w.App, w.Proc)
	}
	ns := d.namespaceOf(w.Team)
	name := objectName(w.AppID, w.App, w.Proc)
	sel := labels.SelectorFromSet(d.selectorOf(w.AppID, w.Proc)).String()

	deps, secrets, err := d.list(ctx, sel)
	if err != nil {
		return err
	}
	var dep *appsv1.Deployment
	var staleDeps []*appsv1.Deployment
	for i := range deps {
		if deps[i].Namespace == ns && deps[i].Name == name {
			dep = &deps[i]
		} else {
			staleDeps = append(staleDeps, &deps[i])
		}
	}
	var secretExists bool
	var staleSecrets []*metav1.PartialObjectMetadata
	for i := range secrets {
		if secrets[i].Namespace == ns && secrets[i].Name == name {
			secretExists = true
		} else {
			staleSecrets = append(staleSecrets, &secrets[i])
		}
	}
	// Never take over what is not ours: an object of that name that the
	// selector did not find belongs to someone else.
	if dep == nil {
		if err := d.notTaken(ctx, "deployment", ns, name, func() (metav1.Object, error) {
			return d.client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		}); err != nil {
			return err
		}
	}
	if !secretExists {
		if err := d.notTaken(ctx, "secret", ns, name, func() (metav1.Object, error) {
			return d.metadata.Resource(corev1.SchemeGroupVersion.WithResource("secrets")).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		}); err != nil {
			return err
		}
	}

	var owner types.UID
	if dep != nil {
		owner = dep.UID
	}
	secret, err := d.applySecret(ctx, d.secretApply(w, ns, name, owner))
	if err != nil {
		return err
	}
	config := configDigest(secret.UID, secret.Data)
	var applied *appsv1.Deployment
	err = d.retry(ctx, "apply deployment", func() error {
		var err error
		applied, err = d.client.AppsV1().Deployments(ns).Apply(ctx, d.deploymentApply(w, ns, name, config), applyOptions)
		return err
	})
	if err != nil {
		return fmt.Errorf("kubernetes: applying deployment %s/%s: %w", ns, name, err)
	}
	if applied.UID != owner {
		// A new Deployment: its Secret gets the owner reference now, so
		// that deleting the Deployment deletes the Secret too.
		if _, err := d.applySecret(ctx, d.secretApply(w, ns, name, applied.UID)); err != nil {
			return err
		}
	}
	// Copies elsewhere go once the one that replaces them is in place (a
	// team change moves the proc without a gap).
	for _, stale := range staleDeps {
		if err := d.deleteDeployment(ctx, stale, "a stale copy of "+w.App+"/"+w.Proc); err != nil {
			return err
		}
	}
	for _, stale := range staleSecrets {
		if err := d.deleteSecret(ctx, stale, "a stale copy of "+w.App+"/"+w.Proc); err != nil {
			return err
		}
	}
	return rolloutFailed(applied, w.Revision())
}

// applySecret applies s, creating its namespace when missing.
func (d *Driver) applySecret(ctx context.Context, s *corev1ac.SecretApplyConfiguration) (*corev1.Secret, error) {
	ns, name := *s.Namespace, *s.Name
	var secret *corev1.Secret
	apply := func() error {
		var err error
		secret, err = d.client.CoreV1().Secrets(ns).Apply(ctx, s, applyOptions)
		return err
	}
	err := d.retry(ctx, "apply secret", apply)
	if isNamespaceNotFound(err) {
		if err = d.createNamespace(ctx, ns); err == nil {
			err = d.retry(ctx, "apply secret", apply)
		}
	}
	if err != nil {
		return nil, redacted(err, fmt.Sprintf("kubernetes: applying secret %s/%s", ns, name))
	}
	return secret, nil
}

// rolloutFailed reports a Deployment whose current revision is rev, that
// the controller has seen, and that ran out of its progress deadline.
func rolloutFailed(dep *appsv1.Deployment, rev string) error {
	if dep.Annotations[AnnotationRevision] != rev || dep.Status.ObservedGeneration < dep.Generation {
		return nil
	}
	for _, c := range dep.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded" {
			return fmt.Errorf("%w: deployment %s/%s: %s", runtime.ErrRolloutFailed, dep.Namespace, dep.Name, c.Message)
		}
	}
	return nil
}

func isNamespaceNotFound(err error) bool {
	var status apierrors.APIStatus
	if !apierrors.IsNotFound(err) || !errors.As(err, &status) {
		return false
	}
	details := status.Status().Details
	return details != nil && details.Kind == "namespaces"
}

// createNamespace creates ns, labelled as berth's; one that exists
// already (another call was first) is fine.
func (d *Driver) createNamespace(ctx context.Context, ns string) error {
	obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{
		labelManagedBy:            "berth",
		runtime.LabelInstallation: d.opts.Installation,
	}}}
	err := d.retry(ctx, "create namespace", func() error {
		_, err := d.client.CoreV1().Namespaces().Create(ctx, obj, metav1.CreateOptions{FieldManager: FieldManager})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("kubernetes: creating namespace %s: %w", ns, err)
	}
	d.log.LogAttrs(ctx, slog.LevelInfo, "kubernetes: created namespace", slog.String("namespace", ns))
	return nil
}

// notTaken fails when an object called name exists in ns (get fetches
// it): the caller's selector did not find it, so it is not this proc's.
func (d *Driver) notTaken(ctx context.Context, kind, ns, name string, get func() (metav1.Object, error)) error {
	var obj metav1.Object
	err := d.retry(ctx, "get "+kind, func() error {
		var err error
		obj, err = get()
		return err
	})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("kubernetes: reading %s %s/%s: %w", kind, ns, name, redacted(err, kind))
	}
	return fmt.Errorf("kubernetes: %s %s/%s exists and is not this proc's (installation %q, app id %q): berth leaves it alone",
		kind, ns, name, obj.GetLabels()[runtime.LabelInstallation], valueOf(obj.GetLabels(), obj.GetAnnotations(), runtime.LabelAppID))
}

// list finds this installation's Deployments and Secrets that sel selects.
func (d *Driver) list(ctx context.Context, sel string) ([]appsv1.Deployment, []metav1.PartialObjectMetadata, error) {
	var deps *appsv1.DeploymentList
	err := d.retry(ctx, "list deployments", func() error {
		var err error
		deps, err = d.client.AppsV1().Deployments(d.scope()).List(ctx, metav1.ListOptions{LabelSelector: sel})
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("kubernetes: listing deployments: %w", err)
	}
	// Only the Secrets' metadata: berth never reads a value back.
	var secrets *metav1.PartialObjectMetadataList
	err = d.retry(ctx, "list secrets", func() error {
		var err error
		secrets, err = d.metadata.Resource(corev1.SchemeGroupVersion.WithResource("secrets")).Namespace(d.scope()).List(ctx, metav1.ListOptions{LabelSelector: sel})
		return err
	})
	if err != nil {
		return nil, nil, redacted(err, "kubernetes: listing secrets")
	}
	return deps.Items, secrets.Items, nil
}

// Remove deletes the Deployments and Secrets of a proc of an app (every
// proc when proc is empty). The Deployments go with background
// propagation: the garbage collector deletes their ReplicaSets and Pods
// (and the Secrets they own, which Remove deletes itself as well, in case
// a crash left one without its owner). Removing what does not exist is no
// error.
func (d *Driver) Remove(ctx context.Context, appID, proc string) error {
	if appID == "" {
		return errors.New("kubernetes: remove needs an app id")
	}
	set := map[string]string{runtime.LabelInstallation: d.opts.Installation, runtime.LabelAppID: labelValue(appID)}
	if proc != "" {
		set[runtime.LabelProc] = labelValue(proc)
	}
	deps, secrets, err := d.list(ctx, labels.SelectorFromSet(set).String())
	if err != nil {
		return err
	}
	for i := range deps {
		if err := d.deleteDeployment(ctx, &deps[i], "removed"); err != nil {
			return err
		}
	}
	for i := range secrets {
		if err := d.deleteSecret(ctx, &secrets[i], "removed"); err != nil {
			return err
		}
	}
	return nil
}

// deleteOptions delete exactly the object that was listed (a new one by
// the same name survives) and let the garbage collector delete its
// dependents in the background.
func deleteOptions(uid types.UID) metav1.DeleteOptions {
	background := metav1.DeletePropagationBackground
	return metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}, PropagationPolicy: &background}
}

// gone tells errors of a delete that mean the object is gone already (or
// was replaced by another of the same name, which a later pass judges).
func gone(err error) bool {
	return err == nil || apierrors.IsNotFound(err) || apierrors.IsConflict(err)
}

func (d *Driver) deleteDeployment(ctx context.Context, dep *appsv1.Deployment, why string) error {
	err := d.retry(ctx, "delete deployment", func() error {
		err := d.client.AppsV1().Deployments(dep.Namespace).Delete(ctx, dep.Name, deleteOptions(dep.UID))
		if gone(err) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("kubernetes: deleting deployment %s/%s: %w", dep.Namespace, dep.Name, err)
	}
	d.log.LogAttrs(ctx, slog.LevelInfo, "kubernetes: deleted deployment", slog.String("namespace", dep.Namespace), slog.String("name", dep.Name), slog.String("why", why))
	return nil
}

func (d *Driver) deleteSecret(ctx context.Context, s *metav1.PartialObjectMetadata, why string) error {
	err := d.retry(ctx, "delete secret", func() error {
		err := d.client.CoreV1().Secrets(s.Namespace).Delete(ctx, s.Name, deleteOptions(s.UID))
		if gone(err) {
			return nil
		}
		return err
	})
	if err != nil {
		return redacted(err, fmt.Sprintf("kubernetes: deleting secret %s/%s", s.Namespace, s.Name))
	}
	d.log.LogAttrs(ctx, slog.LevelInfo, "kubernetes: deleted secret", slog.String("namespace", s.Namespace), slog.String("name", s.Name), slog.String("why", why))
	return nil
}

// AppIDs lists the apps this installation has Deployments or Secrets of.
func (d *Driver) AppIDs(ctx context.Context) ([]string, error) {
	sel := labels.SelectorFromSet(map[string]string{runtime.LabelInstallation: d.opts.Installation}).String()
	deps, secrets, err := d.list(ctx, sel)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, dep := range deps {
		ids = append(ids, valueOf(dep.Labels, dep.Annotations, runtime.LabelAppID))
	}
	for _, s := range secrets {
		ids = append(ids, valueOf(s.Labels, s.Annotations, runtime.LabelAppID))
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) > 0 && ids[0] == "" {
		ids = ids[1:]
	}
	return ids, nil
}
