// Package gen has generic functions and generic types with methods.
package gen

import "fmt"

// Map applies f to every element of xs.
func Map[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, 0, len(xs))
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}

// Stack is a generic LIFO.
type Stack[T any] struct {
	items []T
}

// Push adds v on top.
func (s *Stack[T]) Push(v T) {
	s.items = append(s.items, v)
}

// Pop removes the top element.
func (s *Stack[T]) Pop() (T, bool) {
	var zero T
	if len(s.items) == 0 {
		return zero, false
	}
	v := s.items[len(s.items)-1]
	s.items = s.items[:len(s.items)-1]
	return v, true
}

// Peek is a value method on a generic receiver.
func (s Stack[T]) Peek() (T, bool) {
	var zero T
	if len(s.items) == 0 {
		return zero, false
	}
	return s.items[len(s.items)-1], true
}

// Len is a value method on a generic receiver.
func (s Stack[T]) Len() int { return len(s.items) }

// Pair is a generic type with two type parameters.
type Pair[K comparable, V any] struct {
	Key K
	Val V
}

// String formats the pair.
func (p Pair[K, V]) String() string {
	return fmt.Sprintf("%v=%v", p.Key, p.Val)
}

// Never is a generic function that is never instantiated.
func Never[T any](x T) T {
	return x
}
