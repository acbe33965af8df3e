// A nested module: built on its own, injected only when given as a root itself.
package main

func main() {}
