package natsbus

// Crash stops the Bus the way a killed process would: no goodbyes, its
// memberships and presence left in the buckets for the others to reap.
func (b *Bus) Crash() {
	b.closing.Do(func() {
		close(b.stop)
		<-b.stopped
		b.roomCache.close()
		b.memberCache.close()
		b.nc.Close()
	})
}
