//go:build !unix

package kubetest

import "errors"

func lockFile(string) (func(), error) {
	return nil, errors.New("file locks are not supported on this platform")
}
