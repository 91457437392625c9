//go:build tools

// Package tools pins the kwok command built for sphinxctl's tests.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
