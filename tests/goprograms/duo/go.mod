module example.com/duo

go 1.21
