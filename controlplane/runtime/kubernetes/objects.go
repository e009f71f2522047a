package kubernetes

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	"github.com/berthdev/terraform-provider-berth/controlplane/runtime"
)

// Annotations berth sets besides the labels (runtime.Label*).
const (
	// AnnotationRevision is the workload's runtime.Revision, on the
	// Deployment and its pod template (so every Pod tells which revision it
	// runs).
	AnnotationRevision = runtime.LabelRevision
	// AnnotationConfig is a digest of the Secret's data, keyed with the
	// Secret's uid, on the pod template: a config change changes the
	// template and so rolls the Deployment, and the digest tells nothing
	// about the values to whoever reads the Deployment.
	AnnotationConfig = "dev.berth.config"
	// AnnotationRestartedAt is the annotation `kubectl rollout restart`
	// sets on the pod template; berth sets it from Workload.Restart.
	AnnotationRestartedAt = "kubectl.kubernetes.io/restartedAt"
	// labelManagedBy marks every object berth made, for people and tools.
	labelManagedBy = "app.kubernetes.io/managed-by"
)

// portName names the container port a proc listens on.
const portName = "http"

// selectorOf selects the Pods of one proc of one app of this installation.
// A Deployment's selector cannot change, so it holds only what never
// changes for a proc (not its release nor its app's name).
func (d *Driver) selectorOf(appID, proc string) map[string]string {
	return map[string]string{
		runtime.LabelInstallation: d.opts.Installation,
		runtime.LabelAppID:        labelValue(appID),
		runtime.LabelProc:         labelValue(proc),
	}
}

// metaOf is the labels (and exact-value annotations) of every object of w.
func (d *Driver) metaOf(w runtime.Workload) meta {
	m := newMeta()
	m.labels[labelManagedBy] = "berth"
	m.labels[runtime.LabelInstallation] = d.opts.Installation
	m.set(runtime.LabelAppID, w.AppID)
	m.set(runtime.LabelApp, w.App)
	m.set(runtime.LabelProc, w.Proc)
	m.labels[runtime.LabelRelease] = strconv.Itoa(w.Release)
	return m
}

// secretData is what the Secret of w holds: its environment but PORT,
// which the Deployment sets itself.
func secretData(w runtime.Workload) map[string][]byte {
	data := map[string][]byte{}
	for _, e := range w.Env {
		if e.Name == "PORT" {
			continue
		}
		data[e.Name] = []byte(e.Value)
	}
	return data
}

// configDigest digests a Secret's data with its uid as the key: it changes
// when the data does, and cannot be checked against guessed values by
// someone who sees only the Deployment.
func configDigest(uid types.UID, data map[string][]byte) string {
	mac := hmac.New(sha256.New, []byte(uid))
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		mac.Write([]byte(strconv.Itoa(len(k)) + ":" + k + ";" + strconv.Itoa(len(data[k])) + ":"))
		mac.Write(data[k])
	}
	return hex.EncodeToString(mac.Sum(nil))[:32]
}

// secretApply is the Secret of w, owned by the Deployment owner when its
// uid is known.
func (d *Driver) secretApply(w runtime.Workload, ns, name string, owner types.UID) *corev1ac.SecretApplyConfiguration {
	m := d.metaOf(w)
	s := corev1ac.Secret(name, ns).
		WithLabels(m.labels).
		WithType(corev1.SecretTypeOpaque).
		WithData(secretData(w))
	if len(m.annotations) > 0 {
		s.WithAnnotations(m.annotations)
	}
	if owner != "" {
		s.WithOwnerReferences(metav1ac.OwnerReference().
			WithAPIVersion("apps/v1").WithKind("Deployment").
			WithName(name).WithUID(owner).WithController(true))
	}
	return s
}

