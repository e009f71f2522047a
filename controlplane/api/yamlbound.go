package api

import (
	"errors"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// maxDecodedYAML bounds what a YAML body may expand to once its aliases
// are resolved: no more than a body may carry without aliases. The YAML
// decoder has no such bound of its own, and a few kilobytes of aliases to
// one large scalar expand to gigabytes when the decoded value is written
// out (stored, answered).
const maxDecodedYAML = maxBodyBytes

var errAliasCycle = errors.New("an alias refers to a node that contains it")

// expandedSize is the number of scalar bytes (keys, values and tags) of
// the document n once every alias is replaced by what it names, counted
// without expanding anything: each node is sized once. It stops counting
// past limit and answers limit+1 then.
func expandedSize(n *yaml.Node, limit int) (int, error) {
	sizes := map[*yaml.Node]int{}
	const inProgress = -1
	var size func(n *yaml.Node) (int, error)
	size = func(n *yaml.Node) (int, error) {
		if n == nil {
			return 0, nil
		}
		switch s, seen := sizes[n]; {
		case seen && s == inProgress:
			return 0, errAliasCycle
		case seen:
			return s, nil
		}
		sizes[n] = inProgress
		total := len(n.Tag)
		switch n.Kind {
		case yaml.ScalarNode:
			total += len(n.Value)
		case yaml.AliasNode:
			s, err := size(n.Alias)
			if err != nil {
				return 0, err
			}
			total += s
		default:
			for _, c := range n.Content {
				s, err := size(c)
				if err != nil {
					return 0, err
				}
				if total += s; total > limit {
					total = limit + 1
					break
				}
			}
		}
		total = min(total, limit+1)
		sizes[n] = total
		return total, nil
	}
	return size(n)
}

// checkYAMLExpansion refuses a YAML document that expands past
// maxDecodedYAML.
func checkYAMLExpansion(body []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(body, &doc); err != nil {
		return err
	}
	size, err := expandedSize(&doc, maxDecodedYAML)
	if err != nil {
		return err
	}
	if size > maxDecodedYAML {
		return fmt.Errorf("its aliases expand it to more than %d MiB, the most a request body may carry", maxDecodedYAML>>20)
	}
	return nil
}
