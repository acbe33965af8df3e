module example.com/runs

go 1.21
