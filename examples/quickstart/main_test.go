package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	t.Setenv("REDIS_URL", "")
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"first read (source):         teapot costs 1800",
		"second read (L1):            teapot costs 1800",
		"after L1 cleared (L2):       teapot costs 1800",
		"after a price change:        teapot costs 1500",
		"answered by L1 1, L2 1, source 3",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
