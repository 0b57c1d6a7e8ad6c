package sourcetest

import (
	"crypto/rand"
	"strings"
)

// Unique returns prefix with a random suffix, so that reruns and packages
// testing in parallel never share a broker object.
func Unique(prefix string) string { return prefix + "-" + strings.ToLower(rand.Text()[:10]) }
