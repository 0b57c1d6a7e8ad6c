package natssource

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestEvery(t *testing.T) {
	e := every{interval: time.Minute}
	now := time.Unix(1_700_000_000, 0)
	assert.True(t, e.allow(now), "the first")
	assert.False(t, e.allow(now.Add(59*time.Second)), "within the interval")
	assert.True(t, e.allow(now.Add(time.Minute)), "once the interval passed")
	assert.False(t, e.allow(now.Add(time.Minute+time.Second)))
}
