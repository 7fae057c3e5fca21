package contract

import "reflect"

// The journal recovery's types, for the drift tests (asyncapi_test.go).
func init() {
	schemaNames[reflect.TypeFor[AcknowledgeRecoveryArgs]()] = "AcknowledgeRecoveryArgs"
	schemaNames[reflect.TypeFor[JournalRecovery]()] = "JournalRecovery"
	schemaNames[reflect.TypeFor[Salvage]()] = "Salvage"
}
