module example.com/snapshots

go 1.21
