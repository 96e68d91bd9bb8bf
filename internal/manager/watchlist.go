package manager

import (
	"os"

	clientfeatures "k8s.io/client-go/features"
)

// watchListGate answers client-go's WatchListClient gate with a choice of
// ours and leaves every other gate to client-go.
type watchListGate struct {
	base    clientfeatures.Gates
	enabled bool
}

func (g watchListGate) Enabled(f clientfeatures.Feature) bool {
	if f == clientfeatures.WatchListClient {
		return g.enabled
	}
	return g.base.Enabled(f)
}

// SetWatchListClient chooses how informers fill their caches: with one
// list (false) or with a stream of watch events (true, client-go's default
// since 1.35). Measured with `make bench`, a list fills a cache of 10,000
// objects in about half the time of the stream, which is what a restarted
// operator waits for; the stream spares the API server's memory on much
// larger lists. An explicit KUBE_FEATURE_WatchListClient variable wins.
func SetWatchListClient(enabled bool) {
	if _, set := os.LookupEnv("KUBE_FEATURE_" + string(clientfeatures.WatchListClient)); set {
		return
	}
	clientfeatures.ReplaceFeatureGates(watchListGate{base: clientfeatures.FeatureGates(), enabled: enabled})
}
