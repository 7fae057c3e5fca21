package firmware

import (
	"testing"

	"kioskd/cloudlink/contract"
)

// Every command of the contract has a route: the dispatcher answers a name
// the table lacks unknown_command.
func TestRoutesCoverEveryCommand(t *testing.T) {
	table := (&bridge{}).routes()
	names := []string{contract.CmdAccept, contract.CmdMessage, contract.CmdEscalate, contract.CmdClose,
		contract.CmdAcknowledgeRecovery, contract.CmdUploadClip, contract.CmdClipLink, contract.CmdSelfTest, contract.CmdUpdate}
	for _, name := range names {
		if _, ok := table[name]; !ok {
			t.Errorf("no route for %s", name)
		}
	}
	if len(table) != len(names) {
		t.Errorf("%d routes, want %d", len(table), len(names))
	}
}
