// Command kube-controller-manager is Kubernetes' controller manager, built
// from the module proxy for berth's tests (internal/kubetest): it turns
// Deployments into ReplicaSets and Pods and collects garbage (owner
// references). It is upstream's cmd/kube-controller-manager main.
package main

import (
	"os"
	_ "time/tzdata" // for CronJob time zone support

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	os.Exit(cli.Run(app.NewControllerManagerCommand()))
}
