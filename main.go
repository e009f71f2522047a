// Command terraform-provider-berth is the berth Terraform provider.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"strings"

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
	// A provider started for a debugger prints its logs itself.
	if !debug {
		for name, level := range sdkLogLevels(os.Environ()) {
			if err := os.Setenv(name, level); err != nil {
				log.Fatal(err.Error())
			}
		}
	}
	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/berthdev/berth",
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err.Error())
	}
}

// sdkLogLevels turns the plugin SDK's own logs off when the environment
// asks for no logs. Unless told a level, the SDK logs every gRPC call and
// framework step at TRACE to Terraform, which drops them when TF_LOG is
// unset: producing them took about 40% of the CPU of a terraform apply of
// 100 berth_app (bench/RESULTS.md). Any TF_LOG variable that reaches the
// provider (TF_LOG, TF_LOG_PROVIDER..., TF_LOG_SDK...) with a level other
// than off leaves the levels alone; TF_LOG_CORE and TF_LOG_PATH concern
// Terraform itself.
func sdkLogLevels(environ []string) map[string]string {
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		asks := value != "" && !strings.EqualFold(value, "off")
		if asks && strings.HasPrefix(name, "TF_LOG") && name != "TF_LOG_CORE" && name != "TF_LOG_PATH" {
			return nil
		}
	}
	return map[string]string{"TF_LOG_SDK": "off", "TF_LOG_SDK_PROTO": "off", "TF_LOG_SDK_FRAMEWORK": "off"}
}
