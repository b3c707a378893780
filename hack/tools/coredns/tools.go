//go:build tools

// Package tools records the command this module exists to build.
package tools

import _ "github.com/coredns/coredns"
