package contract

// EventType documents one value of Event.Type.
type EventType struct {
	Name string
	Doc  string
	// Incident: the event concerns one incident. Event.Incident names it and
	// data carries its full snapshot, as it is after the event, under "incident".
	Incident bool
	// Data names the type-specific fields of data, besides "incident". Every
	// one is always present.
	Data []string
}

// EventTypes lists every event type a kiosk may ship, in the order of the
// incident's life. New types may be added within v1: a platform must store
// and ack an event whose type it does not know.
var EventTypes = []EventType{
	{Name: "kiosk.started", Doc: "kioskd started; a new boot epoch begins",
		Data: []string{"version", "open_incidents"}},
	{Name: "incident.registered", Doc: "a press or a touch opened an incident (source: button:NAME, screen or tamper)",
		Incident: true, Data: []string{"source"}},
	{Name: "incident.pressed_again", Doc: "a repeat press joined the open incident of its type and raised its urgency",
		Incident: true, Data: []string{"source", "presses"}},
	{Name: "incident.urgent", Doc: "a long press made the open police incident urgent",
		Incident: true, Data: []string{"source", "reason"}},
	{Name: "incident.delivered", Doc: "the platform acked an event of this incident",
		Incident: true},
	{Name: "incident.accepted", Doc: "someone will call the citizen back by callback_by",
		Incident: true, Data: []string{"responder", "callback_by"}},
	{Name: "incident.message", Doc: "a line of text was put on the citizen screen",
		Incident: true, Data: []string{"from", "text"}},
	{Name: "incident.note_added", Doc: "a guard wrote a note on the incident, for the record (not shown to the citizen)",
		Incident: true, Data: []string{"by", "text"}},
	{Name: "incident.handled_on_site", Doc: "a guard settled the matter on site",
		Incident: true, Data: []string{"by", "outcome"}},
	{Name: "incident.escalated", Doc: "the matter was passed to the police station",
		Incident: true, Data: []string{"by", "reason"}},
	{Name: "incident.cancelled", Doc: "the caller took the call back; staff still close it",
		Incident: true, Data: []string{"by"}},
	{Name: "incident.closed", Doc: "the matter is closed with an outcome and leaves the state",
		Incident: true, Data: []string{"by", "outcome"}},
	{Name: "incident.overdue", Doc: "a deadline (callback or close) passed unmet; urgency was raised",
		Incident: true, Data: []string{"deadline"}},
	{Name: "fault.raised", Doc: "a fault of the post began (tamper, stuck:BUTTON, journal_recovered, ...)",
		Data: []string{"fault", "detail"}},
	{Name: "fault.cleared", Doc: "a fault of the post ended",
		Data: []string{"fault"}},
	{Name: "journal.recovered", Doc: "the journal was found damaged at start, set aside and rebuilt from what was readable in it; its unacked events are sent again with their ids, and seq and boot_epoch continue above every one used before",
		Data: []string{"set_aside", "salvage"}},
	{Name: "journal.recovery_acknowledged", Doc: "a person acknowledged the journal recovery set_aside found at since (by the guard console or the acknowledge_recovery command); the kiosk is no longer degraded",
		Data: []string{"by", "note", "set_aside", "since"}},
	{Name: "clock.stepped", Doc: "the kiosk clock was stepped to a synchronised clock; open incidents' times moved by delta_ms",
		Data: []string{"delta_ms", "from", "to", "incidents"}},
	{Name: "security.command_refused", Doc: "a command was refused for its signature, address, counter or expiry, or was not a signed envelope; nothing changed",
		Data: []string{"code", "message", "command", "name", "counter", "addressed_to"}},
	{Name: "security.ack_refused", Doc: "an ack was refused (unsigned, bad signature, another kiosk or boot, malformed); nothing left the outbox. Right after a kiosk restart, wrong_boot is expected from acks signed for the boot before",
		Data: []string{"code", "message", "addressed_to", "boot_epoch", "id_count"}},
	{Name: "clip.recording", Doc: "a camera covering the incident started its clip, from the pre-roll before the press; data.clip carries the camera's live-view reference. Clip events name their incident but carry the clip, not the incident's snapshot",
		Data: []string{"clip"}},
	{Name: "clip.ready", Doc: "the incident's clip is finished and indexed: start, end, duration, size and sha256 of the MP4, and its fetch URL when the kiosk runs a clip server",
		Data: []string{"clip"}},
	{Name: "clip.failed", Doc: "the incident's clip could not be made (camera or its process lost, low disk, ...); data.clip.error says why",
		Data: []string{"clip"}},
	{Name: "clip.upload_progress", Doc: "an upload_clip upload is under way (telemetry, at most every 5 s)",
		Data: []string{"clip", "bytes_sent", "bytes_total"}},
	{Name: "clip.uploaded", Doc: "an upload_clip upload was taken by the object store; compare data.clip.sha256 with what it stored",
		Data: []string{"clip", "url", "attempts"}},
	{Name: "clip.upload_failed", Doc: "an upload_clip upload failed for good after bounded retries",
		Data: []string{"clip", "url", "reason", "attempts"}},
	{Name: "clip.evicted", Doc: "the kiosk deleted a clip of a closed incident before the usual time because its disk was short of space (reason low_disk: free_bytes under low_disk_bytes); platform_had says whether you held its bytes (uploaded, or fetched whole from the clip server)",
		Data: []string{"clip", "reason", "platform_had", "free_bytes", "low_disk_bytes"}},
	{Name: "camera.state", Doc: "a camera's state changed: online, no_video, offline or config_fault (telemetry; the retained cameras topic holds the current state)",
		Data: []string{"camera", "state", "problem"}},
	{Name: "self_test.passed", Doc: "a self-test passed; data.self_test has every check (also in the heartbeat's last_self_test). Clears the self_test fault",
		Data: []string{"self_test"}},
	{Name: "self_test.failed", Doc: "a self-test failed; data.self_test says which checks failed. Raises the self_test fault",
		Data: []string{"self_test"}},
	{Name: "update.downloading", Doc: "an update command was accepted and its binary is being downloaded",
		Data: []string{"command", "version", "url"}},
	{Name: "update.deferred", Doc: "a downloaded update waits: an incident is in its first minutes; it installs when the post is quiet",
		Data: []string{"command", "version", "reason", "detail"}},
	{Name: "update.verified", Doc: "the downloaded binary has the size, sha256 and release signature of the command, and runs",
		Data: []string{"command", "version", "sha256", "bytes"}},
	{Name: "update.installed", Doc: "the new binary is in its slot and current points to it; kioskd restarts into it, on trial",
		Data: []string{"command", "version", "from_version", "slot"}},
	{Name: "update.committed", Doc: "the new version passed its trial (self-test, platform ack) and stays",
		Data: []string{"command", "version", "from_version", "self_test"}},
	{Name: "update.rejected", Doc: "an update was refused or abandoned before installing; the running version stays (reason: see doc.md)",
		Data: []string{"command", "version", "reason", "detail"}},
	{Name: "update.rolled_back", Doc: "the new version failed its trial and the previous one runs again (reason: see doc.md); sent by the previous version",
		Data: []string{"command", "version", "running_version", "reason", "detail"}},
}
