module github.com/tiercache/tiercache/bench

go 1.26.8

replace github.com/tiercache/tiercache => ../

require github.com/tiercache/tiercache v0.0.0

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/redis/go-redis/v9 v9.23.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)
