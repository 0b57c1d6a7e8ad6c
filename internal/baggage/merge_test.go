package baggage

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMerge(t *testing.T) {
	m1 := []Member{{Key: "tenant", Value: "a"}, {Key: "user", Value: "1"}}
	m2 := []Member{{Key: "user", Value: "2"}, {Key: "region", Value: "eu"}}
	m3 := []Member{{Key: "tenant", Value: "c"}}

	assert.Equal(t,
		[]Member{{Key: "tenant", Value: "c"}, {Key: "user", Value: "2"}, {Key: "region", Value: "eu"}},
		Merge(LastWins, m1, m2, m3), "last wins, keys keep their first position")
	assert.Equal(t,
		[]Member{{Key: "tenant", Value: "a"}, {Key: "user", Value: "1"}, {Key: "region", Value: "eu"}},
		Merge(FirstWins, m1, m2, m3))
	assert.Empty(t, Merge(LastWins))
	assert.Equal(t, []Member{{Key: "k", Value: "2"}}, Merge(LastWins, []Member{{Key: "k", Value: "1"}, {Key: "k", Value: "2"}}),
		"duplicates inside one list follow the same rule")
}
