package consumers

import "sort"

// timeInQueueBounds are the bucket bounds, in seconds, of the time-in-queue
// histogram: from a consumer keeping up (milliseconds) to one hours behind.
var timeInQueueBounds = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}

// histogram is a cumulative explicit-bucket histogram.
type histogram struct {
	counts   [19]uint64 // len(timeInQueueBounds)+1
	count    uint64
	sum      float64
	min, max float64
}

func (h *histogram) record(v float64) { h.recordN(v, 1) }

func (h *histogram) recordN(v float64, n uint64) {
	if n == 0 {
		return
	}
	if h.count == 0 || v < h.min {
		h.min = v
	}
	if h.count == 0 || v > h.max {
		h.max = v
	}
	h.counts[sort.SearchFloat64s(timeInQueueBounds, v)] += n
	h.count += n
	h.sum += v * float64(n)
}
