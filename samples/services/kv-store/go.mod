module github.com/example-org/kv-store

go 1.24
