module github.com/example-org/host-monitor

go 1.24