// deploymentApply is the Deployment of w, reading its environment from
// the Secret called name whose data digests to config.
func (d *Driver) deploymentApply(w runtime.Workload, ns, name, config string) *appsv1ac.DeploymentApplyConfiguration {
	m := d.metaOf(w)
	rev := w.Revision()
	annotations := map[string]string{AnnotationRevision: rev}
	templateAnnotations := map[string]string{AnnotationRevision: rev, AnnotationConfig: config}
	for k, v := range m.annotations {
		annotations[k] = v
		templateAnnotations[k] = v
	}
	if w.Restart != 0 {
		templateAnnotations[AnnotationRestartedAt] = time.Unix(0, w.Restart).UTC().Format(time.RFC3339Nano)
	}

	container := corev1ac.Container().
		WithName(containerName(w.Proc)).
		WithImage(w.Image).
		WithEnvFrom(corev1ac.EnvFromSource().WithSecretRef(corev1ac.SecretEnvSource().WithName(name)))
	if len(w.Command) > 0 {
		container.WithCommand(w.Command...)
	}
	if w.Port > 0 {
		// PORT is set here, not in the Secret: it is no secret, and the
		// container port must agree with it. An explicit env entry wins
		// over envFrom.
		container.WithEnv(corev1ac.EnvVar().WithName("PORT").WithValue(strconv.Itoa(w.Port))).
			WithPorts(corev1ac.ContainerPort().WithName(portName).WithContainerPort(int32(w.Port)).WithProtocol(corev1.ProtocolTCP)).
			// Ready once it accepts connections: with maxUnavailable 0 an
			// old Pod goes only when a new one answers.
			WithReadinessProbe(corev1ac.Probe().
				WithTCPSocket(corev1ac.TCPSocketAction().WithPort(intstr.FromString(portName))).
				WithPeriodSeconds(2).WithFailureThreshold(3))
	}
	if res := resources(w); len(res) > 0 {
		// Requests equal limits: the proc gets what it was given, and the
		// Pod is in the Guaranteed class when both are set.
		container.WithResources(corev1ac.ResourceRequirements().WithRequests(res).WithLimits(res))
	}

	return appsv1ac.Deployment(name, ns).
		WithLabels(m.labels).
		WithAnnotations(annotations).
		WithSpec(appsv1ac.DeploymentSpec().
			WithReplicas(int32(max(w.Instances, 0))).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(d.selectorOf(w.AppID, w.Proc))).
			WithStrategy(appsv1ac.DeploymentStrategy().
				WithType(appsv1.RollingUpdateDeploymentStrategyType).
				WithRollingUpdate(appsv1ac.RollingUpdateDeployment().
					WithMaxSurge(intstr.FromInt32(1)).
					WithMaxUnavailable(intstr.FromInt32(0)))).
			WithProgressDeadlineSeconds(int32(d.opts.ProgressDeadline / time.Second)).
			WithRevisionHistoryLimit(3).
			WithTemplate(corev1ac.PodTemplateSpec().
				WithLabels(m.labels).
				WithAnnotations(templateAnnotations).
				WithSpec(corev1ac.PodSpec().
					WithContainers(container).
					// berth's apps do not call the Kubernetes API.
					WithAutomountServiceAccountToken(false).
					WithEnableServiceLinks(false))))
}

// resources are a proc's CPU cores and memory bytes (none when zero).
func resources(w runtime.Workload) corev1.ResourceList {
	res := corev1.ResourceList{}
	if w.CPU > 0 {
		res[corev1.ResourceCPU] = *resource.NewQuantity(int64(w.CPU), resource.DecimalSI)
	}
	if w.Memory > 0 {
		res[corev1.ResourceMemory] = *resource.NewQuantity(w.Memory, resource.BinarySI)
	}
	return res
}

// containerName is the proc's name when it is a valid container name.
func containerName(proc string) string {
	if len(validation.IsDNS1123Label(proc)) == 0 {
		return proc
	}
	if s := truncate(dnsLabel(proc), validation.DNS1123LabelMaxLength); s != "" {
		return s
	}
	return "app"
}
