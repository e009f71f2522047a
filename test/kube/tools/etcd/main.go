// Command etcd is etcd's server, built from the module proxy for berth's
// tests (internal/kubetest); it is etcd's own main.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
