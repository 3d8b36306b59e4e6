package tier

// KeyPrefix is a key prefix prepared for LookupL1. A strategy holds one per
// data type ("{namespace}:{entity}:", see package keys) and looks ids up
// under it without building their keys: the prefix's hash is computed once,
// so an L1 hit hashes only the id and allocates nothing. A prefix that does
// not end at a key's second ':' still works, but each lookup then builds the
// key.
type KeyPrefix struct {
	prefix string
	hash   uint64
	split  bool // prefix is exactly the part splitKey cuts off
}

// KeyPrefix prepares prefix for LookupL1.
func (s *Store) KeyPrefix(prefix string) KeyPrefix {
	p := KeyPrefix{prefix: prefix}
	if head, rest := splitKey(prefix); head == prefix && rest == "" {
		p.split, p.hash = true, s.l1.hashPart(prefix)
	}
	return p
}

// String returns the prefix.
func (p KeyPrefix) String() string { return p.prefix }
