package provider

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/berthdev/terraform-provider-berth/client"
	"github.com/berthdev/terraform-provider-berth/internal/berthtest"
)

// protoV6ProviderFactories serves the provider in-process to the terraform
// CLI the tests run.
var protoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"berth": providerserver.NewProtocol6WithError(New("test")()),
}

// testPreCheck fails fast, and clearly, when the acceptance tests cannot
// run: they need the terraform CLI.
func testPreCheck(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC") == "1" && os.Getenv("TF_ACC_TERRAFORM_PATH") == "" {
		if _, err := exec.LookPath("terraform"); err != nil {
			t.Fatal("the terraform CLI is not on PATH: install Terraform 1.11 or set TF_ACC_TERRAFORM_PATH")
		}
	}
}

// accServer starts a real berthd for one acceptance test and returns it
// with a client acting as its admin.
func accServer(t *testing.T) (*berthtest.Server, *client.Client) {
	t.Helper()
	srv := berthtest.Start(t)
	c, err := client.New(srv.URL, client.WithToken(srv.AdminToken))
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// providerConfig is the provider block pointing at srv with token.
func providerConfig(srv *berthtest.Server, token string) string {
	return fmt.Sprintf(`
provider "berth" {
  endpoint = %q
  token    = %q
}
`, srv.URL, token)
}

func regexpMust(s string) *regexp.Regexp { return regexp.MustCompile(s) }
