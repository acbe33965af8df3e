module example.com/allpkg

go 1.21
