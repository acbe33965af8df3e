module example.com/writer

go 1.21
