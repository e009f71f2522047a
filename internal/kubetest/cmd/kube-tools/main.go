// Command kube-tools builds the control plane the Kubernetes tests run
// (internal/kubetest) into its cache, outside any test timeout, and prints
// where it is and how long the build took. `make kube-tools` runs it, and
// `make test` first of all.
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/berthdev/terraform-provider-berth/internal/kubetest"
)

func main() {
	bins, err := kubetest.Build()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if bins.Built {
		fmt.Printf("kube-tools: built etcd %s, kube-apiserver and kube-controller-manager %s in %s: %s\n",
			kubetest.EtcdVersion, kubetest.KubeVersion, bins.BuildTime.Round(time.Second), bins.Dir)
		return
	}
	fmt.Printf("kube-tools: already built: %s\n", bins.Dir)
}
