package contract

import (
	"bytes"
	_ "embed"
)

// asyncapi.json is the contract as an AsyncAPI 3.0 document. Its message
// examples are generated from the Go types: after changing a type, run
//
//	go test ./cloudlink/contract -run 'TestAsyncAPIExamples$' -update
//
// and document the change; TestAsyncAPI* fail until both agree.
//
//go:embed asyncapi.json
var asyncAPI []byte

// AsyncAPI returns the AsyncAPI 3.0 document (JSON) describing every topic and
// payload of this contract, for platform vendors and code generators.
func AsyncAPI() []byte { return bytes.Clone(asyncAPI) }
