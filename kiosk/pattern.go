package kiosk

import "kioskd/devices"

// Pattern is what the post's lights show for s. A fault wins; then the least
// advanced live call, so the light never claims more than is true: a call the
// platform has not acknowledged shows "registered", not "delivered".
func Pattern(s State) devices.Pattern {
	if len(s.Faults) > 0 {
		return devices.PatternFault
	}
	best := devices.PatternIdle
	rank := map[devices.Pattern]int{devices.PatternIdle: 0, devices.PatternAccepted: 1, devices.PatternDelivered: 2, devices.PatternRegistered: 3}
	for _, in := range s.Incidents {
		p := incidentPattern(in)
		if rank[p] > rank[best] {
			best = p
		}
	}
	return best
}

func incidentPattern(in *Incident) devices.Pattern {
	switch {
	case in.Status == Cancelled || in.Test:
		return devices.PatternIdle
	case !in.Delivered && in.Status == Registered:
		return devices.PatternRegistered
	case in.Status == Delivered:
		return devices.PatternDelivered
	default:
		return devices.PatternAccepted
	}
}
