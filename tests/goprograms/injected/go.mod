module example.com/injected

go 1.21
