package kafkasource

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Topics and partitions that appear after the tap joined are read from
// their first record, with the defaults (initial_offset: latest and the
// default topic_refresh_interval): initial_offset governs only what existed
// when the tap first started. Five records of each new partition are
// produced before the tap can have noticed it, five after it joined it.
func TestNewTopicsAndPartitionsReadFromOldest(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "existing"))
	addrs := c.ListenAddrs()
	admin := newAdmin(t, addrs)
	// Before the tap starts: initial_offset latest skips it.
	produce(t, addrs, nil, &kgo.Record{Topic: "existing", Partition: 0, Value: []byte("history")})

	cfg := NewDefaultConfig()
	cfg.Brokers = addrs
	cfg.Topics = []string{"existing", "late", `^re\.`}
	r := startSource(t, cfg)
	waitTapping(t, r, addrs, "existing")

	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	_, err := admin.CreateTopic(ctx, 1, 1, nil, "late")
	require.NoError(t, err)
	_, err = admin.CreateTopic(ctx, 1, 1, nil, "re.one")
	require.NoError(t, err)
	_, err = admin.UpdatePartitions(ctx, 2, "existing")
	require.NoError(t, err)
	fresh := []struct {
		topic     string
		partition int32
	}{{"late", 0}, {"re.one", 0}, {"existing", 1}}
	produceN := func(from, to int) {
		var recs []*kgo.Record
		for _, f := range fresh {
			for i := from; i < to; i++ {
				recs = append(recs, &kgo.Record{Topic: f.topic, Partition: f.partition, Value: []byte(strconv.Itoa(i))})
			}
		}
		produce(t, addrs, nil, recs...)
	}
	produceN(0, 5)
	for _, f := range fresh {
		require.False(t, assigned(t, admin, f.topic, f.partition),
			"%s/%d was joined before its first records were written: the test proves nothing", f.topic, f.partition)
	}
	// Once the tap owns every new partition, the next five go in.
	require.Eventually(t, func() bool {
		for _, f := range fresh {
			if !assigned(t, admin, f.topic, f.partition) {
				return false
			}
		}
		return true
	}, waitFor, 50*time.Millisecond, "the tap never joined the new topics and partitions")
	produceN(5, 10)

	want := map[string]bool{}
	for _, f := range fresh {
		for off := 0; off < 10; off++ {
			want[testClusterID+"/"+f.topic+"/"+strconv.Itoa(int(f.partition))+"/"+strconv.Itoa(off)] = true
		}
	}
	seen := func() map[string]bool {
		got := map[string]bool{}
		for _, m := range r.sink.messages() {
			if want[m.Identity] {
				got[m.Identity] = true
			}
		}
		return got
	}
	assert.Eventually(t, func() bool { return len(seen()) == len(want) }, waitFor, 50*time.Millisecond)
	for id := range want {
		assert.True(t, seen()[id], "never traced: %s", id)
	}
	for _, m := range r.sink.messages() {
		assert.NotEqual(t, testClusterID+"/existing/0/0", m.Identity, "initial_offset latest still governs what existed at start")
	}
}

func newAdmin(t *testing.T, addrs []string) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// assigned reports whether the tap's group has topic/partition assigned.
func assigned(t *testing.T, admin *kadm.Client, topic string, partition int32) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	groups, err := admin.DescribeGroups(ctx, DefaultGroupID)
	require.NoError(t, err)
	g, ok := groups[DefaultGroupID]
	if !ok {
		return false
	}
	_, ok = g.AssignedPartitions()[topic][partition]
	return ok
}

// waitTapping produces probe records to topic until the tap delivers one.
func waitTapping(t *testing.T, r *running, addrs []string, topic string) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for time.Now().Before(deadline) {
		produce(t, addrs, nil, &kgo.Record{Topic: topic, Partition: 0, Value: []byte("probe")})
		for range 10 {
			for _, m := range r.sink.messages() {
				if m.Destination == topic {
					return
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Fatalf("the tap never read %s", topic)
}
