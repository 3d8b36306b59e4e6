package main

import "time"

// Product is catalogue data: read constantly, changed by the back office.
type Product struct {
	ID          string
	Name        string
	Description string
	PriceCents  int64
	Stock       int32
	Tags        []string
}

// Profile is a customer's profile: read on every page, written by its owner,
// who must see their own change at once.
type Profile struct {
	ID       string
	Name     string
	Email    string
	Language string
	Updated  time.Time
}

// Cart is a shopping cart: written on every click.
type Cart struct {
	ID    string
	Items []CartItem
}

// CartItem is one line of a cart.
type CartItem struct {
	ProductID string
	Quantity  int
}

// Rate is an exchange rate: read by every price display, recomputed upstream
// on its own schedule; a slightly old rate is fine, a slow read is not.
type Rate struct {
	ID       string // "EUR-USD"
	Value    float64
	AsOf     time.Time
	Provider string
}
