// Command terraform-provider-berth is the berth Terraform provider.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/berthdev/terraform-provider-berth/provider"
)

// version is set by goreleaser's ldflags.
var version = "dev"

//go:generate go run github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs@v0.25.0 generate -provider-name berth

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()
	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/berthdev/berth",
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err.Error())
	}
}
