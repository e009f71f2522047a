package provider

import (
	"errors"
	"slices"

	"github.com/berthdev/terraform-provider-berth/client"
)

var errNoStackKey = errors.New("no stack project key: set api_key, or stack_api_key on the provider (or the BERTH_STACK_API_KEY environment variable)")

// stackClient returns a client that authenticates stack routes with key,
// or with the provider's stack_api_key when key is empty.
func (d *providerData) stackClient(key string) (*client.Client, error) {
	if key == "" {
		if d.stackAPIKey == "" {
			return nil, errNoStackKey
		}
		return d.client, nil
	}
	return client.New(d.endpoint, append(slices.Clone(d.opts), client.WithProjectKey(key))...)
}
