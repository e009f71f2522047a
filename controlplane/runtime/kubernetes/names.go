package kubernetes

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// maxObjectName bounds the names of the Deployment and Secret of a proc.
// The ReplicaSet adds "-" and a hash of up to 10 characters, a Pod five
// more after another "-": 46 keeps Pod names within 63 characters, so they
// are valid host names too.
const maxObjectName = 46

// objectName is the name of the Deployment and of the Secret that run a
// proc: the app and proc names made DNS-1123 safe, and a hash of the app's
// id and the proc. The hash makes it unique: "a-b"+"c" and "a"+"b-c", or an
// app deleted and created again under the same name, never share one.
func objectName(appID, app, proc string) string {
	suffix := "-" + shortHash(appID+"\x00"+proc)
	base := truncate(dnsLabel(app+"-"+proc), maxObjectName-len(suffix))
	if base == "" {
		base = "berth"
	}
	return base + suffix
}

// namespaceName is the namespace of team in the namespace-per-team mode:
// prefix+team when that is a valid namespace name, else the team name made
// safe, bounded, and suffixed with a hash of the team's real name (Team_A
// and team-a must not share a namespace).
func namespaceName(prefix, team string) string {
	name := prefix + team
	if len(validation.IsDNS1123Label(name)) == 0 {
		return name
	}
	suffix := "-" + shortHash(team)
	base := truncate(dnsLabel(prefix+team), validation.DNS1123LabelMaxLength-len(suffix))
	if base == "" {
		base = "berth"
	}
	return base + suffix
}

// dnsLabel lowercases s and turns every run of characters a DNS-1123 label
// cannot hold into one '-', trimming '-' at both ends.
func dnsLabel(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
			continue
		}
		if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.Trim(b.String(), "-")
}

// truncate cuts s to n bytes (s is ASCII) and trims a trailing '-'.
func truncate(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.TrimRight(s, "-")
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

// labelValue is v when it is a valid label value (at most 63 characters of
// [A-Za-z0-9_.-], alphanumeric at both ends), else "h-" and a hash of v.
// Selecting by it works either way; the exact value then also goes into an
// annotation under the same key (see meta), where a reader finds it.
func labelValue(v string) string {
	if len(validation.IsValidLabelValue(v)) == 0 {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	return "h-" + hex.EncodeToString(sum[:12])
}

// meta is labels and annotations under construction: set puts the label,
// and when the label cannot hold v exactly, v itself as an annotation.
type meta struct {
	labels, annotations map[string]string
}

func newMeta() meta { return meta{labels: map[string]string{}, annotations: map[string]string{}} }

func (m meta) set(key, v string) {
	lv := labelValue(v)
	m.labels[key] = lv
	if lv != v {
		m.annotations[key] = v
	}
}

// valueOf reads back what set stored under key.
func valueOf(labels, annotations map[string]string, key string) string {
	if v, ok := annotations[key]; ok {
		return v
	}
	return labels[key]
}
