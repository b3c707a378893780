//go:build tools

// Package tools records the command this module exists to build.
package tools

import _ "sigs.k8s.io/kind"
