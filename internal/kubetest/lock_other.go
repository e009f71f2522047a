//go:build !unix

package kubetest

func lockFile(string) (func(), error) { return nil, errNoLock }
