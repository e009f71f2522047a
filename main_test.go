package main

import "testing"

func TestSDKLogLevels(t *testing.T) {
	off := map[string]string{"TF_LOG_SDK": "off", "TF_LOG_SDK_PROTO": "off", "TF_LOG_SDK_FRAMEWORK": "off"}
	for _, c := range []struct {
		environ []string
		want    map[string]string
	}{
		{[]string{"HOME=/root", "PATH=/bin"}, off},
		{[]string{"TF_LOG="}, off},
		{[]string{"TF_LOG=off", "TF_LOG_PROVIDER=OFF"}, off},
		{[]string{"TF_LOG_CORE=trace", "TF_LOG_PATH=/tmp/tf.log"}, off},
		{[]string{"TF_LOG=debug"}, nil},
		{[]string{"TF_LOG_PROVIDER=trace"}, nil},
		{[]string{"TF_LOG_PROVIDER_BERTH=info"}, nil},
		{[]string{"TF_LOG_SDK_FRAMEWORK=trace"}, nil},
	} {
		got := sdkLogLevels(c.environ)
		if len(got) != len(c.want) {
			t.Errorf("sdkLogLevels(%q) = %v, want %v", c.environ, got, c.want)
			continue
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("sdkLogLevels(%q)[%s] = %q, want %q", c.environ, k, got[k], v)
			}
		}
	}
}
