package keys_test

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/tiercache/tiercache/keys"
)

func ExampleNamespace_Key() {
	ns, err := keys.NewNamespace("shop")
	if err != nil {
		fmt.Println(err)
		return
	}
	k, _ := ns.Key("user", "42")
	fmt.Println(k)
	// The id is the last part, so it may hold separators and glob characters.
	k, _ = ns.Key("page", "/docs/*?lang=en")
	fmt.Println(k)
	// The entity may not.
	_, err = ns.Key("user:admin", "42")
	fmt.Println(err)
	fmt.Println(errors.Is(err, keys.ErrInvalidChar))
	// Output:
	// shop:user:42
	// shop:page:/docs/*?lang=en
	// keys: entity "user:admin": keys: invalid character in key part
	// true
}

func ExampleNewNamespace() {
	for _, name := range []string{"shop", "", "shop:eu", "shop*"} {
		ns, err := keys.NewNamespace(name)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(ns.Prefix())
	}
	// Output:
	// shop:
	// keys: namespace "": keys: empty key part
	// keys: namespace "shop:eu": keys: invalid character in key part
	// keys: namespace "shop*": keys: invalid character in key part
}

func ExampleNamespace_Versioned() {
	ns, _ := keys.NewNamespace("shop")
	v3 := ns.Versioned(3)
	k, _ := v3.Key("user", "42")
	fmt.Println(k)
	// Bumping the version makes every key of version 3 unreachable.
	k, _ = v3.Versioned(4).Key("user", "42")
	fmt.Println(k)
	// SCAN MATCH with the old version's Pattern finds its leftovers only.
	fmt.Println(v3.Pattern())
	// Output:
	// shop@v3:user:42
	// shop@v4:user:42
	// shop@v3:*
}

func ExampleNamespace_ListKey() {
	ns, _ := keys.NewNamespace("shop")
	a, _ := url.ParseQuery("sort=name&page=2")
	b, _ := url.ParseQuery("page=2&sort=name")
	ka, _ := ns.ListKey("user", a)
	kb, _ := ns.ListKey("user", b)
	fmt.Println(ka)
	fmt.Println(ka == kb)
	// Every list key of the entity, for invalidation when a user changes.
	p, _ := ns.ListPattern("user")
	fmt.Println(p)
	// Output:
	// shop:user#q:a60532d3be76439c322e96a7eab3d16497aa35daed1f7686f9b8bf06de49835a
	// true
	// shop:user#q:*
}

func ExampleNamespace_IDPrefixPattern() {
	ns, _ := keys.NewNamespace("shop")
	// Glob characters in the prefix are escaped: this pattern matches ids
	// starting with "a*", not every id starting with "a".
	p, _ := ns.IDPrefixPattern("user", "a*")
	fmt.Println(p)
	p, _ = ns.EntityPattern("user")
	fmt.Println(p)
	fmt.Println(ns.Pattern())
	// Output:
	// shop:user:a\**
	// shop:user:*
	// shop:*
}

func ExampleEscapeGlob() {
	fmt.Println(keys.EscapeGlob(`report[2024]*?\`))
	// Output:
	// report\[2024\]\*\?\\
}

func ExampleValidate() {
	fmt.Println(keys.Validate("legacy:key:1"))
	fmt.Println(keys.Validate("bad\nkey"))
	// Output:
	// <nil>
	// keys: key "bad\nkey": keys: invalid character in key part
}
