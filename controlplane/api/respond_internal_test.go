package api

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/berthdev/terraform-provider-berth/controlplane/domain"
)

// A value of the wrong type is reported with the path of its field, in
// every position: a struct field, a nested one, an array element, a map
// value, the body itself.
func TestJSONTypeErrorsNameTheField(t *testing.T) {
	type proc struct {
		Name string `json:"name"`
		CPU  *int   `json:"cpu"`
	}
	type meta struct {
		Procs []proc `json:"procs"`
	}
	type body struct {
		AppName string            `json:"appname"`
		Meta    *meta             `json:"meta"`
		Env     map[string]string `json:"env"`
		Ready   bool              `json:"ready"`
		Checks  *struct {
			Contexts []string `json:"contexts"`
		} `json:"required_status_checks"`
		Release *struct {
			ID releaseID `json:"id"`
		} `json:"release"`
	}
	for _, c := range []struct {
		in   string
		into any
		want string
	}{
		{`{"N":1}`, &map[string]string{}, `field "N" must be a string, not a number`},
		{` {"A":"x", "N": {"deep": true}}`, &map[string]string{}, `field "N" must be a string, not an object`},
		{`{"appname":7}`, &body{}, `field "appname" must be a string, not a number`},
		{`{"meta":[]}`, &body{}, `field "meta" must be an object, not an array`},
		{`{"meta":{"procs":[{"name":"web"},{"name":"worker","cpu":"2"}]}}`, &body{}, `field "meta.procs[1].cpu" must be an integer, not a string`},
		{`{"meta":{"procs":[{"cpu":1.5}]}}`, &body{}, `field "meta.procs[0].cpu" must be an integer, not 1.5`},
		{`{"env":{"A":"1","B":false}}`, &body{}, `field "env.B" must be a string, not a boolean`},
		{`{"ready":"yes"}`, &body{}, `field "ready" must be a boolean, not a string`},
		{`{"required_status_checks":{"contexts":["ci/a",["x"]]}}`, &body{}, `field "required_status_checks.contexts[1]" must be a string, not an array`},
		{`{"release":{"id":true}}`, &body{}, `field "release.id" must be a release id (a string) or version (an integer), not a boolean`},
		{`[{"name":"A"},{"name":1}]`, &[]proc{}, `field "[1].name" must be a string, not a number`},
		{`[1]`, &body{}, `the body must be an object, not an array`},
		{`"x"`, &[]proc{}, `the body must be an array, not a string`},
		{"{\n  \"a\": [1, 2],\n  \"N\": 3\n}", &map[string]string{}, `field "a" must be a string, not an array`},
	} {
		req := httptest.NewRequest("POST", "/", bytes.NewBufferString(c.in))
		err := decodeJSON(req, c.into)
		var de *domain.Error
		if !errors.As(err, &de) || de.Kind != domain.KindInvalid || de.Message != "invalid JSON body: "+c.want {
			t.Errorf("%s: got %v, want %q", c.in, err, c.want)
		}
	}
}
