package kiosk

import (
	"fmt"
	"slices"
)

// Event types of the box's own upkeep: self-tests and updates. They change
// no incident; a failed self-test raises the self_test fault and a passed
// one clears it.
const (
	EvSelfTestPassed   = "self_test.passed"
	EvSelfTestFailed   = "self_test.failed"
	EvUpdateDownload   = "update.downloading"
	EvUpdateDeferred   = "update.deferred"
	EvUpdateVerified   = "update.verified"
	EvUpdateInstalled  = "update.installed"
	EvUpdateCommitted  = "update.committed"
	EvUpdateRejected   = "update.rejected"
	EvUpdateRolledBack = "update.rolled_back"
	FaultSelfTest      = "self_test"
)

var updateEvents = []string{EvUpdateDownload, EvUpdateDeferred, EvUpdateVerified,
	EvUpdateInstalled, EvUpdateCommitted, EvUpdateRejected, EvUpdateRolledBack}

// SelfTestDone journals a self-test's result. Report is the whole result
// as the platform sees it (data.self_test); Failed names the failed checks
// for the fault's detail.
type SelfTestDone struct {
	Passed bool
	Failed string
	Report any
}

// UpdateNews journals one step of an update: Event is one of the update.*
// types, Data its fields.
type UpdateNews struct {
	Event string
	Data  map[string]any
}

func (SelfTestDone) isInput() {}
func (UpdateNews) isInput()   {}

func (st *step) selfTestDone(s SelfTestDone) {
	typ := EvSelfTestPassed
	if !s.Passed {
		typ = EvSelfTestFailed
	}
	st.fx.Records = append(st.fx.Records, Record{Type: typ, Data: map[string]any{"self_test": s.Report}})
	if s.Passed {
		st.clearFault(FaultSelfTest)
	} else {
		st.raiseFault(FaultSelfTest, "self-test failed: "+s.Failed)
	}
}

func (st *step) updateNews(u UpdateNews) error {
	if !slices.Contains(updateEvents, u.Event) {
		return fmt.Errorf("%w: %q is not an update event", ErrBadInput, u.Event)
	}
	st.fx.Records = append(st.fx.Records, Record{Type: u.Event, Data: u.Data})
	return nil
}
