package client_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/berthdev/terraform-provider-berth/client"
)

// Example is the README's Go client snippet: list the apps the token's user
// may see, and tell a missing app from another error.
func Example() {
	c, err := client.New(os.Getenv("BERTH_ENDPOINT"), client.WithToken(os.Getenv("BERTH_TOKEN")))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	apps, _, err := c.Apps.List(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range apps {
		fmt.Println(a.Name, a.State, a.TeamOwner)
	}
	if _, _, err := c.Apps.Get(ctx, "nosuch"); client.IsNotFound(err) {
		fmt.Println("no app called nosuch")
	}
}
