package history

// OrderLen returns how many lines m's queue in order of arrival holds,
// kept or dropped.
func OrderLen(m *Memory) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.order.len()
}
