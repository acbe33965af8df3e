package main

// userCoverageServer is application code whose file name ends like the injected one.
func userCoverageServer(n int) int {
	total := 0
	for i := 0; i < n; i++ {
		total += i
	}
	return total
}
