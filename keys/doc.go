// Package keys builds namespaced Redis keys that are safe to use and
// injective: two different inputs never produce the same key.
//
// A [Namespace] is built once with [NewNamespace] and then hands out keys:
//
//	ns, err := keys.NewNamespace("shop")
//	k, err := ns.Key("user", "42")                  // "shop:user:42"
//	l, err := ns.ListKey("user", r.URL.Query())     // "shop:user#q:<sha-256 hex>"
//	v := ns.Versioned(3)                            // keys "shop@v3:user:42", ...
//
// # Key format
//
// Every key has one of two forms:
//
//	item key:  NS ":" ENTITY ":" ID
//	list key:  NS ":" ENTITY "#q:" HASH
//
//	NS     = NAME | NAME "@v" VERSION
//	NAME   = namespace name, as given to NewNamespace
//	ENTITY = entity name, as given to Key, ListKey, ...
//	ID     = the id, as given to Key
//	VERSION= the version in canonical decimal (no sign, no leading zeros)
//	HASH   = 64 lower-case hex digits: SHA-256 of the list query
//
// NAME and ENTITY are restricted: they must be non-empty valid UTF-8 and may
// not hold control characters, white space, the separator ':', the markers
// '@' (version) and '#' (list key), the glob characters * ? [ ] \ or the
// Redis Cluster hash-tag braces { }. ID is free: any non-empty valid UTF-8
// without control characters (U+0000-U+001F, U+007F-U+009F), including ':',
// glob characters and braces. A key is at most [MaxKeyBytes] long.
//
// # Why keys never collide
//
// Every key can be parsed back into exactly the parts that built it, so the
// mapping from parts to keys is injective:
//
//  1. NS ends at the first ':' of the key, because neither NAME nor
//     "@v" VERSION can hold a ':'.
//  2. Within NS, NAME holds no '@', so an '@' is present exactly when the
//     namespace is versioned, and the digits after "@v" give the version;
//     canonical decimal has one spelling per number. Version 0 is spelled
//     "@v0" and is therefore distinct from the unversioned namespace.
//  3. The second part ends at the next ':', because ENTITY holds no ':'.
//     It holds a '#' exactly when the key is a list key (ENTITY holds no
//     '#'), which separates item keys from list keys of every entity.
//  4. The rest of the key is the ID (or the hash). ID is the last part, so it
//     may hold ':' or anything else without ambiguity.
//
// List keys are as injective as SHA-256 is collision resistant: the hash
// input is a prefix-free encoding of the query (see [Namespace.ListKey]), so
// two distinct queries collide only if SHA-256 does. The full 256 bits are
// kept so that even queries crafted by a client cannot be made to collide.
//
// # Versions
//
// [Namespace.Versioned] returns a namespace whose prefix embeds a version.
// Storing the current version somewhere shared and building keys from it
// makes every key of an older version unreachable at once (O(1) bulk
// invalidation); the old keys then expire by their TTL, or are removed with
// SCAN MATCH on the old version's [Namespace.Pattern].
//
// # SCAN patterns
//
// [Namespace.Pattern], [Namespace.EntityPattern], [Namespace.IDPrefixPattern]
// and [Namespace.ListPattern] return Redis glob patterns for SCAN MATCH that
// match exactly the keys they name and nothing else: the namespace and entity
// never contain glob characters, and an id prefix is escaped with
// [EscapeGlob], so the only wildcard is the final '*'. The zero Namespace's
// Pattern matches no key at all rather than every key.
//
// # Redis Cluster
//
// Names and entities cannot hold '{' or '}', so a key has a hash tag only if
// its ID does: an ID such as "{tenant7}:42" places the key in the slot of
// "tenant7", by the usual Redis Cluster rule. Otherwise keys spread over all
// slots.
//
// # Derived keys
//
// Do not append to a built key to derive another one (such as a lock key):
// Key("user", "1") + ":lock" equals Key("user", "1:lock"). Build derived keys
// from their own entity instead, for example Key("user.lock", "1").
package keys
