package main

import (
	"math"
	"math/bits"
	"time"
)

// hist is a log-linear latency histogram: 64 sub-buckets per power of two
// of nanoseconds, so any quantile is within 1.6 % of the true value. It is
// fixed-size and allocation-free to record into, so each receiver keeps its
// own and they are merged at the end.
type hist struct {
	counts [64 * 64]uint64
	n      uint64
	max    time.Duration
}

const subBits = 6

func bucket(ns uint64) int {
	if ns < 1<<subBits {
		return int(ns)
	}
	exp := bits.Len64(ns) - 1 - subBits
	return (exp+1)<<subBits | int(ns>>uint(exp))&(1<<subBits-1)
}

func bucketLow(b int) uint64 {
	exp := b>>subBits - 1
	if exp < 0 {
		return uint64(b)
	}
	return (1<<subBits | uint64(b&(1<<subBits-1))) << uint(exp)
}

func (h *hist) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucket(uint64(d))]++
	h.n++
	h.max = max(h.max, d)
}

func (h *hist) merge(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the q-quantile (0 < q <= 1), as the low edge of its bucket.
func (h *hist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(bucketLow(i))
		}
	}
	return h.max
}
