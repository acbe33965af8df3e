module github.com/example-org/inventory-api

go 1.24
