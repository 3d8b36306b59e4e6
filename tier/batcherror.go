package tier

import (
	"fmt"
	"slices"
	"strings"
)

// BatchError is returned by Group.GetMany when some ids could not be
// served: the ids it names are absent from the returned map, every other id
// was served (or is absent because the source does not have it). errors.Is
// and errors.As look through it at the error of every id.
type BatchError struct {
	// Errs holds why each failed id failed.
	Errs map[string]error
}

// Error names the failed ids (the first few, in order) and why.
func (e *BatchError) Error() string {
	ids := make([]string, 0, len(e.Errs))
	for id := range e.Errs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	const most = 3
	var b strings.Builder
	fmt.Fprintf(&b, "tier: %d ids of the batch failed:", len(ids))
	for i, id := range ids {
		if i == most {
			fmt.Fprintf(&b, " (and %d more)", len(ids)-most)
			break
		}
		if i > 0 {
			b.WriteByte(';')
		}
		fmt.Fprintf(&b, " %q: %v", id, e.Errs[id])
	}
	return b.String()
}

// Unwrap returns the error of every failed id.
func (e *BatchError) Unwrap() []error {
	errs := make([]error, 0, len(e.Errs))
	for _, err := range e.Errs {
		errs = append(errs, err)
	}
	return errs
}

// batchErrors collects the errors of a batch's ids.
type batchErrors map[string]error

// add records the error of id.
func (b *batchErrors) add(id string, err error) {
	if *b == nil {
		*b = make(map[string]error)
	}
	(*b)[id] = err
}

// err returns the BatchError of the collected errors, or nil.
func (b batchErrors) err() error {
	if len(b) == 0 {
		return nil
	}
	return &BatchError{Errs: b}
}
