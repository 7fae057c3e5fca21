package config

import _ "embed"

//go:embed example.toml
var example string

// Example returns a complete example config with every key present and
// commented. A test keeps it valid and complete.
func Example() string {
	return example
}
