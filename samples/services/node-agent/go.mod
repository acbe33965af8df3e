module github.com/example-org/node-agent

go 1.24
