//go:build !linux

package main

// dieWithParent has no portable equivalent outside Linux; the parent stops the server itself.
func dieWithParent() {}
